// Unit tests of the RPC engine's protocols without faults and with simple losses: packet counts
// (RR 2, RRA 3, RARA 4), retransmission, duplicates, the RRA optional Ack, last-one semantics.
#include "rpc_harness.h"

namespace herald::proto::rpc::testing {
namespace {

using RpcEngineTest = RpcHarness;

TEST_F(RpcEngineTest, RrUsesTwoPacketsWithoutLoss) {
    const auto op = call(call_options(Protocol::rr, Semantics::exactly_once));
    settle();
    ASSERT_TRUE(result_of(op).has_value());
    EXPECT_EQ(*result_of(op), to_bytes("1"));
    EXPECT_EQ(log.size(), 2u);
    EXPECT_EQ(count(PacketKind::rpc_request), 1u);
    EXPECT_EQ(count(PacketKind::rpc_response), 1u);
}

TEST_F(RpcEngineTest, RraUsesThreePacketsWithoutLoss) {
    const auto op = call(call_options(Protocol::rra, Semantics::exactly_once));
    settle();
    EXPECT_EQ(*result_of(op), to_bytes("1"));
    EXPECT_EQ(log.size(), 3u);
    EXPECT_EQ(count(PacketKind::rpc_request), 1u);
    EXPECT_EQ(count(PacketKind::rpc_response), 1u);
    EXPECT_EQ(count(PacketKind::rpc_response_ack), 1u);
}

TEST_F(RpcEngineTest, RaraUsesFourPacketsWithoutLoss) {
    const auto op = call(call_options(Protocol::rara, Semantics::at_least_once));
    settle();
    EXPECT_EQ(*result_of(op), to_bytes("1"));
    ASSERT_EQ(log.size(), 4u);
    EXPECT_EQ(log[0].kind, PacketKind::rpc_request);
    EXPECT_EQ(log[1].kind, PacketKind::rpc_ack);
    EXPECT_EQ(log[2].kind, PacketKind::rpc_response);
    EXPECT_EQ(log[3].kind, PacketKind::rpc_response_ack);
}

TEST_F(RpcEngineTest, NoPacketsOrTimersAfterACompletedCallSettles) {
    for (auto protocol : {Protocol::rr, Protocol::rra, Protocol::rara}) {
        log.clear();
        call(call_options(protocol, Semantics::at_least_once));
        settle();
        const auto packets = log.size();
        advance(Duration::seconds(10));
        EXPECT_EQ(log.size(), packets) << "protocol " << int(protocol);
    }
    EXPECT_TRUE(a.timers.empty());
    EXPECT_EQ(b.engine->counters().cache_entries, 0u);
}

TEST_F(RpcEngineTest, ClientResendsRequestUntilAnswerThenStops) {
    int requests_to_lose = 2;
    drop = [&](const SendEffect& s, NodeId) {
        return s.packet.header.kind == PacketKind::rpc_request && requests_to_lose-- > 0;
    };
    const auto op = call(call_options(Protocol::rr, Semantics::exactly_once));
    settle();
    EXPECT_FALSE(result_of(op).has_value());
    advance(Duration::milliseconds(49));
    EXPECT_EQ(count(PacketKind::rpc_request), 1u);
    advance(Duration::milliseconds(1));  // 50 ms: first retransmission (lost).
    EXPECT_EQ(count(PacketKind::rpc_request), 2u);
    advance(Duration::milliseconds(100));  // Backoff doubles the wait: 150 ms.
    EXPECT_EQ(count(PacketKind::rpc_request), 3u);
    EXPECT_EQ(*result_of(op), to_bytes("1"));
    advance(Duration::seconds(5));
    EXPECT_EQ(count(PacketKind::rpc_request), 3u);
    EXPECT_EQ(a.engine->counters().request_retransmits, 2u);
}

TEST_F(RpcEngineTest, DuplicateOfRequestInProgressIsDiscarded) {
    auto_execute = false;
    const auto op = call(call_options(Protocol::rr, Semantics::exactly_once));
    advance(Duration::milliseconds(200));  // Several retransmissions while the handler runs.
    EXPECT_GE(count(PacketKind::rpc_request), 3u);
    EXPECT_EQ(b.executions.size(), 1u);
    EXPECT_GE(b.engine->counters().duplicates_discarded, 2u);
    run_handlers();
    settle();
    EXPECT_EQ(*result_of(op), to_bytes("1"));
    EXPECT_EQ(b.engine->counters().executions, 1u);
}

// The lost Resp forces a resent Req: exactly-once answers it from the reply cache...
TEST_F(RpcEngineTest, ExactlyOnceAnswersDuplicateOfCompletedRequestFromCache) {
    int responses_to_lose = 1;
    drop = [&](const SendEffect& s, NodeId) {
        return s.packet.header.kind == PacketKind::rpc_response && responses_to_lose-- > 0;
    };
    const auto op = call(call_options(Protocol::rr, Semantics::exactly_once));
    advance(Duration::milliseconds(60));
    EXPECT_EQ(*result_of(op), to_bytes("1"));
    EXPECT_EQ(b.engine->counters().executions, 1u);
    EXPECT_EQ(b.engine->counters().duplicates_answered, 1u);
    EXPECT_EQ(counter, 1);
}

// ...while at-least-once runs it again and the client takes the last response.
TEST_F(RpcEngineTest, AtLeastOnceRunsDuplicateOfCompletedRequestAgain) {
    int responses_to_lose = 1;
    drop = [&](const SendEffect& s, NodeId) {
        return s.packet.header.kind == PacketKind::rpc_response && responses_to_lose-- > 0;
    };
    const auto op = call(call_options(Protocol::rr, Semantics::at_least_once));
    advance(Duration::milliseconds(60));
    EXPECT_EQ(*result_of(op), to_bytes("2"));  // The second run's answer.
    EXPECT_EQ(b.engine->counters().executions, 2u);
    EXPECT_EQ(runs["x"], 2);
}

TEST_F(RpcEngineTest, IdempotentOperationIsServedWithoutReplyCache) {
    int responses_to_lose = 1;
    drop = [&](const SendEffect& s, NodeId) {
        return s.packet.header.kind == PacketKind::rpc_response && responses_to_lose-- > 0;
    };
    const auto op = call(call_options(Protocol::rr, Semantics::exactly_once), "x", "get");
    advance(Duration::milliseconds(60));
    ASSERT_TRUE(result_of(op)->has_value());
    EXPECT_EQ(b.engine->counters().executions, 2u);
    EXPECT_EQ(b.engine->counters().cache_entries, 0u);
}

TEST_F(RpcEngineTest, RraSendsOptionalAckForLongRequestAndClientStopsResending) {
    auto_execute = false;
    const auto op = call(call_options(Protocol::rra, Semantics::exactly_once));
    advance(Duration::milliseconds(20));  // long_request_threshold.
    EXPECT_EQ(count(PacketKind::rpc_ack), 1u);
    advance(Duration::milliseconds(400));  // Less than probe_interval: no resend at all.
    EXPECT_EQ(count(PacketKind::rpc_request), 1u);
    run_handlers();
    settle();
    EXPECT_EQ(*result_of(op), to_bytes("1"));
    EXPECT_EQ(log.size(), 4u);  // Req, optional Ack, Resp, Ack(Resp).
}

TEST_F(RpcEngineTest, RraShortRequestGetsNoOptionalAck) {
    auto_execute = false;
    const auto op = call(call_options(Protocol::rra, Semantics::exactly_once));
    advance(Duration::milliseconds(19));
    run_handlers();
    advance(Duration::seconds(1));
    EXPECT_EQ(*result_of(op), to_bytes("1"));
    EXPECT_EQ(count(PacketKind::rpc_ack), 0u);
    EXPECT_EQ(log.size(), 3u);
}

TEST_F(RpcEngineTest, WaitingClientProbesAndLongRequestStillCompletes) {
    auto_execute = false;
    const auto op = call(call_options(Protocol::rara, Semantics::exactly_once));
    advance(Duration::seconds(3));  // Six probes, each answered by an Ack.
    EXPECT_EQ(a.engine->counters().probes, 6u);
    EXPECT_EQ(count(PacketKind::rpc_ack), 7u);
    EXPECT_FALSE(result_of(op).has_value());
    run_handlers();
    settle();
    EXPECT_EQ(*result_of(op), to_bytes("1"));
    EXPECT_EQ(b.engine->counters().executions, 1u);
}

TEST_F(RpcEngineTest, ServerResendsResponseUntilClientAcks) {
    int responses_to_lose = 2;
    drop = [&](const SendEffect& s, NodeId) {
        return s.packet.header.kind == PacketKind::rpc_response && responses_to_lose-- > 0;
    };
    const auto op = call(call_options(Protocol::rara, Semantics::exactly_once));
    settle();
    EXPECT_FALSE(result_of(op).has_value());
    advance(Duration::milliseconds(50));   // First resend (lost).
    advance(Duration::milliseconds(100));  // Second resend, after backoff.
    EXPECT_EQ(*result_of(op), to_bytes("1"));
    EXPECT_EQ(b.engine->counters().response_retransmits, 2u);
    EXPECT_EQ(count(PacketKind::rpc_request), 1u);  // The Ack stopped the client's resends.
    advance(Duration::seconds(5));
    EXPECT_EQ(count(PacketKind::rpc_response), 3u);  // The Ack(Resp) stopped the server's.
}

TEST_F(RpcEngineTest, ServerStopsResendingToAClientWithoutAnAddressAndProbesStillGetTheReply) {
    int responses_to_lose = 1;
    drop = [&](const SendEffect& s, NodeId) {
        return s.packet.header.kind == PacketKind::rpc_response && responses_to_lose-- > 0;
    };
    const auto op = call(call_options(Protocol::rara, Semantics::exactly_once));
    settle();
    EXPECT_FALSE(result_of(op).has_value());
    // The driver found no address for the client's node (docs/engines.md on_unreachable).
    b.set->on_unreachable(a.id, now, b.out);
    b.absorb(now);
    EXPECT_EQ(b.engine->counters().responses_abandoned, 1u);
    advance(Duration::milliseconds(40));
    EXPECT_EQ(b.engine->counters().response_retransmits, 0u) << "resent after on_unreachable";
    // The client, which has the Ack, probes; the probe is answered from the reply cache.
    advance(Duration::seconds(5));
    EXPECT_EQ(*result_of(op), to_bytes("1"));
    EXPECT_EQ(b.engine->counters().response_retransmits, 0u);
    EXPECT_EQ(b.engine->counters().executions, 1u);
    EXPECT_GE(b.engine->counters().duplicates_answered, 1u);
    // Another client node's unreachability changes nothing here.
    b.set->on_unreachable(NodeId{0x7777}, now, b.out);
    b.absorb(now);
    EXPECT_EQ(b.engine->counters().responses_abandoned, 1u);
}

TEST_F(RpcEngineTest, LostResponseAckIsRepeatedForResentResponse) {
    int acks_to_lose = 1;
    drop = [&](const SendEffect& s, NodeId) {
        return s.packet.header.kind == PacketKind::rpc_response_ack && acks_to_lose-- > 0;
    };
    const auto op = call(call_options(Protocol::rra, Semantics::exactly_once));
    advance(Duration::milliseconds(60));
    EXPECT_EQ(*result_of(op), to_bytes("1"));
    EXPECT_EQ(count(PacketKind::rpc_response_ack), 2u);  // The client acks the finished call.
    EXPECT_EQ(b.engine->counters().response_retransmits, 1u);
    advance(Duration::seconds(5));
    EXPECT_EQ(count(PacketKind::rpc_response), 2u);
}

TEST_F(RpcEngineTest, LateDuplicateOfAcknowledgedRequestDoesNotRunAgain) {
    wire::Packet first_request;
    drop = [&](const SendEffect& s, NodeId) {
        if (s.packet.header.kind == PacketKind::rpc_request) first_request = s.packet;
        return false;
    };
    call(call_options(Protocol::rra, Semantics::exactly_once));
    settle();
    // The network delivers an old copy of the Req after the call finished.
    b.engine->on_packet(a.id, first_request, now, b.out);
    b.absorb();
    settle();
    EXPECT_EQ(b.engine->counters().executions, 1u);
    EXPECT_EQ(counter, 1);
}

TEST_F(RpcEngineTest, ManyOutstandingCallsAllComplete) {
    auto_execute = false;
    std::vector<OperationId> ops;
    for (int i = 0; i < 100; ++i) {
        ops.push_back(call(call_options(Protocol::rara, Semantics::exactly_once),
                           "call" + std::to_string(i)));
    }
    settle();
    EXPECT_EQ(b.executions.size(), 100u);
    EXPECT_EQ(b.engine->counters().executing, 100u);
    run_handlers();
    settle();
    for (auto op : ops) EXPECT_TRUE(result_of(op).has_value() && result_of(op)->has_value());
    EXPECT_EQ(counter, 100);
    EXPECT_EQ(a.engine->counters().calls_outstanding, 0u);
}

TEST_F(RpcEngineTest, ClientFloorFreesFinishedEntries) {
    for (int i = 0; i < 10; ++i) {
        call(call_options(Protocol::rr, Semantics::exactly_once), "c" + std::to_string(i));
        settle();
    }
    // RR has no Ack: each later Req's floor frees the earlier replies; only the last stays.
    EXPECT_EQ(b.engine->counters().cache_entries, 1u);
    EXPECT_EQ(counter, 10);
}

TEST_F(RpcEngineTest, CallToLocalServerStaysOnTheNode) {
    ASSERT_TRUE(a.engine->on_serve(Pid{a.id, 3}, "echo", false));
    OperationId op = 77;
    a.engine->on_call(op, client_pid, Pid{a.id, 3}, "echo", to_bytes("hi"),
                      call_options(Protocol::rara, Semantics::exactly_once), now, a.out);
    a.absorb(now);
    ASSERT_EQ(a.executions.size(), 1u);
    EXPECT_TRUE(a.outbox.empty());
    a.engine->on_result(a.executions[0].execution, a.executions[0].request, now, a.out);
    a.absorb(now);
    ASSERT_EQ(a.completions.size(), 1u);
    EXPECT_EQ(a.completions[0].result, to_bytes("hi"));
    EXPECT_TRUE(a.outbox.empty());
}

}  // namespace
}  // namespace herald::proto::rpc::testing

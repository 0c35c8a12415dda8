// Unit tests of the RPC engine's protocols without faults and with simple losses: packet counts
// (RR 2, RRA 3, RARA 4), retransmission, duplicates, the RRA optional Ack, last-one semantics.
#include "proto/rpc/rpc_client.h"
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

// --- Admission (docs/rpc.md rules 19-20; issue 21 item 2) ---

RpcOptions admission_options() {
    RpcOptions options = quiet_options();
    options.admission_cookies = true;
    options.cookie_key.fill(0x5C);
    options.clients_per_address_max = 2;
    return options;
}

class RpcAdmissionTest : public RpcHarness {
protected:
    RpcAdmissionTest() : RpcHarness(admission_options()) {
        source = [this] { return Source{address}; };
    }

    // An exactly-once RRA request of client node `node` (incarnation 1, seq 1), as it arrives.
    static wire::Packet request_from(NodeId node, std::optional<std::uint64_t> cookie = {}) {
        Request request;
        request.route = Route{Pid{node, 1}, server_pid, CallId{1, 1},
                              Mode{Protocol::rra, Semantics::exactly_once}, 1};
        request.floor = 1;
        request.operation = "add";
        request.body = to_bytes("x");
        request.cookie = cookie;
        return request_packet(request, 1);
    }
    // Hands `packet` from `node` to the server from `from`; returns what it sent back.
    std::vector<SendEffect> to_server(NodeId node, const wire::Packet& packet, Source from) {
        b.engine->on_packet(node, packet, from, now, b.out);
        b.absorb(now);
        auto sent = std::move(b.outbox);
        b.outbox.clear();
        return sent;
    }
    // The cookie of a cookie nack in `sent` (exactly one packet), or nullopt.
    static std::optional<std::uint64_t> cookie_of(const std::vector<SendEffect>& sent) {
        if (sent.size() != 1) return std::nullopt;
        auto reply = parse_reply(server_pid.node, sent[0].packet);
        if (!reply || reply->kind != PacketKind::rpc_nack) return std::nullopt;
        EXPECT_EQ(reply->result.error().code, Errc::access_denied);
        return reply->cookie;
    }

    std::uint64_t address = 77;
};

TEST_F(RpcAdmissionTest, ANewClientGetsACookieAndNoStateThenIsAdmittedWithIt) {
    // The client's first Req is answered with a cookie nack; it resends at once with the cookie
    // (transparently: the call succeeds) and pays one round trip, once per client node.
    const auto op = call(call_options(Protocol::rra, Semantics::exactly_once));
    settle();
    ASSERT_TRUE(result_of(op).has_value());
    EXPECT_EQ(*result_of(op), to_bytes("1"));
    ASSERT_EQ(log.size(), 5u);
    EXPECT_EQ(log[0].kind, PacketKind::rpc_request);
    EXPECT_EQ(log[1].kind, PacketKind::rpc_nack);
    EXPECT_EQ(log[2].kind, PacketKind::rpc_request);
    EXPECT_EQ(log[3].kind, PacketKind::rpc_response);
    EXPECT_EQ(b.engine->counters().cookies_sent, 1u);
    EXPECT_EQ(a.engine->counters().cookie_retries, 1u);
    EXPECT_EQ(a.engine->counters().request_retransmits, 0u);
    // A known client node needs no cookie: the next call takes the usual three packets.
    log.clear();
    const auto second = call(call_options(Protocol::rra, Semantics::exactly_once));
    settle();
    EXPECT_EQ(*result_of(second), to_bytes("2"));
    EXPECT_EQ(log.size(), 3u);
    EXPECT_EQ(runs["x"], 2);
}

TEST_F(RpcAdmissionTest, AStrangerWithoutAValidCookieCostsTheServerNoState) {
    for (std::uint64_t i = 0; i < 1000; ++i) {
        const auto sent =
            to_server(NodeId{0x1000 + i}, request_from(NodeId{0x1000 + i}), Source{77});
        ASSERT_TRUE(cookie_of(sent).has_value()) << i;
    }
    // A made-up cookie is no better than none.
    EXPECT_TRUE(cookie_of(to_server(NodeId{0x99}, request_from(NodeId{0x99}, 12345), Source{77})));
    const auto counters = b.engine->counters();
    EXPECT_EQ(counters.cache_clients, 0u);
    EXPECT_EQ(counters.cache_entries, 0u);
    EXPECT_EQ(counters.executions, 0u);
    EXPECT_EQ(counters.cookies_sent, 1001u);
    EXPECT_TRUE(b.executions.empty());
}

TEST_F(RpcAdmissionTest, ACookieIsBoundToItsNodeAddressAndTime) {
    const NodeId node{0x42};
    const auto cookie = cookie_of(to_server(node, request_from(node), Source{77}));
    ASSERT_TRUE(cookie.has_value());
    // From another address, or for another node: refused (a fresh cookie), nothing runs.
    EXPECT_TRUE(cookie_of(to_server(node, request_from(node, cookie), Source{78})));
    const NodeId other{0x43};
    EXPECT_TRUE(cookie_of(to_server(other, request_from(other, cookie), Source{77})));
    EXPECT_TRUE(b.executions.empty());
    // Two cookie periods later it has expired.
    now = now + Duration::seconds(61);
    const auto fresh = cookie_of(to_server(node, request_from(node, cookie), Source{77}));
    ASSERT_TRUE(fresh.has_value());
    EXPECT_NE(*fresh, *cookie);
    EXPECT_TRUE(b.executions.empty());
    // One period later the cookie is still good (a period and up to one more).
    now = now + Duration::seconds(30);
    EXPECT_TRUE(to_server(node, request_from(node, fresh), Source{77}).empty());  // RRA: runs.
    EXPECT_EQ(b.executions.size(), 1u);
    EXPECT_EQ(b.engine->counters().cache_clients, 1u);
}

TEST_F(RpcAdmissionTest, AProvenAddressOrNoAddressNeedsNoCookie) {
    // A tcp connection (proven by its handshake), and loopback or the simulator (no address).
    EXPECT_TRUE(to_server(NodeId{0x50}, request_from(NodeId{0x50}), Source{77, true}).empty());
    EXPECT_TRUE(to_server(NodeId{0x51}, request_from(NodeId{0x51}), Source{}).empty());
    EXPECT_EQ(b.executions.size(), 2u);
    EXPECT_EQ(b.engine->counters().cookies_sent, 0u);
}

TEST_F(RpcAdmissionTest, OneAddressGetsAtMostClientsPerAddressMaxClientNodes) {
    // Proven addresses, to reach the bound without cookies: 2 client nodes from address 77.
    for (std::uint64_t i = 0; i < 2; ++i) {
        EXPECT_TRUE(
            to_server(NodeId{0x60 + i}, request_from(NodeId{0x60 + i}), Source{77, true}).empty());
    }
    const auto refused = to_server(NodeId{0x62}, request_from(NodeId{0x62}), Source{77, true});
    ASSERT_EQ(refused.size(), 1u);
    auto reply = parse_reply(server_pid.node, refused[0].packet);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->result.error().code, Errc::queue_full);
    EXPECT_EQ(b.engine->counters().address_refusals, 1u);
    // Another address is not affected, and a known client of the full address goes on.
    EXPECT_TRUE(to_server(NodeId{0x63}, request_from(NodeId{0x63}), Source{78, true}).empty());
    EXPECT_EQ(b.executions.size(), 3u);
    EXPECT_EQ(b.engine->counters().cache_clients, 3u);
}

TEST_F(RpcAdmissionTest, AClientWhoseCookiesNeverVerifyFailsWithAccessDenied) {
    // Its address looks different on every packet (a NAT that rebinds each time): each Req
    // gets a new cookie nack; the client stops after cookie_nacks_max resends.
    source = [this] { return Source{address++}; };
    const auto op = call(call_options(Protocol::rra, Semantics::exactly_once));
    settle();
    ASSERT_TRUE(result_of(op).has_value());
    ASSERT_FALSE(*result_of(op));
    EXPECT_EQ(result_of(op)->error().code, Errc::access_denied);
    EXPECT_EQ(count(PacketKind::rpc_request), RpcClient::cookie_nacks_max + 1);
    EXPECT_EQ(runs.size(), 0u);
}

}  // namespace
}  // namespace herald::proto::rpc::testing

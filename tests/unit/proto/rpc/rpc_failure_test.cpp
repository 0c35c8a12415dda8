// Unit tests of the failure kinds a caller sees (request_lost, response_lost, server_crashed,
// timeout, no_such_process, no_such_operation, application_error, queue_full, bad arguments),
// of the reply cache bounds, and of bad packets being counted and dropped.
#include "proto/rpc/rpc_messages.h"
#include "rpc_harness.h"

namespace herald::proto::rpc::testing {
namespace {

using RpcFailureTest = RpcHarness;

// "pending" until the call completes, then "ok" or the error's name.
std::string_view code_of(const std::optional<Result<Bytes>>& result) {
    if (!result.has_value()) return "pending";
    return result->has_value() ? "ok" : errc_name(result->error().code);
}

TEST_F(RpcFailureTest, RequestLostWhenServerNeverAnswers) {
    drop = [](const SendEffect&, NodeId) { return true; };
    auto options = call_options(Protocol::rara, Semantics::exactly_once);
    options.retry_limit = 4;
    const auto op = call(options);
    advance(Duration::seconds(10));
    EXPECT_EQ(code_of(result_of(op)), "request_lost");
    EXPECT_EQ(count(PacketKind::rpc_request), 4u);  // retry_limit transmissions in all.
    EXPECT_TRUE(a.timers.empty());
}

TEST_F(RpcFailureTest, ResponseLostWhenServerAckedThenWentSilent) {
    bool silent = false;
    drop = [&](const SendEffect& s, NodeId from) {
        if (from == b.id && s.packet.header.kind == PacketKind::rpc_ack) silent = true;
        return silent && from == b.id && s.packet.header.kind != PacketKind::rpc_ack;
    };
    auto options = call_options(Protocol::rara, Semantics::exactly_once);
    options.retry_limit = 3;
    auto_execute = false;
    const auto op = call(options);
    settle();
    drop = [](const SendEffect&, NodeId from) { return from == NodeId{0xB}; };
    advance(Duration::seconds(10));
    EXPECT_EQ(code_of(result_of(op)), "response_lost");
    EXPECT_EQ(a.engine->counters().probes, 3u);
}

TEST_F(RpcFailureTest, ServerCrashedWhenRestartedServerCannotTellWhetherItRan) {
    auto_execute = false;
    const auto op = call(call_options(Protocol::rara, Semantics::exactly_once));
    settle();  // Acked by incarnation 1, running.
    ASSERT_EQ(b.executions.size(), 1u);
    restart_server();               // Not durable: incarnation 2 knows nothing of the call.
    advance(Duration::seconds(1));  // The next probe reaches incarnation 2.
    ASSERT_TRUE(result_of(op).has_value());
    EXPECT_EQ(code_of(result_of(op)), "server_crashed");
    EXPECT_EQ(b.engine->counters().executions, 0u);  // Not run again.
}

TEST_F(RpcFailureTest, RestartedServerRunsRequestItNeverAcknowledged) {
    // Under at-least-once a Req the old incarnation never answered is simply run.
    drop = [](const SendEffect& s, NodeId) {
        return s.packet.header.kind == PacketKind::rpc_response;
    };
    auto_execute = true;
    const auto op = call(call_options(Protocol::rr, Semantics::at_least_once));
    settle();
    restart_server();
    drop = nullptr;
    advance(Duration::milliseconds(60));
    EXPECT_EQ(code_of(result_of(op)), "ok");
    EXPECT_EQ(counter, 2);  // At least once: it ran in both incarnations.
}

TEST_F(RpcFailureTest, TimeoutAtDeadline) {
    auto_execute = false;
    auto options = call_options(Protocol::rra, Semantics::exactly_once);
    options.deadline = now + Duration::milliseconds(300);
    const auto op = call(options);
    advance(Duration::milliseconds(299));
    EXPECT_FALSE(result_of(op).has_value());
    advance(Duration::milliseconds(1));
    EXPECT_EQ(code_of(result_of(op)), "timeout");
}

TEST_F(RpcFailureTest, DeadlineAlreadyPassedFailsAtOnce) {
    auto options = call_options(Protocol::rr, Semantics::exactly_once);
    options.deadline = now;
    const auto op = call(options);
    EXPECT_EQ(code_of(result_of(op)), "timeout");
    EXPECT_TRUE(a.outbox.empty());
}

TEST_F(RpcFailureTest, NoSuchProcessAndNoSuchOperation) {
    const auto wrong_op = call(call_options(Protocol::rra, Semantics::exactly_once), "x", "mul");
    settle();
    EXPECT_EQ(code_of(result_of(wrong_op)), "no_such_operation");
    OperationId op = 99;
    a.engine->on_call(op, client_pid, Pid{b.id, 12345}, "add", {},
                      call_options(Protocol::rr, Semantics::exactly_once), now, a.out);
    a.absorb();
    settle();
    EXPECT_EQ(code_of(result_of(op)), "no_such_process");
    EXPECT_EQ(b.engine->counters().executions, 0u);
}

TEST_F(RpcFailureTest, ApplicationErrorCarriesHandlerText) {
    handler = [](const ExecuteEffect&) -> Result<Bytes> {
        return fail(Errc::not_found, "no account 17");
    };
    const auto op = call(call_options(Protocol::rra, Semantics::exactly_once));
    settle();
    ASSERT_EQ(code_of(result_of(op)), "application_error");
    EXPECT_EQ(result_of(op)->error().detail, "not_found: no account 17");
}

TEST_F(RpcFailureTest, ServerProcessExitDuringCallGivesServerCrashed) {
    auto_execute = false;
    const auto op = call(call_options(Protocol::rra, Semantics::exactly_once));
    settle();
    ASSERT_EQ(b.executions.size(), 1u);
    b.engine->on_unserve(server_pid, now, b.out);
    b.absorb();
    settle();
    EXPECT_EQ(code_of(result_of(op)), "server_crashed");
    run_handlers();  // The late result is ignored.
    EXPECT_EQ(b.engine->counters().results_ignored, 1u);
}

TEST_F(RpcFailureTest, BadArgumentsAreRefusedAtOnce) {
    auto options = call_options(Protocol::rr, Semantics::exactly_once);
    const auto no_name = call(options, "x", "");
    EXPECT_EQ(code_of(result_of(no_name)), "invalid_argument");
    options.retry_limit = 0;
    const auto bad_options = call(options);
    EXPECT_EQ(code_of(result_of(bad_options)), "invalid_argument");
    OperationId op = 50;
    a.engine->on_call(op, Pid{b.id, 1}, server_pid, "add", {},
                      call_options(Protocol::rr, Semantics::exactly_once), now,
                      a.out);  // Client not on this node.
    a.absorb();
    EXPECT_EQ(code_of(result_of(op)), "invalid_argument");
    EXPECT_TRUE(a.outbox.empty());
    EXPECT_FALSE(b.engine->on_serve(Pid{a.id, 1}, "add", false));
    EXPECT_EQ(b.engine->on_serve(server_pid, "add", false).error().code, Errc::already_exists);
}

class SmallCacheTest : public RpcHarness {
protected:
    SmallCacheTest() : RpcHarness(small()) {}
    static RpcOptions small() {
        auto options = quiet_options();
        options.cache_entries_max = 1;
        return options;
    }
};

TEST_F(SmallCacheTest, FullCacheRefusesWithBusyAndClientRetriesLater) {
    auto_execute = false;
    const auto first = call(call_options(Protocol::rra, Semantics::exactly_once), "a");
    const auto second = call(call_options(Protocol::rra, Semantics::exactly_once), "b");
    settle();
    EXPECT_EQ(b.executions.size(), 1u);
    EXPECT_EQ(count(PacketKind::rpc_nack), 1u);
    EXPECT_EQ(b.engine->counters().busy_refusals, 1u);
    run_handlers();
    settle();  // First finishes and is acked; the client's floor frees its entry.
    EXPECT_EQ(code_of(result_of(first)), "ok");
    advance(Duration::milliseconds(50));  // The refused call is resent and now admitted.
    run_handlers();
    settle();
    EXPECT_EQ(code_of(result_of(second)), "ok");
    EXPECT_EQ(counter, 2);
}

// Tombstones are freed only when the client's floor passes them; if the client's oldest call
// could be refused for want of room, the floor would never move again.
TEST_F(SmallCacheTest, OldestCallOfAClientIsAdmittedEvenWhenFull) {
    bool first_sent = false;
    drop = [&](const SendEffect& s, NodeId) {
        if (s.packet.header.kind != PacketKind::rpc_request || first_sent) return false;
        first_sent = true;
        return true;  // The first call's first Req is lost: the second call gets in first.
    };
    const auto first = call(call_options(Protocol::rra, Semantics::exactly_once), "a");
    const auto second = call(call_options(Protocol::rra, Semantics::exactly_once), "b");
    settle();
    EXPECT_EQ(code_of(result_of(second)), "ok");
    EXPECT_EQ(b.engine->counters().cache_entries, 1u);  // The second call's tombstone.
    advance(Duration::milliseconds(50));                // The first call is resent.
    EXPECT_EQ(code_of(result_of(first)), "ok");
    EXPECT_EQ(b.engine->counters().busy_refusals, 0u);
    EXPECT_EQ(counter, 2);
}

TEST_F(SmallCacheTest, CacheThatStaysFullEndsInQueueFull) {
    auto_execute = false;
    call(call_options(Protocol::rra, Semantics::exactly_once), "a");
    auto options = call_options(Protocol::rra, Semantics::exactly_once);
    options.retry_limit = 3;
    const auto refused = call(options, "b");
    advance(Duration::seconds(2));
    EXPECT_EQ(code_of(result_of(refused)), "queue_full");
}

TEST_F(SmallCacheTest, UnacknowledgedReplyIsNeverDroppedToMakeRoom) {
    drop = [](const SendEffect& s, NodeId) {
        return s.packet.header.kind == PacketKind::rpc_response;
    };
    const auto first = call(call_options(Protocol::rra, Semantics::exactly_once), "a");
    settle();  // Answered, but the client has not got the Resp: the entry must stay.
    auto options = call_options(Protocol::rr, Semantics::exactly_once);
    options.retry_limit = 2;
    const auto second = call(options, "b");
    advance(Duration::milliseconds(500));
    EXPECT_EQ(code_of(result_of(second)), "queue_full");
    EXPECT_EQ(b.engine->counters().cache_entries, 1u);
    EXPECT_EQ(b.engine->counters().busy_refusals, 2u);
    drop = nullptr;
    advance(Duration::seconds(1));  // The server's resend reaches the client at last.
    EXPECT_EQ(*result_of(first), to_bytes("1"));
    EXPECT_EQ(counter, 1);
}

class ShortRetentionTest : public RpcHarness {
protected:
    ShortRetentionTest() : RpcHarness(short_retention()) {}
    static RpcOptions short_retention() {
        auto options = quiet_options();
        options.retention = Duration::seconds(1);
        return options;
    }
};

// The server forgets a client node silent for `retention`; a resent Req of a call it ran
// before must then be refused, not run again.
TEST_F(ShortRetentionTest, CallOlderThanRetentionIsRefusedNotRunAgain) {
    drop = [](const SendEffect& s, NodeId) {
        return s.packet.header.kind == PacketKind::rpc_response;
    };
    auto options = call_options(Protocol::rr, Semantics::exactly_once);
    options.retry_limit = 100;
    const auto op = call(options);
    settle();
    EXPECT_EQ(counter, 1);
    drop = [](const SendEffect&, NodeId) { return true; };  // A long partition.
    advance(Duration::seconds(3));
    EXPECT_EQ(b.engine->counters().cache_clients, 0u);  // The server forgot the client.
    drop = nullptr;
    advance(Duration::seconds(2));
    EXPECT_EQ(code_of(result_of(op)), "response_lost");
    EXPECT_EQ(counter, 1);
}

// A reply not fetched for `retention` is dropped (RR has no Ack to free it); its call keeps a
// tombstone, so a late resend gets response_lost instead of a second run.
TEST_F(ShortRetentionTest, UnfetchedReplyIsForgottenAndLateResendGetsResponseLost) {
    drop = [](const SendEffect& s, NodeId) {
        return s.packet.header.kind == PacketKind::rpc_response && s.packet.header.seq == 1;
    };
    auto options = call_options(Protocol::rr, Semantics::exactly_once);
    options.retransmit_timeout = Duration::seconds(2);  // Resends less often than retention.
    options.retransmit_max = Duration::seconds(2);
    const auto op = call(options);
    settle();
    EXPECT_EQ(counter, 1);
    for (int i = 0; i < 8; ++i) {  // Other calls keep the client node known to the server.
        call(call_options(Protocol::rra, Semantics::at_least_once), "y", "get");
        advance(Duration::milliseconds(300));
    }
    EXPECT_EQ(code_of(result_of(op)), "response_lost");
    EXPECT_EQ(counter, 1);
    EXPECT_EQ(b.engine->counters().executions, 9u);  // The first call ran once.
}

TEST_F(RpcFailureTest, MalformedPacketsAreCountedAndDropped) {
    call(call_options(Protocol::rr, Semantics::exactly_once));
    ASSERT_EQ(a.outbox.size(), 1u);
    const wire::Packet good = a.outbox[0].packet;
    a.outbox.clear();
    std::vector<wire::Packet> bad(6, good);
    bad[0].extensions.clear();                   // No call_id, no operation.
    bad[1].extensions[0].value.pop_back();       // call_id of 11 bytes.
    bad[2].header.source = Pid{NodeId{0xC}, 1};  // Source pid not on the sending node.
    bad[3].header.ack = 1000;                    // Floor above seq.
    bad[4].header.kind = PacketKind::data;       // Not an RPC packet.
    bad[5].header.target = Pid{NodeId{0xD}, 1};  // Not for this node.
    for (const auto& p : bad) b.engine->on_packet(a.id, p, now, b.out);
    b.absorb();
    EXPECT_EQ(b.engine->counters().malformed_dropped, bad.size());
    EXPECT_TRUE(b.outbox.empty());
    EXPECT_TRUE(b.executions.empty());
    wire::Packet bad_reason = response_packet(
        Route{client_pid, server_pid, CallId{1, 1}, Mode{}, 1}, 1, fail(Errc::timeout));
    bad_reason.extensions[1].value = {200};  // Not an Errc.
    a.engine->on_packet(b.id, bad_reason, now, a.out);
    EXPECT_EQ(a.engine->counters().malformed_dropped, 1u);
}

}  // namespace
}  // namespace herald::proto::rpc::testing

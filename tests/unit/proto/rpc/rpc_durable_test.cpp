// Unit tests of the durable reply cache: the "executing" record before a run, the reply (with
// the handler's writes) on disk before Resp, and what a restarted server does with each record.
#include "proto/rpc/reply_cache.h"
#include "rpc_harness.h"

namespace herald::proto::rpc::testing {
namespace {

RpcOptions durable_options() {
    auto options = quiet_options();
    options.durable = true;
    return options;
}

class RpcDurableTest : public RpcHarness {
protected:
    RpcDurableTest() : RpcHarness(durable_options()) {}

    [[nodiscard]] std::size_t call_records() const {
        std::size_t n = 0;
        for (const auto& [key, value] : b.disk)
            if (key.starts_with("rpc/c/")) ++n;
        return n;
    }
    [[nodiscard]] std::string_view code(OperationId op) const {
        const auto result = result_of(op);
        if (!result) return "pending";
        return result->has_value() ? "ok" : errc_name(result->error().code);
    }
};

TEST_F(RpcDurableTest, RestartedServerAnswersFinishedCallFromDisk) {
    drop = [](const SendEffect& s, NodeId) {
        return s.packet.header.kind == PacketKind::rpc_response;
    };
    const auto op = call(call_options(Protocol::rra, Semantics::exactly_once));
    settle();
    EXPECT_EQ(counter, 1);
    restart_server();
    drop = nullptr;
    advance(Duration::milliseconds(60));
    EXPECT_EQ(code(op), "ok");
    EXPECT_EQ(*result_of(op), to_bytes("1"));
    EXPECT_EQ(counter, 1);
    EXPECT_EQ(b.engine->counters().executions, 0u);
    EXPECT_EQ(b.engine->counters().duplicates_answered, 1u);
}

TEST_F(RpcDurableTest, CrashDuringRunIsReportedAsServerCrashedAndNotRunAgain) {
    auto_execute = false;
    const auto op = call(call_options(Protocol::rr, Semantics::exactly_once));
    settle();
    ASSERT_EQ(b.executions.size(), 1u);  // Its "executing" record is on disk.
    EXPECT_EQ(call_records(), 1u);
    restart_server();
    advance(Duration::milliseconds(60));
    EXPECT_EQ(code(op), "server_crashed");
    EXPECT_TRUE(b.executions.empty());
    EXPECT_EQ(b.engine->counters().crashed_reported, 1u);
}

TEST_F(RpcDurableTest, CrashBeforeExecutingRecordIsOnDiskRunsTheCallOnce) {
    auto_durable = false;
    const auto op = call(call_options(Protocol::rara, Semantics::exactly_once));
    settle();
    EXPECT_TRUE(b.executions.empty());  // Waits for the record.
    EXPECT_EQ(count(PacketKind::rpc_ack), 1u);
    restart_server();  // The write never reached the disk.
    auto_durable = true;
    advance(Duration::seconds(1));  // A probe reaches incarnation 2: it proves it never ran.
    EXPECT_EQ(code(op), "ok");
    EXPECT_EQ(counter, 1);
}

TEST_F(RpcDurableTest, ResponseWaitsUntilReplyIsOnDisk) {
    auto_durable = false;
    const auto op = call(call_options(Protocol::rr, Semantics::exactly_once));
    settle();
    b.flush_disk(now);  // The "executing" record: now the handler may run.
    ASSERT_EQ(b.executions.size(), 1u);
    run_handlers();
    settle();
    EXPECT_EQ(count(PacketKind::rpc_response), 0u);
    ASSERT_EQ(b.persists.size(), 1u);
    b.flush_disk(now);
    settle();
    EXPECT_EQ(count(PacketKind::rpc_response), 1u);
    EXPECT_EQ(code(op), "ok");
}

TEST_F(RpcDurableTest, HandlerWritesAreCommittedWithTheReply) {
    auto_durable = false;
    auto_execute = false;
    call(call_options(Protocol::rr, Semantics::exactly_once));
    settle();
    b.flush_disk(now);
    ASSERT_EQ(b.executions.size(), 1u);
    std::vector<HandlerWrite> writes{{"counter", to_bytes("1"), false}};
    b.engine->on_result(b.executions[0].execution, to_bytes("1"), std::move(writes), now, b.out);
    b.absorb();
    ASSERT_EQ(b.persists.size(), 2u);
    EXPECT_EQ(b.persists[0].key, "counter");
    EXPECT_EQ(b.persists[0].token, b.persists[1].token);  // One atomic write.
    restart_server();  // Neither reached the disk: the call reads as crashed, no state change.
    EXPECT_FALSE(b.disk.contains("counter"));
    advance(Duration::milliseconds(60));
    EXPECT_EQ(b.engine->counters().crashed_reported, 1u);
}

// A failed write is answered, never left waiting: the caller learns storage_error, whether
// the execution marker (the handler never ran) or the reply (its writes are lost) failed.
TEST_F(RpcDurableTest, AFailedMarkerWriteAnswersStorageErrorAndRunsNothing) {
    auto_durable = false;
    const auto op = call(call_options(Protocol::rara, Semantics::exactly_once));
    settle();
    ASSERT_FALSE(b.persists.empty());
    b.fail_disk(now);
    settle();
    EXPECT_TRUE(b.executions.empty());
    EXPECT_EQ(code(op), "storage_error");
    EXPECT_EQ(counter, 0);
    EXPECT_EQ(b.engine->counters().store_failures, 1u);
}

TEST_F(RpcDurableTest, AFailedReplyWriteAnswersStorageErrorAndKeepsNoState) {
    auto_durable = false;
    auto_execute = false;
    const auto op = call(call_options(Protocol::rr, Semantics::exactly_once));
    settle();
    b.flush_disk(now);
    ASSERT_EQ(b.executions.size(), 1u);
    std::vector<HandlerWrite> writes{{"counter", to_bytes("1"), false}};
    b.engine->on_result(b.executions[0].execution, to_bytes("1"), std::move(writes), now, b.out);
    b.absorb(now);
    b.executions.clear();
    b.fail_disk(now);
    settle();
    EXPECT_EQ(code(op), "storage_error");
    EXPECT_FALSE(b.disk.contains("counter"));
}

TEST_F(RpcDurableTest, ReservedKeysInHandlerWritesAreRefused) {
    handler = nullptr;
    auto_execute = false;
    for (const std::string key : {"rpc/c/evil", "node/incarnation"}) {
        const auto op = call(call_options(Protocol::rr, Semantics::exactly_once));
        settle();
        ASSERT_EQ(b.executions.size(), 1u);
        std::vector<HandlerWrite> writes{{key, {}, false}};
        b.engine->on_result(b.executions[0].execution, to_bytes("1"), std::move(writes), now,
                            b.out);
        b.absorb();
        b.executions.clear();
        settle();
        EXPECT_EQ(code(op), "application_error") << key;
        EXPECT_FALSE(b.disk.contains(key)) << key;
    }
}

TEST_F(RpcDurableTest, FloorOnDiskLetsFinishedRecordsGo) {
    for (int i = 0; i < 20; ++i) {
        call(call_options(Protocol::rra, Semantics::exactly_once), "c" + std::to_string(i));
        settle();
    }
    EXPECT_EQ(counter, 20);
    EXPECT_LE(call_records(), 2u);
    EXPECT_TRUE(b.disk.contains(ReplyCache::floor_key(a.id)));
}

TEST_F(RpcDurableTest, LateDuplicateAfterRestartDoesNotRunAgain) {
    wire::Packet old_request;
    drop = [&](const SendEffect& s, NodeId) {
        if (s.packet.header.kind == PacketKind::rpc_request) old_request = s.packet;
        return false;
    };
    call(call_options(Protocol::rara, Semantics::exactly_once), "first");
    settle();
    call(call_options(Protocol::rara, Semantics::exactly_once), "second");
    settle();  // The second Req's floor erased the first call's record.
    restart_server();
    // A copy of the first Req, delayed in the network, arrives at the new incarnation.
    wire::Packet first = old_request;
    first.header.seq = 1;
    first.extensions[0].value[4] = 1;  // call_id seq 1 (little-endian u64 after the u32).
    first.header.ack = 1;
    first.body = to_bytes("first");
    b.engine->on_packet(a.id, first, now, b.out);
    b.absorb();
    settle();
    EXPECT_EQ(runs["first"], 1);
    EXPECT_EQ(b.engine->counters().stale_dropped, 1u);
}

TEST_F(RpcDurableTest, BadRecordsAreCountedAndSkipped) {
    b.disk["rpc/c/zz"] = to_bytes("junk");
    b.disk["rpc/f/000000000000000a"] = Bytes{9};
    b.disk["mailbox/1"] = to_bytes("not ours");
    restart_server();
    EXPECT_EQ(b.engine->counters().bad_records, 2u);
    const auto op = call(call_options(Protocol::rr, Semantics::exactly_once));
    settle();
    EXPECT_EQ(code(op), "ok");
}

// Proves the test above can fail: without the "executing" record a crash during the run lets
// the restarted server run the call a second time.
class SkipMarkerTest : public RpcHarness {
protected:
    SkipMarkerTest() : RpcHarness(mutated()) {}
    static RpcOptions mutated() {
        auto options = durable_options();
        options.mutations.skip_execution_marker = true;
        return options;
    }
};

TEST_F(SkipMarkerTest, WithoutExecutingRecordACrashRunsTheCallTwice) {
    auto_execute = false;
    call(call_options(Protocol::rr, Semantics::exactly_once));
    settle();
    ASSERT_EQ(b.executions.size(), 1u);
    run_handlers();  // Ran; the reply is not on disk yet...
    b.persists.clear();
    restart_server();  // ...and is lost.
    auto_execute = true;
    advance(Duration::milliseconds(60));
    EXPECT_EQ(runs["x"], 2);
}

}  // namespace
}  // namespace herald::proto::rpc::testing

// MailboxEngine driven by hand: create, send, receive, ack, leases and redelivery, duplicate
// suppression, durable writes that fail, full mailboxes, destroy, and a restart from disk;
// records encoded into the buffers the driver kept in the effects (bounded).
#include "mailbox_harness.h"

namespace herald::proto::mailbox::testing {
namespace {

TEST(MailboxEngine, TransientSendThenReceiveHandsTheMessageOut) {
    Harness t;
    ASSERT_TRUE(t.result(t.h(), t.create("jobs", Durability::transient)).has_value());
    ASSERT_TRUE(t.result(t.c(), t.send("jobs", "hello")).has_value());
    const auto got = t.received(t.receive("jobs", Duration::zero()));
    EXPECT_EQ(text_of(got.body), "hello");
    EXPECT_EQ(got.sender, t.sender);
    EXPECT_FALSE(got.redelivery);
    EXPECT_EQ(got.deliveries, 1u);
    const auto again = t.receive("jobs", Duration::zero());
    EXPECT_EQ(t.result(t.c(), again).error().code, Errc::timeout);
}

TEST(MailboxEngine, ReceiveWaitsForASendThenTimesOutWhenNothingComes) {
    Harness t;
    (void)t.create("jobs", Durability::transient);
    const auto op = t.receive("jobs", Duration::seconds(2));
    EXPECT_FALSE(t.c().completions.contains(op));
    (void)t.send("jobs", "late");
    EXPECT_EQ(text_of(t.received(op).body), "late");
    const auto empty = t.receive("jobs", Duration::seconds(1));
    t.advance(Duration::milliseconds(900));
    EXPECT_FALSE(t.c().completions.contains(empty));
    t.advance(Duration::milliseconds(200));
    EXPECT_EQ(t.result(t.c(), empty).error().code, Errc::timeout);
}

TEST(MailboxEngine, CompetingReceiversEachGetADifferentMessage) {
    Harness t;
    (void)t.create("jobs", Durability::transient);
    const Pid other{t.client, 8};
    const auto first = t.receive("jobs", Duration::seconds(5));
    const auto second = t.receive("jobs", Duration::seconds(5), other);
    (void)t.send("jobs", "a");
    (void)t.send("jobs", "b");
    EXPECT_EQ(text_of(t.received(first).body), "a");
    EXPECT_EQ(text_of(t.received(second).body), "b");
}

TEST(MailboxEngine, PersistentSendCompletesOnlyOnceDurable) {
    Harness t;
    (void)t.create("orders", Durability::persistent);
    EXPECT_TRUE(t.h().disk.contains("mailbox/b/orders"));
    t.auto_flush = false;
    const auto op = t.send("orders", "x");
    EXPECT_FALSE(t.c().completions.contains(op));
    t.flush(t.h());
    EXPECT_TRUE(t.result(t.c(), op).has_value());
    EXPECT_TRUE(t.h().disk.contains(message_key("orders", 1)));
}

TEST(MailboxEngine, AFailedDurableWriteFailsTheSendWithStorageError) {
    Harness t;
    (void)t.create("orders", Durability::persistent);
    t.h().disk_fails = true;
    const auto op = t.send("orders", "x");
    EXPECT_EQ(t.result(t.c(), op).error().code, Errc::storage_error);
    EXPECT_EQ(t.h().engine->stats().at(0).messages, 0u);
    t.h().disk_fails = false;
    EXPECT_TRUE(t.result(t.c(), t.send("orders", "y")).has_value());
}

// M6 for a send of the host's own node: its write names the send's operation (a driver may
// answer it once the write is durable), the send waits for the write however long it takes (no
// timeout, no retransmission), and a durable write answers it accepted even when the mailbox
// was destroyed meanwhile (M13); a send of another node names no operation and gets `closed`.
TEST(MailboxEngine, ALocalPersistentSendIsDecidedByItsWriteAlone) {
    Harness t;
    (void)t.create("orders", Durability::persistent);
    t.auto_flush = false;
    const Pid local{t.host, 5};
    const auto op = t.send("orders", "mine", local);
    ASSERT_EQ(t.h().persists.size(), 1u);
    EXPECT_EQ(t.h().persists[0].answers, op);
    t.advance(t.options.request_timeout + t.options.request_timeout);
    EXPECT_FALSE(t.h().completions.contains(op));
    EXPECT_EQ(t.h().engine->counters().retransmits, 0u);
    t.flush(t.h());
    EXPECT_TRUE(t.result(t.h(), op).has_value());

    const auto second = t.send("orders", "gone", local);
    const auto remote = t.send("orders", "theirs");
    ASSERT_EQ(t.h().persists.size(), 2u);
    EXPECT_EQ(t.h().persists[0].answers, second);
    EXPECT_EQ(t.h().persists[1].answers, 0u);
    const auto destroy = t.next_op++;
    t.h().engine->on_destroy(destroy, "orders", t.now, t.h().out);
    t.absorb(t.h());
    t.flush(t.h());
    EXPECT_TRUE(t.result(t.h(), destroy).has_value());
    EXPECT_TRUE(t.result(t.h(), second).has_value());
    EXPECT_EQ(t.result(t.c(), remote).error().code, Errc::closed);
    t.flush(t.h());  // The two records written meanwhile are erased again.
    EXPECT_TRUE(t.h().disk.empty());
}

TEST(MailboxEngine, RetriedSendIsStoredOnceWhenTheAcceptWasLost) {
    Harness t;
    (void)t.create("orders", Durability::persistent);
    int lost = 0;
    t.drop = [&](const wire::Packet& p) {
        return p.header.kind == PacketKind::mailbox_accept && lost++ < 2;
    };
    const auto op = t.send("orders", "once");
    t.advance(Duration::seconds(1));
    EXPECT_TRUE(t.result(t.c(), op).has_value());
    EXPECT_EQ(t.h().engine->stats().at(0).messages, 1u);
    EXPECT_GE(t.h().engine->counters().duplicate_sends, 2u);
}

TEST(MailboxEngine, UnackedLeaseEndsAndTheMessageComesBackMarkedRedelivery) {
    Harness t;
    (void)t.create("orders", Durability::persistent);
    (void)t.send("orders", "m");
    const auto first = t.received(t.receive("orders", Duration::zero()));
    EXPECT_FALSE(first.redelivery);
    t.advance(t.options.lease + Duration::milliseconds(100));
    const auto second = t.received(t.receive("orders", Duration::zero()));
    EXPECT_TRUE(second.redelivery);
    EXPECT_EQ(second.deliveries, 2u);
    EXPECT_EQ(t.result(t.c(), t.ack("orders", first.tag)).error().code, Errc::not_found);
    EXPECT_TRUE(t.result(t.c(), t.ack("orders", second.tag)).has_value());
    EXPECT_EQ(t.h().engine->stats().at(0).messages, 0u);
    EXPECT_FALSE(t.h().disk.contains(message_key("orders", 1)));
}

TEST(MailboxEngine, RetriedSendAfterAckIsNotStoredAgain) {
    Harness t;
    (void)t.create("orders", Durability::persistent);
    std::optional<wire::Packet> copy;
    t.drop = [&](const wire::Packet& p) {
        if (p.header.kind == PacketKind::mailbox_send && !copy) copy = p;
        return false;
    };
    (void)t.send("orders", "m");
    const auto got = t.received(t.receive("orders", Duration::zero()));
    (void)t.ack("orders", got.tag);
    t.wire_queue.push_back({t.client, t.host, *copy});  // The network repeats the old send.
    t.pump();
    EXPECT_EQ(t.h().engine->stats().at(0).messages, 0u);
}

TEST(MailboxEngine, FullMailboxRefusesWithQueueFull) {
    Harness t;
    (void)t.create("small", Durability::transient, 2);
    (void)t.send("small", "1");
    (void)t.send("small", "2");
    EXPECT_EQ(t.result(t.c(), t.send("small", "3")).error().code, Errc::queue_full);
    EXPECT_EQ(t.h().engine->counters().refused_full, 1u);
}

TEST(MailboxEngine, SendToAMissingMailboxFailsWithNotFound) {
    Harness t;
    EXPECT_EQ(t.result(t.c(), t.send("nope", "1")).error().code, Errc::not_found);
    EXPECT_EQ(t.result(t.c(), t.receive("nope", Duration::zero())).error().code, Errc::not_found);
}

TEST(MailboxEngine, DestroyAnswersWaitingReceiversClosedAndDiscardsMessages) {
    Harness t;
    (void)t.create("jobs", Durability::transient);
    const auto waiting = t.receive("jobs", Duration::seconds(5));
    const auto op = t.next_op++;
    t.h().engine->on_destroy(op, "jobs", t.now, t.h().out);
    t.absorb(t.h());
    t.settle();
    EXPECT_TRUE(t.result(t.h(), op).has_value());
    EXPECT_EQ(t.result(t.c(), waiting).error().code, Errc::closed);
    EXPECT_TRUE(t.h().engine->stats().empty());
}

TEST(MailboxEngine, PersistentMessagesSurviveARestartAndComeBackMarkedRedelivery) {
    Harness t;
    (void)t.create("orders", Durability::persistent);
    (void)t.send("orders", "kept");
    (void)t.send("orders", "acked");
    // Receive both, ack the second, then the host restarts with its disk.
    const auto a = t.received(t.receive("orders", Duration::zero()));
    const auto b = t.received(t.receive("orders", Duration::zero()));
    (void)t.ack("orders", b.tag);
    t.h().restart();
    ASSERT_EQ(t.h().engine->stats().size(), 1u);
    EXPECT_EQ(t.h().engine->stats().at(0).messages, 1u);
    const auto again = t.received(t.receive("orders", Duration::zero()));
    EXPECT_EQ(text_of(again.body), text_of(a.body));
    EXPECT_TRUE(again.redelivery);
    EXPECT_EQ(t.result(t.c(), t.ack("orders", a.tag)).error().code, Errc::not_found);
    EXPECT_TRUE(t.result(t.c(), t.ack("orders", again.tag)).has_value());
}

TEST(MailboxEngine, LostDeliverIsRepeatedForTheRetriedReceive) {
    Harness t;
    (void)t.create("jobs", Durability::transient);
    (void)t.send("jobs", "only");
    int lost = 0;
    t.drop = [&](const wire::Packet& p) {
        return p.header.kind == PacketKind::mailbox_deliver && lost++ < 1;
    };
    const auto op = t.receive("jobs", Duration::zero());
    t.advance(Duration::milliseconds(500));
    EXPECT_EQ(text_of(t.received(op).body), "only");
    EXPECT_EQ(t.h().engine->counters().delivered, 1u);
}

TEST(MailboxEngine, SendWithNoAnswerTimesOut) {
    Harness t;
    (void)t.create("jobs", Durability::transient);
    t.drop = [](const wire::Packet&) { return true; };
    const auto op = t.send("jobs", "x");
    t.advance(t.options.request_timeout + Duration::milliseconds(100));
    EXPECT_EQ(t.result(t.c(), op).error().code, Errc::timeout);
    EXPECT_GT(t.c().engine->counters().retransmits, 10u);
}

TEST(MailboxEngine, BadNamesAndCapacitiesAreInvalidArguments) {
    Harness t;
    EXPECT_EQ(t.result(t.h(), t.create("a/b", Durability::transient)).error().code,
              Errc::invalid_argument);
    EXPECT_EQ(t.result(t.h(), t.create("ok", Durability::transient, 0)).error().code,
              Errc::invalid_argument);
    (void)t.create("ok", Durability::transient);
    EXPECT_EQ(t.result(t.h(), t.create("ok", Durability::transient)).error().code,
              Errc::already_exists);
}

TEST(MailboxEngine, MalformedPacketsAreCountedAndDropped) {
    Harness t;
    wire::Packet p;
    p.header.kind = PacketKind::mailbox_send;
    p.header.seq = 1;
    p.header.source = Pid{t.client, 5};
    t.h().engine->on_packet(t.client, p, t.now, t.h().out);  // No mailbox_name.
    EXPECT_EQ(t.h().engine->counters().malformed_dropped, 1u);
}

}  // namespace
}  // namespace herald::proto::mailbox::testing

namespace herald::proto::mailbox::testing {
namespace {

TEST(MailboxEngine, RestartedHostRefusesUnknownTransientSendsDuringPacketLifetime) {
    Harness t;
    (void)t.create("orders", Durability::persistent);
    t.h().restart(t.now);
    (void)t.create("jobs", Durability::transient);
    EXPECT_EQ(t.result(t.c(), t.send("jobs", "x")).error().code, Errc::peer_restarted);
    EXPECT_TRUE(t.result(t.c(), t.send("orders", "y")).has_value());  // Age 0: not before.
    t.advance(t.options.packet_lifetime);
    EXPECT_TRUE(t.result(t.c(), t.send("jobs", "z")).has_value());
}

// --- Bulletin boards (docs/boards.md) ---

std::vector<std::uint64_t> seqs_of(const BoardBatch& b) {
    std::vector<std::uint64_t> out;
    for (const auto& p : b.posts) out.push_back(p.seq);
    return out;
}

TEST(BoardEngine, PostsGetIncreasingSeqsAndARetriedPostIsPostedOnce) {
    Harness t;
    ASSERT_TRUE(t.result(t.h(), t.board("news", Durability::transient)).has_value());
    EXPECT_EQ(t.posted_seq(t.send("news", "a")), 1u);
    // The first accept is lost: the retransmission is answered with the same seq (M4, B2).
    int accepts = 0;
    const Time posted = t.now;
    t.drop = [&](const wire::Packet& p) {
        return p.header.kind == PacketKind::mailbox_accept && accepts++ == 0;
    };
    const auto op = t.send("news", "b");
    t.advance(Duration::milliseconds(300));
    EXPECT_EQ(t.posted_seq(op), 2u);
    t.drop = nullptr;
    EXPECT_EQ(t.posted_seq(t.send("news", "c")), 3u);
    const auto all = t.batch(t.read("news", Duration::zero()));
    EXPECT_EQ(seqs_of(all), (std::vector<std::uint64_t>{1, 2, 3}));
    EXPECT_EQ(text_of(all.posts[1].body), "b");
    EXPECT_EQ(all.posts[1].sender, t.sender);
    EXPECT_EQ(all.posts[1].posted_ns, posted.ns());
}

TEST(BoardEngine, EachReaderSeesEveryPostOnceAtItsOwnCursor) {
    Harness t;
    (void)t.board("news", Durability::transient);
    const Pid other{t.client, 8};
    for (const char* text : {"a", "b", "c"}) (void)t.send("news", text);
    const auto first = t.batch(t.read("news", Duration::zero(), t.receiver, 0, 2));
    EXPECT_EQ(seqs_of(first), (std::vector<std::uint64_t>{1, 2}));
    EXPECT_EQ(first.cursor, 3u);
    EXPECT_EQ(seqs_of(t.batch(t.read("news", Duration::zero()))), std::vector<std::uint64_t>{3});
    EXPECT_EQ(t.result(t.c(), t.read("news", Duration::zero())).error().code, Errc::timeout);
    // The other reader has its own cursor; an explicit seq reads again and moves the cursor.
    EXPECT_EQ(seqs_of(t.batch(t.read("news", Duration::zero(), other))),
              (std::vector<std::uint64_t>{1, 2, 3}));
    EXPECT_EQ(seqs_of(t.batch(t.read("news", Duration::zero(), t.receiver, 2))),
              (std::vector<std::uint64_t>{2, 3}));
    EXPECT_EQ(t.h().engine->stats().at(0).readers, 2u);
}

TEST(BoardEngine, ABlockingReadWaitsForAPostAndEveryWaitingReaderGetsIt) {
    Harness t;
    (void)t.board("news", Durability::transient);
    const Pid other{t.client, 8};
    const auto one = t.read("news", Duration::seconds(2));
    const auto two = t.read("news", Duration::seconds(2), other);
    EXPECT_FALSE(t.c().completions.contains(one));
    (void)t.send("news", "x");
    EXPECT_EQ(seqs_of(t.batch(one)), std::vector<std::uint64_t>{1});
    EXPECT_EQ(seqs_of(t.batch(two)), std::vector<std::uint64_t>{1});
    const auto empty = t.read("news", Duration::seconds(1));
    t.advance(Duration::milliseconds(1100));
    EXPECT_EQ(t.result(t.c(), empty).error().code, Errc::timeout);
}

TEST(BoardEngine, RetentionByCountEvictsTheOldestAndALaggingReaderIsToldWhatItMissed) {
    Harness t;
    (void)t.board("news", Durability::transient, 3);
    (void)t.send("news", "1");
    EXPECT_EQ(seqs_of(t.batch(t.read("news", Duration::zero()))), std::vector<std::uint64_t>{1});
    for (const char* text : {"2", "3", "4", "5", "6"}) (void)t.send("news", text);
    const auto late = t.batch(t.read("news", Duration::zero()));
    EXPECT_EQ(late.missed, 2u);  // 2 and 3 were evicted before it read them.
    EXPECT_EQ(seqs_of(late), (std::vector<std::uint64_t>{4, 5, 6}));
    EXPECT_EQ(t.h().engine->counters().board_evicted, 3u);
    // A new reader starts at the oldest retained post and missed nothing.
    const auto fresh = t.batch(t.read("news", Duration::zero(), Pid{t.client, 9}));
    EXPECT_EQ(fresh.missed, 0u);
    EXPECT_EQ(seqs_of(fresh), (std::vector<std::uint64_t>{4, 5, 6}));
}

TEST(BoardEngine, ByteCapacityEvictsTheOldestAndAPostLargerThanTheBoardIsTooLarge) {
    Harness t;
    (void)t.board("news", Durability::transient, 100, 10);
    (void)t.send("news", "aaaa");
    (void)t.send("news", "bbbb");
    (void)t.send("news", "cccc");  // 12 bytes > 10: "aaaa" goes.
    const auto b = t.batch(t.read("news", Duration::zero(), t.receiver, 1));
    EXPECT_EQ(b.missed, 1u);
    EXPECT_EQ(seqs_of(b), (std::vector<std::uint64_t>{2, 3}));
    EXPECT_EQ(t.result(t.c(), t.send("news", "0123456789x")).error().code, Errc::too_large);
}

TEST(BoardEngine, RetentionByAgeDropsOldPosts) {
    Harness t;
    (void)t.board("news", Durability::transient, 100, 1 << 20, 1000);
    (void)t.send("news", "old");
    t.advance(Duration::milliseconds(600));
    (void)t.send("news", "new");
    t.advance(Duration::milliseconds(500));
    const auto b = t.batch(t.read("news", Duration::zero(), t.receiver, 1));
    EXPECT_EQ(b.missed, 1u);
    EXPECT_EQ(seqs_of(b), std::vector<std::uint64_t>{2});
    t.advance(Duration::milliseconds(600));
    EXPECT_EQ(t.h().engine->stats().at(0).first_seq, 0u);
    EXPECT_EQ(t.h().engine->stats().at(0).messages, 0u);
}

TEST(BoardEngine, BadBoardArgumentsAndWrongOperationsAreInvalidArgument) {
    Harness t;
    const auto code = [&](OperationId op) { return t.result(t.h(), op).error().code; };
    EXPECT_EQ(code(t.board("b1", Durability::transient, 0)), Errc::invalid_argument);
    EXPECT_EQ(code(t.board("b2", Durability::transient, (1 << 20) + 1)), Errc::invalid_argument);
    EXPECT_EQ(code(t.board("b3", Durability::transient, 10, 1 << 20, 31ull * 24 * 3600 * 1000)),
              Errc::invalid_argument);
    EXPECT_EQ(code(t.create_spec({.name = "m", .retain_ms = 5})), Errc::invalid_argument);
    (void)t.board("news", Durability::transient);
    (void)t.create("jobs", Durability::transient);
    EXPECT_EQ(t.result(t.c(), t.receive("news", Duration::zero())).error().code,
              Errc::invalid_argument);
    EXPECT_EQ(t.result(t.c(), t.read("jobs", Duration::zero())).error().code,
              Errc::invalid_argument);
    EXPECT_EQ(t.result(t.c(), t.read("news", Duration::zero(), t.receiver, 0, 0)).error().code,
              Errc::invalid_argument);
    EXPECT_EQ(t.result(t.c(), t.read("news", Duration::zero(), t.receiver, 0, 1025)).error().code,
              Errc::invalid_argument);
}

TEST(BoardEngine, PersistentPostsBecomeReadableInSeqOrder) {
    Harness t;
    (void)t.board("news", Durability::persistent);
    t.auto_flush = false;
    const auto a = t.send("news", "a");
    t.flush(t.h());  // Writes "a" before "b" is sent.
    const auto b = t.send("news", "b");
    const auto c = t.send("news", "c");
    // Two writes in flight: nothing beyond "a" may be read before "b" is durable.
    const auto early = t.read("news", Duration::zero());
    t.flush(t.h());
    EXPECT_EQ(seqs_of(t.batch(early)), std::vector<std::uint64_t>{1});
    EXPECT_EQ(t.posted_seq(a), 1u);
    EXPECT_EQ(t.posted_seq(b), 2u);
    EXPECT_EQ(t.posted_seq(c), 3u);
}

TEST(BoardEngine, APersistentBoardKeepsPostsSeqsAndCursorsAcrossARestart) {
    Harness t;
    (void)t.board("news", Durability::persistent, 2);
    const Pid other{t.client, 8};
    for (const char* text : {"a", "b", "c"}) (void)t.send("news", text);
    EXPECT_EQ(seqs_of(t.batch(t.read("news", Duration::zero(), t.receiver, 0, 1))),
              std::vector<std::uint64_t>{2});
    EXPECT_EQ(seqs_of(t.batch(t.read("news", Duration::zero(), other))),
              (std::vector<std::uint64_t>{2, 3}));
    t.h().restart(t.now);
    EXPECT_EQ(t.h().engine->counters().bad_records, 0u);
    EXPECT_EQ(seqs_of(t.batch(t.read("news", Duration::zero()))), std::vector<std::uint64_t>{3});
    EXPECT_EQ(t.result(t.c(), t.read("news", Duration::zero(), other)).error().code, Errc::timeout);
    // Evict everything, restart: seqs are never given again.
    (void)t.send("news", "d");
    (void)t.send("news", "e");
    t.h().restart(t.now);
    t.now = t.now + Duration::seconds(10);  // Past M17's window for a fresh send.
    EXPECT_EQ(t.posted_seq(t.send("news", "f")), 6u);
}

TEST(BoardEngine, ACursorWriteThatFailsFailsTheReadAndLeavesTheCursor) {
    Harness t;
    (void)t.board("news", Durability::persistent);
    (void)t.send("news", "a");
    t.h().disk_fails = true;
    EXPECT_EQ(t.result(t.c(), t.read("news", Duration::zero())).error().code, Errc::storage_error);
    t.h().disk_fails = false;
    EXPECT_EQ(seqs_of(t.batch(t.read("news", Duration::zero()))), std::vector<std::uint64_t>{1});
}

TEST(BoardEngine, DestroyErasesEveryBoardRecord) {
    Harness t;
    (void)t.board("news", Durability::persistent, 1);
    (void)t.send("news", "a");
    (void)t.send("news", "b");
    (void)t.read("news", Duration::zero());
    const auto op = t.next_op++;
    t.h().engine->on_destroy(op, "news", t.now, t.h().out);
    t.absorb(t.h());
    t.settle();
    EXPECT_TRUE(t.result(t.h(), op).has_value());
    // Only the evicted post's tombstone stays (M4: tombstones outlive their mailbox).
    ASSERT_EQ(t.h().disk.size(), 1u) << t.h().disk.begin()->first;
    EXPECT_TRUE(t.h().disk.begin()->first.starts_with("mailbox/t/"));
}

TEST(BoardEngine, ALateCopyOfAnEvictedPersistentPostAfterARestartGetsItsSeqAndIsNotPostedAgain) {
    Harness t;
    (void)t.board("news", Durability::persistent, 1);
    // Keep a copy of the first post's packet to replay it late.
    std::optional<wire::Packet> copy;
    t.drop = [&](const wire::Packet& p) {
        if (p.header.kind == PacketKind::mailbox_send && !copy) copy = p;
        return false;
    };
    EXPECT_EQ(t.posted_seq(t.send("news", "a")), 1u);
    t.drop = nullptr;
    EXPECT_EQ(t.posted_seq(t.send("news", "b")), 2u);  // Evicts "a".
    t.h().restart(t.now);
    t.now = t.now + Duration::seconds(10);
    ASSERT_TRUE(copy.has_value());
    t.h().engine->on_packet(t.client, *copy, t.now, t.h().out);
    ASSERT_EQ(t.h().out.sends.size(), 1u);
    wire::Packet answer = std::move(t.h().out.sends[0]).take();
    t.h().out.clear();
    auto parsed = parse(t.host, answer, 64);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->reason, Errc::ok);
    EXPECT_EQ(parsed->mailbox_seq, 1u);
    EXPECT_EQ(t.h().engine->stats().at(0).next_seq, 3u);
}

// The record buffer source: a persistent send's record and its ack's erase and tombstone are
// encoded into the buffers the driver kept in the effects (the same heap blocks, old content
// replaced), last kept first; the records are the same as without spares.
TEST(MailboxEngine, PersistsEncodeTheirRecordsIntoTheBuffersTheDriverKept) {
    Harness t;
    (void)t.create("orders", Durability::persistent);
    t.auto_flush = false;
    std::vector<const void*> keys;
    std::vector<const void*> values;
    for (int i = 0; i < 3; ++i) {
        std::string key(100, 'k');
        Bytes value(200, 0xee);
        keys.push_back(key.data());
        if (i < 2) values.push_back(value.data());
        t.h().out.keep_record_buffers(std::move(key), i < 2 ? std::move(value) : Bytes{});
    }
    ASSERT_EQ(t.h().out.spare_keys(), 3u);
    ASSERT_EQ(t.h().out.spare_values(), 2u);
    (void)t.send("orders", "x");
    ASSERT_EQ(t.h().persists.size(), 1u);
    const PersistEffect& sent = t.h().persists[0];
    EXPECT_EQ(sent.key, message_key("orders", 1));
    EXPECT_EQ(static_cast<const void*>(sent.key.data()), keys[2]);
    EXPECT_EQ(static_cast<const void*>(sent.value.data()), values[1]);
    const auto stored = decode_message(sent.value);
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(stored->body, to_bytes("x"));
    EXPECT_EQ(sent.value.size(), 24u + 1u);
    EXPECT_EQ(t.h().engine->counters().records_in_kept_buffers, 1u);
    t.flush(t.h());
    const auto got = t.received(t.receive("orders", Duration::zero()));
    (void)t.ack("orders", got.tag);
    ASSERT_EQ(t.h().persists.size(), 2u);
    EXPECT_TRUE(t.h().persists[0].erase);
    EXPECT_EQ(t.h().persists[0].key, message_key("orders", 1));
    EXPECT_EQ(static_cast<const void*>(t.h().persists[0].key.data()), keys[1]);
    EXPECT_EQ(static_cast<const void*>(t.h().persists[1].key.data()), keys[0]);
    EXPECT_EQ(static_cast<const void*>(t.h().persists[1].value.data()), values[0]);
    EXPECT_EQ(t.h().persists[1].value.size(), 8u);
    EXPECT_EQ(t.h().out.spare_keys(), 0u);
    t.flush(t.h());
    EXPECT_FALSE(t.h().disk.contains(message_key("orders", 1)));
    EXPECT_EQ(t.h().disk.size(), 2u);  // The definition and the tombstone.
}

// The source's bounds: at most record_spares_max of each kind, none above
// record_spare_bytes_max and none without capacity; clear() keeps them; a take when none is
// kept is a new empty buffer.
TEST(MailboxEngine, TheEffectsKeepAtMostTheBoundOfRecordBuffers) {
    Effects out;
    EXPECT_TRUE(out.record_key().empty());
    out.keep_record_buffers(std::string(record_spare_bytes_max + 1, 'k'),
                            Bytes(record_spare_bytes_max + 1, 1));
    out.keep_record_buffers(std::string(), Bytes());
    EXPECT_EQ(out.spare_keys(), 0u);
    EXPECT_EQ(out.spare_values(), 0u);
    for (std::size_t i = 0; i < record_spares_max + 10; ++i) {
        out.keep_record_buffers(std::string(64, 'k'), Bytes(64, 1));
    }
    EXPECT_EQ(out.spare_keys(), record_spares_max);
    EXPECT_EQ(out.spare_values(), record_spares_max);
    out.clear();
    EXPECT_EQ(out.spare_keys(), record_spares_max);
    const Bytes value = out.record_value();
    EXPECT_TRUE(value.empty());
    EXPECT_GE(value.capacity(), 64u);
    EXPECT_EQ(out.spare_values(), record_spares_max - 1);
}

TEST(NodePool, AFreedNodeIsReusedForTheNextEntryOfItsMap) {
    NodePool pool(8);
    auto map = pooled<PooledMap<std::uint64_t, std::string>>(pool);
    const auto* first = &*map.emplace(1, "a").first;
    map.erase(1);
    EXPECT_EQ(pool.kept(), 1u);
    const auto* second = &*map.emplace(2, "b").first;
    EXPECT_EQ(static_cast<const void*>(second), static_cast<const void*>(first));
    EXPECT_EQ(pool.kept(), 0u);
    EXPECT_EQ(map.at(2), "b");
}

TEST(NodePool, KeepsAtMostItsBoundOfFreedNodesAndHandsOtherSizesToTheHeap) {
    NodePool pool(2);
    {
        auto map = pooled<PooledMap<std::uint64_t, std::uint64_t>>(pool);
        for (std::uint64_t i = 0; i < 5; ++i) map.emplace(i, i);
        map.clear();
        EXPECT_EQ(pool.kept(), 2u);
    }
    // A block of another size than the pool's is never kept.
    void* other = pool.take(1024);
    pool.give(other, 1024);
    EXPECT_EQ(pool.kept(), 2u);
}

TEST(NodePool, AMovedOrSwappedMapKeepsItsPoolAndTheEngineTablesStayCorrect) {
    NodePool pool(4);
    auto map = pooled<PooledMap<std::uint64_t, std::uint64_t>>(pool);
    map.emplace(1, 1);
    PooledMap<std::uint64_t, std::uint64_t> moved;
    moved = std::move(map);
    EXPECT_EQ(moved.get_allocator().pool(), &pool);
    moved.erase(1);
    EXPECT_EQ(pool.kept(), 1u);
    // Many persistent messages through one engine: every table reuses nodes and stays right.
    Harness t;
    (void)t.create("orders", Durability::persistent);
    for (int i = 0; i < 50; ++i) {
        ASSERT_TRUE(t.result(t.c(), t.send("orders", std::to_string(i))).has_value());
        const auto got = t.received(t.receive("orders", Duration::zero()));
        EXPECT_EQ(text_of(got.body), std::to_string(i));
        ASSERT_TRUE(t.result(t.c(), t.ack("orders", got.tag)).has_value());
    }
    EXPECT_EQ(t.h().engine->stats().at(0).messages, 0u);
}

}  // namespace
}  // namespace herald::proto::mailbox::testing

// The host forgets a client pid's answers once its floor passes them, and drops late copies of
// requests below the floor (docs/mailboxes.md M3, M24).
#include "mailbox_harness.h"

namespace herald::proto::mailbox::testing {
namespace {

MailboxOptions small_answer_table() {
    MailboxOptions o;
    o.answers_max = 8;
    return o;
}

TEST(MailboxFloor, AReceiverDequeuesFarMoreThanTheAnswerTableHoldsWithinTheRetention) {
    Harness t(small_answer_table());
    (void)t.create("q", Durability::persistent, 1000);
    // 100 receive + ack pairs, all within one answer_retention: without the floor each leaves
    // two answers behind and the ninth request is refused with queue_full.
    for (int i = 0; i < 100; ++i) {
        ASSERT_TRUE(t.result(t.c(), t.send("q", std::to_string(i))).has_value());
        const auto got = t.received(t.receive("q", Duration::zero()));
        ASSERT_EQ(text_of(got.body), std::to_string(i)) << "round " << i;
        const auto& acked = t.result(t.c(), t.ack("q", got.tag));
        ASSERT_TRUE(acked.has_value()) << "round " << i << ": " << acked.error().to_string();
    }
}

TEST(MailboxFloor, ALateCopyOfAFinishedReceiveTakesNothing) {
    Harness t;
    (void)t.create("q", Durability::transient);
    (void)t.send("q", "first");
    (void)t.send("q", "second");
    std::optional<wire::Packet> copy;
    t.drop = [&](const wire::Packet& p) {
        if (p.header.kind == wire::PacketKind::mailbox_receive && !copy) copy = p;
        return false;
    };
    EXPECT_EQ(text_of(t.received(t.receive("q", Duration::zero())).body), "first");
    t.drop = nullptr;
    // The receiver's next request (a peek) raises its floor past the first receive.
    const auto peeked = t.receive("q", Duration::zero(), Harness::receiver, {.peek = true});
    EXPECT_EQ(text_of(t.received(peeked).body), "second");
    ASSERT_TRUE(copy);
    auto late = *copy;
    t.h().engine->on_packet(Harness::client, late, t.now, t.h().out);
    t.absorb(t.h());
    EXPECT_TRUE(t.wire_queue.empty()) << "a late copy below the floor was answered";
    EXPECT_EQ(t.h().engine->stats().at(0).queued, 1u) << "a late copy took a message";
}

TEST(MailboxFloor, AnAnswerAtTheFloorIsKeptForTheRequestStillRetrying) {
    Harness t;
    (void)t.create("q", Durability::transient);
    (void)t.send("q", "first");
    (void)t.send("q", "second");
    bool dropped = false;
    t.drop = [&](const wire::Packet& p) {
        if (p.header.kind != wire::PacketKind::mailbox_deliver || dropped) return false;
        return dropped = true;  // The first receive's answer is lost.
    };
    const auto lost = t.receive("q", Duration::zero());
    EXPECT_FALSE(t.c().completions.contains(lost));
    // A second request of the same pid carries a floor at the first (still outstanding).
    const auto peeked = t.receive("q", Duration::zero(), Harness::receiver, {.peek = true});
    EXPECT_EQ(text_of(t.received(peeked).body), "second");
    t.advance(Duration::milliseconds(300));  // The first receive is sent again.
    EXPECT_EQ(text_of(t.received(lost).body), "first");
    EXPECT_EQ(t.h().engine->stats().at(0).queued, 1u) << "the repeat took a second message";
}

TEST(MailboxFloor, ARisingFloorKeepsTheAnswerAtTheNewFloor) {
    Harness t;
    (void)t.create("q", Durability::transient);
    (void)t.send("q", "first");
    (void)t.send("q", "second");
    // G waits (nothing from that sender comes) and holds the receiver's floor at G.
    const auto g =
        t.receive("q", Duration::seconds(1), Harness::receiver, {.from = Pid{NodeId{0x99}, 1}});
    bool allow = false;
    t.drop = [&](const wire::Packet& p) {
        return !allow && p.header.kind == wire::PacketKind::mailbox_deliver && !p.body.empty();
    };
    const auto f = t.receive("q", Duration::zero());  // Takes "first"; every answer is lost.
    t.advance(Duration::milliseconds(1200));          // G times out; F keeps retrying.
    ASSERT_TRUE(t.c().completions.contains(g));
    ASSERT_FALSE(t.c().completions.contains(f));
    allow = true;
    // The next request's floor rises from G to F: F's answer must stay for F's retries.
    const auto peeked = t.receive("q", Duration::zero(), Harness::receiver, {.peek = true});
    EXPECT_EQ(text_of(t.received(peeked).body), "second");
    t.advance(Duration::milliseconds(300));
    EXPECT_EQ(text_of(t.received(f).body), "first");
    EXPECT_EQ(t.h().engine->stats().at(0).queued, 1u) << "the repeat took a second message";
}

TEST(MailboxFloor, AnotherPidsLongWaitDoesNotHoldThisPidsAnswers) {
    Harness t(small_answer_table());
    (void)t.create("q", Durability::transient, 1000);
    // Another pid's long wait holds its own floor, not this pid's: 40 receives fit in a table
    // of 8 because each receive frees the one before it.
    const auto waiting = t.receive("q", Duration::seconds(30), Pid{Harness::client, 8},
                                   {.from = Pid{NodeId{0x99}, 1}});
    for (int i = 0; i < 40; ++i) {
        (void)t.send("q", std::to_string(i));
        EXPECT_EQ(text_of(t.received(t.receive("q", Duration::zero())).body), std::to_string(i));
    }
    EXPECT_FALSE(t.c().completions.contains(waiting));
}

}  // namespace
}  // namespace herald::proto::mailbox::testing

// MailboxEngine driven by hand: create, send, receive, ack, leases and redelivery, duplicate
// suppression, durable writes that fail, full mailboxes, destroy, and a restart from disk.
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

}  // namespace
}  // namespace herald::proto::mailbox::testing

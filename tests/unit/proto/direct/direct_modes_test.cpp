// Unit tests of the direct engine's send modes, OnFull choices, deadlines and buffering
// strategies (single, send-discard-retry, send-after-receive).
#include <gtest/gtest.h>

#include "direct_harness.h"
#include "proto/direct/direct_state.h"

namespace herald::proto::direct::testing {
namespace {

using wire::PacketKind;

constexpr Duration ms(std::int64_t n) {
    return Duration::milliseconds(n);
}

struct Link {
    explicit Link(ProcessOptions receiver = {}, DirectOptions options = {}) {
        a = &net.add(1, 11, options);
        b = &net.add(2, 22, options);
        net.spawn(*a, 5);
        net.spawn(*b, 6, receiver);
        // Learn each other's incarnation first so tests see only data traffic.
        a->engine->on_ping(1000, NodeId{2}, Time::max(), net.now, a->out);
        net.collect(*a);
        net.flush();
    }
    void send(OperationId op, std::string_view body, SendOptions options = {}) {
        net.send(*a, op, p, q, body, options);
    }
    Net net;
    Host* a = nullptr;
    Host* b = nullptr;
    Pid p{NodeId{1}, 5};
    Pid q{NodeId{2}, 6};
};

TEST(DirectModes, NonblockingCompletesWhenTheEngineTakesTheMessage) {
    Link t;
    t.send(1, "x", mode(SendMode::nonblocking));
    EXPECT_TRUE(t.a->ok(1));
    EXPECT_EQ(t.net.on_wire(PacketKind::data), 1u);
}

TEST(DirectModes, AcceptedAndDeliveredCompleteWhenTheAckCoversTheSeq) {
    Link t;
    t.send(1, "x", mode(SendMode::accepted));
    t.send(2, "y", mode(SendMode::delivered));
    EXPECT_EQ(t.net.wire.front().packet.header.flags & wire::flag::want_delivered, 0);
    EXPECT_NE(t.net.wire.back().packet.header.flags & wire::flag::want_delivered, 0);
    t.net.deliver_one();
    t.net.deliver_one();
    EXPECT_FALSE(t.a->done(1));  // Data arrived; acks not yet back.
    EXPECT_FALSE(t.a->done(2));
    t.net.flush();
    EXPECT_TRUE(t.a->ok(1));
    EXPECT_TRUE(t.a->ok(2));
}

TEST(DirectModes, OnFullBlockWaitsForASlotThenCompletes) {
    Link t(buffering(Buffering::single));
    t.send(1, "m1", mode(SendMode::accepted));
    t.net.flush();
    EXPECT_TRUE(t.a->ok(1));  // The single slot is now full (credit 0).
    t.send(2, "m2", mode(SendMode::accepted, OnFull::block));
    t.send(3, "m3", mode(SendMode::nonblocking, OnFull::block));
    EXPECT_TRUE(t.net.wire.empty());
    EXPECT_FALSE(t.a->done(2));
    EXPECT_FALSE(t.a->done(3));  // Not even taken: no room.
    t.net.consume(*t.b, t.q, 1);
    t.net.flush();
    EXPECT_TRUE(t.a->ok(2));
    EXPECT_FALSE(t.a->done(3));
    t.net.consume(*t.b, t.q, 1);
    t.net.deliver_one();  // Window update -> a transmits m3: a nonblocking op is now taken.
    EXPECT_TRUE(t.a->ok(3));
    t.net.flush();
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"m1", "m2", "m3"}));
}

TEST(DirectModes, OnFullFailRefusesAtOnceWithQueueFull) {
    Link t(buffering(Buffering::single));
    t.send(1, "m1");
    t.net.flush();
    t.send(2, "m2", mode(SendMode::accepted, OnFull::fail));
    EXPECT_EQ(t.a->error(2), Errc::queue_full);
    t.net.consume(*t.b, t.q, 1);
    t.net.flush();
    t.send(3, "m3", mode(SendMode::accepted, OnFull::fail));
    t.net.flush();
    EXPECT_TRUE(t.a->ok(3));
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"m1", "m3"}));
}

TEST(DirectModes, OnFullBufferCompletesAtOnceUntilTheSenderBufferIsFull) {
    DirectOptions o;
    o.channel_buffer_max = 2;
    Link t(buffering(Buffering::single), o);
    t.send(1, "m1");
    t.net.flush();
    t.send(2, "m2", mode(SendMode::nonblocking, OnFull::buffer));
    t.send(3, "m3", mode(SendMode::nonblocking, OnFull::buffer));
    t.send(4, "m4", mode(SendMode::nonblocking, OnFull::buffer));
    EXPECT_TRUE(t.a->ok(2));
    EXPECT_TRUE(t.a->ok(3));
    EXPECT_EQ(t.a->error(4), Errc::queue_full);
    for (int i = 0; i < 2; ++i) {
        t.net.consume(*t.b, t.q, 1);
        t.net.flush();
    }
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"m1", "m2", "m3"}));
}

TEST(DirectModes, DeadlineWithdrawsAMessageThatWasNeverTransmitted) {
    Link t(buffering(Buffering::single));
    t.send(1, "m1");
    t.net.flush();
    t.send(2, "late", mode(SendMode::accepted, OnFull::block, t.net.now + ms(100)));
    t.send(3, "m3", mode(SendMode::accepted, OnFull::block));
    t.net.advance(ms(100));
    EXPECT_EQ(t.a->error(2), Errc::timeout);
    EXPECT_EQ(t.a->traced("probe_withdrawn"), 1u);
    t.net.drop_all();  // Only zero-credit probes; let the window update do it.
    t.net.consume(*t.b, t.q, 1);
    t.net.flush();
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"m1", "m3"}));
    EXPECT_EQ(t.b->delivered.back().seq, 2u);  // The withdrawn one never took a seq.
    EXPECT_TRUE(t.a->ok(3));
}

TEST(DirectModes, DeadlineOfAnInFlightMessageSendsASkipAndTheBodyMayStillArrive) {
    Link t;
    t.send(1, "lost", mode(SendMode::delivered, OnFull::block, t.net.now + ms(15)));
    t.send(2, "kept", mode(SendMode::delivered, OnFull::block, t.net.now + ms(15)));
    t.send(3, "after", mode(SendMode::delivered));
    InFlight second = t.net.wire[1];
    t.net.drop_all();
    t.net.advance(ms(15));
    EXPECT_EQ(t.a->error(1), Errc::timeout);
    EXPECT_EQ(t.a->error(2), Errc::timeout);
    t.net.inject(*t.b, NodeId{1}, second.packet);  // The body of #2 beats its skip.
    t.net.flush();                                 // Skips for 1 and 2.
    t.net.advance(ms(30));
    t.net.flush();  // Retransmit of "after".
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"kept", "after"}));
    EXPECT_TRUE(t.a->ok(3));
    EXPECT_GE(t.b->traced("probe_skip_received"), 1u);
}

// Send deadlines live in the channel's entries, in send order, under one timer per channel
// (issue 17): a stream of pending sends sets no timer per message.
TEST(DirectModes, PendingSendsOfAChannelShareOneDeadlineTimer) {
    Link t(buffering(Buffering::single));
    t.send(1, "m1");
    t.net.flush();  // The single slot is full: the next sends stay pending.
    std::size_t set = 0;
    for (OperationId op = 2; op < 102; ++op) {
        t.send(op, "m", mode(SendMode::accepted, OnFull::block, t.net.now + ms(1000)));
        t.net.advance(ms(1));
    }
    for (const auto& [id, at] : t.a->timers) {
        set += static_cast<TimerKind>(id >> 56) == TimerKind::deadline ? 1u : 0u;
    }
    EXPECT_EQ(set, 1u);
    t.net.advance_to(Time::zero() + ms(1049));  // The first 50 deadlines passed, one by one.
    std::size_t failed = 0;
    for (OperationId op = 2; op < 102; ++op) failed += t.a->error(op) == Errc::timeout ? 1u : 0u;
    EXPECT_EQ(failed, 50u);
    EXPECT_EQ(t.a->traced("probe_withdrawn"), 50u);
}

// A later send with an earlier deadline moves the channel's timer; a completed send's deadline
// is left behind, and the timer re-arms for the next pending deadline when it fires.
TEST(DirectModes, AnEarlierDeadlineMovesTheChannelTimerAndCompletionsLeaveIt) {
    Link t(buffering(Buffering::single));
    t.send(1, "m1");
    t.net.flush();  // The single slot is full: the next sends stay pending.
    t.send(2, "m2", mode(SendMode::accepted, OnFull::block, t.net.now + ms(100)));
    t.send(3, "m3", mode(SendMode::accepted, OnFull::block, t.net.now + ms(10)));
    t.send(4, "m4", mode(SendMode::accepted, OnFull::block, t.net.now + ms(20)));
    t.net.consume(*t.b, t.q, 1);
    t.net.flush();
    EXPECT_TRUE(t.a->ok(2));  // Accepted long before its deadline.
    t.net.advance(ms(9));
    EXPECT_FALSE(t.a->done(3));
    t.net.advance(ms(1));  // 10 ms: m3's deadline, though m2 (100 ms) was sent before it.
    EXPECT_EQ(t.a->error(3), Errc::timeout);
    EXPECT_FALSE(t.a->done(4));
    t.net.advance(ms(10));
    EXPECT_EQ(t.a->error(4), Errc::timeout);
    t.net.advance(ms(200));  // Nothing pending: the timer finds nothing and stops.
    EXPECT_TRUE(t.a->ok(2));
    for (const auto& [id, at] : t.a->timers) {
        EXPECT_NE(static_cast<TimerKind>(id >> 56), TimerKind::deadline);
    }
}

TEST(DirectModes, SendDiscardRetryDiscardsUntilAReceiveIsPosted) {
    Link t(buffering(Buffering::send_discard_retry));
    t.send(1, "x", mode(SendMode::delivered));
    t.net.flush();
    EXPECT_TRUE(t.b->delivered.empty());
    EXPECT_EQ(t.b->traced("probe_discard_not_waiting"), 1u);
    t.net.advance(ms(20));
    t.net.flush();  // Retried, discarded again.
    EXPECT_TRUE(t.b->delivered.empty());
    t.net.post(*t.b, t.q, {Pid{NodeId{1}, 77}});  // Waiting, but not for p.
    t.net.advance(ms(40));
    t.net.flush();
    EXPECT_TRUE(t.b->delivered.empty());
    t.net.post(*t.b, t.q);
    EXPECT_TRUE(t.net.wire.empty());  // No go-ahead message: the sender retries on its timer.
    t.net.advance(ms(80));
    t.net.flush();
    EXPECT_EQ(t.b->bodies(), std::vector<std::string>{"x"});
    EXPECT_TRUE(t.a->ok(1));
    EXPECT_GE(t.a->engine->counters().retransmits, 3u);
}

TEST(DirectModes, SendAfterReceiveMovesTheBodyOnlyAfterTheReceive) {
    Link t(buffering(Buffering::send_after_receive));
    t.send(1, "first", mode(SendMode::accepted));
    t.send(2, "second", mode(SendMode::delivered));
    t.net.flush();
    EXPECT_TRUE(t.b->delivered.empty());
    EXPECT_TRUE(t.a->ok(1));  // accepted: the receiver node registered the offer.
    EXPECT_FALSE(t.a->done(2));
    t.send(3, "third", mode(SendMode::delivered));
    ASSERT_EQ(t.net.on_wire(PacketKind::data), 1u);
    EXPECT_NE(t.net.wire.front().packet.header.flags & wire::flag::offer, 0);
    EXPECT_TRUE(t.net.wire.front().packet.body.empty());  // Learned: offers carry no body.
    t.net.flush();
    t.net.post(*t.b, t.q);
    ASSERT_EQ(t.net.on_wire(PacketKind::ready), 1u);
    t.net.deliver_one();  // ready -> a sends the body of #1
    ASSERT_EQ(t.net.on_wire(PacketKind::data), 1u);
    EXPECT_EQ(as_text(t.net.wire.front().packet.body), "first");
    t.net.flush();
    EXPECT_EQ(t.b->bodies(), std::vector<std::string>{"first"});
    t.net.post(*t.b, t.q);
    t.net.flush();
    t.net.post(*t.b, t.q);
    t.net.flush();
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"first", "second", "third"}));
    EXPECT_TRUE(t.a->ok(2));
    EXPECT_TRUE(t.a->ok(3));
}

// The timers a channel set (retransmit and deadline of a sender channel, `ready` of a
// send-after-receive receiver channel) leave with it: left set they would stay in the driver's
// timer set until they fire for nothing, piling up with many short-lived senders.
TEST(DirectModes, ReleasedChannelsLeaveNoTimersBehind) {
    Link t(buffering(Buffering::send_after_receive));
    auto channel_timers = [](const Host& h) {
        std::size_t n = 0;
        for (const auto& [id, at] : h.timers) {
            const auto kind = static_cast<TimerKind>(id >> 56);
            n += kind == TimerKind::retransmit || kind == TimerKind::deadline ||
                 kind == TimerKind::ready;
        }
        return n;
    };
    t.send(1, "x", mode(SendMode::delivered, OnFull::block, t.net.now + Duration::seconds(60)));
    t.net.flush();
    t.net.post(*t.b, t.q);  // The receive sends `ready`, which is lost: its timer stays set.
    ASSERT_EQ(t.net.on_wire(PacketKind::ready), 1u);
    t.net.drop_all();
    ASSERT_GE(channel_timers(*t.a), 1u);  // The deadline of the pending send.
    ASSERT_EQ(channel_timers(*t.b), 1u);
    t.net.exit(*t.a, t.p);
    EXPECT_EQ(t.a->error(1), Errc::closed);
    EXPECT_EQ(channel_timers(*t.a), 0u);
    t.net.exit(*t.b, t.q);
    EXPECT_EQ(channel_timers(*t.b), 0u);
}

// Found by the simulator (herald-sim --scenario=direct --seed=17961 --nodes=6
// --processes=12): a send-after-receive receiver sent `ready` to a sender whose node then
// restarted; the new incarnation dropped the repeated `ready` as stale, so the receiver kept
// waiting for that body and never readied its other senders. Now a reply to an old
// incarnation is nacked peer_restarted; the receiver drops the old channels and readies the
// next offer.
TEST(DirectModes, SendAfterReceiveMovesOnWhenTheReadiedSenderRestarted) {
    Link t(buffering(Buffering::send_after_receive));
    Host& c = t.net.add(3, 33);
    const Pid r{NodeId{3}, 8};
    t.net.spawn(c, 8);
    t.send(1, "lost", mode(SendMode::accepted));
    t.net.flush();
    t.net.send(c, 2, r, t.q, "next", mode(SendMode::accepted));
    t.net.flush();
    EXPECT_TRUE(t.a->ok(1));
    EXPECT_TRUE(c.ok(2));
    t.net.post(*t.b, t.q);  // Readies the oldest offer: a's.
    ASSERT_EQ(t.net.on_wire(PacketKind::ready), 1u);
    EXPECT_EQ(t.net.wire.front().packet.header.target, t.p);
    t.net.drop_all();
    t.a->restart(12);  // The body dies with a's first incarnation.
    t.net.spawn(*t.a, 5);
    for (int i = 0; i < 5; ++i) {  // b repeats `ready`; a's new life answers it.
        t.net.advance(Duration::milliseconds(100));
        t.net.flush();
    }
    EXPECT_GE(t.a->traced("probe_nack_old_reply"), 1u);
    EXPECT_EQ(t.b->bodies(), std::vector<std::string>{"next"});
    EXPECT_EQ(t.b->traced("peer_restarted"), 1u);
}

TEST(DirectModes, SendAfterReceiveDeliversAtOnceWhenTheReceiverIsAlreadyWaiting) {
    Link t(buffering(Buffering::send_after_receive));
    t.net.post(*t.b, t.q);
    t.send(1, "x", mode(SendMode::delivered));
    t.net.flush();
    EXPECT_EQ(t.b->bodies(), std::vector<std::string>{"x"});
    EXPECT_TRUE(t.a->ok(1));
}

TEST(DirectModes, ATimedOutOfferIsNeverDelivered) {
    Link t(buffering(Buffering::send_after_receive));
    t.send(1, "first", mode(SendMode::delivered));
    t.net.flush();  // Registered as an offer: the channel is in offer mode.
    t.net.post(*t.b, t.q);
    t.net.flush();
    t.send(2, "withdrawn", mode(SendMode::delivered, OnFull::block, t.net.now + ms(50)));
    t.send(3, "later", mode(SendMode::delivered));
    t.net.flush();
    t.net.advance(ms(50));
    EXPECT_EQ(t.a->error(2), Errc::timeout);
    t.net.flush();  // The skip replaces #2 at the receiver.
    t.net.post(*t.b, t.q);
    t.net.flush();
    t.net.advance(Duration::seconds(2));
    t.net.flush();
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"first", "later"}));
    EXPECT_TRUE(t.a->ok(3));
}

TEST(DirectModes, AReadyThatRacesTheDeadlineGetsTheSkipNotTheBody) {
    Link t(buffering(Buffering::send_after_receive));
    t.send(1, "x", mode(SendMode::delivered, OnFull::block, t.net.now + ms(50)));
    t.net.flush();
    t.net.advance(ms(50));  // Deadline: the skip is on the wire...
    EXPECT_EQ(t.a->error(1), Errc::timeout);
    t.net.post(*t.b, t.q);  // ...while the receiver sends ready.
    t.net.flush();
    t.net.advance(Duration::seconds(3));
    t.net.flush();
    EXPECT_TRUE(t.b->delivered.empty());
}

TEST(DirectModes, TwoBlockingSendersThatNeverReceiveBothTimeOut) {
    // The lecture's communication deadlock: P1 and P2 each send (blocking, send-after-receive)
    // and would receive afterwards. Neither receive is ever posted: both sends time out.
    Net net;
    Host& a = net.add(1, 11);
    Host& b = net.add(2, 22);
    const Pid p1{NodeId{1}, 5};
    const Pid p2{NodeId{2}, 6};
    net.spawn(a, 5, buffering(Buffering::send_after_receive));
    net.spawn(b, 6, buffering(Buffering::send_after_receive));
    const Time deadline = net.now + Duration::seconds(2);
    net.send(a, 1, p1, p2, "to p2", mode(SendMode::delivered, OnFull::block, deadline));
    net.send(b, 1, p2, p1, "to p1", mode(SendMode::delivered, OnFull::block, deadline));
    net.settle(deadline + Duration::seconds(3));
    EXPECT_EQ(a.error(1), Errc::timeout);
    EXPECT_EQ(b.error(1), Errc::timeout);
    EXPECT_TRUE(a.delivered.empty());
    EXPECT_TRUE(b.delivered.empty());
}

}  // namespace
}  // namespace herald::proto::direct::testing

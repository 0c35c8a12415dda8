// Unit tests of the direct engine's epochs (README rules 2, 3, 15, 16, 18): a reply (ack, nack,
// ready) of an epoch the channel has left is ignored, whichever way the channel moved on (idle
// release, nack release, unreachable reset), and epochs compare in serial-number order across
// the 2^32 wrap (DirectOptions::epoch_first starts them just below it).
#include <gtest/gtest.h>

#include <cstdint>

#include "direct_harness.h"
#include "proto/direct/direct_state.h"

namespace herald::proto::direct::testing {
namespace {

using wire::PacketKind;

constexpr Duration ms(std::int64_t n) {
    return Duration::milliseconds(n);
}

// Channels idle for 4 s are released (the sweep runs every 2 s); README rule 18 wants
// channel_idle > peer_timeout.
DirectOptions short_idle() {
    DirectOptions o;
    o.channel_idle = Duration::seconds(4);
    o.peer_timeout = Duration::seconds(2);
    return o;
}

struct Pair {
    explicit Pair(DirectOptions a_options = {}, DirectOptions b_options = {},
                  ProcessOptions receiver = {}) {
        a = &net.add(1, 11, a_options);
        b = &net.add(2, 22, b_options);
        net.spawn(*a, 5);
        net.spawn(*b, 6, receiver);
    }
    // Delivers packets until one of `kind` from `from` is first on the wire; returns a copy of
    // it and leaves it there. Fails the test when the wire runs dry first.
    InFlight next(PacketKind kind, NodeId from) {
        for (int i = 0; i < 100 && !net.wire.empty(); ++i) {
            const InFlight& front = net.wire.front();
            if (front.packet.header.kind == kind && front.from == from) return front;
            net.deliver_one();
        }
        ADD_FAILURE() << "no packet of kind " << static_cast<int>(kind) << " came";
        return {};
    }
    // Moves time on in steps (the wire is delivered after each) until a data packet from `a`
    // is first on the wire (then left there), at most `limit`.
    bool until_data(Duration limit) {
        const Time end = net.now + limit;
        while (net.now < end) {
            for (int i = 0; i < 100 && !net.wire.empty(); ++i) {
                const InFlight& front = net.wire.front();
                if (front.packet.header.kind == PacketKind::data && front.from == a->id) {
                    return true;
                }
                net.deliver_one();
            }
            net.advance(ms(10));
        }
        return false;
    }
    // Sends "x" and delivers it; returns the ack of its epoch (a copy; the original arrives).
    InFlight first_message_and_its_ack() {
        net.send(*a, 1, p, q, "x");
        const InFlight ack = next(PacketKind::ack, b->id);
        net.flush();
        EXPECT_TRUE(a->ok(1));
        return ack;
    }
    Net net;
    Host* a = nullptr;
    Host* b = nullptr;
    Pid p{NodeId{1}, 5};
    Pid q{NodeId{2}, 6};
};

TEST(DirectEpochs, AnAckOfAnEpochReleasedWhenIdleDoesNotCompleteTheNextEpochsMessage) {
    Pair t(short_idle(), short_idle());
    const InFlight old_ack = t.first_message_and_its_ack();
    t.net.advance(Duration::seconds(7));  // Both sides release the idle channel.
    ASSERT_EQ(t.a->engine->counters().channels_live, 0u);
    t.net.send(*t.a, 2, t.p, t.q, "y");  // A new channel: the next epoch, seq 1 again.
    const InFlight data = t.next(PacketKind::data, t.a->id);
    ASSERT_NE(data.packet.header.epoch, old_ack.packet.header.epoch);
    ASSERT_EQ(data.packet.header.seq, old_ack.packet.header.ack);
    t.net.drop_all();  // "y" is lost; a straggling ack of the old epoch arrives instead.
    const auto stale = t.a->engine->counters().duplicates_dropped;
    t.net.inject(*t.a, old_ack.from, old_ack.packet);
    EXPECT_FALSE(t.a->done(2)) << "an ack of an old epoch completed a lost message";
    EXPECT_EQ(t.a->engine->counters().duplicates_dropped, stale + 1);  // A straggler.
    EXPECT_EQ(t.a->engine->counters().malformed_dropped, 0u);
    t.net.settle(t.net.now + Duration::seconds(1));  // Retransmission delivers it.
    EXPECT_TRUE(t.a->ok(2));
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"x", "y"}));
}

TEST(DirectEpochs, RepliesOfAnEpochReleasedByANackDoNotTouchTheNextEpoch) {
    Pair t;
    const InFlight old_ack = t.first_message_and_its_ack();
    t.net.exit(*t.b, t.q);
    t.net.send(*t.a, 2, t.p, t.q, "to nobody");
    const InFlight old_nack = t.next(PacketKind::nack, t.b->id);
    t.net.flush();
    ASSERT_EQ(t.a->error(2), Errc::no_such_process);
    ASSERT_EQ(t.a->engine->counters().channels_live, 0u);  // Released by the nack.
    t.net.spawn(*t.b, 6);                                  // q exists again.
    t.net.send(*t.a, 3, t.p, t.q, "z");
    const InFlight data = t.next(PacketKind::data, t.a->id);
    ASSERT_NE(data.packet.header.epoch, old_ack.packet.header.epoch);
    t.net.drop_all();  // "z" is lost; stragglers of the old epoch arrive.
    const auto stale = t.a->engine->counters().duplicates_dropped;
    t.net.inject(*t.a, old_ack.from, old_ack.packet);
    EXPECT_FALSE(t.a->done(3)) << "an ack of an old epoch completed a lost message";
    t.net.inject(*t.a, old_nack.from, old_nack.packet);
    EXPECT_FALSE(t.a->done(3)) << "a nack of an old epoch failed a message of the new one";
    EXPECT_EQ(t.a->engine->counters().duplicates_dropped, stale + 2);
    EXPECT_EQ(t.a->engine->counters().malformed_dropped, 0u);
    t.net.settle(t.net.now + Duration::seconds(1));
    EXPECT_TRUE(t.a->ok(3));
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"x", "z"}));
}

TEST(DirectEpochs, AnAckOfTheEpochBeforeAnUnreachableResetDoesNotCompleteTheNextOne) {
    DirectOptions o;
    o.window_messages = 1;  // "z" waits behind "y" and survives the verdict (rule 16).
    Pair t(o, o);
    const InFlight old_ack = t.first_message_and_its_ack();
    t.net.send(*t.a, 2, t.p, t.q, "y");
    while (t.net.now < Time::zero() + Duration::seconds(4) + ms(900)) {
        t.net.drop_all();  // Partition.
        t.net.advance(ms(100));
    }
    t.net.send(*t.a, 3, t.p, t.q, "z");  // Never transmitted, fresh at the verdict.
    for (int i = 0; i < 20 && !t.a->done(2); ++i) {
        t.net.drop_all();
        t.net.advance(ms(100));
    }
    ASSERT_EQ(t.a->error(2), Errc::unreachable);
    ASSERT_FALSE(t.a->done(3));
    ASSERT_EQ(t.a->traced("probe_unreachable_spared"), 1u);
    ASSERT_TRUE(t.until_data(Duration::seconds(5)));  // The partition heals; "z" goes out...
    const InFlight data = t.net.wire.front();
    ASSERT_NE(data.packet.header.epoch, old_ack.packet.header.epoch);  // ...in a new epoch.
    ASSERT_EQ(data.packet.header.seq, 1u);
    t.net.drop_all();  // ...and is lost; a straggling ack of the old epoch arrives.
    t.net.inject(*t.a, old_ack.from, old_ack.packet);
    EXPECT_FALSE(t.a->done(3)) << "an ack of an old epoch completed a lost message";
    t.net.settle(t.net.now + Duration::seconds(2));
    EXPECT_TRUE(t.a->ok(3));
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"x", "z"}));
}

TEST(DirectEpochs, AReadyOfAnOldEpochDoesNotMoveABodyOfTheNextEpoch) {
    Pair t(short_idle(), short_idle(), buffering(Buffering::send_after_receive));
    t.net.send(*t.a, 1, t.p, t.q, "x", mode(SendMode::accepted));
    t.net.flush();
    ASSERT_TRUE(t.a->ok(1));  // The offer is registered.
    t.net.post(*t.b, t.q);
    const InFlight old_ready = t.next(PacketKind::ready, t.b->id);
    t.net.flush();
    ASSERT_EQ(t.b->bodies(), std::vector<std::string>{"x"});
    t.net.advance(Duration::seconds(7));  // Both sides release the idle channel.
    ASSERT_EQ(t.a->engine->counters().channels_live, 0u);
    t.net.send(*t.a, 2, t.p, t.q, "y", mode(SendMode::delivered));
    t.net.flush();  // The receiver keeps only an offer: it is not receiving.
    ASSERT_EQ(t.b->bodies().size(), 1u);
    ASSERT_FALSE(t.a->done(2));
    const auto stale = t.a->engine->counters().duplicates_dropped;
    t.net.inject(*t.a, old_ready.from, old_ready.packet);
    EXPECT_EQ(t.net.on_wire(PacketKind::data), 0u) << "a ready of an old epoch moved a body";
    EXPECT_EQ(t.a->engine->counters().duplicates_dropped, stale + 1);
    EXPECT_EQ(t.a->engine->counters().malformed_dropped, 0u);
    t.net.flush();
    t.net.post(*t.b, t.q);  // Now the receiver asks for it.
    t.net.flush();
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"x", "y"}));
    EXPECT_TRUE(t.a->ok(2));
}

TEST(DirectEpochs, EpochsStartAtEpochFirstAndSkipZeroAtTheWrap) {
    DirectOptions o;
    o.epoch_first = 0xFFFF'FFFFu;
    Pair t(o);
    t.net.spawn(*t.b, 7);
    t.net.send(*t.a, 1, t.p, t.q, "x");
    EXPECT_EQ(t.next(PacketKind::data, t.a->id).packet.header.epoch, 0xFFFF'FFFFu);
    t.net.flush();
    t.net.send(*t.a, 2, t.p, Pid{NodeId{2}, 7}, "y");  // Another channel: the next epoch.
    EXPECT_EQ(t.next(PacketKind::data, t.a->id).packet.header.epoch, 1u);  // 0 = no epoch.
    t.net.flush();
    EXPECT_TRUE(t.a->ok(1));
    EXPECT_TRUE(t.a->ok(2));
}

// The sender releases its idle channel before the receiver does (their channel_idle differ),
// so the receiver still holds the epoch before the wrap when the one after it arrives.
TEST(DirectEpochs, AnEpochAfterTheWrapReplacesTheReceiversChannelAndOneBeforeItIsAStraggler) {
    DirectOptions o = short_idle();
    o.epoch_first = 0xFFFF'FFFFu;
    Pair t(o, DirectOptions{});
    t.net.send(*t.a, 1, t.p, t.q, "x");
    const InFlight before_wrap = t.next(PacketKind::data, t.a->id);
    t.net.flush();
    t.net.advance(Duration::seconds(7));
    ASSERT_EQ(t.a->engine->counters().channels_live, 0u);
    ASSERT_EQ(t.b->engine->counters().channels_live, 1u);
    t.net.send(*t.a, 2, t.p, t.q, "y");
    ASSERT_EQ(t.next(PacketKind::data, t.a->id).packet.header.epoch, 1u);
    t.net.settle(t.net.now + Duration::seconds(1));
    EXPECT_TRUE(t.a->ok(2)) << "the epoch after the wrap was taken for an older one";
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"x", "y"}));
    t.net.inject(*t.b, before_wrap.from, before_wrap.packet);  // A late duplicate.
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"x", "y"}))
        << "a straggler from before the wrap was taken for a newer epoch";
    EXPECT_EQ(t.b->traced("probe_stale_epoch"), 1u);
}

TEST(DirectEpochs, SerialOrderHoldsAcrossTheWrap) {
    EXPECT_TRUE(epoch_newer(1, 0xFFFF'FFFFu));
    EXPECT_FALSE(epoch_newer(0xFFFF'FFFFu, 1));
    EXPECT_TRUE(epoch_newer(0x8000'0000u, 1));
    EXPECT_FALSE(epoch_newer(7, 7));
}

}  // namespace
}  // namespace herald::proto::direct::testing

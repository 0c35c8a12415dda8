// Unit tests of the direct engine's failure handling: restarts (incarnations), no such
// process, unreachable peers, process exit, and the deliberate bugs (Mutations).
#include <gtest/gtest.h>

#include <map>

#include "direct_harness.h"

namespace herald::proto::direct::testing {
namespace {

using wire::PacketKind;

constexpr Duration ms(std::int64_t n) {
    return Duration::milliseconds(n);
}

struct Duo {
    explicit Duo(DirectOptions options = {}) {
        a = &net.add(1, 11, options);
        b = &net.add(2, 22, options);
        net.spawn(*a, 5);
        net.spawn(*b, 6);
    }
    Net net;
    Host* a = nullptr;
    Host* b = nullptr;
    Pid p{NodeId{1}, 5};
    Pid q{NodeId{2}, 6};  // A well-known id: it exists again after b restarts.
};

TEST(DirectFailures, RestartFailsInFlightWithPeerRestartedAndDeliversQueuedOnce) {
    DirectOptions o;
    o.window_messages = 1;
    Duo t(o);
    t.net.send(*t.a, 1, t.p, t.q, "m1");
    t.net.flush();
    EXPECT_TRUE(t.a->ok(1));
    t.net.send(*t.a, 2, t.p, t.q, "m2");  // In flight...
    t.net.send(*t.a, 3, t.p, t.q, "m3");  // ...and queued behind it (window 1).
    t.net.drop_all();
    t.b->restart(23);
    t.net.spawn(*t.b, 6);
    t.net.advance(ms(20));  // Retransmit of m2 reaches incarnation 23: nack peer_restarted.
    t.net.flush();
    EXPECT_EQ(t.a->error(2), Errc::peer_restarted);
    EXPECT_TRUE(t.a->ok(3));
    EXPECT_EQ(t.b->bodies(), std::vector<std::string>{"m3"});
    EXPECT_EQ(t.b->delivered.front().seq, 1u);  // A new epoch starts at seq 1.
    EXPECT_EQ(t.a->traced("peer_restarted"), 1u);
    t.net.advance(Duration::seconds(2));
    t.net.flush();
    EXPECT_EQ(t.b->delivered.size(), 1u);
}

TEST(DirectFailures, DataFirstSentAfterThePeerRestartedIsResentNotFailed) {
    Duo t;
    t.net.send(*t.a, 1, t.p, t.q, "m1");
    t.net.flush();
    t.net.advance(ms(100));
    t.b->restart(23);  // b restarts at 100 ms; a does not know yet.
    t.net.spawn(*t.b, 6);
    t.net.advance(ms(100));
    t.net.send(*t.a, 2, t.p, t.q, "m2");  // To incarnation 22, 100 ms after 23 started.
    ASSERT_EQ(t.net.on_wire(PacketKind::data), 1u);
    t.net.flush();
    EXPECT_TRUE(t.a->ok(2));  // The nack proved 23 started first: m2 went again, to 23.
    EXPECT_EQ(t.b->bodies(), std::vector<std::string>{"m2"});
    EXPECT_EQ(t.a->traced("probe_resent_after_restart"), 1u);
    t.net.advance(Duration::seconds(2));
    t.net.flush();
    EXPECT_EQ(t.b->delivered.size(), 1u);
}

TEST(DirectFailures, NewDataToAPeerSilentForPeerRevalidateWaitsForAHello) {
    Duo t;
    t.net.send(*t.a, 1, t.p, t.q, "m1");
    t.net.flush();
    t.net.advance(ms(500));
    t.net.send(*t.a, 2, t.p, t.q, "m2");  // Heard from 500 ms ago: straight to data.
    EXPECT_EQ(t.net.on_wire(PacketKind::data), 1u);
    t.net.flush();
    t.net.advance(Duration::seconds(1));
    t.b->restart(23);  // Meanwhile b restarted.
    t.net.spawn(*t.b, 6);
    t.net.send(*t.a, 3, t.p, t.q, "m3");  // Silent for 1 s: hello first, data held.
    ASSERT_EQ(t.net.wire.size(), 1u);
    EXPECT_EQ(t.net.wire.front().packet.header.kind, PacketKind::hello);
    t.net.flush();
    EXPECT_TRUE(t.a->ok(3));  // Sent to incarnation 23 directly, never failed.
    EXPECT_EQ(t.b->bodies(), std::vector<std::string>{"m3"});
}

TEST(DirectFailures, ARestartedSenderIsSeenFromItsFirstPacket) {
    Duo t;
    t.net.send(*t.a, 1, t.p, t.q, "before");
    t.net.flush();
    t.a->restart(12);
    t.net.spawn(*t.a, 5);
    t.net.send(*t.a, 2, t.p, t.q, "after");
    t.net.flush();
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"before", "after"}));
    EXPECT_EQ(t.b->traced("peer_restarted"), 1u);
    EXPECT_TRUE(t.a->ok(2));
}

TEST(DirectFailures, DropsStragglersOfAnOldIncarnation) {
    Duo t;
    t.net.send(*t.a, 1, t.p, t.q, "old");
    const InFlight hello = t.net.wire.front();
    t.net.flush();
    t.a->restart(12);
    t.net.spawn(*t.a, 5);
    t.net.send(*t.a, 2, t.p, t.q, "new");
    t.net.flush();
    t.net.inject(*t.b, hello.from, hello.packet);  // Incarnation 11 again: stale.
    EXPECT_EQ(t.b->traced("peer_restarted"), 1u);
    EXPECT_EQ(t.b->engine->counters().duplicates_dropped, 1u);
    t.net.send(*t.a, 3, t.p, t.q, "newer");
    t.net.flush();
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"old", "new", "newer"}));
}

TEST(DirectFailures, NoSuchProcessFailsTheOpAndEveryQueuedOneAndReleasesTheChannel) {
    DirectOptions o;
    o.window_messages = 1;
    Duo t(o);
    const Pid ghost{NodeId{2}, 99};
    t.net.send(*t.a, 1, t.p, ghost, "x");
    t.net.send(*t.a, 2, t.p, ghost, "y");
    t.net.send(*t.a, 3, t.p, ghost, "z", mode(SendMode::nonblocking, OnFull::buffer));
    EXPECT_TRUE(t.a->ok(3));  // Taken into the sender buffer.
    t.net.flush();
    EXPECT_EQ(t.a->error(1), Errc::no_such_process);
    EXPECT_EQ(t.a->error(2), Errc::no_such_process);
    EXPECT_EQ(t.a->engine->counters().channels_live, 0u);
    EXPECT_EQ(t.b->engine->counters().channels_live, 0u);
}

TEST(DirectFailures, SilenceForPeerTimeoutMakesThePeerUnreachable) {
    Duo t;
    t.net.send(*t.a, 1, t.p, t.q, "x");
    t.net.flush();
    t.net.send(*t.a, 2, t.p, t.q, "y");
    t.net.send(*t.a, 3, t.p, t.q, "z", mode(SendMode::nonblocking));
    for (int i = 0; i < 60 && !t.a->done(2); ++i) {
        t.net.drop_all();  // Partition.
        t.net.advance(ms(100));
    }
    EXPECT_EQ(t.a->error(2), Errc::unreachable);
    EXPECT_GE(t.net.now, Time::zero() + Duration::seconds(5));
    EXPECT_LT(t.net.now, Time::zero() + Duration::seconds(6) + ms(100));
    EXPECT_EQ(t.a->traced("unreachable"), 1u);
    EXPECT_EQ(t.a->engine->counters().channels_live, 0u);
    // The partition heals: a new send works, in a new epoch.
    t.net.send(*t.a, 4, t.p, t.q, "w");
    t.net.flush();
    EXPECT_TRUE(t.a->ok(4));
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"x", "w"}));
}

// Found by the simulator (herald-sim --scenario=direct --seed=629 --nodes=4 --processes=8
// --partition=4 --crash=0, with channel_idle 3 s): the receiver delivered a message, its ack
// was lost, and a one-way partition then dropped every retransmission while the peers kept
// talking on the other direction, so the sender never found the peer unreachable. The
// receiver released the silent channel after channel_idle; after the heal a retransmission
// reopened it at the sender's cumulative ack + 1 and the message was delivered twice.
// Now the sender gives the epoch up channel_idle/2 after it last heard from the receiver:
// the in-flight message fails with unreachable (its fate is unknown) and a message sent
// meanwhile waits and goes on in a new epoch, delivered once.
TEST(DirectFailures, AChannelTheReceiverStoppedAnsweringIsGivenUpBeforeItCanBeReleased) {
    Duo t;
    auto p_to_q = [&](const testing::InFlight& f) {  // The one-way partition.
        const wire::Header& h = f.packet.header;
        return (h.source == t.p && h.target == t.q && h.kind == PacketKind::data) ||
               (h.source == t.q && h.target == t.p && h.kind == PacketKind::ack);
    };
    t.net.send(*t.a, 1, t.p, t.q, "x");
    t.net.flush([&](const testing::InFlight& f) {  // "x" is delivered; its ack is lost.
        return f.packet.header.kind == PacketKind::ack;
    });
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"x"}));
    // q keeps talking to p, so p's node stays reachable; p -> q hears nothing.
    std::map<OperationId, Time> failed_at;
    OperationId op = 100;
    while (t.net.now < Time::zero() + Duration::seconds(40)) {
        if (t.net.now == Time::zero() + Duration::seconds(10)) {
            t.net.send(*t.a, 2, t.p, t.q, "y");  // Held: the channel is suspect.
        }
        if (t.net.now == Time::zero() + Duration::seconds(32)) t.net.send(*t.a, 3, t.p, t.q, "z");
        t.net.send(*t.b, ++op, t.q, t.p, "keepalive");
        t.net.flush(p_to_q);
        t.net.advance(ms(500));
        for (OperationId id : {OperationId{1}, OperationId{2}, OperationId{3}}) {
            if (t.a->done(id) && !failed_at.contains(id)) failed_at[id] = t.net.now;
        }
    }
    EXPECT_EQ(t.a->error(1), Errc::unreachable);
    EXPECT_EQ(failed_at[1], Time::zero() + Duration::seconds(15));  // channel_idle / 2
    // "y" waited and went in the next epoch at 15 s, which stalled in turn at 30 s.
    EXPECT_EQ(t.a->error(2), Errc::unreachable);
    EXPECT_EQ(failed_at[2], Time::zero() + Duration::seconds(30));
    EXPECT_EQ(t.a->traced("probe_channel_stalled"), 2u);
    // The partition heals after q released the channel: "z" arrives, "x" never again.
    t.net.settle(t.net.now + Duration::seconds(3));
    EXPECT_TRUE(t.a->ok(3));
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"x", "z"}));
}

// Found by the simulator (herald-sim --scenario=direct --seed=12571 --nodes=4 --processes=8
// --partition=4 --crash=0): a send made just after a partition healed joined a hello that had
// gone unanswered for peer_timeout and failed with unreachable a millisecond later, before
// the peer's reply could arrive. A message that has not waited peer_timeout/2 itself and was
// never transmitted now gets one more period; older ones still fail.
TEST(DirectFailures, AFreshSendIsNotFailedByAnOldSilence) {
    Duo t;
    const Pid r{NodeId{1}, 7};
    t.net.spawn(*t.a, 7);
    t.net.send(*t.a, 1, t.p, t.q, "old");
    while (t.net.now < Time::zero() + Duration::seconds(4) + ms(900)) {
        t.net.drop_all();  // Partition: the hello goes unanswered.
        t.net.advance(ms(100));
    }
    t.net.drop_all();
    t.net.send(*t.a, 2, r, t.q, "fresh");  // Another channel, queued behind the hello.
    t.net.advance(ms(300));                // The verdict comes at 5 s.
    EXPECT_EQ(t.a->error(1), Errc::unreachable);
    EXPECT_FALSE(t.a->done(2));
    EXPECT_EQ(t.a->traced("probe_unreachable_spared"), 1u);
    t.net.settle(t.net.now + Duration::seconds(2));  // The partition heals.
    EXPECT_TRUE(t.a->ok(2));
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"fresh"}));
}

// Found by the simulator (herald-sim --scenario=direct --seed=1411 --channel-idle-ms=2000
// --channels-max=4: channel_idle 2 s, peer_timeout 1 s): a send made just after the faults
// healed waited behind an in-flight message on a channel whose receiver had said nothing for
// channel_idle/2. The stall (rule 18) gave the epoch up and transmitted the fresh message in a
// new epoch; 20 ms later the peer's silence, counted from the old message's first
// retransmission, reached peer_timeout (rule 16) and failed it too, as it was no longer "never
// transmitted". Now a channel whose messages are all fresh stays as it is for one more period:
// same epoch and seqs, so going on cannot deliver one twice.
TEST(DirectFailures, AFreshSendTheStallTransmittedIsNotFailedByAnOldSilence) {
    DirectOptions options;
    options.channel_idle = Duration::seconds(2);
    options.peer_timeout = Duration::seconds(1);
    options.retransmit_max = ms(250);
    Duo t(options);
    t.net.send(*t.a, 1, t.p, t.q, "x");
    t.net.flush();                         // Hello, "x" and its ack: the peer is heard at 0.
    t.net.send(*t.a, 2, t.p, t.q, "old");  // First sent at 0 too; then a partition.
    while (t.net.now < Time::zero() + ms(950)) {
        t.net.drop_all();
        t.net.advance(ms(50));
    }
    t.net.drop_all();
    t.net.send(*t.a, 3, t.p, t.q, "fresh");  // Held: the channel is suspect (rule 18).
    t.net.advance_to(Time::zero() + Duration::seconds(1));
    EXPECT_EQ(t.a->error(2), Errc::unreachable);  // The epoch is given up...
    EXPECT_EQ(t.a->traced("probe_channel_stalled"), 1u);
    EXPECT_EQ(t.net.on_wire(PacketKind::data), 1u);  // ...and "fresh" goes in a new one.
    t.net.advance(ms(100));                          // The verdict comes while it travels.
    EXPECT_EQ(t.a->traced("unreachable"), 1u);
    EXPECT_FALSE(t.a->done(3));
    EXPECT_EQ(t.a->traced("probe_unreachable_spared"), 1u);
    t.net.settle(t.net.now + ms(500));  // The partition heals.
    EXPECT_TRUE(t.a->ok(3));
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"x", "fresh"}));
}

TEST(DirectFailures, AFreshSendFailsTooWhenThePeerStaysSilent) {
    Duo t;
    t.net.send(*t.a, 1, t.p, t.q, "old");
    for (int i = 0; i < 49; ++i) {
        t.net.drop_all();
        t.net.advance(ms(100));
    }
    t.net.send(*t.a, 2, t.p, t.q, "fresh");  // Same channel, still unsent at the verdict.
    for (int i = 0; i < 120 && !t.a->done(2); ++i) {
        t.net.drop_all();
        t.net.advance(ms(100));
    }
    EXPECT_EQ(t.a->error(1), Errc::unreachable);
    EXPECT_EQ(t.a->error(2), Errc::unreachable);  // One more peer_timeout, then it fails too.
    EXPECT_GE(t.net.now, Time::zero() + Duration::seconds(10));
    EXPECT_EQ(t.a->engine->counters().channels_live, 0u);
}

// Nodes may be configured with different body_bytes_max. The receiver says its limit in its
// hello(_reply); the sender refuses larger bodies itself with too_large (at once once it knows
// the limit, at transmission when the message waited for the hello), and later messages flow.
TEST(DirectFailures, ABodyOverTheReceivingNodesLimitFailsWithTooLargeAtTheSender) {
    DirectOptions small;
    small.body_bytes_max = 100;
    Net net;
    Host& a = net.add(1, 11);
    Host& b = net.add(2, 22, small);
    const Pid p{NodeId{1}, 5};
    const Pid q{NodeId{2}, 6};
    net.spawn(a, 5);
    net.spawn(b, 6);
    net.send(a, 1, p, q, std::string(150, 'x'));  // Waits for the hello: limit not known yet.
    net.send(a, 2, p, q, "fits");
    net.flush();
    EXPECT_EQ(a.error(1), Errc::too_large);
    EXPECT_TRUE(a.ok(2));
    net.send(a, 3, p, q, std::string(101, 'y'));  // Known now: refused at once.
    EXPECT_EQ(a.error(3), Errc::too_large);
    EXPECT_EQ(net.on_wire(PacketKind::data), 0u);
    EXPECT_EQ(b.bodies(), (std::vector<std::string>{"fits"}));
    // A sender that ignores the limit: its data is dropped and counted.
    wire::Packet rogue = make_packet(PacketKind::data, p, q, 11, 22);
    rogue.header.epoch = 99;
    rogue.header.seq = 1;
    rogue.body = Bytes(200, 1);
    const auto before = b.engine->counters().malformed_dropped;
    net.inject(b, NodeId{1}, rogue);
    EXPECT_EQ(b.engine->counters().malformed_dropped, before + 1);
    EXPECT_EQ(b.bodies().size(), 1u);
}

TEST(DirectFailures, UnansweredHelloMakesThePeerUnreachable) {
    Duo t;
    t.net.send(*t.a, 1, t.p, t.q, "x");
    for (int i = 0; i < 60 && !t.a->done(1); ++i) {
        t.net.drop_all();
        t.net.advance(ms(100));
    }
    EXPECT_EQ(t.a->error(1), Errc::unreachable);
}

TEST(DirectFailures, ANewSendToAPeerWhoseHelloBackedOffAsksAgainAtOnce) {
    // Found by the simulator (herald-sim --scenario=direct --seed=310 --nodes=4
    // --processes=8 --partition=4 --crash=0): after a partition healed, a send waited for the
    // backed-off hello and was failed as unreachable before any hello went out.
    Duo t;
    t.net.send(*t.a, 1, t.p, t.q, "x");
    for (int i = 0; i < 45; ++i) {
        t.net.drop_all();  // Partition: the hello backs off to retransmit_max.
        t.net.advance(ms(100));
    }
    t.net.drop_all();  // The partition heals here.
    t.net.send(*t.a, 2, t.p, t.q, "y");
    EXPECT_EQ(t.net.on_wire(PacketKind::hello), 1u);  // At once, not at the backed-off timer.
    t.net.flush();
    EXPECT_TRUE(t.a->ok(1));
    EXPECT_TRUE(t.a->ok(2));
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"x", "y"}));
}

TEST(DirectFailures, ExitClosesPendingSendsAndDropsReceiverChannels) {
    Duo t;
    t.net.spawn(*t.b, 7);
    const Pid r{NodeId{2}, 7};
    t.net.send(*t.b, 1, r, t.p, "to a");
    t.net.flush();
    t.net.send(*t.a, 2, t.p, t.q, "x");
    t.net.flush();
    EXPECT_EQ(t.b->engine->counters().channels_live, 2u);
    t.net.send(*t.a, 3, t.p, t.q, "y");  // In flight when p exits.
    t.net.exit(*t.a, t.p);
    EXPECT_EQ(t.a->error(3), Errc::closed);
    EXPECT_EQ(t.a->engine->counters().channels_live, 0u);
    t.net.drop_all();
    t.net.exit(*t.b, t.q);
    EXPECT_EQ(t.b->engine->counters().channels_live, 1u);
    t.net.send(*t.b, 4, r, t.q, "to the exited q");
    t.net.flush();
    EXPECT_EQ(t.b->error(4), Errc::no_such_process);
}

TEST(DirectFailures, MutationSkipDuplicateCheckDeliversDuplicates) {
    DirectOptions o;
    o.mutations.skip_duplicate_check = true;
    Duo t(o);
    t.net.send(*t.a, 1, t.p, t.q, "x");
    t.net.flush([](const InFlight& f) { return f.packet.header.kind == PacketKind::data; });
    t.net.send(*t.a, 2, t.p, t.q, "y");
    t.net.flush([](const InFlight&) { return false; });
    t.net.drop_all();
    t.net.advance(ms(20));
    const InFlight copy = t.net.wire.front();
    t.net.flush();
    t.net.inject(*t.b, copy.from, copy.packet);
    EXPECT_GT(t.b->delivered.size(), 2u);
}

TEST(DirectFailures, MutationSkipReorderBufferDeliversOutOfOrder) {
    DirectOptions o;
    o.mutations.skip_reorder_buffer = true;
    Duo t(o);
    t.net.send(*t.a, 1, t.p, t.q, "m1");
    t.net.send(*t.a, 2, t.p, t.q, "m2");
    t.net.flush([](const InFlight& f) { return f.packet.header.kind == PacketKind::data; });
    t.net.advance(ms(20));
    ASSERT_EQ(t.net.on_wire(PacketKind::data), 2u);
    std::reverse(t.net.wire.begin(), t.net.wire.end());
    t.net.flush();
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"m2", "m1"}));
}

TEST(DirectFailures, MutationNeverRetransmitLosesMessages) {
    DirectOptions o;
    o.mutations.never_retransmit = true;
    Duo t(o);
    t.net.send(*t.a, 1, t.p, t.q, "x", mode(SendMode::nonblocking));
    t.net.flush([](const InFlight& f) { return f.packet.header.kind == PacketKind::data; });
    t.net.settle(Time::zero() + Duration::seconds(2));
    EXPECT_TRUE(t.a->ok(1));
    EXPECT_TRUE(t.b->delivered.empty());
}

TEST(DirectFailures, MutationCompleteBeforeAckReportsDeliveredTooEarly) {
    DirectOptions o;
    o.mutations.complete_before_ack = true;
    Duo t(o);
    t.net.send(*t.a, 1, t.p, t.q, "x", mode(SendMode::delivered));
    t.net.flush([](const InFlight& f) { return f.packet.header.kind == PacketKind::data; });
    EXPECT_TRUE(t.a->ok(1));
    EXPECT_TRUE(t.b->delivered.empty());
}

}  // namespace
}  // namespace herald::proto::direct::testing

// Unit tests of process migration with forwarding (docs/migration.md, rules M1-M15): the
// move with queued messages and state, forwarding and the location update, chains, aborts
// (target silent or refusing), data while frozen, late duplicates, bad input, and a migrated
// process that sends.
#include <gtest/gtest.h>

#include <algorithm>

#include "direct_harness.h"

namespace herald::proto::direct::testing {
namespace {

using wire::PacketKind;

// a (node 1) hosts p; b (2) and d (4) are targets; c (3) hosts the sender q.
struct Quad {
    explicit Quad(DirectOptions options = {}, DirectOptions b_options = {}) {
        a = &net.add(1, 11, options);
        b = &net.add(2, 22, b_options);
        c = &net.add(3, 33, options);
        d = &net.add(4, 44, options);
        net.spawn(*a, 5);
        net.spawn(*c, 6);
    }
    // Sends `body` from q to p and runs the network to quiet.
    void say(OperationId op, std::string_view body) {
        net.send(*c, op, q, p, body);
        net.settle(net.now + Duration::milliseconds(50));
    }
    Net net;
    Host* a = nullptr;
    Host* b = nullptr;
    Host* c = nullptr;
    Host* d = nullptr;
    Pid p{NodeId{1}, 5};
    Pid q{NodeId{3}, 6};

    // Delivers packets one at a time until one of `kind` is on the wire (a node says hello
    // before its first data to another).
    void run_until_on_wire(PacketKind kind) {
        for (int i = 0; i < 20 && net.on_wire(kind) == 0 && !net.wire.empty(); ++i) {
            net.deliver_one();
        }
    }
};

TEST(DirectMigrate, MovesQueuedMessagesAndStateThenForwardsUntilTheSenderLearnsTheLocation) {
    Quad t;
    t.say(1, "m1");  // In p's queue at a, not consumed.
    ASSERT_EQ(t.a->bodies(), std::vector<std::string>{"m1"});
    t.net.migrate(*t.a, 100, t.p, NodeId{2}, t.a->delivered, "state");
    t.net.settle(t.net.now + Duration::milliseconds(50));
    EXPECT_TRUE(t.a->ok(100));
    ASSERT_EQ(t.b->arrivals.size(), 1u);
    EXPECT_EQ(t.b->arrivals[0].target, t.p);
    EXPECT_EQ(as_text(t.b->arrivals[0].body), "state");
    EXPECT_EQ(t.b->bodies(), std::vector<std::string>{"m1"});  // The queue came along.
    t.say(2, "m2");  // To a (q's cache says a): forwarded; b's ack says "at node 2".
    t.say(3, "m3");  // Direct to b.
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"m1", "m2", "m3"}));
    EXPECT_TRUE(t.c->ok(2));
    EXPECT_TRUE(t.c->ok(3));
    EXPECT_EQ(t.a->engine->counters().forwarded, 1u);
    EXPECT_EQ(t.a->engine->counters().forwards_live, 1u);
    EXPECT_EQ(t.b->engine->counters().received_forwarded, 1u);
    EXPECT_EQ(t.b->engine->counters().received_direct, 1u);
    EXPECT_EQ(t.c->engine->counters().location_updates, 1u);
    EXPECT_EQ(t.a->engine->counters().migrations_out, 1u);
    EXPECT_EQ(t.b->engine->counters().migrations_in, 1u);
}

TEST(DirectMigrate, AChainOfMovesIsFollowedAndTheAckNamesTheLastNode) {
    Quad t;
    t.say(1, "m1");
    t.net.migrate(*t.a, 100, t.p, NodeId{2}, {}, "");
    t.net.settle(t.net.now + Duration::milliseconds(50));
    t.net.migrate(*t.b, 101, t.p, NodeId{4}, {}, "");
    t.net.settle(t.net.now + Duration::milliseconds(50));
    ASSERT_TRUE(t.b->ok(101));
    t.say(2, "m2");  // a -> b -> d.
    t.say(3, "m3");  // Direct to d.
    EXPECT_EQ(t.d->bodies(), (std::vector<std::string>{"m2", "m3"}));
    EXPECT_EQ(t.a->engine->counters().forwarded, 1u);
    EXPECT_EQ(t.b->engine->counters().forwarded, 1u);
    EXPECT_EQ(t.d->engine->counters().received_direct, 1u);
}

TEST(DirectMigrate, ASilentTargetFailsTheMoveAndTheProcessKeepsItsQueueAtTheOrigin) {
    Quad t;
    t.say(1, "m1");
    std::vector<Message> queued = t.a->delivered;
    t.a->delivered.clear();
    t.net.migrate(*t.a, 100, t.p, NodeId{2}, queued, "s");
    const auto to_b = [](const InFlight& f) { return f.to == NodeId{2}; };
    for (int i = 0; i < 200 && !t.a->done(100); ++i) {
        t.net.advance(Duration::milliseconds(50));
        t.net.flush(to_b);
    }
    EXPECT_EQ(t.a->error(100), Errc::unreachable);
    EXPECT_EQ(t.a->bodies(), std::vector<std::string>{"m1"});  // Given back, first.
    EXPECT_EQ(t.a->traced("probe_migrate_aborted"), 1u);
    t.say(2, "m2");
    EXPECT_EQ(t.a->bodies(), (std::vector<std::string>{"m1", "m2"}));
    EXPECT_TRUE(t.b->arrivals.empty());
}

TEST(DirectMigrate, ATargetThatRefusesLeavesTheProcessWhereItWas) {
    DirectOptions full;
    full.migrations_max = 0;  // Every arrival is refused with queue_full.
    Quad t({}, full);
    t.net.migrate(*t.a, 100, t.p, NodeId{2}, {}, "s");
    t.net.settle(t.net.now + Duration::milliseconds(50));
    EXPECT_EQ(t.a->error(100), Errc::queue_full);
    t.say(1, "m1");
    EXPECT_EQ(t.a->bodies(), std::vector<std::string>{"m1"});
}

TEST(DirectMigrate, DataArrivingWhileFrozenIsNotAckedAndArrivesOnceAtTheTarget) {
    Quad t;
    t.say(1, "m1");
    t.net.migrate(*t.a, 100, t.p, NodeId{2}, {}, "");  // The migrate packet waits on the wire.
    t.net.send(*t.c, 2, t.q, t.p, "m2");
    // Only what goes to a arrives: m2 finds p frozen; the first migrate packet is lost.
    const auto not_to_a = [](const InFlight& f) { return f.to != NodeId{1}; };
    t.net.flush(not_to_a);
    EXPECT_EQ(t.a->traced("probe_migrating_dropped"), 1u);
    t.net.settle(t.net.now + Duration::milliseconds(500));
    EXPECT_TRUE(t.a->ok(100));
    EXPECT_EQ(t.b->bodies(), std::vector<std::string>{"m2"});
    EXPECT_TRUE(t.c->ok(2));
    EXPECT_EQ(t.a->bodies(), std::vector<std::string>{"m1"});
}

TEST(DirectMigrate, ALateDuplicateMigratePacketNeverInstallsTheProcessAgain) {
    Quad t;
    t.net.migrate(*t.a, 100, t.p, NodeId{2}, {}, "");
    ASSERT_EQ(t.net.on_wire(PacketKind::migrate), 1u);
    const InFlight copy = t.net.wire.front();
    t.net.settle(t.net.now + Duration::milliseconds(50));
    t.net.migrate(*t.b, 101, t.p, NodeId{4}, {}, "");  // p moves on to d.
    t.net.settle(t.net.now + Duration::milliseconds(50));
    t.net.inject(*t.b, copy.from, copy.packet);  // The first offer again, late.
    t.net.settle(t.net.now + Duration::milliseconds(50));
    EXPECT_EQ(t.b->traced("probe_migrate_late_duplicate"), 1u);
    EXPECT_EQ(t.b->arrivals.size(), 1u);
    EXPECT_EQ(t.b->engine->counters().migrations_in, 1u);
}

TEST(DirectMigrate, AfterTheForwardingNodeRestartsANewSenderGetsNoSuchProcess) {
    Quad t;
    t.net.migrate(*t.a, 100, t.p, NodeId{2}, {}, "");
    t.net.settle(t.net.now + Duration::milliseconds(50));
    t.a->restart(12);  // Its forwarding entry is gone with it.
    t.net.spawn(*t.c, 7);
    t.net.send(*t.c, 2, Pid{NodeId{3}, 7}, t.p, "m");
    t.net.settle(t.net.now + Duration::milliseconds(200));
    EXPECT_EQ(t.c->error(2), Errc::no_such_process);
}

TEST(DirectMigrate, AMigratedProcessSendsFromItsNewNodeAndItsChannelContinues) {
    Quad t;
    t.net.send(*t.a, 1, t.p, t.q, "r1");  // p's channel to q, from a: epoch e, seq 1.
    t.net.settle(t.net.now + Duration::milliseconds(50));
    ASSERT_TRUE(t.a->ok(1));
    ASSERT_EQ(t.net.on_wire(PacketKind::data), 0u);
    t.net.migrate(*t.a, 100, t.p, NodeId{2}, {}, "");
    t.net.settle(t.net.now + Duration::milliseconds(50));
    ASSERT_TRUE(t.a->ok(100));
    t.net.send(*t.b, 2, t.p, t.q, "r2");  // From b: the same epoch, seq 2, location = b.
    t.run_until_on_wire(PacketKind::data);
    ASSERT_EQ(t.net.on_wire(PacketKind::data), 1u);
    const wire::Packet& data = t.net.wire.front().packet;
    EXPECT_EQ(data.header.seq, 2u);
    EXPECT_NE(data.find(wire::ExtensionType::location), nullptr);
    t.net.settle(t.net.now + Duration::milliseconds(50));
    t.net.send(*t.b, 3, t.p, t.q, "r3");
    t.net.settle(t.net.now + Duration::milliseconds(50));
    EXPECT_TRUE(t.b->ok(2));  // Acked: the ack went to b, where p lives now.
    EXPECT_TRUE(t.b->ok(3));
    EXPECT_EQ(t.c->bodies(), (std::vector<std::string>{"r1", "r2", "r3"}));
    EXPECT_EQ(t.c->traced("sender_moved"), 1u);
    EXPECT_EQ(t.c->traced("channel_reset"), 0u);  // One channel, not a new epoch.
}

TEST(DirectMigrate, AStragglerFromTheOldNodeIsADuplicateAndDoesNotPullTheChannelBack) {
    Quad t;
    t.net.send(*t.a, 1, t.p, t.q, "r1");
    t.run_until_on_wire(PacketKind::data);
    auto r1 = std::find_if(t.net.wire.begin(), t.net.wire.end(), [](const InFlight& f) {
        return f.packet.header.kind == PacketKind::data;
    });
    ASSERT_NE(r1, t.net.wire.end());
    const InFlight old = *r1;  // A copy of r1 from a, delivered late below.
    t.net.settle(t.net.now + Duration::milliseconds(50));
    t.net.migrate(*t.a, 100, t.p, NodeId{2}, {}, "");
    t.net.settle(t.net.now + Duration::milliseconds(50));
    t.net.send(*t.b, 2, t.p, t.q, "r2");
    t.net.settle(t.net.now + Duration::milliseconds(50));
    const auto duplicates = t.c->engine->counters().duplicates_dropped;
    t.net.inject(*t.c, old.from, old.packet);
    EXPECT_EQ(t.c->engine->counters().duplicates_dropped, duplicates + 1);
    ASSERT_EQ(t.net.on_wire(PacketKind::ack), 1u);
    EXPECT_EQ(t.net.wire.front().to, NodeId{2});  // The ack still goes where p lives.
    t.net.settle(t.net.now + Duration::milliseconds(50));
    t.net.send(*t.b, 3, t.p, t.q, "r3");
    t.net.settle(t.net.now + Duration::milliseconds(50));
    EXPECT_TRUE(t.b->ok(3));
    EXPECT_EQ(t.c->bodies(), (std::vector<std::string>{"r1", "r2", "r3"}));
}

TEST(DirectMigrate, TheProcessEpochCounterTravelsWithIt) {
    // Each node's epoch counter starts at random and receivers compare a pair's epochs in
    // serial order, so a migrated process's new epochs come from its own counter, which it
    // brought along, not from the new node's (M15).
    DirectOptions a_options;
    a_options.epoch_first = 100;
    DirectOptions b_options;
    b_options.epoch_first = 100 + (1u << 31) + 5;  // Far from a's: not comparable.
    Quad t(a_options, b_options);
    t.net.spawn(*t.c, 7);
    t.net.spawn(*t.c, 8);
    t.net.spawn(*t.c, 9);
    for (std::uint64_t local = 6; local <= 8; ++local) {
        t.net.send(*t.a, local, t.p, Pid{NodeId{3}, local}, "r");  // Epochs 100..102 at a.
    }
    t.net.settle(t.net.now + Duration::milliseconds(50));
    t.net.migrate(*t.a, 100, t.p, NodeId{2}, {}, "");
    t.net.settle(t.net.now + Duration::milliseconds(50));
    ASSERT_TRUE(t.a->ok(100));
    t.net.send(*t.b, 2, t.p, Pid{NodeId{3}, 9}, "x");  // A new channel, from b.
    t.run_until_on_wire(PacketKind::data);
    ASSERT_EQ(t.net.on_wire(PacketKind::data), 1u);
    auto data = std::find_if(t.net.wire.begin(), t.net.wire.end(), [](const InFlight& f) {
        return f.packet.header.kind == PacketKind::data;
    });
    EXPECT_EQ(data->packet.header.epoch, 103u);
    t.net.settle(t.net.now + Duration::milliseconds(50));
    EXPECT_TRUE(t.b->ok(2));
}

TEST(DirectMigrate, BadArgumentsAreRefusedWithClearErrors) {
    Quad t;
    t.net.migrate(*t.a, 1, Pid{NodeId{1}, 99}, NodeId{2}, {}, "");  // No such process here.
    t.net.migrate(*t.a, 2, t.p, NodeId{1}, {}, "");                 // To itself.
    t.net.migrate(*t.a, 3, t.p, NodeId{}, {}, "");                  // Node 0.
    t.net.spawn(*t.a, 8, buffering(Buffering::send_after_receive));
    t.net.migrate(*t.a, 4, Pid{NodeId{1}, 8}, NodeId{2}, {}, "");  // Unbuffered.
    for (OperationId op = 1; op <= 4; ++op) EXPECT_EQ(t.a->error(op), Errc::invalid_argument);
    t.net.migrate(*t.a, 5, t.p, NodeId{2}, {}, "");
    t.net.migrate(*t.a, 6, t.p, NodeId{4}, {}, "");  // Already migrating.
    EXPECT_EQ(t.a->error(6), Errc::would_block);
}

TEST(DirectMigrate, AMalformedSnapshotIsRefusedAndCounted) {
    Quad t;
    wire::Packet bad = make_packet(PacketKind::migrate, t.p, Pid{NodeId{2}, 0}, 11, 0);
    bad.header.seq = 1;
    bad.body = to_bytes("not a snapshot");
    t.net.inject(*t.b, NodeId{1}, bad);
    EXPECT_EQ(t.b->engine->counters().malformed_dropped, 1u);
    ASSERT_EQ(t.net.on_wire(PacketKind::migrate_reply), 1u);
    EXPECT_EQ(read_reason(t.net.wire.front().packet), Errc::malformed);
    EXPECT_TRUE(t.b->arrivals.empty());
}

TEST(DirectMigrate, EveryTruncationOrCorruptionOfASnapshotIsRefusedNeverInstalled) {
    Quad t;
    t.say(1, "m1");
    t.net.migrate(*t.a, 100, t.p, NodeId{2}, t.a->delivered, "state");
    ASSERT_EQ(t.net.on_wire(PacketKind::migrate), 1u);
    const wire::Packet good = t.net.wire.front().packet;
    t.net.drop_all();
    std::uint64_t id = 1000;
    for (std::size_t cut = 0; cut < good.body.size(); ++cut) {
        wire::Packet bad = good;
        bad.header.seq = ++id;
        bad.body.resize(cut);
        t.net.inject(*t.b, NodeId{1}, bad);
    }
    for (std::size_t i = 0; i < good.body.size(); ++i) {
        wire::Packet bad = good;
        bad.header.seq = ++id;
        bad.body[i] = 0xff;  // Counts and lengths become huge; buffering invalid.
        t.net.inject(*t.b, NodeId{1}, bad);
    }
    t.net.drop_all();
    EXPECT_GE(t.b->engine->counters().malformed_dropped, good.body.size());
    EXPECT_TRUE(t.b->arrivals.empty());
}

}  // namespace
}  // namespace herald::proto::direct::testing

// SimNode and Simulation with a scripted fake engine: timers (move, cancel, lost on crash),
// durable writes (fsync delay, crash keeps a prefix, wipe), packets between nodes, process
// queues and incarnations. Layer: tests/unit/sim.
#include "sim/sim_node.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sim/simulation.h"

namespace herald::sim {
namespace {

Time ms(std::int64_t n) {
    return Time::zero() + Duration::milliseconds(n);
}

// Records every input; emits nothing by itself (tests emit effects through command()).
// It speaks the rpc protocol's kinds and keeps its durable records under "f/".
class FakeEngine final : public proto::Engine {
public:
    explicit FakeEngine(const proto::EngineContext& c) : incarnation(c.incarnation) {}
    wire::Protocol protocol() const override { return wire::Protocol::rpc; }
    std::string_view store_prefix() const override { return "f/"; }
    void on_restore(std::span<const proto::StoredRecord> records) override {
        for (const auto& [key, value] : records) disk_seen[key] = value;
    }
    void on_packet(NodeId from, wire::Packet& p, Time now, proto::Effects&) override {
        log.push_back("packet from=" + std::to_string(from.value) +
                      " seq=" + std::to_string(p.header.seq) + " at=" + std::to_string(now.ns()));
    }
    void on_timer(proto::TimerId id, Time now, proto::Effects&) override {
        log.push_back("timer " + std::to_string(id.value) + " at=" + std::to_string(now.ns()));
    }
    void on_durable(std::uint64_t token, const Status& status, Time, proto::Effects&) override {
        log.push_back("durable " + std::to_string(token) + (status ? "" : " failed"));
    }
    void on_consumed(Pid, std::uint32_t count, Time, proto::Effects&) override {
        log.push_back("consumed " + std::to_string(count));
    }
    proto::EngineCounters totals() const override { return {}; }
    std::uint32_t incarnation;
    DurableStore disk_seen;
    std::vector<std::string> log;
};

class RecordingWorkload final : public Workload {
public:
    void on_node_started(SimNode& node) override {
        events.push_back("start n" + std::to_string(node.id().value));
    }
    void on_node_crashed(SimNode& node) override {
        events.push_back("crash n" + std::to_string(node.id().value));
    }
    void on_delivered(SimNode&, const Message& m) override {
        events.push_back("deliver " + std::to_string(m.seq));
    }
    void on_completed(SimNode&, const proto::CompleteEffect& c) override {
        events.push_back("complete " + std::to_string(c.op));
    }
    std::vector<std::string> events;
};

class SimNodeTest : public ::testing::Test {
protected:
    SimNodeTest() : sim(1, options()) {
        sim.set_workload(workload);
        slot = sim.add_engine([](const proto::EngineContext& c) -> std::unique_ptr<proto::Engine> {
            return std::make_unique<FakeEngine>(c);
        });
        sim.start_all();
    }
    static SimOptions options() {
        SimOptions o;
        o.nodes = 2;
        o.network.jitter = Duration::zero();
        return o;
    }
    FakeEngine& engine(NodeId id) { return sim.node(id).engine<FakeEngine>(slot); }
    void emit(NodeId id, const std::function<void(proto::Effects&)>& effects) {
        sim.node(id).command<FakeEngine>(slot,
                                         [&](FakeEngine&, proto::Effects& out) { effects(out); });
    }

    RecordingWorkload workload;
    Simulation sim;
    std::size_t slot = 0;
};

TEST_F(SimNodeTest, ResettingATimerMovesItAndCancelStopsIt) {
    emit(NodeId{1}, [](proto::Effects& out) {
        out.set_timer(proto::TimerId{1}, ms(10));
        out.set_timer(proto::TimerId{1}, ms(20));
        out.set_timer(proto::TimerId{2}, ms(15));
        out.cancel_timer(proto::TimerId{2});
    });
    sim.queue().run_until(ms(100));
    ASSERT_EQ(engine(NodeId{1}).log.size(), 1u);
    EXPECT_EQ(engine(NodeId{1}).log[0], "timer 1 at=" + std::to_string(ms(20).ns()));
}

TEST_F(SimNodeTest, CrashDropsTimersQueuesAndEnginesAndRestartIsANewIncarnation) {
    emit(NodeId{1}, [](proto::Effects& out) {
        out.set_timer(proto::TimerId{1}, ms(10));
        out.deliver(Message{Pid{NodeId{1}, 5}, Pid{NodeId{1}, 5}, 1, 0, {}});
    });
    EXPECT_EQ(sim.node(NodeId{1}).queued(Pid{NodeId{1}, 5}), 1u);
    sim.crash(NodeId{1}, false);
    EXPECT_FALSE(sim.node(NodeId{1}).up());
    sim.restart(NodeId{1});
    EXPECT_EQ(sim.node(NodeId{1}).incarnation(), 2u);
    EXPECT_EQ(engine(NodeId{1}).incarnation, 2u);
    EXPECT_EQ(sim.node(NodeId{1}).queued(Pid{NodeId{1}, 5}), 0u);
    sim.queue().run_until(ms(100));
    EXPECT_TRUE(engine(NodeId{1}).log.empty());  // The old incarnation's timer never fires.
    EXPECT_EQ(workload.events, (std::vector<std::string>{"start n1", "start n2", "deliver 1",
                                                         "crash n1", "start n1"}));
}

TEST_F(SimNodeTest, ConsumeTakesTheOldestMatchingMessageAndTellsTheEngine) {
    const Pid me{NodeId{2}, 1}, x{NodeId{1}, 1}, y{NodeId{1}, 2};
    emit(NodeId{2}, [&](proto::Effects& out) {
        out.deliver(Message{x, me, 1, 0, {}});
        out.deliver(Message{y, me, 1, 0, {}});
    });
    const std::vector<Pid> only_y{y};
    auto m = sim.node(NodeId{2}).consume(me, only_y);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->source, y);
    EXPECT_EQ(sim.node(NodeId{2}).consume(me)->source, x);
    EXPECT_FALSE(sim.node(NodeId{2}).consume(me).has_value());
    EXPECT_EQ(engine(NodeId{2}).log, (std::vector<std::string>{"consumed 1", "consumed 1"}));
}

TEST_F(SimNodeTest, WritesBecomeDurableInOrderAfterTheFsyncDelay) {
    emit(NodeId{1}, [](proto::Effects& out) {
        out.persist(1, "f/a", to_bytes("one"));
        out.persist(2, "f/b", to_bytes("two"));
        out.erase(3, "f/a");
    });
    EXPECT_TRUE(sim.node(NodeId{1}).disk().empty());  // Not before the fsync completes.
    sim.queue().run_until(ms(100));
    EXPECT_EQ(engine(NodeId{1}).log,
              (std::vector<std::string>{"durable 1", "durable 2", "durable 3"}));
    const DurableStore expected{{"f/b", to_bytes("two")}};
    EXPECT_EQ(sim.node(NodeId{1}).disk(), expected);
    sim.crash(NodeId{1}, false);
    sim.restart(NodeId{1});
    EXPECT_EQ(engine(NodeId{1}).disk_seen, expected);  // The disk survived the crash.
    sim.crash(NodeId{1}, true);
    sim.restart(NodeId{1});
    EXPECT_TRUE(engine(NodeId{1}).disk_seen.empty());  // Wiped.
}

TEST_F(SimNodeTest, CrashKeepsAPrefixOfWritesThatWereNotYetDurable) {
    int kept_none = 0, kept_all = 0;
    for (std::uint64_t run = 0; run < 20; ++run) {
        emit(NodeId{1}, [&](proto::Effects& out) {
            out.persist(1, "k" + std::to_string(run), to_bytes("1"));
            out.persist(2, "l" + std::to_string(run), to_bytes("2"));
        });
        sim.crash(NodeId{1}, false);
        const auto& disk = sim.node(NodeId{1}).disk();
        // Never the second without the first.
        const bool first = disk.contains("k" + std::to_string(run));
        const bool second = disk.contains("l" + std::to_string(run));
        EXPECT_FALSE(second && !first);
        kept_none += first ? 0 : 1;
        kept_all += second ? 1 : 0;
        sim.restart(NodeId{1});
    }
    EXPECT_GT(kept_none, 0);  // Both outcomes of a crash during fsync happen.
    EXPECT_GT(kept_all, 0);
    sim.queue().run_until(ms(100));
    EXPECT_TRUE(engine(NodeId{1}).log.empty());  // No on_durable for a crashed incarnation.
}

TEST_F(SimNodeTest, EffectsSharingATokenAreOneAtomicWriteWithOneDurableCall) {
    int torn = 0;
    for (std::uint64_t run = 0; run < 20; ++run) {
        const std::string x = "x" + std::to_string(run), y = "y" + std::to_string(run);
        emit(NodeId{1}, [&](proto::Effects& out) {
            out.persist(7, x, to_bytes("1"));
            out.persist(7, y, to_bytes("3"));
            out.persist(8, "other", to_bytes("2"));
        });
        sim.crash(NodeId{1}, false);
        const auto& disk = sim.node(NodeId{1}).disk();
        torn += disk.contains(x) != disk.contains(y) ? 1 : 0;
        sim.restart(NodeId{1});
    }
    EXPECT_EQ(torn, 0);
    emit(NodeId{1}, [&](proto::Effects& out) {
        out.persist(9, "p", to_bytes("1"));
        out.persist(9, "q", to_bytes("2"));
    });
    sim.queue().run_until(ms(100));
    EXPECT_EQ(engine(NodeId{1}).log, (std::vector<std::string>{"durable 9"}));
    EXPECT_TRUE(sim.node(NodeId{1}).disk().contains("q"));
}

TEST_F(SimNodeTest, PacketsTravelBetweenNodesAndAreDroppedAtADownNode) {
    wire::Packet p;
    p.header.kind = wire::PacketKind::rpc_request;
    p.header.seq = 7;
    emit(NodeId{1}, [&](proto::Effects& out) { out.send(NodeId{2}, p); });
    sim.queue().run_until(ms(50));
    ASSERT_EQ(engine(NodeId{2}).log.size(), 1u);
    EXPECT_EQ(engine(NodeId{2}).log[0].rfind("packet from=1 seq=7", 0), 0u);
    emit(NodeId{1}, [&](proto::Effects& out) { out.send(NodeId{2}, p); });
    sim.crash(NodeId{2}, false);
    sim.queue().run_until(ms(100));  // It arrives while node 2 is down: dropped.
    EXPECT_EQ(sim.packets_delivered(), 1u);
    sim.restart(NodeId{2});
    p.header.seq = 8;
    emit(NodeId{1}, [&](proto::Effects& out) { out.send(NodeId{2}, p); });
    sim.queue().run_until(ms(200));
    // The new incarnation gets the packet sent after it started, never the dropped one.
    ASSERT_EQ(engine(NodeId{2}).log.size(), 1u);
    EXPECT_EQ(engine(NodeId{2}).log[0].rfind("packet from=1 seq=8", 0), 0u);
    EXPECT_EQ(sim.packets_delivered(), 2u);
}

TEST_F(SimNodeTest, PacketsOfAKindNoEngineHandlesAreDropped) {
    wire::Packet p;
    p.header.kind = wire::PacketKind::data;
    emit(NodeId{1}, [&](proto::Effects& out) { out.send(NodeId{2}, p); });
    sim.queue().run_until(ms(50));
    EXPECT_TRUE(engine(NodeId{2}).log.empty());
}

}  // namespace
}  // namespace herald::sim

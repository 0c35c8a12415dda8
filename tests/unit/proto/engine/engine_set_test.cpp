// EngineSet: one owner per packet kind from the kind table, effects tagged by engine, loopback
// settled inside the set (drivers never see a send to their own node), THE effect order, and
// one durable write per token. Layer: tests/unit/proto.
#include "proto/engine_set.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "wire/kinds.h"

namespace herald::proto {
namespace {

const NodeId self{1};
const NodeId other{2};

// Speaks `protocol`; on a packet of seq n > 0 it sends seq n - 1 to `bounce_to`. Logs inputs.
class ScriptEngine final : public Engine {
public:
    ScriptEngine(wire::Protocol protocol, NodeId bounce_to, std::vector<std::string>& log)
        : protocol_(protocol), bounce_to_(bounce_to), log_(log) {}
    wire::Protocol protocol() const override { return protocol_; }
    void on_packet(NodeId from, wire::Packet& packet, Time, Effects& out) override {
        log_.push_back(std::string(name()) + " packet from=" + std::to_string(from.value) +
                       " seq=" + std::to_string(packet.header.seq));
        if (packet.header.seq == 0) return;
        wire::Packet next = packet;
        --next.header.seq;
        out.send(bounce_to_, std::move(next));
    }
    void on_timer(TimerId id, Time, Effects&) override {
        log_.push_back(std::string(name()) + " timer " + std::to_string(id.value));
    }
    void on_durable(std::uint64_t token, const Status& status, Time, Effects&) override {
        log_.push_back(std::string(name()) + " durable " + std::to_string(token) +
                       (status ? " ok" : " failed"));
    }
    EngineCounters totals() const override { return {}; }

private:
    wire::Protocol protocol_;
    NodeId bounce_to_;
    std::vector<std::string>& log_;
};

wire::Packet packet_of(wire::PacketKind kind, std::uint64_t seq) {
    wire::Packet p;
    p.header.kind = kind;
    p.header.seq = seq;
    return p;
}

// Records the calls EngineSet::apply makes, in order.
struct Recorder {
    std::vector<std::string> calls;
    void trace(const TraceEffect& t) { calls.push_back("trace " + std::string(t.event)); }
    void membership(const MembershipEffect& m) {
        calls.push_back(std::string(m.join ? "join" : "leave") +
                        " port=" + std::to_string(m.group.port));
    }
    void send(SendEffect& s, const Effects&) {
        calls.push_back("send to=" + std::to_string(s.to.node.value));
    }
    void deliver(DeliverEffect& d) {
        calls.push_back("deliver engine=" + std::to_string(d.engine));
    }
    void execute(ExecuteEffect&) { calls.push_back("execute"); }
    void complete(CompleteEffect& c) { calls.push_back("complete " + std::to_string(c.op)); }
    void timer(const TimerEffect& t) {
        calls.push_back("timer engine=" + std::to_string(t.engine) +
                        " id=" + std::to_string(t.id.value));
    }
    void persist(EngineSlot slot, std::uint64_t token, std::span<PersistEffect> parts) {
        calls.push_back("persist engine=" + std::to_string(slot) + " token=" +
                        std::to_string(token) + " parts=" + std::to_string(parts.size()));
    }
};

TEST(EngineSet, EachEngineOwnsTheKindsOfItsProtocolFromTheKindTable) {
    std::vector<std::string> log;
    EngineSet set(self);
    const auto direct = set.add(std::make_unique<ScriptEngine>(wire::Protocol::direct, other, log));
    const auto rpc = set.add(std::make_unique<ScriptEngine>(wire::Protocol::rpc, other, log));
    for (const auto& row : wire::kind_table) {
        const auto owner = set.owner(row.kind);
        if (row.protocol != wire::Protocol::direct && row.protocol != wire::Protocol::rpc) {
            EXPECT_FALSE(owner.has_value()) << row.name;  // No engine of this set speaks it.
            continue;
        }
        ASSERT_TRUE(owner.has_value()) << row.name;
        EXPECT_EQ(*owner, row.protocol == wire::Protocol::direct ? direct : rpc) << row.name;
    }
    Effects out;
    wire::Packet unknown = packet_of(static_cast<wire::PacketKind>(200), 0);
    EXPECT_FALSE(set.on_packet(other, unknown, Time::zero(), out));
    EXPECT_TRUE(log.empty());
}

TEST(EngineSetDeathTest, TwoEnginesOfOneProtocolAreRefused) {
    std::vector<std::string> log;
    EngineSet set(self);
    set.add(std::make_unique<ScriptEngine>(wire::Protocol::rpc, other, log));
    EXPECT_DEATH(set.add(std::make_unique<ScriptEngine>(wire::Protocol::rpc, other, log)), "");
}

TEST(EngineSet, PacketsToItsOwnNodeGoBackToTheirOwnerAndNeverReachTheDriver) {
    std::vector<std::string> log;
    EngineSet set(self);
    set.add(std::make_unique<ScriptEngine>(wire::Protocol::direct, self, log));
    Effects out;
    wire::Packet p = packet_of(wire::PacketKind::data, 3);
    ASSERT_TRUE(set.on_packet(other, p, Time::zero(), out));
    EXPECT_TRUE(out.sends.empty());
    EXPECT_EQ(log, (std::vector<std::string>{
                       "direct packet from=2 seq=3", "direct packet from=1 seq=2",
                       "direct packet from=1 seq=1", "direct packet from=1 seq=0"}));
    EXPECT_EQ(set.loopback_packets(), 3u);
}

TEST(EngineSet, SendsToOtherNodesStayInTheOrderRecorded) {
    std::vector<std::string> log;
    EngineSet set(self);
    const auto slot = set.add(std::make_unique<ScriptEngine>(wire::Protocol::direct, self, log));
    Effects out;
    set.run<Engine>(slot, Time::zero(), out, [](Engine&, Effects& o) {
        o.send(NodeId{2}, packet_of(wire::PacketKind::data, 0));
        o.send(self, packet_of(wire::PacketKind::data, 0));
        o.send(NodeId{3}, packet_of(wire::PacketKind::data, 0));
    });
    ASSERT_EQ(out.sends.size(), 2u);
    EXPECT_EQ(out.sends[0].to.node, NodeId{2});
    EXPECT_EQ(out.sends[1].to.node, NodeId{3});
}

TEST(EngineSet, EffectsAreTaggedByEngineAndCarriedOutInTheOneOrder) {
    std::vector<std::string> log;
    EngineSet set(self);
    set.add(std::make_unique<ScriptEngine>(wire::Protocol::direct, other, log));
    const auto rpc = set.add(std::make_unique<ScriptEngine>(wire::Protocol::rpc, other, log));
    Effects out;
    out.tracing = true;
    set.run<Engine>(rpc, Time::zero(), out, [](Engine&, Effects& o) {
        o.persist(7, "a", {});
        o.persist(7, "b", {});
        o.erase(8, "c");
        o.set_timer(TimerId{5}, Time::zero());
        o.complete(1, Bytes{});
        o.execute(ExecuteEffect{});
        o.deliver(Message{});
        o.send(other, packet_of(wire::PacketKind::rpc_request, 0));
        o.leave_group(IpGroup{4, {239, 1, 2, 3}, 7500});
        o.trace(Time::zero(), "event");
    });
    Recorder recorder;
    EngineSet::apply(out, recorder);
    EXPECT_EQ(recorder.calls,
              (std::vector<std::string>{"trace event", "leave port=7500", "send to=2",
                                        "deliver engine=1", "execute", "complete 1",
                                        "timer engine=1 id=5", "persist engine=1 token=7 parts=2",
                                        "persist engine=1 token=8 parts=1"}));
    EXPECT_TRUE(out.empty());
}

TEST(EngineSetDeathTest, AWriteWhosePartsAreNotAdjacentIsRefused) {
    Effects out;
    out.persist(7, "a", {});
    out.persist(8, "b", {});
    out.persist(7, "c", {});
    Recorder recorder;
    EXPECT_DEATH(EngineSet::apply(out, recorder), "");
}

TEST(EngineSet, DurableOutcomesAndTimersReachTheEngineInTheirSlot) {
    std::vector<std::string> log;
    EngineSet set(self);
    const auto direct = set.add(std::make_unique<ScriptEngine>(wire::Protocol::direct, other, log));
    const auto rpc = set.add(std::make_unique<ScriptEngine>(wire::Protocol::rpc, other, log));
    Effects out;
    set.on_durable(rpc, 4, fail(Errc::storage_error, "disk full"), Time::zero(), out);
    set.on_durable(rpc, 5, Status{}, Time::zero(), out);
    set.on_timer(direct, TimerId{9}, Time::zero(), out);
    EXPECT_EQ(log, (std::vector<std::string>{"rpc durable 4 failed", "rpc durable 5 ok",
                                             "direct timer 9"}));
}

}  // namespace
}  // namespace herald::proto

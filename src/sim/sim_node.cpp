// SimNode implementation. Layer: sim.
#include "sim/sim_node.h"

#include <algorithm>

#include "proto/rpc/rpc_engine.h"
#include "sim/simulation.h"
#include "sim/streams.h"
#include "wire/codec.h"

namespace herald::sim {

SimNode::SimNode(Simulation& sim, NodeId id)
    : sim_(sim), id_(id), label_("n" + std::to_string(id.value)) {
    effects_.tracing = true;  // Engines' trace records feed probes even when lines are not kept.
}

SimNode::~SimNode() = default;

std::size_t SimNode::add_engine(EngineFactory factory) {
    HERALD_ASSERT(incarnation_ == 0);
    factories_.push_back(std::move(factory));
    return factories_.size() - 1;
}

void SimNode::start() {
    HERALD_ASSERT(!up_);
    ++incarnation_;
    ++life_;
    up_ = true;
    disk_free_ = sim_.now();
    sim_.note(label_, "start", Fields().add("incarnation", incarnation_).text());
    engines_ = std::make_unique<proto::EngineSet>(id_);
    for (std::size_t slot = 0; slot < factories_.size(); ++slot) {
        // Each engine of each incarnation gets its own stream, so that one engine's draws
        // never shift another's.
        const std::uint64_t offset = id_.value * 4096 + incarnation_ * 16 + slot;
        randoms_.push_back(
            std::make_unique<Random>(make_stream(sim_.seed(), Stream::engine_base, offset)));
        auto engine =
            factories_[slot](proto::EngineContext{id_, incarnation_, *randoms_.back(), sim_.now()});
        HERALD_ASSERT(engine != nullptr);
        HERALD_ASSERT(engines_->add(std::move(engine)) == slot);
    }
    engines_->restore([this](std::string_view prefix) {
        std::vector<proto::StoredRecord> records;
        for (auto it = disk_.lower_bound(prefix);
             it != disk_.end() && it->first.starts_with(prefix); ++it) {
            records.emplace_back(it->first, it->second);
        }
        return records;
    });
    sim_.workload().on_node_started(*this);
}

void SimNode::crash(bool wipe) {
    HERALD_ASSERT(up_);
    HERALD_ASSERT(!in_input_);
    // A write that was issued but not yet durable may or may not be on disk after a crash;
    // writes reach the disk in order, so some prefix of them survived.
    const auto kept = static_cast<std::size_t>(sim_.disk_random().below(writes_.size() + 1));
    for (std::size_t i = 0; i < kept; ++i) apply(writes_[i]);
    writes_.clear();
    reassembler_ = wire::Reassembler{};
    if (wipe) disk_.clear();
    past_stats_ += engines_->counters();
    engines_.reset();
    randoms_.clear();
    timers_.clear();
    queues_.clear();
    joined_.clear();
    up_ = false;
    ++life_;
    sim_.note(label_, "crash",
              Fields()
                  .add("incarnation", incarnation_)
                  .add("wipe", wipe)
                  .add("writes_kept", kept)
                  .text());
    sim_.workload().on_node_crashed(*this);
}

void SimNode::on_packet(NodeId from, const wire::Packet& packet) {
    HERALD_ASSERT(up_);
    HERALD_ASSERT(!in_input_);
    wire::Packet copy = packet;  // Engines may take the body; the network keeps duplicates.
    in_input_ = true;
    if (deliver_request(from, copy)) {
        drain();
        return;
    }
    if (engines_->on_packet(from, copy, sim_.now(), effects_)) {
        drain();
        return;
    }
    in_input_ = false;
    sim_.note(label_, "net_drop",
              Fields()
                  .add("reason", "no_engine")
                  .add("kind", wire::packet_kind_name(packet.header.kind))
                  .text());
}

// An RPC request reaches the RPC engine with its sender's address, as in the runtime
// (docs/rpc.md, "Admission"): here a node's address is its id.
bool SimNode::deliver_request(NodeId from, wire::Packet& packet) {
    if (packet.header.kind != wire::PacketKind::rpc_request) return false;
    const auto slot = engines_->owner(packet.header.kind);
    if (!slot || dynamic_cast<proto::rpc::RpcEngine*>(&engines_->at(*slot)) == nullptr) {
        return false;
    }
    const Time t = sim_.now();
    engines_->run<proto::rpc::RpcEngine>(*slot, t, effects_, [&](auto& rpc, proto::Effects& out) {
        rpc.on_packet(from, packet, proto::rpc::Source{from.value}, t, out);
    });
    return true;
}

Time SimNode::now() const {
    return sim_.now();
}

std::size_t SimNode::queued(Pid pid) const {
    const auto it = queues_.find(pid);
    return it == queues_.end() ? 0 : it->second.size();
}

std::optional<Message> SimNode::consume(Pid pid, std::span<const Pid> from) {
    HERALD_ASSERT(up_);
    HERALD_ASSERT(!in_input_);
    const auto it = queues_.find(pid);
    if (it == queues_.end()) return std::nullopt;
    auto& queue = it->second;
    const auto found = std::find_if(queue.begin(), queue.end(), [&](const Queued& q) {
        return from.empty() || std::find(from.begin(), from.end(), q.message.source) != from.end();
    });
    if (found == queue.end()) return std::nullopt;
    Queued taken = std::move(*found);
    queue.erase(found);
    in_input_ = true;
    engines_->on_consumed(taken.slot, pid, 1, sim_.now(), effects_);
    drain();
    return std::move(taken.message);
}

std::vector<Message> SimNode::take_queue(Pid pid) {
    HERALD_ASSERT(up_);
    std::vector<Message> taken;
    const auto it = queues_.find(pid);
    if (it == queues_.end()) return taken;
    for (Queued& q : it->second) taken.push_back(std::move(q.message));
    queues_.erase(it);
    return taken;
}

// EngineSet::apply's driver: carries each kind of effect out in the simulation.
class SimNode::Carrier {
public:
    explicit Carrier(SimNode& node) : node_(node), sim_(node.sim_) {}

    void trace(const proto::TraceEffect& t) {
        sim_.engine_trace(node_, node_.engines_->at(t.engine).name(), t);
    }
    void send(proto::SendEffect& s, const proto::Effects& out) {
        using Kind = proto::Destination::Kind;
        switch (s.to.kind) {
            case Kind::node:
                sim_.send_packet(node_.id_, s.to.node, std::move(s).take());
                return;
            case Kind::address:  // The simulator's address handles are node ids.
                sim_.send_packet(node_.id_, NodeId{s.to.address}, std::move(s).take());
                return;
            case Kind::broadcast:  // Every other node of the network hears it.
                for (std::size_t i = 0; i < sim_.node_count(); ++i) {
                    const NodeId to = sim_.node_at(i).id();
                    if (to != node_.id_) sim_.send_packet(node_.id_, to, s.copy());
                }
                return;
            case Kind::multicast:  // A group by value reaches the up nodes that joined it.
                if (!s.to.group.empty()) {
                    for (std::size_t i = 0; i < sim_.node_count(); ++i) {
                        const SimNode& to = sim_.node_at(i);
                        if (to.id() != node_.id_ && to.joined(s.to.group)) {
                            sim_.send_packet(node_.id_, to.id(), s.copy());
                        }
                    }
                    return;
                }
                [[fallthrough]];  // A driver handle: the list.
            case Kind::nodes:
                for (const NodeId to : out.nodes_of(s.to)) {
                    if (to != node_.id_) sim_.send_packet(node_.id_, to, s.copy());
                }
                return;
        }
    }
    void deliver(proto::DeliverEffect& d) {
        if (d.arrival) {  // A process migrated here (its pid's node may be another).
            node_.queues_[d.message.target];
            sim_.workload().on_arrived(node_, d.message.target, d.message.body);
            return;
        }
        auto& queue = node_.queues_[d.message.target];
        queue.push_back({d.engine, std::move(d.message)});
        sim_.workload().on_delivered(node_, queue.back().message);
    }
    void membership(const proto::MembershipEffect& m) {
        // Joins and leaves of one group alternate, starting with a join.
        const bool changed =
            m.join ? node_.joined_.insert(m.group).second : node_.joined_.erase(m.group) == 1;
        HERALD_ASSERT(changed);
    }
    void execute(proto::ExecuteEffect& e) { sim_.workload().on_execute(node_, e.engine, e); }
    void complete(proto::CompleteEffect& c) {
        if (sim_.trace().enabled()) {
            Fields f;
            f.add("op", c.op).add("result", c.result ? "ok" : errc_name(c.result.error().code));
            if (!c.result && !c.result.error().detail.empty()) {
                f.add("detail", "'" + c.result.error().detail + "'");
            }
            sim_.note(node_.label_, "complete", f.text());
        }
        sim_.workload().on_completed(node_, c);
    }
    void timer(const proto::TimerEffect& t) { node_.carry_out_timer(t); }
    void persist(proto::EngineSlot slot, std::uint64_t token,
                 std::span<proto::PersistEffect> parts) {
        node_.persist(slot, token, parts);
    }

private:
    SimNode& node_;
    Simulation& sim_;
};

void SimNode::drain() {
    HERALD_ASSERT(in_input_);
    // Every input is a batch of its own here: engines send what they held back at once.
    engines_->on_batch_end(sim_.now(), effects_);
    Carrier carrier(*this);
    proto::EngineSet::apply(effects_, carrier);
    in_input_ = false;
    engines_->check_invariants(findings_);
    for (auto& finding : findings_) sim_.history().invariant(sim_.now(), id(), std::move(finding));
    findings_.clear();
}

void SimNode::carry_out_timer(const proto::TimerEffect& timer) {
    const auto key = std::make_pair(timer.engine, timer.id.value);
    if (timer.cancel) {
        timers_.erase(key);
        return;
    }
    const std::uint64_t generation = ++timer_generation_;
    timers_[key] = Timer{generation};  // Re-setting an id moves it: the old event goes stale.
    sim_.queue().schedule(timer.at, [this, life = life_, slot = timer.engine, id = timer.id.value,
                                     generation] { fire_timer(life, slot, id, generation); });
}

void SimNode::fire_timer(std::uint64_t life, proto::EngineSlot slot, std::uint64_t id,
                         std::uint64_t generation) {
    if (life != life_) return;  // Set by an incarnation that crashed.
    const auto it = timers_.find({slot, id});
    if (it == timers_.end() || it->second.generation != generation) return;  // Moved/cancelled.
    timers_.erase(it);
    HERALD_ASSERT(!in_input_);
    if (sim_.trace().enabled()) {
        sim_.note(label_, "timer",
                  Fields().add("engine", engines_->at(slot).name()).add("id", id).text());
    }
    in_input_ = true;
    engines_->on_timer(slot, proto::TimerId{id}, sim_.now(), effects_);
    drain();
}

void SimNode::persist(proto::EngineSlot slot, std::uint64_t token,
                      std::span<proto::PersistEffect> parts) {
    // The parts of one token are one atomic write with one on_durable (effects.h).
    PendingWrite batch{slot, token, {}};
    for (auto& part : parts) batch.parts.push_back(std::move(part));
    const Duration spread = sim_.options().fsync_max - sim_.options().fsync_min;
    const auto extra = static_cast<std::int64_t>(sim_.disk_random().below(
        static_cast<std::uint64_t>(std::max<std::int64_t>(spread.ns(), 1))));
    // One disk per node: writes become durable in the order they were issued.
    disk_free_ =
        std::max(disk_free_, sim_.now()) + sim_.options().fsync_min + Duration::nanoseconds(extra);
    if (sim_.trace().enabled()) {
        std::string keys;
        for (const auto& part : batch.parts) {
            keys += (keys.empty() ? "" : ",") + std::string(part.erase ? "-" : "") + part.key;
        }
        sim_.note(label_, "persist",
                  Fields()
                      .add("token", batch.token)
                      .add("keys", keys)
                      .add("durable_at", disk_free_)
                      .text());
    }
    writes_.push_back(std::move(batch));
    ++writes_issued_;
    sim_.queue().schedule(disk_free_, [this, life = life_] { finish_write(life); });
}

void SimNode::finish_write(std::uint64_t life) {
    if (life != life_) return;  // The crash decided this write's fate.
    HERALD_ASSERT(!writes_.empty());
    HERALD_ASSERT(!in_input_);
    PendingWrite done = std::move(writes_.front());
    writes_.pop_front();
    apply(done);
    if (sim_.trace().enabled()) {
        sim_.note(label_, "durable", Fields().add("token", done.token).text());
    }
    in_input_ = true;
    engines_->on_durable(done.slot, done.token, Status{}, sim_.now(), effects_);
    drain();
}

void SimNode::apply(const PendingWrite& write) {
    for (const auto& part : write.parts) {
        if (part.erase) {
            const auto it = disk_.find(part.key);
            if (it != disk_.end()) disk_.erase(it);
        } else {
            disk_[part.key] = part.value;
        }
    }
}

EngineStats SimNode::stats() const {
    EngineStats total = past_stats_;
    if (engines_) total += engines_->counters();
    return total;
}

}  // namespace herald::sim

// SimNode implementation. Layer: sim.
#include "sim/sim_node.h"

#include <algorithm>

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
    for (std::size_t slot = 0; slot < factories_.size(); ++slot) {
        // Each engine of each incarnation gets its own stream, so that one engine's draws
        // never shift another's.
        const std::uint64_t offset = id_.value * 4096 + incarnation_ * 16 + slot;
        randoms_.push_back(
            std::make_unique<Random>(make_stream(sim_.seed(), Stream::engine_base, offset)));
        engines_.push_back(
            factories_[slot](EngineContext{id_, incarnation_, *randoms_.back(), disk_}));
        HERALD_ASSERT(engines_.back() != nullptr);
    }
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
    if (wipe) disk_.clear();
    for (const auto& engine : engines_) past_stats_ += engine->stats();
    engines_.clear();
    randoms_.clear();
    timers_.clear();
    queues_.clear();
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

HostedEngine* SimNode::engine(std::size_t slot) {
    HERALD_ASSERT(up_);
    HERALD_ASSERT(slot < engines_.size());
    return engines_[slot].get();
}

void SimNode::on_packet(NodeId from, const wire::Packet& packet) {
    HERALD_ASSERT(up_);
    HERALD_ASSERT(!in_input_);
    for (std::size_t slot = 0; slot < engines_.size(); ++slot) {
        if (!engines_[slot]->handles(packet.header.kind)) continue;
        in_input_ = true;
        engines_[slot]->on_packet(from, packet, sim_.now(), effects_);
        drain(slot);
        return;
    }
    sim_.note(label_, "net_drop",
              Fields()
                  .add("reason", "no_engine")
                  .add("kind", wire::packet_kind_name(packet.header.kind))
                  .text());
}

void SimNode::command(std::size_t slot, const Command& command) {
    HERALD_ASSERT(!in_input_);
    HostedEngine* target = engine(slot);
    in_input_ = true;
    command(*target, effects_);
    drain(slot);
}

std::size_t SimNode::queued(Pid pid) const {
    const auto it = queues_.find(pid);
    return it == queues_.end() ? 0 : it->second.size();
}

std::optional<Message> SimNode::consume(Pid pid, std::span<const Pid> from) {
    HERALD_ASSERT(up_);
    const auto it = queues_.find(pid);
    if (it == queues_.end()) return std::nullopt;
    auto& queue = it->second;
    const auto found = std::find_if(queue.begin(), queue.end(), [&](const Queued& q) {
        return from.empty() || std::find(from.begin(), from.end(), q.message.source) != from.end();
    });
    if (found == queue.end()) return std::nullopt;
    Queued taken = std::move(*found);
    queue.erase(found);
    command(taken.slot,
            [&](HostedEngine& e, proto::Effects& out) { e.on_consumed(pid, 1, sim_.now(), out); });
    return std::move(taken.message);
}

void SimNode::drain(std::size_t slot) {
    // Effects are carried out kind by kind (Effects keeps no order across kinds): a delivery
    // is recorded before a completion of the same input, so "delivered" precedes "done".
    const std::string_view name = engines_[slot]->name();
    for (const auto& t : effects_.traces) sim_.engine_trace(*this, name, t);
    for (auto& s : effects_.sends) sim_.send_packet(id_, s.to, std::move(s).take());
    for (auto& d : effects_.deliveries) {
        HERALD_ASSERT(d.message.target.node == id_);
        auto& queue = queues_[d.message.target];
        queue.push_back({slot, std::move(d.message)});
        sim_.workload().on_delivered(*this, queue.back().message);
    }
    for (const auto& e : effects_.executions) sim_.workload().on_execute(*this, slot, e);
    for (const auto& c : effects_.completions) {
        if (sim_.trace().enabled()) {
            Fields f;
            f.add("op", c.op).add("result", c.result ? "ok" : errc_name(c.result.error().code));
            if (!c.result && !c.result.error().detail.empty()) {
                f.add("detail", "'" + c.result.error().detail + "'");
            }
            sim_.note(label_, "complete", f.text());
        }
        sim_.workload().on_completed(*this, c);
    }
    for (const auto& t : effects_.timers) carry_out_timer(slot, t);
    if (!effects_.persists.empty()) persist(slot, effects_.persists);
    effects_.clear();
    in_input_ = false;
}

void SimNode::carry_out_timer(std::size_t slot, const proto::TimerEffect& timer) {
    const auto key = std::make_pair(slot, timer.id.value);
    if (timer.cancel) {
        timers_.erase(key);
        return;
    }
    const std::uint64_t generation = ++timer_generation_;
    timers_[key] = Timer{generation};  // Re-setting an id moves it: the old event goes stale.
    sim_.queue().schedule(timer.at, [this, life = life_, slot, id = timer.id.value, generation] {
        fire_timer(life, slot, id, generation);
    });
}

void SimNode::fire_timer(std::uint64_t life, std::size_t slot, std::uint64_t id,
                         std::uint64_t generation) {
    if (life != life_) return;  // Set by an incarnation that crashed.
    const auto it = timers_.find({slot, id});
    if (it == timers_.end() || it->second.generation != generation) return;  // Moved/cancelled.
    timers_.erase(it);
    HERALD_ASSERT(!in_input_);
    if (sim_.trace().enabled()) {
        sim_.note(label_, "timer",
                  Fields().add("engine", engines_[slot]->name()).add("id", id).text());
    }
    in_input_ = true;
    engines_[slot]->on_timer(proto::TimerId{id}, sim_.now(), effects_);
    drain(slot);
}

void SimNode::persist(std::size_t slot, std::vector<proto::PersistEffect>& writes) {
    // Effects that share a token are one atomic write with one on_durable (effects.h).
    std::vector<PendingWrite> batches;
    for (auto& w : writes) {
        auto it = std::find_if(batches.begin(), batches.end(),
                               [&](const PendingWrite& b) { return b.token == w.token; });
        if (it == batches.end()) {
            batches.push_back({slot, w.token, {}});
            it = batches.end() - 1;
        }
        it->parts.push_back(std::move(w));
    }
    for (auto& batch : batches) {
        const Duration spread = sim_.options().fsync_max - sim_.options().fsync_min;
        const auto extra = static_cast<std::int64_t>(sim_.disk_random().below(
            static_cast<std::uint64_t>(std::max<std::int64_t>(spread.ns(), 1))));
        // One disk per node: writes become durable in the order they were issued.
        disk_free_ = std::max(disk_free_, sim_.now()) + sim_.options().fsync_min +
                     Duration::nanoseconds(extra);
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
        sim_.queue().schedule(disk_free_, [this, life = life_] { finish_write(life); });
    }
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
    engines_[done.slot]->on_durable(done.token, sim_.now(), effects_);
    drain(done.slot);
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
    for (const auto& engine : engines_) total += engine->stats();
    return total;
}

}  // namespace herald::sim

// EngineSet implementation. Layer: proto.
#include "proto/engine_set.h"

#include <utility>

namespace herald::proto {

EngineSlot EngineSet::add(std::unique_ptr<Engine> engine) {
    HERALD_ASSERT(engine != nullptr);
    HERALD_ASSERT(engines_.size() < engines_max);
    const auto slot = static_cast<EngineSlot>(engines_.size());
    const wire::Protocol protocol = engine->protocol();
    for (const auto& other : engines_) HERALD_ASSERT(other->protocol() != protocol);
    for (const auto& info : wire::kind_table) {
        if (info.protocol != protocol) continue;
        auto& entry = by_kind_[static_cast<std::uint8_t>(info.kind)];
        HERALD_ASSERT(!entry.has_value());  // One owner per kind.
        entry = slot;
    }
    engines_.push_back(std::move(engine));
    return slot;
}

std::optional<EngineSlot> EngineSet::owner(wire::PacketKind kind) const {
    return by_kind_[static_cast<std::uint8_t>(kind)];
}

bool EngineSet::on_packet(NodeId from, wire::Packet& packet, Time now, Effects& out) {
    const auto slot = owner(packet.header.kind);
    if (!slot) return false;
    out.engine = *slot;
    engines_[*slot]->on_packet(from, packet, now, out);
    settle(now, out);
    return true;
}

void EngineSet::on_timer(EngineSlot slot, TimerId timer, Time now, Effects& out) {
    run<Engine>(slot, now, out, [&](Engine& e, Effects& o) { e.on_timer(timer, now, o); });
}

void EngineSet::on_durable(EngineSlot slot, std::uint64_t token, const Status& status, Time now,
                           Effects& out) {
    run<Engine>(slot, now, out,
                [&](Engine& e, Effects& o) { e.on_durable(token, status, now, o); });
}

void EngineSet::on_consumed(EngineSlot slot, Pid receiver, std::uint32_t count, Time now,
                            Effects& out) {
    run<Engine>(slot, now, out,
                [&](Engine& e, Effects& o) { e.on_consumed(receiver, count, now, o); });
}

void EngineSet::on_process_exited(Pid pid, Time now, Effects& out) {
    for (std::size_t slot = 0; slot < engines_.size(); ++slot) {
        run<Engine>(static_cast<EngineSlot>(slot), now, out,
                    [&](Engine& e, Effects& o) { e.on_process_exited(pid, now, o); });
    }
}

void EngineSet::on_unreachable(NodeId node, Time now, Effects& out) {
    for (std::size_t slot = 0; slot < engines_.size(); ++slot) {
        run<Engine>(static_cast<EngineSlot>(slot), now, out,
                    [&](Engine& e, Effects& o) { e.on_unreachable(node, now, o); });
    }
}

void EngineSet::check_invariants(std::vector<std::string>& findings) const {
    for (const auto& engine : engines_) engine->check_invariants(findings);
}

void EngineSet::on_batch_end(Time now, Effects& out) {
    for (std::size_t slot = 0; slot < engines_.size(); ++slot) {
        run<Engine>(static_cast<EngineSlot>(slot), now, out,
                    [&](Engine& e, Effects& o) { e.on_batch_end(now, o); });
    }
}

void EngineSet::settle(Time now, Effects& out) {
    // Sends to this node leave the list (the others keep their order) and go to their owner;
    // what that causes is appended and settled by the same loop. Bounded as the engines are:
    // each packet handled causes at most a few more, and requests settle in a few rounds.
    std::size_t kept = 0;
    for (std::size_t i = 0; i < out.sends.size(); ++i) {
        SendEffect& send = out.sends[i];
        const bool to_self = send.to.kind == Destination::Kind::node && send.to.node == self_;
        if (!to_self) {
            if (kept != i) out.sends[kept] = std::move(send);
            ++kept;
            continue;
        }
        wire::Packet packet = std::move(send).take();  // The receiver gets a body of its own.
        ++loopback_packets_;
        const auto slot = owner(packet.header.kind);
        HERALD_ASSERT(slot.has_value());  // Engines send only kinds of this node's protocols.
        out.engine = *slot;
        engines_[*slot]->on_packet(self_, packet, now, out);
    }
    out.sends.resize(kept);
}

EngineCounters EngineSet::counters() const {
    EngineCounters total;
    for (const auto& engine : engines_) total += engine->totals();
    return total;
}

}  // namespace herald::proto

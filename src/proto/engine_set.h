// EngineSet: the engines of one node, as both drivers host them. It owns the engines, maps each
// packet kind to its one owner (from wire::kind_table), runs inputs with the effects tagged by
// engine, hands packets an engine sends to this node straight back in (loopback, done here
// once for every driver), and carries effects out through a driver in one documented order.
// Layer: proto. Single-threaded, like the engines. Contract: docs/engines.md.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "core/assert.h"
#include "proto/effects.h"
#include "proto/engine.h"
#include "wire/kinds.h"

namespace herald::proto {

class EngineSet {
public:
    static constexpr std::size_t engines_max = wire::protocols_max;

    explicit EngineSet(NodeId self) : self_(self) {}

    // Adds an engine and takes the kinds of its protocol; asserts that no engine of this set
    // speaks that protocol already. Returns its slot (0, 1, ... in the order added).
    EngineSlot add(std::unique_ptr<Engine> engine);

    [[nodiscard]] std::size_t size() const { return engines_.size(); }
    [[nodiscard]] NodeId self() const { return self_; }
    [[nodiscard]] Engine& at(EngineSlot slot) const {
        HERALD_ASSERT(slot < engines_.size());
        return *engines_[slot];
    }
    // The engine in `slot` as its concrete type (checked once, on a cold path).
    template <class E>
    [[nodiscard]] E& get(EngineSlot slot) const {
        auto* engine = dynamic_cast<E*>(&at(slot));
        HERALD_ASSERT(engine != nullptr);
        return *engine;
    }
    // The slot of the engine that owns `kind`; nullopt when no engine here speaks it.
    [[nodiscard]] std::optional<EngineSlot> owner(wire::PacketKind kind) const;
    // Every engine's check_invariants, in slot order.
    void check_invariants(std::vector<std::string>& findings) const;

    // Runs `input(engine, out)` on the engine in `slot`, then settles loopback: packets sent to
    // this node go to their owner at once, in the order sent, until none is left, so drivers
    // never see a send to their own node.
    template <class E, class F>
    void run(EngineSlot slot, Time now, Effects& out, F&& input) {
        out.engine = slot;
        input(get_fast<E>(slot), out);
        settle(now, out);
    }

    // Settles loopback after an input given to an engine directly rather than through run()
    // (the engines' unit-test harnesses): what the engines sent to this node goes back in.
    void settle(Time now, Effects& out);

    // Shared inputs, each followed by loopback. on_packet returns false (and does nothing)
    // when no engine owns the packet's kind: the driver counts the drop.
    bool on_packet(NodeId from, wire::Packet& packet, Time now, Effects& out);
    void on_timer(EngineSlot slot, TimerId timer, Time now, Effects& out);
    void on_durable(EngineSlot slot, std::uint64_t token, const Status& status, Time now,
                    Effects& out);
    void on_consumed(EngineSlot slot, Pid receiver, std::uint32_t count, Time now, Effects& out);
    void on_process_exited(Pid pid, Time now, Effects& out);
    void on_unreachable(NodeId node, Time now, Effects& out);
    void on_batch_end(Time now, Effects& out);
    // Gives each engine its durable records: `scan(prefix)` returns those under the prefix.
    template <class Scan>
    void restore(Scan&& scan) {
        for (auto& engine : engines_) {
            const auto prefix = engine->store_prefix();
            if (prefix.empty()) continue;
            const std::vector<StoredRecord> records = scan(prefix);
            engine->on_restore(records);
        }
    }

    // Carries out `out` through `driver` in THE effect order (docs/engines.md), then clears it:
    // traces, group memberships, sends, deliveries, executions, completions, timers, then the
    // durable writes, one call per token with the parts of that write. The driver provides
    //   trace(const TraceEffect&), membership(const MembershipEffect&),
    //   send(SendEffect&, const Effects&), deliver(DeliverEffect&),
    //   execute(ExecuteEffect&), complete(CompleteEffect&), timer(const TimerEffect&),
    //   persist(EngineSlot, std::uint64_t token, std::span<PersistEffect> parts).
    template <class Driver>
    static void apply(Effects& out, Driver& driver);

    // Counters summed over the engines, and packets that went round through loopback.
    [[nodiscard]] EngineCounters counters() const;
    [[nodiscard]] std::uint64_t loopback_packets() const { return loopback_packets_; }

private:
    template <class E>
    [[nodiscard]] E& get_fast(EngineSlot slot) const {
        HERALD_ASSERT(slot < engines_.size());
        if constexpr (std::is_same_v<E, Engine>) {
            return *engines_[slot];
        } else {
            return static_cast<E&>(*engines_[slot]);  // Checked by get<E>() at the service.
        }
    }

    NodeId self_;
    std::vector<std::unique_ptr<Engine>> engines_;
    std::array<std::optional<EngineSlot>, 256> by_kind_{};
    std::uint64_t loopback_packets_ = 0;
};

template <class Driver>
void EngineSet::apply(Effects& out, Driver& driver) {
    for (const auto& trace : out.traces) driver.trace(trace);
    for (const auto& membership : out.memberships) driver.membership(membership);
    for (auto& send : out.sends) driver.send(send, out);
    for (auto& delivery : out.deliveries) driver.deliver(delivery);
    for (auto& execution : out.executions) driver.execute(execution);
    for (auto& completion : out.completions) driver.complete(completion);
    for (const auto& timer : out.timers) driver.timer(timer);
    std::span<PersistEffect> persists(out.persists);
    std::array<std::uint64_t, engines_max> last_token{};
    while (!persists.empty()) {
        std::size_t n = 1;
        while (n < persists.size() && persists[n].token == persists[0].token) ++n;
        // One write per token: an engine's tokens grow, and the parts of one are adjacent.
        const EngineSlot engine = persists[0].engine;
        HERALD_ASSERT(engine < engines_max);
        HERALD_ASSERT(persists[0].token > last_token[engine]);
        last_token[engine] = persists[0].token;
        driver.persist(persists[0].engine, persists[0].token, persists.first(n));
        persists = persists.subspan(n);
    }
    out.clear();
}

}  // namespace herald::proto

// HostedEngine: the small adapter through which a SimNode hosts any protocol engine (direct
// now; rpc, group and ordering later). The node routes packets by kind, fires the engine's
// timers, reports durable writes and consumed messages, and drains its Effects. Adding an
// engine to the simulator = one adapter class plus one factory. Layer: sim.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/random.h"
#include "core/time.h"
#include "proto/effects.h"
#include "wire/packet.h"

namespace herald::sim {

// A node's disk: survives crashes unless the scenario wipes it.
using DurableStore = std::map<std::string, Bytes, std::less<>>;

// What an engine gets when its node (re)starts. `random` and `disk` outlive the engine.
struct EngineContext {
    NodeId node;
    std::uint32_t incarnation = 0;
    Random& random;
    const DurableStore& disk;  // State written by earlier incarnations (read at startup).
};

// Counters every engine can report; summed over incarnations for the run summary.
struct EngineStats {
    std::uint64_t packets_sent = 0;
    std::uint64_t retransmits = 0;
    std::uint64_t duplicates_dropped = 0;
    std::uint64_t malformed_dropped = 0;

    EngineStats& operator+=(const EngineStats& o) {
        packets_sent += o.packets_sent;
        retransmits += o.retransmits;
        duplicates_dropped += o.duplicates_dropped;
        malformed_dropped += o.malformed_dropped;
        return *this;
    }
};

class HostedEngine {
public:
    virtual ~HostedEngine() = default;

    // Short stable name for traces ("direct", "rpc").
    [[nodiscard]] virtual std::string_view name() const = 0;
    // Whether packets of `kind` are this engine's. Each kind belongs to at most one engine.
    [[nodiscard]] virtual bool handles(wire::PacketKind kind) const = 0;

    virtual void on_packet(NodeId from, const wire::Packet& packet, Time now,
                           proto::Effects& out) = 0;
    virtual void on_timer(proto::TimerId timer, Time now, proto::Effects& out) = 0;
    // A PersistEffect with this token is durable. Engines that never persist keep the default,
    // which treats the call as a simulator bug.
    virtual void on_durable(std::uint64_t token, Time now, proto::Effects& out);
    // The process took `count` messages this engine delivered out of its queue.
    virtual void on_consumed(Pid receiver, std::uint32_t count, Time now, proto::Effects& out);

    [[nodiscard]] virtual EngineStats stats() const { return {}; }
};

using EngineFactory = std::function<std::unique_ptr<HostedEngine>(const EngineContext&)>;

}  // namespace herald::sim

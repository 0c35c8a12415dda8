// Engine: the one interface through which both drivers (the simulator's SimNode and the
// runtime's Node) host a protocol engine. Inputs every engine shares are virtual here; an
// engine's own application commands (send, call, join, ...) stay methods of the concrete
// engine, called by its driver-side service. Layer: proto. Sans-I/O, single-threaded.
// The whole contract, with the order in which effects are carried out: docs/engines.md.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/random.h"
#include "core/result.h"
#include "core/time.h"
#include "proto/effects.h"
#include "wire/kinds.h"
#include "wire/packet.h"

namespace herald::proto {

// What a node gives each engine it starts. `random` outlives the engine.
struct EngineContext {
    NodeId self;
    std::uint32_t incarnation = 0;  // >= 1, and greater than every earlier one of this node.
    Random& random;
    Time started;  // The node's `now` when this incarnation started.
    // Wall clock = `now` + wall_offset (ns since the Unix epoch): what a post time shows.
    Duration wall_offset{};
};

// A durable record as the store returns it: key, value.
using StoredRecord = std::pair<std::string, Bytes>;

// Counters every engine reports; the simulator sums them over incarnations.
struct EngineCounters {
    std::uint64_t packets_sent = 0;
    std::uint64_t retransmits = 0;
    std::uint64_t duplicates_dropped = 0;
    std::uint64_t malformed_dropped = 0;

    EngineCounters& operator+=(const EngineCounters& o) {
        packets_sent += o.packets_sent;
        retransmits += o.retransmits;
        duplicates_dropped += o.duplicates_dropped;
        malformed_dropped += o.malformed_dropped;
        return *this;
    }
};

class Engine {
public:
    virtual ~Engine() = default;

    // The protocol this engine speaks: its packet kinds are that protocol's rows of
    // wire::kind_table. One engine per protocol on a node.
    [[nodiscard]] virtual wire::Protocol protocol() const = 0;
    [[nodiscard]] std::string_view name() const { return wire::protocol_name(protocol()); }

    // The key prefix of this engine's durable records ("rpc/"); empty when it keeps none.
    // Prefixes of the engines of one node do not overlap.
    [[nodiscard]] virtual std::string_view store_prefix() const { return {}; }
    // Before any other input: the records under store_prefix() that earlier incarnations made
    // durable. Records that do not decode are counted and skipped, never asserted on.
    virtual void on_restore(std::span<const StoredRecord> records) { (void)records; }

    // A packet of one of this engine's kinds arrived from node `from` (this node, for packets
    // the engines sent to themselves). The engine may take the packet's body. Bad packets are
    // counted and dropped.
    virtual void on_packet(NodeId from, wire::Packet& packet, Time now, Effects& out) = 0;
    // A timer this engine set is due. A timer that fires after it stopped mattering is ignored.
    virtual void on_timer(TimerId timer, Time now, Effects& out) = 0;

    // A local process exited: the engine releases what it held for it.
    virtual void on_process_exited(Pid pid, Time now, Effects& out) {
        (void)pid, (void)now, (void)out;
    }
    // Packets of this node's engines to `node` could not be sent: the driver knows no address
    // for it (never heard from, or its address was taken by another node or evicted from a
    // full peer table). Engines give up what they would only resend to it (e.g. the RPC
    // server's response retransmissions, which the client's probes can replace); they keep
    // what a later contact from that node needs. At most once per node per batch.
    virtual void on_unreachable(NodeId node, Time now, Effects& out) {
        (void)node, (void)now, (void)out;
    }
    // The application took `count` messages this engine delivered to `receiver` out of its
    // queue.
    virtual void on_consumed(Pid receiver, std::uint32_t count, Time now, Effects& out) {
        (void)receiver, (void)count, (void)now, (void)out;
    }
    // The write of every PersistEffect with `token` ended: durable when `status` is ok;
    // otherwise nothing of it is on disk and the operations waiting on it must fail with a
    // clear error. Engines that never persist keep the default, which asserts.
    virtual void on_durable(std::uint64_t token, const Status& status, Time now, Effects& out);
    // The driver finished a batch of inputs (runtime: one loop turn, before it flushes the
    // transport; simulator: every input). Engines send what they held back to coalesce, e.g.
    // the direct engine's cumulative acks.
    virtual void on_batch_end(Time now, Effects& out) { (void)now, (void)out; }

    [[nodiscard]] virtual EngineCounters totals() const = 0;

    // Appends a sentence for each invariant of the engine's own state that does not hold now
    // (e.g. more messages in flight than the window allows); nothing when all hold. The
    // simulator asks after every input and reports findings as violations (checker
    // "invariants"); drivers on a hot path never call it.
    virtual void check_invariants(std::vector<std::string>& findings) const { (void)findings; }
};

}  // namespace herald::proto

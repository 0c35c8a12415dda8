// State shared by the two halves of the RPC engine (client calls, server executions): node
// identity, options, counters and the timer-id layout. Layer: proto/rpc.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <utility>

#include "core/assert.h"
#include "core/random.h"
#include "proto/effects.h"
#include "proto/rpc/rpc_options.h"

namespace herald::proto::rpc {

// A durable write a handler asks for, committed atomically with its reply (docs/rpc.md,
// "What is guaranteed"). Keys starting with "rpc/" are reserved for the reply cache.
struct HandlerWrite {
    std::string key;
    Bytes value;
    bool erase = false;
};

struct RpcCounters {
    // Packets.
    std::uint64_t packets_sent = 0, packets_received = 0, malformed_dropped = 0;
    std::uint64_t stale_dropped = 0;  // Duplicates of finished calls, old incarnations, floors.
    // Client side.
    std::uint64_t calls_started = 0, calls_succeeded = 0, calls_failed = 0;
    std::uint64_t request_retransmits = 0, probes = 0;
    // Server side.
    std::uint64_t executions = 0;            // Handler runs started.
    std::uint64_t duplicates_discarded = 0;  // Duplicates of a call in progress.
    std::uint64_t duplicates_answered = 0;   // Duplicates of a finished call, answered from cache.
    std::uint64_t busy_refusals = 0;         // Requests refused: cache or executions full.
    std::uint64_t crashed_reported = 0;      // Requests answered with server_crashed.
    std::uint64_t response_retransmits = 0, results_ignored = 0;
    // Done responses no longer resent because no address was known for the client's node.
    std::uint64_t responses_abandoned = 0;
    std::uint64_t bad_records = 0;      // Durable records that failed to decode.
    std::uint64_t startup_dropped = 0;  // Requests dropped during the startup grace (rule 18).
    std::uint64_t store_failures = 0;   // Durable writes that failed (on_durable with an error).
    // Admission (docs/rpc.md): requests of unknown client nodes answered with a cookie (no
    // valid one), and new client nodes refused because their address has clients_per_address_max.
    std::uint64_t cookies_sent = 0, address_refusals = 0;
    std::uint64_t cookie_retries = 0;  // Client side: requests resent with a server's cookie.
    // Gauges.
    std::uint64_t calls_outstanding = 0, executing = 0, cache_entries = 0, cache_bytes = 0;
    std::uint64_t cache_clients = 0;
    std::uint64_t client_bytes = 0;  // Estimated heap bytes of the client records (core/memory.h).
};

// Where a packet came from, as the driver knows it (docs/rpc.md, "Admission"). The address is
// an opaque key of the sender's transport address (the runtime: a keyed hash of it), 0 when the
// driver gives none (loopback, the simulator, unit tests): then no admission rule applies.
struct Source {
    std::uint64_t address = 0;
    bool proven = false;  // The address is proven already (a tcp connection's handshake).
};

// Timer ids: the top two bits say which half owns the timer, the rest is the call's seq
// (client) or the execution id (server).
namespace timer_tag {
inline constexpr std::uint64_t shift = 62;
inline constexpr std::uint64_t client = std::uint64_t{1} << shift;
inline constexpr std::uint64_t server = std::uint64_t{2} << shift;
inline constexpr std::uint64_t sweep = std::uint64_t{3} << shift;
inline constexpr std::uint64_t mask = (std::uint64_t{1} << shift) - 1;
}  // namespace timer_tag

struct Context {
    Context(NodeId self_node, std::uint32_t self_incarnation, const RpcOptions& rpc_options,
            Random& rng)
        : self(self_node), incarnation(self_incarnation), options(rpc_options), random(rng) {}

    // Sends a packet; one to this node itself (a call to a local server) never leaves the
    // node: the EngineSet hands it straight back (loopback, docs/engines.md).
    void send(NodeId to, wire::Packet packet, Effects& out) {
        ++counters.packets_sent;
        out.send(to, std::move(packet));
    }

    // `wait` stretched by a random factor in [1, 1 + jitter].
    [[nodiscard]] Duration jittered(Duration wait) {
        if (options.jitter <= 0) return wait;
        const double factor = 1.0 + options.jitter * random.unit();
        return Duration::nanoseconds(static_cast<std::int64_t>(double(wait.ns()) * factor));
    }

    [[nodiscard]] std::uint64_t token() { return next_token++; }

    NodeId self;
    std::uint32_t incarnation;
    const RpcOptions& options;
    Random& random;
    RpcCounters counters;
    std::uint64_t next_token = 1;
};

}  // namespace herald::proto::rpc

// The engine contract (DESIGN.md §2): engines take inputs (packet, timer, command, `now`) and
// record outputs here. Drivers (runtime, simulator, unit tests) carry the outputs out.
// Layer: proto. No I/O, clocks, threads or global randomness anywhere in proto.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/message.h"
#include "core/result.h"
#include "core/time.h"
#include "wire/packet.h"

namespace herald::proto {

// Chosen by the driver for each application command; echoed in the completion.
using OperationId = std::uint64_t;

// Chosen by the engine. Drivers keep one timer set per engine, so ids need only be unique
// within one engine. Setting an id that is already set moves it.
struct TimerId {
    std::uint64_t value = 0;
    constexpr auto operator<=>(const TimerId&) const = default;
};

struct SendEffect {
    NodeId to;
    wire::Packet packet;
    // When set, the packet's body (packet.body is then empty): the sender's buffer, shared with
    // every transmission instead of copied into each (issue 7). parts() and take() read either.
    std::shared_ptr<const Bytes> shared_body;

    // The packet to encode, its body wherever it is.
    [[nodiscard]] wire::PacketParts parts() const {
        return {packet.header, packet.extensions,
                shared_body ? ByteView(*shared_body) : ByteView(packet.body)};
    }
    // The packet with a body of its own, for drivers that keep packets (simulator, tests).
    [[nodiscard]] wire::Packet take() && {
        if (shared_body) {
            packet.body = *shared_body;
            shared_body.reset();
        }
        return std::move(packet);
    }
};

struct DeliverEffect {
    Message message;  // message.target is a process on this node.
};

// An RPC request for a local server process to execute (the driver runs the handler and
// reports back through the RPC engine's on_result).
struct ExecuteEffect {
    std::uint64_t execution = 0;  // Engine-chosen id for on_result.
    Pid client;
    Pid server;
    std::string operation;
    Bytes request;
};

struct CompleteEffect {
    OperationId op = 0;
    Result<Bytes> result;  // Response body for RPC; empty for sends and pings.
};

struct TimerEffect {
    TimerId id;
    Time at;
    bool cancel = false;
};

// Write `value` under `key` durably (or erase it), then call the engine's on_durable(token).
// Drivers apply persist effects in the order recorded. Effects that share a token form ONE
// atomic write (all or none survive a crash; e.g. store::Store::apply) and get ONE on_durable
// call: the RPC engine commits a handler's state together with its reply this way.
struct PersistEffect {
    std::uint64_t token = 0;
    std::string key;
    Bytes value;
    bool erase = false;
};

struct TraceEffect {
    Time at;
    std::string_view event;  // Stable snake_case name; must point at static storage.
    std::string fields;      // "key=value key=value".
};

// Records outputs in order of kind. Drivers drain the vectors after each input, then clear().
class Effects {
public:
    void send(NodeId to, wire::Packet packet, std::shared_ptr<const Bytes> shared_body = {}) {
        sends.push_back({to, std::move(packet), std::move(shared_body)});
    }
    void deliver(Message message) { deliveries.push_back({std::move(message)}); }
    void execute(ExecuteEffect e) { executions.push_back(std::move(e)); }
    void complete(OperationId op, Result<Bytes> result) {
        completions.push_back({op, std::move(result)});
    }
    void set_timer(TimerId id, Time at) { timers.push_back({id, at, false}); }
    void cancel_timer(TimerId id) { timers.push_back({id, Time::zero(), true}); }
    void persist(std::uint64_t token, std::string key, Bytes value) {
        persists.push_back({token, std::move(key), std::move(value), false});
    }
    void erase(std::uint64_t token, std::string key) {
        persists.push_back({token, std::move(key), {}, true});
    }
    void trace(Time at, std::string_view event, std::string fields = {}) {
        if (tracing) traces.push_back({at, event, std::move(fields)});
    }

    [[nodiscard]] bool empty() const {
        return sends.empty() && deliveries.empty() && executions.empty() && completions.empty() &&
               timers.empty() && persists.empty() && traces.empty();
    }
    void clear() {
        sends.clear();
        deliveries.clear();
        executions.clear();
        completions.clear();
        timers.clear();
        persists.clear();
        traces.clear();
    }

    bool tracing = false;  // Drivers turn this on when someone reads traces (sim, debug logs).
    std::vector<SendEffect> sends;
    std::vector<DeliverEffect> deliveries;
    std::vector<ExecuteEffect> executions;
    std::vector<CompleteEffect> completions;
    std::vector<TimerEffect> timers;
    std::vector<PersistEffect> persists;
    std::vector<TraceEffect> traces;
};

}  // namespace herald::proto

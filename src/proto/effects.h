// The engine contract (DESIGN.md §2): engines take inputs (packet, timer, command, `now`) and
// record outputs here. Drivers (runtime, simulator, unit tests) carry the outputs out.
// Layer: proto. No I/O, clocks, threads or global randomness anywhere in proto.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
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

// Which engine of a node recorded an effect: its slot in the node's EngineSet. Drivers keep
// timers and durable writes per engine with it, and route results back to that engine.
using EngineSlot = std::uint8_t;

// An IP multicast group by value: how an engine names a low-level group address without I/O
// (docs/groups.md "Addresses"). family 4: the IPv4 address in address[0..4); family 6: all 16
// bytes; network byte order. family 0 names no group.
struct IpGroup {
    std::uint8_t family = 0;
    std::array<std::uint8_t, 16> address{};
    std::uint16_t port = 0;

    [[nodiscard]] bool empty() const { return family == 0; }
    // A multicast address of its family (IPv4 224.0.0.0/4, IPv6 ff00::/8) and a port.
    [[nodiscard]] bool valid() const {
        if (port == 0) return false;
        if (family == 4) return (address[0] & 0xF0) == 0xE0;
        return family == 6 && address[0] == 0xFF;
    }
    auto operator<=>(const IpGroup&) const = default;
};

// Where a packet goes: the lecture's two-level addressing. The high level (a node, a group)
// is the engine's; the low level (an address, a multicast group, the broadcast address, a list
// of hosts) is what the driver's transport sends to.
struct Destination {
    enum class Kind : std::uint8_t {
        node,       // One node, by id: the driver knows its address (peer table).
        address,    // A driver-chosen address handle whose node is not known yet (ping a URL).
        multicast,  // A driver-registered IP multicast group (handle), one datagram for all;
                    // drivers without multicast send to each node of `nodes` instead.
        broadcast,  // The broadcast address; drivers without broadcast send to each of `nodes`.
        nodes,      // Each node of the list (unicast fan-out).
    };
    Kind kind = Kind::node;
    NodeId node;                   // Kind::node.
    std::uint32_t address = 0;     // Kind::address, Kind::multicast: the driver's handle.
    std::uint32_t list_first = 0;  // multicast, broadcast, nodes: Effects::node_lists range.
    std::uint32_t list_count = 0;
    // Kind::multicast with `address` 0: the group by value (the driver registers it to send).
    IpGroup group = {};

    static Destination to_node(NodeId node) { return {Kind::node, node, 0, 0, 0, {}}; }
    static Destination to_address(std::uint32_t handle) {
        return {Kind::address, NodeId{}, handle, 0, 0, {}};
    }
};

struct SendEffect {
    Destination to;
    wire::Packet packet;
    // When set, the packet's body (packet.body is then empty): the sender's buffer, shared with
    // every transmission instead of copied into each (issue 7). parts() and take() read either.
    std::shared_ptr<const Bytes> shared_body;

    // The packet to encode, its body wherever it is.
    [[nodiscard]] wire::PacketParts parts() const {
        return {packet.header, packet.extensions,
                shared_body ? ByteView(*shared_body) : ByteView(packet.body)};
    }
    // A copy with a body of its own, for fan-out in drivers that keep packets.
    [[nodiscard]] wire::Packet copy() const {
        wire::Packet p = packet;
        if (shared_body) p.body = *shared_body;
        return p;
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
    Message message;        // message.target is a process on this node.
    EngineSlot engine = 0;  // Told when the process consumes it (Engine::on_consumed).
    // A process arrived here by migration (docs/migration.md): message.target is its pid
    // (whose node may be another), message.body the application's state blob. The driver
    // creates the process before the deliveries that follow; this is no message.
    bool arrival = false;
};

// An RPC request for a local server process to execute (the driver runs the handler and
// reports back through the RPC engine's on_result).
struct ExecuteEffect {
    std::uint64_t execution = 0;  // Engine-chosen id for on_result.
    Pid client;
    Pid server;
    std::string operation;
    Bytes request;
    EngineSlot engine = 0;  // Its result goes back to this engine.
};

struct CompleteEffect {
    OperationId op = 0;
    Result<Bytes> result;  // Response body for RPC; empty for sends and pings.
};

struct TimerEffect {
    TimerId id;
    Time at;
    bool cancel = false;
    EngineSlot engine = 0;  // Timer ids are unique per engine; (engine, id) per node.
};

// Write `value` under `key` durably (or erase it), then call the engine's on_durable(token,
// status). Drivers apply persist effects in the order recorded. Effects that share a token are
// recorded next to each other and form ONE atomic write (all or none survive a crash; e.g.
// store::Store::apply) with ONE on_durable call: the RPC engine commits a handler's state
// together with its reply this way. A write that fails reaches on_durable with the error.
// `answers` (0: none) names an operation of this engine whose outcome is decided by this write:
// if the write is durable, the engine completes it with an empty body (a local persistent send,
// docs/mailboxes.md M6). A driver may then complete that operation itself as soon as the write
// is durable, and drop the engine's own completion of it (the runtime does, docs/mailboxes.md
// "Completion of a persistent send"); on a failed write the engine's completion is the answer.
struct PersistEffect {
    std::uint64_t token = 0;
    std::string key;
    Bytes value;
    bool erase = false;
    EngineSlot engine = 0;
    OperationId answers = 0;
};

// Receive (join) or stop receiving (leave) the datagrams of IP multicast group `group`: the
// engine hosts members of a group with that address now, or no longer. Joins and leaves of one
// group alternate, starting with a join. A driver that cannot join counts it; the engine's
// unicast retransmissions still reach the node.
struct MembershipEffect {
    IpGroup group = {};
    bool join = true;
};

struct TraceEffect {
    Time at;
    std::string_view event;  // Stable snake_case name; must point at static storage.
    std::string fields;      // "key=value key=value".
    EngineSlot engine = 0;
};

// The record buffer source's bounds (Effects::record_key): at most this many spare keys and as
// many spare values kept, none of a capacity above record_spare_bytes_max (a large value is not
// held once written) or of no more than a new buffer's. 256 is a full window of persists in one
// input; at most 1 MiB of values.
inline constexpr std::size_t record_spares_max = 256;
inline constexpr std::size_t record_spare_bytes_max = 4096;

// Records outputs in order of kind; EngineSet::apply carries them out in one documented order
// (docs/engines.md). Drivers clear() after each input. The vectors keep their capacity, so a
// steady stream of inputs does not allocate for effects. `engine` is the slot of the engine
// being run (set by EngineSet); effects that must return to their engine carry it.
class Effects {
public:
    void send(NodeId to, wire::Packet packet, std::shared_ptr<const Bytes> shared_body = {}) {
        sends.push_back({Destination::to_node(to), std::move(packet), std::move(shared_body)});
    }
    void send(Destination to, wire::Packet packet, std::shared_ptr<const Bytes> shared_body = {}) {
        sends.push_back({to, std::move(packet), std::move(shared_body)});
    }
    // A destination that names several nodes: `kind` multicast (with the group's `address`
    // handle), broadcast or nodes; the list is copied into node_lists.
    [[nodiscard]] Destination fan_out(Destination::Kind kind, std::span<const NodeId> list,
                                      std::uint32_t address = 0) {
        Destination d{kind,
                      NodeId{},
                      address,
                      static_cast<std::uint32_t>(node_lists.size()),
                      static_cast<std::uint32_t>(list.size()),
                      IpGroup{}};
        node_lists.insert(node_lists.end(), list.begin(), list.end());
        return d;
    }
    [[nodiscard]] std::span<const NodeId> nodes_of(const Destination& d) const {
        return std::span<const NodeId>(node_lists).subspan(d.list_first, d.list_count);
    }
    void deliver(Message message) { deliveries.push_back({std::move(message), engine, false}); }
    // A process arrived by migration (DeliverEffect::arrival).
    void arrive(Pid pid, Bytes state) {
        Message m;
        m.source = pid;
        m.target = pid;
        m.body = std::move(state);
        deliveries.push_back({std::move(m), engine, true});
    }
    void execute(ExecuteEffect e) {
        e.engine = engine;
        executions.push_back(std::move(e));
    }
    void complete(OperationId op, Result<Bytes> result) {
        completions.push_back({op, std::move(result)});
    }
    void set_timer(TimerId id, Time at) { timers.push_back({id, at, false, engine}); }
    void cancel_timer(TimerId id) { timers.push_back({id, Time::zero(), true, engine}); }
    void persist(std::uint64_t token, std::string key, Bytes value, OperationId answers = 0) {
        persists.push_back({token, std::move(key), std::move(value), false, engine, answers});
    }
    void erase(std::uint64_t token, std::string key) {
        persists.push_back({token, std::move(key), {}, true, engine});
    }
    // The record buffer source: a driver keeps here the key and value buffers that come back
    // once it has handed a persist's record on (keep_record_buffers), and an engine takes one to
    // encode its next record's key or value into (record_key, record_value: empty, with a spare's
    // capacity when there is one, else a new empty buffer), so that a steady stream of persists
    // makes no record buffer of its own. Bounded by record_spares_max and
    // record_spare_bytes_max: a buffer beyond them, or with no more capacity than a new one, is
    // freed at once (on the driver's thread).
    // clear() keeps the spares. Only capacity comes from here, never content: what an engine
    // records is the same whether the driver keeps buffers (the runtime) or not (the simulator).
    [[nodiscard]] std::string record_key() { return take_spare(spare_keys_); }
    [[nodiscard]] Bytes record_value() { return take_spare(spare_values_); }
    void keep_record_buffers(std::string key, Bytes value) {
        keep_spare(spare_keys_, std::move(key));
        keep_spare(spare_values_, std::move(value));
    }
    [[nodiscard]] std::size_t spare_keys() const { return spare_keys_.size(); }
    [[nodiscard]] std::size_t spare_values() const { return spare_values_.size(); }
    void join_group(const IpGroup& group) { memberships.push_back({group, true}); }
    void leave_group(const IpGroup& group) { memberships.push_back({group, false}); }
    void trace(Time at, std::string_view event, std::string fields = {}) {
        if (tracing) traces.push_back({at, event, std::move(fields), engine});
    }

    [[nodiscard]] bool empty() const {
        return sends.empty() && deliveries.empty() && executions.empty() && completions.empty() &&
               timers.empty() && persists.empty() && traces.empty() && memberships.empty();
    }
    void clear() {
        sends.clear();
        deliveries.clear();
        executions.clear();
        completions.clear();
        timers.clear();
        persists.clear();
        traces.clear();
        memberships.clear();
        node_lists.clear();
    }

    bool tracing = false;   // Drivers turn this on when someone reads traces (sim, debug logs).
    EngineSlot engine = 0;  // Set by EngineSet before each engine input.
    std::vector<SendEffect> sends;
    std::vector<DeliverEffect> deliveries;
    std::vector<ExecuteEffect> executions;
    std::vector<CompleteEffect> completions;
    std::vector<TimerEffect> timers;
    std::vector<PersistEffect> persists;
    std::vector<TraceEffect> traces;
    std::vector<MembershipEffect> memberships;
    std::vector<NodeId> node_lists;  // Storage of the fan-out destinations' lists.

private:
    template <class Buffer>
    static Buffer take_spare(std::vector<Buffer>& spares) {
        if (spares.empty()) return Buffer();
        Buffer buffer = std::move(spares.back());
        spares.pop_back();
        buffer.clear();
        return buffer;
    }
    template <class Buffer>
    static void keep_spare(std::vector<Buffer>& spares, Buffer buffer) {
        // A buffer no larger than a new one (a short string's inline buffer) spares nothing.
        if (buffer.capacity() <= Buffer().capacity()) return;
        if (buffer.capacity() > record_spare_bytes_max) return;
        if (spares.size() >= record_spares_max) return;
        if (spares.capacity() == 0) spares.reserve(record_spares_max);  // Grows once.
        spares.push_back(std::move(buffer));
    }

    std::vector<std::string> spare_keys_;  // The record buffer source's spares.
    std::vector<Bytes> spare_values_;
};

}  // namespace herald::proto

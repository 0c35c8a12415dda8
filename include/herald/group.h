// Groups: named process groups with numbered membership views and multicast with a per-send
// reliability (docs/groups.md, docs/api.md "Groups"). Node::create_group makes a group at the
// group server; Process::join_group / leave_group change its members; Process::multicast sends
// to them. Members receive views and multicasts through their ordinary receive, as envelopes
// with Envelope::group set (decode_group_message). Public API; herald/ headers and std only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "herald/bytes.h"
#include "herald/errors.h"
#include "herald/export.h"
#include "herald/ids.h"

namespace herald {

struct Envelope;

// GroupNodeOptions::order: the ordering engine's timings and bounds on this node
// (docs/ordering.md "Options"; ordered multicast, Process::ordered_multicast). Every node of a
// group should use the same values; members_max must cover its largest view. Node::start
// fails invalid_argument unless retransmit_interval and tick are positive and finite, tick is
// at most retransmit_interval, skew_bound and null_interval_min are not negative and
// null_interval_min is at most tick, every count is at least 1, and send_window_max is at
// most retained_max.
struct OrderNodeOptions {
    // Unacknowledged entries and flush reports are sent again after this (O9).
    std::chrono::nanoseconds retransmit_interval = std::chrono::milliseconds(100);
    // The engine's timer period while it has work (O9).
    std::chrono::nanoseconds tick = std::chrono::milliseconds(50);
    // Absolute order: the bound on clock skew between members (O26).
    std::chrono::nanoseconds skew_bound = std::chrono::milliseconds(10);
    // Absolute order: at most one null entry per this from a member (O25).
    std::chrono::nanoseconds null_interval_min = std::chrono::milliseconds(1);
    std::uint32_t groups_max = 256;           // Ordered groups on this node.
    std::uint32_t members_max = 64;           // Members of one view.
    std::uint32_t send_window_max = 64;       // Own entries unacknowledged (O7: would_block).
    std::uint32_t retained_max = 4096;        // Own entries not yet stable (O7, O35).
    std::uint32_t receive_window_max = 1024;  // Entries taken beyond a stream's prefix (O22).
};

// NodeOptions::groups: where this node's group requests go. The group engine runs on a node
// when `server` is set or `server_url` is not empty; otherwise every group call fails
// Errc::unreachable.
struct GroupNodeOptions {
    // This node hosts the group server (the lecture's CGS), its groups in the node's store
    // (NodeOptions::data_dir is required: Node::start fails invalid_argument without one).
    bool server = false;
    // The URL of the node hosting the group server (its id is learned by a ping on the first
    // group call). Ignored when `server`.
    std::string server_url;
    // Failure detector (docs/groups.md "Failure detector defaults"): a node hosting members
    // sends a heartbeat every heartbeat_interval; the server removes the members of a node
    // silent for suspicion_timeout. Both positive, suspicion_timeout at least twice
    // heartbeat_interval (Node::start: invalid_argument). The server's setting decides.
    std::chrono::nanoseconds heartbeat_interval = std::chrono::milliseconds(500);
    std::chrono::nanoseconds suspicion_timeout = std::chrono::seconds(3);
    // The broadcast endpoint for groups with a broadcast address (docs/groups.md G22), e.g.
    // "udp://10.0.0.255:7600" (the link's broadcast address) or "udp://255.255.255.255:7600":
    // an IPv4 udp endpoint with a port, on a node listening on udp IPv4; every node of the link
    // must use the same. Empty (the default): no broadcast, and create_group refuses a
    // broadcast address. Node::start fails invalid_argument on a wrong one.
    std::string broadcast;
    // Flow control (docs/groups.md G25, docs/ordering.md O37): a member's credit, per engine:
    // once its process leaves this many group messages (and, counted apart, this many ordered
    // ones) untaken, its node stops delivering them to it (and, ordered, stops taking its
    // senders' messages) until it takes some; senders are pushed back. At least 1
    // (Node::start: invalid_argument).
    std::uint32_t member_queue_max = 1024;
    // Ordered multicast on this node (herald::Order groups).
    OrderNodeOptions order;
};

// How many members must answer a multicast before Process::multicast returns ok.
struct Reliability {
    std::uint32_t count = 0;  // 0: none; k: k distinct members; all_count: the whole view.
    static constexpr std::uint32_t all_count = 0xFFFF'FFFF;
    // Sent once, no response awaited (returns at once, no responders).
    [[nodiscard]] static constexpr Reliability none() { return {0}; }
    // k distinct members received it (1 <= k <= the view's size).
    [[nodiscard]] static constexpr Reliability at_least(std::uint32_t k) { return {k}; }
    // Every member of the view the multicast was addressed with received it.
    [[nodiscard]] static constexpr Reliability all() { return {all_count}; }
    bool operator==(const Reliability&) const = default;
};

// Whether a multicast is atomic (docs/groups.md G23, the lecture's atomic multicast): none
// (the reliability of Process::multicast decides who gets it); atomic (delivered to every
// member of the view it is sent in that survives into the next view, or to none of them, in
// the group's order; a view change flushes the old view first); fault_tolerant_atomic (the
// same, and every member that receives it for the first time re-multicasts it to the others,
// so a sender crash after one member got it does not wait for the view change to repair).
enum class Atomicity : std::uint8_t { none = 0, atomic = 1, fault_tolerant_atomic = 2 };

// "none", "atomic", "ft-atomic" ("?" for a value outside the enum).
[[nodiscard]] HERALD_API std::string_view atomicity_name(Atomicity atomicity);
// The inverse of atomicity_name (also "" for none). Errc::invalid_argument naming the values.
[[nodiscard]] HERALD_API Result<Atomicity> parse_atomicity(std::string_view name);

// How a group delivers its members' ordered multicasts (Process::ordered_multicast), chosen
// at create and fixed (docs/ordering.md): fifo per sender (the default); sequencer and abcast
// (one total order at every member); cbcast (causal: a message after every message its sender
// had received before sending it); absolute (total order by synchronized timestamps).
enum class Order : std::uint8_t { fifo = 1, sequencer = 2, abcast = 3, cbcast = 4, absolute = 5 };

// "fifo", "sequencer", "abcast", "cbcast", "absolute" ("?" for a value outside the enum).
[[nodiscard]] HERALD_API std::string_view order_name(Order order);
// The inverse of order_name. Errc::invalid_argument naming the accepted values.
[[nodiscard]] HERALD_API Result<Order> parse_order(std::string_view name);

// A group's low-level address (the lecture's two-level addressing; docs/groups.md G22), fixed
// at create: how a multicast reaches the member nodes. hosts: one datagram per member node
// (works on every transport). multicast: one datagram to an IP multicast group that member
// nodes join while they host members (udp only). broadcast: one datagram to the transport's
// broadcast endpoint (udp IPv4 with GroupNodeOptions::broadcast set, heraldd
// `[groups] broadcast`; without it create_group refuses broadcast). Retransmissions to members
// that did not answer are unicast in every case.
struct GroupAddress {
    enum class Kind : std::uint8_t { hosts = 0, multicast = 1, broadcast = 2 };
    Kind kind = Kind::hosts;
    // multicast: "udp://239.1.2.3:7500" ("udp://[ff12::1]:7500"), or empty: the group
    // server picks a free one (239.193.0.1-239.193.255.254, or ff12::4852:1-fffe, port 7410).
    // In a GroupView always the group in use. Empty for hosts and broadcast.
    std::string group;
    bool operator==(const GroupAddress&) const = default;
};

// "hosts", "broadcast", "multicast" or "multicast:239.1.2.3:7500" ("multicast:[ff12::1]:7500").
[[nodiscard]] HERALD_API std::string to_string(const GroupAddress& address);
// The inverse of to_string. Errc::invalid_argument naming what is wrong (an unknown kind, an
// address that is not an IP multicast group, port 0).
[[nodiscard]] HERALD_API Result<GroupAddress> parse_group_address(std::string_view text);

// One numbered membership view of a group.
struct GroupView {
    std::string group;
    std::uint64_t id = 0;       // 1, 2, 3, ...: one more per join, leave or removal.
    bool closed = false;        // Only members may multicast (fixed at create).
    std::vector<Pid> members;   // Sorted by (node, local id).
    Order order = Order::fifo;  // The group's ordering (fixed at create).
    GroupAddress address;       // How multicasts reach the member nodes (fixed at create).
};

// A multicast's outcome: the view it was addressed with and who responded, in order (an
// atomic multicast: the view it was accepted in, and no responders).
struct MulticastResult {
    std::uint64_t view_id = 0;
    std::vector<Pid> responders;
};

// Which answers a request multicast (Process::multicast_request, docs/groups.md G24) waits
// for: `count` answers (1: the first; k: M-of-N; all_count: every member asked) from any
// member of the view it is addressed with (nonselective, `from` empty) or only from the
// members in `from` (selective; all_count then means every one of them).
struct Collect {
    static constexpr std::uint32_t all_count = 0xFFFF'FFFF;
    std::uint32_t count = all_count;
    std::vector<Pid> from;
    [[nodiscard]] static Collect first() { return {1, {}}; }
    [[nodiscard]] static Collect at_least(std::uint32_t k) { return {k, {}}; }
    [[nodiscard]] static Collect all() { return {all_count, {}}; }
    // Selective: the answers of every one of `members` (one member: "the answer of P").
    [[nodiscard]] static Collect only(std::vector<Pid> members) {
        return {all_count, std::move(members)};
    }
};

// One member's answer to a request multicast (Process::reply).
struct GroupAnswer {
    Pid member;
    Bytes body;
    [[nodiscard]] std::string_view text() const {
        return {reinterpret_cast<const char*>(body.data()), body.size()};
    }
};

// A request multicast's outcome (docs/groups.md G24). Complete (timed_out false): `count`
// answers arrived, or every addressed member still in the view answered (the others left or
// were removed: `departed`). timed_out: the call's timeout passed first; `answers` holds the
// partial result.
struct CollectResult {
    std::uint64_t view_id = 0;         // The view the request was addressed with.
    std::vector<Pid> addressed;        // Whose answers count: `from`, or the view's members.
    std::vector<GroupAnswer> answers;  // In arrival order, at most one per member.
    std::vector<Pid> departed;         // Addressed members no longer in the view: not awaited.
    bool timed_out = false;
};

// What a member receives from the group engine: a multicast, a new view, or the news that
// the group was deleted (Node::delete_group; the member is no longer in it).
struct GroupMessage {
    enum class Kind : std::uint8_t { data, view, deleted };
    Kind kind = Kind::data;
    std::string group;
    std::uint64_t view_id = 0;     // Data: the view the receiver had installed when it got
                                   // it (ordered and atomic: the view it was sent and
                                   // delivered in, G23); view: the new view's id; deleted:
                                   // the group's final view (no members).
    Pid sender;                    // Data: the multicasting process.
    std::uint64_t message_id = 0;  // Data: unique per sender node (docs/groups.md G13).
    Bytes payload;                 // Data: the multicast's body.
    // Data of a request multicast (G24): where Process::reply sends the answer; invalid for a
    // plain multicast (reply then fails invalid_argument).
    Pid reply_to;
    GroupView view;  // View: the new view.
    // An ordered multicast (Envelope::ordered; always of kind data): `seq` is its number in
    // its sender's stream of view `view_id` (1, 2, ...), `timestamp_ns` its send timestamp
    // (absolute order; else 0). `message_id` is 0.
    bool ordered = false;
    std::uint64_t seq = 0;
    std::int64_t timestamp_ns = 0;

    [[nodiscard]] std::string_view text() const {
        return {reinterpret_cast<const char*>(payload.data()), payload.size()};
    }
    // A request multicast: the sender waits for this member's answer (Process::reply).
    [[nodiscard]] bool request() const { return reply_to.valid(); }
};

// Group names: 1 to 64 bytes of UTF-8 without control characters.
// Errc::invalid_argument naming what is wrong.
[[nodiscard]] HERALD_API Status check_group_name(std::string_view name);

// Decodes a received envelope that the group engine or the ordering engine delivered
// (envelope.group is true; envelope.ordered for the latter).
// Errc::invalid_argument (a direct message: envelope.group is false), malformed.
[[nodiscard]] HERALD_API Result<GroupMessage> decode_group_message(const Envelope& envelope);

}  // namespace herald

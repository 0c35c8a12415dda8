// The group packets (group_create ... group_response), views, the envelope a member receives,
// a multicast's result and the server's durable record: how the engine builds them and
// validates what arrives. Layer: proto/group. Fields per kind: docs/groups.md ("Wire").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/result.h"
#include "proto/effects.h"
#include "proto/fields.h"
#include "wire/packet.h"

namespace herald::proto::group {

// A member: a process of one incarnation of its node. A restarted node's processes are new
// members, even with the same pid.
struct Member {
    Pid pid;
    std::uint32_t incarnation = 0;
    auto operator<=>(const Member&) const = default;
};

// A group's ordering mode, fixed at create (docs/ordering.md, OrderMode's numbers): 1 fifo (the
// default), 2 sequencer, 3 abcast, 4 cbcast, 5 absolute.
inline constexpr std::uint8_t order_fifo = 1;
inline constexpr std::uint8_t order_max = 5;

// A group's low-level address (the lecture's two-level addressing; docs/groups.md "Addresses"),
// fixed at create: a host list (one packet per member node), an IP multicast group, or the
// transport's broadcast address (one datagram for every member node; retransmissions unicast).
enum class AddressKind : std::uint8_t { hosts = 0, multicast = 1, broadcast = 2 };
struct GroupAddress {
    AddressKind kind = AddressKind::hosts;
    IpGroup ip;  // Multicast: the group (a create may leave the address and port 0: G22).
    bool operator==(const GroupAddress&) const = default;
};
// u8 kind; then for multicast: u8 family (4 or 6), 4 or 16 address bytes (network order), u16
// port. Decoding refuses another kind, family or length, and (when `picked`) a multicast
// group that is not a multicast address with a port; with !picked an all-zero address and
// port 0 also pass (the server picks, G22).
void put_group_address(Bytes& out, const GroupAddress& a);
[[nodiscard]] bool get_group_address(ByteView bytes, std::size_t& offset, GroupAddress& a,
                                     bool picked);

// A numbered view of a group: its members, sorted. Ids grow by one per change, from 1.
struct View {
    std::uint64_t id = 0;
    bool closed = false;
    std::vector<Member> members;
    std::uint8_t order = order_fifo;  // The group's ordering mode (1..order_max), fixed at create.
    GroupAddress address = {};        // Fixed at create.

    [[nodiscard]] bool contains(const Member& m) const;
    [[nodiscard]] bool contains_pid(Pid pid) const;
    bool operator==(const View&) const = default;
};
// u64 id, u8 flags (bit 0 closed; bits 1-3 the order mode, 0 for fifo; bits 4-5 the address
// kind), u32 n, n x (u64 node, u64 local id, u32 incarnation); for a multicast address then
// u8 family, the address, u16 port. A mode above order_max or kind 3 is malformed.
[[nodiscard]] Bytes encode_view(const View& v);
[[nodiscard]] std::optional<View> decode_view(ByteView bytes);

// One group packet, validated. Which fields mean something depends on `kind`.
// Addressing's id (seq): request id, view id (view, view_ack), message id (data).
struct GroupPacket : Addressing {
    std::uint64_t ack = 0;              // group_view: the view the server believes the node has.
    bool closed = false;                // flag::group_closed (create).
    std::uint8_t order = order_fifo;    // Create: the body (empty = fifo, else one mode byte).
    GroupAddress address;               // group_address (create); hosts when absent.
    std::vector<Pid> members;           // group_members (data sent to a group address).
    bool respond = false;               // flag::group_respond (data).
    bool reset = false;                 // flag::group_reset (view).
    bool deleted = false;               // flag::group_deleted (view): the group is gone.
    std::string name;                   // group_name (all but heartbeat).
    Errc reason = Errc::ok;             // reason (reply); ok when absent.
    std::uint64_t view_id = 0;          // view_id (data, reply).
    std::vector<std::uint64_t> locals;  // destinations (data, response).
    std::uint32_t reliability = 0;      // group_reliability (data).
    Pid reply_to;                       // group_reply_to (data): a request (G24); else invalid.
    Bytes body;                         // View (reply, view) or the message (data).
};

[[nodiscard]] wire::Packet build(const GroupPacket& m, std::uint32_t self_incarnation);
// Errc::malformed (detail names the rule): not a group kind, a request or data whose source
// pid is invalid or not on node `from`, a missing or over-long name, an extension of the wrong
// width, a reason that is not a known Errc.
[[nodiscard]] Result<GroupPacket> parse(NodeId from, wire::Packet& packet,
                                        std::uint32_t name_bytes_max);

// What a member's queue receives (Message::body): u8 type (0 data, 1 view, 2 deleted, 3
// request), u64 view id, u8 name length, the name, then for data: u64 sender node, u64 sender
// local id, u32 sender incarnation, u64 message id, the payload; for a request (G24) the same
// with u64 node and u64 local id of the pid the answers go to before the payload; for a view:
// encode_view(view); for deleted (the group was deleted; view id is its final view's): nothing.
struct Envelope {
    bool is_view = false;
    bool is_deleted = false;  // The group was deleted (docs/groups.md G21); no view, no data.
    std::string group;
    std::uint64_t view_id = 0;
    Member sender;                 // Data.
    std::uint64_t message_id = 0;  // Data.
    Pid reply_to;                  // Data of a request (G24): where answers go; else invalid.
    Bytes payload;                 // Data.
    View view;                     // View.
};
[[nodiscard]] Bytes encode_envelope(const Envelope& e);
[[nodiscard]] std::optional<Envelope> decode_envelope(ByteView bytes);

// A multicast's successful result (Result<Bytes>): u64 view id it was addressed with, u32 n,
// n x (u64 node, u64 local id) of the members that responded, in the order they responded.
struct Responders {
    std::uint64_t view_id = 0;
    std::vector<Pid> pids;
};
[[nodiscard]] Bytes encode_responders(const Responders& r);
[[nodiscard]] std::optional<Responders> decode_responders(ByteView bytes);

// A heartbeat's body: the views this node installed of the groups where it hosts members, so
// that a server that lost its cursors (a restart) brings the node up to date (G11):
// u32 n, n x (u8 name length, name, u64 view id).
struct InstalledView {
    std::string name;
    std::uint64_t view_id = 0;
};
[[nodiscard]] Bytes encode_heartbeat(const std::vector<InstalledView>& views);
[[nodiscard]] std::optional<std::vector<InstalledView>> decode_heartbeat(ByteView bytes);

// The server's durable record of one group, under "group/g/<name>": u8 flags (bit 0 closed,
// bit 1 deleted: the last view is the final one of a group being deleted; bit 2 gone: the
// deletion is over and the one view is the final view, which a group created again under the
// name numbers its views above; G21), u32 n, then n views (u32 length + encode_view), oldest
// first; the last is current.
enum class RecordState : std::uint8_t { live, deleted, gone };
[[nodiscard]] Bytes encode_record(const std::vector<View>& history,
                                  RecordState state = RecordState::live);
[[nodiscard]] std::optional<std::vector<View>> decode_record(ByteView bytes);
// The same, also reading the state.
[[nodiscard]] std::optional<std::vector<View>> decode_record(ByteView bytes, RecordState& state);
[[nodiscard]] std::string record_key(std::string_view name);

}  // namespace herald::proto::group

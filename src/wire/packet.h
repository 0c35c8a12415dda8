// Packet: the decoded form of one datagram (fixed header, typed extensions, body).
// Layer: wire. Codec in wire/codec.h; byte layout in docs/wire.md.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "core/bytes.h"
#include "core/ids.h"

namespace herald::wire {

inline constexpr std::uint16_t magic = 0x4852;  // "HR" on the wire.
inline constexpr std::uint8_t version_current = 1;

// Every packet kind of every protocol is listed here, so a decoder can reject unknown kinds.
enum class PacketKind : std::uint8_t {
    hello = 1,        // Node handshake / ping: "who are you?" (target node may be 0).
    hello_reply = 2,  // Identity and incarnation of the answering node; echoes timestamp.
    data = 3,         // Direct message (or a send-after-receive offer, flag `offer`).
    ack = 4,          // Direct: cumulative ack of `ack` in channel `epoch`, credit in extension.
    nack = 5,         // Direct: refusal; reason in the `reason` extension.
    ready = 6,        // Direct: send-after-receive go-ahead (the receiver executed receive).
    // Migration (docs/migration.md): the origin offers a process, the target accepts or
    // refuses it, the origin's decision (commit or abort) ends it.
    migrate = 7,            // Direct: move process `source` to the target node; body = snapshot.
    migrate_reply = 8,      // Direct: the target took the process (tentatively); reason = refused.
    migrate_done = 9,       // Direct: the origin's decision on migration `seq`: reason = abort.
    rpc_request = 10,       // RPC: Req.
    rpc_ack = 11,           // RPC: Ack of a Req (RARA, and RRA's optional Ack for long requests).
    rpc_response = 12,      // RPC: Resp.
    rpc_response_ack = 13,  // RPC: Ack of a Resp (RRA, RARA).
    rpc_nack = 14,          // RPC: refusal (no such process / operation, busy); reason extension.
    name_request = 20,      // Naming: a client's register / lookup / unregister / list.
    name_reply = 21,        // Naming: the server's answer; reason extension when it failed.
    // Mailboxes (docs/mailboxes.md): requests carry an id (seq), are retransmitted until
    // answered, and the host answers a repeated id with the same answer.
    mailbox_send = 30,       // Mailbox: put a message (seq = message id) into a named mailbox.
    mailbox_accept = 31,     // Mailbox: answer to mailbox_send; a reason extension = refused.
    mailbox_receive = 32,    // Mailbox: ask for one message (seq = request id), wait up to N ms.
    mailbox_deliver = 33,    // Mailbox: answer to mailbox_receive: a message, or a reason.
    mailbox_ack = 34,        // Mailbox: the receiver acknowledges delivery tag `ack`.
    mailbox_ack_reply = 35,  // Mailbox: answer to mailbox_ack; a reason extension = refused.
    // Groups (docs/groups.md): requests to the group server carry an id (seq), are
    // retransmitted until answered, and the server answers a repeated id with the same answer.
    group_create = 40,     // Group: create a group (flag group_closed: closed); group_name.
    group_join = 41,       // Group: add the source pid to a group; group_name.
    group_leave = 42,      // Group: remove the source pid from a group; group_name.
    group_lookup = 43,     // Group: ask for a group's current view (senders); group_name.
    group_reply = 44,      // Group: answer to 40-43 (seq echoed); reason = refused; body = view.
    group_view = 45,       // Group: the server installs view `seq` on a node; body = view.
    group_view_ack = 46,   // Group: a node has installed view `seq` of group_name.
    group_heartbeat = 47,  // Group: a node hosting members is alive (to the server).
    group_data = 48,       // Group: a multicast (seq = message id) to the local ids listed.
    group_response = 49,   // Group: the listed local members received message `seq`.
    // Ordering (docs/ordering.md): member-to-member packets of one view of a group.
    order_data = 50,           // Order: message `seq` of the source member's stream.
    order_ack = 51,            // Order: the source received the target's stream up to `ack`.
    order_propose = 52,        // Order: ABCAST proposal for the target's message `seq`.
    order_flush_report = 53,   // Order: a survivor's state of the old view, to the flusher.
    order_flush_outcome = 54,  // Order: the flusher's decision: what the old view delivers.
    // Groups, continued (docs/groups.md).
    group_delete = 60,  // Group: delete a group (answered once every member node dropped it).
};

namespace flag {
inline constexpr std::uint16_t fragment = 1u << 0;        // Part of a fragmented packet.
inline constexpr std::uint16_t want_delivered = 1u << 1;  // Sender waits for "delivered".
inline constexpr std::uint16_t offer = 1u << 2;           // Send-after-receive offer, no body.
inline constexpr std::uint16_t delivered = 1u << 3;       // On ack: reached the process queue.
// RPC call mode, on every rpc_* packet (proto/rpc/README.md): which acks the call uses and
// whether the server keeps a reply cache for it. RR sets neither ack flag; RARA sets both.
inline constexpr std::uint16_t rpc_exactly_once = 1u << 4;  // Request id + reply cache.
inline constexpr std::uint16_t rpc_ack_request = 1u << 5;   // RARA: the server acks Req.
inline constexpr std::uint16_t rpc_ack_response = 1u << 6;  // RRA, RARA: the client acks Resp.
inline constexpr std::uint16_t redelivery = 1u << 7;        // mailbox_deliver: may have been seen.
inline constexpr std::uint16_t group_closed = 1u << 8;      // group_create: a closed group.
inline constexpr std::uint16_t group_respond = 1u << 9;     // group_data: members respond.
inline constexpr std::uint16_t group_reset = 1u << 10;      // group_view: install despite a gap.
inline constexpr std::uint16_t group_deleted = 1u << 11;    // group_view: the group is gone.
// order_data of a fault-tolerant atomic multicast: every member re-multicasts it on first sight.
inline constexpr std::uint16_t order_relay = 1u << 12;
// With authenticated: everything after the fixed header is encrypted (docs/security.md).
inline constexpr std::uint16_t encrypted = 1u << 14;
inline constexpr std::uint16_t authenticated = 1u << 15;  // auth_tag is set (docs/security.md).
}  // namespace flag

struct Header {
    PacketKind kind = PacketKind::data;
    std::uint16_t flags = 0;
    Pid source;
    Pid target;
    std::uint32_t source_incarnation = 0;  // Sender node's incarnation (changes on restart).
    std::uint32_t target_incarnation = 0;  // What the sender believes; 0 = unknown.
    std::uint32_t epoch = 0;               // Channel or call epoch, chosen by the engine.
    std::uint64_t seq = 0;
    std::uint64_t ack = 0;
    std::int64_t timestamp_ns = 0;  // Sender's wall clock (or echoed, in hello_reply).
    std::uint32_t fragment_id = 0;  // Set by the fragmenter (flag::fragment).
    std::uint16_t fragment_index = 0;
    std::uint16_t fragment_count = 0;
    std::array<std::uint8_t, 16> auth_tag{};  // Room for authentication (a later issue).
};

// Typed, variable-length control data between header and body (type, length, value).
enum class ExtensionType : std::uint8_t {
    reason = 1,          // u8 Errc of a nack / rpc_nack.
    credit = 2,          // u32 free slots in the receiver's queue (flow control), on ack.
    operation = 3,       // UTF-8 RPC operation name.
    destinations = 4,    // List of local ids on the target node (group_data, group_response).
    vector_clock = 5,    // n x u64 CBCAST vector of an order_data (docs/ordering.md).
    view_id = 6,         // u64 view number of a group (group_data, group_reply, group_view).
    text = 7,            // UTF-8 detail for errors.
    call_id = 8,         // RPC request id: u32 client incarnation + u64 sequence.
    body_limit = 9,      // u64 largest message body the sending node accepts (hello, hello_reply).
    location = 10,       // u64 node that sent a packet of a migrated process (its current node).
    forwarded = 11,      // u64 node that forwarded a data packet to a migrated process's node.
    forwarded_for = 12,  // UTF-8 URL where the forwarder reaches the forwarded data's sender.
    rpc_cookie = 13,     // u64 address proof of an RPC client (rpc_nack, rpc_request).
    mailbox_name = 20,   // UTF-8 mailbox name, 1-64 bytes (mailbox_send, _receive, _ack).
    mailbox_wait = 21,   // u32 milliseconds a mailbox_receive may wait for a message.
    mailbox_message = 22,    // u64 message id of a delivered message (mailbox_deliver).
    mailbox_from = 23,       // pid (16 bytes): a selective mailbox_receive takes only its messages.
    mailbox_after = 24,      // u64 seq: a mailbox_receive that peeks at the first message after it.
    mailbox_take = 25,       // u64 seq: a mailbox_receive that takes exactly that message.
    mailbox_seq = 26,        // u64 the delivered message's place in its mailbox (mailbox_deliver).
    mailbox_sender = 27,     // pid (16 bytes): who sent a delivered message (mailbox_deliver).
    mailbox_floor = 28,      // u64: the client pid's lowest outstanding request id (M24).
    board_read = 29,         // u64 from seq (0: cursor), u32 count: a bulletin-board read (B6).
    group_name = 30,         // UTF-8 group name, 1-64 bytes (every group kind but heartbeat).
    group_reliability = 31,  // u32 responses the sender waits for (group_data; informative).
    group_address = 32,      // A group's low-level address (group_create; docs/groups.md).
    group_members = 33,      // n pids addressed by a group_data sent to a group address.
    order_origin = 34,       // u32 view index of a relayed order_data's sender (ft-atomic).
    group_reply_to = 35,     // pid (16 bytes): where a request multicast's answers go (G24).
};

struct Extension {
    ExtensionType type = ExtensionType::text;
    Bytes value;
};

struct Packet {
    Header header;
    std::vector<Extension> extensions;
    Bytes body;

    [[nodiscard]] const Extension* find(ExtensionType type) const {
        for (const auto& e : extensions) {
            if (e.type == type) return &e;
        }
        return nullptr;
    }
};

// An outgoing packet whose parts live elsewhere, for encoding without first copying them into
// a Packet (a body shared with the sender's retransmission buffer). Valid while they are.
struct PacketParts {
    const Header& header;
    std::span<const Extension> extensions;
    ByteView body;
};

[[nodiscard]] inline PacketParts parts_of(const Packet& packet) {
    return {packet.header, packet.extensions, packet.body};
}

}  // namespace herald::wire

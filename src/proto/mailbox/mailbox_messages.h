// The mailbox packets (mailbox_send ... mailbox_ack_reply), the result record of a receive and
// the durable records: how the engine builds them and validates what arrives.
// Layer: proto/mailbox. Field use per kind is tabled in docs/mailboxes.md ("Wire").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"
#include "proto/fields.h"
#include "wire/packet.h"

namespace herald::proto::mailbox {

// One mailbox packet, validated. Which fields mean something depends on `kind`.
// Addressing: source is the client pid (requests) or the sender (deliver); target the client
// pid (answers), whose incarnation answers echo; id (seq) the message id (send) or the request
// id (others).
struct MailboxPacket : Addressing {
    std::uint64_t tag = 0;          // ack: the delivery tag (deliver, ack).
    std::uint32_t deliveries = 0;   // epoch: how often handed out, 1 = first (deliver).
    bool redelivery = false;        // flag::redelivery (deliver).
    std::string name;               // mailbox_name (send, receive, ack).
    std::uint32_t wait_ms = 0;      // mailbox_wait (receive).
    Errc reason = Errc::ok;         // reason extension (answers); ok when absent.
    std::uint64_t message_id = 0;   // mailbox_message (deliver).
    Pid from;                       // mailbox_from (receive): only this sender's.
    bool peek = false;              // mailbox_after present (receive): look, not take.
    std::uint64_t after = 0;        // mailbox_after (receive): seq the peek starts after.
    std::uint64_t take = 0;         // mailbox_take (receive): the seq to take.
    bool take_set = false;          // mailbox_take present (parse only).
    std::uint64_t mailbox_seq = 0;  // mailbox_seq (deliver): the message's place.
    Pid sender{};                   // mailbox_sender (deliver): who sent the message.
    std::uint64_t floor = 0;        // mailbox_floor (receive, ack): 0 when absent (M24).
    std::uint64_t board_from = 0;   // board_read (receive): seq to read from (0: the cursor).
    std::uint32_t board_count = 0;  // board_read (receive): at most this many; 0: not a read.
    Duration age;                   // timestamp_ns: time since first sent (send).
    Bytes body;                     // The message (send, deliver).
};

// The packet of `m`, sent by a node of incarnation `self_incarnation`.
[[nodiscard]] wire::Packet build(const MailboxPacket& m, std::uint32_t self_incarnation);
// The same, moving m's body into the packet (m keeps an empty body).
[[nodiscard]] wire::Packet build(MailboxPacket&& m, std::uint32_t self_incarnation);

// Errc::malformed (detail names the rule): the kind is not a mailbox kind, the id is 0, a
// request's source pid is invalid or not on node `from`, its name is missing, empty or longer
// than `name_bytes_max`, a wait is not 4 bytes, a reason is not a known Errc.
[[nodiscard]] Result<MailboxPacket> parse(NodeId from, wire::Packet& packet,
                                          std::uint32_t name_bytes_max);

// What a completed receive carries (its Result<Bytes>): u64 tag, u64 message id, u32 deliveries, u8
// flags (bit 0 redelivery), u64 sender node, u64 sender local id, u64 seq, then the message body.
struct Received {
    std::uint64_t tag = 0;         // 0: a peek (nothing leased, nothing to acknowledge).
    std::uint64_t message_id = 0;  // The sender's id of the message.
    std::uint32_t deliveries = 0;
    bool redelivery = false;
    Pid sender;
    std::uint64_t seq = 0;  // Its place in the mailbox (peek, then take it by this).
    Bytes body;
};
inline constexpr std::size_t received_header_bytes = 45;
[[nodiscard]] Bytes encode_received(const Received& r);
[[nodiscard]] Result<Received> decode_received(ByteView bytes);

// What a completed board read carries (docs/boards.md, "Read result"): u64 missed, u64 cursor
// (the next seq this reader reads), u32 n, then n x (u64 seq, i64 posted ns since the Unix
// epoch, u64 sender node, u64 sender local, u64 message id, u32 body bytes, body).
struct BoardPost {
    std::uint64_t seq = 0;
    std::int64_t posted_ns = 0;  // Host's wall clock at the post.
    Pid sender;
    std::uint64_t message_id = 0;
    Bytes body;
};
struct BoardBatch {
    std::uint64_t missed = 0;  // Sequence numbers skipped below the oldest retained post.
    std::uint64_t cursor = 0;  // The reader's cursor after this read.
    std::vector<BoardPost> posts;
};
inline constexpr std::size_t board_batch_header_bytes = 20;
inline constexpr std::size_t board_post_header_bytes = 44;
[[nodiscard]] Bytes encode_batch(const BoardBatch& b);
[[nodiscard]] Result<BoardBatch> decode_batch(ByteView bytes);

// Durable records under "mailbox/" (docs/mailboxes.md, "Durable records").
// Rights on a mailbox (docs/mailboxes.md, "Access rights"): bits, ored.
namespace rights {
inline constexpr std::uint8_t none = 0;
inline constexpr std::uint8_t send = 1;
inline constexpr std::uint8_t receive = 2;  // Receive, peek and acknowledge.
inline constexpr std::uint8_t all = send | receive;
}  // namespace rights

// Who a grant names: everyone (node 0, local 0), every process of a node (local 0), or a pid.
using Grantee = Pid;

struct MailboxDefinition {
    bool persistent = true;
    std::uint32_t capacity_messages = 0;
    std::uint64_t capacity_bytes = 0;
    Pid owner;                            // Always has every right; invalid: the host only.
    std::uint8_t everyone = rights::all;  // Rights of every pid (open: all; restricted: none).
    std::map<Grantee, std::uint8_t> grants;
    bool board = false;           // Version 3: a bulletin board (docs/boards.md).
    std::uint64_t retain_ms = 0;  // Board: drop posts older than this (0: no age limit).
};
// At most this many grants per mailbox (a grant beyond it: queue_full).
inline constexpr std::size_t grants_max = 256;
struct StoredMessage {
    Pid sender;
    std::uint64_t message_id = 0;
    Bytes body;
};
[[nodiscard]] Bytes encode_definition(const MailboxDefinition& d);
[[nodiscard]] std::optional<MailboxDefinition> decode_definition(ByteView bytes);
[[nodiscard]] Bytes encode_message(const StoredMessage& m);
// The same into `out` (its content replaced, its capacity used: Effects::record_value).
void encode_message(const StoredMessage& m, Bytes& out);
[[nodiscard]] std::optional<StoredMessage> decode_message(ByteView bytes);

// Keys: "mailbox/b/<name>", "mailbox/m/<name>/<seq: 16 hex>", "mailbox/t/<node>/<id>".
[[nodiscard]] std::string definition_key(std::string_view name);
[[nodiscard]] std::string message_key(std::string_view name, std::uint64_t seq);
// The same into `key` (its content replaced, its capacity used: Effects::record_key).
void message_key(std::string_view name, std::uint64_t seq, std::string& key);
[[nodiscard]] std::string tombstone_key(NodeId sender, std::uint64_t message_id);
void tombstone_key(NodeId sender, std::uint64_t message_id, std::string& key);
// Boards: "mailbox/p/<name>/<seq>" (a post: u64 posted ns, then as a message record),
// "mailbox/c/<name>/<node: 16 hex>/<local: 16 hex>" (u64 cursor), "mailbox/f/<name>" (u64:
// every seq up to it was evicted).
[[nodiscard]] std::string post_key(std::string_view name, std::uint64_t seq);
[[nodiscard]] std::string cursor_key(std::string_view name, Pid reader);
[[nodiscard]] std::string evicted_key(std::string_view name);
[[nodiscard]] Bytes encode_post(const BoardPost& p);
[[nodiscard]] std::optional<BoardPost> decode_post(ByteView bytes);

}  // namespace herald::proto::mailbox

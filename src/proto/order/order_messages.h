// The ordering packets (order_data ... order_flush_outcome), the stream entries they carry,
// the flush report and outcome, and the envelope a member's queue receives: how the engine
// builds them and validates what arrives. Layer: proto/order. Layouts: docs/ordering.md.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/result.h"
#include "proto/group/group_messages.h"
#include "wire/packet.h"

namespace herald::proto::order {

using group::Member;
using group::View;

// A group's ordering, chosen when the group is created on a node (O2).
enum class OrderMode : std::uint8_t {
    fifo = 1,
    sequencer = 2,
    abcast = 3,
    cbcast = 4,
    absolute = 5
};
[[nodiscard]] std::string_view mode_name(OrderMode mode);
[[nodiscard]] std::optional<OrderMode> parse_mode(std::string_view name);

// An ABCAST sequence number: the lecture's max(Fmax, Pmax) + 1 + i/N kept exactly as the pair
// (integer part, proposing member's index i), ordered lexicographically (O13).
struct Number {
    std::uint64_t value = 0;
    std::uint32_t member = 0;
    auto operator<=>(const Number&) const = default;
};

// What one message of a sender's stream is (O5).
enum class EntryType : std::uint8_t {
    data = 0,     // An application message.
    commit = 1,   // ABCAST: message `ref_seq` of this stream has final number `number`.
    order = 2,    // Sequencer: the next message in the group's order is (ref_member, ref_seq).
    null = 3,     // Absolute: no later message of this stream has a timestamp <= `timestamp`.
    orders = 4,   // Sequencer: the group's order goes on with the messages of `runs`, in turn.
    commits = 5,  // ABCAST: each of `commits`, in turn, as a commit entry.
};

// O15: message `seq` of the stream has final number `number`.
struct Commit {
    std::uint64_t seq = 0;
    Number number;
    auto operator<=>(const Commit&) const = default;
};
// A `commits` entry holds 1..commits_entry_max commits (the sender splits longer batches).
inline constexpr std::uint32_t commits_entry_max = 1024;
// An order_propose carries at most this many proposals besides its first (O13).
inline constexpr std::uint32_t proposals_more_max = 1024;

// O17: messages first..first + count - 1 of the stream of member `member` (view index).
struct OrderRun {
    std::uint32_t member = 0;
    std::uint64_t first = 0;
    std::uint32_t count = 0;
    auto operator<=>(const OrderRun&) const = default;
};

// An `orders` entry holds at most this many runs, and orders at most `orders_entry_max`
// messages in all (the decoder refuses more; the sequencer splits longer batches).
inline constexpr std::uint32_t order_runs_max = 256;
inline constexpr std::uint32_t orders_entry_max = 4096;

struct StreamEntry {
    EntryType type = EntryType::data;
    std::uint64_t seq = 0;             // Place in the sender's stream of this view, from 1.
    std::int64_t timestamp = 0;        // Absolute: sender clock, ns; strictly growing.
    std::vector<std::uint64_t> clock;  // CBCAST data: the vector (one entry per member).
    std::uint64_t ref_seq = 0;         // Commit, order.
    std::uint32_t ref_member = 0;      // Order: the sender's index in the view.
    std::vector<OrderRun> runs;        // Orders.
    std::vector<Commit> commits;       // Commits.
    Number number;                     // Commit: the final number.
    Bytes payload;                     // Data.
    // Data of a fault-tolerant atomic multicast (flag order_relay, O36): every member that
    // receives it for the first time re-multicasts it to the other members.
    bool relay = false;
};

// One order packet, validated. Which fields mean something depends on `kind`.
struct OrderPacket {
    wire::PacketKind kind = wire::PacketKind::order_data;
    Member source;
    Member target;
    std::string group;
    std::uint64_t view_id = 0;
    StreamEntry entry;  // order_data.
    // order_data relayed by `source` (O36): the view index of the entry's stream (the member
    // that multicast it), from extension order_origin; absent on the sender's own copies.
    std::optional<std::uint32_t> origin;
    std::uint64_t ack = 0;  // order_ack.
    // order_ack (O35): entries of the source's done vector as (member index, done pointer of
    // that member's stream at the source), indices strictly increasing; `full`: every entry,
    // one per member of the view in index order (sent as values only); else only the entries
    // that changed. `probe`: the source asks for an answer with its full vector.
    std::vector<std::pair<std::uint32_t, std::uint64_t>> done;
    bool full = false;
    bool probe = false;
    std::uint64_t seq = 0;  // order_propose: the proposed-for message.
    Number number;          // order_propose.
    // order_propose (O13): further proposals of the same proposer, (data seq, number integer).
    std::vector<std::pair<std::uint64_t, std::uint64_t>> more;
    Bytes body;  // order_flush_report, order_flush_outcome.

    // O38: an order_data for every member of the view on the receiving node but its source:
    // target 0.0 with target_incarnation 0 (a first transmission to the group's address or
    // member nodes). Only order_data without order_origin may have it.
    [[nodiscard]] bool to_group() const { return target == Member{}; }
};

[[nodiscard]] wire::Packet build(const OrderPacket& m);
// Errc::malformed (detail names the rule): not an order kind, a source not on node `from`, an
// invalid pid (a target 0.0 with incarnation 0 is valid on order_data without order_origin, O38), a
// missing or over-long group_name, no view_id, a zero seq, an entry body that does not decode, a
// vector_clock whose width is not a multiple of 8 or over `members_max`, an order_ack body with
// unknown flags, over `members_max` entries, an index not below `members_max` or not above the one
// before, a varint over 64 bits or not in its shortest form, or bytes missing or left over.
[[nodiscard]] Result<OrderPacket> parse(NodeId from, wire::Packet& packet,
                                        std::uint32_t name_bytes_max, std::uint32_t members_max);

// A data message as the flush moves it: its sender's index in the old view and the entry.
struct Held {
    std::uint32_t sender = 0;
    StreamEntry entry;
    bool committed = false;  // ABCAST: `number` is final (else the reporter's proposal or 0).
    Number number;
};
struct FlushReport {
    // 0: the reporter holds nothing of any view before the new one (an answer to a query, O39).
    std::uint64_t old_view_id = 0;
    std::vector<Member> old_members;
    std::vector<std::uint64_t> contiguous;  // Per old member: its stream received up to here.
    // Messages it delivered before `delivered` (their entries every member of the old view
    // delivered, hence discarded, O35): `delivered` is its delivered sequence after these.
    std::uint64_t delivered_base = 0;
    std::vector<std::pair<std::uint32_t, std::uint64_t>> delivered;  // (sender, seq), in order.
    std::vector<Held> messages;  // Every data message it holds of the old view.
    // The outcome (encode_outcome) that made it install its old view, or empty (O31a).
    Bytes previous_outcome;
    // Members of the new view that were in an earlier view the reporter's node was given, so
    // that a coordinator that never saw those views waits for them too (O30).
    std::vector<Member> expected;
};
struct FlushOutcome {
    std::uint64_t old_view_id = 0;
    std::vector<Held> messages;  // What the old view delivers, in delivery order.
    View view;                   // The view it installs.
};
// O39 (g): the coordinator's node skipped views first..last (the report's new view among
// them), so it never decides them: an order_flush_outcome whose body is u64 0 (no old view),
// u64 first, u64 last (1 <= first <= last).
struct SkippedViews {
    std::uint64_t first = 0;
    std::uint64_t last = 0;
};
[[nodiscard]] Bytes encode_skipped(const SkippedViews& s);
// nullopt when `bytes` is not a skipped-views answer (e.g. an outcome: its old view is not 0).
[[nodiscard]] std::optional<SkippedViews> decode_skipped(ByteView bytes);
[[nodiscard]] Bytes encode_report(const FlushReport& r);
[[nodiscard]] std::optional<FlushReport> decode_report(ByteView bytes, std::uint32_t members_max);
[[nodiscard]] Bytes encode_outcome(const FlushOutcome& o);
[[nodiscard]] std::optional<FlushOutcome> decode_outcome(ByteView bytes, std::uint32_t members_max);

// What a member's queue receives (Message::body), O20: u8 type (0 data, 1 view), u64 view id,
// u8 name length, name; data: u64 sender node, u64 sender local id, u32 sender incarnation,
// u64 seq, i64 timestamp, payload; view: encode_view(view).
struct Delivery {
    bool is_view = false;
    std::string group;
    std::uint64_t view_id = 0;
    Member sender;
    std::uint64_t seq = 0;
    std::int64_t timestamp = 0;
    Bytes payload;
    View view;
};
[[nodiscard]] Bytes encode_delivery(const Delivery& d);
// The body encode_delivery gives a data Delivery with these fields, built in one allocation
// without a Delivery (so without a copy of the payload).
[[nodiscard]] Bytes encode_data_delivery(std::string_view group, std::uint64_t view_id,
                                         const Member& sender, std::uint64_t seq,
                                         std::int64_t timestamp, ByteView payload);
// Whether a delivery body is of type view (without decoding the rest).
[[nodiscard]] inline bool is_view_delivery(ByteView body) {
    return !body.empty() && body[0] == 1;
}
[[nodiscard]] std::optional<Delivery> decode_delivery(ByteView bytes);

}  // namespace herald::proto::order

// The one table of packet kinds and extension types: each kind's number, name and owning
// protocol, each extension's number, name and value format. The codec's checks and names, the
// engines' kinds (proto::EngineSet) and docs/wire.md all come from here. Layer: wire.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "wire/packet.h"

namespace herald::wire {

// The protocol (engine) that owns a packet kind. Exactly one engine of a node speaks each.
enum class Protocol : std::uint8_t {
    direct = 1,   // proto/direct: hello, data, acks (docs/direct.md).
    rpc = 2,      // proto/rpc: RR, RRA, RARA (docs/rpc.md).
    naming = 3,   // proto/naming (issue 13).
    mailbox = 4,  // proto/mailbox (issue 14).
    group = 5,    // proto/group (issue 15).
    order = 6,    // proto/order (issue 16).
};
inline constexpr std::size_t protocols_max = 8;  // Protocol values are below this.

struct KindInfo {
    PacketKind kind;
    std::string_view name;  // Stable snake_case, used in traces, the CLI and docs.
    Protocol protocol;
};

// Every kind this build decodes. A kind missing here is rejected by the decoder as unknown.
inline constexpr std::array kind_table = {
    KindInfo{PacketKind::hello, "hello", Protocol::direct},
    KindInfo{PacketKind::hello_reply, "hello_reply", Protocol::direct},
    KindInfo{PacketKind::data, "data", Protocol::direct},
    KindInfo{PacketKind::ack, "ack", Protocol::direct},
    KindInfo{PacketKind::nack, "nack", Protocol::direct},
    KindInfo{PacketKind::ready, "ready", Protocol::direct},
    KindInfo{PacketKind::migrate, "migrate", Protocol::direct},
    KindInfo{PacketKind::migrate_reply, "migrate_reply", Protocol::direct},
    KindInfo{PacketKind::migrate_done, "migrate_done", Protocol::direct},
    KindInfo{PacketKind::rpc_request, "rpc_request", Protocol::rpc},
    KindInfo{PacketKind::rpc_ack, "rpc_ack", Protocol::rpc},
    KindInfo{PacketKind::rpc_response, "rpc_response", Protocol::rpc},
    KindInfo{PacketKind::rpc_response_ack, "rpc_response_ack", Protocol::rpc},
    KindInfo{PacketKind::rpc_nack, "rpc_nack", Protocol::rpc},
    KindInfo{PacketKind::name_request, "name_request", Protocol::naming},
    KindInfo{PacketKind::name_reply, "name_reply", Protocol::naming},
    KindInfo{PacketKind::mailbox_send, "mailbox_send", Protocol::mailbox},
    KindInfo{PacketKind::mailbox_accept, "mailbox_accept", Protocol::mailbox},
    KindInfo{PacketKind::mailbox_receive, "mailbox_receive", Protocol::mailbox},
    KindInfo{PacketKind::mailbox_deliver, "mailbox_deliver", Protocol::mailbox},
    KindInfo{PacketKind::mailbox_ack, "mailbox_ack", Protocol::mailbox},
    KindInfo{PacketKind::mailbox_ack_reply, "mailbox_ack_reply", Protocol::mailbox},
    KindInfo{PacketKind::group_create, "group_create", Protocol::group},
    KindInfo{PacketKind::group_join, "group_join", Protocol::group},
    KindInfo{PacketKind::group_leave, "group_leave", Protocol::group},
    KindInfo{PacketKind::group_lookup, "group_lookup", Protocol::group},
    KindInfo{PacketKind::group_reply, "group_reply", Protocol::group},
    KindInfo{PacketKind::group_view, "group_view", Protocol::group},
    KindInfo{PacketKind::group_view_ack, "group_view_ack", Protocol::group},
    KindInfo{PacketKind::group_heartbeat, "group_heartbeat", Protocol::group},
    KindInfo{PacketKind::group_data, "group_data", Protocol::group},
    KindInfo{PacketKind::group_response, "group_response", Protocol::group},
    KindInfo{PacketKind::order_data, "order_data", Protocol::order},
    KindInfo{PacketKind::order_ack, "order_ack", Protocol::order},
    KindInfo{PacketKind::order_propose, "order_propose", Protocol::order},
    KindInfo{PacketKind::order_flush_report, "order_flush_report", Protocol::order},
    KindInfo{PacketKind::order_flush_outcome, "order_flush_outcome", Protocol::order},
    KindInfo{PacketKind::group_delete, "group_delete", Protocol::group},
};

// How an extension's value is laid out (docs/wire.md, "Extensions"). Integers are
// little-endian.
enum class ValueFormat : std::uint8_t {
    u8,             // 1 byte.
    u32,            // 4 bytes.
    u64,            // 8 bytes.
    utf8,           // Any length, UTF-8 text, no terminator.
    call_id,        // 12 bytes: u32 client incarnation, then u64 sequence.
    local_ids,      // 8 x n bytes: n u64 local ids on the target node.
    pid,            // 16 bytes: u64 node, then u64 local id (local 0: any process of the node).
    vector_clock,   // 8 x n bytes: n u64 entries, one per member of the view.
    view_id,        // 8 bytes: u64 view number of a group (docs/groups.md).
    group_address,  // 1, or 1 + 1 + 4|16 + 2 bytes: a group's low-level address (docs/groups.md).
    pids,           // 16 x n bytes: n pids (u64 node, u64 local id).
};

struct ExtensionInfo {
    ExtensionType type;
    std::string_view name;
    ValueFormat format;
    std::size_t width;  // Exact value length in bytes; 0 when the length varies.
};

inline constexpr std::array extension_table = {
    ExtensionInfo{ExtensionType::reason, "reason", ValueFormat::u8, 1},
    ExtensionInfo{ExtensionType::credit, "credit", ValueFormat::u32, 4},
    ExtensionInfo{ExtensionType::operation, "operation", ValueFormat::utf8, 0},
    ExtensionInfo{ExtensionType::destinations, "destinations", ValueFormat::local_ids, 0},
    ExtensionInfo{ExtensionType::vector_clock, "vector_clock", ValueFormat::vector_clock, 0},
    ExtensionInfo{ExtensionType::view_id, "view_id", ValueFormat::view_id, 8},
    ExtensionInfo{ExtensionType::text, "text", ValueFormat::utf8, 0},
    ExtensionInfo{ExtensionType::call_id, "call_id", ValueFormat::call_id, 12},
    ExtensionInfo{ExtensionType::body_limit, "body_limit", ValueFormat::u64, 8},
    ExtensionInfo{ExtensionType::location, "location", ValueFormat::u64, 8},
    ExtensionInfo{ExtensionType::forwarded, "forwarded", ValueFormat::u64, 8},
    ExtensionInfo{ExtensionType::forwarded_for, "forwarded_for", ValueFormat::utf8, 0},
    ExtensionInfo{ExtensionType::rpc_cookie, "rpc_cookie", ValueFormat::u64, 8},
    ExtensionInfo{ExtensionType::mailbox_name, "mailbox_name", ValueFormat::utf8, 0},
    ExtensionInfo{ExtensionType::mailbox_wait, "mailbox_wait", ValueFormat::u32, 4},
    ExtensionInfo{ExtensionType::mailbox_message, "mailbox_message", ValueFormat::u64, 8},
    ExtensionInfo{ExtensionType::mailbox_from, "mailbox_from", ValueFormat::pid, 16},
    ExtensionInfo{ExtensionType::mailbox_after, "mailbox_after", ValueFormat::u64, 8},
    ExtensionInfo{ExtensionType::mailbox_take, "mailbox_take", ValueFormat::u64, 8},
    ExtensionInfo{ExtensionType::mailbox_seq, "mailbox_seq", ValueFormat::u64, 8},
    ExtensionInfo{ExtensionType::mailbox_sender, "mailbox_sender", ValueFormat::pid, 16},
    ExtensionInfo{ExtensionType::mailbox_floor, "mailbox_floor", ValueFormat::u64, 8},
    ExtensionInfo{ExtensionType::group_name, "group_name", ValueFormat::utf8, 0},
    ExtensionInfo{ExtensionType::group_reliability, "group_reliability", ValueFormat::u32, 4},
    ExtensionInfo{ExtensionType::group_address, "group_address", ValueFormat::group_address, 0},
    ExtensionInfo{ExtensionType::group_members, "group_members", ValueFormat::pids, 0},
    ExtensionInfo{ExtensionType::order_origin, "order_origin", ValueFormat::u32, 4},
    ExtensionInfo{ExtensionType::group_reply_to, "group_reply_to", ValueFormat::pid, 16},
};

// The table row of `raw`, or nullptr for a kind this build does not know.
[[nodiscard]] constexpr const KindInfo* find_kind(std::uint8_t raw) noexcept {
    for (const auto& info : kind_table) {
        if (static_cast<std::uint8_t>(info.kind) == raw) return &info;
    }
    return nullptr;
}

[[nodiscard]] constexpr const ExtensionInfo* find_extension(std::uint8_t raw) noexcept {
    for (const auto& info : extension_table) {
        if (static_cast<std::uint8_t>(info.type) == raw) return &info;
    }
    return nullptr;
}

// Stable name of a protocol ("direct"), or "unknown".
[[nodiscard]] std::string_view protocol_name(Protocol protocol) noexcept;

namespace detail {
constexpr bool rows_unique() {
    for (std::size_t i = 0; i < kind_table.size(); ++i) {
        for (std::size_t j = i + 1; j < kind_table.size(); ++j) {
            if (kind_table[i].kind == kind_table[j].kind) return false;
            if (kind_table[i].name == kind_table[j].name) return false;
        }
    }
    for (std::size_t i = 0; i < extension_table.size(); ++i) {
        for (std::size_t j = i + 1; j < extension_table.size(); ++j) {
            if (extension_table[i].type == extension_table[j].type) return false;
        }
    }
    return true;
}
}  // namespace detail
static_assert(detail::rows_unique(), "a packet kind or extension type is listed twice");

}  // namespace herald::wire

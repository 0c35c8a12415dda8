// Packets of the direct protocol: builders and readers for hello, hello_reply, data (body, offer
// or skip), ack, nack and ready. Layer: proto/direct. Pure functions over wire::Packet.
#pragma once

#include <cstdint>
#include <optional>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/result.h"
#include "wire/packet.h"

namespace herald::proto::direct {

// A packet of `kind` from `source` to `target` with both incarnations set; other fields zero.
[[nodiscard]] wire::Packet make_packet(wire::PacketKind kind, Pid source, Pid target,
                                       std::uint32_t source_incarnation,
                                       std::uint32_t target_incarnation);

// Credit extension (u32 little-endian): free slots in the receiving process's queue.
void put_credit(wire::Packet& packet, std::uint32_t credit);
// Rewrites the credit of a packet that carries one (4 bytes) in place; false when it has none.
bool rewrite_credit(wire::Packet& packet, std::uint32_t credit);
// The credit, or nullopt when it is absent or not exactly 4 bytes.
[[nodiscard]] std::optional<std::uint32_t> read_credit(const wire::Packet& packet);

// Body-limit extension (u64 little-endian) of hello and hello_reply: the largest message body
// the sending node accepts (its body_bytes_max), so that senders refuse larger ones up front.
void put_body_limit(wire::Packet& packet, std::uint64_t bytes);
// The limit, or nullopt when it is absent or not exactly 8 bytes.
[[nodiscard]] std::optional<std::uint64_t> read_body_limit(const wire::Packet& packet);

// Reason extension (u8 Errc) of a nack, or of a data packet that skips its seq.
void put_reason(wire::Packet& packet, Errc reason);
// The reason, or nullopt when it is absent, not 1 byte, or not a known Errc.
[[nodiscard]] std::optional<Errc> read_reason(const wire::Packet& packet);

// A data packet that carries a reason is a skip: its seq was withdrawn and delivers nothing.
[[nodiscard]] inline bool is_skip(const wire::Packet& packet) {
    return packet.find(wire::ExtensionType::reason) != nullptr;
}
[[nodiscard]] inline bool is_offer(const wire::Packet& packet) {
    return (packet.header.flags & wire::flag::offer) != 0;
}

// The node that sent `packet` (docs/migration.md): the `forwarded` extension's node for
// forwarded data, else the `location` extension's (a migrated process's packets), else the
// source pid's node. Node 0 when an extension is not 8 bytes (malformed). Drivers learn
// peer addresses by it.
[[nodiscard]] NodeId sending_node(const wire::Packet& packet);
// The node the packet's source process sent it from: its `location` extension, else the
// source pid's node; unknown (0) for a `location` of a bad width. Unlike sending_node, a
// forwarder does not count (docs/migration.md M8, M15).
[[nodiscard]] NodeId source_node(const wire::Packet& packet);

// 8-byte little-endian encoding (ping round-trip result).
[[nodiscard]] Bytes encode_u64_le(std::uint64_t value);
[[nodiscard]] std::optional<std::uint64_t> decode_u64_le(ByteView bytes);

}  // namespace herald::proto::direct

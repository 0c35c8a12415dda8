// Fields every engine's packets share: little-endian integer and pid codecs for bodies and
// extension values, the u64 extension, a reason extension's check, and `Addressing`, the header
// fields (kind, source, target, both incarnations, seq) that the group and mailbox packets
// fill and read the same way. Layer: proto. Wire layout: docs/wire.md.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/bytes.h"
#include "core/ids.h"
#include "wire/kinds.h"
#include "wire/packet.h"

namespace herald::proto {

void put_u32(Bytes& out, std::uint32_t value);
void put_u64(Bytes& out, std::uint64_t value);
// u64 node, then u64 local id.
void put_pid(Bytes& out, Pid pid);
// Each reads at `offset` and advances it; false (offset unchanged) when too short.
[[nodiscard]] bool get_u8(ByteView in, std::size_t& offset, std::uint8_t& value);
[[nodiscard]] bool get_u32(ByteView in, std::size_t& offset, std::uint32_t& value);
[[nodiscard]] bool get_u64(ByteView in, std::size_t& offset, std::uint64_t& value);
[[nodiscard]] bool get_pid(ByteView in, std::size_t& offset, Pid& pid);

// Appends extension `type` holding `value` as 8 little-endian bytes.
void put_u64_extension(wire::Packet& p, wire::ExtensionType type, std::uint64_t value);
// Reads the optional u64 extension `type`: `present` tells whether the packet has it; false
// when it is present with a length other than 8 (malformed).
[[nodiscard]] bool get_u64_extension(const wire::Packet& p, wire::ExtensionType type, bool& present,
                                     std::uint64_t& value);

// True when `raw` is a defined Errc other than ok (a `reason` extension's one byte).
[[nodiscard]] bool is_error_code(std::uint8_t raw);

// The header fields of a packet that names its endpoints: a packet struct of an engine derives
// from it and adds its own fields.
struct Addressing {
    wire::PacketKind kind{};
    Pid source;
    Pid target;
    std::uint32_t source_incarnation = 0;  // The sending node's incarnation (set by write).
    std::uint32_t target_incarnation = 0;  // 0: any incarnation of the target.
    std::uint64_t id = 0;                  // Header seq.
};

// Fills `h`'s kind, source, target, incarnations and seq from `a`; the source incarnation is
// `self_incarnation`, the sending node's, whatever `a` holds.
void write_addressing(const Addressing& a, std::uint32_t self_incarnation, wire::Header& h);
// The addressing fields of a received header.
[[nodiscard]] Addressing read_addressing(const wire::Header& h);

}  // namespace herald::proto

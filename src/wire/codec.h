// Packet codec: the fixed-length header, the typed-extension area and the body of one datagram.
// Layer: wire. Pure functions: no allocation in encode_into, never read or write past a buffer.
// The byte layout is specified in docs/wire.md; keep the two in step.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/bytes.h"
#include "core/result.h"
#include "wire/packet.h"

namespace herald::wire {

// Size of the fixed header that starts every packet (docs/wire.md, "Fixed header").
inline constexpr std::size_t header_bytes = 108;
// Offset of the CRC-32C field inside the header (zero while the checksum is computed).
inline constexpr std::size_t checksum_offset = 12;
// Each extension is type (u8), length (u16 little-endian), then `length` value bytes.
inline constexpr std::size_t extension_header_bytes = 3;
inline constexpr std::size_t extension_value_bytes_max = 0xFFFF;
// The extension area's length is a u16 in the header.
inline constexpr std::size_t extensions_bytes_max = 0xFFFF;
// Largest message (body) Herald carries, fragmented or not, unless configured otherwise.
inline constexpr std::size_t message_bytes_max_default = std::size_t{16} << 20;

struct DecodeOptions {
    // Packets whose body is longer are rejected (Errc::malformed) before anything is copied.
    std::size_t body_bytes_max = message_bytes_max_default;
    // Errors carry a detail naming the rule broken. Off, a rejected packet costs no allocation
    // (Errc::malformed with an empty detail): for a receive path under a flood (issue 21).
    bool details = true;
};

// True when `raw` is a PacketKind this build knows; the decoder rejects the others.
[[nodiscard]] bool is_known_kind(std::uint8_t raw) noexcept;

// Stable snake_case name of a kind ("rpc_request"), or "unknown". For traces and the CLI.
[[nodiscard]] std::string_view packet_kind_name(PacketKind kind) noexcept;

// Checks that a packet can be encoded so that decode() accepts it:
// Errc::invalid_argument: unknown kind; fragment fields set without flag::fragment; with the
//   flag, fragment_count == 0 or fragment_index >= fragment_count; extension type 0.
// Errc::too_large: an extension value over extension_value_bytes_max, an extension area over
//   extensions_bytes_max, or a body over 2^32 - 1 bytes.
[[nodiscard]] Status check_encodable(const Header& header, std::span<const Extension> extensions,
                                     std::size_t body_bytes) noexcept;
[[nodiscard]] Status check_encodable(const Packet& packet) noexcept;
[[nodiscard]] Status check_encodable(const PacketParts& packet) noexcept;

// Bytes the extension area takes: a type-length header plus the value per extension.
[[nodiscard]] std::size_t extensions_size(std::span<const Extension> extensions) noexcept;

// Exact number of bytes encode() produces: header_bytes + extension area + body.
[[nodiscard]] std::size_t encoded_size(const Packet& packet) noexcept;
[[nodiscard]] std::size_t encoded_size(const PacketParts& packet) noexcept;

// Encodes into `out` (for pool buffers) in one pass, without allocating, and returns the number
// of bytes written (== encoded_size). Errors: those of check_encodable, and Errc::too_large
// when `out` is shorter than encoded_size (nothing useful is written then). Any thread.
[[nodiscard]] Result<std::size_t> encode_into(const Packet& packet, std::span<std::uint8_t> out);
[[nodiscard]] Result<std::size_t> encode_into(const PacketParts& packet,
                                              std::span<std::uint8_t> out);

// Same, from parts: used by the fragmenter to encode one slice of a body without copying it.
[[nodiscard]] Result<std::size_t> encode_parts_into(const Header& header,
                                                    std::span<const Extension> extensions,
                                                    ByteView body, std::span<std::uint8_t> out);

// Writes only the header and the extension area into `out` and returns their size, with the
// checksum computed over header, extensions and `body` as encode_parts_into would write them:
// out[0, size) followed by `body` is the encoded packet, so a transport can send the two pieces
// with one gather write and the body is never copied (docs/performance.md, issue 17 item 2).
// Errors as encode_parts_into (Errc::too_large: `out` shorter than header and extensions).
[[nodiscard]] Result<std::size_t> encode_head_into(const Header& header,
                                                   std::span<const Extension> extensions,
                                                   ByteView body, std::span<std::uint8_t> out);

// Encodes into a new buffer. Precondition (asserted): check_encodable(packet) succeeds; engines
// build packets, so a violation is a programmer error. Any thread.
[[nodiscard]] Bytes encode(const Packet& packet);

// Decodes one datagram. Never reads outside `bytes`; copies extensions and body out of it.
// Errc::malformed (detail says which rule) when: shorter than the header; bad magic; unknown
// version; unknown kind; the header's lengths do not add up to bytes.size(); body longer than
// options.body_bytes_max; checksum mismatch; fragment fields inconsistent (index >= count,
// count 0, or fields set without flag::fragment); an extension of type 0 or that overruns the
// extension area. Unknown extension types are kept (forward compatibility). Any thread.
[[nodiscard]] Result<Packet> decode(ByteView bytes, const DecodeOptions& options = {});

// decode() without copying the body: the packet comes back with an empty body and `body` views
// it inside `bytes` (valid as long as `bytes` is), so that a receiver copies it once, straight
// to where it belongs (the Reassembler's message buffer). Same checks and errors as decode().
[[nodiscard]] Result<Packet> decode_view(ByteView bytes, ByteView& body,
                                         const DecodeOptions& options = {});

// Whether the CRC-32C in the header of `packet` (one whole packet, at least a header long)
// matches its bytes (docs/wire.md, "Checksum"). Any thread.
[[nodiscard]] bool checksum_matches(ByteView packet);

// Length of the packet that starts `bytes` (header_bytes + extension area + body), read from
// its header, so that a datagram carrying several packets back to back can be split
// (docs/wire.md, "Datagrams"). Checks magic, version and that `bytes` holds the whole packet;
// the packet itself is checked by decode(). Errc::malformed otherwise. Any thread.
[[nodiscard]] Result<std::size_t> packet_length(ByteView bytes);
// The same, without an error: 0 when packet_length fails (no allocation: the receive path).
[[nodiscard]] std::size_t packet_length_or_zero(ByteView bytes) noexcept;

// Reads and validates the fixed header only (magic, version, kind, lengths, fragment fields),
// without verifying the checksum or copying anything: for routing before a full decode.
// Errors as decode(), except that checksum and extensions are not checked.
[[nodiscard]] Result<Header> peek_header(ByteView bytes, const DecodeOptions& options = {});

}  // namespace herald::wire

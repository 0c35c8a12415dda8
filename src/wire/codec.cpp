// Packet codec implementation: little-endian fields at fixed offsets (docs/wire.md).
// Layer: wire. Bounds are checked before every read; encode_into writes in one pass.
#include "wire/codec.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/assert.h"
#include "wire/crc32c.h"
#include "wire/kinds.h"

namespace herald::wire {
namespace {

// Field offsets of the fixed header; docs/wire.md has the same table.
namespace off {
constexpr std::size_t magic = 0;
constexpr std::size_t version = 2;
constexpr std::size_t kind = 3;
constexpr std::size_t flags = 4;
constexpr std::size_t extensions_bytes = 6;
constexpr std::size_t body_bytes = 8;
constexpr std::size_t checksum = 12;
constexpr std::size_t source_node = 16;
constexpr std::size_t source_local = 24;
constexpr std::size_t target_node = 32;
constexpr std::size_t target_local = 40;
constexpr std::size_t source_incarnation = 48;
constexpr std::size_t target_incarnation = 52;
constexpr std::size_t epoch = 56;
constexpr std::size_t fragment_id = 60;
constexpr std::size_t seq = 64;
constexpr std::size_t ack = 72;
constexpr std::size_t timestamp = 80;
constexpr std::size_t fragment_index = 88;
constexpr std::size_t fragment_count = 90;
constexpr std::size_t auth_tag = 92;
constexpr std::size_t end = 108;
}  // namespace off
static_assert(off::end == header_bytes);
static_assert(off::checksum == checksum_offset);

// The magic is the two ASCII bytes "HR" (wire::magic read most significant byte first), so a
// packet is recognisable in a hex dump whatever the byte order of the other fields.
constexpr std::uint8_t magic_first = static_cast<std::uint8_t>(magic >> 8);
constexpr std::uint8_t magic_second = static_cast<std::uint8_t>(magic & 0xFF);

template <class T>
void store_le(std::uint8_t* at, T value) {
    using U = std::make_unsigned_t<T>;
    auto u = static_cast<U>(value);
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        at[i] = static_cast<std::uint8_t>(u & 0xFFu);
        u = static_cast<U>(u >> 4 >> 4);  // Two shifts: a single `>> 8` is UB for 8-bit types.
    }
}

template <class T>
T load_le(const std::uint8_t* at) {
    using U = std::make_unsigned_t<T>;
    U u = 0;
    for (std::size_t i = sizeof(T); i > 0; --i) {
        u = static_cast<U>(static_cast<U>(u << 4 << 4) | at[i - 1]);
    }
    return static_cast<T>(u);
}

bool has_fragment_fields(const Header& h) {
    return h.fragment_id != 0 || h.fragment_index != 0 || h.fragment_count != 0;
}

// The fragment rule shared by encoder and decoder; nullptr when the fields are consistent.
const char* fragment_fields_problem(const Header& h) {
    if ((h.flags & flag::fragment) == 0) {
        return has_fragment_fields(h) ? "fragment fields set without the fragment flag" : nullptr;
    }
    if (h.fragment_count == 0) return "fragment count is 0";
    if (h.fragment_index >= h.fragment_count) return "fragment index >= fragment count";
    return nullptr;
}

void write_header(const Header& h, std::uint16_t extensions_bytes, std::uint32_t body_bytes,
                  std::uint8_t* out) {
    out[off::magic] = magic_first;
    out[off::magic + 1] = magic_second;
    out[off::version] = version_current;
    out[off::kind] = static_cast<std::uint8_t>(h.kind);
    store_le(out + off::flags, h.flags);
    store_le(out + off::extensions_bytes, extensions_bytes);
    store_le(out + off::body_bytes, body_bytes);
    store_le(out + off::checksum, std::uint32_t{0});
    store_le(out + off::source_node, h.source.node.value);
    store_le(out + off::source_local, h.source.local);
    store_le(out + off::target_node, h.target.node.value);
    store_le(out + off::target_local, h.target.local);
    store_le(out + off::source_incarnation, h.source_incarnation);
    store_le(out + off::target_incarnation, h.target_incarnation);
    store_le(out + off::epoch, h.epoch);
    store_le(out + off::fragment_id, h.fragment_id);
    store_le(out + off::seq, h.seq);
    store_le(out + off::ack, h.ack);
    store_le(out + off::timestamp, h.timestamp_ns);
    store_le(out + off::fragment_index, h.fragment_index);
    store_le(out + off::fragment_count, h.fragment_count);
    std::memcpy(out + off::auth_tag, h.auth_tag.data(), h.auth_tag.size());
}

Header read_header_fields(const std::uint8_t* in) {
    Header h;
    h.kind = static_cast<PacketKind>(in[off::kind]);
    h.flags = load_le<std::uint16_t>(in + off::flags);
    h.source.node.value = load_le<std::uint64_t>(in + off::source_node);
    h.source.local = load_le<std::uint64_t>(in + off::source_local);
    h.target.node.value = load_le<std::uint64_t>(in + off::target_node);
    h.target.local = load_le<std::uint64_t>(in + off::target_local);
    h.source_incarnation = load_le<std::uint32_t>(in + off::source_incarnation);
    h.target_incarnation = load_le<std::uint32_t>(in + off::target_incarnation);
    h.epoch = load_le<std::uint32_t>(in + off::epoch);
    h.fragment_id = load_le<std::uint32_t>(in + off::fragment_id);
    h.seq = load_le<std::uint64_t>(in + off::seq);
    h.ack = load_le<std::uint64_t>(in + off::ack);
    h.timestamp_ns = load_le<std::int64_t>(in + off::timestamp);
    h.fragment_index = load_le<std::uint16_t>(in + off::fragment_index);
    h.fragment_count = load_le<std::uint16_t>(in + off::fragment_count);
    std::memcpy(h.auth_tag.data(), in + off::auth_tag, h.auth_tag.size());
    return h;
}

// The validated shape of a datagram: its header and where the two variable areas lie.
struct Layout {
    Header header;
    std::size_t extensions_bytes = 0;
    std::size_t body_bytes = 0;
};

// Errc::malformed with `detail` when options ask for details, else without (no allocation).
Error malformed(const DecodeOptions& options, const char* detail) {
    return options.details ? Error{Errc::malformed, detail} : Error{Errc::malformed, {}};
}

Result<Layout> read_layout(ByteView bytes, const DecodeOptions& options) {
    const auto reject = [&](const char* detail) {
        return tl::make_unexpected(malformed(options, detail));
    };
    if (bytes.size() < header_bytes) return reject("shorter than the header");
    const std::uint8_t* in = bytes.data();
    if (in[off::magic] != magic_first || in[off::magic + 1] != magic_second) {
        return reject("bad magic");
    }
    if (in[off::version] != version_current) return reject("unknown version");
    if (!is_known_kind(in[off::kind])) return reject("unknown packet kind");
    Layout layout;
    layout.extensions_bytes = load_le<std::uint16_t>(in + off::extensions_bytes);
    layout.body_bytes = load_le<std::uint32_t>(in + off::body_bytes);
    // Both lengths are below 2^32, so the sum cannot overflow a 64-bit size_t.
    if (header_bytes + layout.extensions_bytes + layout.body_bytes != bytes.size()) {
        return reject("lengths do not match the datagram size");
    }
    if (layout.body_bytes > options.body_bytes_max) {
        return reject("body longer than the configured maximum");
    }
    layout.header = read_header_fields(in);
    if (const char* problem = fragment_fields_problem(layout.header)) return reject(problem);
    return layout;
}

// How many extensions `area` holds, counted by their lengths alone (read_extensions checks
// them): one allocation for the vector instead of one per growth.
std::size_t count_extensions(ByteView area) {
    std::size_t count = 0;
    for (std::size_t at = 0; area.size() - at >= extension_header_bytes; ++count) {
        at += extension_header_bytes + load_le<std::uint16_t>(area.data() + at + 1);
        if (at >= area.size()) return count + 1;
    }
    return count;
}

Result<std::vector<Extension>> read_extensions(ByteView area) {
    std::vector<Extension> extensions;
    if (!area.empty()) extensions.reserve(count_extensions(area));
    std::size_t at = 0;
    while (at < area.size()) {
        if (area.size() - at < extension_header_bytes) {
            return fail(Errc::malformed, "extension header overruns the extension area");
        }
        const std::uint8_t type = area[at];
        const std::size_t length = load_le<std::uint16_t>(area.data() + at + 1);
        at += extension_header_bytes;
        if (type == 0) return fail(Errc::malformed, "extension type 0");
        if (area.size() - at < length) {
            return fail(Errc::malformed, "extension value overruns the extension area");
        }
        const auto value = area.subspan(at, length);
        extensions.push_back({static_cast<ExtensionType>(type), Bytes(value.begin(), value.end())});
        at += length;
    }
    return extensions;
}

}  // namespace

std::size_t extensions_size(std::span<const Extension> extensions) noexcept {
    std::size_t n = 0;
    for (const auto& e : extensions) n += extension_header_bytes + e.value.size();
    return n;
}

bool is_known_kind(std::uint8_t raw) noexcept {
    return find_kind(raw) != nullptr;
}

std::string_view packet_kind_name(PacketKind kind) noexcept {
    const KindInfo* info = find_kind(static_cast<std::uint8_t>(kind));
    return info == nullptr ? std::string_view("unknown") : info->name;
}

std::string_view protocol_name(Protocol protocol) noexcept {
    switch (protocol) {
        case Protocol::direct:
            return "direct";
        case Protocol::rpc:
            return "rpc";
        case Protocol::naming:
            return "naming";
        case Protocol::mailbox:
            return "mailbox";
        case Protocol::group:
            return "group";
        case Protocol::order:
            return "order";
    }
    return "unknown";
}

Status check_encodable(const Header& header, std::span<const Extension> extensions,
                       std::size_t body_bytes) noexcept {
    if (!is_known_kind(static_cast<std::uint8_t>(header.kind))) {
        return fail(Errc::invalid_argument, "unknown packet kind");
    }
    if (const char* problem = fragment_fields_problem(header)) {
        return fail(Errc::invalid_argument, problem);
    }
    for (const auto& e : extensions) {
        if (static_cast<std::uint8_t>(e.type) == 0) {
            return fail(Errc::invalid_argument, "extension type 0");
        }
        if (e.value.size() > extension_value_bytes_max) {
            return fail(Errc::too_large, "extension value longer than 65535 bytes");
        }
    }
    if (extensions_size(extensions) > extensions_bytes_max) {
        return fail(Errc::too_large, "extension area longer than 65535 bytes");
    }
    if (body_bytes > std::numeric_limits<std::uint32_t>::max()) {
        return fail(Errc::too_large, "body longer than 2^32 - 1 bytes");
    }
    return {};
}

Status check_encodable(const Packet& packet) noexcept {
    return check_encodable(parts_of(packet));
}

Status check_encodable(const PacketParts& packet) noexcept {
    return check_encodable(packet.header, packet.extensions, packet.body.size());
}

std::size_t encoded_size(const Packet& packet) noexcept {
    return encoded_size(parts_of(packet));
}

std::size_t encoded_size(const PacketParts& packet) noexcept {
    return header_bytes + extensions_size(packet.extensions) + packet.body.size();
}

namespace {

// Header and extensions into `p` (room checked by the caller); returns the byte after them.
std::uint8_t* write_head(const Header& header, std::span<const Extension> extensions,
                         std::size_t extensions_bytes, std::size_t body_bytes, std::uint8_t* p) {
    write_header(header, static_cast<std::uint16_t>(extensions_bytes),
                 static_cast<std::uint32_t>(body_bytes), p);
    p += header_bytes;
    for (const auto& e : extensions) {
        p[0] = static_cast<std::uint8_t>(e.type);
        store_le(p + 1, static_cast<std::uint16_t>(e.value.size()));
        p += extension_header_bytes;
        if (!e.value.empty()) std::memcpy(p, e.value.data(), e.value.size());
        p += e.value.size();
    }
    return p;
}

}  // namespace

Result<std::size_t> encode_parts_into(const Header& header, std::span<const Extension> extensions,
                                      ByteView body, std::span<std::uint8_t> out) {
    HERALD_TRY(auto head, encode_head_into(header, extensions, body, out));
    if (out.size() - head < body.size()) return fail(Errc::too_large, "output buffer too small");
    if (!body.empty()) std::memcpy(out.data() + head, body.data(), body.size());
    return head + body.size();
}

Result<std::size_t> encode_head_into(const Header& header, std::span<const Extension> extensions,
                                     ByteView body, std::span<std::uint8_t> out) {
    HERALD_TRY(check_encodable(header, extensions, body.size()));
    const std::size_t extensions_bytes = extensions_size(extensions);
    const std::size_t head = header_bytes + extensions_bytes;
    if (out.size() < head) return fail(Errc::too_large, "output buffer too small");
    write_head(header, extensions, extensions_bytes, body.size(), out.data());
    const std::uint32_t crc = crc32c_extend(crc32c(ByteView(out.data(), head)), body);
    store_le(out.data() + off::checksum, crc);
    return head;
}

Result<std::size_t> encode_into(const Packet& packet, std::span<std::uint8_t> out) {
    return encode_into(parts_of(packet), out);
}

Result<std::size_t> encode_into(const PacketParts& packet, std::span<std::uint8_t> out) {
    return encode_parts_into(packet.header, packet.extensions, packet.body, out);
}

Bytes encode(const Packet& packet) {
    Bytes out(encoded_size(packet));
    auto written = encode_into(packet, out);
    HERALD_ASSERT(written.has_value());
    HERALD_ASSERT(*written == out.size());
    return out;
}

std::size_t packet_length_or_zero(ByteView bytes) noexcept {
    if (bytes.size() < header_bytes) return 0;
    const std::uint8_t* in = bytes.data();
    if (in[off::magic] != magic_first || in[off::magic + 1] != magic_second) return 0;
    if (in[off::version] != version_current) return 0;
    // Both lengths are below 2^32, so the sum cannot overflow a 64-bit size_t.
    const std::size_t length = header_bytes + load_le<std::uint16_t>(in + off::extensions_bytes) +
                               load_le<std::uint32_t>(in + off::body_bytes);
    return length > bytes.size() ? 0 : length;
}

Result<std::size_t> packet_length(ByteView bytes) {
    if (const std::size_t length = packet_length_or_zero(bytes); length != 0) return length;
    if (bytes.size() < header_bytes) return fail(Errc::malformed, "shorter than the header");
    const std::uint8_t* in = bytes.data();
    if (in[off::magic] != magic_first || in[off::magic + 1] != magic_second) {
        return fail(Errc::malformed, "bad magic");
    }
    if (in[off::version] != version_current) return fail(Errc::malformed, "unknown version");
    return fail(Errc::malformed, "packet overruns the datagram");
}

Result<Header> peek_header(ByteView bytes, const DecodeOptions& options) {
    HERALD_TRY(auto layout, read_layout(bytes, options));
    return layout.header;
}

bool checksum_matches(ByteView packet) {
    HERALD_ASSERT(packet.size() >= header_bytes);
    const std::uint32_t expected = load_le<std::uint32_t>(packet.data() + off::checksum);
    // The checksum covers every byte with its own field read as zero.
    static constexpr std::uint8_t zeros[4] = {0, 0, 0, 0};
    std::uint32_t crc = crc32c(packet.first(off::checksum));
    crc = crc32c_extend(crc, ByteView(zeros, sizeof zeros));
    crc = crc32c_extend(crc, packet.subspan(off::checksum + sizeof zeros));
    return crc == expected;
}

Result<Packet> decode_view(ByteView bytes, ByteView& body, const DecodeOptions& options) {
    HERALD_TRY(auto layout, read_layout(bytes, options));
    if (!checksum_matches(bytes))
        return tl::make_unexpected(malformed(options, "checksum mismatch"));
    Packet packet;
    packet.header = layout.header;
    HERALD_TRY(packet.extensions,
               read_extensions(bytes.subspan(header_bytes, layout.extensions_bytes)));
    body = bytes.subspan(header_bytes + layout.extensions_bytes, layout.body_bytes);
    return packet;
}

Result<Packet> decode(ByteView bytes, const DecodeOptions& options) {
    ByteView body;
    HERALD_TRY(auto packet, decode_view(bytes, body, options));
    packet.body.assign(body.begin(), body.end());
    return packet;
}

}  // namespace herald::wire

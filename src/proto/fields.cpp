// Shared packet field codecs. Layer: proto.
#include "proto/fields.h"

#include "herald/errors.h"

namespace herald::proto {

void put_u32(Bytes& out, std::uint32_t value) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

void put_u64(Bytes& out, std::uint64_t value) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

void put_pid(Bytes& out, Pid pid) {
    put_u64(out, pid.node.value);
    put_u64(out, pid.local);
}

bool get_u8(ByteView in, std::size_t& offset, std::uint8_t& value) {
    if (in.size() <= offset) return false;
    value = in[offset++];
    return true;
}

bool get_u32(ByteView in, std::size_t& offset, std::uint32_t& value) {
    if (in.size() < offset || in.size() - offset < 4) return false;
    value = 0;
    for (std::size_t i = 0; i < 4; ++i) value |= std::uint32_t{in[offset + i]} << (8 * i);
    offset += 4;
    return true;
}

bool get_u64(ByteView in, std::size_t& offset, std::uint64_t& value) {
    if (in.size() < offset || in.size() - offset < 8) return false;
    value = 0;
    for (std::size_t i = 0; i < 8; ++i) value |= std::uint64_t{in[offset + i]} << (8 * i);
    offset += 8;
    return true;
}

bool get_pid(ByteView in, std::size_t& offset, Pid& pid) {
    const std::size_t start = offset;
    if (get_u64(in, offset, pid.node.value) && get_u64(in, offset, pid.local)) return true;
    offset = start;
    return false;
}

void put_u64_extension(wire::Packet& p, wire::ExtensionType type, std::uint64_t value) {
    Bytes bytes;
    put_u64(bytes, value);
    p.extensions.push_back({type, std::move(bytes)});
}

bool get_u64_extension(const wire::Packet& p, wire::ExtensionType type, bool& present,
                       std::uint64_t& value) {
    const auto* e = p.find(type);
    present = e != nullptr;
    if (e == nullptr) return true;
    std::size_t offset = 0;
    return e->value.size() == 8 && get_u64(e->value, offset, value);
}

bool is_error_code(std::uint8_t raw) {
    return raw != 0 && errc_name(static_cast<Errc>(raw)) != "unknown";
}

void write_addressing(const Addressing& a, std::uint32_t self_incarnation, wire::Header& h) {
    h.kind = a.kind;
    h.source = a.source;
    h.target = a.target;
    h.source_incarnation = self_incarnation;
    h.target_incarnation = a.target_incarnation;
    h.seq = a.id;
}

Addressing read_addressing(const wire::Header& h) {
    Addressing a;
    a.kind = h.kind;
    a.source = h.source;
    a.target = h.target;
    a.source_incarnation = h.source_incarnation;
    a.target_incarnation = h.target_incarnation;
    a.id = h.seq;
    return a;
}

}  // namespace herald::proto

// Packet builders and readers of the direct protocol. Layer: proto/direct.
#include "proto/direct/direct_messages.h"

namespace herald::proto::direct {

wire::Packet make_packet(wire::PacketKind kind, Pid source, Pid target,
                         std::uint32_t source_incarnation, std::uint32_t target_incarnation) {
    wire::Packet packet;
    packet.header.kind = kind;
    packet.header.source = source;
    packet.header.target = target;
    packet.header.source_incarnation = source_incarnation;
    packet.header.target_incarnation = target_incarnation;
    return packet;
}

void put_credit(wire::Packet& packet, std::uint32_t credit) {
    Bytes value(4);
    for (std::size_t i = 0; i < 4; ++i) value[i] = static_cast<std::uint8_t>(credit >> (8 * i));
    packet.extensions.push_back({wire::ExtensionType::credit, std::move(value)});
}

bool rewrite_credit(wire::Packet& packet, std::uint32_t credit) {
    for (wire::Extension& e : packet.extensions) {
        if (e.type != wire::ExtensionType::credit || e.value.size() != 4) continue;
        for (std::size_t i = 0; i < 4; ++i)
            e.value[i] = static_cast<std::uint8_t>(credit >> (8 * i));
        return true;
    }
    return false;
}

std::optional<std::uint32_t> read_credit(const wire::Packet& packet) {
    const wire::Extension* e = packet.find(wire::ExtensionType::credit);
    if (e == nullptr || e->value.size() != 4) return std::nullopt;
    std::uint32_t credit = 0;
    for (std::size_t i = 0; i < 4; ++i) credit |= std::uint32_t{e->value[i]} << (8 * i);
    return credit;
}

void put_body_limit(wire::Packet& packet, std::uint64_t bytes) {
    packet.extensions.push_back({wire::ExtensionType::body_limit, encode_u64_le(bytes)});
}

std::optional<std::uint64_t> read_body_limit(const wire::Packet& packet) {
    const wire::Extension* e = packet.find(wire::ExtensionType::body_limit);
    if (e == nullptr) return std::nullopt;
    return decode_u64_le(e->value);
}

void put_reason(wire::Packet& packet, Errc reason) {
    packet.extensions.push_back(
        {wire::ExtensionType::reason, Bytes{static_cast<std::uint8_t>(reason)}});
}

std::optional<Errc> read_reason(const wire::Packet& packet) {
    const wire::Extension* e = packet.find(wire::ExtensionType::reason);
    if (e == nullptr || e->value.size() != 1) return std::nullopt;
    if (e->value[0] > static_cast<std::uint8_t>(Errc::not_found)) return std::nullopt;
    return static_cast<Errc>(e->value[0]);
}

Bytes encode_u64_le(std::uint64_t value) {
    Bytes out(8);
    for (std::size_t i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(value >> (8 * i));
    return out;
}

std::optional<std::uint64_t> decode_u64_le(ByteView bytes) {
    if (bytes.size() != 8) return std::nullopt;
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < 8; ++i) value |= std::uint64_t{bytes[i]} << (8 * i);
    return value;
}

NodeId source_node(const wire::Packet& packet) {
    const wire::Extension* e = packet.find(wire::ExtensionType::location);
    if (e == nullptr) return packet.header.source.node;
    const auto node = decode_u64_le(e->value);
    return node ? NodeId{*node} : NodeId{};
}

NodeId sending_node(const wire::Packet& packet) {
    for (const auto type : {wire::ExtensionType::forwarded, wire::ExtensionType::location}) {
        const wire::Extension* e = packet.find(type);
        if (e == nullptr) continue;
        const auto node = decode_u64_le(e->value);
        return node ? NodeId{*node} : NodeId{};
    }
    return packet.header.source.node;
}

}  // namespace herald::proto::direct

// RapidCheck helpers for wire property tests: random packets and packet equality.
// Layer: wire (tests). The pick_* functions draw values and may only run inside a property.
#pragma once

#include <rapidcheck.h>

#include <cstdint>
#include <vector>

#include "wire/codec.h"
#include "wire/packet.h"

namespace herald::wire::testing {

inline PacketKind pick_kind() {
    return *rc::gen::element(PacketKind::hello, PacketKind::hello_reply, PacketKind::data,
                             PacketKind::ack, PacketKind::nack, PacketKind::ready,
                             PacketKind::rpc_request, PacketKind::rpc_ack, PacketKind::rpc_response,
                             PacketKind::rpc_response_ack, PacketKind::rpc_nack);
}

inline Bytes pick_bytes(std::size_t size_max) {
    const auto size = *rc::gen::inRange<std::size_t>(0, size_max + 1);
    return *rc::gen::container<Bytes>(size, rc::gen::arbitrary<std::uint8_t>());
}

// A random unfragmented packet with up to `extensions_max` extensions and `body_max` body bytes.
inline Packet pick_packet(std::size_t body_max, std::size_t extensions_max = 4) {
    Packet p;
    Header& h = p.header;
    h.kind = pick_kind();
    h.flags = static_cast<std::uint16_t>(*rc::gen::arbitrary<std::uint16_t>() & ~flag::fragment);
    h.source =
        Pid{NodeId{*rc::gen::arbitrary<std::uint64_t>()}, *rc::gen::arbitrary<std::uint64_t>()};
    h.target =
        Pid{NodeId{*rc::gen::arbitrary<std::uint64_t>()}, *rc::gen::arbitrary<std::uint64_t>()};
    h.source_incarnation = *rc::gen::arbitrary<std::uint32_t>();
    h.target_incarnation = *rc::gen::arbitrary<std::uint32_t>();
    h.epoch = *rc::gen::arbitrary<std::uint32_t>();
    h.seq = *rc::gen::arbitrary<std::uint64_t>();
    h.ack = *rc::gen::arbitrary<std::uint64_t>();
    h.timestamp_ns = *rc::gen::arbitrary<std::int64_t>();
    for (auto& byte : h.auth_tag) byte = *rc::gen::arbitrary<std::uint8_t>();
    const auto extensions = *rc::gen::inRange<std::size_t>(0, extensions_max + 1);
    for (std::size_t i = 0; i < extensions; ++i) {
        const auto type = *rc::gen::inRange<int>(1, 256);
        p.extensions.push_back({static_cast<ExtensionType>(type), pick_bytes(40)});
    }
    p.body = pick_bytes(body_max);
    return p;
}

inline bool same_packet(const Packet& a, const Packet& b) {
    // encode() covers every field of the header, the extensions in order and the body.
    return encode(a) == encode(b);
}

}  // namespace herald::wire::testing

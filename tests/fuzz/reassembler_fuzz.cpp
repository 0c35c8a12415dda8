// libFuzzer target for wire::Reassembler. Layer: wire (fuzz tier).
// The input drives two scenarios: (1) arbitrary fragments (few keys, counts, sizes, clock steps),
// checking the memory and count bounds after every step; (2) a body cut by wire::fragment and
// delivered in a fuzzer-chosen order with duplicates and losses, checking that a delivered
// message is identical to the original and delivered at most once. Both sometimes give fragment
// bodies spare capacity (an owned fragment 0 with room for the whole message), and sometimes
// hand the slice over as a view (decode_view, the Link's way: copied once, into the message).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <utility>

#include "wire/fragment.h"

namespace {

namespace wire = herald::wire;
using herald::Duration;
using herald::Time;

void require(bool condition) {
    if (!condition) std::abort();
}

const wire::ReassemblerOptions options{.message_bytes_max = 4096,
                                       .held_bytes_max = 8192,
                                       .partial_messages_max = 4,
                                       .timeout = Duration::milliseconds(50)};

wire::Packet arbitrary_fragment(FuzzedDataProvider& in) {
    wire::Packet p;
    p.header.kind = wire::PacketKind::data;
    p.header.flags = wire::flag::fragment;
    p.header.source.node.value = in.ConsumeIntegralInRange<std::uint64_t>(1, 3);
    p.header.fragment_id = in.ConsumeIntegralInRange<std::uint32_t>(0, 2);
    p.header.fragment_count = in.ConsumeIntegralInRange<std::uint16_t>(1, 8);
    p.header.fragment_index = in.ConsumeIntegralInRange<std::uint16_t>(0, 9);  // May be invalid.
    p.header.seq = in.ConsumeIntegralInRange<std::uint64_t>(0, 1);
    if (in.ConsumeBool()) p.extensions.push_back({wire::ExtensionType::text, {1, 2}});
    const auto length = in.ConsumeIntegralInRange<std::size_t>(0, 1200);
    const bool roomy = in.ConsumeBool();  // An owned fragment 0 with room for the whole.
    p.body = in.ConsumeBytes<std::uint8_t>(length);
    if (roomy) p.body.reserve(p.body.size() * p.header.fragment_count);
    return p;
}

void arbitrary_fragments(FuzzedDataProvider& in) {
    wire::Reassembler r(options);
    Time now = Time::zero();
    while (in.remaining_bytes() > 0) {
        now += Duration::milliseconds(in.ConsumeIntegralInRange<std::int64_t>(0, 30));
        wire::Packet fragment = arbitrary_fragment(in);
        herald::Bytes slice;
        if (in.ConsumeBool()) slice = std::exchange(fragment.body, {});
        auto out = slice.empty() ? r.on_fragment(std::move(fragment), now)
                                 : r.on_fragment(std::move(fragment), slice, now);
        require(r.held_bytes() <= options.held_bytes_max);
        require(r.partial_messages() <= options.partial_messages_max);
        if (out && out->has_value()) require((*out)->body.size() <= options.message_bytes_max);
    }
    r.expire(now + options.timeout);
    require(r.held_bytes() == 0);
}

void fragmented_message(FuzzedDataProvider& in) {
    wire::Packet original;
    original.header.kind = wire::PacketKind::rpc_request;
    original.header.source.node.value = 9;
    const auto datagram = in.ConsumeIntegralInRange<std::size_t>(wire::header_bytes + 1, 400);
    original.body = in.ConsumeBytes<std::uint8_t>(in.ConsumeIntegralInRange<std::size_t>(0, 3000));
    auto parts = wire::fragment(original, datagram, 1, options.message_bytes_max);
    if (!parts || parts->size() < 2) return;
    wire::Reassembler r(options);
    wire::DecodeOptions decode_options;
    decode_options.body_bytes_max = options.message_bytes_max;
    const bool viewed = in.ConsumeBool();  // The Link's way (decode_view), or a copied body.
    int delivered = 0;
    while (in.remaining_bytes() > 0) {
        const auto index = in.ConsumeIntegralInRange<std::size_t>(0, parts->size() - 1);
        herald::ByteView slice;
        auto packet = viewed ? wire::decode_view((*parts)[index], slice, decode_options)
                             : wire::decode((*parts)[index], decode_options);
        require(packet.has_value());
        auto out = viewed ? r.on_fragment(std::move(*packet), slice, Time::zero())
                          : r.on_fragment(std::move(*packet), Time::zero());
        if (!out || !out->has_value()) continue;
        require(wire::encode(**out) == wire::encode(original));
        require(++delivered == 1);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    if (in.ConsumeBool()) {
        arbitrary_fragments(in);
    } else {
        fragmented_message(in);
    }
    return 0;
}

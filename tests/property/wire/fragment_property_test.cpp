// Property tests of fragmentation and reassembly under reordering, duplication and loss of
// fragments, with several senders and small memory bounds. Layer: wire.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <random>

#include "packet_gen.h"
#include "wire/fragment.h"

namespace herald::wire {
namespace {

using testing::pick_packet;
using testing::same_packet;

const Time now = Time::zero() + Duration::seconds(1);

std::size_t extensions_bytes(const Packet& p) {
    return encoded_size(p) - header_bytes - p.body.size();
}

// A packet with a large body, and a datagram size that cuts it into 1 to a few hundred fragments.
struct Case {
    Packet packet;
    std::size_t datagram_bytes = 0;
};

Case pick_case(std::uint64_t node = 1) {
    Case c;
    c.packet = pick_packet(30000, 3);
    c.packet.header.source.node = NodeId{node};
    const std::size_t slice_min = std::max<std::size_t>(1, c.packet.body.size() / 300);
    const auto slice = *rc::gen::inRange<std::size_t>(slice_min, 3000);
    c.datagram_bytes = header_bytes + extensions_bytes(c.packet) + slice;
    return c;
}

std::vector<Packet> decoded_fragments(const Case& c, std::uint32_t fragment_id) {
    auto datagrams = fragment(c.packet, c.datagram_bytes, fragment_id);
    RC_ASSERT(datagrams.has_value());
    std::vector<Packet> out;
    for (const auto& d : *datagrams) {
        RC_ASSERT(d.size() <= c.datagram_bytes);
        auto decoded = decode(d);
        RC_ASSERT(decoded.has_value());
        out.push_back(std::move(*decoded));
    }
    return out;
}

// Each fragment 0-2 times (`lossy`) or 1-3 times, shuffled.
std::vector<Packet> deliveries(const std::vector<Packet>& parts, bool lossy) {
    std::vector<Packet> out;
    for (const auto& part : parts) {
        const int copies = *rc::gen::inRange(lossy ? 0 : 1, 4);
        for (int i = 0; i < copies; ++i) out.push_back(part);
    }
    std::mt19937_64 shuffle_rng(*rc::gen::arbitrary<std::uint64_t>());
    std::shuffle(out.begin(), out.end(), shuffle_rng);
    return out;
}

RC_GTEST_PROP(FragmentProperty, ReorderedAndDuplicatedFragmentsReassembleExactlyOnce, ()) {
    const Case c = pick_case();
    const auto parts = decoded_fragments(c, *rc::gen::arbitrary<std::uint32_t>());
    if (parts.size() == 1) {
        RC_ASSERT((parts[0].header.flags & flag::fragment) == 0);  // Fits: sent unfragmented.
        RC_ASSERT(same_packet(parts[0], c.packet));
        return;
    }
    Reassembler r;
    int completed = 0;
    for (auto& part : deliveries(parts, false)) {
        auto out = r.on_fragment(std::move(part), now);
        RC_ASSERT(out.has_value());
        if (out->has_value()) {
            ++completed;
            RC_ASSERT(same_packet(**out, c.packet));
        }
    }
    RC_ASSERT(completed == 1);
    RC_ASSERT(r.held_bytes() == 0u);
    RC_ASSERT(r.partial_messages() == 0u);
}

RC_GTEST_PROP(FragmentProperty, WithLossAMessageIsWholeOrNeverDelivered, ()) {
    const Case c = pick_case();
    const auto parts = decoded_fragments(c, 1);
    RC_PRE(parts.size() > 1);
    const ReassemblerOptions options{.held_bytes_max = *rc::gen::inRange<std::size_t>(1, 200000)};
    Reassembler r(options);
    const auto delivered = deliveries(parts, true);
    std::vector<bool> seen(parts.size(), false);
    for (const auto& part : delivered) seen[part.header.fragment_index] = true;
    int completed = 0;
    bool refused = false;
    for (const auto& part : delivered) {
        auto out = r.on_fragment(part, now);
        RC_ASSERT(r.held_bytes() <= options.held_bytes_max);
        if (!out) {
            RC_ASSERT(out.error().code == Errc::too_large);  // Cannot fit the memory bound.
            refused = true;
            continue;
        }
        if (out->has_value()) {
            ++completed;
            RC_ASSERT(same_packet(**out, c.packet));
        }
    }
    const bool all_arrived = std::all_of(seen.begin(), seen.end(), [](bool b) { return b; });
    RC_ASSERT(completed <= 1);
    if (completed == 1) RC_ASSERT(all_arrived);
    if (all_arrived && !refused) RC_ASSERT(completed == 1);
    r.expire(now + Duration::seconds(5));
    RC_ASSERT(r.held_bytes() == 0u);
}

RC_GTEST_PROP(FragmentProperty, InterleavedSendersStayWithinBoundsAndNeverCorrupt, ()) {
    const auto senders = *rc::gen::inRange<std::uint64_t>(2, 6);
    std::vector<Case> cases;
    std::vector<Packet> all;
    for (std::uint64_t node = 1; node <= senders; ++node) {
        cases.push_back(pick_case(node));
        auto parts = decoded_fragments(cases.back(), 7);  // Same id: keyed apart by node.
        if (parts.size() == 1) continue;
        all.insert(all.end(), parts.begin(), parts.end());
    }
    const ReassemblerOptions options{.held_bytes_max = *rc::gen::inRange<std::size_t>(1000, 100000),
                                     .partial_messages_max = *rc::gen::inRange<std::size_t>(1, 4)};
    Reassembler r(options);
    std::vector<int> completions(senders + 1, 0);
    for (auto& part : deliveries(all, true)) {
        auto out = r.on_fragment(std::move(part), now);
        RC_ASSERT(r.held_bytes() <= options.held_bytes_max);
        RC_ASSERT(r.partial_messages() <= options.partial_messages_max);
        if (!out) {
            RC_ASSERT(out.error().code == Errc::too_large);
            continue;
        }
        if (!out->has_value()) continue;
        const std::uint64_t node = (*out)->header.source.node.value;
        RC_ASSERT(node >= 1 && node <= senders);
        RC_ASSERT(same_packet(**out, cases[node - 1].packet));
        RC_ASSERT(++completions[node] == 1);
    }
}

}  // namespace
}  // namespace herald::wire

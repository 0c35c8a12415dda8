// Unit tests of the fragmenter and the Reassembler: plans, bounds, timeouts, rejections.
// Layer: wire.
#include "wire/fragment.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace herald::wire {
namespace {

constexpr std::size_t datagram = 300;  // Small datagrams make many fragments from small bodies.

Packet big_packet(std::size_t body_bytes, std::uint64_t node = 0xABC) {
    Packet p;
    p.header.kind = PacketKind::data;
    p.header.source = Pid{NodeId{node}, 5};
    p.header.target = Pid{NodeId{0xDEF}, 6};
    p.header.source_incarnation = 2;
    p.header.seq = 99;
    p.extensions.push_back({ExtensionType::operation, to_bytes("bulk")});
    p.body.resize(body_bytes);
    for (std::size_t i = 0; i < body_bytes; ++i) p.body[i] = static_cast<std::uint8_t>(i * 31);
    return p;
}

std::vector<Packet> fragments_of(const Packet& p, std::uint32_t id, std::size_t size = datagram) {
    auto datagrams = fragment(p, size, id);
    EXPECT_TRUE(datagrams.has_value());
    std::vector<Packet> out;
    for (const auto& d : *datagrams) {
        EXPECT_LE(d.size(), size);
        auto decoded = decode(d);
        EXPECT_TRUE(decoded.has_value()) << decoded.error().to_string();
        out.push_back(std::move(*decoded));
    }
    return out;
}

Time at_ms(std::int64_t ms) {
    return Time::zero() + Duration::milliseconds(ms);
}

TEST(Fragment, LeavesAPacketThatFitsUnchanged) {
    const Packet p = big_packet(100);
    auto datagrams = fragment(p, 1200, 7);
    ASSERT_TRUE(datagrams.has_value());
    ASSERT_EQ(datagrams->size(), 1u);
    EXPECT_EQ(datagrams->front(), encode(p));
}

TEST(Fragment, CutsTheBodyIntoEqualSlicesWithExtensionsOnlyOnTheFirst) {
    const Packet p = big_packet(1000);
    auto plan = plan_fragments(p, datagram);
    ASSERT_TRUE(plan.has_value());
    // As few fragments as fit (the room after header and extensions is 185 bytes), with slices
    // as equal as possible: 6 fragments of 167 bytes, the last 165.
    const std::size_t room = datagram - header_bytes - (extension_header_bytes + 4);
    ASSERT_EQ(room, 185u);
    EXPECT_EQ(plan->count, 6u);
    const std::size_t slice = 167;
    EXPECT_EQ(plan->body_bytes_per_fragment, slice);
    const auto parts = fragments_of(p, 7);
    ASSERT_EQ(parts.size(), plan->count);
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const Header& h = parts[i].header;
        EXPECT_NE(h.flags & flag::fragment, 0);
        EXPECT_EQ(h.fragment_id, 7u);
        EXPECT_EQ(h.fragment_index, i);
        EXPECT_EQ(h.fragment_count, parts.size());
        EXPECT_EQ(h.seq, 99u);
        EXPECT_EQ(parts[i].extensions.size(), i == 0 ? 1u : 0u);
        const bool last = i + 1 == parts.size();
        EXPECT_EQ(parts[i].body.size(), last ? 1000 - slice * i : slice);
    }
}

// A 64 KiB body over UDP: two halves. An owned fragment 0 body with room for the whole message
// is filled in place even when it comes last (one buffer of the message's size, no copy of it);
// handed over as views (the Link's way), either order ends in one buffer of the message's size.
TEST(Fragment, ReassemblesALargeBodyIntoFragmentZerosBuffer) {
    const Packet p = big_packet(65536);
    auto datagrams = fragment(p, 65507, 3);
    ASSERT_TRUE(datagrams.has_value());
    ASSERT_EQ(datagrams->size(), 2u);
    auto first = decode(datagrams->front());
    auto second = decode(datagrams->back());
    ASSERT_TRUE(first && second);
    EXPECT_EQ(first->body.size(), 32768u);
    EXPECT_EQ(second->body.size(), 32768u);
    EXPECT_EQ(first->body.capacity(), 32768u);  // decode() reserves nothing.
    first->body.reserve(65536);
    const std::uint8_t* buffer = first->body.data();
    Reassembler r;
    ASSERT_EQ(r.on_fragment(std::move(*second), at_ms(0)).value(), std::nullopt);
    auto whole = r.on_fragment(std::move(*first), at_ms(0));
    ASSERT_TRUE(whole && *whole);
    EXPECT_EQ((*whole)->body, p.body);
    EXPECT_EQ((*whole)->body.data(), buffer);
    for (const bool reversed : {false, true}) {
        Reassembler viewed;
        std::optional<Packet> out;
        for (std::size_t k = 0; k < 2; ++k) {
            ByteView body;
            auto packet = decode_view((*datagrams)[reversed ? 1 - k : k], body);
            ASSERT_TRUE(packet);
            auto step = viewed.on_fragment(std::move(*packet), body, at_ms(0));
            ASSERT_TRUE(step);
            if (*step) out = std::move(**step);
        }
        ASSERT_TRUE(out) << reversed;
        EXPECT_EQ(out->body, p.body) << reversed;
        EXPECT_EQ(out->body.capacity(), 65536u) << reversed;
    }
}

// The Link's receive path (issue 17): decode_view leaves each slice in its datagram and the
// Reassembler copies it once. Fragment 0 first gets room for the whole message, the slices that
// follow in order are appended to it (charged only their slot), and the message leaves in that
// buffer; slices out of order get buffers of their own and are joined at the end.
TEST(Reassembler, CopiesViewedSlicesOnceIntoTheMessagesBuffer) {
    const Packet p = big_packet(5000);
    auto datagrams = fragment(p, datagram, 4);
    ASSERT_TRUE(datagrams && datagrams->size() > 3);
    const std::size_t count = datagrams->size();
    const auto feed = [](Reassembler& r, const Bytes& d, std::int64_t ms) {
        ByteView body;
        auto packet = decode_view(d, body);
        EXPECT_TRUE(packet && packet->body.empty());
        return r.on_fragment(std::move(*packet), body, at_ms(ms));
    };
    Reassembler in_order;
    ASSERT_EQ(feed(in_order, (*datagrams)[0], 0).value(), std::nullopt);
    ByteView slice;
    ASSERT_TRUE(decode_view((*datagrams)[0], slice));
    const std::size_t first = in_order.held_bytes();
    EXPECT_EQ(first, count * slice.size() + 7 + Reassembler::slot_overhead_bytes);
    ASSERT_EQ(feed(in_order, (*datagrams)[1], 0).value(), std::nullopt);
    EXPECT_EQ(in_order.held_bytes(), first + Reassembler::slot_overhead_bytes);
    for (std::size_t i = 2; i + 1 < count; ++i) ASSERT_TRUE(feed(in_order, (*datagrams)[i], 0));
    auto whole = feed(in_order, datagrams->back(), 0);
    ASSERT_TRUE(whole && *whole);
    EXPECT_EQ((*whole)->body, p.body);
    EXPECT_EQ((*whole)->body.capacity(), count * slice.size());  // Fragment 0's buffer.
    Reassembler reversed;
    for (std::size_t i = count; i > 1; --i) ASSERT_TRUE(feed(reversed, (*datagrams)[i - 1], 0));
    auto joined = feed(reversed, (*datagrams)[0], 0);
    ASSERT_TRUE(joined && *joined);
    EXPECT_EQ((*joined)->body, p.body);
}

// A duplicate of a slice already appended to the message's buffer is compared with the bytes
// there: the same is ignored, other contents drop the message.
TEST(Reassembler, ComparesADuplicateWithTheSliceInTheMessagesBuffer) {
    auto datagrams = fragment(big_packet(1000), datagram, 4);
    ASSERT_TRUE(datagrams && datagrams->size() > 3);
    Reassembler r;
    for (std::size_t i = 0; i < 3; ++i) {
        ByteView body;
        auto packet = decode_view((*datagrams)[i], body);
        ASSERT_TRUE(packet);
        ASSERT_EQ(r.on_fragment(std::move(*packet), body, at_ms(0)).value(), std::nullopt);
    }
    auto same = decode((*datagrams)[2]);
    ASSERT_TRUE(same);
    ASSERT_EQ(r.on_fragment(*same, at_ms(0)).value(), std::nullopt);
    EXPECT_EQ(r.counters().fragments_duplicate, 1u);
    same->body.back() ^= 1;
    auto out = r.on_fragment(std::move(*same), at_ms(0));
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().code, Errc::malformed);
    EXPECT_EQ(r.partial_messages(), 0u);
    EXPECT_EQ(r.held_bytes(), 0u);
}

TEST(Fragment, RefusesWhatItCannotCarry) {
    Packet p = big_packet(1000);
    EXPECT_EQ(fragment(p, header_bytes, 1).error().code, Errc::invalid_argument);
    EXPECT_EQ(fragment(p, datagram, 1, 999).error().code, Errc::too_large);
    p.extensions.push_back({ExtensionType::text, Bytes(datagram)});
    EXPECT_EQ(fragment(p, datagram, 1).error().code, Errc::too_large);
    Packet tiny_slices = big_packet(70000);
    tiny_slices.extensions.clear();
    EXPECT_EQ(fragment(tiny_slices, header_bytes + 1, 1).error().code, Errc::too_large);
    Packet already = big_packet(10);
    already.header.flags = flag::fragment;
    already.header.fragment_count = 1;
    EXPECT_EQ(fragment(already, datagram, 1).error().code, Errc::invalid_argument);
}

TEST(Fragment, EncodeFragmentIntoRefusesABadIndexOrSmallBuffer) {
    const Packet p = big_packet(1000);
    auto plan = plan_fragments(p, datagram);
    ASSERT_TRUE(plan.has_value());
    Bytes out(datagram);
    EXPECT_EQ(encode_fragment_into(p, *plan, 1, plan->count, out).error().code,
              Errc::invalid_argument);
    Bytes small(header_bytes + 10);  // Fragment 0 needs its extension and a slice.
    EXPECT_EQ(encode_fragment_into(p, *plan, 1, 0, small).error().code, Errc::too_large);
}

// The gather-write form (issue 17): each fragment's encoded head followed by its body view is
// byte for byte what encode_fragment_into writes, checksum included, fragmented or not.
TEST(Fragment, EncodeFragmentHeadIntoPlusTheBodyViewIsTheEncodedFragment) {
    for (const std::size_t body : {std::size_t{100}, std::size_t{5000}}) {
        const Packet p = big_packet(body);
        auto plan = plan_fragments(p, datagram);
        ASSERT_TRUE(plan);
        EXPECT_EQ(plan->count > 1, body > 100);
        for (std::uint16_t i = 0; i < plan->count; ++i) {
            Bytes whole(datagram), head(datagram);
            auto size = encode_fragment_into(p, *plan, 7, i, whole);
            auto pieces = encode_fragment_head_into(parts_of(p), *plan, 7, i, head);
            ASSERT_TRUE(size);
            ASSERT_TRUE(pieces);
            head.resize(pieces->head_bytes);
            head.insert(head.end(), pieces->body.begin(), pieces->body.end());
            whole.resize(*size);
            EXPECT_EQ(head, whole) << "fragment " << i;
            EXPECT_TRUE(decode(head).has_value()) << "fragment " << i;
        }
        Bytes tiny(header_bytes);  // Room for the header but not the extension.
        EXPECT_EQ(encode_fragment_head_into(parts_of(p), *plan, 7, 0, tiny).error().code,
                  Errc::too_large);
        EXPECT_EQ(encode_fragment_head_into(parts_of(p), *plan, 7, plan->count, tiny).error().code,
                  Errc::invalid_argument);
    }
}

TEST(Reassembler, ReassemblesOutOfOrderFragmentsOnce) {
    const Packet p = big_packet(1000);
    auto parts = fragments_of(p, 7);
    std::reverse(parts.begin(), parts.end());
    Reassembler r;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        auto out = r.on_fragment(parts[i], at_ms(0));
        ASSERT_TRUE(out.has_value()) << out.error().to_string();
        if (i + 1 < parts.size()) {
            EXPECT_FALSE(out->has_value());
            EXPECT_GT(r.held_bytes(), 0u);
            continue;
        }
        ASSERT_TRUE(out->has_value());
        EXPECT_EQ(encode(**out), encode(p));
    }
    EXPECT_EQ(r.held_bytes(), 0u);
    EXPECT_EQ(r.partial_messages(), 0u);
    // Late duplicates of a completed message are ignored, not delivered again.
    auto late = r.on_fragment(parts[0], at_ms(1));
    ASSERT_TRUE(late.has_value());
    EXPECT_FALSE(late->has_value());
    EXPECT_EQ(r.partial_messages(), 0u);
    EXPECT_EQ(r.counters().messages_completed, 1u);
}

TEST(Reassembler, IgnoresDuplicateFragments) {
    const auto parts = fragments_of(big_packet(1000), 7);
    Reassembler r;
    ASSERT_TRUE(r.on_fragment(parts[0], at_ms(0)).has_value());
    const std::size_t held = r.held_bytes();
    auto again = r.on_fragment(parts[0], at_ms(0));
    ASSERT_TRUE(again.has_value());
    EXPECT_FALSE(again->has_value());
    EXPECT_EQ(r.held_bytes(), held);
    EXPECT_EQ(r.counters().fragments_duplicate, 1u);
}

TEST(Reassembler, KeepsMessagesFromDifferentSendersApart) {
    const auto a = fragments_of(big_packet(600, 1), 7);
    const auto b = fragments_of(big_packet(600, 2), 7);  // Same fragment id, other node.
    Reassembler r;
    for (std::size_t i = 0; i + 1 < a.size(); ++i) {
        ASSERT_TRUE(r.on_fragment(a[i], at_ms(0)).has_value());
        ASSERT_TRUE(r.on_fragment(b[i], at_ms(0)).has_value());
    }
    EXPECT_EQ(r.partial_messages(), 2u);
    auto done_a = r.on_fragment(a.back(), at_ms(0));
    ASSERT_TRUE(done_a.has_value() && done_a->has_value());
    EXPECT_EQ((*done_a)->header.source.node.value, 1u);
}

TEST(Reassembler, DropsIncompleteMessagesAfterTheTimeout) {
    const auto parts = fragments_of(big_packet(1000), 7);
    Reassembler r(ReassemblerOptions{.timeout = Duration::milliseconds(100)});
    ASSERT_TRUE(r.on_fragment(parts[0], at_ms(0)).has_value());
    ASSERT_TRUE(r.on_fragment(parts[1], at_ms(60)).has_value());
    EXPECT_EQ(r.next_deadline(), at_ms(160));  // Idle timeout: measured from the last progress.
    EXPECT_EQ(r.expire(at_ms(159)), 0u);
    EXPECT_EQ(r.expire(at_ms(160)), 1u);
    EXPECT_EQ(r.held_bytes(), 0u);
    EXPECT_FALSE(r.next_deadline().has_value());
    EXPECT_EQ(r.counters().messages_expired, 1u);
    // The rest arriving later starts over and never completes a corrupt message.
    for (std::size_t i = 2; i < parts.size(); ++i) {
        auto out = r.on_fragment(parts[i], at_ms(200));
        ASSERT_TRUE(out.has_value());
        EXPECT_FALSE(out->has_value());
    }
}

TEST(Reassembler, EvictsTheLeastRecentlyProgressedWhenTooManyArePartial) {
    Reassembler r(ReassemblerOptions{.partial_messages_max = 2});
    const auto a = fragments_of(big_packet(600, 1), 1);
    const auto b = fragments_of(big_packet(600, 2), 1);
    const auto c = fragments_of(big_packet(600, 3), 1);
    ASSERT_TRUE(r.on_fragment(a[0], at_ms(0)).has_value());
    ASSERT_TRUE(r.on_fragment(b[0], at_ms(1)).has_value());
    ASSERT_TRUE(r.on_fragment(a[1], at_ms(2)).has_value());  // a progressed after b.
    ASSERT_TRUE(r.on_fragment(c[0], at_ms(3)).has_value());  // Evicts b.
    EXPECT_EQ(r.partial_messages(), 2u);
    EXPECT_EQ(r.counters().messages_evicted, 1u);
    for (std::size_t i = 2; i < a.size(); ++i) {
        auto out = r.on_fragment(a[i], at_ms(4));
        ASSERT_TRUE(out.has_value());
        EXPECT_EQ(out->has_value(), i + 1 == a.size());
    }
}

// One fragment of a message that announces `count` fragments of `slice` bytes.
Packet announced(std::uint32_t id, std::uint16_t index, std::uint16_t count,
                 std::size_t slice = 200) {
    Packet p = big_packet(0);
    p.extensions.clear();
    p.header.flags = flag::fragment;
    p.header.fragment_id = id;
    p.header.fragment_index = index;
    p.header.fragment_count = count;
    p.body.assign(slice, 7);
    p.body.shrink_to_fit();
    return p;
}

TEST(Reassembler, AFragmentAnnouncing65535PiecesCostsOneSlotNotSixtyFiveThousand) {
    Reassembler r;
    const std::size_t one = 200 + Reassembler::slot_overhead_bytes;
    ASSERT_TRUE(r.on_fragment(announced(1, 3, 65535), at_ms(0)).has_value());
    EXPECT_LE(r.held_bytes(), one);
    // A flood of such announcements from distinct message ids: memory follows what came.
    for (std::uint32_t id = 2; id <= 200; ++id) {
        ASSERT_TRUE(r.on_fragment(announced(id, 1, 65535), at_ms(0)).has_value());
    }
    EXPECT_EQ(r.partial_messages(), 64u);
    EXPECT_LE(r.held_bytes(), 64 * one);
}

// A fragment 0 handed over as a view is charged (and given) room for the whole message only
// up to ReassemblerOptions::reserve_bytes_max: one forged fragment 0 cannot claim 16 MiB.
TEST(Fragment, FragmentZeroReservesTheWholeMessageOnlyUpToTheCap) {
    const ReassemblerOptions options;
    const auto held = [&](std::uint16_t count) {
        const Packet p = announced(1, 0, count);
        Bytes bytes(encoded_size(p));
        EXPECT_TRUE(encode_into(p, bytes).has_value());
        ByteView body;
        auto packet = decode_view(bytes, body);
        EXPECT_TRUE(packet.has_value());
        Reassembler r(options);
        EXPECT_TRUE(r.on_fragment(std::move(*packet), body, at_ms(0)).has_value());
        return r.held_bytes();
    };
    EXPECT_GE(held(4), 800u);  // 4 x 200 bytes: reserved.
    // 65535 x 200 bytes = 13 MB announced by one 300-byte packet: nothing reserved.
    EXPECT_LT(held(65535), options.reserve_bytes_max);
    EXPECT_LT(held(65535), 800u);
}

TEST(Reassembler, StaysWithinTheMemoryBound) {
    const std::size_t bound = 2000;
    Reassembler r(ReassemblerOptions{.held_bytes_max = bound});
    for (std::uint64_t node = 1; node <= 20; ++node) {
        const auto parts = fragments_of(big_packet(1500, node), 1);
        for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
            auto out = r.on_fragment(parts[i], at_ms(0));
            ASSERT_TRUE(out.has_value());
            EXPECT_LE(r.held_bytes(), bound);
        }
    }
    EXPECT_GT(r.counters().messages_evicted, 0u);
    auto alone = r.on_fragment(fragments_of(big_packet(5000, 99), 1)[1], at_ms(0));
    ASSERT_TRUE(alone.has_value());  // One slice fits...
    Reassembler tiny(ReassemblerOptions{.held_bytes_max = 100});
    auto refused = tiny.on_fragment(fragments_of(big_packet(5000, 99), 1)[1], at_ms(0));
    ASSERT_FALSE(refused.has_value());  // ...but not in 100 bytes.
    EXPECT_EQ(refused.error().code, Errc::too_large);
    EXPECT_EQ(tiny.held_bytes(), 0u);
}

TEST(Reassembler, RefusesMessagesOverTheMaximumSize) {
    const auto parts = fragments_of(big_packet(2000), 1);
    Reassembler r(ReassemblerOptions{.message_bytes_max = 1000});
    auto out = r.on_fragment(parts[1], at_ms(0));
    ASSERT_FALSE(out.has_value());
    EXPECT_EQ(out.error().code, Errc::too_large);
    EXPECT_EQ(r.partial_messages(), 0u);
}

class ReassemblerRejects : public ::testing::Test {
protected:
    std::vector<Packet> parts = fragments_of(big_packet(1000), 7);
    Reassembler r;

    void expect_rejected(Packet bad, Errc code = Errc::malformed) {
        ASSERT_TRUE(r.on_fragment(parts[0], at_ms(0)).has_value());
        auto out = r.on_fragment(std::move(bad), at_ms(0));
        ASSERT_FALSE(out.has_value());
        EXPECT_EQ(out.error().code, code);
        EXPECT_EQ(r.partial_messages(), 0u);  // The whole message is dropped.
        EXPECT_EQ(r.held_bytes(), 0u);
    }
};

TEST_F(ReassemblerRejects, ACountMismatch) {
    Packet bad = parts[1];
    bad.header.fragment_count = static_cast<std::uint16_t>(bad.header.fragment_count + 1);
    expect_rejected(bad);
}

TEST_F(ReassemblerRejects, AHeaderMismatch) {
    Packet bad = parts[1];
    bad.header.seq += 1;
    expect_rejected(bad);
}

TEST_F(ReassemblerRejects, SliceSizesThatDoNotTile) {
    Packet bad = parts[1];
    bad.body.pop_back();  // A middle slice shorter than fragment 0's.
    expect_rejected(bad);
}

TEST_F(ReassemblerRejects, ALastSliceLongerThanTheOthers) {
    Packet bad = parts.back();
    bad.body.resize(parts[0].body.size() + 1);
    expect_rejected(bad);
}

TEST_F(ReassemblerRejects, AnEmptySlice) {
    Packet bad = parts.back();
    bad.body.clear();
    expect_rejected(bad);
}

TEST_F(ReassemblerRejects, ExtensionsOnALaterFragment) {
    Packet bad = parts[1];
    bad.extensions.push_back({ExtensionType::text, to_bytes("x")});
    expect_rejected(bad);
}

TEST_F(ReassemblerRejects, ADuplicateWithOtherContents) {
    Packet bad = parts[0];
    bad.body[0] ^= 0xFF;
    expect_rejected(bad);
}

TEST_F(ReassemblerRejects, AnIndexPastTheCountWithoutTouchingHeldMessages) {
    ASSERT_TRUE(r.on_fragment(parts[0], at_ms(0)).has_value());
    Packet bad = parts[1];
    bad.header.fragment_index = bad.header.fragment_count;  // decode() would refuse it.
    EXPECT_EQ(r.on_fragment(bad, at_ms(0)).error().code, Errc::malformed);
    EXPECT_EQ(r.partial_messages(), 1u);
}

TEST_F(ReassemblerRejects, APacketThatIsNotAFragment) {
    ASSERT_TRUE(r.on_fragment(parts[0], at_ms(0)).has_value());
    EXPECT_EQ(r.on_fragment(big_packet(10), at_ms(0)).error().code, Errc::invalid_argument);
    EXPECT_EQ(r.partial_messages(), 1u);
}

}  // namespace
}  // namespace herald::wire

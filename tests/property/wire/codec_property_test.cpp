// Property tests of the packet codec: round trips, and that no input crashes the decoder or
// decodes into something that does not re-encode to the same bytes. Layer: wire.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "packet_gen.h"
#include "wire/crc32c.h"

namespace herald::wire {
namespace {

using testing::pick_bytes;
using testing::pick_packet;
using testing::same_packet;

void reseal(Bytes& bytes) {
    if (bytes.size() < header_bytes) return;
    for (std::size_t i = 0; i < 4; ++i) bytes[checksum_offset + i] = 0;
    const std::uint32_t crc = crc32c(bytes);
    for (std::size_t i = 0; i < 4; ++i) {
        bytes[checksum_offset + i] = static_cast<std::uint8_t>(crc >> (8 * i));
    }
}

// Decoding either fails with Errc::malformed or yields a packet that encodes to `bytes` exactly.
void check_decode_is_exact(const Bytes& bytes) {
    auto decoded = decode(bytes);
    if (!decoded) {
        RC_ASSERT(decoded.error().code == Errc::malformed);
        RC_ASSERT(!decoded.error().detail.empty());
        return;
    }
    RC_ASSERT(encode(*decoded) == bytes);
}

RC_GTEST_PROP(CodecProperty, DecodeInvertsEncode, ()) {
    const Packet p = pick_packet(2000);
    const Bytes bytes = encode(p);
    RC_ASSERT(bytes.size() == encoded_size(p));
    auto decoded = decode(bytes);
    RC_ASSERT(decoded.has_value());
    RC_ASSERT(same_packet(*decoded, p));
    RC_ASSERT(decoded->body == p.body);
    auto header = peek_header(bytes);
    RC_ASSERT(header.has_value());
    RC_ASSERT(header->seq == p.header.seq);
}

RC_GTEST_PROP(CodecProperty, EncodeIntoMatchesEncodeOrRefusesShortBuffers, ()) {
    const Packet p = pick_packet(300);
    const auto room = *rc::gen::inRange<std::size_t>(0, encoded_size(p) + 20);
    Bytes out(room);
    auto written = encode_into(p, out);
    if (room < encoded_size(p)) {
        RC_ASSERT(!written.has_value());
        RC_ASSERT(written.error().code == Errc::too_large);
        return;
    }
    RC_ASSERT(written.has_value());
    RC_ASSERT(Bytes(out.begin(), out.begin() + static_cast<long>(*written)) == encode(p));
}

RC_GTEST_PROP(CodecProperty, RandomBytesNeverCrashTheDecoder, ()) {
    check_decode_is_exact(pick_bytes(400));
}

// Writes a plausible header over random bytes: magic, version, a known kind, lengths that add
// up, and (usually) no fragment fields, so that later rules and the extension parser get tested.
void shape_header(Bytes& bytes) {
    bytes[0] = 'H';
    bytes[1] = 'R';
    bytes[2] = version_current;
    bytes[3] = static_cast<std::uint8_t>(testing::pick_kind());
    const std::size_t rest = bytes.size() - header_bytes;
    // Half the time no extensions: random TLVs rarely tile their area exactly.
    const bool none = *rc::gen::arbitrary<bool>();
    const std::size_t extensions = none ? 0 : *rc::gen::inRange<std::size_t>(0, rest + 1);
    const std::size_t body = rest - extensions;
    bytes[6] = static_cast<std::uint8_t>(extensions & 0xFF);
    bytes[7] = static_cast<std::uint8_t>(extensions >> 8);
    for (std::size_t i = 0; i < 4; ++i) bytes[8 + i] = static_cast<std::uint8_t>(body >> (8 * i));
    if (*rc::gen::arbitrary<bool>()) {
        bytes[4] = static_cast<std::uint8_t>(bytes[4] & ~flag::fragment);
        for (std::size_t i = 60; i < 64; ++i) bytes[i] = 0;  // fragment_id
        for (std::size_t i = 88; i < 92; ++i) bytes[i] = 0;  // fragment_index, fragment_count
    }
}

RC_GTEST_PROP(CodecProperty, RandomHeadersWithAValidChecksumDecodeExactlyOrFail, ()) {
    // Random bytes get past the checksum only by luck; resealing them exercises the other rules.
    const auto size = *rc::gen::inRange<std::size_t>(header_bytes, 500);
    Bytes bytes = *rc::gen::container<Bytes>(size, rc::gen::arbitrary<std::uint8_t>());
    shape_header(bytes);
    reseal(bytes);
    RC_CLASSIFY(decode(bytes).has_value(), "decodes");
    check_decode_is_exact(bytes);
}

RC_GTEST_PROP(CodecProperty, MutatedPacketsDecodeExactlyOrFail, ()) {
    Bytes bytes = encode(pick_packet(200));
    const auto flips = *rc::gen::inRange(1, 6);
    for (int i = 0; i < flips; ++i) {
        const auto at = *rc::gen::inRange<std::size_t>(0, bytes.size());
        bytes[at] = *rc::gen::arbitrary<std::uint8_t>();
    }
    if (*rc::gen::arbitrary<bool>()) reseal(bytes);
    check_decode_is_exact(bytes);
}

RC_GTEST_PROP(CodecProperty, TruncationsAreAlwaysRejected, ()) {
    const Bytes bytes = encode(pick_packet(200));
    const auto cut = *rc::gen::inRange<std::size_t>(0, bytes.size());
    auto decoded = decode(ByteView(bytes).first(cut));
    RC_ASSERT(!decoded.has_value());
    RC_ASSERT(decoded.error().code == Errc::malformed);
}

}  // namespace
}  // namespace herald::wire

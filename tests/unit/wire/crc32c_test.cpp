// Unit tests of CRC-32C: published check values, the incremental form, and the hardware (SSE4.2)
// path against the portable one and against an independent bytewise reference. Layer: wire.
#include "wire/crc32c.h"

#include <gtest/gtest.h>

#include <array>
#include <numeric>

#include "core/random.h"

namespace herald::wire {
namespace {

// Bytewise (Sarwate) CRC-32C written from the polynomial alone, independent of both paths under
// test, so that a machine without SSE4.2 still checks its portable path against something.
std::uint32_t reference_crc32c(std::uint32_t crc, ByteView bytes) {
    static const std::array<std::uint32_t, 256> table = [] {
        std::array<std::uint32_t, 256> t{};
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t c = i;
            for (int bit = 0; bit < 8; ++bit) c = (c >> 1) ^ ((c & 1u) ? 0x82F63B78u : 0u);
            t[i] = c;
        }
        return t;
    }();
    std::uint32_t c = ~crc;
    for (const std::uint8_t byte : bytes) c = (c >> 8) ^ table[(c ^ byte) & 0xFFu];
    return ~c;
}

Bytes random_bytes(std::size_t size, std::uint64_t seed) {
    Random random(seed);
    Bytes bytes(size);
    for (auto& byte : bytes) byte = static_cast<std::uint8_t>(random.next_u32());
    return bytes;
}

// Both entry points against the reference. Where the CPU has SSE4.2, crc32c_extend is the
// hardware path, so this is "hardware == portable == reference"; elsewhere crc32c_extend is the
// portable path and this checks the portable path only (against the reference).
void expect_both_paths_match_reference(std::uint32_t crc, ByteView bytes, std::size_t offset) {
    const std::uint32_t expected = reference_crc32c(crc, bytes);
    ASSERT_EQ(crc32c_extend_portable(crc, bytes), expected) << bytes.size() << " @" << offset;
    ASSERT_EQ(crc32c_extend(crc, bytes), expected) << bytes.size() << " @" << offset;
}

TEST(Crc32c, MatchesThePublishedCheckValue) {
    EXPECT_EQ(crc32c(to_bytes("123456789")), 0xE3069283u);
    EXPECT_EQ(crc32c_extend_portable(0, to_bytes("123456789")), 0xE3069283u);
}

TEST(Crc32c, OfNothingIsZero) {
    EXPECT_EQ(crc32c(ByteView{}), 0u);
    EXPECT_EQ(crc32c_extend_portable(0, ByteView{}), 0u);
}

TEST(Crc32c, MatchesRfc3720TestVectors) {
    // RFC 3720 (iSCSI) B.4: 32 bytes of zeros, of 0xFF, and an ascending sequence.
    Bytes zeros(32, 0x00);
    Bytes ones(32, 0xFF);
    Bytes ascending(32);
    std::iota(ascending.begin(), ascending.end(), std::uint8_t{0});
    EXPECT_EQ(crc32c(zeros), 0x8A9136AAu);
    EXPECT_EQ(crc32c(ones), 0x62A8AB43u);
    EXPECT_EQ(crc32c(ascending), 0x46DD794Eu);
    EXPECT_EQ(crc32c_extend_portable(0, ascending), 0x46DD794Eu);
}

TEST(Crc32c, ExtendingPieceByPieceEqualsOneShot) {
    Bytes data(1000);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7 + 3);
    const std::uint32_t whole = crc32c(data);
    for (std::size_t split : {0u, 1u, 7u, 8u, 9u, 500u, 999u, 1000u}) {
        const ByteView view(data);
        EXPECT_EQ(crc32c_extend(crc32c(view.first(split)), view.subspan(split)), whole) << split;
    }
}

TEST(Crc32c, DetectsASingleBitFlip) {
    Bytes data = to_bytes("a packet body of some length, long enough for the 8-byte loop");
    const std::uint32_t before = crc32c(data);
    data[17] ^= 0x10;
    EXPECT_NE(crc32c(data), before);
}

TEST(Crc32c, UsesTheHardwarePathExactlyWhenTheCpuHasSse42) {
#if defined(__x86_64__)
    EXPECT_EQ(crc32c_hardware(), __builtin_cpu_supports("sse4.2") != 0);
#else
    EXPECT_FALSE(crc32c_hardware());
#endif
}

TEST(Crc32c, BothPathsAgreeOnEveryLengthTo1024AtEveryAlignment) {
    const Bytes data = random_bytes(1024 + 16, 1);
    for (std::size_t offset = 0; offset < 16; ++offset) {
        for (std::size_t size = 0; size <= 1024; ++size) {
            const ByteView piece = ByteView(data).subspan(offset, size);
            expect_both_paths_match_reference(0, piece, offset);
            expect_both_paths_match_reference(0x12345678u, piece, offset);
        }
    }
}

TEST(Crc32c, BothPathsAgreeAroundEveryThreeWayStretchBoundary) {
    // The hardware path cuts inputs into stretches of 3 * 256 and 3 * 4096 bytes; lengths just
    // below, at and above multiples of those exercise each combine and each tail.
    const Bytes data = random_bytes(3 * 3 * 4096 + 3 * 256 + 64, 2);
    for (const std::size_t stretch : {std::size_t{3 * 256}, std::size_t{3 * 4096}}) {
        for (std::size_t count = 1; count <= 3; ++count) {
            for (std::size_t size = count * stretch - 9; size <= count * stretch + 9; ++size) {
                for (std::size_t offset : {0u, 1u, 3u, 8u}) {
                    const ByteView piece = ByteView(data).subspan(offset, size);
                    expect_both_paths_match_reference(0, piece, offset);
                }
            }
        }
    }
}

TEST(Crc32c, BothPathsAgreeOnOneMebibyte) {
    const Bytes data = random_bytes(1 << 20, 3);
    expect_both_paths_match_reference(0, data, 0);
    expect_both_paths_match_reference(0, ByteView(data).subspan(5), 5);
}

TEST(Crc32c, BothPathsExtendInRandomPiecesToTheOneShotValue) {
    const Bytes data = random_bytes(200 * 1024, 4);
    const std::uint32_t whole = reference_crc32c(0, data);
    Random random(5);
    for (int round = 0; round < 20; ++round) {
        std::uint32_t chosen = 0;
        std::uint32_t portable = 0;
        ByteView rest(data);
        while (!rest.empty()) {
            // Pieces from empty to past the longest stretch, so every path is cut mid-way.
            const std::size_t bound = round % 2 == 0 ? 40 : 20000;
            const auto size = std::min<std::size_t>(rest.size(), random.below(bound));
            chosen = crc32c_extend(chosen, rest.first(size));
            portable = crc32c_extend_portable(portable, rest.first(size));
            rest = rest.subspan(size);
        }
        EXPECT_EQ(chosen, whole) << round;
        EXPECT_EQ(portable, whole) << round;
    }
}

}  // namespace
}  // namespace herald::wire

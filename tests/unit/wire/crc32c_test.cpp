// Unit tests of CRC-32C: published check values and the incremental form. Layer: wire.
#include "wire/crc32c.h"

#include <gtest/gtest.h>

#include <numeric>

namespace herald::wire {
namespace {

TEST(Crc32c, MatchesThePublishedCheckValue) {
    EXPECT_EQ(crc32c(to_bytes("123456789")), 0xE3069283u);
}

TEST(Crc32c, OfNothingIsZero) {
    EXPECT_EQ(crc32c(ByteView{}), 0u);
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

}  // namespace
}  // namespace herald::wire

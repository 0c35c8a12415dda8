// Unit tests of the packet codec: layout, round trip, and every rejection rule. Layer: wire.
#include "wire/codec.h"

#include <gtest/gtest.h>

#include "wire/crc32c.h"
#include "wire/kinds.h"

namespace herald::wire {
namespace {

Packet sample_packet() {
    Packet p;
    p.header.kind = PacketKind::rpc_request;
    p.header.flags = flag::want_delivered;
    p.header.source = Pid{NodeId{0x1122334455667788ULL}, 42};
    p.header.target = Pid{NodeId{0x0A0B0C0D}, local_id_dynamic_min + 7};
    p.header.source_incarnation = 3;
    p.header.target_incarnation = 9;
    p.header.epoch = 0xDEADBEEF;
    p.header.seq = 0x0102030405060708ULL;
    p.header.ack = 77;
    p.header.timestamp_ns = -5;
    for (std::size_t i = 0; i < p.header.auth_tag.size(); ++i) {
        p.header.auth_tag[i] = static_cast<std::uint8_t>(0xA0 + i);
    }
    p.extensions.push_back({ExtensionType::operation, to_bytes("echo")});
    p.extensions.push_back({ExtensionType::credit, Bytes{16, 0, 0, 0}});
    p.body = to_bytes("hello, herald");
    return p;
}

void expect_same(const Packet& a, const Packet& b) {
    EXPECT_EQ(encode(a), encode(b));
    EXPECT_EQ(a.header.kind, b.header.kind);
    EXPECT_EQ(a.header.source, b.header.source);
    EXPECT_EQ(a.header.target, b.header.target);
    EXPECT_EQ(a.header.seq, b.header.seq);
    EXPECT_EQ(a.header.timestamp_ns, b.header.timestamp_ns);
    EXPECT_EQ(a.header.auth_tag, b.header.auth_tag);
    ASSERT_EQ(a.extensions.size(), b.extensions.size());
    for (std::size_t i = 0; i < a.extensions.size(); ++i) {
        EXPECT_EQ(a.extensions[i].type, b.extensions[i].type);
        EXPECT_EQ(a.extensions[i].value, b.extensions[i].value);
    }
    EXPECT_EQ(a.body, b.body);
}

// Recomputes the checksum after a test edits encoded bytes, so that the rule under test (and not
// the checksum) is what rejects them.
void reseal(Bytes& bytes) {
    for (std::size_t i = 0; i < 4; ++i) bytes[checksum_offset + i] = 0;
    const std::uint32_t crc = crc32c(bytes);
    for (std::size_t i = 0; i < 4; ++i) {
        bytes[checksum_offset + i] = static_cast<std::uint8_t>(crc >> (8 * i));
    }
}

void expect_malformed(ByteView bytes, std::string_view detail_part,
                      const DecodeOptions& options = {}) {
    auto decoded = decode(bytes, options);
    ASSERT_FALSE(decoded.has_value());
    EXPECT_EQ(decoded.error().code, Errc::malformed);
    EXPECT_NE(decoded.error().detail.find(detail_part), std::string::npos)
        << decoded.error().detail;
}

TEST(Codec, RoundTripsEveryField) {
    const Packet p = sample_packet();
    const Bytes bytes = encode(p);
    ASSERT_EQ(bytes.size(), encoded_size(p));
    auto decoded = decode(bytes);
    ASSERT_TRUE(decoded.has_value()) << decoded.error().to_string();
    expect_same(p, *decoded);
    EXPECT_EQ(decoded->header.flags, p.header.flags);
    EXPECT_EQ(decoded->header.epoch, p.header.epoch);
    EXPECT_EQ(decoded->header.ack, p.header.ack);
    EXPECT_EQ(decoded->header.source_incarnation, 3u);
    EXPECT_EQ(decoded->header.target_incarnation, 9u);
}

TEST(Codec, PlacesFieldsAtTheDocumentedOffsetsInLittleEndian) {
    const Bytes b = encode(sample_packet());
    EXPECT_EQ(b[0], 'H');
    EXPECT_EQ(b[1], 'R');
    EXPECT_EQ(b[2], version_current);
    EXPECT_EQ(b[3], static_cast<std::uint8_t>(PacketKind::rpc_request));
    EXPECT_EQ(b[4], flag::want_delivered);
    EXPECT_EQ(b[6], 2 * extension_header_bytes + 4 + 4);  // extension area length, low byte
    EXPECT_EQ(b[8], 13);                                  // body length, low byte
    EXPECT_EQ(b[16], 0x88);                               // source node, least significant first
    EXPECT_EQ(b[23], 0x11);
    EXPECT_EQ(b[56], 0xEF);  // epoch
    EXPECT_EQ(b[64], 0x08);  // seq
    EXPECT_EQ(b[71], 0x01);
    EXPECT_EQ(b[80], 0xFB);  // timestamp -5, two's complement
    EXPECT_EQ(b[87], 0xFF);
    EXPECT_EQ(b[92], 0xA0);  // auth tag
    EXPECT_EQ(b[header_bytes], static_cast<std::uint8_t>(ExtensionType::operation));
    EXPECT_EQ(b[header_bytes + 1], 4);
    EXPECT_EQ(b[header_bytes + 2], 0);
    EXPECT_EQ(b[header_bytes + 3], 'e');
}

TEST(Codec, RoundTripsAnEmptyPacket) {
    Packet p;
    p.header.kind = PacketKind::hello;
    const Bytes bytes = encode(p);
    EXPECT_EQ(bytes.size(), header_bytes);
    auto decoded = decode(bytes);
    ASSERT_TRUE(decoded.has_value());
    expect_same(p, *decoded);
}

TEST(Codec, KeepsUnknownExtensionTypes) {
    Packet p = sample_packet();
    p.extensions.push_back({static_cast<ExtensionType>(200), Bytes{1, 2, 3}});
    p.extensions.push_back({static_cast<ExtensionType>(201), Bytes{}});
    auto decoded = decode(encode(p));
    ASSERT_TRUE(decoded.has_value());
    expect_same(p, *decoded);
}

TEST(Codec, EncodeIntoWritesExactlyEncodedSizeAndRefusesShortBuffers) {
    const Packet p = sample_packet();
    Bytes buffer(encoded_size(p) + 10, 0xEE);
    auto written = encode_into(p, buffer);
    ASSERT_TRUE(written.has_value());
    EXPECT_EQ(*written, encoded_size(p));
    EXPECT_EQ(buffer[*written], 0xEE);  // Nothing past the end.
    EXPECT_EQ(Bytes(buffer.begin(), buffer.begin() + static_cast<long>(*written)), encode(p));
    Bytes small(encoded_size(p) - 1);
    auto refused = encode_into(p, small);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, Errc::too_large);
}

TEST(Codec, CheckEncodableRejectsWhatDecodeWouldReject) {
    Packet p = sample_packet();
    p.header.kind = static_cast<PacketKind>(0);
    EXPECT_EQ(check_encodable(p).error().code, Errc::invalid_argument);
    p = sample_packet();
    p.header.fragment_index = 1;  // Without flag::fragment.
    EXPECT_EQ(check_encodable(p).error().code, Errc::invalid_argument);
    p.header.flags |= flag::fragment;
    p.header.fragment_count = 1;  // index 1 >= count 1.
    EXPECT_EQ(check_encodable(p).error().code, Errc::invalid_argument);
    p = sample_packet();
    p.extensions.push_back({static_cast<ExtensionType>(0), {}});
    EXPECT_EQ(check_encodable(p).error().code, Errc::invalid_argument);
    p = sample_packet();
    p.extensions.push_back({ExtensionType::text, Bytes(extension_value_bytes_max + 1)});
    EXPECT_EQ(check_encodable(p).error().code, Errc::too_large);
    p = sample_packet();
    p.extensions.push_back({ExtensionType::text, Bytes(40000)});
    p.extensions.push_back({ExtensionType::text, Bytes(40000)});
    EXPECT_EQ(check_encodable(p).error().code, Errc::too_large);
    Bytes out(200000);
    EXPECT_EQ(encode_into(p, out).error().code, Errc::too_large);
}

TEST(Codec, AcceptsTheLargestExtensionValue) {
    Packet p = sample_packet();
    p.extensions = {{ExtensionType::text, Bytes(extensions_bytes_max - extension_header_bytes)}};
    auto decoded = decode(encode(p));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(decoded->extensions.at(0).value.size(),
              extensions_bytes_max - extension_header_bytes);
}

TEST(Codec, RejectsBuffersShorterThanTheHeader) {
    const Bytes b = encode(sample_packet());
    expect_malformed(ByteView{}, "shorter than the header");
    expect_malformed(ByteView(b).first(header_bytes - 1), "shorter than the header");
}

TEST(Codec, RejectsBadMagic) {
    Bytes b = encode(sample_packet());
    b[0] = 'R';
    b[1] = 'H';  // Byte-swapped magic.
    reseal(b);
    expect_malformed(b, "bad magic");
}

TEST(Codec, RejectsUnknownVersion) {
    Bytes b = encode(sample_packet());
    b[2] = static_cast<std::uint8_t>(version_current + 1);
    reseal(b);
    expect_malformed(b, "unknown version");
}

TEST(Codec, RejectsUnknownKinds) {
    for (int kind : {0, 15, 29, 39, 255}) {
        Bytes b = encode(sample_packet());
        b[3] = static_cast<std::uint8_t>(kind);
        reseal(b);
        expect_malformed(b, "unknown packet kind");
    }
}

TEST(Codec, RejectsLengthsThatDisagreeWithTheDatagram) {
    const Bytes good = encode(sample_packet());
    Bytes truncated(good.begin(), good.end() - 1);
    expect_malformed(truncated, "lengths do not match");
    Bytes trailing = good;
    trailing.push_back(0);
    expect_malformed(trailing, "lengths do not match");
    Bytes huge_body = good;
    huge_body[11] = 0xFF;  // Body length high byte: claims ~4 GiB.
    reseal(huge_body);
    expect_malformed(huge_body, "lengths do not match");
}

TEST(Codec, RejectsBodiesOverTheConfiguredMaximum) {
    Packet p = sample_packet();
    p.body = Bytes(1000, 7);
    const Bytes b = encode(p);
    expect_malformed(b, "body longer", DecodeOptions{.body_bytes_max = 999});
    EXPECT_TRUE(decode(b, DecodeOptions{.body_bytes_max = 1000}).has_value());
}

TEST(Codec, RejectsAChecksumMismatch) {
    Bytes b = encode(sample_packet());
    b.back() ^= 0x01;
    expect_malformed(b, "checksum mismatch");
    Bytes c = encode(sample_packet());
    c[checksum_offset] ^= 0x80;
    expect_malformed(c, "checksum mismatch");
}

TEST(Codec, RejectsInconsistentFragmentFields) {
    Bytes b = encode(sample_packet());
    b[88] = 1;  // fragment_index without flag::fragment
    reseal(b);
    expect_malformed(b, "without the fragment flag");
    Packet p = sample_packet();
    p.header.flags |= flag::fragment;
    p.header.fragment_id = 5;
    p.header.fragment_index = 2;
    p.header.fragment_count = 3;
    Bytes f = encode(p);
    ASSERT_TRUE(decode(f).has_value());
    f[88] = 3;  // index == count
    reseal(f);
    expect_malformed(f, "index >= fragment count");
    f[88] = 0;
    f[90] = 0;  // count 0
    reseal(f);
    expect_malformed(f, "count is 0");
}

TEST(Codec, RejectsExtensionsThatOverrunTheirArea) {
    Packet p = sample_packet();
    p.extensions = {{ExtensionType::text, to_bytes("abcd")}};
    Bytes b = encode(p);
    Bytes value_overrun = b;
    value_overrun[header_bytes + 1] = 5;  // Value length 5 in an area of 3 + 4 bytes.
    reseal(value_overrun);
    expect_malformed(value_overrun, "value overruns");
    // Move one byte from the body into the extension area: leaving a truncated 1-byte TLV header.
    Bytes header_overrun = b;
    header_overrun[6] = static_cast<std::uint8_t>(header_overrun[6] + 1);
    header_overrun[8] = static_cast<std::uint8_t>(header_overrun[8] - 1);
    reseal(header_overrun);
    expect_malformed(header_overrun, "header overruns");
}

TEST(Codec, RejectsExtensionTypeZero) {
    Bytes b = encode(sample_packet());
    b[header_bytes] = 0;
    reseal(b);
    expect_malformed(b, "type 0");
}

TEST(Codec, PeekHeaderReadsTheHeaderWithoutTheChecksum) {
    Bytes b = encode(sample_packet());
    b.back() ^= 0x01;  // Corrupt the body: peek does not look at it.
    auto header = peek_header(b);
    ASSERT_TRUE(header.has_value());
    EXPECT_EQ(header->seq, sample_packet().header.seq);
    EXPECT_EQ(header->source, sample_packet().header.source);
    b[0] = 0;
    EXPECT_EQ(peek_header(b).error().code, Errc::malformed);
}

TEST(Codec, PacketLengthSplitsPacketsPackedBackToBack) {
    const Bytes first = encode(sample_packet());
    Packet empty;
    empty.header.kind = PacketKind::ack;
    const Bytes second = encode(empty);
    Bytes datagram = first;
    datagram.insert(datagram.end(), second.begin(), second.end());
    auto length = packet_length(datagram);
    ASSERT_TRUE(length.has_value());
    EXPECT_EQ(*length, first.size());
    auto next = packet_length(ByteView(datagram).subspan(*length));
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ(*next, header_bytes);
    EXPECT_TRUE(decode(ByteView(datagram).first(*length)).has_value());
    // Whole datagrams stay strict: decode() refuses the pair as one packet.
    expect_malformed(datagram, "lengths do not match");
    // Too short, overrunning, bad magic, unknown version.
    EXPECT_EQ(packet_length(ByteView(first).first(50)).error().code, Errc::malformed);
    EXPECT_EQ(packet_length(ByteView(first).first(first.size() - 1)).error().code, Errc::malformed);
    Bytes bad = first;
    bad[0] = 'X';
    EXPECT_EQ(packet_length(bad).error().code, Errc::malformed);
    bad = first;
    bad[2] = 99;
    EXPECT_EQ(packet_length(bad).error().code, Errc::malformed);
}

TEST(Codec, NamesEveryKnownKind) {
    int known = 0;
    for (int raw = 0; raw < 256; ++raw) {
        const auto kind = static_cast<std::uint8_t>(raw);
        const bool is_known = is_known_kind(kind);
        known += is_known ? 1 : 0;
        EXPECT_EQ(packet_kind_name(static_cast<PacketKind>(kind)) != "unknown", is_known) << raw;
    }
    EXPECT_EQ(known, static_cast<int>(kind_table.size()));  // Every row, and only those.
    EXPECT_EQ(packet_kind_name(PacketKind::rpc_response_ack), "rpc_response_ack");
}

}  // namespace
}  // namespace herald::wire

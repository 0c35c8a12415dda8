// Link: routing by NodeId through the peer table, fragmentation of packets larger than one
// datagram and their reassembly, and counting of what it drops. A fake transport records
// datagrams instead of using sockets.
#include <gtest/gtest.h>

#include <vector>

#include "runtime/link.h"

namespace herald::runtime {
namespace {

class FakeTransport final : public Transport {
public:
    explicit FakeTransport(std::size_t datagram_max) : datagram_max_(datagram_max) {}
    void start(ReceiveHandler) override {}
    void send(const Endpoint& to, ByteView datagram) override {
        sent.push_back({to, Bytes(datagram.begin(), datagram.end())});
    }
    void flush() override {}
    [[nodiscard]] Endpoint local_endpoint() const override { return {}; }
    [[nodiscard]] std::size_t datagram_bytes_max() const override { return datagram_max_; }
    void close() override {}
    [[nodiscard]] Counters counters() const override { return {}; }

    struct Sent {
        Endpoint to;
        Bytes datagram;
    };
    std::vector<Sent> sent;

private:
    std::size_t datagram_max_;
};

const Endpoint peer_address{Endpoint::Scheme::udp, "127.0.0.1", 7400, {}};

wire::Packet data_packet(std::size_t body_bytes) {
    wire::Packet packet;
    packet.header.kind = wire::PacketKind::data;
    packet.header.source = Pid{NodeId{1}, 5};
    packet.header.target = Pid{NodeId{2}, 6};
    packet.header.source_incarnation = 3;
    packet.header.seq = 9;
    packet.body.resize(body_bytes);
    for (std::size_t i = 0; i < body_bytes; ++i) packet.body[i] = std::uint8_t(i * 7);
    return packet;
}

struct LinkTest : ::testing::Test {
    FakeTransport transport{1200};
    PeerTable peers;
    Link link{transport, peers, LinkOptions{}};
};

TEST_F(LinkTest, SendsASmallPacketAsOneDatagramToTheNodesAddress) {
    peers.learn(NodeId{2}, peer_address, Time::zero());
    ASSERT_TRUE(link.send(NodeId{2}, data_packet(100)));
    ASSERT_EQ(transport.sent.size(), 1u);
    EXPECT_EQ(transport.sent[0].to, peer_address);
    auto back = link.receive(transport.sent[0].datagram, Time::zero());
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->body, data_packet(100).body);
    EXPECT_EQ(back->header.seq, 9u);
}

TEST_F(LinkTest, CountsAndDropsPacketsToUnknownNodes) {
    EXPECT_FALSE(link.send(NodeId{99}, data_packet(10)));
    EXPECT_TRUE(transport.sent.empty());
    EXPECT_EQ(link.counters().unknown_peer_dropped, 1u);
}

TEST_F(LinkTest, FragmentsLargePacketsAndReassemblesThemInAnyOrder) {
    peers.learn(NodeId{2}, peer_address, Time::zero());
    const auto original = data_packet(10'000);
    ASSERT_TRUE(link.send(NodeId{2}, original));
    ASSERT_GT(transport.sent.size(), 8u);
    for (const auto& s : transport.sent) EXPECT_LE(s.datagram.size(), 1200u);
    std::optional<wire::Packet> whole;
    for (auto it = transport.sent.rbegin(); it != transport.sent.rend(); ++it) {
        auto piece = link.receive(it->datagram, Time::zero());
        if (piece) {
            EXPECT_FALSE(whole.has_value());
            whole = std::move(piece);
        }
    }
    ASSERT_TRUE(whole.has_value());
    EXPECT_EQ(whole->body, original.body);
    EXPECT_EQ(whole->header.flags & wire::flag::fragment, 0);
    EXPECT_EQ(link.counters().reassembled, 1u);
}

TEST_F(LinkTest, CountsAndDropsMalformedDatagrams) {
    const Bytes garbage = {1, 2, 3, 4, 5};
    EXPECT_FALSE(link.receive(garbage, Time::zero()).has_value());
    peers.learn(NodeId{2}, peer_address, Time::zero());
    ASSERT_TRUE(link.send(NodeId{2}, data_packet(50)));
    Bytes flipped = transport.sent[0].datagram;
    flipped.back() ^= 0xFF;  // The checksum no longer matches.
    EXPECT_FALSE(link.receive(flipped, Time::zero()).has_value());
    EXPECT_EQ(link.counters().malformed_dropped, 2u);
}

TEST_F(LinkTest, RefusesBodiesOverTheMessageLimit) {
    FakeTransport small{1200};
    LinkOptions options;
    options.message_bytes_max = 1000;
    Link limited{small, peers, options};
    peers.learn(NodeId{2}, peer_address, Time::zero());
    EXPECT_FALSE(limited.send(NodeId{2}, data_packet(2000)));
    EXPECT_EQ(limited.counters().unencodable_dropped, 1u);
}

}  // namespace
}  // namespace herald::runtime

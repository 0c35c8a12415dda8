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

// Every complete packet a datagram yields.
std::vector<wire::Packet> receive_all(Link& link, ByteView datagram) {
    std::vector<wire::Packet> packets;
    link.receive(datagram, Time::zero(),
                 [&](wire::Packet&& packet) { packets.push_back(std::move(packet)); });
    return packets;
}

struct LinkTest : ::testing::Test {
    FakeTransport transport{1200};
    PeerTable peers;
    Link link{transport, peers, LinkOptions{}};
};

TEST_F(LinkTest, SendsASmallPacketAsOneDatagramToTheNodesAddressAtFlush) {
    peers.learn(NodeId{2}, peer_address, Time::zero());
    ASSERT_TRUE(link.send(NodeId{2}, data_packet(100)));
    EXPECT_TRUE(transport.sent.empty());  // Packed: it waits for flush().
    link.flush();
    ASSERT_EQ(transport.sent.size(), 1u);
    EXPECT_EQ(transport.sent[0].to, peer_address);
    auto back = receive_all(link, transport.sent[0].datagram);
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0].body, data_packet(100).body);
    EXPECT_EQ(back[0].header.seq, 9u);
    EXPECT_EQ(link.counters().datagrams_packed, 0u);
}

TEST_F(LinkTest, PacksSmallPacketsToOneAddressInOrderUpToTheDatagramSize) {
    const Endpoint other{Endpoint::Scheme::udp, "127.0.0.1", 7401, {}};
    peers.learn(NodeId{2}, peer_address, Time::zero());
    peers.learn(NodeId{3}, other, Time::zero());
    for (std::uint64_t seq = 1; seq <= 20; ++seq) {
        auto packet = data_packet(100);  // 208 bytes encoded: 5 fit in 1200.
        packet.header.seq = seq;
        ASSERT_TRUE(link.send(NodeId{2}, packet));
        if (seq == 10) {
            ASSERT_TRUE(link.send(NodeId{3}, packet));
        }
    }
    link.flush();
    std::vector<std::uint64_t> seqs;
    std::size_t to_other = 0;
    for (const auto& sent : transport.sent) {
        EXPECT_LE(sent.datagram.size(), 1200u);
        for (const auto& packet : receive_all(link, sent.datagram)) {
            if (sent.to == other) {
                ++to_other;
            } else {
                seqs.push_back(packet.header.seq);
            }
        }
    }
    EXPECT_EQ(to_other, 1u);
    ASSERT_EQ(seqs.size(), 20u);
    for (std::size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], i + 1);
    EXPECT_EQ(transport.sent.size(), 5u);  // 4 datagrams of 5 packets, and the other address.
    EXPECT_EQ(link.counters().datagrams_packed, 4u);
}

TEST_F(LinkTest, FragmentsGoAfterWhatIsPackedForTheSameAddress) {
    peers.learn(NodeId{2}, peer_address, Time::zero());
    auto small = data_packet(10);
    small.header.seq = 1;
    auto large = data_packet(3000);
    large.header.seq = 2;
    ASSERT_TRUE(link.send(NodeId{2}, small));
    ASSERT_TRUE(link.send(NodeId{2}, large));
    link.flush();
    std::vector<std::uint64_t> seqs;
    for (const auto& sent : transport.sent) {
        for (const auto& packet : receive_all(link, sent.datagram)) {
            seqs.push_back(packet.header.seq);
        }
    }
    EXPECT_EQ(seqs, (std::vector<std::uint64_t>{1, 2}));
}

TEST_F(LinkTest, WithoutPackingEachPacketIsSentAtOnce) {
    LinkOptions options;
    options.pack_bytes_max = 0;
    Link unpacked{transport, peers, options};
    peers.learn(NodeId{2}, peer_address, Time::zero());
    ASSERT_TRUE(unpacked.send(NodeId{2}, data_packet(10)));
    ASSERT_TRUE(unpacked.send(NodeId{2}, data_packet(10)));
    EXPECT_EQ(transport.sent.size(), 2u);
}

TEST_F(LinkTest, MorePackedAddressesThanTheBoundFlushTheOldest) {
    LinkOptions options;
    options.pack_destinations_max = 2;
    Link bounded{transport, peers, options};
    for (std::uint16_t port = 1; port <= 3; ++port) {
        const Endpoint to{Endpoint::Scheme::udp, "127.0.0.1", port, {}};
        ASSERT_TRUE(bounded.send_to(to, data_packet(10)));
    }
    ASSERT_EQ(transport.sent.size(), 1u);  // The third address needed a slot.
    EXPECT_EQ(transport.sent[0].to.port, 1);
    bounded.flush();
    EXPECT_EQ(transport.sent.size(), 3u);
}

TEST_F(LinkTest, CountsAndDropsPacketsToUnknownNodes) {
    EXPECT_FALSE(link.send(NodeId{99}, data_packet(10)));
    link.flush();
    EXPECT_TRUE(transport.sent.empty());
    EXPECT_EQ(link.counters().unknown_peer_dropped, 1u);
}

TEST_F(LinkTest, FragmentsLargePacketsAndReassemblesThemInAnyOrder) {
    peers.learn(NodeId{2}, peer_address, Time::zero());
    const auto original = data_packet(10'000);
    ASSERT_TRUE(link.send(NodeId{2}, original));
    ASSERT_GT(transport.sent.size(), 8u);
    for (const auto& s : transport.sent) EXPECT_LE(s.datagram.size(), 1200u);
    std::vector<wire::Packet> whole;
    for (auto it = transport.sent.rbegin(); it != transport.sent.rend(); ++it) {
        for (auto& piece : receive_all(link, it->datagram)) whole.push_back(std::move(piece));
    }
    ASSERT_EQ(whole.size(), 1u);
    EXPECT_EQ(whole[0].body, original.body);
    EXPECT_EQ(whole[0].header.flags & wire::flag::fragment, 0);
    EXPECT_EQ(link.counters().reassembled, 1u);
}

TEST_F(LinkTest, CountsAndDropsMalformedDatagrams) {
    const Bytes garbage = {1, 2, 3, 4, 5};
    EXPECT_TRUE(receive_all(link, garbage).empty());
    EXPECT_TRUE(receive_all(link, Bytes{}).empty());
    peers.learn(NodeId{2}, peer_address, Time::zero());
    ASSERT_TRUE(link.send(NodeId{2}, data_packet(50)));
    link.flush();
    Bytes flipped = transport.sent[0].datagram;
    flipped.back() ^= 0xFF;  // The checksum no longer matches.
    EXPECT_TRUE(receive_all(link, flipped).empty());
    EXPECT_EQ(link.counters().malformed_dropped, 3u);
}

TEST_F(LinkTest, APackedDatagramYieldsThePacketsBeforeAMalformedOne) {
    peers.learn(NodeId{2}, peer_address, Time::zero());
    ASSERT_TRUE(link.send(NodeId{2}, data_packet(20)));
    ASSERT_TRUE(link.send(NodeId{2}, data_packet(30)));
    link.flush();
    ASSERT_EQ(transport.sent.size(), 1u);
    Bytes datagram = transport.sent[0].datagram;
    Bytes truncated(datagram.begin(), datagram.end() - 1);  // The second packet overruns.
    EXPECT_EQ(receive_all(link, truncated).size(), 1u);
    datagram.back() ^= 0xFF;  // The second packet's checksum fails.
    EXPECT_EQ(receive_all(link, datagram).size(), 1u);
    datagram.push_back(0);  // And trailing bytes that are no packet: two drops.
    EXPECT_EQ(receive_all(link, datagram).size(), 1u);
    EXPECT_EQ(link.counters().malformed_dropped, 4u);
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

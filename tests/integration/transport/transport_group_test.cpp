// Group addresses on real sockets, loopback only: IP multicast groups and the broadcast
// address on the udp transport (sent through the loopback interface: the listen address is
// 127.0.0.1, so IP_MULTICAST_IF and the joins pick lo), the capability query, and the errors of
// registration on every transport. The same over a real link between network namespaces is
// transport_group_netns_test.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/link.h"
#include "runtime/peer_table.h"
#include "transport_test_support.h"

namespace herald::runtime {
namespace {

using namespace testing;

// A UDP port that no socket of this host holds right now (a wildcard bind succeeded on it).
std::uint16_t free_udp_port() {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    socklen_t length = sizeof address;
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
    ::close(fd);
    return ntohs(address.sin_port);
}

// An administratively scoped group (239/8) that differs between concurrent test processes.
Endpoint test_group() {
    const auto pid = static_cast<unsigned>(::getpid());
    return endpoint("udp://239.255." + std::to_string((pid >> 8) % 256) + "." +
                    std::to_string(pid % 256) + ":" + std::to_string(free_udp_port()));
}

Transport::GroupHandle add(Transport& transport, const Endpoint& group, GroupRole role) {
    auto handle = transport.add_group(group, role);
    EXPECT_TRUE(handle) << handle.error().to_string();
    return handle ? *handle : 0;
}

Errc add_error(Transport& transport, std::string_view url) {
    auto handle = transport.add_group(endpoint(url), GroupRole::member);
    EXPECT_FALSE(handle) << url;
    return handle ? Errc::ok : handle.error().code;
}

TEST(TransportGroup, OnlyUdpHasMulticastAndBroadcastOnlyWhenConfigured) {
    asio::io_context io;
    TempDir dir;
    TransportOptions with_broadcast;
    with_broadcast.groups.broadcast =
        endpoint("udp://127.255.255.255:" + std::to_string(free_udp_port()));
    auto udp = open_peer(io, "udp://127.0.0.1:0");
    auto udp_broadcast = open_peer(io, "udp://127.0.0.1:0", with_broadcast);
    auto tcp = open_peer(io, "tcp://127.0.0.1:0");
    auto unix_socket = open_peer(io, "unix:" + dir.file("node.sock"));
    auto inproc = open_peer(io, "inproc://group-capabilities");
    EXPECT_TRUE(udp->transport->capabilities().multicast);
    EXPECT_FALSE(udp->transport->capabilities().broadcast);
    EXPECT_EQ(udp->transport->broadcast_endpoint(), nullptr);
    EXPECT_TRUE(udp_broadcast->transport->capabilities().broadcast);
    ASSERT_NE(udp_broadcast->transport->broadcast_endpoint(), nullptr);
    EXPECT_EQ(*udp_broadcast->transport->broadcast_endpoint(), *with_broadcast.groups.broadcast);
    for (Peer* peer : {tcp.get(), unix_socket.get(), inproc.get()}) {
        const auto capabilities = peer->transport->capabilities();
        EXPECT_FALSE(capabilities.multicast);
        EXPECT_FALSE(capabilities.broadcast);
        EXPECT_EQ(add_error(*peer->transport, "udp://239.1.2.3:7500"), Errc::invalid_argument);
        EXPECT_EQ(peer->transport->broadcast_endpoint(), nullptr);
        EXPECT_EQ(peer->transport->group_endpoint(1), nullptr);
    }
}

TEST(TransportGroup, RegistrationRefusesWhatIsNotAGroupOfItsFamily) {
    asio::io_context io;
    auto udp = open_peer(io, "udp://127.0.0.1:0");
    Transport& transport = *udp->transport;
    EXPECT_EQ(add_error(transport, "udp://127.0.0.1:7500"), Errc::invalid_argument);
    EXPECT_EQ(add_error(transport, "udp://255.255.255.255:7500"), Errc::invalid_argument);
    EXPECT_EQ(add_error(transport, "tcp://239.1.2.3:7500"), Errc::invalid_argument);
    EXPECT_EQ(add_error(transport, "udp://239.1.2.3:0"), Errc::invalid_argument);
    EXPECT_EQ(add_error(transport, "udp://[ff12::1]:7500"), Errc::invalid_argument);
    EXPECT_EQ(add_error(transport, "inproc://group"), Errc::invalid_argument);
    EXPECT_EQ(transport.remove_group(0).error().code, Errc::not_found);
    EXPECT_EQ(transport.remove_group(7).error().code, Errc::not_found);
    EXPECT_EQ(transport.group_endpoint(0), nullptr);
}

TEST(TransportGroup, HandlesAreBoundedStableAndReusedAfterRemoval) {
    asio::io_context io;
    TransportOptions options;
    options.groups.groups_max = 2;
    auto udp = open_peer(io, "udp://127.0.0.1:0", options);
    Transport& transport = *udp->transport;
    const Endpoint first = endpoint("udp://239.255.0.1:7500");
    const Endpoint second = endpoint("udp://239.255.0.2:7500");
    const auto one = add(transport, first, GroupRole::sender);
    const auto two = add(transport, second, GroupRole::sender);
    EXPECT_NE(one, 0u);
    EXPECT_NE(two, 0u);
    EXPECT_NE(one, two);
    EXPECT_EQ(add(transport, first, GroupRole::sender), one);  // Same group, same handle.
    EXPECT_EQ(add_error(transport, "udp://239.255.0.3:7500"), Errc::queue_full);
    ASSERT_NE(transport.group_endpoint(two), nullptr);
    EXPECT_EQ(*transport.group_endpoint(two), second);
    ASSERT_TRUE(transport.remove_group(one));
    EXPECT_EQ(transport.group_endpoint(one), nullptr);
    EXPECT_EQ(transport.remove_group(one).error().code, Errc::not_found);
    EXPECT_EQ(add(transport, endpoint("udp://239.255.0.3:7500"), GroupRole::sender), one);
}

TEST(TransportGroup, OptionsOutOfBoundsOrABadBroadcastAddressFailTheOpen) {
    asio::io_context io;
    const auto open = [&](std::string_view url, const TransportOptions& options) {
        auto transport = open_transport(io, endpoint(url), options);
        return transport ? Errc::ok : transport.error().code;
    };
    TransportOptions too_many;
    too_many.groups.groups_max = groups_max_limit + 1;
    EXPECT_EQ(open("udp://127.0.0.1:0", too_many), Errc::invalid_argument);
    TransportOptions no_batch;
    no_batch.groups.group_batch_max = 0;
    EXPECT_EQ(open("udp://127.0.0.1:0", no_batch), Errc::invalid_argument);
    TransportOptions multicast;
    multicast.groups.broadcast = endpoint("udp://239.1.2.3:7600");
    EXPECT_EQ(open("udp://127.0.0.1:0", multicast), Errc::invalid_argument);
    TransportOptions v6;
    v6.groups.broadcast = endpoint("udp://127.255.255.255:7600");
    EXPECT_EQ(open("udp://[::1]:0", v6), Errc::invalid_argument);
    TransportOptions no_port;
    no_port.groups.broadcast = endpoint("udp://127.255.255.255:0");
    EXPECT_EQ(open("udp://127.0.0.1:0", no_port), Errc::invalid_argument);
    TransportOptions named;
    named.groups.multicast_interface = "no-such-interface0";
    auto udp = open_transport(io, endpoint("udp://127.0.0.1:0"), named);
    ASSERT_TRUE(udp);
    EXPECT_EQ(add_error(**udp, "udp://239.255.0.1:7500"), Errc::invalid_argument);
}

TEST(TransportGroup, OneDatagramToAGroupReachesEachMemberOnceAndNeverItsSender) {
    asio::io_context io;
    const Endpoint group = test_group();
    auto first = open_peer(io, "udp://127.0.0.1:0");
    auto second = open_peer(io, "udp://127.0.0.1:0");
    auto sender = open_peer(io, "udp://127.0.0.1:0");
    auto outsider = open_peer(io, "udp://127.0.0.1:0");
    add(*first->transport, group, GroupRole::member);
    add(*second->transport, group, GroupRole::member);
    add(*sender->transport, group, GroupRole::member);  // Hears the others, not itself.
    const auto handle = add(*outsider->transport, group, GroupRole::sender);
    const Bytes hello = numbered(1, 100);
    sender->transport->send(group, hello);
    sender->transport->flush();
    ASSERT_TRUE(run_until(io, [&] {
        return first->received.size() == 1 && second->received.size() == 1 &&
               sender->transport->counters().group_echoes == 1;
    }));
    for (Peer* peer : {first.get(), second.get()}) {
        EXPECT_EQ(peer->received[0].from, sender->address());  // The sender's own address.
        EXPECT_EQ(peer->received[0].data, hello);
        EXPECT_EQ(peer->transport->counters().group_received, 1u);
    }
    // A sender-only registration sends but never receives.
    outsider->transport->send(*outsider->transport->group_endpoint(handle), numbered(2, 50));
    outsider->transport->flush();
    ASSERT_TRUE(run_until(io, [&] {
        return first->received.size() == 2 && second->received.size() == 2 &&
               sender->received.size() == 1;
    }));
    EXPECT_TRUE(outsider->received.empty());
    EXPECT_EQ(sender->received[0].from, outsider->address());
}

TEST(TransportGroup, ARemovedGroupNoLongerReceives) {
    asio::io_context io;
    const Endpoint group = test_group();
    auto member = open_peer(io, "udp://127.0.0.1:0");
    auto leaver = open_peer(io, "udp://127.0.0.1:0");
    auto sender = open_peer(io, "udp://127.0.0.1:0");
    add(*member->transport, group, GroupRole::member);
    const auto handle = add(*leaver->transport, group, GroupRole::member);
    ASSERT_TRUE(leaver->transport->remove_group(handle));
    sender->transport->send(group, numbered(1, 10));
    sender->transport->flush();
    ASSERT_TRUE(run_until(io, [&] { return member->received.size() == 1; }));
    run_ready(io);
    EXPECT_TRUE(leaver->received.empty());
    EXPECT_EQ(leaver->transport->counters().group_received, 0u);
}

TEST(TransportGroup, BroadcastReachesEveryNodeOfTheLinkButNotItsSender) {
    asio::io_context io;
    TransportOptions options;
    options.groups.broadcast = endpoint("udp://127.255.255.255:" + std::to_string(free_udp_port()));
    std::vector<PeerPtr> peers;
    for (int i = 0; i < 3; ++i) peers.push_back(open_peer(io, "udp://127.0.0.1:0", options));
    ASSERT_TRUE(peers[0]->transport);
    const Bytes hello = numbered(7, 300);
    peers[0]->transport->send(*peers[0]->transport->broadcast_endpoint(), hello);
    peers[0]->transport->flush();
    ASSERT_TRUE(run_until(io, [&] {
        return peers[1]->received.size() == 1 && peers[2]->received.size() == 1 &&
               peers[0]->transport->counters().group_echoes == 1;
    }));
    for (std::size_t i = 1; i < 3; ++i) {
        EXPECT_EQ(peers[i]->received[0].from, peers[0]->address());
        EXPECT_EQ(peers[i]->received[0].data, hello);
    }
    EXPECT_TRUE(peers[0]->received.empty());
}

TEST(TransportGroup, TheLinkFragmentsAPacketToAGroupAndEachMemberReassemblesIt) {
    asio::io_context io;
    const Endpoint group = test_group();
    TransportOptions small;
    small.datagram_bytes_max = 1200;  // Forces fragments.
    auto sender = open_peer(io, "udp://127.0.0.1:0", small);
    PeerTable sender_peers;
    Link sender_link(*sender->transport, sender_peers, LinkOptions{});
    struct Member {
        std::unique_ptr<Transport> transport;
        PeerTable peers;
        std::unique_ptr<Link> link;
        std::vector<wire::Packet> packets;
    };
    std::vector<std::unique_ptr<Member>> members;
    for (int i = 0; i < 2; ++i) {
        auto member = std::make_unique<Member>();
        auto transport = open_transport(io, endpoint("udp://127.0.0.1:0"), small);
        ASSERT_TRUE(transport);
        member->transport = std::move(*transport);
        member->link = std::make_unique<Link>(*member->transport, member->peers, LinkOptions{});
        add(*member->transport, group, GroupRole::member);
        Member* raw = member.get();
        raw->transport->start([raw](const Endpoint&, ByteView datagram) {
            raw->link->receive(datagram, Time::zero(), [raw](wire::Packet&& packet) {
                raw->packets.push_back(std::move(packet));
            });
        });
        members.push_back(std::move(member));
    }
    wire::Packet packet;
    packet.header.kind = wire::PacketKind::data;
    packet.header.source = Pid{NodeId{42}, 1};
    packet.body = numbered(3, 10'000);
    ASSERT_TRUE(sender_link.send_to(group, packet));
    sender_link.flush();
    sender->transport->flush();
    ASSERT_TRUE(run_until(
        io, [&] { return members[0]->packets.size() == 1 && members[1]->packets.size() == 1; }));
    EXPECT_GT(sender_link.counters().fragments_sent, 1u);
    for (const auto& member : members) EXPECT_EQ(member->packets[0].body, packet.body);
}

}  // namespace
}  // namespace herald::runtime

// tcp specifics: bind conflicts, the hello decides where replies go, malformed input from a
// raw client closes only that connection, a restarted peer is reached again, an absent peer
// is counted, and frames keep their order.
#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include "runtime/tcp_connection.h"
#include "transport_test_support.h"

namespace herald::runtime::testing {
namespace {

Bytes frame(ByteView payload) {
    Bytes out(4 + payload.size());
    const auto length = static_cast<std::uint32_t>(payload.size());
    for (std::size_t i = 0; i < 4; ++i) out[i] = static_cast<std::uint8_t>(length >> (8 * i));
    std::copy(payload.begin(), payload.end(), out.begin() + 4);
    return out;
}

Bytes hello(std::string_view url) {
    return frame(to_bytes(std::string(tcp_hello_magic) + std::string(url)));
}

// A blocking client socket in the test thread, outside any transport.
struct RawClient {
    asio::io_context io;
    asio::ip::tcp::socket socket{io};

    explicit RawClient(const Endpoint& to) {
        socket.connect({asio::ip::make_address(to.host), to.port});
    }
    void write(const Bytes& bytes) { asio::write(socket, asio::buffer(bytes)); }
    // True when the transport closed the connection (EOF or reset).
    bool closed_by_peer() {
        std::uint8_t byte = 0;
        asio::error_code ec;
        socket.read_some(asio::buffer(&byte, 1), ec);
        return static_cast<bool>(ec);
    }
};

TEST(TcpTransport, GivesIoErrorWhenThePortIsTaken) {
    asio::io_context io;
    PeerPtr first = open_peer(io, "tcp://127.0.0.1:0");
    auto second = open_transport(io, first->address(), {});
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code, Errc::io_error);
}

TEST(TcpTransport, RepliesOverTheConnectionThePeerOpened) {
    asio::io_context io;
    PeerPtr node = open_peer(io, "tcp://127.0.0.1:0");
    // The client announces an endpoint where nobody listens: a reply can only come back on
    // the client's own connection.
    RawClient client(node->address());
    client.write(hello("tcp://127.0.0.1:1"));
    client.write(frame(to_bytes("ping")));
    ASSERT_TRUE(run_until(io, [&] { return node->received.size() == 1; }));
    EXPECT_EQ(to_string(node->received[0].from), "tcp://127.0.0.1:1");
    node->transport->send(node->received[0].from, to_bytes("pong"));
    ASSERT_TRUE(run_until(io, [&] { return node->transport->counters().datagrams_sent == 1; }));
    Bytes reply(4 + 4);
    asio::read(client.socket, asio::buffer(reply));
    EXPECT_EQ(reply, frame(to_bytes("pong")));
}

TEST(TcpTransport, AttributesAnUnspecifiedListenAddressToWhereTheConnectionCameFrom) {
    asio::io_context io;
    PeerPtr node = open_peer(io, "tcp://127.0.0.1:0");
    RawClient client(node->address());
    client.write(hello("tcp://0.0.0.0:4242"));
    client.write(frame(to_bytes("x")));
    ASSERT_TRUE(run_until(io, [&] { return node->received.size() == 1; }));
    EXPECT_EQ(to_string(node->received[0].from), "tcp://127.0.0.1:4242");
}

TEST(TcpTransport, ClosesAConnectionThatSendsAFrameOverTheLimit) {
    asio::io_context io;
    TransportOptions options;
    options.datagram_bytes_max = 1000;
    PeerPtr node = open_peer(io, "tcp://127.0.0.1:0", options);
    RawClient client(node->address());
    client.write(hello("tcp://127.0.0.1:1"));
    client.write(Bytes{0xe9, 0x03, 0, 0});  // Length 1001.
    ASSERT_TRUE(run_until(io, [&] { return node->transport->counters().receive_malformed == 1; }));
    EXPECT_TRUE(client.closed_by_peer());
    PeerPtr other = open_peer(io, "tcp://127.0.0.1:0");  // Others still get through.
    other->transport->send(node->address(), Bytes(1000, 1));
    ASSERT_TRUE(run_until(io, [&] { return node->received.size() == 1; }));
}

TEST(TcpTransport, ClosesAConnectionWhoseHelloIsMalformed) {
    asio::io_context io;
    for (const Bytes& bad : {frame(to_bytes("GET / HTTP/1.1")), hello("udp://127.0.0.1:1"),
                             hello("tcp://nowhere:1"), Bytes{0xff, 0xff, 0xff, 0x7f}}) {
        PeerPtr node = open_peer(io, "tcp://127.0.0.1:0");
        RawClient client(node->address());
        client.write(bad);
        ASSERT_TRUE(run_until(io, [&] {
            return node->transport->counters().receive_malformed == 1;
        })) << as_text(bad);
        EXPECT_TRUE(client.closed_by_peer());
        EXPECT_TRUE(node->received.empty());
    }
}

TEST(TcpTransport, ReachesAPeerAgainAfterItRestartsOnTheSamePort) {
    asio::io_context io;
    PeerPtr a = open_peer(io, "tcp://127.0.0.1:0");
    PeerPtr b = open_peer(io, "tcp://127.0.0.1:0");
    const Endpoint b_address = b->address();
    a->transport->send(b_address, to_bytes("one"));
    ASSERT_TRUE(run_until(io, [&] { return b->received.size() == 1; }));
    b.reset();  // Crash: the connection breaks.
    b = open_peer(io, to_string(b_address));
    // Sends during the break may be lost (datagram semantics); keep sending until one lands.
    ASSERT_TRUE(run_until(io, [&] {
        a->transport->send(b_address, to_bytes("two"));
        return !b->received.empty();
    }));
    EXPECT_EQ(as_text(b->received[0].data), "two");
}

TEST(TcpTransport, CountsSendsToAPeerNobodyServes) {
    asio::io_context io;
    PeerPtr a = open_peer(io, "tcp://127.0.0.1:0");
    Endpoint gone;
    {
        PeerPtr closed = open_peer(io, "tcp://127.0.0.1:0");
        gone = closed->address();
    }
    a->transport->send(gone, to_bytes("lost"));
    ASSERT_TRUE(run_until(io, [&] { return a->transport->counters().send_dropped == 1; }));
    a->transport->send(gone, to_bytes("in back-off"));  // Refused at once while backing off.
    EXPECT_EQ(a->transport->counters().send_errors, 1u);
}

TEST(TcpTransport, KeepsTheOrderOfFrames) {
    asio::io_context io;
    PeerPtr a = open_peer(io, "tcp://127.0.0.1:0");
    PeerPtr b = open_peer(io, "tcp://127.0.0.1:0");
    constexpr std::uint32_t count = 5000;
    for (std::uint32_t i = 0; i < count; ++i) a->transport->send(b->address(), numbered(i, 100));
    ASSERT_TRUE(run_until(io, [&] { return b->received.size() == count; }));
    for (std::uint32_t i = 0; i < count; ++i) ASSERT_EQ(index_of(b->received[i].data), i);
}

TEST(TcpTransport, BoundsTheBytesQueuedOverAllConnections) {
    asio::io_context io;
    TransportOptions options;
    options.send_queue_bytes_max = 1000;
    PeerPtr a = open_peer(io, "tcp://127.0.0.1:0", options);
    PeerPtr b = open_peer(io, "tcp://127.0.0.1:0");
    PeerPtr c = open_peer(io, "tcp://127.0.0.1:0");
    // Both connections are still connecting: 604 + 604 framed bytes exceed 1,000.
    a->transport->send(b->address(), Bytes(600, 1));
    a->transport->send(c->address(), Bytes(600, 2));
    EXPECT_EQ(a->transport->counters().send_dropped, 1u);
    ASSERT_TRUE(run_until(io, [&] { return b->received.size() == 1; }));
    // Once written, the room is free again, and c's connection (hello sent) carries it.
    a->transport->send(c->address(), Bytes(600, 3));
    ASSERT_TRUE(run_until(io, [&] { return c->received.size() == 1; }));
    EXPECT_EQ(c->received[0].data, Bytes(600, 3));
}

TEST(TcpTransport, DropsAndCountsWhenTheQueueToAPeerIsFull) {
    asio::io_context io;
    TransportOptions options;
    options.send_queue_max = 10;
    PeerPtr a = open_peer(io, "tcp://127.0.0.1:0", options);
    PeerPtr b = open_peer(io, "tcp://127.0.0.1:0");
    // Still connecting: the hello and 9 frames fit, the rest is dropped.
    for (int i = 0; i < 20; ++i) a->transport->send(b->address(), to_bytes("x"));
    EXPECT_EQ(a->transport->counters().send_dropped, 11u);
    ASSERT_TRUE(run_until(io, [&] { return b->received.size() == 9; }));
}

}  // namespace
}  // namespace herald::runtime::testing

// udp and unix specifics: bind conflicts give io_error, the datagram size option, stale unix
// socket files are replaced while live ones and non-sockets are not, the file goes on close,
// and bad input from outside (unbound senders, truncated datagrams) is counted, not a crash.
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "runtime/endpoint_socket.h"
#include "runtime/udp_transport.h"
#include "runtime/unix_peer_room.h"
#include "runtime/unix_transport.h"
#include "transport_test_support.h"

namespace herald::runtime::testing {
namespace {

Errc open_error(asio::io_context& io, std::string_view url, const TransportOptions& options = {}) {
    auto transport = open_transport(io, endpoint(url), options);
    EXPECT_FALSE(transport) << url << " opened";
    return transport ? Errc::ok : transport.error().code;
}

bool exists(const std::string& path) {
    struct stat info {};
    return ::lstat(path.c_str(), &info) == 0;
}

// A unix datagram socket bound to `path` (or unbound when empty), outside any transport.
int raw_unix_socket(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd, 0);
    if (path.empty()) return fd;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.data(), path.size());
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    return fd;
}

sockaddr_un unix_address(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.data(), path.size());
    return address;
}

// Fills the receive queue of the unix datagram socket at `path` (net.unix.max_dgram_qlen
// datagrams, whatever this machine's value) with 1-byte datagrams from unbound sockets. A send
// from a fresh socket fails with EAGAIN only when the peer is full (its own buffer is empty).
// Returns the datagrams queued; 0 when the queue could not be filled.
std::size_t fill_unix_peer(const std::string& path) {
    const sockaddr_un to = unix_address(path);
    const auto* address = reinterpret_cast<const sockaddr*>(&to);
    std::size_t queued = 0;
    for (int socket_count = 0; socket_count < 256; ++socket_count) {
        const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        bool first = true, peer_full = false;
        for (;;) {
            if (::sendto(fd, "f", 1, 0, address, sizeof to) == 1) {
                ++queued;
                first = false;
                continue;
            }
            peer_full = first && errno == EAGAIN;
            break;
        }
        ::close(fd);  // Its datagrams stay queued at the peer.
        if (peer_full) return queued;
    }
    return 0;
}

// Reads every datagram queued at `fd` (non-blocking) and returns them.
std::vector<std::string> drain_unix_socket(int fd) {
    std::vector<std::string> datagrams;
    std::vector<char> buffer(unix_datagram_bytes_default);
    for (;;) {
        const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
        if (n < 0) return datagrams;
        datagrams.emplace_back(buffer.data(), static_cast<std::size_t>(n));
    }
}

// A sender and a receiver address for each datagram transport: udp on loopback, unix in `dir`.
std::vector<std::pair<std::string, std::string>> udp_and_unix_pairs(const TempDir& dir) {
    return {{"udp://127.0.0.1:0", "udp://127.0.0.1:0"},
            {"unix:" + dir.file("a.sock"), "unix:" + dir.file("b.sock")}};
}

TEST(UdpTransport, GivesIoErrorWhenThePortIsTaken) {
    asio::io_context io;
    PeerPtr first = open_peer(io, "udp://127.0.0.1:0");
    const std::string taken = to_string(first->address());
    auto second = open_transport(io, endpoint(taken), {});
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code, Errc::io_error);
    EXPECT_NE(second.error().detail.find("in use"), std::string::npos) << second.error().detail;
}

TEST(UdpTransport, GivesIoErrorForAnAddressThatIsNotLocal) {
    asio::io_context io;
    EXPECT_EQ(open_error(io, "udp://192.0.2.1:0"), Errc::io_error);  // TEST-NET-1.
}

TEST(UdpTransport, UsesTheLargestUdpPayloadUnlessConfiguredSmaller) {
    asio::io_context io;
    EXPECT_EQ(open_peer(io, "udp://127.0.0.1:0")->transport->datagram_bytes_max(),
              udp4_datagram_bytes_max);
    EXPECT_EQ(open_peer(io, "udp://[::1]:0")->transport->datagram_bytes_max(),
              udp6_datagram_bytes_max);
    TransportOptions options;
    options.datagram_bytes_max = 1400;
    PeerPtr small = open_peer(io, "udp://127.0.0.1:0", options);
    EXPECT_EQ(small->transport->datagram_bytes_max(), 1400u);
    options.datagram_bytes_max = 1u << 20;  // Above what UDP carries: lowered.
    EXPECT_EQ(open_peer(io, "udp://127.0.0.1:0", options)->transport->datagram_bytes_max(),
              udp4_datagram_bytes_max);
}

// What a child in a network namespace of its own found; 0 = every check held.
enum MtuChild : int { mtu_ok = 0, mtu_no_namespace = 77, mtu_no_veth = 78, mtu_wrong = 1 };

int datagram_size_in_a_namespace_with_mtu_1400() {
    if (::unshare(CLONE_NEWNET) != 0) return mtu_no_namespace;
    // A veth pair is the one link type every kernel with namespaces has (no dummy module here).
    if (std::system("ip link add hva mtu 1400 type veth peer name hvb mtu 1400 && "
                    "ip addr add 10.99.0.1/24 dev hva && ip link set hva up && "
                    "ip link set hvb up && ip link set lo up") != 0) {
        return mtu_no_veth;
    }
    asio::io_context io;
    auto sized = [&](std::string_view url, std::size_t configured) -> std::size_t {
        TransportOptions options;
        options.datagram_bytes_max = configured;
        auto transport = open_transport(io, endpoint(url), options);
        return transport ? (*transport)->datagram_bytes_max() : 0;
    };
    auto veth = to_socket_address(endpoint("udp://10.99.0.1:0"));
    const std::size_t found[] = {
        veth ? interface_mtu(veth->get()) : 0, sized("udp://10.99.0.1:0", 0),
        sized("udp://0.0.0.0:0", 0),           sized("udp://127.0.0.1:0", 0),
        sized("udp://10.99.0.1:0", 9000),      sized("udp://10.99.0.1:0", 100)};
    const std::size_t want[] = {
        1400, 1400 - udp4_header_bytes, udp4_datagram_bytes_max, udp4_datagram_bytes_max,
        9000, udp_datagram_bytes_min};
    for (std::size_t i = 0; i < std::size(want); ++i) {
        if (found[i] != want[i]) {
            std::fprintf(stderr, "check %zu: %zu, expected %zu\n", i, found[i], want[i]);
            return mtu_wrong;
        }
    }
    return mtu_ok;
}

// Unset, the datagram size follows the MTU of the listen address's interface, so packed
// datagrams and fragments are never cut again by IP fragmentation; a wildcard or loopback
// address keeps the UDP limit; a configured size wins (raised to the least IPv4 reassembles).
// The interface is a veth pair with MTU 1400 in a network namespace of a forked child.
TEST(UdpTransport, TakesItsDatagramSizeFromTheListenInterfacesMtu) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) ::_exit(datagram_size_in_a_namespace_with_mtu_1400());
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == mtu_no_namespace) {
        GTEST_SKIP() << "no network namespace (unshare(CLONE_NEWNET) needs root)";
    }
    ASSERT_NE(WEXITSTATUS(status), mtu_no_veth) << "ip could not make a veth pair";
    EXPECT_EQ(WEXITSTATUS(status), mtu_ok) << "a datagram size differed (the child said which)";
}

TEST(UdpTransport, CountsSendsToTheOtherAddressFamily) {
    asio::io_context io;
    PeerPtr v4 = open_peer(io, "udp://127.0.0.1:0");
    v4->transport->send(endpoint("udp://[::1]:9"), to_bytes("x"));
    v4->transport->flush();
    EXPECT_EQ(v4->transport->counters().send_errors, 1u);
}

TEST(UdpTransport, KeepsWorkingAfterSendingToAClosedPort) {
    asio::io_context io;
    PeerPtr a = open_peer(io, "udp://127.0.0.1:0");
    PeerPtr b = open_peer(io, "udp://127.0.0.1:0");
    Endpoint gone;
    {
        PeerPtr closed = open_peer(io, "udp://127.0.0.1:0");
        gone = closed->address();
    }
    for (int i = 0; i < 5; ++i) a->transport->send(gone, to_bytes("lost"));
    a->transport->flush();
    b->transport->send(a->address(), to_bytes("hello"));
    b->transport->flush();
    ASSERT_TRUE(run_until(io, [&] { return a->received.size() == 1; }));
    EXPECT_EQ(as_text(a->received[0].data), "hello");
}

// A large datagram with nothing queued before it leaves at once (no copy into the send queue);
// behind a queued one it waits its turn, so the order holds either way.
TEST(DatagramTransports, SendLargeDatagramsAtOnceAndKeepTheirOrder) {
    TempDir dir;
    for (const auto& [from_url, to_url] : udp_and_unix_pairs(dir)) {
        asio::io_context io;
        PeerPtr from = open_peer(io, from_url);
        PeerPtr to = open_peer(io, to_url);
        from->transport->send(to->address(), numbered(0, 20'000));
        EXPECT_EQ(from->transport->counters().datagrams_sent, 1u) << from_url;  // No flush.
        from->transport->send(to->address(), numbered(1, 100));                 // Small: queued.
        from->transport->send(to->address(), numbered(2, 20'000));  // Behind it: queued too.
        EXPECT_EQ(from->transport->counters().datagrams_sent, 1u) << from_url;
        from->transport->flush();
        ASSERT_TRUE(run_until(io, [&] { return to->received.size() == 3; })) << from_url;
        for (std::uint32_t i = 0; i < 3; ++i) {
            EXPECT_EQ(to->received[i].data, numbered(i, i == 1 ? 100 : 20'000)) << from_url;
        }
    }
}

// A gather send (the Link's header beside a view of the body, issue 17) arrives as the one
// datagram of its two pieces joined, whether it leaves at once (sendmsg with two iovecs) or is
// copied into the send queue behind a queued one; an oversize pair is refused and counted.
TEST(DatagramTransports, SendGatherArrivesAsTheTwoPiecesJoined) {
    TempDir dir;
    for (const auto& [from_url, to_url] : udp_and_unix_pairs(dir)) {
        asio::io_context io;
        PeerPtr from = open_peer(io, from_url);
        PeerPtr to = open_peer(io, to_url);
        Transport& t = *from->transport;
        const Bytes first = numbered(0, 20'000);
        const Bytes second = numbered(1, 20'000);
        const auto split = [](const Bytes& b, std::size_t at) {
            return std::pair{ByteView(b).first(at), ByteView(b).subspan(at)};
        };
        const auto [head0, body0] = split(first, 120);
        t.send_gather(to->address(), head0, body0);
        EXPECT_EQ(t.counters().datagrams_sent, 1u) << from_url;  // At once: no flush.
        t.send(to->address(), numbered(2, 100));                 // Small: queued.
        const auto [head1, body1] = split(second, 200);
        t.send_gather(to->address(), head1, body1);  // Behind it: copied into the queue.
        const Bytes oversize(t.datagram_bytes_max(), 1);
        t.send_gather(to->address(), oversize, ByteView(oversize).first(1));
        EXPECT_EQ(t.counters().send_errors, 1u) << from_url;
        t.flush();
        ASSERT_TRUE(run_until(io, [&] { return to->received.size() == 3; })) << from_url;
        EXPECT_EQ(to->received[0].data, first) << from_url;
        EXPECT_EQ(to->received[1].data, numbered(2, 100)) << from_url;
        EXPECT_EQ(to->received[2].data, second) << from_url;
    }
}

// The receive path waits as soon as a batch comes back short, without a last read for EAGAIN
// and without re-registering the socket (receive_wait.h): every datagram that arrives after
// that must still wake it, in bursts shorter than, equal to and longer than a batch, whether
// it arrives while the loop runs or while it sleeps.
TEST(UdpTransport, ReceivesEveryBurstAfterAShortBatch) {
    asio::io_context io;
    TransportOptions options;
    options.batch_max = 8;
    PeerPtr node = open_peer(io, "udp://127.0.0.1:0", options);
    const int raw = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(raw, 0);
    ASSERT_TRUE(node->address().scheme == Endpoint::Scheme::udp);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(node->address().port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::size_t sent = 0;
    for (const std::size_t burst : {1u, 3u, 7u, 8u, 9u, 16u, 17u, 1u, 200u, 2u}) {
        for (std::size_t i = 0; i < burst; ++i) {
            const Bytes datagram = numbered(static_cast<std::uint32_t>(sent++), 32);
            ASSERT_EQ(::sendto(raw, datagram.data(), datagram.size(), 0,
                               reinterpret_cast<const sockaddr*>(&to), sizeof to),
                      32);
        }
        // Sleeping: the loop waits in epoll_wait for this burst.
        ASSERT_TRUE(run_until(
            io, [&] { return node->received.size() == sent; }, 5s))
            << "burst of " << burst << ": " << node->received.size() << " of " << sent;
        run_ready(io);  // The wait is armed again, after the short batch that ended the burst.
    }
    for (std::size_t i = 0; i < sent; ++i) {
        EXPECT_EQ(node->received[i].data, numbered(static_cast<std::uint32_t>(i), 32));
    }
    ::close(raw);
}

// The same while the loop runs: datagrams arrive from another thread in bursts of 1 to 64 with
// pauses, at any moment of a drain (between its last read and the wait being queued too), and
// every one is received. At most 100 are in flight, well within the socket buffer, so the
// kernel drops none; a lost wake-up shows as a receiver stuck short of the count.
TEST(UdpTransport, ReceivesEveryDatagramSentWhileItDrains) {
    asio::io_context io;
    TransportOptions options;
    options.batch_max = 16;
    auto node = open_transport(io, endpoint("udp://127.0.0.1:0"), options);
    ASSERT_TRUE(node);
    std::atomic<std::size_t> received{0};
    (*node)->start([&](const Endpoint&, ByteView) { received.fetch_add(1); });
    constexpr std::size_t total = 20'000;
    std::atomic<bool> stop{false};  // The receiver gave up: stop sending too.
    std::thread sender([&received, &stop, port = (*node)->local_endpoint().port] {
        const int raw = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(port);
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        std::uint32_t random = 12345;
        for (std::size_t sent = 0; sent < total && !stop.load();) {
            random = random * 1'103'515'245u + 12'345u;
            const std::size_t burst = std::min<std::size_t>(1 + (random >> 16) % 64, total - sent);
            for (std::size_t i = 0; i < burst; ++i, ++sent) {
                const Bytes datagram = numbered(static_cast<std::uint32_t>(sent), 16);
                ::sendto(raw, datagram.data(), datagram.size(), 0,
                         reinterpret_cast<const sockaddr*>(&to), sizeof to);
            }
            if ((random >> 8) % 4 == 0) std::this_thread::sleep_for(50us);
            while (sent - received.load() > 100 && !stop.load()) std::this_thread::yield();
        }
        ::close(raw);
    });
    const bool all = run_until(
        io, [&] { return received.load() == total; }, 30s);
    stop = true;
    sender.join();
    EXPECT_TRUE(all) << received.load() << " of " << total;
    EXPECT_EQ((*node)->counters().datagrams_received, received.load());
}

TEST(UnixTransport, ReplacesAStaleSocketFile) {
    asio::io_context io;
    TempDir dir;
    const std::string path = dir.file("stale.sock");
    ::close(raw_unix_socket(path));  // A crashed node: the file stays, nobody listens.
    ASSERT_TRUE(exists(path));
    PeerPtr node = open_peer(io, "unix:" + path);
    PeerPtr other = open_peer(io, "unix:" + dir.file("other.sock"));
    other->transport->send(node->address(), to_bytes("ping"));
    ASSERT_TRUE(run_until(io, [&] { return node->received.size() == 1; }));
}

TEST(UnixTransport, RefusesAPathARunningNodeServes) {
    asio::io_context io;
    TempDir dir;
    PeerPtr node = open_peer(io, "unix:" + dir.file("live.sock"));
    EXPECT_EQ(open_error(io, "unix:" + dir.file("live.sock")), Errc::io_error);
    PeerPtr other = open_peer(io, "unix:" + dir.file("other.sock"));
    other->transport->send(node->address(), to_bytes("still here"));
    ASSERT_TRUE(run_until(io, [&] { return node->received.size() == 1; }));
}

TEST(UnixTransport, NeverRemovesAFileThatIsNotASocket) {
    asio::io_context io;
    TempDir dir;
    const std::string path = dir.file("notes.txt");
    std::ofstream(path) << "keep me";
    EXPECT_EQ(open_error(io, "unix:" + path), Errc::io_error);
    EXPECT_TRUE(exists(path));
}

TEST(UnixTransport, GivesIoErrorWhenTheDirectoryIsMissing) {
    asio::io_context io;
    TempDir dir;
    EXPECT_EQ(open_error(io, "unix:" + dir.file("missing/x.sock")), Errc::io_error);
}

TEST(UnixTransport, RemovesItsSocketFileOnClose) {
    asio::io_context io;
    TempDir dir;
    const std::string path = dir.file("node.sock");
    PeerPtr node = open_peer(io, "unix:" + path);
    EXPECT_TRUE(exists(path));
    node->transport->close();
    EXPECT_FALSE(exists(path));
    node = open_peer(io, "unix:" + path);  // The path can be bound again at once.
    node->transport.reset();
    EXPECT_FALSE(exists(path));
}

TEST(UnixTransport, CountsDatagramsFromUnboundSendersAndIgnoresThem) {
    asio::io_context io;
    TempDir dir;
    PeerPtr node = open_peer(io, "unix:" + dir.file("node.sock"));
    const int raw = raw_unix_socket("");
    sockaddr_un to{};
    to.sun_family = AF_UNIX;
    std::strcpy(to.sun_path, node->address().path.c_str());
    ASSERT_EQ(::sendto(raw, "anon", 4, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 4);
    ::close(raw);
    ASSERT_TRUE(run_until(io, [&] { return node->transport->counters().receive_errors == 1; }));
    EXPECT_TRUE(node->received.empty());
}

TEST(UnixTransport, CountsDatagramsLargerThanItsBuffersAsErrors) {
    asio::io_context io;
    TempDir dir;
    TransportOptions small;
    small.datagram_bytes_max = 1000;
    PeerPtr node = open_peer(io, "unix:" + dir.file("small.sock"), small);
    PeerPtr big = open_peer(io, "unix:" + dir.file("big.sock"));
    big->transport->send(node->address(), Bytes(5000, 1));
    big->transport->send(node->address(), Bytes(1000, 2));
    ASSERT_TRUE(run_until(io, [&] { return node->received.size() == 1; }));
    EXPECT_EQ(node->received[0].data, Bytes(1000, 2));
    EXPECT_EQ(node->transport->counters().receive_errors, 1u);
}

TEST(UnixTransport, CountsSendsToAPeerThatIsGone) {
    asio::io_context io;
    TempDir dir;
    PeerPtr node = open_peer(io, "unix:" + dir.file("node.sock"));
    node->transport->send(endpoint("unix:" + dir.file("nobody.sock")), to_bytes("x"));
    node->transport->flush();
    EXPECT_EQ(node->transport->counters().send_errors, 1u);
    EXPECT_EQ(node->transport->counters().datagrams_sent, 0u);
}

TEST(UnixPeerRoom, SeesAPeersQueueFullUntilItTakesADatagram) {
    asio::io_context io;
    TempDir dir;
    const std::string path = dir.file("peer.sock");
    const int peer = raw_unix_socket(path);
    ASSERT_GT(fill_unix_peer(path), 0u);
    SocketAddress address;
    const sockaddr_un to = unix_address(path);
    std::memcpy(&address.storage, &to, sizeof to);
    address.length = sizeof to;
    UnixPeerRoom room(io);
    EXPECT_EQ(room.watch(address), UnixPeerRoom::State::full);
    bool woken = false;
    room.wait([&](const asio::error_code& ec) { woken = !ec; });
    io.poll();
    EXPECT_FALSE(woken);
    char byte = 0;
    ASSERT_EQ(::recv(peer, &byte, 1, MSG_DONTWAIT), 1);
    io.poll();  // No time passes: the peer's taking a datagram is the wake-up.
    EXPECT_TRUE(woken);
    EXPECT_EQ(room.watch(address), UnixPeerRoom::State::room);
    ::close(peer);
    EXPECT_EQ(room.watch(address), UnixPeerRoom::State::unknown);  // Nobody at the path.
}

// A full peer wakes the sender when it takes a datagram; the retry timer (backed off to 1 ms
// while the peer stayed full) is not what sends the queued datagram.
TEST(UnixTransport, SendsToAFullPeerAsSoonAsItTakesADatagram) {
    asio::io_context io;
    TempDir dir;
    const std::string path = dir.file("peer.sock");
    const int peer = raw_unix_socket(path);
    PeerPtr node = open_peer(io, "unix:" + dir.file("node.sock"));
    const std::size_t filled = fill_unix_peer(path);
    ASSERT_GT(filled, 0u);
    node->transport->send(endpoint("unix:" + path), to_bytes("late"));
    node->transport->flush();
    io.run_for(std::chrono::milliseconds(20));  // Full all along: the timer backs off.
    EXPECT_EQ(drain_unix_socket(peer).size(), filled);
    io.poll();  // Runs what is ready now, waits for nothing.
    EXPECT_EQ(drain_unix_socket(peer), std::vector<std::string>{"late"});
    EXPECT_EQ(node->transport->counters().send_dropped, 0u);
    ::close(peer);
}

// Datagrams queued for a full unix peer go out joined, as one datagram: its queue counts
// datagrams, not bytes (a receiver's acks to a busy sender would wait one per slot).
TEST(UnixTransport, JoinsDatagramsQueuedForAFullPeer) {
    asio::io_context io;
    TempDir dir;
    const std::string path = dir.file("peer.sock");
    const int peer = raw_unix_socket(path);
    TransportOptions joining;
    joining.join_queued = true;  // As the Node opens its transport.
    PeerPtr node = open_peer(io, "unix:" + dir.file("node.sock"), joining);
    const std::size_t filled = fill_unix_peer(path);
    ASSERT_GT(filled, 0u);
    const Endpoint to = endpoint("unix:" + path);
    node->transport->send(to, to_bytes("one"));
    node->transport->flush();  // The peer is full: the transport waits.
    node->transport->send(to, to_bytes("two"));
    node->transport->send(to, to_bytes("three"));
    node->transport->send(to, Bytes(node->transport->datagram_bytes_max() - 4, 7));
    EXPECT_EQ(drain_unix_socket(peer).size(), filled);
    ASSERT_TRUE(run_until(io, [&] { return node->transport->counters().datagrams_sent >= 2; }));
    const std::vector<std::string> got = drain_unix_socket(peer);
    ASSERT_EQ(got.size(), 2u);  // The last did not fit with the others.
    EXPECT_EQ(got[0], "onetwothree");
    EXPECT_EQ(got[1].size(), node->transport->datagram_bytes_max() - 4);
    ::close(peer);
}

TEST(UnixTransport, DefaultsToTwoHundredKibDatagrams) {
    asio::io_context io;
    TempDir dir;
    EXPECT_EQ(open_peer(io, "unix:" + dir.file("a.sock"))->transport->datagram_bytes_max(),
              unix_datagram_bytes_default);
}

}  // namespace
}  // namespace herald::runtime::testing

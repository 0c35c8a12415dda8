// Hostile traffic against a real node on loopback (issue 21): a bounded flood of random bytes,
// bad checksums, truncated and malformed packets, hellos from made-up nodes, and fragment 0 of
// large messages from many fragment ids, sent from several sockets while a legitimate node pings
// the target. What must hold: the node never stops, every bad packet is dropped and counted,
// made-up nodes and announced messages do not grow its state past the documented bounds
// (peer table, reassembly memory), the legitimate node is answered during and after the flood,
// and the node still stops cleanly. The figures of a run (packets/s sent, counted drops, round
// trips before/during/after, RSS before/peak/after) are printed, not asserted: performance is
// measured by benchmarks, not by tests.
// The flood runs twice: against nodes without a key, and against nodes with a cluster key that
// encrypt (every forged packet is then refused by its tag).
// A second test sends RPC requests from 2,000 made-up client nodes that never acknowledge: the
// server must not resend their responses into the void (issue 21 item 5). A third floods a
// server with requests from made-up client nodes: they must not fill its table of client nodes
// so that a real new client is refused (issue 21 item 2).
// HERALD_FLOOD_PACKETS sets the flood's size: 60,000 in make test, 1,000,000 under the `long`
// label (make test-long).
#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../node/node_test_support.h"
#include "core/sanitizers.h"
#include "herald/rpc.h"
#include "wire/auth.h"
#include "wire/codec.h"
#include "wire/fragment.h"

namespace herald {
namespace {

using namespace herald::testing;
using namespace std::chrono_literals;

std::uint64_t flood_packets() {
    const char* text = std::getenv("HERALD_FLOOD_PACKETS");
    if (text == nullptr) return 60'000;
    const auto n = std::strtoull(text, nullptr, 10);
    return n == 0 ? 60'000 : n;
}

// Resident set size of this process, in KiB (the node under attack runs in it).
std::uint64_t rss_kib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
    }
    return 0;
}

std::uint16_t port_of(const std::string& url) {
    return static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
}

// The IPv4 loopback address of a node listening on udp://127.0.0.1:PORT.
sockaddr_in loopback(const std::string& url) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port_of(url));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return to;
}

// The hostile datagrams, by category; each call makes the next one of a category.
class Forger {
public:
    explicit Forger(std::uint64_t seed) : random_(seed) {
        // One 4 MiB message, whose fragment 0 is sent under many fragment ids.
        large_.header.kind = wire::PacketKind::data;
        large_.header.source = Pid{NodeId{0xBAD0}, 1};
        large_.header.target = Pid{NodeId{0}, 0};
        large_.header.source_incarnation = 1;
        large_.header.seq = 1;
        large_.body.assign(std::size_t{4} << 20, 0x5A);
        plan_ = *wire::plan_fragments(large_, 65'000);
    }

    enum class Kind : std::uint8_t { random, bad_crc, truncated, bad_field, fake_hello, fragment };
    static constexpr std::size_t kinds = 6;

    Bytes make(Kind kind) {
        switch (kind) {
            case Kind::random: {
                Bytes b(1 + random_() % 1400);
                for (auto& byte : b) byte = static_cast<std::uint8_t>(random_());
                return b;
            }
            case Kind::bad_crc: {
                Bytes b = wire::encode(hello(NodeId{0xC0DE}));
                b[b.size() - 1] ^= 0xFF;  // The checksum covers every byte.
                b[20] ^= 0x01;
                return b;
            }
            case Kind::truncated: {
                Bytes b = wire::encode(hello(NodeId{0xC0DF}));
                b.resize(1 + random_() % (b.size() - 1));
                return b;
            }
            case Kind::bad_field: {
                // A well-formed packet of the RPC protocol whose call_id is missing: decodes, then
                // the engine drops it as malformed.
                wire::Packet p;
                p.header.kind = wire::PacketKind::rpc_request;
                p.header.source = Pid{NodeId{0xD00D}, 1 + random_() % 1000};
                p.header.target = Pid{NodeId{0}, 1};
                p.header.source_incarnation = 1;
                p.header.seq = 1 + random_() % 1000;
                return wire::encode(p);
            }
            case Kind::fake_hello:
                return wire::encode(hello(NodeId{0x10000 + random_() % 1'000'000}));
            case Kind::fragment: {
                Bytes b(65'000);
                auto n = wire::encode_fragment_into(
                    large_, plan_, static_cast<std::uint32_t>(++fragment_id_), 0, b);
                b.resize(n ? *n : 0);
                return b;
            }
        }
        return {};
    }

private:
    wire::Packet hello(NodeId from) {
        wire::Packet p;
        p.header.kind = wire::PacketKind::hello;
        p.header.source = Pid{from, 0};
        p.header.source_incarnation = 1 + static_cast<std::uint32_t>(random_() % 100);
        p.header.seq = 1 + random_() % 1'000'000;
        return p;
    }

    std::mt19937_64 random_;
    wire::Packet large_;
    wire::FragmentPlan plan_;
    std::uint64_t fragment_id_ = 0;
};

// Sends `count` hostile datagrams to 127.0.0.1:`port` from `sockets` sockets, as fast as the
// kernel takes them; a background thread.
class Flooder {
public:
    Flooder(std::uint16_t port, std::uint64_t count, std::size_t sockets) {
        for (std::size_t i = 0; i < sockets; ++i) {
            const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
            EXPECT_GE(fd, 0);
            fds_.push_back(fd);
        }
        to_.sin_family = AF_INET;
        to_.sin_port = htons(port);
        to_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        thread_ = std::thread([this, count] { run(count); });
    }
    ~Flooder() {
        if (thread_.joinable()) thread_.join();
        for (int fd : fds_) ::close(fd);
    }
    Flooder(const Flooder&) = delete;
    Flooder& operator=(const Flooder&) = delete;

    void join() { thread_.join(); }
    [[nodiscard]] bool done() const { return done_.load(); }
    [[nodiscard]] std::uint64_t sent(Forger::Kind kind) const {
        return sent_[static_cast<std::size_t>(kind)];
    }
    [[nodiscard]] std::uint64_t total() const { return total_; }
    [[nodiscard]] double seconds() const { return seconds_; }

private:
    void run(std::uint64_t count) {
        Forger& forger = forger_;
        // Fragments are the most expensive to make and to receive: one datagram in 50.
        const auto start = std::chrono::steady_clock::now();
        for (std::uint64_t i = 0; i < count; ++i) {
            const auto kind = i % 50 == 49 ? Forger::Kind::fragment
                                           : static_cast<Forger::Kind>(i % (Forger::kinds - 1));
            const Bytes datagram = forger.make(kind);
            const int fd = fds_[i % fds_.size()];
            // A full socket buffer: wait a moment and go on (the datagram is lost, as on a
            // flooded network).
            if (::sendto(fd, datagram.data(), datagram.size(), 0,
                         reinterpret_cast<const sockaddr*>(&to_), sizeof to_) < 0) {
                std::this_thread::sleep_for(50us);
                continue;
            }
            ++sent_[static_cast<std::size_t>(kind)];
            ++total_;
        }
        seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        done_ = true;
    }

    // Made here, on the test's thread, not in run(): its 4 MiB message would otherwise sit in
    // the flooding thread's malloc arena, whose free top chunk glibc's malloc_trim does not give
    // back (it trims only the main arena's top), and the test would count those 4 MiB, not the
    // node's, as memory kept after the flood (docs/security.md, "Memory").
    Forger forger_{0xF100D};
    std::vector<int> fds_;
    sockaddr_in to_{};
    std::thread thread_;
    std::atomic<bool> done_{false};
    std::uint64_t sent_[Forger::kinds] = {};
    std::uint64_t total_ = 0;
    double seconds_ = 0;
};

struct Rtts {
    std::vector<double> ms;
    std::uint64_t failed = 0;
    void add(const Result<PingReply>& r) {
        if (r) {
            ms.push_back(std::chrono::duration<double, std::milli>(r->rtt).count());
        } else {
            ++failed;
        }
    }
    [[nodiscard]] double percentile(double p) {
        if (ms.empty()) return 0;
        std::sort(ms.begin(), ms.end());
        return ms[std::min(ms.size() - 1,
                           static_cast<std::size_t>(p * static_cast<double>(ms.size())))];
    }
    [[nodiscard]] std::string text() {
        char out[128];
        std::snprintf(out, sizeof out, "%zu ok, %llu failed, p50 %.2f ms, p99 %.2f ms", ms.size(),
                      static_cast<unsigned long long>(failed), percentile(0.5), percentile(0.99));
        return out;
    }
};

// With GetParam() true, the target and the bystander share a cluster key and encrypt
// (docs/security.md): no forged packet carries a valid tag, so each is refused before any
// engine, peer table or reassembly buffer sees it.
class HostileFlood : public ::testing::TestWithParam<bool> {
protected:
    std::unique_ptr<Node> start() {
        NodeOptions options;
        if (GetParam()) {
            const std::string key = dir_.path() + "/cluster.key";
            if (!std::ifstream(key)) {
                EXPECT_TRUE(wire::write_new_key_file(key).has_value());
            }
            options.key_file = key;
            options.encrypt = true;
        }
        return start_node(options);
    }
    TempDir dir_;
};

TEST_P(HostileFlood, TheNodeKeepsAnsweringAndItsStateStaysBounded) {
    const bool keyed = GetParam();
    auto target = start();
    auto bystander = start();
    ASSERT_TRUE(target && bystander);
    const std::string url = target->listen_url();
    ASSERT_TRUE(bystander->ping(url, 2s)) << "the bystander reaches the target before the flood";

    Rtts before, during, after;
    for (int i = 0; i < 20; ++i) before.add(bystander->ping(url, 1s));
    const NodeStats start = target->stats();
    const std::uint64_t rss_before = rss_kib();
    std::uint64_t rss_peak = rss_before, peers_peak = 0, reassembly_peak = 0;
    std::uint64_t peer_state_peak = 0, peer_bytes_peak = 0;

    const std::uint64_t packets = flood_packets();
    {
        Flooder flood(port_of(url), packets, 4);
        while (!flood.done()) {
            during.add(bystander->ping(url, 1s));
            const NodeStats now = target->stats();
            peers_peak = std::max(peers_peak, now.peers_known);
            reassembly_peak = std::max(reassembly_peak, now.reassembly_bytes);
            peer_state_peak = std::max(peer_state_peak, now.peer_state_entries);
            peer_bytes_peak = std::max(peer_bytes_peak, now.peer_state_bytes);
            rss_peak = std::max(rss_peak, rss_kib());
            std::this_thread::sleep_for(10ms);
        }
        flood.join();
        std::printf(
            "flood (%s): %llu datagrams in %.2f s (%.0f/s) from 4 sockets; random %llu, "
            "bad_crc %llu, truncated %llu, bad_field %llu, fake_hello %llu, fragment "
            "%llu\n",
            keyed ? "keyed, encrypting" : "no key", static_cast<unsigned long long>(flood.total()),
            flood.seconds(), static_cast<double>(flood.total()) / std::max(flood.seconds(), 1e-9),
            static_cast<unsigned long long>(flood.sent(Forger::Kind::random)),
            static_cast<unsigned long long>(flood.sent(Forger::Kind::bad_crc)),
            static_cast<unsigned long long>(flood.sent(Forger::Kind::truncated)),
            static_cast<unsigned long long>(flood.sent(Forger::Kind::bad_field)),
            static_cast<unsigned long long>(flood.sent(Forger::Kind::fake_hello)),
            static_cast<unsigned long long>(flood.sent(Forger::Kind::fragment)));
        EXPECT_GT(flood.total(), packets / 2) << "the flood did not reach the node";
    }

    // After the flood the bystander is answered every time (the kernel queue has drained within
    // the ping timeout).
    ASSERT_TRUE(eventually([&] { return bystander->ping(url, 1s).has_value(); }, 10s));
    for (int i = 0; i < 20; ++i) after.add(bystander->ping(url, 1s));
    EXPECT_EQ(after.failed, 0u) << after.text();

    const NodeStats end = target->stats();
    const std::uint64_t rss_after = rss_kib();

    std::printf("bystander round trips: before %s; during %s; after %s\n", before.text().c_str(),
                during.text().c_str(), after.text().c_str());
    std::printf(
        "target: datagrams_received +%llu, malformed_dropped +%llu, auth_failed +%llu, "
        "peers_known peak %llu, reassembly peak %llu B; RSS before %llu KiB, peak %llu KiB, "
        "after %llu KiB\n",
        static_cast<unsigned long long>(end.datagrams_received - start.datagrams_received),
        static_cast<unsigned long long>(end.malformed_dropped - start.malformed_dropped),
        static_cast<unsigned long long>(end.auth_failed - start.auth_failed),
        static_cast<unsigned long long>(peers_peak),
        static_cast<unsigned long long>(reassembly_peak),
        static_cast<unsigned long long>(rss_before), static_cast<unsigned long long>(rss_peak),
        static_cast<unsigned long long>(rss_after));

    std::printf(
        "target per-peer state: %llu entries (%llu B) before, peak %llu (%llu B), %llu (%llu B) "
        "after\n",
        static_cast<unsigned long long>(start.peer_state_entries),
        static_cast<unsigned long long>(start.peer_state_bytes),
        static_cast<unsigned long long>(peer_state_peak),
        static_cast<unsigned long long>(peer_bytes_peak),
        static_cast<unsigned long long>(end.peer_state_entries),
        static_cast<unsigned long long>(end.peer_state_bytes));
    // Made-up nodes' hellos make at most hello_peers_max (16,384) peer records of the direct
    // protocol (docs/security.md "Memory"); the other tables hold a few entries.
    EXPECT_LE(peer_state_peak, 16'384u + 64u);
    if (packets >= 500'000) {
        // The long run: wait until the records of the made-up nodes are gone (channel_idle,
        // 30 s, after they were last heard, swept every 15 s), and one memory check more (5 s,
        // it gives freed memory back to the system), then measure again (issue 21 item 6).
        const bool gone = eventually(
            [&] {
                const NodeStats now = target->stats();
                return now.peer_state_entries <= start.peer_state_entries + 8;
            },
            90s);
        std::this_thread::sleep_for(6s);
        const NodeStats later = target->stats();
        std::printf(
            "after the state went (%s): per-peer state %llu entries (%llu B), memory trims %llu, "
            "RSS %llu KiB, heap free %llu KiB\n",
            gone ? "yes" : "not within 90 s",
            static_cast<unsigned long long>(later.peer_state_entries),
            static_cast<unsigned long long>(later.peer_state_bytes),
            static_cast<unsigned long long>(later.memory_trims - start.memory_trims),
            static_cast<unsigned long long>(rss_kib()),
            static_cast<unsigned long long>(::mallinfo2().fordblks >> 10));
        EXPECT_TRUE(gone);
    }
    // Bad packets were dropped and counted (the kernel may have dropped some before the node
    // saw them, so not all of them).
    EXPECT_GT(end.malformed_dropped - start.malformed_dropped, 0u);
    EXPECT_GT(end.datagrams_received - start.datagrams_received, 0u);
    // Made-up nodes from 4 addresses: an address belongs to one node at a time (PeerTable), so
    // at most the bystander, the target itself and one per flooding socket; with a key, none.
    EXPECT_LE(peers_peak, keyed ? 2u : 6u);
    if (keyed) {
        EXPECT_GT(end.auth_failed - start.auth_failed, 0u) << "forged packets are counted";
        EXPECT_EQ(reassembly_peak, 0u) << "an unauthenticated fragment was held";
        EXPECT_EQ(end.replays_dropped, start.replays_dropped);
    }
    // Reassembly memory stays within its bound (docs/wire.md: held_bytes_max, 64 MiB), and the
    // whole process within that plus a margin for the two nodes and the flood's own buffers.
    EXPECT_LE(reassembly_peak, std::uint64_t{64} << 20);
    // (Not under ASan, whose quarantine keeps up to 256 MiB of freed memory resident.)
    if (!built_with_address_sanitizer) {
        EXPECT_LE(rss_peak - rss_before, std::uint64_t{160} << 10) << "KiB";
    }
    // The bystander was answered during the flood at least some of the time.
    EXPECT_GT(during.ms.size(), 0u) << during.text();

    target->stop();
    bystander->stop();
}

INSTANTIATE_TEST_SUITE_P(Keys, HostileFlood, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                             return p.param ? "Keyed" : "Open";
                         });

// A request of the RPC protocol (docs/rpc.md, "Wire"), RRA exactly-once, from a made-up client
// node that will never acknowledge the response; with `cookie`, the server's address proof.
Bytes fake_request(NodeId client, Pid server, std::optional<std::uint64_t> cookie = {}) {
    wire::Packet p;
    p.header.kind = wire::PacketKind::rpc_request;
    p.header.flags = wire::flag::rpc_exactly_once | wire::flag::rpc_ack_response;
    p.header.source = Pid{client, 1};
    p.header.target = server;
    p.header.source_incarnation = 1;
    p.header.seq = 1;
    p.header.epoch = 1;
    p.header.ack = 1;  // The floor: no earlier call.
    Bytes call_id;
    for (int i = 0; i < 4; ++i) call_id.push_back(i == 0 ? 1 : 0);  // Incarnation 1.
    for (int i = 0; i < 8; ++i) call_id.push_back(i == 0 ? 1 : 0);  // Seq 1.
    p.extensions.push_back({wire::ExtensionType::call_id, std::move(call_id)});
    const std::string operation = "echo";
    p.extensions.push_back(
        {wire::ExtensionType::operation, Bytes(operation.begin(), operation.end())});
    if (cookie) {
        Bytes value;
        for (int i = 0; i < 8; ++i) value.push_back(static_cast<std::uint8_t>(*cookie >> (8 * i)));
        p.extensions.push_back({wire::ExtensionType::rpc_cookie, std::move(value)});
    }
    p.body = Bytes{'h', 'i'};
    return wire::encode(p);
}

// A made-up client at a real socket that answers the server's cookies (docs/rpc.md,
// "Admission"): what a stranger can do from one address of its own.
class FakeClients {
public:
    explicit FakeClients(const std::string& url) : to_(loopback(url)) {
        fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
        EXPECT_GE(fd_, 0);
        timeval wait{0, 200'000};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    }
    ~FakeClients() { ::close(fd_); }
    FakeClients(const FakeClients&) = delete;
    FakeClients& operator=(const FakeClients&) = delete;

    void send(const Bytes& datagram) const {
        ::sendto(fd_, datagram.data(), datagram.size(), 0, reinterpret_cast<const sockaddr*>(&to_),
                 sizeof to_);
    }
    // Sends `client`'s request without a cookie and returns the cookie of the server's
    // rpc_nack (nullopt when none came within 200 ms of each of 3 sends: it ran the request
    // instead, or was busy). It sends again as a real client would: after a flood this
    // socket's receive buffer may be full of older answers, and the kernel drops a new one.
    std::optional<std::uint64_t> cookie_for(NodeId client, Pid server) const {
        for (int attempt = 0; attempt < 3; ++attempt) {
            if (auto cookie = ask_cookie(client, server)) return cookie;
        }
        return std::nullopt;
    }

private:
    std::optional<std::uint64_t> ask_cookie(NodeId client, Pid server) const {
        send(fake_request(client, server));
        for (;;) {
            std::uint8_t buffer[65'536];
            const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
            if (n <= 0) return std::nullopt;
            // A datagram may hold several packets back to back (docs/wire.md, "Datagrams").
            ByteView rest(buffer, static_cast<std::size_t>(n));
            while (!rest.empty()) {
                const auto length = wire::packet_length(rest);
                if (!length) break;
                const auto cookie = cookie_in(rest.first(*length), client);
                if (cookie) return cookie;
                rest = rest.subspan(*length);
            }
        }
    }

    // The cookie of an rpc_nack to `client` in `bytes` (one packet), or nullopt.
    static std::optional<std::uint64_t> cookie_in(ByteView bytes, NodeId client) {
        auto packet = wire::decode(bytes);
        if (!packet || packet->header.kind != wire::PacketKind::rpc_nack ||
            packet->header.target.node != client) {
            return std::nullopt;
        }
        const wire::Extension* ext = packet->find(wire::ExtensionType::rpc_cookie);
        if (ext == nullptr || ext->value.size() != 8) return std::nullopt;
        std::uint64_t cookie = 0;
        for (std::size_t i = 0; i < 8; ++i) cookie |= std::uint64_t{ext->value[i]} << (8 * i);
        return cookie;
    }

    sockaddr_in to_;
    int fd_ = -1;
};

// Issue 21 item 5: fake clients, one socket taking one made-up node id after another, send
// requests and never acknowledge. Each client's address is displaced by the next one, so the
// server knows no address for it when the response goes out: it must give up at once
// (Engine::on_unreachable, docs/rpc.md) instead of resending 8 times into the void. The fake
// clients answer the server's cookies first (docs/rpc.md, "Admission"), and the target allows
// them all at their one address.
TEST(Flood, FakeRpcClientsThatNeverAcknowledgeAreNotResentTo) {
    NodeOptions options;
    options.rpc.clients_per_address_max = 100'000;
    auto target = start_node(options);
    ASSERT_TRUE(target);
    auto server = spawn(*target);
    ASSERT_TRUE(server.serve("echo", [](const Request& r) -> Result<Bytes> { return r.body; }));
    constexpr std::uint64_t clients = 2000;
    FakeClients fake(target->listen_url());
    std::vector<std::uint64_t> cookies;
    for (std::uint64_t i = 0; i < clients; ++i) {
        const auto cookie = fake.cookie_for(NodeId{0xFA0000 + i}, server.pid());
        ASSERT_TRUE(cookie.has_value()) << "client " << i << " got no cookie";
        cookies.push_back(*cookie);
    }
    EXPECT_EQ(target->rpc_stats().executions, 0u) << "a request without a cookie ran";
    for (std::uint64_t i = 0; i < clients; ++i) {
        fake.send(fake_request(NodeId{0xFA0000 + i}, server.pid(), cookies[i]));
        if (i % 100 == 99) std::this_thread::sleep_for(2ms);  // Within the socket buffer.
    }
    // Every request ran once; the responses' retransmission budget (8 sends, 50 ms doubling to
    // 1 s: about 4.5 s) has passed.
    ASSERT_TRUE(eventually([&] { return target->rpc_stats().executions >= clients / 2; }, 10s));
    std::this_thread::sleep_for(5s);
    const RpcStats stats = target->rpc_stats();
    std::printf(
        "fake clients: %llu requests run, %llu responses abandoned, %llu resent; node "
        "unknown_peer_dropped %llu\n",
        static_cast<unsigned long long>(stats.executions),
        static_cast<unsigned long long>(stats.responses_abandoned),
        static_cast<unsigned long long>(stats.response_retransmits),
        static_cast<unsigned long long>(target->stats().unknown_peer_dropped));
    EXPECT_GT(stats.responses_abandoned, stats.executions / 2);
    // Without giving up: 8 resends per client. With it, a response sent while its client was
    // still the latest at the socket's address is resent once or twice before the address
    // moves on (1,000 to 2,100 in all, depending on timing); the others not at all.
    EXPECT_LT(stats.response_retransmits, 3 * stats.executions);
}

// Issue 21 item 2: one-packet requests from made-up client nodes used to fill the server's
// table of client nodes (clients_max), after which every new client was refused ("server busy:
// too many client nodes") until the records expired (retention, 60 s). Now a client node that
// has not shown it receives at its address gets a cookie and no record, and one address gets
// at most clients_per_address_max records (docs/rpc.md, "Admission"): a real new client is
// served after both a blind flood of requests and one from a socket that answers its cookies.
TEST(Flood, MadeUpRpcClientsCannotFillTheClientTable) {
    NodeOptions options;
    options.rpc.clients_max = 200;  // The default is 10,000: the same, with fewer packets.
    auto target = start_node(options);
    ASSERT_TRUE(target);
    auto server = spawn(*target);
    ASSERT_TRUE(server.serve("echo", [](const Request& r) -> Result<Bytes> { return r.body; }));
    const std::string url = target->listen_url();
    {
        // Blind: 2,000 requests from made-up nodes, from 4 sockets; none answers anything.
        FakeClients sockets[4] = {FakeClients(url), FakeClients(url), FakeClients(url),
                                  FakeClients(url)};
        for (std::uint64_t i = 0; i < 2000; ++i) {
            sockets[i % 4].send(fake_request(NodeId{0xFB0000 + i}, server.pid()));
            if (i % 100 == 99) std::this_thread::sleep_for(2ms);  // Within the socket buffer.
        }
        // At its own address: 50 made-up nodes that answer their cookies.
        std::uint64_t admitted = 0;
        for (std::uint64_t i = 0; i < 50; ++i) {
            const NodeId node{0xFC0000 + i};
            const auto cookie = sockets[0].cookie_for(node, server.pid());
            if (!cookie) continue;
            sockets[0].send(fake_request(node, server.pid(), cookie));
            ++admitted;
        }
        EXPECT_EQ(admitted, 50u);
    }
    ASSERT_TRUE(eventually([&] { return target->rpc_stats().packets_received >= 1900; }, 5s));
    const RpcStats flooded = target->rpc_stats();
    // A new client node, started after the flood, is served at once.
    auto client_node = start_node();
    ASSERT_TRUE(client_node && client_node->connect(url));
    auto client = spawn(*client_node);
    CallOptions call;
    call.timeout = 3s;
    auto reply = client.call(server.pid(), "echo", std::string_view("real"), call);
    const RpcStats after = target->rpc_stats();
    std::printf(
        "made-up clients: %llu client records, %llu cookies sent, %llu refused for their "
        "address, %llu busy refusals, %llu runs; the real client: %s\n",
        static_cast<unsigned long long>(flooded.cache_clients),
        static_cast<unsigned long long>(flooded.cookies_sent),
        static_cast<unsigned long long>(flooded.address_refusals),
        static_cast<unsigned long long>(flooded.busy_refusals),
        static_cast<unsigned long long>(flooded.executions),
        reply ? "served" : reply.error().to_string().c_str());
    ASSERT_TRUE(reply) << reply.error().to_string();
    EXPECT_EQ(std::string(reply->begin(), reply->end()), "real");
    EXPECT_LE(flooded.cache_clients, 4u) << "records for strangers: at most one address's bound";
    EXPECT_GE(flooded.cookies_sent, 1000u);
    EXPECT_GE(flooded.address_refusals, 1u);
    EXPECT_EQ(after.cache_clients, flooded.cache_clients + 1);
    client_node->stop();
    target->stop();
}

// Issue 21 item 1, without a key: packets that carry a live client's node id from another
// address (a hello with a higher incarnation, data on its next sequence numbers) must neither
// move where the node sends that client's traffic nor reach its processes: the node checks the
// new address (docs/security.md "Address changes"), the client answers from where it is, and
// the claimant is refused.
TEST(Hostile, PacketsClaimingALiveClientsNodeFromAnotherAddressAreRefused) {
    auto target = start_node();
    auto client_node = start_node();
    ASSERT_TRUE(target && client_node);
    ASSERT_TRUE(client_node->connect(target->listen_url()));
    auto server = spawn(*target);
    auto client = spawn(*client_node);
    ASSERT_TRUE(client.send(server.pid(), std::string_view("first")));
    ASSERT_EQ(server.receive(2s)->text(), "first");
    ASSERT_TRUE(server.send(client.pid(), std::string_view("reply 0")));
    ASSERT_EQ(client.receive(2s)->text(), "reply 0");

    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(fd, 0);
    const sockaddr_in to = loopback(target->listen_url());
    auto forge = [&](const wire::Packet& p) {
        const Bytes datagram = wire::encode(p);
        ::sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                 sizeof to);
    };
    wire::Packet hello;
    hello.header.kind = wire::PacketKind::hello;
    hello.header.source = Pid{client_node->id(), 0};
    hello.header.source_incarnation = client_node->incarnation() + 1;  // "It restarted."
    for (int i = 0; i < 5; ++i) forge(hello);
    wire::Packet data;
    data.header.kind = wire::PacketKind::data;
    data.header.source = client.pid();
    data.header.target = server.pid();
    data.header.source_incarnation = client_node->incarnation();
    data.header.target_incarnation = target->incarnation();
    data.header.epoch = 1;
    data.header.seq = 2;
    data.header.ack = 1;
    data.body = Bytes{'f', 'o', 'r', 'g', 'e', 'd'};
    forge(data);
    ::close(fd);
    // The client still gets what the server sends it, and its own messages go through.
    for (int i = 1; i <= 5; ++i) {
        const std::string text = "reply " + std::to_string(i);
        ASSERT_TRUE(server.send(client.pid(), std::string_view(text)));
        auto reply = client.receive(2s);
        ASSERT_TRUE(reply) << reply.error().to_string();
        EXPECT_EQ(reply->text(), text);
    }
    ASSERT_TRUE(client.send(server.pid(), std::string_view("second")));
    auto second = server.receive(2s);
    ASSERT_TRUE(second) << second.error().to_string();
    EXPECT_EQ(second->text(), "second");  // Not "forged".
    EXPECT_FALSE(server.try_receive());
    ASSERT_TRUE(eventually([&] { return target->stats().address_refused >= 1; }, 5s));
    const NodeStats stats = target->stats();
    EXPECT_GE(stats.address_checks, 1u);
    EXPECT_GE(stats.address_dropped, 6u);
    EXPECT_EQ(stats.address_moves, 0u);
}

}  // namespace
}  // namespace herald

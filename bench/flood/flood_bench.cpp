// bench-flood: how fast a node rejects junk, beside the machine's raw receive rate (issue 21
// item 4). One sender thread blasts the same pre-made junk datagrams (random bytes, packets
// with a bad checksum, truncated packets: each rejected by the header or checksum check, before
// any engine) over UDP loopback for a fixed time, in turn at
//   raw     a plain recvmmsg loop (batch 64, 64 KiB buffers, as Herald's udp transport) on its
//           own thread, that counts and drops every datagram;
//   herald  a Node's udp listen socket (its loop thread: one core), while a second node pings
//           that node about once a millisecond (the legitimate client).
// The rounds alternate (raw, herald, raw, ...) so that both see the same load of the (shared)
// machine; each kind's figure is its median round. On loopback the sender does most of the
// kernel's work and may be slower than either receiver, so the figure compared is datagrams per
// CPU-second of the receiving thread (one core: the raw loop's thread; the node's threads, of
// which only the loop works), read from /proc/self/task/*/stat. Prints both kinds' rates per
// wall second and per CPU-second, their ratio (target >= 0.8), the datagrams per wake-up of
// each receiver (per voluntary context switch of its threads: each sleep, whether in recvmmsg
// or epoll_wait, ends in a wake-up), and the pinger's round trips.
// Layer: bench. Usage: bench-flood [--quick | --smoke] (default: 3 rounds of 3 s each).
#include <arpa/inet.h>
#include <dirent.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "herald/herald.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::size_t batch = 64;
constexpr std::size_t buffer_bytes = 65'535;
constexpr std::size_t header_bytes = 108;

struct Config {
    int rounds = 3;
    std::chrono::milliseconds round{3000};
};

// The junk: a third random bytes (never starting with the magic), a third well-formed headers
// (magic "HR", version 1, kind hello, lengths that fit) with a wrong checksum, a third
// truncated headers. Sizes 64 to 1,400 bytes.
std::vector<std::vector<std::uint8_t>> make_junk(std::size_t count) {
    std::mt19937_64 random(0xF100D);
    std::vector<std::vector<std::uint8_t>> junk;
    junk.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        std::vector<std::uint8_t> d;
        switch (i % 3) {
            case 0:
                d.resize(64 + random() % 1337);
                for (auto& byte : d) byte = static_cast<std::uint8_t>(random());
                d[0] = 'X';
                break;
            case 1: {
                d.resize(header_bytes + random() % 1200);
                for (auto& byte : d) byte = static_cast<std::uint8_t>(random());
                const auto body = static_cast<std::uint32_t>(d.size() - header_bytes);
                d[0] = 'H', d[1] = 'R', d[2] = 1, d[3] = 1;  // Magic, version, hello.
                d[4] = d[5] = d[6] = d[7] = 0;               // Flags, no extensions.
                std::memcpy(d.data() + 8, &body, 4);         // Body length (little-endian).
                std::memset(d.data() + 60, 0, 4);            // No fragment id.
                std::memset(d.data() + 88, 0, 4);            // No fragment index / count.
                break;
            }
            default:
                d.resize(8 + random() % (header_bytes - 8));
                for (auto& byte : d) byte = static_cast<std::uint8_t>(random());
                d[0] = 'H', d[1] = 'R', d[2] = 1, d[3] = 1;
                break;
        }
        junk.push_back(std::move(d));
    }
    return junk;
}

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return to;
}

// Sends the junk to `port` in sendmmsg batches until `stop`; returns datagrams sent.
std::uint64_t blast(std::uint16_t port, const std::vector<std::vector<std::uint8_t>>& junk,
                    const std::atomic<bool>& stop) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return 0;
    sockaddr_in to = loopback(port);
    std::vector<mmsghdr> headers(batch);
    std::vector<iovec> iovecs(batch);
    std::uint64_t sent = 0;
    std::size_t next = 0;
    while (!stop.load(std::memory_order_relaxed)) {
        for (std::size_t i = 0; i < batch; ++i) {
            auto& d = junk[next++ % junk.size()];
            iovecs[i] = iovec{const_cast<std::uint8_t*>(d.data()), d.size()};
            headers[i].msg_hdr = msghdr{};
            headers[i].msg_hdr.msg_name = &to;
            headers[i].msg_hdr.msg_namelen = sizeof to;
            headers[i].msg_hdr.msg_iov = &iovecs[i];
            headers[i].msg_hdr.msg_iovlen = 1;
        }
        const int n = ::sendmmsg(fd, headers.data(), batch, 0);
        if (n > 0) sent += static_cast<std::uint64_t>(n);
    }
    ::close(fd);
    return sent;
}

struct Round {
    double received_per_s = 0;
    double sent_per_s = 0;
    double per_core_s = 0;  // Datagrams per second of the receiving thread's CPU time.
    double per_wakeup = 0;  // Datagrams per sleep of the receiving thread (voluntary switch).
};

// CPU time (user + system) of thread `tid` of this process, in seconds (clock ticks).
double cpu_seconds(long tid) {
    std::ifstream stat("/proc/self/task/" + std::to_string(tid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
        if (i == 14) utime = std::stoull(field);
        if (i == 15) stime = std::stoull(field);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Times thread `tid` of this process went to sleep (voluntary context switches): each is a
// wake-up later, whether it slept in recvmmsg or in epoll_wait.
double sleeps(long tid) {
    std::ifstream status("/proc/self/task/" + std::to_string(tid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("voluntary_ctxt_switches:", 0) == 0) return std::stod(line.substr(24));
    }
    return 0;
}

double sleeps(const std::set<long>& tids) {
    double total = 0;
    for (const long tid : tids) total += sleeps(tid);
    return total;
}

std::set<long> threads() {
    std::set<long> tids;
    if (DIR* dir = ::opendir("/proc/self/task")) {
        while (const dirent* entry = ::readdir(dir)) {
            if (entry->d_name[0] != '.') tids.insert(std::stol(entry->d_name));
        }
        ::closedir(dir);
    }
    return tids;
}

double cpu_seconds(const std::set<long>& tids) {
    double total = 0;
    for (const long tid : tids) total += cpu_seconds(tid);
    return total;
}

// A plain recvmmsg loop on its own socket: the machine's raw receive rate for these datagrams.
Round raw_round(const std::vector<std::vector<std::uint8_t>>& junk, std::chrono::milliseconds d) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in at = loopback(0);
    ::bind(fd, reinterpret_cast<const sockaddr*>(&at), sizeof at);
    socklen_t length = sizeof at;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&at), &length);
    timeval wait{0, 100'000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    const int socket_bytes = 4 << 20;  // As Herald's udp transport asks (socket_buffer_bytes).
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &socket_bytes, sizeof socket_bytes);
    std::vector<std::uint8_t> storage(batch * buffer_bytes);
    std::vector<mmsghdr> headers(batch);
    std::vector<iovec> iovecs(batch);
    std::vector<sockaddr_storage> from(batch);
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> received{0};
    std::atomic<long> receiver_tid{0};
    std::thread receiver([&] {
        receiver_tid = static_cast<long>(::syscall(SYS_gettid));
        while (!stop.load(std::memory_order_relaxed)) {
            for (std::size_t i = 0; i < batch; ++i) {
                iovecs[i] = iovec{storage.data() + i * buffer_bytes, buffer_bytes};
                headers[i].msg_hdr = msghdr{};
                headers[i].msg_hdr.msg_name = &from[i];
                headers[i].msg_hdr.msg_namelen = sizeof from[i];
                headers[i].msg_hdr.msg_iov = &iovecs[i];
                headers[i].msg_hdr.msg_iovlen = 1;
            }
            const int n = ::recvmmsg(fd, headers.data(), batch, MSG_WAITFORONE, nullptr);
            if (n > 0) received.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
        }
    });
    while (receiver_tid.load() == 0) std::this_thread::yield();
    const double cpu_before = cpu_seconds(receiver_tid.load());
    const double sleeps_before = sleeps(receiver_tid.load());
    std::atomic<bool> sending{false};
    std::uint64_t sent = 0;
    std::thread sender([&] { sent = blast(ntohs(at.sin_port), junk, sending); });
    std::this_thread::sleep_for(d);
    sending = true;
    sender.join();
    const auto counted = received.load();  // The receiver's count at the end of the round.
    const double cpu = cpu_seconds(receiver_tid.load()) - cpu_before;
    const double slept = sleeps(receiver_tid.load()) - sleeps_before;
    stop = true;
    receiver.join();
    ::close(fd);
    const double seconds = std::chrono::duration<double>(d).count();
    return {static_cast<double>(counted) / seconds, static_cast<double>(sent) / seconds,
            cpu > 0 ? static_cast<double>(counted) / cpu : 0,
            slept > 0 ? static_cast<double>(counted) / slept : 0};
}

std::uint16_t port_of(const std::string& url) {
    return static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
}

// The same junk at a node, while `pinger` pings it back to back; round trips go to `rtts`.
// `loop`: the target node's threads (its loop thread does the receiving; its handler threads
// idle), whose CPU time the round divides by.
Round herald_round(const std::vector<std::vector<std::uint8_t>>& junk, std::chrono::milliseconds d,
                   herald::Node& target, const std::set<long>& loop, herald::Node& pinger,
                   std::vector<double>& rtts) {
    const std::string url = target.listen_url();
    std::atomic<bool> stop{false};
    std::thread pings([&] {
        while (!stop.load()) {
            if (auto r = pinger.ping(url, 1s)) {
                rtts.push_back(std::chrono::duration<double, std::micro>(r->rtt).count());
            }
            std::this_thread::sleep_for(1ms);  // A client's pace, not a second flood.
        }
    });
    const auto before = target.stats();
    const double cpu_before = cpu_seconds(loop);
    const double sleeps_before = sleeps(loop);
    std::atomic<bool> sending{false};
    std::uint64_t sent = 0;
    std::thread sender([&] { sent = blast(port_of(url), junk, sending); });
    std::this_thread::sleep_for(d);
    sending = true;
    sender.join();
    const auto after = target.stats();
    const double cpu = cpu_seconds(loop) - cpu_before;
    const double slept = sleeps(loop) - sleeps_before;
    stop = true;
    pings.join();
    const double seconds = std::chrono::duration<double>(d).count();
    // Every junk datagram the node read was rejected (malformed_dropped counts them).
    const auto rejected = after.malformed_dropped - before.malformed_dropped;
    return {static_cast<double>(rejected) / seconds, static_cast<double>(sent) / seconds,
            cpu > 0 ? static_cast<double>(rejected) / cpu : 0,
            slept > 0 ? static_cast<double>(rejected) / slept : 0};
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

double percentile(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
    Config config;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--quick") {
            config.rounds = 2;
            config.round = 1500ms;
        } else if (arg == "--smoke") {
            config.rounds = 1;
            config.round = 300ms;
        } else {
            fmt::print(stderr, "usage: bench-flood [--quick | --smoke]\n");
            return 2;
        }
    }
    const std::set<long> before = threads();
    auto target = herald::Node::start({});
    std::set<long> loop;
    for (const long tid : threads()) {
        if (!before.contains(tid)) loop.insert(tid);
    }
    auto pinger = herald::Node::start({});
    if (!target || !pinger) {
        fmt::print(stderr, "bench-flood: cannot start the nodes\n");
        return 1;
    }
    const auto junk = make_junk(3 * 1024);
    std::vector<double> raw, raw_sent, raw_core, node, node_sent, node_core, rtts, idle;
    std::vector<double> raw_wakeup, node_wakeup;
    for (int i = 0; i < 200; ++i) {
        if (auto r = (*pinger)->ping((*target)->listen_url(), 1s)) {
            idle.push_back(std::chrono::duration<double, std::micro>(r->rtt).count());
        }
    }
    for (int round = 0; round < config.rounds; ++round) {
        const Round r = raw_round(junk, config.round);
        raw.push_back(r.received_per_s);
        raw_sent.push_back(r.sent_per_s);
        raw_core.push_back(r.per_core_s);
        raw_wakeup.push_back(r.per_wakeup);
        const Round h = herald_round(junk, config.round, **target, loop, **pinger, rtts);
        node.push_back(h.received_per_s);
        node_sent.push_back(h.sent_per_s);
        node_core.push_back(h.per_core_s);
        node_wakeup.push_back(h.per_wakeup);
    }
    fmt::print(
        "bench-flood: junk datagrams (random, bad checksum, truncated; 64-1,400 B) over udp "
        "loopback, {} rounds of {} ms each, alternating\n",
        config.rounds, config.round.count());
    fmt::print("  {:<20} {:>12} {:>12} {:>16} {:>12}\n", "", "received/s", "sender/s",
               "per CPU-second", "per wake-up");
    fmt::print("  {:<20} {:>12.0f} {:>12.0f} {:>16.0f} {:>12.1f}\n", "raw recvmmsg loop",
               median(raw), median(raw_sent), median(raw_core), median(raw_wakeup));
    fmt::print("  {:<20} {:>12.0f} {:>12.0f} {:>16.0f} {:>12.1f}\n", "herald (rejected)",
               median(node), median(node_sent), median(node_core), median(node_wakeup));
    fmt::print(
        "  ratio herald / raw, per CPU-second of the receiving thread (one core): {:.2f} "
        "(target >= 0.8); per wall second: {:.2f}\n",
        median(raw_core) > 0 ? median(node_core) / median(raw_core) : 0.0,
        median(raw) > 0 ? median(node) / median(raw) : 0.0);
    fmt::print(
        "  pings during the flood: {} answered, p50 {:.0f} us, p99 {:.0f} us (idle: p50 {:.0f} "
        "us, p99 {:.0f} us)\n",
        rtts.size(), percentile(rtts, 0.5), percentile(rtts, 0.99), percentile(idle, 0.5),
        percentile(idle, 0.99));
    (*target)->stop();
    (*pinger)->stop();
    return 0;
}

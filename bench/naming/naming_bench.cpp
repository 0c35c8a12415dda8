// bench-naming: what names and migration cost a sender, on three nodes in one process over
// UDP loopback (issue 13 item 6). Node a hosts the name server and the target processes,
// node b is where they migrate to, node c sends. Every send waits for the target node's
// acknowledgement (SendMode::accepted), so each figure is one round trip plus what the row adds:
//   pid          a send by pid to a process whose node c knows (the floor)
//   name first   a send to a name c never looked up: the lookup at the name server, then the send
//   name cached  a send to a name c looked up within the cache's second: the send alone
//   forwarded    the first send to a process that migrated from a to b: to a, forwarded to b,
//                acknowledged by b (the ack names b)
//   direct       the next send to that process: straight to b
//   register     a process on c registers a fresh name: at the name server on a (a round trip
//                and a durable write there), and, when an etcd binary is found, in a
//                three-member etcd cluster on loopback that the bench starts (a raft commit;
//                docs/coordination.md). Without etcd the etcd row is left out, saying why.
// Prints p50 and p99 in microseconds and the ratios to the pid row. Layer: bench.
// Usage: bench-naming [--quick | --smoke]   (default: 1,000 samples per row, 300 moves)
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "herald/herald.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Config {
    int samples = 1000;  // Per pid / name row.
    int moves = 300;     // Migrations: one forwarded and one direct sample each.
};

struct Row {
    std::string what;
    std::vector<std::int64_t> ns;
    [[nodiscard]] double percentile_us(double q) const {
        if (ns.empty()) return 0;
        std::vector<std::int64_t> sorted = ns;
        std::sort(sorted.begin(), sorted.end());
        const auto i = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1));
        return static_cast<double>(sorted[i]) / 1e3;
    }
};

template <class T>
T must(herald::Result<T> r, const char* what) {
    if (!r) throw std::runtime_error(std::string(what) + ": " + r.error().to_string());
    return std::move(*r);
}

void must(const herald::Status& s, const char* what) {
    if (!s) throw std::runtime_error(std::string(what) + ": " + s.error().to_string());
}

// Times one send (accepted: until the target node acknowledged it).
template <class Send>
std::int64_t timed(Send&& send) {
    const auto t0 = Clock::now();
    must(send(), "send");
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
}

// Processes that arrive at b, handed to the bench thread.
class Arrivals {
public:
    void add(herald::Process p) {
        std::lock_guard lock(mutex_);
        arrived_.push_back(std::move(p));
        ready_.notify_all();
    }
    herald::Process take() {
        std::unique_lock lock(mutex_);
        if (!ready_.wait_for(lock, 5s, [&] { return !arrived_.empty(); })) {
            throw std::runtime_error("no arrival at node b within 5 s");
        }
        herald::Process p = std::move(arrived_.front());
        arrived_.erase(arrived_.begin());
        return p;
    }

private:
    std::mutex mutex_;
    std::condition_variable ready_;
    std::vector<herald::Process> arrived_;
};

// The three nodes and the sender; a is the name server and hosts the targets.
struct Bench {
    std::filesystem::path data;
    std::unique_ptr<herald::Node> a, b, c;
    Arrivals arrivals;
    std::optional<herald::Process> sender;
    herald::SendOptions accepted;
    const std::string body = "x";

    explicit Bench(std::filesystem::path dir) : data(std::move(dir)) {
        herald::NodeOptions a_options;
        a_options.faults_from_env = false;
        a_options.data_dir = data.string();
        a_options.naming.server = true;
        a = must(herald::Node::start(a_options), "start a");
        herald::NodeOptions options;
        options.faults_from_env = false;
        options.naming.server_url = a->listen_url();
        b = must(herald::Node::start(options), "start b");
        c = must(herald::Node::start(options), "start c");
        must(c->connect(a->listen_url()), "connect c to a");
        must(c->connect(b->listen_url()), "connect c to b");
        must(a->connect(b->listen_url()), "connect a to b");
        must(b->connect(c->listen_url()), "connect b to c");
        b->on_arrival([this](herald::Process p, herald::Bytes) { arrivals.add(std::move(p)); });
        sender = must(c->spawn(), "spawn sender");
        accepted.mode = herald::SendMode::accepted;
    }
    ~Bench() {
        c.reset();
        b.reset();
        a.reset();
        std::error_code ignored;
        std::filesystem::remove_all(data, ignored);
    }
    Bench(const Bench&) = delete;
    Bench& operator=(const Bench&) = delete;
};

// The pid and name rows, against one process on a that nobody reads.
void name_rows(Bench& bench, const Config& c, std::vector<Row>& rows) {
    herald::ProcessOptions deep;
    deep.queue_limit = 1u << 16;  // Holds every sample.
    auto target = must(bench.a->spawn(deep), "spawn target");
    herald::Process& sender = *bench.sender;
    Row pid{"pid (floor)", {}};
    for (int i = 0; i < c.samples; ++i) {
        pid.ns.push_back(
            timed([&] { return sender.send(target.pid(), bench.body, bench.accepted); }));
    }
    rows.push_back(std::move(pid));
    // Names registered for the target, each sent to once: every first send is a lookup.
    for (int i = 0; i < c.samples; ++i) {
        must(target.register_name(fmt::format("bench/n{}", i), 60s), "register");
    }
    Row first{"name, first send (lookup + send)", {}};
    for (int i = 0; i < c.samples; ++i) {
        const std::string name = fmt::format("bench/n{}", i);
        first.ns.push_back(timed([&] { return sender.send(name, bench.body, bench.accepted); }));
    }
    rows.push_back(std::move(first));
    Row cached{"name, cached (send)", {}};
    must(sender.send("bench/n0", bench.body, bench.accepted), "warm the cache");
    for (int i = 0; i < c.samples; ++i) {
        cached.ns.push_back(
            timed([&] { return sender.send("bench/n0", bench.body, bench.accepted); }));
    }
    rows.push_back(std::move(cached));
}

// Per move: a fresh process on a migrates to b; the first send to it and the next.
void migration_rows(Bench& bench, const Config& c, std::vector<Row>& rows) {
    Row forwarded{"migrated, first send (forwarded)", {}};
    Row direct{"migrated, next send (direct)", {}};
    for (int i = 0; i < c.moves; ++i) {
        auto mobile = must(bench.a->spawn(), "spawn mobile");
        const herald::Pid pid = mobile.pid();
        must(mobile.migrate(bench.b->id()), "migrate");
        herald::Process moved = bench.arrivals.take();
        auto send = [&] { return bench.sender->send(pid, bench.body, bench.accepted); };
        forwarded.ns.push_back(timed(send));
        direct.ns.push_back(timed(send));
        (void)moved.receive(1s);
        (void)moved.receive(1s);
    }
    rows.push_back(std::move(forwarded));
    rows.push_back(std::move(direct));
}

// A registration of a fresh name by a process of node c, with the embedded name server on a.
void register_row(Bench& bench, const Config& c, std::vector<Row>& rows) {
    Row row{"register (embedded server)", {}};
    for (int i = 0; i < c.samples; ++i) {
        const std::string name = fmt::format("bench/r{}", i);
        row.ns.push_back(timed([&] { return bench.sender->register_name(name, 60s); }));
    }
    rows.push_back(std::move(row));
}

int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t n = sizeof a;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n) == 0) {
        port = ntohs(a.sin_port);
    }
    ::close(fd);
    return port;
}

// Three etcd members on loopback (default etcd timings), data under `dir`; killed at the end.
class EtcdMembers {
public:
    explicit EtcdMembers(const std::filesystem::path& dir) {
        std::filesystem::create_directories(dir);
        std::string cluster;
        int peer[3], client[3];
        for (int i = 0; i < 3; ++i) {
            peer[i] = free_port();
            client[i] = free_port();
            cluster += fmt::format("{}m{}=http://127.0.0.1:{}", i ? "," : "", i, peer[i]);
            endpoints.push_back(fmt::format("http://127.0.0.1:{}", client[i]));
        }
        for (int i = 0; i < 3; ++i) {
            const std::string command = fmt::format(
                "exec etcd --name m{0} --data-dir '{1}/m{0}' --listen-client-urls {2} "
                "--advertise-client-urls {2} --listen-peer-urls http://127.0.0.1:{3} "
                "--initial-advertise-peer-urls http://127.0.0.1:{3} --initial-cluster {4} "
                "--initial-cluster-state new 2>'{1}/m{0}.log'",
                i, dir.string(), endpoints[static_cast<std::size_t>(i)], peer[i], cluster);
            const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
            pid_t pid = -1;
            if (::posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv),
                              environ) == 0) {
                pids_.push_back(pid);
            }
        }
    }
    ~EtcdMembers() {
        for (pid_t pid : pids_) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    }
    EtcdMembers(const EtcdMembers&) = delete;
    EtcdMembers& operator=(const EtcdMembers&) = delete;
    std::vector<std::string> endpoints;

private:
    std::vector<pid_t> pids_;
};

bool etcd_installed() {
    return ::access("/usr/bin/etcd", X_OK) == 0;
}

// The same registrations with names in a three-member etcd cluster (docs/coordination.md).
void etcd_register_row(Bench& bench, const Config& c, std::vector<Row>& rows) {
    EtcdMembers etcd(bench.data / "etcd");
    herald::NodeOptions options;
    options.faults_from_env = false;
    options.coordination.backend = herald::Coordination::etcd;
    options.coordination.etcd_endpoints = etcd.endpoints;
    auto node = must(herald::Node::start(options), "start the etcd node");
    auto owner = must(node->spawn(), "spawn on the etcd node");
    const auto deadline = Clock::now() + 30s;  // Until the members elected a leader.
    while (!owner.register_name("bench/ready", 60s)) {
        if (Clock::now() > deadline) throw std::runtime_error("etcd not ready within 30 s");
        std::this_thread::sleep_for(100ms);
    }
    Row row{"register (etcd, 3 members)", {}};
    for (int i = 0; i < c.samples; ++i) {
        const std::string name = fmt::format("bench/e{}", i);
        row.ns.push_back(timed([&] { return owner.register_name(name, 60s); }));
    }
    rows.push_back(std::move(row));
}

int run(const Config& c) {
    Bench bench(std::filesystem::temp_directory_path() /
                fmt::format("bench-naming-{}", Clock::now().time_since_epoch().count()));
    std::vector<Row> rows;
    name_rows(bench, c, rows);
    migration_rows(bench, c, rows);
    register_row(bench, c, rows);
    if (etcd_installed()) {
        etcd_register_row(bench, c, rows);
    } else {
        fmt::print("register (etcd): left out, no /usr/bin/etcd (apt-get install etcd-server)\n");
    }
    const double floor = rows.front().percentile_us(0.5);
    fmt::print("{:<36} {:>8} {:>10} {:>10} {:>8}\n", "row", "samples", "p50 us", "p99 us",
               "p50/pid");
    for (const Row& r : rows) {
        fmt::print("{:<36} {:>8} {:>10.1f} {:>10.1f} {:>8.2f}\n", r.what, r.ns.size(),
                   r.percentile_us(0.5), r.percentile_us(0.99),
                   r.percentile_us(0.5) / std::max(floor, 1e-9));
    }
    const herald::NodeStats at_a = bench.a->stats(), at_b = bench.b->stats(),
                            at_c = bench.c->stats();
    fmt::print(
        "\ncounters: a forwarded {}, b received_forwarded {} received_direct {}, c "
        "location_updates {}, c name_requests {} name_cache_hits {}\n",
        at_a.messages_forwarded, at_b.received_forwarded, at_b.received_direct,
        at_c.location_updates, at_c.name_requests, at_c.name_cache_hits);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Config c;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--quick") {
            c.samples = 300;
            c.moves = 100;
        } else if (arg == "--smoke") {
            c.samples = 20;
            c.moves = 5;
        } else {
            fmt::print(stderr, "usage: bench-naming [--quick | --smoke]  (unknown: {})\n", arg);
            return 2;
        }
    }
    try {
        return run(c);
    } catch (const std::exception& e) {
        fmt::print(stderr, "bench-naming: {}\n", e.what());
        return 1;
    }
}

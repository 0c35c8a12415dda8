// EtcdCluster: a real three-member etcd cluster on loopback for the integration tests
// (docs/coordination.md "Testing"): free ports picked by the test, data in a temporary
// directory, every member started with fork/exec and killed (kill -9) at the end or on failure,
// every wait bounded. Tests skip only when the `etcd` binary is missing.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "node_child.h"
#include "node_test_support.h"
#include "runtime/coord/etcd_client.h"

// Skips the test when no etcd binary is found, else starts `cluster` (a failed start fails
// the test).
#define HERALD_NEED_ETCD(cluster)                                                               \
    do {                                                                                        \
        if (::herald::testing::etcd_binary().empty()) {                                         \
            GTEST_SKIP() << "no etcd binary (apt-get install etcd-server, or set HERALD_ETCD)"; \
        }                                                                                       \
        ASSERT_TRUE((cluster).start()) << "the etcd cluster did not elect a leader in 20 s";    \
    } while (0)

namespace herald::testing {

// Milliseconds since `t` on the steady clock (the figures the etcd tests print).
inline long long ms_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 t)
        .count();
}

// The etcd server binary ($HERALD_ETCD, else /usr/bin/etcd from Debian's etcd-server), or "".
inline std::string etcd_binary() {
    if (const char* e = std::getenv("HERALD_ETCD"); e != nullptr && *e != '\0') return e;
    for (const char* p : {"/usr/bin/etcd", "/usr/local/bin/etcd"}) {
        if (::access(p, X_OK) == 0) return p;
    }
    return {};
}

// `count` distinct loopback TCP ports nobody listens on now: each bound to port 0, all held
// until every one is chosen (so none repeats), then released for the caller to bind.
inline std::vector<int> free_ports(int count) {
    std::vector<int> fds, ports;
    for (int i = 0; i < count; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t n = sizeof a;
        if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n) == 0) {
            ports.push_back(ntohs(a.sin_port));
        }
        if (fd >= 0) fds.push_back(fd);
    }
    for (int fd : fds) ::close(fd);
    return ports;
}

inline int free_port() {
    return free_ports(1).at(0);
}

// One POST to one etcd endpoint through the backend's own client (its worker thread).
inline Result<runtime::coord::Json> etcd_post(const std::string& endpoint, const std::string& path,
                                              const runtime::coord::Json& body,
                                              Duration timeout = Duration::milliseconds(500)) {
    runtime::coord::EtcdOptions options;
    options.endpoints = {endpoint};
    options.timeout = timeout;
    HERALD_TRY(auto client, runtime::coord::EtcdClient::open(options));
    auto answer = std::make_shared<std::promise<Result<runtime::coord::Json>>>();
    auto future = answer->get_future();
    HERALD_TRY(client->submit([answer, path, body](runtime::coord::EtcdClient& etcd) {
        answer->set_value(etcd.call(path, body));
    }));
    return future.get();
}

class EtcdCluster {
public:
    static constexpr int size = 3;

    // Starts the members (heartbeat 50 ms, election timeout 500 ms: elections on loopback
    // take about a second) and waits up to 20 s until every one reports the same leader. On
    // failure, prints the end of each member's log.
    bool start() {
        binary_ = etcd_binary();
        if (binary_.empty()) return false;
        const std::vector<int> ports = free_ports(2 * size);
        if (ports.size() != static_cast<std::size_t>(2 * size)) return false;
        std::string initial;
        for (int i = 0; i < size; ++i) {
            client_[i] = ports[static_cast<std::size_t>(2 * i)];
            peer_[i] = ports[static_cast<std::size_t>(2 * i + 1)];
            initial += (i > 0 ? "," : "") + name(i) + "=" + url(peer_[i]);
        }
        initial_ = initial;
        for (int i = 0; i < size; ++i) launch(i);
        if (eventually([&] { return leader().has_value(); }, 20000ms)) return true;
        for (int i = 0; i < size; ++i) {
            const std::string log = (std::filesystem::path(dir_.path()) / name(i)).string();
            (void)std::system(("tail -n 5 '" + log + ".log' >&2").c_str());
        }
        return false;
    }

    [[nodiscard]] bool available() const { return !binary_.empty(); }
    [[nodiscard]] std::string endpoint(int i) const { return url(client_[i]); }
    [[nodiscard]] std::vector<std::string> endpoints(int first = 0) const {
        std::vector<std::string> out;
        for (int i = 0; i < size; ++i) out.push_back(endpoint((first + i) % size));
        return out;
    }
    [[nodiscard]] bool running(int i) const { return members_[i] && members_[i]->started(); }

    // The index of the member that leads, when the running members agree on one.
    std::optional<int> leader() {
        std::optional<std::string> agreed;
        std::string ids[size];
        for (int i = 0; i < size; ++i) {
            if (!running(i)) continue;
            auto status = etcd_post(endpoint(i), "/v3/maintenance/status",
                                    runtime::coord::Json::object(), Duration::seconds(1));
            if (!status) return std::nullopt;
            const auto& header = (*status)["header"];
            ids[i] = header.value("member_id", "");
            const std::string lead = status->value("leader", "");
            if (lead.empty() || lead == "0" || (agreed && *agreed != lead)) return std::nullopt;
            agreed = lead;
        }
        for (int i = 0; i < size; ++i) {
            if (running(i) && ids[i] == *agreed) return i;
        }
        return std::nullopt;
    }

    void kill(int i) { members_[i].reset(); }  // Child's destructor: kill -9 and wait.
    // Starts a killed member again on its ports and data (it rejoins from its log); then
    // wait for leader() again.
    void restart(int i) { launch(i); }
    void kill_all() {
        for (auto& m : members_) m.reset();
    }

private:
    static std::string url(int port) { return "http://127.0.0.1:" + std::to_string(port); }
    static std::string name(int i) { return "m" + std::to_string(i); }

    void launch(int i) {
        const std::string data = (std::filesystem::path(dir_.path()) / name(i)).string();
        // Through sh only to send etcd's log to a file; exec keeps the pid for kill -9.
        const std::string command =
            "exec '" + binary_ + "' --name " + name(i) + " --data-dir '" + data + "'" +
            " --listen-client-urls " + url(client_[i]) + " --advertise-client-urls " +
            url(client_[i]) + " --listen-peer-urls " + url(peer_[i]) +
            " --initial-advertise-peer-urls " + url(peer_[i]) + " --initial-cluster " + initial_ +
            " --initial-cluster-state new --initial-cluster-token herald-test" +
            " --heartbeat-interval 50 --election-timeout 500 2>>'" + data + ".log'";
        members_[i] = std::make_unique<Child>(std::vector<std::string>{"/bin/sh", "-c", command});
    }

    TempDir dir_;
    std::string binary_, initial_;
    int client_[size]{}, peer_[size]{};
    std::unique_ptr<Child> members_[size];
};

// Options of a node whose names are on `cluster`, trying its members from `first` on.
inline NodeOptions etcd_node_options(const EtcdCluster& cluster, int first,
                                     std::chrono::seconds lease_ttl = 10s) {
    NodeOptions o;
    o.coordination.backend = Coordination::etcd;
    o.coordination.etcd_endpoints = cluster.endpoints(first);
    o.coordination.etcd_lease_ttl = lease_ttl;
    // Above the default (2 s): a loaded CI machine under a sanitizer can make one commit take
    // seconds, and these tests check behaviour, not latency.
    o.coordination.etcd_timeout = 5s;
    return o;
}

}  // namespace herald::testing

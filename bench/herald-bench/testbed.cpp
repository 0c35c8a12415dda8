// Network namespaces and the Corosync cluster for the group rows (see testbed.h).
// Layer: bench (driver only).
#include "bench/herald-bench/testbed.h"

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "bench/common/peer.h"

namespace herald::bench {
namespace {

constexpr std::int64_t ip_timeout_ms = 10'000;
constexpr std::int64_t daemon_stop_ms = 5'000;
// Names: "hbn<pid>-<rank>" (namespace), "hbb<pid>" (bridge), "hbv<pid>-<rank>" (host end of
// the veth): at most 15 bytes, the kernel's limit for interface names, for any pid.
constexpr const char* ns_prefix = "hbn";
constexpr const char* bridge_prefix = "hbb";
constexpr const char* veth_prefix = "hbv";

std::mutex live_mutex;
Testbed* live_testbed = nullptr;  // The one a signal must remove (under live_mutex).

std::string ip_binary() {
    for (const char* path : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
        if (::access(path, X_OK) == 0) return path;
    }
    return "/usr/sbin/ip";
}

std::string ns_name(int pid, std::uint32_t rank) {
    return fmt::format("{}{}-{}", ns_prefix, pid, rank);
}
std::string veth_name(int pid, std::uint32_t rank) {
    return fmt::format("{}{}-{}", veth_prefix, pid, rank);
}
std::string bridge_name(int pid) {
    return fmt::format("{}{}", bridge_prefix, pid);
}

// Best effort (used while cleaning up): errors are ignored.
void ip(const std::vector<std::string>& args) {
    std::vector<std::string> argv{ip_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    (void)run_command(argv, ip_timeout_ms);
}

void remove_network(int pid, std::uint32_t count) {
    for (std::uint32_t rank = 0; rank < count; ++rank) {
        ip({"link", "del", veth_name(pid, rank)});
        ip({"netns", "del", ns_name(pid, rank)});
    }
    ip({"link", "del", bridge_name(pid)});
}

// The pid in a name "<prefix><pid>[-rank]"; 0 when it is not one of ours.
int owner_pid(const std::string& name, const char* prefix) {
    if (!name.starts_with(prefix)) return 0;
    std::string digits = name.substr(std::string_view(prefix).size());
    digits = digits.substr(0, digits.find('-'));
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) return 0;
    return std::stoi(digits);
}

bool running(int pid) {
    return ::kill(pid, 0) == 0 || errno != ESRCH;
}

}  // namespace

Status run_command(const std::vector<std::string>& argv, std::int64_t timeout_ms) {
    HERALD_TRY(auto dir, TempDir::create());
    const std::string errors = dir.path() + "/stderr";
    std::vector<std::string> args(argv.begin() + 1, argv.end());
    HERALD_TRY(auto child, Child::spawn(argv[0], args, errors));
    child.close_stdin();
    const std::int64_t deadline = now_ns() + timeout_ms * 1'000'000;
    const int status = child.stop(deadline, false);
    std::string command;
    for (const auto& word : argv) command += (command.empty() ? "" : " ") + word;
    if (now_ns() >= deadline) return fail(Errc::timeout, command);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return fail(Errc::io_error, command + ": " + last_line(errors));
    }
    return {};
}

void remove_stale_testbeds() {
    std::error_code ec;
    for (const char* dir : {"/run/netns", "/sys/class/net"}) {
        for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
            const std::string name = entry.path().filename().string();
            for (const char* prefix : {ns_prefix, bridge_prefix, veth_prefix}) {
                const int pid = owner_pid(name, prefix);
                if (pid <= 0 || running(pid)) continue;
                if (prefix == ns_prefix) {
                    ip({"netns", "del", name});
                } else {
                    ip({"link", "del", name});
                }
            }
        }
    }
}

Result<std::unique_ptr<Testbed>> Testbed::create(std::uint32_t count) {
    if (::geteuid() != 0) {
        return fail(Errc::access_denied, "network namespaces need root (ip netns add)");
    }
    remove_stale_testbeds();
    std::unique_ptr<Testbed> testbed(new Testbed(count));
    {
        std::lock_guard lock(live_mutex);
        live_testbed = testbed.get();
    }
    HERALD_TRY(testbed->build());  // On failure the destructor removes what was made.
    return testbed;
}

Status Testbed::build() {
    const int pid = ::getpid();
    const std::string ip_path = ip_binary();
    auto run = [&](std::vector<std::string> args) {
        args.insert(args.begin(), ip_path);
        return run_command(args, ip_timeout_ms);
    };
    const std::string bridge = bridge_name(pid);
    HERALD_TRY(run({"link", "add", bridge, "type", "bridge"}));
    HERALD_TRY(run({"link", "set", bridge, "up"}));
    for (std::uint32_t rank = 0; rank < count_; ++rank) {
        const std::string ns = ns_name(pid, rank), veth = veth_name(pid, rank);
        HERALD_TRY(run({"netns", "add", ns}));
        HERALD_TRY(run({"link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns}));
        HERALD_TRY(run({"link", "set", veth, "master", bridge, "up"}));
        HERALD_TRY(run({"-n", ns, "addr", "add", address(rank) + "/24", "dev", "eth0"}));
        HERALD_TRY(run({"-n", ns, "link", "set", "eth0", "up"}));
        HERALD_TRY(run({"-n", ns, "link", "set", "lo", "up"}));
    }
    // What the Corosync daemons will need: running in a namespace and a private /run there
    // (a container may allow the first and not the second; then the cpg column is skipped).
    std::vector<std::string> probe = exec_prefix(0);
    probe.insert(probe.end(), {"/bin/sh", "-c", "mount -t tmpfs herald-bench /run"});
    HERALD_TRY(run_command(probe, ip_timeout_ms));
    return {};
}

Testbed::~Testbed() {
    std::lock_guard lock(live_mutex);
    remove_network(::getpid(), count_);
    if (live_testbed == this) live_testbed = nullptr;
}

std::string Testbed::address(std::uint32_t rank) const {
    return fmt::format("10.77.0.{}", rank + 1);
}

std::vector<std::string> Testbed::exec_prefix(std::uint32_t rank) const {
    return {ip_binary(), "netns", "exec", ns_name(::getpid(), rank)};
}

void clean_up_on_signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int signal : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, signal);
    ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::thread([set] {
        int signal = 0;
        while (::sigwait(&set, &signal) != 0) {
        }
        std::lock_guard lock(live_mutex);
        if (live_testbed != nullptr) remove_network(::getpid(), live_testbed->size());
        ::_exit(128 + signal);
    }).detach();
}

Result<std::unique_ptr<CorosyncCluster>> CorosyncCluster::start(const Testbed& testbed,
                                                                std::uint32_t members) {
    const std::string corosync = "/usr/sbin/corosync";
    if (::access(corosync.c_str(), X_OK) != 0) {
        return fail(Errc::not_found, "no " + corosync + " (Debian package corosync)");
    }
    if (members > testbed.size()) return fail(Errc::invalid_argument, "testbed too small");
    HERALD_TRY(auto dir, TempDir::create());
    std::unique_ptr<CorosyncCluster> cluster(new CorosyncCluster(members, std::move(dir)));
    std::string nodes;
    for (std::uint32_t rank = 0; rank < members; ++rank) {
        nodes += fmt::format("  node {{\n    nodeid: {}\n    ring0_addr: {}\n  }}\n", rank + 1,
                             testbed.address(rank));
    }
    for (std::uint32_t rank = 0; rank < members; ++rank) {
        const std::string home = fmt::format("{}/corosync-{}", cluster->dir_.path(), rank);
        std::filesystem::create_directories(home);
        std::ofstream(home + "/corosync.conf") << fmt::format(
            "totem {{\n  version: 2\n  cluster_name: herald-bench\n  transport: knet\n"
            "  crypto_cipher: none\n  crypto_hash: none\n}}\n"
            "system {{\n  state_dir: {0}\n}}\n"
            "logging {{\n  to_stderr: no\n  to_syslog: no\n  to_logfile: yes\n"
            "  logfile: {0}/corosync.log\n  timestamp: on\n}}\n"
            "nodelist {{\n{1}}}\n",
            home, nodes);
        std::vector<std::string> argv = testbed.exec_prefix(rank);
        argv.insert(argv.end(), {"/bin/sh", "-c",
                                 "mount -t tmpfs herald-bench /run && exec " + corosync +
                                     " -f -c " + home + "/corosync.conf"});
        std::vector<std::string> args(argv.begin() + 1, argv.end());
        HERALD_TRY(auto daemon, Child::spawn(argv[0], args, home + "/stderr"));
        cluster->daemons_.push_back(std::move(daemon));
    }
    return cluster;
}

Status CorosyncCluster::check() {
    for (std::uint32_t rank = 0; rank < daemons_.size(); ++rank) {
        if (daemons_[rank].running()) continue;
        const std::string home = fmt::format("{}/corosync-{}", dir_.path(), rank);
        std::string why = last_line(home + "/stderr");
        if (why.empty()) why = last_line(home + "/corosync.log");
        return fail(Errc::closed, fmt::format("corosync {} exited: {}", rank + 1, why));
    }
    return {};
}

CorosyncCluster::~CorosyncCluster() {
    for (auto& daemon : daemons_) {
        if (daemon.running()) ::kill(daemon.pid(), SIGTERM);  // All leave at once.
    }
    const std::int64_t deadline = now_ns() + daemon_stop_ms * 1'000'000;
    for (auto& daemon : daemons_) daemon.stop(deadline, false);
}

std::string last_line(const std::string& path) {
    std::ifstream in(path);
    std::string last;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) last = line;
    }
    return last;
}

}  // namespace herald::bench

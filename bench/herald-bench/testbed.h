// The group rows' network: one Linux network namespace per member, each with a veth pair on a
// private bridge and an address 10.77.0.<rank + 1>/24, made by `ip` (root only), removed on
// every exit path (destructor, SIGINT/SIGTERM/SIGHUP), and leftovers of a driver that died are
// removed at the next start. Plus the Corosync cluster the CPG peers talk to, one daemon per
// namespace. Layer: bench (driver only).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/herald-bench/spawn.h"
#include "core/result.h"

namespace herald::bench {

// Runs `argv` (argv[0] an absolute path) to completion, up to `timeout_ms` (then SIGKILL).
// Errc::io_error (cannot start; exit status not 0: detail has its stderr's last line),
// Errc::timeout.
// The last non-empty line of the file at `path` ("" when none or unreadable): what a failed
// child said last.
[[nodiscard]] std::string last_line(const std::string& path);

[[nodiscard]] Status run_command(const std::vector<std::string>& argv, std::int64_t timeout_ms);

class Testbed {
public:
    // Creates `count` namespaces (names carry this process's pid, so that concurrent drivers
    // never collide). Removes stale ones first. Errc::access_denied when not root;
    // Errc::io_error when `ip` fails (detail says how).
    static Result<std::unique_ptr<Testbed>> create(std::uint32_t count);
    ~Testbed();
    Testbed(const Testbed&) = delete;
    Testbed& operator=(const Testbed&) = delete;

    [[nodiscard]] std::uint32_t size() const { return count_; }
    [[nodiscard]] std::string address(std::uint32_t rank) const;
    // The command that runs the rest of an argv inside namespace `rank`: ip netns exec <ns>.
    [[nodiscard]] std::vector<std::string> exec_prefix(std::uint32_t rank) const;

private:
    explicit Testbed(std::uint32_t count) : count_(count) {}
    Status build();
    std::uint32_t count_;
};

// Removes namespaces, bridges and veths left by herald-bench processes that no longer run.
void remove_stale_testbeds();

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (call first in main, before any
// other thread) and starts a thread that, on one of them, removes the live testbed and exits
// with 128 + signal. Children die with the driver (PR_SET_PDEATHSIG), daemons included.
void clean_up_on_signals();

// N corosync daemons (totem over knet, no crypto), daemon i in namespace i with node id i + 1,
// its corosync.conf, log and state in `dir`/corosync-<i>/, and a private /run (corosync's
// lock file /var/run/corosync.pid is fixed at build time). The members form one membership;
// the CPG peers wait for it (their group's configuration change holds N members).
class CorosyncCluster {
public:
    // Errc::not_found (no /usr/sbin/corosync), io_error (a daemon could not start).
    static Result<std::unique_ptr<CorosyncCluster>> start(const Testbed& testbed,
                                                          std::uint32_t members);
    ~CorosyncCluster();
    CorosyncCluster(const CorosyncCluster&) = delete;
    CorosyncCluster& operator=(const CorosyncCluster&) = delete;
    [[nodiscard]] std::uint32_t members() const { return members_; }
    // Every daemon still runs. Else Errc::closed with the failed daemon's last log line.
    [[nodiscard]] Status check();

private:
    CorosyncCluster(std::uint32_t members, TempDir dir) : members_(members), dir_(std::move(dir)) {}
    std::uint32_t members_;
    TempDir dir_;
    std::vector<Child> daemons_;
};

}  // namespace herald::bench

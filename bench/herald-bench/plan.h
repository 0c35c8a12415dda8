// What herald-bench measures: the workloads (cells), and in each cell the systems run side by
// side (Herald and its alternatives), with the peer command line of each. Layer: bench.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/common/peer.h"

namespace herald::bench {

// How long and how often. --quick, --full and the test-only --smoke pick one of these.
struct Mode {
    std::string name;
    std::uint32_t repeats = 3;       // Runs of each system in each cell (the median is shown).
    std::int64_t duration_ms = 250;  // Measured time of each run.
    std::int64_t warmup_ms = 50;     // Unmeasured time before it.
    std::uint64_t idle_processes = 100'000;  // Memory workloads.
    std::uint64_t queued_messages = 10'000;
    // Processes that sent once (memory-sent): each holds a send ring, so fewer.
    std::uint64_t sent_processes = 10'000;
    // senders-N rows: N sender processes (sockets) on one node, all to one receiver.
    std::vector<std::uint32_t> sender_counts = {1, 10, 100, 1000};
    // Group rows (beside Corosync CPG): group sizes, message sizes, the paced sender's rate.
    std::vector<std::uint32_t> group_members = {3, 5, 8};
    std::vector<std::size_t> group_sizes = {64, 1024};
    std::uint32_t paced_rate = 1000;
    // Orders also run with the group on an IP multicast address (system key "<order>-ipmc").
    std::vector<const char*> group_ipmc_orders = {"fifo", "sequencer", "abcast"};
};
[[nodiscard]] Mode quick_mode();
[[nodiscard]] Mode full_mode();
[[nodiscard]] Mode smoke_mode();

// Column keys of the table, in order. Herald's own systems are "herald" (direct messages)
// and "herald-rpc" (RPC calls); they share the alternatives of their cell.
inline constexpr const char* alternative_keys[] = {"raw", "raw-mmsg", "zmq", "nng"};
// Group rows: Herald's orders (docs/ordering.md), then Corosync CPG in agreed order.
inline constexpr const char* group_keys[] = {"fifo",   "sequencer", "abcast",
                                             "cbcast", "absolute",  "cpg"};
// A group row's system key with this suffix ("fifo-ipmc"): the same order, the group created
// with an IP multicast address the group server picks (docs/ordering.md O38); printed as a
// second line of the row, under the host-list order's column.
inline constexpr const char* ipmc_suffix = "-ipmc";

struct SystemRun {
    std::string key;     // "herald", "herald-rpc", or one of alternative_keys.
    std::string label;   // What exactly ran: "zmq req/rep tcp".
    std::string binary;  // Peer executable name, found next to herald-bench.
    PeerArgs server;     // The client gets the same with role client and the endpoint.
    bool has_client = true;
    [[nodiscard]] bool herald() const { return key.starts_with("herald"); }
};

struct Cell {
    // "rtt", "stream", "senders-N", "rpc-window-1", "rpc-window-64", "memory-..."
    std::string workload;
    std::size_t size_bytes = 0;
    std::string transport;  // Herald's: "udp" or "unix" (alternatives use tcp/ipc for them).
    Pattern pattern = Pattern::latency;
    std::vector<SystemRun> systems;
    std::uint32_t members = 0;  // Group rows (mcast, paced): the group's size; else 0.

    // "rtt/1KiB/udp", "mcast/3/64B": the part of a run's name before "/<system key>".
    [[nodiscard]] std::string id() const;
};

// "1B", "64B", "1KiB", "64KiB": sizes as the table prints them.
[[nodiscard]] std::string size_label(std::size_t bytes);

// Every cell of a full run, each with all its systems, in the order they run.
[[nodiscard]] std::vector<Cell> build_plan(const Mode& mode);

}  // namespace herald::bench

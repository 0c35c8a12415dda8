// The catalogue of workloads and systems (see plan.h). Layer: bench.
#include "bench/herald-bench/plan.h"

namespace herald::bench {
namespace {

constexpr std::size_t kib = 1024;
constexpr std::size_t rpc_body_bytes = 64;  // Small calls: per-call cost, not copying.

PeerArgs base_args(const Mode& mode, Pattern pattern, std::string transport, std::size_t size) {
    PeerArgs args;
    args.role = Role::server;
    args.pattern = pattern;
    args.transport = std::move(transport);
    args.size_bytes = size;
    args.duration_ms = mode.duration_ms;
    args.warmup_ms = mode.warmup_ms;
    return args;
}

// Alternatives run over a reliable stream where Herald uses UDP (tcp), and over Unix stream
// sockets where Herald uses Unix datagrams (ipc); the raw floor uses Herald's own transport.
std::string library_transport(const std::string& herald_transport) {
    return herald_transport == "udp" ? "tcp" : "ipc";
}

SystemRun system(std::string key, std::string label, std::string binary, PeerArgs args,
                 std::string variant = {}) {
    args.variant = std::move(variant);
    return {std::move(key), std::move(label), std::move(binary), std::move(args), true};
}

Cell latency_cell(const Mode& mode, std::size_t size, const std::string& transport) {
    const std::string lib = library_transport(transport);
    auto args = [&](const std::string& t) { return base_args(mode, Pattern::latency, t, size); };
    Cell cell{"rtt", size, transport, Pattern::latency, {}};
    cell.systems = {
        system("herald", "herald direct send/receive " + transport, "bench-herald", args(transport),
               "direct"),
        system("herald-rpc", "herald rpc call " + transport, "bench-herald", args(transport),
               "rpc"),
        system("raw", "raw " + transport + " ping-pong", "bench-raw", args(transport)),
        system("zmq", "zmq req/rep " + lib, "bench-zmq", args(lib)),
        system("nng", "nng req/rep " + lib, "bench-nng", args(lib)),
    };
    return cell;
}

Cell stream_cell(const Mode& mode, std::size_t size, const std::string& transport) {
    const std::string lib = library_transport(transport);
    auto args = [&](const std::string& t) { return base_args(mode, Pattern::stream, t, size); };
    Cell cell{"stream", size, transport, Pattern::stream, {}};
    cell.systems = {
        system("herald", "herald direct send " + transport, "bench-herald", args(transport),
               "direct"),
        system("raw", "raw " + transport + " send/recv", "bench-raw", args(transport)),
        system("raw-mmsg", "raw " + transport + " sendmmsg/recvmmsg", "bench-raw", args(transport),
               "mmsg"),
        system("zmq", "zmq push/pull " + lib, "bench-zmq", args(lib)),
        system("nng", "nng push/pull " + lib, "bench-nng", args(lib)),
    };
    return cell;
}

Cell window_cell(const Mode& mode, std::uint32_t window, const std::string& transport) {
    const std::string lib = library_transport(transport);
    auto args = [&](const std::string& t) {
        PeerArgs a = base_args(mode, Pattern::window, t, rpc_body_bytes);
        a.window = window;
        return a;
    };
    Cell cell{
        "rpc-window-" + std::to_string(window), rpc_body_bytes, transport, Pattern::window, {}};
    cell.systems = {
        system("herald-rpc", "herald exactly-once rpc " + transport, "bench-herald",
               args(transport), "rpc"),
        system("raw", "raw " + transport + " echo, window", "bench-raw", args(transport)),
        system("zmq", "zmq dealer->rep " + lib, "bench-zmq", args(lib)),
        system("nng", "nng req contexts->rep " + lib, "bench-nng", args(lib)),
    };
    return cell;
}

// Scale (issue 17 item 4): `senders` processes on the client node stream 64 B messages, one
// thread sending from each in turn, to one receiving process on the server node over udp;
// beside it ZeroMQ with `senders` PUSH sockets in one context, driven the same way, connected
// over tcp to one PULL socket.
Cell senders_cell(const Mode& mode, std::uint32_t senders) {
    constexpr std::size_t size = 64;
    auto args = [&](const std::string& t) {
        PeerArgs a = base_args(mode, Pattern::stream, t, size);
        a.senders = senders;
        return a;
    };
    const std::string n = std::to_string(senders);
    Cell cell{"senders-" + n, size, "udp", Pattern::stream, {}};
    cell.systems = {
        system("herald", "herald " + n + " processes -> 1, udp", "bench-herald", args("udp"),
               "direct"),
        system("zmq", "zmq " + n + " push -> 1 pull, tcp", "bench-zmq", args("tcp")),
    };
    return cell;
}

Cell memory_cell(const Mode& mode, std::string what, std::uint64_t count) {
    PeerArgs args = base_args(mode, Pattern::memory, "udp", what == "queued" ? kib : 0);
    args.count = count;
    args.variant = what;
    Cell cell{"memory-" + what, args.size_bytes, "udp", Pattern::memory, {}};
    // Queued messages come from a client node in another process, as they would in use.
    const bool filled_by_client = what == "queued";
    const std::string label = what == "sent" ? "sent once" : what;
    SystemRun run{"herald", "herald node, " + std::to_string(count) + " " + label, "bench-herald",
                  args, filled_by_client};
    cell.systems = {std::move(run)};
    return cell;
}

Cell group_cell(const Mode& mode, Pattern pattern, std::uint32_t members, std::size_t size) {
    Cell cell{pattern == Pattern::mcast ? "mcast" : "mcast-lat", size, "udp", pattern, {}};
    cell.members = members;
    PeerArgs args = base_args(mode, pattern, "udp", size);
    args.members = members;
    args.rate = mode.paced_rate;
    for (const char* order : {"fifo", "sequencer", "abcast", "cbcast", "absolute"}) {
        PeerArgs herald = args;
        herald.count = 0;  // For the duration, as CPG (no per-view cap since O35).
        cell.systems.push_back(system(order, std::string("herald ordered_multicast ") + order,
                                      "bench-herald-group", herald, order));
    }
    // The same orders with the group created with an IP multicast address (docs/ordering.md
    // O38: one datagram per entry for every member node) beside the host-list rows above.
    for (const char* order : mode.group_ipmc_orders) {
        PeerArgs herald = args;
        herald.count = 0;
        const std::string key = std::string(order) + ipmc_suffix;
        cell.systems.push_back(
            system(key, std::string("herald ordered_multicast ") + order + " over IP multicast",
                   "bench-herald-group", herald, key));
    }
    PeerArgs cpg = args;
    cpg.transport = "cpg";
    cell.systems.push_back(system("cpg", "corosync cpg agreed", "bench-cpg", cpg));
    return cell;
}

}  // namespace

Mode quick_mode() {
    return {"quick", 3, 250, 50};
}
Mode full_mode() {
    return {"full", 5, 1000, 200};
}
Mode smoke_mode() {
    Mode mode{"smoke", 1, 50, 10, 1'000, 100, 100};
    mode.sender_counts = {10};
    mode.group_members = {3};
    mode.group_sizes = {64};
    mode.group_ipmc_orders = {"fifo"};
    return mode;
}

std::string size_label(std::size_t bytes) {
    if (bytes >= kib && bytes % kib == 0) return std::to_string(bytes / kib) + "KiB";
    return std::to_string(bytes) + "B";
}

std::string Cell::id() const {
    if (members > 0) return workload + "/" + std::to_string(members) + "/" + size_label(size_bytes);
    return workload + "/" + size_label(size_bytes) + "/" + transport;
}

std::vector<Cell> build_plan(const Mode& mode) {
    std::vector<Cell> plan;
    for (const char* transport : {"udp", "unix"}) {
        for (std::size_t size : {std::size_t{1}, kib, 64 * kib}) {
            plan.push_back(latency_cell(mode, size, transport));
        }
        for (std::size_t size : {std::size_t{64}, kib, 64 * kib}) {
            plan.push_back(stream_cell(mode, size, transport));
        }
        for (std::uint32_t window : {1u, 64u}) plan.push_back(window_cell(mode, window, transport));
    }
    for (std::uint32_t senders : mode.sender_counts) plan.push_back(senders_cell(mode, senders));
    plan.push_back(memory_cell(mode, "idle", mode.idle_processes));
    plan.push_back(memory_cell(mode, "sent", mode.sent_processes));
    plan.push_back(memory_cell(mode, "queued", mode.queued_messages));
    // Group rows last, by group size, so that one Corosync cluster serves all rows of a size.
    for (std::uint32_t members : mode.group_members) {
        for (std::size_t size : mode.group_sizes) {
            for (Pattern pattern : {Pattern::mcast, Pattern::paced}) {
                plan.push_back(group_cell(mode, pattern, members, size));
            }
        }
    }
    return plan;
}

}  // namespace herald::bench

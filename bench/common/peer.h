// The side every benchmark peer process shares (raw floor, ZeroMQ, NNG, Herald): its command
// line, the line protocol on stdout that herald-bench reads, and the monotonic clock.
// Layer: bench (outside the library layers; uses only herald_core).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace herald::bench {

enum class Role : std::uint8_t { server, client };

// What the pair of peers does. The driver knows which side reports the figures.
enum class Pattern : std::uint8_t {
    latency,  // Client sends one message, server echoes it, repeat; client reports.
    stream,   // Client streams one-way messages; both report (server: received, client: sent).
    window,   // Client keeps `window` request/response exchanges in flight; client reports.
    memory,   // Server builds a state (idle processes, queued messages); server reports RSS.
    mcast,    // Group of `members` peers, every one multicasting at once; each reports.
    paced,    // Group of `members` peers, rank 0 multicasting at `rate`; each reports latency.
};

[[nodiscard]] std::string_view pattern_name(Pattern pattern);

struct PeerArgs {
    Role role = Role::server;
    Pattern pattern = Pattern::latency;
    std::string transport;           // Peer-specific: udp, unix, tcp, ipc.
    std::string variant;             // Peer-specific flavour, e.g. raw "mmsg"; may be empty.
    std::size_t size_bytes = 64;     // Body of each message (and of each reply).
    std::uint32_t window = 1;        // Requests in flight (pattern window).
    std::int64_t duration_ms = 300;  // Measured time, after the warm-up.
    std::int64_t warmup_ms = 50;     // Time run but not measured.
    std::uint64_t count = 0;         // Pattern memory: processes or messages to hold.
    // Pattern stream: sender processes (Herald) or sockets (ZeroMQ) on the client, driven in
    // turn by one thread, all sending to the server's one receiver. Each ends with its own end
    // marker; the server stops after `senders` of them.
    std::uint32_t senders = 1;
    std::string endpoint;  // Client: where the server listens (from its ready line).
    std::string dir;       // Server: a private directory for socket files.
    // Group patterns (mcast, paced): the group's size, this peer's place in it (0: the one
    // that creates the group), rank 0's send rate in msgs/s (paced), and the address to
    // listen on (a network namespace's own, or loopback).
    std::uint32_t members = 0;
    std::uint32_t rank = 0;
    std::uint32_t rate = 1000;
    std::string host = "127.0.0.1";
};

// A decimal number of at most `max` (the whole of `text`); Errc::invalid_argument naming
// "--key" otherwise.
[[nodiscard]] Result<std::uint64_t> parse_number(std::string_view key, std::string_view text,
                                                 std::uint64_t max);
// Parses "--role server --pattern latency --size 64 ...". Errc::invalid_argument names the
// unknown option or the bad value. Values are range-checked (size <= 16 MiB, window 1..4096).
[[nodiscard]] Result<PeerArgs> parse_peer_args(std::span<const std::string_view> args);
[[nodiscard]] std::vector<std::string> to_command_line(const PeerArgs& args);

// One "key=value" figure of a result line. Keys are snake_case; values have no spaces.
using Field = std::pair<std::string, std::string>;
using Fields = std::vector<Field>;

// stdout protocol, one flushed line each: "ready <endpoint>" once the server listens, and
// "result k=v k=v ..." with the figures. Anything else on stdout is ignored by the driver.
void announce_ready(std::string_view endpoint);
void announce_result(const Fields& fields);
[[nodiscard]] std::string format_result(const Fields& fields);
// Parses the part after "result ". Errc::malformed when a token is not key=value.
[[nodiscard]] Result<Fields> parse_result(std::string_view text);

// Monotonic nanoseconds (steady clock). Any thread.
[[nodiscard]] std::int64_t now_ns();

// This process's resident memory (VmRSS of /proc/self/status) in bytes; 0 if unreadable.
[[nodiscard]] std::uint64_t resident_bytes();

// Blocks until stdin reaches end of file (the driver closes it once the run is over) or
// `timeout_ms` passes. Stream clients linger here so that libraries that drop unsent
// messages on close (nng) deliver everything first.
void linger_until_stdin_closed(std::int64_t timeout_ms);

// Runs `body` for a peer main(): parses argv, calls body(args), prints errors to stderr with
// `program` as prefix. Returns the process exit code (0 ok, 1 run failed, 2 bad arguments).
template <class Body>
int peer_main(std::string_view program, int argc, char** argv, Body&& body);

void report_failure(std::string_view program, const Error& error);

}  // namespace herald::bench

namespace herald::bench {

template <class Body>
int peer_main(std::string_view program, int argc, char** argv, Body&& body) {
    std::vector<std::string_view> words(argv + 1, argv + argc);
    auto args = parse_peer_args(words);
    if (!args) {
        report_failure(program, args.error());
        return 2;
    }
    Status status = body(*args);
    if (!status) {
        report_failure(program, status.error());
        return 1;
    }
    return 0;
}

}  // namespace herald::bench

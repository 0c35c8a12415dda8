// The group workloads every group peer shares (bench-herald-group, bench-cpg): the layout of a
// multicast's body, what a member sends when (all at once, or rank 0 paced), what it counts on
// delivery, and the stdin commands the driver sends a group. Layer: bench.
#pragma once

#include <poll.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bench/common/peer.h"
#include "core/result.h"

namespace herald::bench {

// Every multicast body starts with this header; the rest up to the message size is padding.
// `send_ns` is CLOCK_MONOTONIC (now_ns()), which every network namespace of a host shares.
enum class McastKind : std::uint8_t { warmup = 1, measured = 2, end = 3 };
struct McastHeader {
    McastKind kind = McastKind::warmup;
    std::uint32_t rank = 0;
    std::uint64_t count = 0;  // Data: this sender's number (1, 2, ...); end: data sent.
    std::int64_t send_ns = 0;
};
inline constexpr std::size_t mcast_header_bytes = 21;

// Writes `header` at the start of `body` (at least mcast_header_bytes).
void write_header(std::span<std::uint8_t> body, const McastHeader& header);
// Reads it back; nullopt when the body is too short or its kind unknown.
[[nodiscard]] std::optional<McastHeader> read_header(std::span<const std::uint8_t> body);

// What one member sends, and when. Throughput (Pattern::mcast): every member sends back to
// back for warmup + duration (or until it sent `count` data messages, when count > 0), then an
// end marker. Paced: rank 0 sends `rate` per second for as
// long, then an end marker; the others send nothing.
class McastSender {
public:
    McastSender(const PeerArgs& args, std::int64_t start_ns);
    enum class Next : std::uint8_t { data, end, wait, done };
    // What to send at `now`: data, the end marker, nothing before wake_ns() (paced), or
    // nothing ever again.
    [[nodiscard]] Next next(std::int64_t now) const;
    // The body of the next message of kind `next` (data or end), stamped `now`; with `ahead`
    // > 0, of the data message that many after the next (for a sender that sends a batch).
    [[nodiscard]] std::span<const std::uint8_t> body(Next next, std::int64_t now,
                                                     std::uint64_t ahead = 0);
    // The body from body() was accepted by the system.
    void sent(Next next);
    [[nodiscard]] std::int64_t wake_ns() const { return due_ns_; }
    // How long a member may wait for deliveries at `now` without missing a send: until
    // wake_ns() when next(now) is wait (paced), else idle_wait_ns.
    [[nodiscard]] std::int64_t wait_ns(std::int64_t now) const;
    [[nodiscard]] std::uint64_t data_sent() const { return sent_; }
    // How many more data messages it may send (count, when set), at most `max`.
    [[nodiscard]] std::uint64_t data_left(std::uint64_t max) const {
        return count_max_ > 0 ? std::min(max, count_max_ - sent_) : max;
    }

private:
    bool sends_;
    std::uint32_t rank_;
    std::int64_t measure_ns_, stop_ns_, due_ns_, interval_ns_;
    bool paced_, end_sent_ = false;
    std::uint64_t sent_ = 0, count_max_;
    std::vector<std::uint8_t> body_;
};

// How long a member that has nothing to send waits for deliveries at most.
inline constexpr std::int64_t idle_wait_ns = 10'000'000;

// poll(2) on `fds` for up to `timeout_ns` (<= 0: returns at once), to the nanosecond (ppoll): a
// paced sender sleeps until its send time instead of polling through the last millisecond with a
// zero timeout, which kept one of the machine's cores busy and left every thread of the system
// measured to the other (both group peers wait this way). poll's result; EINTR gives 0.
int poll_for(std::span<pollfd> fds, std::int64_t timeout_ns);

// What one member counts as multicasts are delivered to it. Throughput: measured messages
// from the first to the last measured delivery; latency: delivery - send time of every
// measured message. Complete once every sender's end marker arrived.
class McastMeter {
public:
    explicit McastMeter(const PeerArgs& args);
    void on_deliver(std::span<const std::uint8_t> body, std::int64_t now);
    [[nodiscard]] bool complete() const { return ends_ == senders_; }
    // delivered, expected (sum of the end markers' counts), lost, msgs, elapsed_ns, ends,
    // senders, samples, malformed.
    [[nodiscard]] Fields fields() const;
    // The latency samples (ns), as raw int64 values, to `path`. Errc::io_error.
    [[nodiscard]] Status write_samples(const std::string& path) const;

private:
    std::uint32_t senders_, ends_ = 0;
    std::uint64_t delivered_ = 0, expected_ = 0, measured_ = 0, malformed_ = 0;
    std::int64_t first_ns_ = -1, last_ns_ = -1;
    std::vector<std::uint64_t> next_count_;  // Per sender: the count expected next (FIFO check).
    std::uint64_t out_of_order_ = 0;
    std::vector<std::int64_t> samples_;
};

// The samples file of member `rank` in the run's directory.
[[nodiscard]] std::string samples_path(const std::string& dir, std::uint32_t rank);
// Reads such a file. Errc::io_error.
[[nodiscard]] Result<std::vector<std::int64_t>> read_samples(const std::string& path);

// The driver's commands on a group peer's stdin, one line each: "peers <endpoint> ..." (every
// member's ready endpoint, by rank), "join" (the peer answers "member" once it joined) and
// "go" (the peer answered "joined" once its group held every member). The rest of the next line
// starting with `word` (other lines skipped). Errc::timeout at `deadline_ns`; Errc::closed at end
// of input.
[[nodiscard]] Result<std::string> read_command(std::string_view word, std::int64_t deadline_ns);

// How long a group peer waits for its group to form, and for the end markers beyond its run.
inline constexpr std::int64_t group_form_timeout_ms = 15'000;
inline constexpr std::int64_t group_drain_timeout_ms = 30'000;

}  // namespace herald::bench

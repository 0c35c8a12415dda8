// Measuring loops and meters shared by every benchmark peer: latency samples and their
// percentiles, one-way stream meters, windowed request/response meters. Layer: bench.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "bench/common/peer.h"
#include "core/result.h"

namespace herald::bench {

// Percentiles of round-trip samples (nanoseconds). Sorts `samples` in place.
// An empty sample set gives all zeros.
struct LatencySummary {
    std::uint64_t samples = 0;
    std::int64_t min_ns = 0, p50_ns = 0, p99_ns = 0, p999_ns = 0, max_ns = 0;
    double mean_ns = 0;
};
[[nodiscard]] LatencySummary summarize(std::vector<std::int64_t>& samples);
[[nodiscard]] Fields to_fields(const LatencySummary& summary);

// Nearest-rank percentile of sorted samples, q in [0, 1].
[[nodiscard]] std::int64_t percentile(const std::vector<std::int64_t>& sorted, double q);

// Runs `round_trip()` (returns Status) for warmup_ms unmeasured, then for duration_ms measured,
// and summarizes. Stops at the first error. Sample storage is reserved up front and bounded by
// `samples_max`; past it the loop ends early rather than allocating on the measured path.
template <class RoundTrip>
Result<LatencySummary> measure_latency(const PeerArgs& args, RoundTrip&& round_trip,
                                       std::size_t samples_max = 4'000'000) {
    const std::int64_t warm_until = now_ns() + args.warmup_ms * 1'000'000;
    while (now_ns() < warm_until) HERALD_TRY(round_trip());
    std::vector<std::int64_t> samples;
    samples.reserve(samples_max);
    const std::int64_t stop = now_ns() + args.duration_ms * 1'000'000;
    for (std::int64_t t0 = now_ns(); t0 < stop && samples.size() < samples_max;) {
        HERALD_TRY(round_trip());
        std::int64_t t1 = now_ns();
        samples.push_back(t1 - t0);
        t0 = t1;
    }
    return summarize(samples);
}

// Receiving side of a one-way stream. Arrivals during the first warmup_ns after the first
// message are not counted; the measured interval runs from the end of the warm-up to the
// last arrival. Call on_bytes() once per message or per batch.
class StreamMeter {
public:
    explicit StreamMeter(std::int64_t warmup_ns) : warmup_ns_(warmup_ns) {}

    void on_bytes(std::uint64_t bytes, std::uint64_t datagrams, std::int64_t now) {
        bytes_total_ += bytes;
        datagrams_total_ += datagrams;
        last_any_ns_ = now;
        if (first_ns_ < 0) {
            first_ns_ = now;
            first_bytes_ = bytes;
            first_datagrams_ = datagrams;
        }
        if (mark_ns_ < 0) {
            if (now - first_ns_ < warmup_ns_) return;
            mark_ns_ = now;  // These bytes arrived before the mark: not counted.
            return;
        }
        bytes_ += bytes;
        datagrams_ += datagrams;
        last_ns_ = now;
    }

    // msgs = bytes / message size (a message may span several datagrams), bytes, datagrams,
    // elapsed_ns, and total_msgs (warm-up included, to compare with what the sender sent).
    // When the whole stream arrived within the warm-up (a stalled machine), the interval runs
    // from the first arrival instead; zero figures when everything came in one batch.
    [[nodiscard]] Fields fields(std::size_t message_bytes) const;
    [[nodiscard]] std::uint64_t bytes() const { return bytes_; }

private:
    std::int64_t warmup_ns_;
    std::int64_t first_ns_ = -1, mark_ns_ = -1, last_ns_ = -1;
    std::int64_t last_any_ns_ = -1;
    std::uint64_t bytes_ = 0, datagrams_ = 0, bytes_total_ = 0, datagrams_total_ = 0;
    std::uint64_t first_bytes_ = 0, first_datagrams_ = 0;
};

// Client side of the window pattern: counts completed calls after the warm-up.
class WindowMeter {
public:
    explicit WindowMeter(const PeerArgs& args, std::int64_t start_ns = now_ns())
        : start_ns_(start_ns),
          mark_ns_(start_ns_ + args.warmup_ms * 1'000'000),
          stop_ns_(mark_ns_ + args.duration_ms * 1'000'000) {}

    // Records one completed call; returns false once the measured time is over. A call that
    // completes after the end still counts (elapsed then runs to it), so that a stalled
    // machine yields a slow figure rather than none.
    bool on_complete(std::int64_t now) {
        if (now < mark_ns_) return true;
        ++calls_;
        last_ns_ = now;
        return now < stop_ns_;
    }
    // The measured time is over and at least one call completed in it.
    [[nodiscard]] bool done(std::int64_t now) const { return now >= stop_ns_ && calls_ > 0; }
    // calls, elapsed_ns.
    [[nodiscard]] Fields fields() const;

private:
    std::int64_t start_ns_, mark_ns_, stop_ns_;
    std::int64_t last_ns_ = -1;
    std::uint64_t calls_ = 0;
};

}  // namespace herald::bench

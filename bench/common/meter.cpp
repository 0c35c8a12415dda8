// Latency percentiles and meter figures (see meter.h). Layer: bench.
#include "bench/common/meter.h"

#include <cmath>
#include <numeric>
#include <string>

namespace herald::bench {

std::int64_t percentile(const std::vector<std::int64_t>& sorted, double q) {
    if (sorted.empty()) return 0;
    // Nearest rank: the smallest sample with at least q of all samples at or below it.
    auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
    rank = std::clamp<std::size_t>(rank, 1, sorted.size());
    return sorted[rank - 1];
}

LatencySummary summarize(std::vector<std::int64_t>& samples) {
    LatencySummary out;
    if (samples.empty()) return out;
    std::sort(samples.begin(), samples.end());
    out.samples = samples.size();
    out.min_ns = samples.front();
    out.max_ns = samples.back();
    out.p50_ns = percentile(samples, 0.50);
    out.p99_ns = percentile(samples, 0.99);
    out.p999_ns = percentile(samples, 0.999);
    double total = std::accumulate(samples.begin(), samples.end(), 0.0);
    out.mean_ns = total / static_cast<double>(samples.size());
    return out;
}

Fields to_fields(const LatencySummary& summary) {
    return {
        {"samples", std::to_string(summary.samples)},
        {"min_ns", std::to_string(summary.min_ns)},
        {"p50_ns", std::to_string(summary.p50_ns)},
        {"p99_ns", std::to_string(summary.p99_ns)},
        {"p999_ns", std::to_string(summary.p999_ns)},
        {"max_ns", std::to_string(summary.max_ns)},
        {"mean_ns", std::to_string(std::llround(summary.mean_ns))},
    };
}

Fields StreamMeter::fields(std::size_t message_bytes) const {
    std::int64_t elapsed = last_ns_ > mark_ns_ ? last_ns_ - mark_ns_ : 0;
    std::uint64_t bytes = bytes_, datagrams = datagrams_;
    if (elapsed == 0 && last_any_ns_ > first_ns_) {
        elapsed = last_any_ns_ - first_ns_;
        bytes = bytes_total_ - first_bytes_;
        datagrams = datagrams_total_ - first_datagrams_;
    }
    auto messages = [&](std::uint64_t b) { return message_bytes == 0 ? 0 : b / message_bytes; };
    return {
        {"msgs", std::to_string(messages(bytes))},
        {"bytes", std::to_string(bytes)},
        {"datagrams", std::to_string(datagrams)},
        {"elapsed_ns", std::to_string(elapsed)},
        {"total_msgs", std::to_string(messages(bytes_total_))},
    };
}

Fields WindowMeter::fields() const {
    std::int64_t elapsed = last_ns_ > mark_ns_ ? last_ns_ - mark_ns_ : 0;
    return {
        {"calls", std::to_string(calls_)},
        {"elapsed_ns", std::to_string(elapsed)},
    };
}

}  // namespace herald::bench

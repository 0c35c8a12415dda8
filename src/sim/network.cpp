// Network model. Layer: sim.
#include "sim/network.h"

#include <algorithm>
#include <cmath>

#include "core/assert.h"

namespace herald::sim {

Network::Network(const NetworkOptions& options, Random random, std::size_t node_count)
    : options_(options),
      random_(random),
      node_count_(node_count),
      blocked_(node_count * node_count, 0),
      bad_(node_count * node_count, false),
      clogged_until_(node_count, Time::zero()) {
    HERALD_ASSERT(node_count > 0);
    base_.reserve(node_count * node_count);
    for (std::size_t i = 0; i < node_count * node_count; ++i) {
        // Links differ (0.5x to 1.5x the base), so some paths are persistently slower.
        const double scale = 0.5 + random_.unit();
        base_.push_back(Duration::nanoseconds(
            static_cast<std::int64_t>(double(options_.latency_base.ns()) * scale)));
    }
}

std::size_t Network::link(NodeId from, NodeId to) const {
    HERALD_ASSERT(from.value >= 1 && from.value <= node_count_);
    HERALD_ASSERT(to.value >= 1 && to.value <= node_count_);
    return (from.value - 1) * node_count_ + (to.value - 1);
}

Duration Network::latency(std::size_t l) {
    const double jitter = double(options_.jitter.ns());
    double extra = 0;
    switch (options_.shape) {
        case JitterShape::uniform:
            extra = random_.unit() * jitter;
            break;
        case JitterShape::exponential:
            extra = std::min(-std::log(1.0 - random_.unit()) * jitter, 20 * jitter);
            break;
        case JitterShape::pareto:
            extra = std::min(jitter / 3 / std::pow(1.0 - random_.unit(), 1 / 1.5), 50 * jitter);
            break;
    }
    Duration d = base_[l] + Duration::nanoseconds(static_cast<std::int64_t>(extra));
    if (options_.reorder > 0 && random_.chance(options_.reorder)) {
        ++counters_.delayed;
        d += Duration::nanoseconds(
            static_cast<std::int64_t>(random_.unit() * double(options_.reorder_delay_max.ns())));
    }
    if (options_.extreme_delay && random_.chance(0.01)) {
        ++counters_.delayed;
        d += Duration::nanoseconds(
            static_cast<std::int64_t>(random_.unit() * double(options_.extreme_delay_max.ns())));
    }
    return d;
}

bool Network::lost(std::size_t l) {
    if (options_.burst_loss) {
        // Advance the link's two-state channel once per packet.
        if (bad_[l]) {
            if (random_.chance(options_.burst_exit)) bad_[l] = false;
        } else if (random_.chance(options_.burst_enter)) {
            bad_[l] = true;
        }
        if (bad_[l] && random_.chance(options_.burst_loss_rate)) return true;
    }
    return options_.loss > 0 && random_.chance(options_.loss);
}

std::uint32_t Network::copies() {
    if (options_.duplicate <= 0 || !random_.chance(options_.duplicate)) return 1;
    if (options_.duplicate_storm) return 2 + static_cast<std::uint32_t>(random_.below(4));
    return 2;
}

Route Network::route(NodeId from, NodeId to, Time now) {
    Route route;
    ++counters_.sent;
    if (from == to) {
        route.arrivals.push_back(now + options_.loopback_latency);
        return route;
    }
    const std::size_t l = link(from, to);
    if (blocked_[l] > 0) {
        ++counters_.partitioned;
        route.drop_reason = "partition";
        return route;
    }
    if (lost(l)) {
        ++counters_.lost;
        route.drop_reason = bad_[l] ? "burst" : "loss";
        return route;
    }
    const Time leaves =
        std::max({now, clogged_until_[from.value - 1], clogged_until_[to.value - 1]});
    const std::uint32_t n = copies();
    counters_.duplicated += n - 1;
    for (std::uint32_t i = 0; i < n; ++i) route.arrivals.push_back(leaves + latency(l));
    return route;
}

void Network::unblock(NodeId from, NodeId to) {
    auto& count = blocked_[link(from, to)];
    if (count > 0) --count;  // heal_all() may already have cleared it.
}

void Network::clog(NodeId node, Time until) {
    HERALD_ASSERT(node.value >= 1 && node.value <= node_count_);
    Time& slot = clogged_until_[node.value - 1];
    slot = std::max(slot, until);
}

void Network::heal_all() {
    std::fill(blocked_.begin(), blocked_.end(), 0);
    std::fill(bad_.begin(), bad_.end(), false);
    std::fill(clogged_until_.begin(), clogged_until_.end(), Time::zero());
    options_.loss = 0;
    options_.duplicate = 0;
    options_.reorder = 0;
    options_.burst_loss = false;
    options_.extreme_delay = false;
    options_.duplicate_storm = false;
}

}  // namespace herald::sim

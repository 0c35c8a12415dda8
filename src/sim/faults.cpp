// Fault planning and scheduling. Layer: sim.
#include "sim/faults.h"

#include <algorithm>

#include "core/assert.h"

namespace herald::sim {

namespace {

Duration uniform(Random& random, Duration low, Duration high) {
    if (high <= low) return low;
    return low + Duration::nanoseconds(static_cast<std::int64_t>(
                     random.below(static_cast<std::uint64_t>((high - low).ns()))));
}

// A start in the first 80% of the phase and an end before the phase ends.
std::pair<Time, Time> window(Random& random, Time start, Duration phase, Duration length_max) {
    const Time begin = start + uniform(random, Duration::zero(), phase * 4 / 5);
    const Time end = std::min(begin + uniform(random, Duration::milliseconds(10), length_max),
                              start + phase - Duration::milliseconds(1));
    return {begin, std::max(begin, end)};
}

std::vector<NodeId> pick_side(Random& random, std::size_t nodes) {
    // One isolated node half of the time; otherwise a random proper subset.
    std::vector<NodeId> side;
    if (random.chance(0.5)) {
        side.push_back(NodeId{1 + random.below(nodes)});
        return side;
    }
    for (std::size_t i = 1; i <= nodes; ++i) {
        if (random.chance(0.5)) side.push_back(NodeId{i});
    }
    if (side.empty()) side.push_back(NodeId{1 + random.below(nodes)});
    if (side.size() == nodes) side.pop_back();
    return side;
}

}  // namespace

FaultPlan plan_faults(const FaultOptions& o, std::size_t nodes, Time start, Random& random,
                      Buggify& buggify) {
    FaultPlan plan;
    if (nodes >= 2) {
        for (std::uint32_t i = 0; i < o.partitions; ++i) {
            PartitionFault p;
            std::tie(p.start, p.end) = window(random, start, o.safety, o.partition_max);
            p.side = pick_side(random, nodes);
            p.one_way = random.chance(0.3);
            plan.partitions.push_back(std::move(p));
        }
    }
    for (std::uint32_t i = 0; i < o.crashes; ++i) {
        CrashFault c;
        std::tie(c.at, c.restart) = window(random, start, o.safety, o.down_max);
        c.node = NodeId{1 + random.below(nodes)};
        c.wipe = o.wipe > 0 && random.chance(o.wipe);
        plan.crashes.push_back(c);
    }
    std::uint32_t clogs = o.clogs;
    if (buggify.mode("clog_storm")) clogs += 3 + static_cast<std::uint32_t>(random.below(4));
    for (std::uint32_t i = 0; i < clogs; ++i) {
        ClogFault c;
        std::tie(c.start, c.end) = window(random, start, o.safety, o.clog_max);
        c.node = NodeId{1 + random.below(nodes)};
        plan.clogs.push_back(c);
    }
    return plan;
}

namespace {

void set_partition(Simulation& sim, const PartitionFault& p, bool on) {
    const std::size_t nodes = sim.node_count();
    for (std::size_t a = 1; a <= nodes; ++a) {
        const NodeId here{a};
        if (std::find(p.side.begin(), p.side.end(), here) == p.side.end()) continue;
        for (std::size_t b = 1; b <= nodes; ++b) {
            const NodeId there{b};
            if (std::find(p.side.begin(), p.side.end(), there) != p.side.end()) continue;
            if (on) {
                sim.network().block(here, there);
                if (!p.one_way) sim.network().block(there, here);
            } else {
                sim.network().unblock(here, there);
                if (!p.one_way) sim.network().unblock(there, here);
            }
        }
    }
    std::string side;
    for (const NodeId n : p.side) side += (side.empty() ? "n" : ",n") + std::to_string(n.value);
    sim.note("--", on ? "partition" : "partition_heal",
             Fields().add("side", side).add("one_way", p.one_way).text());
}

}  // namespace

void schedule_faults(Simulation& sim, const FaultPlan& plan) {
    auto& queue = sim.queue();
    for (const auto& p : plan.partitions) {
        queue.schedule(p.start, [&sim, p] { set_partition(sim, p, true); });
        queue.schedule(p.end, [&sim, p] { set_partition(sim, p, false); });
    }
    for (const auto& c : plan.crashes) {
        queue.schedule(c.at, [&sim, c] { sim.crash(c.node, c.wipe); });
        queue.schedule(c.restart, [&sim, c] { sim.restart(c.node); });
    }
    for (const auto& c : plan.clogs) {
        queue.schedule(c.start, [&sim, c] {
            sim.network().clog(c.node, c.end);
            sim.note(sim.node(c.node).label(), "clog", Fields().add("until", c.end).text());
        });
    }
}

}  // namespace herald::sim

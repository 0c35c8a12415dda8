// Fault plan of the safety phase: partitions (two-way splits, one-way cuts, an isolated
// node), clogged nodes, and crashes with restart (optionally wiping the disk), drawn from a
// seeded stream and scheduled on the Simulation. Every fault ends before the safety phase does.
// Layer: sim.
#pragma once

#include <cstdint>
#include <vector>

#include "core/random.h"
#include "core/time.h"
#include "sim/buggify.h"
#include "sim/simulation.h"

namespace herald::sim {

struct FaultOptions {
    Duration safety = Duration::seconds(5);  // Length of the safety phase.
    std::uint32_t partitions = 1;
    std::uint32_t crashes = 1;
    std::uint32_t clogs = 0;  // Buggify "clog_storm" adds 3-6 more.
    double wipe = 0.0;        // Probability a crash also destroys the disk.
    Duration partition_max = Duration::seconds(2);
    Duration down_max = Duration::seconds(1);  // Time a crashed node stays down.
    Duration clog_max = Duration::milliseconds(500);
};

struct PartitionFault {
    Time start, end;
    std::vector<NodeId> side;  // Nodes cut off from the rest.
    bool one_way = false;      // Only packets from `side` to the rest are dropped.
};

struct CrashFault {
    Time at, restart;
    NodeId node;
    bool wipe = false;
};

struct ClogFault {
    Time start, end;
    NodeId node;
};

struct FaultPlan {
    std::vector<PartitionFault> partitions;
    std::vector<CrashFault> crashes;
    std::vector<ClogFault> clogs;
};

// Draws a plan for `nodes` nodes starting at `start`. Deterministic in `random`.
[[nodiscard]] FaultPlan plan_faults(const FaultOptions& options, std::size_t nodes, Time start,
                                    Random& random, Buggify& buggify);

// Schedules every fault of `plan` on `sim` (each traced when it starts and ends).
void schedule_faults(Simulation& sim, const FaultPlan& plan);

}  // namespace herald::sim

// Property: the name server keeps its rules (docs/naming.md) with the clients racing for a
// small pool of names: never two owners of a name at once, no lost registration, leases
// expire, and every request after the faults heal gets an answer.
// Faults: 20% loss, 5% duplication, 10% reordering, a partition, a crash of any node (never
// wiping its disk), and per-seed buggify modes (tiny tables).
// Replay any failing seed with the line printed: herald-sim --scenario=naming --seed=N
#include <gtest/gtest.h>

#include "sim_test_support.h"

namespace herald::sim {
namespace {

ScenarioOptions naming_options() {
    ScenarioOptions options;
    options.scenario = "naming";
    return options;
}

TEST(NamingSimulation, ThousandSeedsAreClean) {
    const ScenarioOptions options = naming_options();
    const std::uint64_t count = testing::seeds(1000);
    const Summary summary = testing::run_seeds(options, 1, count);
    testing::expect_clean(summary, options);
    EXPECT_GT(summary.totals().completed_ok, summary.totals().operations / 3);
    EXPECT_GT(summary.totals().packets_lost, 0u);
    EXPECT_EQ(summary.totals().crashes, count);
    std::printf("%s", summary.text().c_str());
}

TEST(NamingSimulation, HarsherFaultsOnFiveNodesAreClean) {
    ScenarioOptions options = naming_options();
    options.nodes = 5;
    options.processes = 10;
    options.loss = 0.3;
    options.duplicate = 0.1;
    options.reorder = 0.2;
    options.partitions = 3;
    options.crashes = 3;
    testing::expect_clean(testing::run_seeds(options, 1, testing::seeds(300)), options);
}

}  // namespace
}  // namespace herald::sim

// Property: a node as the runtime builds it — the direct and RPC engines together in one
// EngineSet on every node — keeps both protocols' promises at once: no message lost,
// duplicated or reordered, every operation completed within the liveness bound, and the
// exactly-once counter equal to the successful calls plus those of unknown outcome.
// Faults: 20% loss, 5% duplication, 10% reordering, a partition, a crash of any node (never
// wiping its disk), and per-seed buggify modes of both engines.
// Replay any failing seed with the line printed: herald-sim --scenario=node --seed=N
#include <gtest/gtest.h>

#include "sim_test_support.h"

namespace herald::sim {
namespace {

ScenarioOptions node_options() {
    ScenarioOptions options;
    options.scenario = "node";
    return options;
}

TEST(NodeSimulation, ThousandSeedsOfDirectAndRpcTogetherAreClean) {
    const ScenarioOptions options = node_options();
    const std::uint64_t count = testing::seeds(1000);
    const Summary summary = testing::run_seeds(options, 1, count);
    testing::expect_clean(summary, options);
    // Both workloads really ran: sends and calls, most of them ok, faults really hit.
    EXPECT_GT(summary.totals().completed_ok, summary.totals().operations / 2);
    EXPECT_GT(summary.totals().deliveries, 0u);
    EXPECT_GT(summary.totals().packets_lost, 0u);
    EXPECT_EQ(summary.totals().crashes, count);
    std::printf("%s", summary.text().c_str());
}

// Property: as above with harsher faults and a larger cluster.
// Faults: 30% loss, 10% duplication, 20% reordering, 3 partitions, 3 crashes, 5 nodes.
TEST(NodeSimulation, HarsherFaultsOnFiveNodesAreClean) {
    ScenarioOptions options = node_options();
    options.nodes = 5;
    options.processes = 10;
    options.loss = 0.3;
    options.duplicate = 0.1;
    options.reorder = 0.2;
    options.partitions = 3;
    options.crashes = 3;
    testing::expect_clean(testing::run_seeds(options, 1, testing::seeds(300)), options);
}

// The checkers still see a broken engine of either kind when both are hosted.
TEST(NodeSimulation, BrokenEnginesAreCaughtWhenHostedTogether) {
    for (const char* mutation : {"skip_duplicate_check", "rpc_ignore_reply_cache"}) {
        ScenarioOptions options = node_options();
        options.mutations = {mutation};
        const Summary summary = testing::run_seeds(options, 1, 50);
        EXPECT_GT(summary.failed().size(), 25u) << mutation;
    }
}

}  // namespace
}  // namespace herald::sim

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

// Property: process migration with forwarding (docs/migration.md): a mobile receiver hops
// between nodes (chains, back home, to nodes that are down) while a sender on every node
// streams to it; no message is delivered twice, per-sender FIFO holds across moves, every
// acked message reaches the process unless it died with a crashed node, its state blob
// arrives intact, and after the faults heal every send ends (never a hang).
// Faults: loss, duplication, reordering, partitions, crashes of nodes not hosting it (a
// target may die half-way; an origin may die after deciding), per-seed buggify modes.
// Replay: herald-sim --scenario=migrate --seed=N --messages=12 --liveness-messages=3
ScenarioOptions migrate_options() {
    ScenarioOptions options;
    options.scenario = "migrate";
    options.messages = 12;
    options.liveness_messages = 3;
    return options;
}

TEST(MigrateSimulation, ThousandSeedsAreClean) {
    const ScenarioOptions options = migrate_options();
    const Summary summary = testing::run_seeds(options, 1, testing::seeds(1000));
    testing::expect_clean(summary, options);
    EXPECT_GT(summary.totals().packets_lost, 0u);
    EXPECT_GT(summary.totals().crashes, 0u);
    // The rare paths were reached: moves, aborts (a target down or refusing), data dropped
    // while frozen, late duplicate migrate packets, tentative arrivals, the process lost, and
    // replies the migrated process sent from where it lived.
    for (const char* probe : {"arrivals", "probe_migrate_aborted", "probe_migrating_dropped",
                              "probe_migrate_late_duplicate", "probe_tentative_dropped",
                              "mobile_deaths", "replies_ok"}) {
        const auto it = summary.probes().find(probe);
        EXPECT_TRUE(it != summary.probes().end() && it->second.hits > 0) << probe;
    }
    std::printf("%s", summary.text().c_str());
}

TEST(MigrateSimulation, HarsherFaultsOnFiveNodesAreClean) {
    ScenarioOptions options = migrate_options();
    options.nodes = 5;
    options.loss = 0.3;
    options.duplicate = 0.1;
    options.reorder = 0.2;
    options.partitions = 2;
    options.crashes = 3;
    testing::expect_clean(testing::run_seeds(options, 1, testing::seeds(500)), options);
}

}  // namespace
}  // namespace herald::sim

// Property: mailboxes on node 1, used by senders and competing receivers on every node, keep
// their promises (docs/mailboxes.md): every accepted persistent message is acknowledged, or
// is still on the host's disk; no message is handed out twice without the redelivery mark;
// transient messages are never handed out twice; nothing is handed out that nobody sent;
// every operation completes within the liveness bound, and after the faults heal every
// accepted persistent message is acknowledged. Bulletin boards on the same host
// (docs/boards.md): every reader sees seqs strictly increasing, no post twice, no gap beyond
// the reported missed count, and no acknowledged post of the persistent board is lost across
// the host's crashes; after the heal every reader catches up.
// Faults: 20% loss, 5% duplication, 10% reordering, a partition, crashes and restarts of the
// host (its disk survives, with a random prefix of unfinished writes), per-seed buggify modes.
// Replay any failing seed with the line printed: herald-sim --scenario=mailbox --seed=N
#include <gtest/gtest.h>

#include "sim_test_support.h"

namespace herald::sim {
namespace {

ScenarioOptions mailbox_options() {
    ScenarioOptions options;
    options.scenario = "mailbox";
    return options;
}

TEST(MailboxSimulation, TwoThousandSeedsAreClean) {
    const ScenarioOptions options = mailbox_options();
    const std::uint64_t count = testing::seeds(2000);
    const Summary summary = testing::run_seeds(options, 1, count);
    testing::expect_clean(summary, options);
    EXPECT_GT(summary.totals().completed_ok, summary.totals().operations / 2);
    EXPECT_GT(summary.totals().packets_lost, 0u);
    EXPECT_EQ(summary.totals().crashes, count);
    std::printf("%s", summary.text().c_str());
}

// Property: as above with harsher faults, more nodes and several host crashes.
// Faults: 30% loss, 10% duplication, 20% reordering, 3 partitions, 3 host crashes, 5 nodes.
TEST(MailboxSimulation, HarsherFaultsOnFiveNodesAreClean) {
    ScenarioOptions options = mailbox_options();
    options.nodes = 5;
    options.processes = 8;
    options.loss = 0.3;
    options.duplicate = 0.1;
    options.reorder = 0.2;
    options.partitions = 3;
    options.crashes = 3;
    testing::expect_clean(testing::run_seeds(options, 1, testing::seeds(300)), options);
}

}  // namespace
}  // namespace herald::sim

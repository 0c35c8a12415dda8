// Property: the direct engine loses nothing it promised (accepted/delivered sends, every send
// after the faults heal), never delivers a message twice, keeps per-sender FIFO order, and
// completes every operation within the liveness bound once faults stop.
// Faults: 20% loss, 5% duplication, 10% reordering (plus latency jitter), one partition that
// heals, one node crash with restart, and per-seed buggify modes (burst loss, extreme delay,
// duplicate storms, clogging, tiny queues, small windows, slow consumers).
// Replay any failing seed with the line printed: herald-sim --scenario=direct --seed=N
#include <gtest/gtest.h>

#include "sim_test_support.h"

namespace herald::sim {
namespace {

TEST(DirectSimulation, ThousandSeedsWithLossDuplicationReorderPartitionAndCrashAreClean) {
    const ScenarioOptions options;  // The defaults are this test's configuration.
    ASSERT_EQ(options.loss, 0.2);
    ASSERT_EQ(options.duplicate, 0.05);
    ASSERT_GT(options.reorder, 0.0);
    ASSERT_EQ(options.partitions, 1u);
    ASSERT_EQ(options.crashes, 1u);
    const std::uint64_t count = testing::seeds(1000);
    const Summary summary = testing::run_seeds(options, 1, count);
    testing::expect_clean(summary, options);
    // The workload really exercised the engine: most sends succeeded, faults really hit.
    EXPECT_GT(summary.totals().completed_ok, summary.totals().operations / 2);
    EXPECT_GT(summary.totals().retransmits, 0u);
    EXPECT_GT(summary.totals().packets_lost, 0u);
    EXPECT_GT(summary.totals().packets_partitioned, 0u);
    EXPECT_EQ(summary.totals().crashes, count);
    EXPECT_FALSE(summary.buggify().empty());
    std::printf("%s", summary.text().c_str());
}

// Property: as above, with crashes that also wipe the disk and more of every fault.
// Faults: 30% loss, 10% duplication, 20% reordering, 3 partitions, 3 crashes (half wiping).
TEST(DirectSimulation, HarsherFaultsWithDiskWipesAreClean) {
    ScenarioOptions options;
    options.loss = 0.3;
    options.duplicate = 0.1;
    options.reorder = 0.2;
    options.partitions = 3;
    options.crashes = 3;
    options.wipe = 0.5;
    testing::expect_clean(testing::run_seeds(options, 1, testing::seeds(300)), options);
}

// Property: as above, when partitions come and go often and no node crashes: handshakes back
// off during partitions and must not fail sends made after the heal (a bug found this way).
// Faults: 4 partitions on 4 nodes, the default loss, duplication and reordering, buggify.
TEST(DirectSimulation, FrequentPartitionsAreClean) {
    ScenarioOptions options;
    options.nodes = 4;
    options.processes = 8;
    options.partitions = 4;
    options.crashes = 0;
    // Seed 629 (buggify few_channels) delivered a message twice before senders gave up
    // channels their receiver stopped answering (direct README rule 18).
    testing::expect_clean(testing::run_seeds(options, 1, testing::seeds(1000)), options);
    // Seed 12571 failed a send made just after the heal with unreachable (rule 16).
    testing::expect_clean(testing::run_seeds(options, 12571, 1), options);
}

// Property: as the first test, with many messages per process, so that channels stay busy
// through partitions and restarts. Seed 425 (buggify few_channels) found the same double
// delivery as seed 629 above.
TEST(DirectSimulation, LongConversationsAreClean) {
    ScenarioOptions options;
    options.messages = 30;
    testing::expect_clean(testing::run_seeds(options, 1, testing::seeds(1000)), options);
    // Seed 3203: a send-after-receive process waited forever for a body from a sender node
    // that had restarted (its `ready` went to the old incarnation, unanswered).
    testing::expect_clean(testing::run_seeds(options, 3203, 1), options);
}

// Property: as the first test, on six nodes with twelve processes. Seeds 4673, 16448 and
// 17961 found the same stuck send-after-receive receiver as seed 3203 above.
TEST(DirectSimulation, SixNodeClusterIsClean) {
    ScenarioOptions options;
    options.nodes = 6;
    options.processes = 12;
    testing::expect_clean(testing::run_seeds(options, 1, testing::seeds(500)), options);
    for (std::uint64_t seed : {4673u, 16448u, 17961u}) {
        testing::expect_clean(testing::run_seeds(options, seed, 1), options);
    }
}

// Property: as above, on a larger cluster (more channels per node, more concurrent senders).
// Faults: the defaults (20% loss, 5% duplication, reordering, a partition, a crash), buggify.
TEST(DirectSimulation, LargerClusterIsClean) {
    ScenarioOptions options;
    options.nodes = 5;
    options.processes = 15;
    options.messages = 8;
    testing::expect_clean(testing::run_seeds(options, 1, testing::seeds(200)), options);
}

// Property: as the first test, while channels change epochs often and epochs cross 2^32.
// Faults: 30% loss, 30% duplication, 40% reordering, a partition, a crash, buggify; epochs
// start 16 below 2^32 (--first-epoch=near-wrap); channels idle for 2 s are released, and
// receivers hold at most 6 channels (they refuse more with nack queue_full, which releases
// the sender's): both open new epochs while replies of the old one are still on the wire.
// With epochs compared as plain integers about 3% of these seeds fail. A reply of an older
// epoch taken as fresh fails about 1 seed in 1,500; the seeds listed below caught it.
TEST(DirectSimulation, EpochChurnAcrossTheWrapWithHeavyDuplicationAndReorderingIsClean) {
    ScenarioOptions options;
    options.loss = 0.3;
    options.duplicate = 0.3;
    options.reorder = 0.4;
    options.processes = 9;
    options.messages = 20;
    options.liveness_messages = 10;
    options.epoch_first = epoch_near_wrap;
    options.channel_idle = Duration::seconds(2);
    options.channels_max = 6;
    ASSERT_TRUE(validate(options));
    const std::uint64_t count = testing::seeds(1000);
    const Summary summary = testing::run_seeds(options, 1, count);
    testing::expect_clean(summary, options);
    // Epochs really changed: receivers refused channels, senders gave epochs up (rule 18).
    EXPECT_GT(summary.probes().at("probe_nack_queue_full").seeds, count * 9 / 10);
    EXPECT_GT(summary.probes().at("probe_channel_stalled").seeds, count / 10);
    for (std::uint64_t seed : {192u, 985u, 1265u, 4587u, 4604u, 7979u, 8881u}) {
        testing::expect_clean(testing::run_seeds(options, seed, 1), options);
    }
}

// Property: as the first test, with the default faults, when channels are released after 2 s
// idle (which also makes peer_timeout 1 s, so a stalled epoch, rule 18, and a silent peer's
// verdict, rule 16, come together) and receivers hold at most 4 channels. Seeds 1411 and 3633
// failed a send made just after the heal with unreachable: the stall sent it in a new epoch,
// and the peer's older silence failed it soon after (rule 16 now spares a channel of fresh
// messages).
TEST(DirectSimulation, ShortIdleChannelsAndFewOfThemAreClean) {
    ScenarioOptions options;
    options.channel_idle = Duration::seconds(2);
    options.channels_max = 4;
    ASSERT_TRUE(validate(options));
    const Summary summary = testing::run_seeds(options, 1, testing::seeds(1000));
    testing::expect_clean(summary, options);
    EXPECT_GT(summary.probes().at("probe_channel_stalled").seeds, 0u);
    for (std::uint64_t seed : {1411u, 3633u}) {
        testing::expect_clean(testing::run_seeds(options, seed, 1), options);
    }
}

}  // namespace
}  // namespace herald::sim

// Property: each checker catches the engine bug it exists for. Each test breaks the direct
// engine on purpose through DirectOptions::mutations and expects the matching checker to
// report a violation within a small seed range (and prints the replay line it found).
// Faults: the default direct scenario (20% loss, 5% duplication, reordering, a partition, a
// crash), buggify on; the duplicate test raises duplication so that dedup is needed often.
#include <gtest/gtest.h>

#include <string>

#include "sim/scenario.h"

namespace herald::sim {
namespace {

// Runs seeds 1..max_seeds and returns the first violation of `checker`, or an empty string.
std::string first_violation(const ScenarioOptions& options, std::string_view checker,
                            std::uint64_t max_seeds = 100) {
    for (std::uint64_t seed = 1; seed <= max_seeds; ++seed) {
        const RunReport r = run_scenario(options, seed);
        for (const auto& v : r.violations) {
            if (v.checker == checker) return v.description + "\n  replay: " + r.replay;
        }
    }
    return {};
}

ScenarioOptions mutated(std::string mutation) {
    ScenarioOptions options;
    options.mutations.push_back(std::move(mutation));
    return options;
}

TEST(CheckerMutations, NoDuplicateSuppressionIsCaughtByTheDuplicateChecker) {
    ScenarioOptions options = mutated("skip_duplicate_check");
    options.duplicate = 0.2;
    const std::string found = first_violation(options, "no_duplicates");
    EXPECT_FALSE(found.empty());
    std::printf("no_duplicates caught: %s\n", found.c_str());
}

TEST(CheckerMutations, DeliveringInArrivalOrderIsCaughtByTheFifoChecker) {
    const std::string found = first_violation(mutated("skip_reorder_buffer"), "fifo");
    EXPECT_FALSE(found.empty());
    std::printf("fifo caught: %s\n", found.c_str());
}

TEST(CheckerMutations, NeverRetransmittingIsCaughtByNoLossOrLiveness) {
    const ScenarioOptions options = mutated("never_retransmit");
    std::string found = first_violation(options, "no_loss");
    if (found.empty()) found = first_violation(options, "liveness");
    EXPECT_FALSE(found.empty());
    std::printf("never_retransmit caught: %s\n", found.c_str());
}

TEST(CheckerMutations, CompletingBeforeTheAckIsCaughtByTheNoLossChecker) {
    const std::string found = first_violation(mutated("complete_before_ack"), "no_loss");
    EXPECT_FALSE(found.empty());
    std::printf("no_loss caught: %s\n", found.c_str());
}

// Atomic multicast (docs/groups.md G23): the order_atomic scenario as order_sim_test runs it.
// Returns how many of seeds 1..seeds report `checker`, printing the first.
std::uint64_t atomic_violations(const char* mutation, std::string_view checker,
                                std::uint64_t seeds = 200) {
    ScenarioOptions options;
    options.scenario = "order_atomic";
    options.processes = 4;
    options.messages = 4;
    options.safety = Duration::seconds(3);
    if (mutation != nullptr) options.mutations.emplace_back(mutation);
    std::uint64_t count = 0;
    for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
        const RunReport r = run_scenario(options, seed);
        for (const auto& v : r.violations) {
            if (v.checker != checker) continue;
            if (count++ == 0) std::printf("%s caught: %s\n", checker.data(), r.replay.c_str());
            break;
        }
    }
    std::printf("%s: %llu of %llu seeds report %s\n", mutation ? mutation : "correct engine",
                static_cast<unsigned long long>(count), static_cast<unsigned long long>(seeds),
                checker.data());
    return count;
}

// A flush that keeps only the messages every survivor holds (not every message some survivor
// holds, O31) leaves a survivor that delivered one without company: atomicity among survivors.
TEST(CheckerMutations, AFlushWithoutTheUnionIsCaughtByTheAtomicityChecker) {
    EXPECT_GT(atomic_violations("order_flush_intersection", "virtual_synchrony"), 0u);
    EXPECT_EQ(atomic_violations(nullptr, "virtual_synchrony"), 0u);
}

// Deliveries of a flush marked with the new view's id: the view id checker.
TEST(CheckerMutations, FlushDeliveriesMarkedWithTheNewViewAreCaughtByTheViewIdChecker) {
    EXPECT_GT(atomic_violations("order_flush_next_view_id", "view_id"), 0u);
    EXPECT_EQ(atomic_violations(nullptr, "view_id"), 0u);
}

// Bulletin boards (docs/boards.md): the board checker of the mailbox scenario.
TEST(CheckerMutations, ABoardCursorThatStaysIsCaughtByTheBoardChecker) {
    ScenarioOptions options = mutated("board_cursor_stays");
    options.scenario = "mailbox";
    const std::string found = first_violation(options, "board", 20);
    EXPECT_FALSE(found.empty());
    std::printf("board_cursor_stays caught: %s\n", found.c_str());
}

TEST(CheckerMutations, UnreportedBoardEvictionsAreCaughtByTheBoardChecker) {
    ScenarioOptions options = mutated("board_missed_unreported");
    options.scenario = "mailbox";
    const std::string found = first_violation(options, "board", 20);
    EXPECT_FALSE(found.empty());
    std::printf("board_missed_unreported caught: %s\n", found.c_str());
}

TEST(CheckerMutations, TheCorrectEngineIsCleanOnTheSameSeeds) {
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        const RunReport r = run_scenario(ScenarioOptions{}, seed);
        EXPECT_TRUE(r.clean()) << r.replay;
    }
}

}  // namespace
}  // namespace herald::sim

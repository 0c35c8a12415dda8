// Property: a run is a pure function of (options, seed): the same seed gives the same trace
// byte for byte (equal hash and lines), a different seed a different trace, and tracing does
// not change what happens (same stats with and without it).
// Faults: the default direct scenario (loss, duplication, reordering, partition, crash).
#include <gtest/gtest.h>

#include "sim/scenario.h"

namespace herald::sim {
namespace {

RunReport traced(std::uint64_t seed) {
    ScenarioOptions options;
    options.trace = true;
    return run_scenario(options, seed);
}

TEST(Determinism, SameSeedSameTraceByteForByte) {
    for (const std::uint64_t seed : {1u, 7u, 123456u}) {
        const RunReport a = traced(seed), b = traced(seed);
        ASSERT_FALSE(a.trace.empty());
        EXPECT_EQ(a.trace_hash, b.trace_hash);
        EXPECT_EQ(a.trace, b.trace);
    }
}

TEST(Determinism, DifferentSeedDifferentTrace) {
    EXPECT_NE(traced(1).trace_hash, traced(2).trace_hash);
}

TEST(Determinism, TracingDoesNotChangeTheRun) {
    const RunReport on = traced(5);
    const RunReport off = run_scenario(ScenarioOptions{}, 5);
    EXPECT_EQ(on.stats.events, off.stats.events);
    EXPECT_EQ(on.stats.deliveries, off.stats.deliveries);
    EXPECT_EQ(on.stats.virtual_end, off.stats.virtual_end);
    EXPECT_EQ(on.probes, off.probes);
}

TEST(Determinism, TraceLinesCarryTimeNodeAndEvent) {
    const RunReport r = traced(3);
    bool saw_send = false, saw_crash = false, saw_engine = false;
    for (const auto& line : r.trace) {
        saw_send = saw_send || line.find(" send op=") != std::string::npos;
        saw_crash = saw_crash || line.find(" crash ") != std::string::npos;
        saw_engine = saw_engine || line.find(" direct:") != std::string::npos;
    }
    EXPECT_TRUE(saw_send);
    EXPECT_TRUE(saw_crash);
    EXPECT_TRUE(saw_engine);  // The engine's TraceEffects are in the trace.
}

}  // namespace
}  // namespace herald::sim

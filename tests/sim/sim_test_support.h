// Helpers shared by the simulation tests: run a seed range and explain failures (summary,
// replay lines, and the tail of the first failing seed's trace). Layer: tests/sim.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "core/sanitizers.h"
#include "sim/scenario.h"
#include "sim/summary.h"

namespace herald::sim::testing {

// Seed counts for sweeps that only require every seed clean: all of them in the release tier,
// a quarter (the first ones, a subset of what release runs) under ASan or TSan, where the same
// deterministic runs take several times longer and the tier looks for memory errors, not for
// rarer seeds.
inline constexpr std::uint64_t sanitizer_seed_divisor = built_with_sanitizer ? 4 : 1;
// A sweep whose seeds are slower than most may divide by more under sanitizers (`divisor`).
constexpr std::uint64_t seeds(std::uint64_t release_count, std::uint64_t divisor = 4) {
    const std::uint64_t d = sanitizer_seed_divisor == 1 ? 1 : divisor;
    return release_count / d > 0 ? release_count / d : 1;
}

// The tail of the trace of `seed` (re-run with tracing on; runs are deterministic).
inline std::string trace_tail(ScenarioOptions options, std::uint64_t seed,
                              std::size_t lines = 120) {
    options.trace = true;
    const RunReport report = run_scenario(options, seed);
    std::string out;
    const std::size_t from = report.trace.size() > lines ? report.trace.size() - lines : 0;
    for (std::size_t i = from; i < report.trace.size(); ++i) out += report.trace[i] + "\n";
    return out;
}

// Runs seeds [first, first + count) and returns their summary.
inline Summary run_seeds(const ScenarioOptions& options, std::uint64_t first, std::uint64_t count) {
    Summary summary;
    for (std::uint64_t seed = first; seed < first + count; ++seed) {
        summary.add(run_scenario(options, seed));
    }
    return summary;
}

// Fails the test with the summary, every replay line and the first failure's trace tail.
inline void expect_clean(const Summary& summary, const ScenarioOptions& options) {
    if (summary.failed().empty()) return;
    ADD_FAILURE() << summary.text() << "\nlast trace lines of seed "
                  << summary.failed().front().seed << ":\n"
                  << trace_tail(options, summary.failed().front().seed);
}

}  // namespace herald::sim::testing

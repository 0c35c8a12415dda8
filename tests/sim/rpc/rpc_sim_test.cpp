// Simulation tests of the RPC engine. Property: a non-idempotent counter service called by
// many clients ends, under exactly-once with the durable reply cache, at exactly the number of
// calls that completed successfully, and no request runs twice; under at-least-once every
// success is committed and the re-runs are counted and reported. Faults: loss, duplication,
// reordering, partitions, buggify modes, and crashes with restart of the server node; all
// three protocols (chosen per call). Also: the lecture's packet counts without faults, and
// deliberately broken engines that the checkers must catch.
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "core/sanitizers.h"
#include "sim/engines.h"
#include "sim/rpc_workload.h"
#include "sim/scenario.h"
#include "sim/streams.h"

namespace herald::sim {
namespace {

// The sweeps run every seed in the release tier and the first quarter under ASan or TSan, where
// the same deterministic runs take several times longer and the tier looks for memory errors
// (as the other simulation tests do, tests/sim/sim_test_support.h). The counts the sweeps must
// reach scale with it.
constexpr std::uint64_t sweep(std::uint64_t release_count) {
    return built_with_sanitizer ? release_count / 4 : release_count;
}

struct Totals {
    std::uint64_t runs = 0, clean = 0, crashes = 0;
    std::map<std::string, std::uint64_t> numbers;
    std::vector<RunReport> failed;
};

Totals run_seeds(const ScenarioOptions& options, std::uint64_t first, std::uint64_t count) {
    Totals t;
    for (std::uint64_t seed = first; seed < first + count; ++seed) {
        RunReport report = run_scenario(options, seed);
        ++t.runs;
        t.crashes += report.stats.crashes;
        for (const auto& [name, value] : report.probes) {
            if (name.starts_with("rpc_")) t.numbers[name] += value;
        }
        if (report.clean()) {
            ++t.clean;
        } else if (t.failed.size() < 3) {
            t.failed.push_back(std::move(report));
        }
    }
    return t;
}

std::string explain(const Totals& t) {
    std::string out;
    for (const auto& report : t.failed) {
        out += "seed " + std::to_string(report.seed) + ": " + report.replay + "\n";
        for (std::size_t i = 0; i < report.violations.size() && i < 5; ++i) {
            out += "  " + std::string(report.violations[i].checker) + ": " +
                   report.violations[i].description + "\n";
        }
    }
    return out;
}

void print(const char* title, const Totals& t) {
    std::cout << title << ": " << t.clean << "/" << t.runs << " clean, " << t.crashes
              << " server crashes;";
    for (const auto& [name, value] : t.numbers) std::cout << " " << name << "=" << value;
    std::cout << "\n";
}

ScenarioOptions rpc_options(const char* scenario) {
    ScenarioOptions o;
    o.scenario = scenario;
    o.nodes = 3;
    o.processes = 4;
    o.messages = 5;
    o.liveness_messages = 2;
    o.crashes = 2;
    return o;
}

TEST(RpcSimulation, ExactlyOnceCounterEqualsSuccessesOverThousandsOfSeeds) {
    const auto options = rpc_options("rpc");
    ASSERT_TRUE(validate(options));
    Totals t = run_seeds(options, 1, sweep(5000));
    print("rpc exactly-once", t);
    EXPECT_EQ(t.clean, t.runs) << explain(t);
    // The faults were real: every protocol ran, the server crashed, callers saw it.
    for (const char* p : {"rpc_calls_rr", "rpc_calls_rra", "rpc_calls_rara"}) {
        EXPECT_GT(t.numbers[p], sweep(10000)) << p;
    }
    EXPECT_GT(t.crashes, sweep(5000));
    EXPECT_GT(t.numbers["rpc_server_crashed"], 0u);
    EXPECT_EQ(t.numbers["rpc_reruns"], 0u);
}

TEST(RpcSimulation, HarsherFaultsKeepTheCounterExact) {
    auto options = rpc_options("rpc");
    options.loss = 0.3;
    options.duplicate = 0.2;
    options.reorder = 0.3;
    options.partitions = 3;
    options.crashes = 5;
    options.processes = 6;
    options.messages = 8;
    ASSERT_TRUE(validate(options));
    Totals t = run_seeds(options, 10'000, sweep(500));
    print("rpc exactly-once, harsh", t);
    EXPECT_EQ(t.clean, t.runs) << explain(t);
    EXPECT_GT(t.numbers["rpc_server_crashed"], 0u);
}

TEST(RpcSimulation, AtLeastOnceCommitsEverySuccessAndReportsReruns) {
    const auto options = rpc_options("rpc_at_least_once");
    Totals t = run_seeds(options, 1, sweep(1000));
    print("rpc at-least-once", t);
    EXPECT_EQ(t.clean, t.runs) << explain(t);
    EXPECT_GT(t.numbers["rpc_reruns"], 0u);
    EXPECT_GT(t.numbers["rpc_committed_reruns"], 0u);
}

// Exactly-once with the reply cache in memory (docs/rpc.md): across server crashes a call may
// run again, but never twice in one server incarnation, and every success is committed.
TEST(RpcSimulation, InMemoryExactlyOnceRunsNoCallTwicePerIncarnation) {
    const auto options = rpc_options("rpc_volatile");
    ASSERT_TRUE(validate(options));
    Totals t = run_seeds(options, 1, sweep(1000));
    print("rpc exactly-once in memory", t);
    EXPECT_EQ(t.clean, t.runs) << explain(t);
    EXPECT_GT(t.crashes, sweep(1000));
    // The promise is weaker than the durable cache's, and the runs show it.
    EXPECT_GT(t.numbers["rpc_reruns"], 0u);
    EXPECT_GT(t.numbers["rpc_server_crashed"], 0u);
}

// Without faults every call costs exactly the lecture's packets: RR 2, RRA 3, RARA 4.
TEST(RpcSimulation, PacketsPerCallWithoutFaultsMatchTheLecture) {
    SimOptions sim_options;
    sim_options.nodes = 3;
    sim_options.fsync_min = sim_options.fsync_max = Duration::microseconds(100);
    Simulation sim(7, sim_options);
    proto::rpc::RpcOptions engine;
    engine.durable = true;
    const std::size_t slot = sim.add_engine(rpc_engine(engine));
    RpcWorkloadOptions w;
    w.clients = 4;
    w.calls = 50;
    w.liveness_calls = 0;
    w.quiet = true;
    RpcWorkload workload(sim, slot, w, make_stream(7, Stream::workload));
    sim.set_workload(workload);
    sim.start_all();
    run_phase(sim, Time::zero() + Duration::seconds(60));
    auto n = workload.numbers();
    ASSERT_EQ(n["rpc_ok"], 200u);
    EXPECT_GT(n["rpc_calls_rr"], 0u);
    EXPECT_GT(n["rpc_calls_rra"], 0u);
    EXPECT_GT(n["rpc_calls_rara"], 0u);
    const auto expected = 2 * n["rpc_calls_rr"] + 3 * n["rpc_calls_rra"] + 4 * n["rpc_calls_rara"];
    EXPECT_EQ(sim.network().counters().sent, expected);
    EXPECT_TRUE(workload.check().empty());
}

// Each deliberately broken engine must be caught, within a few hundred seeds, by the checker
// that exists for its bug (any other violation does not count): a request run twice by
// exactly_once, a reply sent before it was durable by the counter check (a success the
// server's disk forgot).
TEST(RpcSimulation, CheckersCatchBrokenEngines) {
    struct Case {
        const char* scenario;
        const char* mutation;
        std::string_view checker;
    };
    const Case cases[] = {{"rpc", "rpc_ignore_reply_cache", "exactly_once"},
                          {"rpc", "rpc_skip_execution_marker", "exactly_once"},
                          {"rpc", "rpc_respond_before_durable", "rpc_counter"},
                          // In memory the cache is still what stops a second run.
                          {"rpc_volatile", "rpc_ignore_reply_cache", "exactly_once"}};
    for (const auto& [scenario, mutation, checker] : cases) {
        auto options = rpc_options(scenario);
        options.mutations = {mutation};
        ASSERT_TRUE(validate(options));
        bool caught = false;
        for (std::uint64_t seed = 1; seed <= 300 && !caught; ++seed) {
            for (const auto& v : run_scenario(options, seed).violations) {
                caught = caught || v.checker == checker;
            }
        }
        EXPECT_TRUE(caught) << scenario << ": " << mutation << " went unnoticed by " << checker;
    }
}

}  // namespace
}  // namespace herald::sim

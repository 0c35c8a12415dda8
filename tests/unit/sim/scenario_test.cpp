// Scenario options: validation errors name the bad option, replay lines carry exactly the
// non-default options, and the summary lists violations with their replay lines.
// Layer: tests/unit/sim.
#include "sim/scenario.h"

#include <gtest/gtest.h>

#include "sim/summary.h"

namespace herald::sim {
namespace {

TEST(ScenarioOptions, DefaultsAreValidAndReplayWithScenarioAndSeedOnly) {
    const ScenarioOptions options;
    EXPECT_TRUE(validate(options).has_value());
    EXPECT_EQ(replay_line(options, 42), "herald-sim --scenario=direct --seed=42");
}

TEST(ScenarioOptions, ReplayLineNamesEveryNonDefaultOption) {
    ScenarioOptions o;
    o.nodes = 5;
    o.loss = 0.4;
    o.crashes = 3;
    o.clogs = 2;
    o.wipe = 0.25;
    o.safety = Duration::milliseconds(2500);
    o.buggify = false;
    o.mutations = {"never_retransmit"};
    EXPECT_EQ(replay_line(o, 7),
              "herald-sim --scenario=direct --seed=7 --nodes=5 --loss=0.4 --crash=3 --clog=2 "
              "--wipe=0.25 "
              "--safety-ms=2500 --no-buggify --mutate=never_retransmit");
}

TEST(ScenarioOptions, ReplayLineNamesTheEpochOptions) {
    ScenarioOptions o;
    o.epoch_first = epoch_near_wrap;
    o.channel_idle = Duration::milliseconds(2500);
    o.channels_max = 6;
    EXPECT_EQ(replay_line(o, 3),
              "herald-sim --scenario=direct --seed=3 --first-epoch=near-wrap "
              "--channel-idle-ms=2500 --channels-max=6");
    o.epoch_first = 12;
    EXPECT_NE(replay_line(o, 3).find(" --first-epoch=12 "), std::string::npos);
}

TEST(ScenarioOptions, ValidationRejectsEachBadOptionWithItsName) {
    const auto rejects = [](const ScenarioOptions& o, std::string_view word) {
        const Status s = validate(o);
        ASSERT_FALSE(s.has_value());
        EXPECT_EQ(s.error().code, Errc::invalid_argument);
        EXPECT_NE(s.error().detail.find(word), std::string::npos) << s.error().detail;
    };
    ScenarioOptions o;
    o.scenario = "nope";
    rejects(o, "scenario");
    o = {};
    o.nodes = 0;
    rejects(o, "nodes");
    o = {};
    o.loss = 1.0;
    rejects(o, "loss");
    o = {};
    o.duplicate = -0.1;
    rejects(o, "duplicate");
    o = {};
    o.safety = Duration::zero();
    rejects(o, "phase");
    o = {};
    o.mutations = {"break_everything"};
    rejects(o, "mutation");
    o = {};
    o.channel_idle = Duration::milliseconds(1999);
    rejects(o, "channel idle");
}

TEST(Summary, ListsViolationsWithTheirReplayLines) {
    RunReport clean;
    clean.seed = 1;
    clean.probes = {{"probe_a", 2}};
    clean.buggify = {"burst_loss"};
    RunReport bad;
    bad.seed = 2;
    bad.replay = "herald-sim --scenario=direct --seed=2";
    bad.violations.push_back({"fifo", Time::zero(), "out of order"});
    bad.probes = {{"probe_a", 1}};
    Summary s;
    s.add(clean);
    s.add(bad);
    EXPECT_EQ(s.runs(), 2u);
    EXPECT_EQ(s.failed().size(), 1u);
    EXPECT_EQ(s.probes().at("probe_a").seeds, 2u);
    EXPECT_EQ(s.probes().at("probe_a").hits, 3u);
    EXPECT_EQ(s.buggify().at("burst_loss"), 1u);
    const std::string text = s.text();
    EXPECT_NE(text.find("[fifo] 0.000000 out of order"), std::string::npos) << text;
    EXPECT_NE(text.find("replay: herald-sim --scenario=direct --seed=2"), std::string::npos);
}

TEST(Scenario, OneSeedRunsQuicklyAndReportsWhatHappened) {
    const RunReport r = run_scenario(ScenarioOptions{}, 11);
    EXPECT_EQ(r.seed, 11u);
    EXPECT_EQ(r.scenario, "direct");
    EXPECT_EQ(r.replay, "herald-sim --scenario=direct --seed=11");
    EXPECT_GT(r.stats.operations, 30u);
    EXPECT_GT(r.stats.deliveries, 0u);
    EXPECT_EQ(r.stats.crashes, 1u);
    EXPECT_TRUE(r.trace.empty());  // Only with options.trace.
}

// An engine stuck in a loop: every timer re-arms itself at the same instant.
class LoopingEngine final : public proto::Engine {
public:
    wire::Protocol protocol() const override { return wire::Protocol::order; }
    void on_packet(NodeId, wire::Packet&, Time, proto::Effects&) override {}
    void on_timer(proto::TimerId id, Time now, proto::Effects& out) override {
        out.set_timer(id, now);
    }
    proto::EngineCounters totals() const override { return {}; }
};

class IdleWorkload final : public Workload {
public:
    void on_node_started(SimNode&) override {}
    void on_node_crashed(SimNode&) override {}
    void on_delivered(SimNode&, const Message&) override {}
    void on_completed(SimNode&, const proto::CompleteEffect&) override {}
};

TEST(Scenario, ALoopingEngineSpendsTheEventBudgetAndIsReported) {
    SimOptions options;
    options.nodes = 1;
    options.event_budget = 1000;
    Simulation sim(1, options);
    IdleWorkload workload;
    sim.set_workload(workload);
    const std::size_t slot =
        sim.add_engine([](const proto::EngineContext&) -> std::unique_ptr<proto::Engine> {
            return std::make_unique<LoopingEngine>();
        });
    sim.start_all();
    sim.node(NodeId{1}).command<LoopingEngine>(slot, [&](LoopingEngine&, proto::Effects& out) {
        out.set_timer(proto::TimerId{1}, sim.now());
    });
    EXPECT_FALSE(run_phase(sim, Time::zero() + Duration::seconds(1)));
    EXPECT_EQ(sim.now(), Time::zero());  // Virtual time never moved: the loop was at t=0.
    RunReport report;
    finish_report(sim, ScenarioOptions{}, Duration::seconds(1), report);
    ASSERT_EQ(report.violations.size(), 1u);
    EXPECT_EQ(report.violations[0].checker, "event_budget");
}

}  // namespace
}  // namespace herald::sim

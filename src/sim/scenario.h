// Scenarios: a scenario is data (workload + faults + checkers) run for one seed. This header
// holds the options every scenario understands (they mirror herald-sim's flags), the report
// of one run, the registry of scenarios, and the replay line. Layer: sim.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/time.h"
#include "sim/checkers.h"
#include "sim/simulation.h"

namespace herald::sim {

// Defaults are the configuration of tests/sim/direct_sim_test.cpp, so that a replay line
// needs to name only what differs.
struct ScenarioOptions {
    std::string scenario = "direct";
    std::uint32_t nodes = 3;
    std::uint32_t processes = 6;          // Spread over the nodes round-robin.
    std::uint32_t messages = 5;           // Per process in the safety phase.
    std::uint32_t liveness_messages = 2;  // Per process after the faults heal.
    double loss = 0.2;
    double duplicate = 0.05;
    double reorder = 0.1;
    std::uint32_t partitions = 1;
    std::uint32_t crashes = 1;
    std::uint32_t clogs = 0;  // Times a node's packets are held up (beyond buggify's).
    double wipe = 0.0;        // Probability that a crash also destroys the node's disk.
    Duration safety = Duration::seconds(5);
    Duration liveness_bound = Duration::seconds(15);
    bool buggify = true;
    bool trace = false;
    // Deliberately broken engine behaviour, by name (e.g. "skip_duplicate_check"); see
    // mutation_names(). For proving the checkers work.
    std::vector<std::string> mutations;
    // Direct engines: the first epoch (0 = drawn at random per engine, as in production;
    // epoch_near_wrap crosses the 2^32 wrap within a few channels), and channel_idle (zero =
    // the engine's 30 s). A short channel_idle releases idle channels, so their next messages
    // open new epochs, often; the scenario then shortens peer_timeout and caps network delays
    // to what the engine assumes (docs/direct.md rule 18).
    std::uint32_t epoch_first = 0;
    Duration channel_idle = Duration::zero();
    // Direct engines' channels_max (0 = the engine's default). A few channels per node make
    // receivers refuse new channels (nack queue_full), which releases the sender's: the next
    // message opens a new epoch while replies of the old one may still arrive.
    std::uint32_t channels_max = 0;
    // Group and order scenarios (docs/groups.md G25, docs/ordering.md O37): the members of the
    // last node stop taking their deliveries 100 ms into the safety phase for this long, then
    // drain; members' credit (member_queue_max) is then 4. Zero: no stall.
    Duration stall = Duration::zero();
    // Order scenarios (docs/ordering.md O38): the group's low-level address, "hosts" (the
    // member nodes), "multicast" (an IP multicast group every node hosting a member joins) or
    // "broadcast": first transmissions go there as one order_data.
    std::string address = "hosts";
    // Order scenarios (docs/ordering.md O39): the last node is given each view this long after
    // the others, and then only the newest view made by then, as a group_reset gives it
    // (docs/groups.md G10): views made less than this apart are skipped there. Zero: none.
    Duration view_lag = Duration::zero();
    // Order scenarios (docs/ordering.md O29, O39; issue 16 item 2): the last node is paused
    // (no packet in or out) from 300 ms while a process of node 1 joins and leaves the group,
    // this many views in all, then resumed: it gets the views it missed one at a time, or only
    // the newest (a group_reset) when more than the group server keeps (history_max, 16) were
    // made (docs/groups.md G9, G10). Zero: no pause.
    std::uint32_t pause_views = 0;
    // With pause_views: node 1, whose members coordinate every flush, is paused instead, and the
    // churn process is on the last node (docs/ordering.md O34 (9) (i)).
    bool pause_coordinator = false;
};

// ScenarioOptions::epoch_first for --first-epoch=near-wrap: 16 below 2^32.
inline constexpr std::uint32_t epoch_near_wrap = 0xFFFF'FFF0u;

// Errc::invalid_argument naming the bad option (unknown scenario or mutation, out-of-range
// count or probability).
[[nodiscard]] Status validate(const ScenarioOptions& options);

// The one command line that replays `seed` with `options` (only non-default flags).
[[nodiscard]] std::string replay_line(const ScenarioOptions& options, std::uint64_t seed);

struct RunStats {
    std::uint64_t operations = 0, completed_ok = 0, failed = 0, abandoned = 0;
    std::map<std::string, std::uint64_t> failures;  // errc name -> count
    std::uint64_t deliveries = 0;
    std::uint64_t packets_sent = 0, packets_delivered = 0, packets_lost = 0;
    std::uint64_t packets_partitioned = 0, packets_duplicated = 0;
    std::uint64_t retransmits = 0, duplicates_dropped = 0, malformed_dropped = 0;
    std::uint64_t crashes = 0, events = 0;
    Time virtual_end;
};

struct RunReport {
    std::string scenario;
    std::uint64_t seed = 0;
    std::string replay;  // replay_line(options, seed)
    std::vector<Violation> violations;
    std::vector<std::string> buggify;  // Modes that were on.
    std::map<std::string, std::uint64_t, std::less<>> probes;
    RunStats stats;
    std::uint64_t trace_hash = 0;    // Meaningful only with options.trace.
    std::vector<std::string> trace;  // Lines, only with options.trace.

    [[nodiscard]] bool clean() const { return violations.empty(); }
};

using ScenarioRunner = std::function<RunReport(const ScenarioOptions&, std::uint64_t seed)>;

struct ScenarioInfo {
    std::string_view name;
    std::string_view description;
    ScenarioRunner run;
};

// Every registered scenario, in a stable order.
[[nodiscard]] const std::vector<ScenarioInfo>& scenarios();

// Runs options.scenario for `seed`. Options must have passed validate().
[[nodiscard]] RunReport run_scenario(const ScenarioOptions& options, std::uint64_t seed);

// Names accepted in ScenarioOptions::mutations.
[[nodiscard]] const std::vector<std::string_view>& mutation_names();

// Shared by scenarios: runs events until `until`, or until the run's event budget is spent
// (a looping engine). Returns false when the budget is spent (finish_report reports it).
bool run_phase(Simulation& sim, Time until);

// Shared by scenarios: runs the liveness phase until `done()`, or until every incomplete
// operation is past its due time (history.liveness_start() + bound, or start + bound), or the
// event budget is spent; once done, runs 3 s more so that late duplicates show up. Returns
// whether the workload finished.
bool run_liveness_phase(Simulation& sim, Duration bound, const std::function<bool()>& done);

// Fills the report fields every scenario shares (stats, probes, trace, checkers' verdicts on
// `sim.history()`).
void finish_report(Simulation& sim, const ScenarioOptions& options, Duration bound,
                   RunReport& report);

}  // namespace herald::sim

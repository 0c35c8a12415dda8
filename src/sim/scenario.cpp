// Scenario registry, option checks, replay lines and the shared end of every run.
// Layer: sim.
#include "sim/scenario.h"

#include <algorithm>
#include <charconv>

#include "core/assert.h"
#include "sim/direct_scenario.h"
#include "sim/group_scenario.h"
#include "sim/mailbox_scenario.h"
#include "sim/migrate_scenario.h"
#include "sim/naming_scenario.h"
#include "sim/node_scenario.h"
#include "sim/order_scenario.h"
#include "sim/rpc_scenario.h"

namespace herald::sim {

namespace {

// After the workload is done, time for stragglers (late duplicates, retransmits in flight)
// to show up before the checkers run. Longer than any delay the network model can add.
constexpr Duration drain_time = Duration::seconds(3);

std::string number(double value) {
    char buffer[32];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    return std::string(buffer, end);
}

bool budget_spent(Simulation& sim) {
    return sim.queue().executed() >= sim.options().event_budget;
}

}  // namespace

const std::vector<std::string_view>& mutation_names() {
    static const std::vector<std::string_view> names = {
        "skip_duplicate_check",       "skip_reorder_buffer",
        "never_retransmit",           "complete_before_ack",
        "rpc_ignore_reply_cache",     "rpc_skip_execution_marker",
        "rpc_respond_before_durable", "order_flush_intersection",
        "order_flush_next_view_id",   "order_no_relay",
        "board_cursor_stays",         "board_missed_unreported"};
    return names;
}

const std::vector<ScenarioInfo>& scenarios() {
    static const std::vector<ScenarioInfo> list = with_order_scenarios({
        {"direct",
         "processes on N nodes message each other through the direct engine (all send modes, "
         "all buffering strategies) under loss, duplication, reordering, partitions, clogging "
         "and crash/restart; checks no loss, no duplicates, FIFO, liveness",
         run_direct_scenario},
        {"rpc",
         "clients call a non-idempotent counter service with RR, RRA and RARA, exactly-once with "
         "the durable reply cache, under loss, duplication, reordering, partitions and server "
         "crash/restart; checks the counter equals the successful calls, no request runs twice",
         run_rpc_scenario},
        {"rpc_at_least_once",
         "as rpc, with at-least-once semantics: successful calls are committed, re-runs are "
         "counted (probe rpc_reruns)",
         run_rpc_scenario},
        {"rpc_volatile",
         "as rpc, exactly-once with the reply cache in memory (durable = false): across server "
         "crashes a call may run again (counted as rpc_reruns); checks no call runs twice in one "
         "server incarnation and every success committed",
         run_rpc_scenario},
        {"node",
         "what a real node hosts: the direct and RPC engines together on every node, processes "
         "messaging each other while clients call the exactly-once counter, under loss, "
         "duplication, reordering, partitions, clogging and crash/restart of any node; checks "
         "both scenarios' properties",
         run_node_scenario},
        {"mailbox",
         "senders put payloads into a persistent and a transient mailbox on node 1, competing "
         "receivers take and acknowledge them, under loss, duplication, reordering, partitions "
         "and crash/restart of the host (disk kept); checks accepted persistent messages are "
         "acknowledged once or still stored, no unmarked redelivery, no transient duplicate",
         run_mailbox_scenario},
        {"naming",
         "the name server on node 1; clients race to register, renew, look up and unregister a "
         "small pool of names with short leases under loss, duplication, reordering, partitions "
         "and crash/restart (disks survive); checks one owner per name, no lost registration, "
         "lease expiry, liveness after heal",
         run_naming_scenario},
        {"migrate",
         "a mobile receiver migrates between nodes (chains, back home, to down nodes) while a "
         "sender on every node streams to it, under loss, duplication, reordering, partitions "
         "and crashes of nodes not hosting it; checks no loss, no duplicates, FIFO across "
         "migration, the state blob, liveness after heal",
         run_migrate_scenario},
        {"group",
         "members on every node join an open and a closed group on node 1's group server, leave "
         "and rejoin, and multicast with reliability 0, 1, 2 and all; an outsider sends to both; "
         "under loss, duplication, reordering, partitions and crash/restart of any node (disk "
         "kept); checks view agreement and order, no delivery to non-members, reliability-k "
         "completions backed by k deliveries, views converging after the heal",
         run_group_scenario},
    });
    return list;
}

Status validate(const ScenarioOptions& o) {
    const auto& list = scenarios();
    if (std::none_of(list.begin(), list.end(),
                     [&](const ScenarioInfo& s) { return s.name == o.scenario; })) {
        return fail(Errc::invalid_argument, "unknown scenario '" + o.scenario + "'");
    }
    if (o.nodes < 1 || o.nodes > 64) return fail(Errc::invalid_argument, "nodes must be 1..64");
    if (o.processes < 1 || o.processes > 4096) {
        return fail(Errc::invalid_argument, "processes must be 1..4096");
    }
    if (o.messages > 100'000 || o.liveness_messages > 100'000) {
        return fail(Errc::invalid_argument, "messages must be at most 100000 per process");
    }
    for (const auto& [name, p] : {std::pair{"loss", o.loss}, std::pair{"duplicate", o.duplicate},
                                  std::pair{"reorder", o.reorder}, std::pair{"wipe", o.wipe}}) {
        if (!(p >= 0.0 && p <= 1.0)) {
            return fail(Errc::invalid_argument, std::string(name) + " must be in [0, 1]");
        }
    }
    if (o.loss >= 1.0) return fail(Errc::invalid_argument, "loss must be below 1");
    if (o.partitions > 1000 || o.crashes > 1000 || o.clogs > 1000) {
        return fail(Errc::invalid_argument, "partitions, crashes and clogs must be at most 1000");
    }
    if (o.safety < Duration::milliseconds(1) || o.liveness_bound < Duration::milliseconds(1)) {
        return fail(Errc::invalid_argument, "phase lengths must be at least 1 ms");
    }
    if (o.stall != Duration::zero() && o.stall + Duration::milliseconds(100) >= o.safety) {
        return fail(Errc::invalid_argument, "the stall must end within the safety phase");
    }
    if (o.address != "hosts" && o.address != "multicast" && o.address != "broadcast") {
        return fail(Errc::invalid_argument, "address must be hosts, multicast or broadcast");
    }
    if (o.view_lag < Duration::zero() || o.view_lag > Duration::seconds(60)) {
        return fail(Errc::invalid_argument, "the view lag must be 0..60000 ms");
    }
    if (o.channel_idle != Duration::zero() && o.channel_idle < Duration::seconds(2)) {
        return fail(Errc::invalid_argument, "channel idle time must be at least 2000 ms");
    }
    for (const auto& m : o.mutations) {
        const auto& names = mutation_names();
        if (std::find(names.begin(), names.end(), m) == names.end()) {
            return fail(Errc::invalid_argument, "unknown mutation '" + m + "'");
        }
    }
    return {};
}

std::string replay_line(const ScenarioOptions& o, std::uint64_t seed) {
    const ScenarioOptions d;
    std::string line = "herald-sim --scenario=" + o.scenario + " --seed=" + std::to_string(seed);
    auto count = [&](const char* flag, std::uint64_t value, std::uint64_t fallback) {
        if (value != fallback) line += std::string(" --") + flag + "=" + std::to_string(value);
    };
    auto rate = [&](const char* flag, double value, double fallback) {
        if (value != fallback) line += std::string(" --") + flag + "=" + number(value);
    };
    count("nodes", o.nodes, d.nodes);
    count("processes", o.processes, d.processes);
    count("messages", o.messages, d.messages);
    count("liveness-messages", o.liveness_messages, d.liveness_messages);
    rate("loss", o.loss, d.loss);
    rate("duplicate", o.duplicate, d.duplicate);
    rate("reorder", o.reorder, d.reorder);
    count("partition", o.partitions, d.partitions);
    count("crash", o.crashes, d.crashes);
    count("clog", o.clogs, d.clogs);
    rate("wipe", o.wipe, d.wipe);
    count("safety-ms", static_cast<std::uint64_t>(o.safety.ms()),
          static_cast<std::uint64_t>(d.safety.ms()));
    count("liveness-bound-ms", static_cast<std::uint64_t>(o.liveness_bound.ms()),
          static_cast<std::uint64_t>(d.liveness_bound.ms()));
    if (!o.buggify) line += " --no-buggify";
    for (const auto& m : o.mutations) line += " --mutate=" + m;
    if (o.epoch_first == epoch_near_wrap) {
        line += " --first-epoch=near-wrap";
    } else {
        count("first-epoch", o.epoch_first, d.epoch_first);
    }
    count("channel-idle-ms", static_cast<std::uint64_t>(o.channel_idle.ms()),
          static_cast<std::uint64_t>(d.channel_idle.ms()));
    count("channels-max", o.channels_max, d.channels_max);
    count("stall-ms", static_cast<std::uint64_t>(o.stall.ms()),
          static_cast<std::uint64_t>(d.stall.ms()));
    if (o.address != d.address) line += " --address=" + o.address;
    count("view-lag-ms", static_cast<std::uint64_t>(o.view_lag.ms()),
          static_cast<std::uint64_t>(d.view_lag.ms()));
    count("pause-views", o.pause_views, d.pause_views);
    if (o.pause_coordinator) line += " --pause-coordinator";
    return line;
}

RunReport run_scenario(const ScenarioOptions& options, std::uint64_t seed) {
    for (const auto& s : scenarios()) {
        if (s.name == options.scenario) {
            RunReport report = s.run(options, seed);
            report.scenario = options.scenario;
            report.seed = seed;
            report.replay = replay_line(options, seed);
            return report;
        }
    }
    HERALD_ASSERT(false);  // validate() rejects unknown scenarios.
    return {};
}

bool run_phase(Simulation& sim, Time until) {
    sim.queue().run_until(until, [&] { return budget_spent(sim); });
    return !budget_spent(sim);
}

bool run_liveness_phase(Simulation& sim, Duration bound, const std::function<bool()>& done) {
    const auto stop = [&] { return budget_spent(sim) || done(); };
    while (!stop()) {
        // Run to the latest due time of the incomplete operations: each either completes on
        // time or is overdue by then. New operations start only after completions, so this
        // ends once nothing completes any more.
        Time due = sim.history().liveness_start() + bound;
        for (const auto& op : sim.history().operations()) {
            if (op.completed || op.abandoned) continue;
            due = std::max(due, std::max(op.started, sim.history().liveness_start()) + bound);
        }
        if (sim.now() >= due) break;
        sim.queue().run_until(due, stop);
    }
    if (!done()) return false;
    run_phase(sim, sim.now() + drain_time);
    return true;
}

void finish_report(Simulation& sim, const ScenarioOptions& options, Duration bound,
                   RunReport& report) {
    History& history = sim.history();
    report.violations = check_all(history, bound, sim.now());
    if (budget_spent(sim)) {
        report.violations.push_back(
            {"event_budget", sim.now(),
             "the run executed " + std::to_string(sim.options().event_budget) +
                 " events without finishing: an engine is looping (timers or packets)"});
    }
    RunStats& s = report.stats;
    for (const auto& op : history.operations()) {
        ++s.operations;
        if (op.abandoned) {
            ++s.abandoned;
        } else if (op.completed && op.outcome == Errc::ok) {
            ++s.completed_ok;
        } else if (op.completed) {
            ++s.failed;
            ++s.failures[std::string(errc_name(op.outcome))];
        }
    }
    s.deliveries = history.deliveries().size();
    s.crashes = history.crashes().size();
    const auto& net = sim.network().counters();
    s.packets_sent = net.sent;
    s.packets_lost = net.lost;
    s.packets_partitioned = net.partitioned;
    s.packets_duplicated = net.duplicated;
    s.packets_delivered = sim.packets_delivered();
    const EngineStats engines = sim.engine_stats();
    s.retransmits = engines.retransmits;
    s.duplicates_dropped = engines.duplicates_dropped;
    s.malformed_dropped = engines.malformed_dropped;
    if (s.malformed_dropped > 0) {
        // The simulated network never corrupts, and stragglers count as duplicates: an engine
        // that finds a packet malformed was sent one by an engine (or misreads a good one).
        report.violations.push_back({"malformed", sim.now(),
                                     std::to_string(s.malformed_dropped) +
                                         " packets dropped as malformed on a network that "
                                         "corrupts nothing"});
    }
    s.events = sim.queue().executed();
    s.virtual_end = sim.now();
    report.probes = sim.trace().probes();
    if (options.trace) {
        report.trace_hash = sim.trace().hash();
        report.trace = sim.trace().lines();
    }
}

}  // namespace herald::sim

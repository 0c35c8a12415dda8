// herald-sim: run a simulator scenario for one seed or a range of seeds, print a summary and
// every violation with the command line that replays it. Layer: apps.
// Exit codes: 0 no violation, 1 violations found, 2 usage error.
#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "sim/scenario.h"
#include "sim/summary.h"

namespace {

using herald::Duration;
using herald::sim::RunReport;
using herald::sim::ScenarioOptions;
using herald::sim::Summary;

constexpr int exit_clean = 0;
constexpr int exit_violations = 1;
constexpr int exit_usage = 2;

constexpr const char* examples = R"(Examples:
  herald-sim --scenario=direct --seed=42             one seed (trace printed if it fails)
  herald-sim --scenario=direct --seeds=1..1000       a range: summary and replay lines
  herald-sim --scenario=direct --seed=42 --trace     the full event trace of one run
  herald-sim --seeds=1..200 --loss=0.4 --crash=3     harsher faults
  herald-sim --seeds=1..50 --mutate=skip_duplicate_check   a deliberately broken engine
  herald-sim --seeds=1..500 --first-epoch=near-wrap --channel-idle-ms=2000 --duplicate=0.3
             --reorder=0.4                       epochs that change often and cross 2^32
  herald-sim --list                                  the scenarios
A failing seed prints the one line that replays it, e.g.
  herald-sim --scenario=direct --seed=17 --loss=0.4
Exit status: 0 no violation, 1 violations found, 2 usage error. See docs/simulation.md.
)";

struct Cli {
    ScenarioOptions options;
    std::uint64_t seed = 1;
    std::string seeds;
    bool json = false;
    bool list = false;
    std::int64_t safety_ms = 5000;
    std::int64_t liveness_bound_ms = 15000;
    bool no_buggify = false;
    std::string first_epoch = "random";
    std::int64_t channel_idle_ms = 0;
    std::int64_t stall_ms = 0;
    std::int64_t view_lag_ms = 0;
};

// "random" (0), "near-wrap" or a number in 1..2^32-1.
bool parse_epoch(const std::string& text, std::uint32_t& out) {
    if (text == "random") return (out = 0, true);
    if (text == "near-wrap") return (out = herald::sim::epoch_near_wrap, true);
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size() && out != 0;
}

// "A..B" (inclusive), A <= B.
bool parse_range(std::string_view text, std::uint64_t& first, std::uint64_t& last) {
    const auto dots = text.find("..");
    if (dots == std::string_view::npos) return false;
    const auto parse = [](std::string_view part, std::uint64_t& out) {
        auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), out);
        return ec == std::errc() && end == part.data() + part.size() && !part.empty();
    };
    return parse(text.substr(0, dots), first) && parse(text.substr(dots + 2), last) &&
           first <= last;
}

// The order scenarios' own options.
void add_order_options(CLI::App& app, Cli& cli) {
    ScenarioOptions& o = cli.options;
    app.add_option("--address", o.address,
                   "Order scenarios: the group's address, hosts, multicast (an IP multicast "
                   "group the member nodes join) or broadcast; first transmissions go there")
        ->check(CLI::IsMember({"hosts", "multicast", "broadcast"}))
        ->capture_default_str();
    app.add_option("--view-lag-ms", cli.view_lag_ms,
                   "Order scenarios: the last node gets each view this long after the others, "
                   "and then only the newest view made by then, skipping the ones between "
                   "(as a group_reset; 0 = none)")
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{60'000}))
        ->capture_default_str();
    app.add_option("--pause-views", o.pause_views,
                   "Order scenarios: the last node is paused (no packets) from 300 ms while a "
                   "process of node 1 joins and leaves the group, this many views; then it gets "
                   "them as the group server sends them, with a group_reset past 16 (0 = none)")
        ->check(CLI::Range(std::uint32_t{0}, std::uint32_t{200}))
        ->capture_default_str();
    app.add_flag("--pause-coordinator", o.pause_coordinator,
                 "With --pause-views: pause node 1, whose members coordinate every flush, and "
                 "churn from the last node");
}

void add_options(CLI::App& app, Cli& cli) {
    ScenarioOptions& o = cli.options;
    app.add_option("--scenario", o.scenario, "Scenario to run (see --list)")->capture_default_str();
    app.add_flag("--list", cli.list, "List the scenarios and exit");
    auto* seed = app.add_option("--seed", cli.seed, "Run one seed")->capture_default_str();
    app.add_option("--seeds", cli.seeds, "Run the seeds A..B (inclusive)")->excludes(seed);
    app.add_option("--nodes", o.nodes, "Simulated nodes")->capture_default_str();
    app.add_option("--processes", o.processes, "Processes, spread over the nodes")
        ->capture_default_str();
    app.add_option("--messages", o.messages, "Messages each process sends with faults on")
        ->capture_default_str();
    app.add_option("--liveness-messages", o.liveness_messages,
                   "Messages each process sends after the faults heal")
        ->capture_default_str();
    app.add_option("--loss", o.loss, "Probability a packet is lost")->capture_default_str();
    app.add_option("--duplicate", o.duplicate, "Probability a packet is duplicated")
        ->capture_default_str();
    app.add_option("--reorder", o.reorder, "Probability a packet is delayed past later ones")
        ->capture_default_str();
    app.add_option("--partition", o.partitions, "Partitions during the safety phase")
        ->capture_default_str();
    app.add_option("--crash", o.crashes, "Node crashes (each restarts) during the safety phase")
        ->capture_default_str();
    app.add_option("--clog", o.clogs, "Times a node's packets are held up for a while")
        ->capture_default_str();
    app.add_option("--wipe", o.wipe, "Probability a crash also destroys the node's disk")
        ->capture_default_str();
    app.add_option("--safety-ms", cli.safety_ms, "Length of the safety (faulty) phase")
        ->capture_default_str();
    app.add_option("--liveness-bound-ms", cli.liveness_bound_ms,
                   "Time within which everything must complete once faults stop")
        ->capture_default_str();
    app.add_flag("--no-buggify", cli.no_buggify, "Never switch on the harsher buggify modes");
    app.add_option("--first-epoch", cli.first_epoch,
                   "Direct engines' first epoch: random, near-wrap (16 below 2^32) or a number")
        ->capture_default_str();
    app.add_option("--channel-idle-ms", cli.channel_idle_ms,
                   "Direct engines release channels idle this long (0 = 30 s); short values "
                   "change epochs often")
        ->capture_default_str();
    app.add_option("--stall-ms", cli.stall_ms,
                   "Group and order scenarios: the last node's members take no delivery for "
                   "this long from 100 ms on, then drain (their credit is 4; 0 = no stall)")
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{3'600'000}))
        ->capture_default_str();
    add_order_options(app, cli);
    app.add_option("--channels-max", o.channels_max,
                   "Direct engines' live channels per node (0 = 100000); few make receivers "
                   "refuse channels, and senders open new epochs")
        ->capture_default_str();
    std::string mutations;
    for (const auto name : herald::sim::mutation_names()) {
        mutations += (mutations.empty() ? "" : ", ") + std::string(name);
    }
    app.add_option(
        "--mutate", o.mutations,
        "Break the engine on purpose, to see a checker catch it; repeatable. One of: " + mutations);
    app.add_flag("--trace", o.trace, "Print the event trace of every run");
    app.add_flag("--json", cli.json, "Print the summary as JSON");
}

nlohmann::json to_json(const Summary& s, const std::string& scenario, std::uint64_t first,
                       std::uint64_t last) {
    const auto& t = s.totals();
    nlohmann::json j;
    j["scenario"] = scenario;
    j["seeds"] = {first, last};
    j["runs"] = s.runs();
    j["failed_runs"] = s.failed().size();
    j["stats"] = {{"operations", t.operations},
                  {"completed_ok", t.completed_ok},
                  {"failed", t.failed},
                  {"failures", t.failures},
                  {"abandoned", t.abandoned},
                  {"deliveries", t.deliveries},
                  {"packets_sent", t.packets_sent},
                  {"packets_delivered", t.packets_delivered},
                  {"packets_lost", t.packets_lost},
                  {"packets_partitioned", t.packets_partitioned},
                  {"packets_duplicated", t.packets_duplicated},
                  {"retransmits", t.retransmits},
                  {"duplicates_dropped", t.duplicates_dropped},
                  {"crashes", t.crashes},
                  {"events", t.events},
                  {"virtual_time_ns", s.virtual_time().ns()}};
    j["buggify"] = s.buggify();
    j["probes"] = nlohmann::json::object();
    for (const auto& [name, p] : s.probes())
        j["probes"][name] = {{"seeds", p.seeds}, {"hits", p.hits}};
    j["violations"] = nlohmann::json::array();
    for (const auto& f : s.failed()) {
        for (const auto& v : f.violations) {
            j["violations"].push_back({{"seed", f.seed},
                                       {"checker", v.checker},
                                       {"at_ns", v.at.ns()},
                                       {"description", v.description},
                                       {"replay", f.replay}});
        }
    }
    return j;
}

void print_trace(const RunReport& report) {
    std::printf("trace of seed %llu (hash %016llx):\n",
                static_cast<unsigned long long>(report.seed),
                static_cast<unsigned long long>(report.trace_hash));
    for (const auto& line : report.trace) std::printf("%s\n", line.c_str());
}

int run(Cli& cli) {
    ScenarioOptions& o = cli.options;
    o.buggify = !cli.no_buggify;
    o.safety = Duration::milliseconds(cli.safety_ms);
    o.liveness_bound = Duration::milliseconds(cli.liveness_bound_ms);
    o.channel_idle = Duration::milliseconds(cli.channel_idle_ms);
    o.stall = Duration::milliseconds(cli.stall_ms);
    o.view_lag = Duration::milliseconds(cli.view_lag_ms);
    if (!parse_epoch(cli.first_epoch, o.epoch_first)) {
        std::fprintf(stderr, "herald-sim: --first-epoch must be random, near-wrap or 1..%u\n",
                     0xFFFF'FFFFu);
        return exit_usage;
    }
    std::uint64_t first = cli.seed, last = cli.seed;
    if (!cli.seeds.empty() && !parse_range(cli.seeds, first, last)) {
        std::fprintf(stderr, "herald-sim: --seeds must be A..B with A <= B, got '%s'\n",
                     cli.seeds.c_str());
        return exit_usage;
    }
    if (auto valid = herald::sim::validate(o); !valid) {
        std::fprintf(stderr, "herald-sim: %s\n", valid.error().to_string().c_str());
        return exit_usage;
    }
    Summary summary;
    for (std::uint64_t seed = first;; ++seed) {
        const RunReport report = herald::sim::run_scenario(o, seed);
        if (o.trace && !cli.json) print_trace(report);
        summary.add(report);
        if (seed == last) break;
    }
    if (cli.json) {
        std::printf("%s\n", to_json(summary, o.scenario, first, last).dump(2).c_str());
    } else {
        std::printf("scenario %s, seeds %llu..%llu: %s", o.scenario.c_str(),
                    static_cast<unsigned long long>(first), static_cast<unsigned long long>(last),
                    summary.text().c_str());
        // A single failing seed: replay it with the trace on, so the output explains itself.
        if (first == last && !summary.failed().empty() && !o.trace) {
            ScenarioOptions traced = o;
            traced.trace = true;
            print_trace(herald::sim::run_scenario(traced, first));
        }
    }
    return summary.failed().empty() ? exit_clean : exit_violations;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "herald-sim: runs Herald's protocol engines on simulated nodes in virtual time with a "
        "seeded network (loss, duplication, reordering, partitions, clogging, crashes), then "
        "checks no loss, no duplicates, FIFO order and liveness. A run is fully determined by "
        "its options and seed."};
    app.footer(examples);
    Cli cli;
    add_options(app, cli);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return exit_usage;
    }
    if (cli.list) {
        for (const auto& s : herald::sim::scenarios()) {
            std::printf("%.*s\n    %.*s\n", static_cast<int>(s.name.size()), s.name.data(),
                        static_cast<int>(s.description.size()), s.description.data());
        }
        return exit_clean;
    }
    return run(cli);
}

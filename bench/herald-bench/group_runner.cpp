// One run of one system of a group row (see group_runner.h). Layer: bench (driver).
#include "bench/herald-bench/group_runner.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <optional>

#include "bench/common/mcast.h"
#include "bench/common/meter.h"
#include "bench/herald-bench/testbed.h"
#include "core/result.h"  // HERALD_TRY

namespace herald::bench {
namespace {

// Start-up covers a Corosync cluster still forming its first membership.
constexpr std::int64_t ready_timeout_ms = 40'000;
constexpr std::int64_t stop_timeout_ms = 5'000;
constexpr std::int64_t result_slack_ms = 5'000;  // Beyond the peers' own drain deadline.

std::int64_t deadline_in(std::int64_t ms) {
    return now_ns() + ms * 1'000'000;
}

double field(const Fields& fields, std::string_view key) {
    for (const auto& [k, v] : fields) {
        double value = 0;
        if (k == key && std::from_chars(v.data(), v.data() + v.size(), value).ec == std::errc{}) {
            return value;
        }
    }
    return -1;
}

struct Members {
    std::vector<Child> children;
    std::vector<std::string> endpoints;
};

Result<Child> spawn_member(const std::string& binary, PeerArgs args, std::uint32_t rank,
                           const std::string& dir, const Testbed* testbed) {
    args.rank = rank;
    args.dir = dir;
    args.host = testbed != nullptr ? testbed->address(rank) : "127.0.0.1";
    std::vector<std::string> argv;
    if (testbed != nullptr) argv = testbed->exec_prefix(rank);
    argv.push_back(binary);
    for (auto& word : to_command_line(args)) argv.push_back(std::move(word));
    std::vector<std::string> rest(argv.begin() + 1, argv.end());
    return Child::spawn(argv[0], rest, dir + "/member-" + std::to_string(rank) + ".stderr");
}

// Rank 0 first, ready (its node is the group server and the group exists), then the others
// with its endpoint; every member's endpoint, by rank.
Status start_members(const std::string& binary, const SystemRun& run, const std::string& dir,
                     const Testbed* testbed, Members& members) {
    PeerArgs args = run.server;
    for (std::uint32_t rank = 0; rank < args.members; ++rank) {
        HERALD_TRY(auto child, spawn_member(binary, args, rank, dir, testbed));
        members.children.push_back(std::move(child));
        if (rank == 0 && run.key != "cpg") {
            HERALD_TRY(auto endpoint,
                       members.children[0].read_line("ready ", deadline_in(ready_timeout_ms)));
            members.endpoints.push_back(endpoint);
            args.endpoint = endpoint;
        }
    }
    for (std::size_t rank = members.endpoints.size(); rank < members.children.size(); ++rank) {
        HERALD_TRY(auto endpoint,
                   members.children[rank].read_line("ready ", deadline_in(ready_timeout_ms)));
        members.endpoints.push_back(endpoint);
    }
    return {};
}

Result<std::vector<Fields>> drive(Members& members, const PeerArgs& args) {
    std::string peers = "peers";
    for (const auto& endpoint : members.endpoints) peers += " " + endpoint;
    for (auto& child : members.children) HERALD_TRY(child.write_line(peers));
    // One join at a time, in rank order: each a view change of its own, as members that
    // start one after another would make them.
    for (auto& child : members.children) {
        HERALD_TRY(child.write_line("join"));
        HERALD_TRY(child.read_line("member", deadline_in(ready_timeout_ms)));
    }
    for (auto& child : members.children) {
        HERALD_TRY(child.read_line("joined", deadline_in(ready_timeout_ms)));
    }
    for (auto& child : members.children) HERALD_TRY(child.write_line("go"));
    const std::int64_t deadline =
        deadline_in(args.warmup_ms + args.duration_ms + group_drain_timeout_ms + result_slack_ms);
    std::vector<Fields> results;
    for (auto& child : members.children) {
        HERALD_TRY(auto text, child.read_line("result ", deadline));
        HERALD_TRY(auto fields, parse_result(text));
        results.push_back(std::move(fields));
    }
    return results;
}

Result<Figures> throughput_figures(const std::vector<Fields>& results) {
    double slowest = -1, lost = 0, out_of_order = 0, pushed_back = 0, delivered = 0;
    for (std::size_t rank = 0; rank < results.size(); ++rank) {
        const Fields& r = results[rank];
        if (field(r, "ends") != field(r, "senders")) {
            return fail(Errc::timeout,
                        "incomplete: member " + std::to_string(rank) + " got " + format_result(r));
        }
        const double elapsed = field(r, "elapsed_ns"), msgs = field(r, "msgs");
        if (elapsed <= 0 || msgs <= 0) return fail(Errc::malformed, "nothing measured");
        const double rate = msgs * 1e9 / elapsed;
        slowest = slowest < 0 ? rate : std::min(slowest, rate);
        lost = std::max(lost, field(r, "lost"));
        out_of_order = std::max(out_of_order, field(r, "out_of_order"));
        pushed_back += std::max(0.0, field(r, "pushed_back"));  // Herald only.
        delivered += std::max(0.0, field(r, "delivered"));      // All members, warm-up too.
    }
    return Figures{{"msgs_per_s", slowest},
                   {"lost", lost},
                   {"out_of_order", out_of_order},
                   {"pushed_back", pushed_back},
                   {"delivered", delivered}};
}

Result<Figures> latency_figures(const std::vector<Fields>& results, const std::string& dir) {
    std::vector<std::int64_t> all;
    double lost = 0;
    for (std::uint32_t rank = 0; rank < results.size(); ++rank) {
        if (field(results[rank], "ends") != 1) {
            return fail(Errc::timeout, "incomplete: member " + std::to_string(rank) + " got " +
                                           format_result(results[rank]));
        }
        lost = std::max(lost, field(results[rank], "lost"));
        HERALD_TRY(auto samples, read_samples(samples_path(dir, rank)));
        all.insert(all.end(), samples.begin(), samples.end());
    }
    if (all.empty()) return fail(Errc::malformed, "no latency samples");
    std::sort(all.begin(), all.end());
    return Figures{{"p50_us", static_cast<double>(percentile(all, 0.50)) / 1e3},
                   {"p99_us", static_cast<double>(percentile(all, 0.99)) / 1e3},
                   {"samples", static_cast<double>(all.size())},
                   {"lost", lost}};
}

Result<Figures> run_members(const std::string& binary, const Cell& cell, const SystemRun& run,
                            const std::string& dir, const Testbed* testbed) {
    Members members;
    auto results = [&]() -> Result<std::vector<Fields>> {
        HERALD_TRY(start_members(binary, run, dir, testbed, members));
        return drive(members, run.server);
    }();
    // Every member lingers until its stdin closes: stop them all together.
    for (auto& child : members.children) child.close_stdin();
    const std::int64_t deadline = deadline_in(stop_timeout_ms);
    for (auto& child : members.children) child.stop(deadline, false);
    if (!results) return fail(results.error());
    if (cell.pattern == Pattern::mcast) return throughput_figures(*results);
    return latency_figures(*results, dir);
}

}  // namespace

GroupSite::GroupSite(std::uint32_t members_max) {
    auto testbed = Testbed::create(members_max);
    if (testbed) {
        testbed_ = std::move(*testbed);
    } else {
        testbed_error_ = testbed.error().to_string();
    }
}

std::string GroupSite::skip_reason(const std::string& key) const {
    if (key != "cpg" || testbed_) return {};
    return "no network namespaces (" + testbed_error_ + "): Corosync needs one per daemon";
}

Result<CorosyncCluster*> GroupSite::cluster(std::uint32_t members) {
    if (!testbed_) return fail(Errc::unreachable, skip_reason("cpg"));
    if (cluster_ && cluster_->members() != members) cluster_.reset();
    if (!cluster_) {
        HERALD_TRY(cluster_, CorosyncCluster::start(*testbed_, members));
    }
    if (auto alive = cluster_->check(); !alive) {
        cluster_.reset();  // The next run starts a fresh one.
        return fail(alive.error());
    }
    return cluster_.get();
}

Result<Figures> run_group_system(const std::string& peer_dir, const Cell& cell,
                                 const SystemRun& run, GroupSite& site) {
    const std::string binary = peer_dir + "/" + run.binary;
    if (::access(binary.c_str(), X_OK) != 0) return fail(Errc::not_found, binary);
    if (run.key == "cpg") HERALD_TRY(site.cluster(cell.members));
    HERALD_TRY(auto dir, TempDir::create());
    auto figures = run_members(binary, cell, run, dir.path(), site.testbed());
    if (!figures) {
        Error error = std::move(figures).error();
        for (std::uint32_t rank = 0; rank < cell.members; ++rank) {
            std::string why = last_line(dir.path() + "/member-" + std::to_string(rank) + ".stderr");
            if (!why.empty()) error.detail += "; member " + std::to_string(rank) + ": " + why;
        }
        return fail(std::move(error));
    }
    return figures;
}

}  // namespace herald::bench

// herald-bench: runs Herald and its alternatives (raw sockets, ZeroMQ, NNG) side by side as
// separate client/server processes on one machine, interleaved, and prints one table.
// Layer: bench (driver). Usage: herald-bench --quick|--full [--json FILE] [--filter REGEX]
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "bench/common/peer.h"
#include "bench/herald-bench/group_runner.h"
#include "bench/herald-bench/plan.h"
#include "bench/herald-bench/report.h"
#include "bench/herald-bench/runner.h"
#include "core/result.h"  // HERALD_TRY

namespace herald::bench {
namespace {

constexpr const char* usage =
    "usage: herald-bench --quick|--full [--json FILE] [--filter REGEX] [--list] [--require-cpg]\n"
    "  --quick        3 repeats of 250 ms per system and workload (about two minutes)\n"
    "  --full         5 repeats of 1 s (about ten minutes)\n"
    "  --json FILE    where to write every figure (default bench/results/latest.json)\n"
    "  --filter REGEX run only systems whose name matches, e.g. 'rtt/1B/udp' or '/zmq$'\n"
    "  --list         print the names of the runs and exit\n"
    "  --require-cpg  exit 77 (skipped) when the cpg column cannot run here (no root, no\n"
    "                 network namespaces, no corosync or bench-cpg)\n"
    "  --smoke        one 50 ms run of each (for the build's smoke test; figures mean nothing)\n";

struct Options {
    Mode mode = quick_mode();
    bool mode_given = false;
    bool list = false;
    bool require_cpg = false;
    std::string json = "bench/results/latest.json";
    std::string filter;
};

Result<Options> parse_options(int argc, char** argv) {
    Options options;
    std::vector<std::string_view> args(argv + 1, argv + argc);
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view arg = args[i];
        auto value = [&]() -> Result<std::string> {
            if (i + 1 >= args.size()) {
                return fail(Errc::invalid_argument, std::string(arg) + " needs a value");
            }
            return std::string(args[++i]);
        };
        if (arg == "--quick" || arg == "--full" || arg == "--smoke") {
            options.mode = arg == "--quick"  ? quick_mode()
                           : arg == "--full" ? full_mode()
                                             : smoke_mode();
            options.mode_given = true;
        } else if (arg == "--json") {
            HERALD_TRY(options.json, value());
        } else if (arg == "--filter") {
            HERALD_TRY(options.filter, value());
        } else if (arg == "--list") {
            options.list = true;
        } else if (arg == "--require-cpg") {
            options.require_cpg = true;
        } else {
            return fail(Errc::invalid_argument, "unknown argument '" + std::string(arg) + "'");
        }
    }
    if (!options.mode_given && !options.list) {
        return fail(Errc::invalid_argument, "choose --quick or --full");
    }
    return options;
}

// Keeps the systems whose "cell/key" name matches; drops cells left empty.
Result<std::vector<Cell>> filtered_plan(const Options& options) {
    std::vector<Cell> plan = build_plan(options.mode);
    if (options.filter.empty()) return plan;
    std::regex pattern;
    try {
        pattern = std::regex(options.filter, std::regex::extended);
    } catch (const std::regex_error& e) {
        return fail(Errc::invalid_argument, "--filter: " + std::string(e.what()));
    }
    std::vector<Cell> kept;
    for (Cell& cell : plan) {
        std::erase_if(cell.systems, [&](const SystemRun& run) {
            return !std::regex_search(cell.id() + "/" + run.key, pattern);
        });
        if (!cell.systems.empty()) kept.push_back(std::move(cell));
    }
    return kept;
}

std::string peer_directory() {
    std::error_code ec;
    auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::string(".") : self.parent_path().string();
}

// Runs the cell's systems in turn, repeats times over (A B C A B C ...), so that drift of
// the machine during the cell hits every system alike.
CellResult run_cell(const Cell& cell, const Mode& mode, const std::string& peer_dir,
                    GroupSite* site) {
    CellResult result{cell, {}};
    for (const auto& run : cell.systems) {
        Measurement& m = result.systems[run.key];
        m.key = run.key;
        m.label = run.label;
        m.missing = ::access((peer_dir + "/" + run.binary).c_str(), X_OK) != 0;
        if (site != nullptr) m.skipped = site->skip_reason(run.key);
    }
    for (std::uint32_t repeat = 0; repeat < mode.repeats; ++repeat) {
        for (const auto& run : cell.systems) {
            Measurement& m = result.systems[run.key];
            if (m.missing || !m.skipped.empty()) continue;
            auto figures = site != nullptr ? run_group_system(peer_dir, cell, run, *site)
                                           : run_system(peer_dir, run);
            if (figures) {
                m.repeats.push_back(std::move(*figures));
            } else {
                m.errors.push_back(figures.error().to_string());
            }
        }
    }
    for (auto& [key, m] : result.systems) m.finish();
    return result;
}

// ctest's SKIP_RETURN_CODE for --require-cpg.
constexpr int skipped_exit_code = 77;

// The network namespaces for the group rows, when the plan has any.
std::unique_ptr<GroupSite> group_site(const std::vector<Cell>& plan) {
    std::uint32_t members_max = 0;
    for (const Cell& cell : plan) members_max = std::max(members_max, cell.members);
    if (members_max == 0) return nullptr;
    return std::make_unique<GroupSite>(members_max);
}

// Why the plan's cpg runs cannot run here; "" when they can.
std::string cpg_unavailable(const std::vector<Cell>& plan, const GroupSite* site,
                            const std::string& peer_dir) {
    bool any = false;
    for (const Cell& cell : plan) {
        for (const auto& run : cell.systems) any = any || run.key == "cpg";
    }
    if (!any || site == nullptr) return "the filter selects no cpg run";
    if (auto why = site->skip_reason("cpg"); !why.empty()) return why;
    if (::access((peer_dir + "/bench-cpg").c_str(), X_OK) != 0) {
        return "bench-cpg is not built (pkg-config found no libcpg: Debian libcpg-dev)";
    }
    if (::access("/usr/sbin/corosync", X_OK) != 0) return "no /usr/sbin/corosync (Debian corosync)";
    return {};
}

int run(const Options& options) {
    auto plan = filtered_plan(options);
    if (!plan) {
        std::cerr << "herald-bench: " << plan.error().to_string() << "\n" << usage;
        return 2;
    }
    if (options.list) {
        for (const Cell& cell : *plan) {
            for (const auto& run : cell.systems) std::cout << cell.id() << "/" << run.key << "\n";
        }
        return 0;
    }
    const std::string peer_dir = peer_directory();
    std::unique_ptr<GroupSite> site = group_site(*plan);
    if (options.require_cpg) {
        std::string why = cpg_unavailable(*plan, site.get(), peer_dir);
        if (!why.empty()) {
            std::cerr << "herald-bench: skipped: " << why << "\n";
            return skipped_exit_code;
        }
    }
    std::vector<CellResult> results;
    bool failed = false;
    for (std::size_t i = 0; i < plan->size(); ++i) {
        const Cell& cell = (*plan)[i];
        std::cerr << "[" << i + 1 << "/" << plan->size() << "] " << cell.id() << std::endl;
        results.push_back(
            run_cell(cell, options.mode, peer_dir, cell.members > 0 ? site.get() : nullptr));
        for (const auto& [key, m] : results.back().systems) failed = failed || !m.errors.empty();
    }
    print_table(std::cout, options.mode, describe_machine(), results);
    if (auto written = write_json(options.json, options.mode, describe_machine(), results);
        !written) {
        std::cerr << "herald-bench: " << written.error().to_string() << "\n";
        return 1;
    }
    std::cout << "\nwrote " << options.json << "\n";
    return failed ? 1 : 0;
}

}  // namespace
}  // namespace herald::bench

int main(int argc, char** argv) {
    // Before any thread: a signal removes the group rows' namespaces (testbed.h); a peer that
    // died is an error of the write to it, not the end of the driver.
    herald::bench::clean_up_on_signals();
    std::signal(SIGPIPE, SIG_IGN);
    auto options = herald::bench::parse_options(argc, argv);
    if (!options) {
        std::cerr << "herald-bench: " << options.error().to_string() << "\n"
                  << herald::bench::usage;
        return 2;
    }
    return herald::bench::run(*options);
}

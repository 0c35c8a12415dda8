// Medians, the table and the JSON file of a herald-bench run (see report.h). Layer: bench.
#include "bench/herald-bench/report.h"

#include <fmt/format.h>

#include <algorithm>

namespace herald::bench {
namespace {

struct FigureSpec {
    const char* key;
    const char* name;
};

std::vector<FigureSpec> headline_figures(Pattern pattern) {
    switch (pattern) {
        case Pattern::latency:
            return {{"p50_us", "p50 us"}, {"p99_us", "p99 us"}, {"p999_us", "p99.9 us"}};
        case Pattern::stream:
            return {{"msgs_per_s", "msg/s"}, {"mb_per_s", "MB/s"}};
        case Pattern::window:
            return {{"calls_per_s", "calls/s"}};
        case Pattern::memory:
            return {{"rss_mib", "RSS MiB"}};
        case Pattern::mcast:
            return {{"msgs_per_s", "msg/s"}};
        case Pattern::paced:
            return {{"p50_us", "p50 us"}, {"p99_us", "p99 us"}};
    }
    return {};
}

const double* find(const Measurement* m, const std::string& figure) {
    if (m == nullptr || m->repeats.empty()) return nullptr;
    auto it = m->median.find(figure);
    return it == m->median.end() ? nullptr : &it->second;
}

std::string value_text(const Measurement* m, const std::string& figure) {
    const double* v = find(m, figure);
    if (v == nullptr) return m != nullptr && !m->errors.empty() ? "fail" : "-";
    std::string text;
    if (figure.ends_with("_us")) {
        text = fmt::format("{:.1f}", *v);
    } else if (figure.ends_with("_per_s") && figure != "mb_per_s") {
        text = *v >= 1e6 ? fmt::format("{:.2f}M", *v / 1e6) : fmt::format("{:.0f}k", *v / 1e3);
    } else {
        text = fmt::format("{:.0f}", *v);
    }
    // Lossy streams (UDP has no flow control): the receiver got under 99% of what was sent.
    const double* delivered = find(m, "delivered");
    if (delivered != nullptr && *delivered < 0.99) text += "*";
    // Group rows: some member missed messages it should have received.
    const double* lost = find(m, "lost");
    if (lost != nullptr && *lost > 0) text += "*";
    return text;
}

std::string first_line(const std::string& text) {
    return text.substr(0, text.find('\n'));
}

void print_header(std::ostream& out, const Mode& mode, const Machine& machine) {
    out << fmt::format("herald-bench --{}: {} repeats of {} ms (+{} ms warm-up), median shown\n",
                       mode.name, mode.repeats, mode.duration_ms, mode.warmup_ms);
    out << fmt::format("machine: {}, {} cores, {:.1f} GiB, Linux {}, {} ({})\n\n", machine.cpu,
                       machine.cores, machine.memory_gib, machine.kernel, machine.compiler,
                       machine.build);
}

void print_columns(std::ostream& out) {
    out << fmt::format("{:<14}{:<7}{:<6}{:<10}{:>9}{:>9}{:>10}{:>9}{:>9}  {:>6}{:>7}{:>6}{:>6}\n",
                       "workload", "size", "tp", "figure", "herald", "raw", "raw-mmsg", "zmq",
                       "nng", "/raw", "/mmsg", "/zmq", "/nng");
}

// Herald's rows of one cell: one per Herald system in it, but a single row when Herald is
// not built (the alternatives' figures would only repeat).
std::vector<std::string> herald_keys(const CellResult& result) {
    std::vector<std::string> keys;
    bool any_built = false;
    for (const auto& run : result.cell.systems) {
        if (!run.herald() || !result.systems.contains(run.key)) continue;
        keys.push_back(run.key);
        any_built = any_built || !result.systems.at(run.key).missing;
    }
    if (!any_built && keys.size() > 1) keys.resize(1);
    return keys;
}

void print_cell(std::ostream& out, const CellResult& result) {
    const Cell& cell = result.cell;
    auto measurement = [&](const std::string& key) -> const Measurement* {
        auto it = result.systems.find(key);
        return it == result.systems.end() ? nullptr : &it->second;
    };
    std::vector<std::string> keys = herald_keys(result);
    if (keys.empty()) keys.push_back("herald");  // Filtered out: still show the alternatives.
    for (const auto& key : keys) {
        std::string workload = cell.workload;
        if (key == "herald-rpc" && cell.pattern == Pattern::latency) workload += "-rpc";
        const Measurement* herald = measurement(key);
        for (const auto& figure : headline_figures(cell.pattern)) {
            std::string line =
                fmt::format("{:<14}{:<7}{:<6}{:<10}{:>9}", workload, size_label(cell.size_bytes),
                            cell.transport, figure.name, value_text(herald, figure.key));
            std::string ratios;
            for (const char* alt : alternative_keys) {
                const int width = std::string_view(alt) == "raw-mmsg" ? 10 : 9;
                line += fmt::format("{:>{}}", value_text(measurement(alt), figure.key), width);
                ratios += fmt::format("{:>{}}", ratio_text(herald, measurement(alt), figure.key),
                                      ratios.empty() ? 8 : 6);
            }
            out << line << ratios << "\n";
        }
    }
}

void print_memory(std::ostream& out, const CellResult& result) {
    for (const auto& entry : result.systems) {
        const Measurement& m = entry.second;  // Not a structured binding: the lambda uses it.
        std::string figures = m.missing ? "not built" : m.repeats.empty() ? "fail" : "";
        if (figures.empty()) {
            auto get = [&](const char* name) {
                auto it = m.median.find(name);
                return it == m.median.end() ? 0.0 : it->second;
            };
            figures = fmt::format(
                "RSS {:.1f} MiB ({:.1f} MiB before; {:.0f} B per item, heap {:.0f} B per item)",
                get("rss_mib"), get("rss_base_bytes") / (1024.0 * 1024.0), get("bytes_per_item"),
                get("heap_bytes_per_item"));
        }
        out << fmt::format("  {:<36} {}\n", m.label, figures);
    }
}

// The group rows: Herald's orders beside Corosync CPG, and herald / cpg for each order; then,
// when the cell ran them, the same orders over IP multicast ("<workload>-ipmc", O38) in the
// same columns (blank where that order did not run so).
void print_group_cell(std::ostream& out, const CellResult& result) {
    const Cell& cell = result.cell;
    auto measurement = [&](const std::string& key) -> const Measurement* {
        auto it = result.systems.find(key);
        return it == result.systems.end() ? nullptr : &it->second;
    };
    const bool ipmc = std::any_of(result.systems.begin(), result.systems.end(),
                                  [](const auto& s) { return s.first.ends_with(ipmc_suffix); });
    for (const auto& figure : headline_figures(cell.pattern)) {
        for (const std::string suffix : {"", ipmc_suffix}) {
            if (!suffix.empty() && !ipmc) continue;
            std::string line = fmt::format("{:<15}{:<8}{:<6}{:<8}", cell.workload + suffix,
                                           cell.members, size_label(cell.size_bytes), figure.name);
            std::string ratios;
            for (const char* key : group_keys) {
                const bool cpg = std::string_view(key) == "cpg";
                const Measurement* m = measurement(cpg ? key : key + suffix);
                line +=
                    fmt::format("{:>10}", m == nullptr && !cpg ? "" : value_text(m, figure.key));
                if (cpg) continue;
                ratios += fmt::format(
                    "{:>{}}", m == nullptr ? "" : ratio_text(m, measurement("cpg"), figure.key),
                    ratios.empty() ? 8 : 7);
            }
            out << line << ratios << "\n";
        }
    }
}

void print_group_table(std::ostream& out, const std::vector<CellResult>& results) {
    bool any = false;
    for (const auto& result : results) any = any || result.cell.members > 0;
    if (!any) return;
    out << fmt::format("\n{:<15}{:<8}{:<6}{:<8}", "workload", "members", "size", "figure");
    for (const char* key : group_keys) out << fmt::format("{:>10}", key);
    out << fmt::format("{:>8}{:>7}{:>7}{:>7}{:>7}\n", "/fifo", "/seq", "/abc", "/cbc", "/abs");
    for (const auto& result : results) {
        if (result.cell.members > 0) print_group_cell(out, result);
    }
    out << "\nGroup rows: herald ordered multicast per order beside corosync cpg (agreed order); "
           "ratios are\nherald order / cpg. mcast: every member sends (herald: up to 16 per "
           "ordered_multicast_many\ncall; cpg: cpg_mcast_joined per message), msg/s delivered at "
           "the slowest member\n(higher is better; targets: total order >= 4 x cpg, fifo >= 2 x "
           "cpg at 3 members).\nmcast-lat: one sender at a fixed rate, delivery - send time at "
           "every member (lower is\nbetter; target: total order p50 <= 0.5 x cpg). * = some "
           "member lost messages.\n<workload>-ipmc: the same orders with the group on an IP "
           "multicast address\n(first transmissions one datagram for every member node, "
           "docs/ordering.md O38);\nthe rows above it use the host list (one datagram per member "
           "node).\n";
}

void print_problems(std::ostream& out, const std::vector<CellResult>& results) {
    bool missing = false;
    std::vector<std::string> skips;
    for (const auto& result : results) {
        for (const auto& [key, m] : result.systems) {
            missing = missing || m.missing;
            const std::string skip = key + ": " + m.skipped;
            if (!m.skipped.empty() && std::find(skips.begin(), skips.end(), skip) == skips.end()) {
                skips.push_back(skip);
            }
            for (const auto& error : m.errors) {
                out << fmt::format("failed: {}/{}: {}\n", result.cell.id(), key, first_line(error));
            }
        }
    }
    if (missing) out << "'-' in a column: that peer is not built (see docs/performance.md).\n";
    for (const auto& skip : skips) out << "skipped: " << skip << "\n";
}

}  // namespace

void Measurement::finish() {
    std::map<std::string, std::vector<double>> by_figure;
    for (const auto& figures : repeats) {
        for (const auto& [name, value] : figures) by_figure[name].push_back(value);
    }
    median.clear();
    for (auto& [name, values] : by_figure) median[name] = bench::median(std::move(values));
}

double median(std::vector<double> values) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    std::size_t mid = values.size() / 2;
    return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

std::string ratio_text(const Measurement* herald, const Measurement* other,
                       const std::string& figure) {
    const double* h = find(herald, figure);
    const double* o = find(other, figure);
    if (h == nullptr || o == nullptr || *o == 0) return "-";
    return fmt::format("{:.2f}", *h / *o);
}

void print_table(std::ostream& out, const Mode& mode, const Machine& machine,
                 const std::vector<CellResult>& results) {
    const bool pairs = std::any_of(results.begin(), results.end(),
                                   [](const CellResult& r) { return r.cell.members == 0; });
    print_header(out, mode, machine);
    if (!pairs) {  // Only group rows: no pair table.
        print_group_table(out, results);
        print_problems(out, results);
        return;
    }
    print_columns(out);
    bool memory = false;
    for (const auto& result : results) {
        if (result.cell.pattern == Pattern::memory) {
            memory = true;
            continue;
        }
        if (result.cell.members == 0) print_cell(out, result);
    }
    out << "\nRatios are herald / alternative. Latency: lower is better (target <= 1.5 x raw). "
           "Throughput:\nhigher is better (target >= 1.0 x zmq). udp rows run zmq and nng over "
           "tcp, unix rows over ipc.\n* = lossy: under 99% of the messages sent arrived (no "
           "flow control).\n";
    if (memory) {
        out << "\nmemory (resident set of the node's process, VmRSS):\n";
        for (const auto& result : results) {
            if (result.cell.pattern == Pattern::memory) print_memory(out, result);
        }
    }
    print_group_table(out, results);
    print_problems(out, results);
}

}  // namespace herald::bench

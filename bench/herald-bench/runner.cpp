// One run of one system as two processes (see runner.h). Layer: bench (driver).
#include "bench/herald-bench/runner.h"

#include <unistd.h>

#include <charconv>
#include <fstream>
#include <optional>

#include "bench/herald-bench/spawn.h"
#include "core/result.h"  // HERALD_TRY

namespace herald::bench {
namespace {

constexpr std::int64_t ready_timeout_ms = 10'000;  // Server start-up (memory fills take long).
constexpr std::int64_t result_slack_ms = 30'000;   // Beyond warm-up and duration.
constexpr std::int64_t stop_timeout_ms = 5'000;
constexpr std::int64_t memory_timeout_ms = 120'000;

std::optional<double> number(const Fields& fields, std::string_view key) {
    for (const auto& [k, v] : fields) {
        if (k != key) continue;
        double value = 0;
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
        if (ec == std::errc{} && end == v.data() + v.size()) return value;
    }
    return std::nullopt;
}

Result<double> require(const Fields& fields, std::string_view key) {
    auto value = number(fields, key);
    if (!value) return fail(Errc::malformed, "result has no number '" + std::string(key) + "'");
    return *value;
}

Result<Figures> stream_figures(const Fields& server, const Fields& client) {
    HERALD_TRY(double msgs, require(server, "msgs"));
    HERALD_TRY(double bytes, require(server, "bytes"));
    HERALD_TRY(double elapsed_ns, require(server, "elapsed_ns"));
    HERALD_TRY(double total, require(server, "total_msgs"));
    HERALD_TRY(double sent, require(client, "sent_msgs"));
    if (elapsed_ns <= 0) return fail(Errc::malformed, "stream: nothing measured");
    return Figures{{"msgs_per_s", msgs * 1e9 / elapsed_ns},
                   {"mb_per_s", bytes * 1e3 / elapsed_ns},
                   {"delivered", sent > 0 ? total / sent : 0}};
}

}  // namespace

Result<Figures> figures_from(Pattern pattern, const Fields& server, const Fields& client) {
    switch (pattern) {
        case Pattern::latency: {
            HERALD_TRY(double p50, require(client, "p50_ns"));
            HERALD_TRY(double p99, require(client, "p99_ns"));
            HERALD_TRY(double p999, require(client, "p999_ns"));
            HERALD_TRY(double mean, require(client, "mean_ns"));
            return Figures{{"p50_us", p50 / 1e3},
                           {"p99_us", p99 / 1e3},
                           {"p999_us", p999 / 1e3},
                           {"mean_us", mean / 1e3}};
        }
        case Pattern::stream:
            return stream_figures(server, client);
        case Pattern::window: {
            HERALD_TRY(double calls, require(client, "calls"));
            HERALD_TRY(double elapsed_ns, require(client, "elapsed_ns"));
            if (elapsed_ns <= 0) return fail(Errc::malformed, "window: nothing measured");
            return Figures{{"calls_per_s", calls * 1e9 / elapsed_ns}};
        }
        case Pattern::memory: {
            Figures out;
            for (const auto& [key, value] : server) {
                if (auto n = number(server, key)) out[key] = *n;
            }
            HERALD_TRY(double rss, require(server, "rss_bytes"));
            out["rss_mib"] = rss / (1024.0 * 1024.0);
            return out;
        }
        case Pattern::mcast:
        case Pattern::paced:
            break;  // Group rows are not pairs: group_runner.h makes their figures.
    }
    return fail(Errc::invalid_argument, "unknown pattern");
}

namespace {

Result<Fields> read_result(Child& child, std::int64_t deadline) {
    HERALD_TRY(auto text, child.read_line("result ", deadline));
    return parse_result(text);
}

// The last line a peer wrote to stderr: why it failed, when it says so.
std::string last_error_line(const std::string& path) {
    std::ifstream in(path);
    std::string last;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) last = line;
    }
    return last;
}

std::vector<std::string> client_args(const SystemRun& run, const std::string& endpoint) {
    PeerArgs args = run.server;
    args.role = Role::client;
    args.endpoint = endpoint;
    args.dir.clear();
    return to_command_line(args);
}

}  // namespace

namespace {

Result<Fields> run_pair(const std::string& binary, const SystemRun& run, const std::string& dir,
                        Fields& client_fields) {
    PeerArgs server_args = run.server;
    server_args.dir = dir;
    const bool memory = server_args.pattern == Pattern::memory;
    HERALD_TRY(auto server,
               Child::spawn(binary, to_command_line(server_args), dir + "/server.stderr"));
    std::int64_t start = now_ns();
    HERALD_TRY(auto endpoint,
               server.read_line(
                   "ready ", start + (memory ? memory_timeout_ms : ready_timeout_ms) * 1'000'000));
    Fields server_fields;
    if (!run.has_client) {
        HERALD_TRY(server_fields, read_result(server, now_ns() + memory_timeout_ms * 1'000'000));
    } else {
        HERALD_TRY(auto client,
                   Child::spawn(binary, client_args(run, endpoint), dir + "/client.stderr"));
        const std::int64_t deadline =
            now_ns() +
            (run.server.warmup_ms + run.server.duration_ms + result_slack_ms) * 1'000'000;
        if (memory) {  // The client only fills the server; the server reports.
            HERALD_TRY(server_fields,
                       read_result(server, now_ns() + memory_timeout_ms * 1'000'000));
        } else {
            HERALD_TRY(client_fields, read_result(client, deadline));
        }
        if (run.server.pattern == Pattern::stream) {
            HERALD_TRY(server_fields, read_result(server, deadline));
        }
        client.close_stdin();
        client.stop(now_ns() + stop_timeout_ms * 1'000'000, false);
    }
    server.close_stdin();
    server.stop(now_ns() + stop_timeout_ms * 1'000'000, true);
    return server_fields;
}

}  // namespace

Result<Figures> run_system(const std::string& peer_dir, const SystemRun& run) {
    const std::string binary = peer_dir + "/" + run.binary;
    if (::access(binary.c_str(), X_OK) != 0) return fail(Errc::not_found, binary);
    HERALD_TRY(auto dir, TempDir::create());
    Fields client_fields;
    auto server_fields = run_pair(binary, run, dir.path(), client_fields);
    if (!server_fields) {
        Error error = std::move(server_fields).error();
        for (const char* side : {"server", "client"}) {
            std::string why = last_error_line(dir.path() + "/" + side + ".stderr");
            if (!why.empty()) error.detail += std::string("; ") + side + ": " + why;
        }
        return fail(std::move(error));
    }
    return figures_from(run.server.pattern, *server_fields, client_fields);
}

}  // namespace herald::bench

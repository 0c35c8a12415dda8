// Peer command line and stdout protocol (see peer.h). Layer: bench.
#include "bench/common/peer.h"

#include <poll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>

#include "core/result.h"  // HERALD_TRY

namespace herald::bench {
namespace {

constexpr std::size_t size_bytes_max = 16u << 20;
constexpr std::uint32_t window_max = 4096;
constexpr std::uint32_t senders_max = 10'000;

constexpr std::uint32_t members_max = 64;      // A Herald group holds at most 64 members.
constexpr std::uint32_t rate_max = 1'000'000;  // Paced sends per second.

constexpr std::array<std::pair<Pattern, std::string_view>, 6> pattern_names{{
    {Pattern::latency, "latency"},
    {Pattern::stream, "stream"},
    {Pattern::window, "window"},
    {Pattern::memory, "memory"},
    {Pattern::mcast, "mcast"},
    {Pattern::paced, "paced"},
}};

Result<Pattern> parse_pattern(std::string_view text) {
    for (const auto& [pattern, name] : pattern_names) {
        if (name == text) return pattern;
    }
    return fail(Errc::invalid_argument, "--pattern: unknown '" + std::string(text) + "'");
}

Status apply_option(PeerArgs& out, std::string_view key, std::string_view value) {
    if (key == "role") {
        if (value != "server" && value != "client") {
            return fail(Errc::invalid_argument, "--role: want server or client");
        }
        out.role = value == "server" ? Role::server : Role::client;
    } else if (key == "pattern") {
        HERALD_TRY(out.pattern, parse_pattern(value));
    } else if (key == "transport") {
        out.transport = value;
    } else if (key == "variant") {
        out.variant = value;
    } else if (key == "size") {
        HERALD_TRY(out.size_bytes, parse_number(key, value, size_bytes_max));
    } else if (key == "window") {
        HERALD_TRY(auto window, parse_number(key, value, window_max));
        if (window == 0) return fail(Errc::invalid_argument, "--window: must be >= 1");
        out.window = static_cast<std::uint32_t>(window);
    } else if (key == "duration-ms" || key == "warmup-ms") {
        HERALD_TRY(auto ms, parse_number(key, value, 3'600'000));
        (key == "duration-ms" ? out.duration_ms : out.warmup_ms) = static_cast<std::int64_t>(ms);
    } else if (key == "senders") {
        HERALD_TRY(auto senders, parse_number(key, value, senders_max));
        if (senders == 0) return fail(Errc::invalid_argument, "--senders: must be >= 1");
        out.senders = static_cast<std::uint32_t>(senders);
    } else if (key == "count") {
        HERALD_TRY(out.count, parse_number(key, value, 100'000'000));
    } else if (key == "endpoint") {
        out.endpoint = value;
    } else if (key == "dir") {
        out.dir = value;
    } else if (key == "members") {
        HERALD_TRY(auto members, parse_number(key, value, members_max));
        out.members = static_cast<std::uint32_t>(members);
    } else if (key == "rank") {
        HERALD_TRY(auto rank, parse_number(key, value, members_max - 1));
        out.rank = static_cast<std::uint32_t>(rank);
    } else if (key == "rate") {
        HERALD_TRY(auto rate, parse_number(key, value, rate_max));
        if (rate == 0) return fail(Errc::invalid_argument, "--rate: must be >= 1");
        out.rate = static_cast<std::uint32_t>(rate);
    } else if (key == "host") {
        out.host = value;
    } else {
        return fail(Errc::invalid_argument, "unknown option --" + std::string(key));
    }
    return {};
}

}  // namespace

Result<std::uint64_t> parse_number(std::string_view key, std::string_view text, std::uint64_t max) {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value > max) {
        return fail(Errc::invalid_argument,
                    "--" + std::string(key) + ": bad number '" + std::string(text) + "'");
    }
    return value;
}

std::string_view pattern_name(Pattern pattern) {
    for (const auto& [p, name] : pattern_names) {
        if (p == pattern) return name;
    }
    return "unknown";
}

Result<PeerArgs> parse_peer_args(std::span<const std::string_view> args) {
    PeerArgs out;
    for (std::size_t i = 0; i < args.size(); i += 2) {
        std::string_view key = args[i];
        if (!key.starts_with("--")) {
            return fail(Errc::invalid_argument,
                        "expected --option, got '" + std::string(key) + "'");
        }
        if (i + 1 >= args.size()) {
            return fail(Errc::invalid_argument, std::string(key) + " needs a value");
        }
        HERALD_TRY(apply_option(out, key.substr(2), args[i + 1]));
    }
    if (out.transport.empty()) return fail(Errc::invalid_argument, "--transport is required");
    const bool group = out.pattern == Pattern::mcast || out.pattern == Pattern::paced;
    if (group && (out.members == 0 || out.rank >= out.members)) {
        return fail(Errc::invalid_argument, "group patterns need --members N and --rank < N");
    }
    if (out.role == Role::client && out.endpoint.empty()) {
        return fail(Errc::invalid_argument, "a client needs --endpoint");
    }
    return out;
}

std::vector<std::string> to_command_line(const PeerArgs& args) {
    std::vector<std::string> out = {
        "--role",        args.role == Role::server ? "server" : "client",
        "--pattern",     std::string(pattern_name(args.pattern)),
        "--transport",   args.transport,
        "--size",        std::to_string(args.size_bytes),
        "--window",      std::to_string(args.window),
        "--duration-ms", std::to_string(args.duration_ms),
        "--warmup-ms",   std::to_string(args.warmup_ms),
        "--count",       std::to_string(args.count),
    };
    auto add = [&](const char* key, const std::string& value) {
        if (value.empty()) return;
        out.emplace_back(key);
        out.push_back(value);
    };
    add("--variant", args.variant);
    if (args.senders != 1) add("--senders", std::to_string(args.senders));
    add("--endpoint", args.endpoint);
    add("--dir", args.dir);
    if (args.members > 0) {
        for (auto [key, value] : {std::pair{"--members", args.members},
                                  std::pair{"--rank", args.rank}, std::pair{"--rate", args.rate}}) {
            out.emplace_back(key);
            out.push_back(std::to_string(value));
        }
        add("--host", args.host);
    }
    return out;
}

void announce_ready(std::string_view endpoint) {
    std::string line = "ready " + std::string(endpoint) + "\n";
    std::fputs(line.c_str(), stdout);
    std::fflush(stdout);
}

std::string format_result(const Fields& fields) {
    std::string line = "result";
    for (const auto& [key, value] : fields) line += " " + key + "=" + value;
    return line;
}

void announce_result(const Fields& fields) {
    std::string line = format_result(fields) + "\n";
    std::fputs(line.c_str(), stdout);
    std::fflush(stdout);
}

Result<Fields> parse_result(std::string_view text) {
    Fields out;
    while (!text.empty()) {
        auto space = text.find(' ');
        std::string_view token = text.substr(0, space);
        text = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
        if (token.empty()) continue;
        auto equals = token.find('=');
        if (equals == std::string_view::npos || equals == 0) {
            return fail(Errc::malformed, "result token '" + std::string(token) + "'");
        }
        out.emplace_back(std::string(token.substr(0, equals)),
                         std::string(token.substr(equals + 1)));
    }
    return out;
}

std::int64_t now_ns() {
    using std::chrono::steady_clock;
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               steady_clock::now().time_since_epoch())
        .count();
}

void linger_until_stdin_closed(std::int64_t timeout_ms) {
    const std::int64_t deadline = now_ns() + timeout_ms * 1'000'000;
    std::array<char, 256> sink{};
    for (std::int64_t left = timeout_ms; left > 0; left = (deadline - now_ns()) / 1'000'000) {
        pollfd fd{STDIN_FILENO, POLLIN, 0};
        int ready = ::poll(&fd, 1, static_cast<int>(left));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) return;
        ssize_t n = ::read(STDIN_FILENO, sink.data(), sink.size());
        if (n == 0 || (n < 0 && errno != EINTR)) return;
    }
}

std::uint64_t resident_bytes() {
    std::FILE* status = std::fopen("/proc/self/status", "r");
    if (status == nullptr) return 0;
    std::array<char, 256> line{};
    unsigned long long kib = 0;
    while (std::fgets(line.data(), static_cast<int>(line.size()), status) != nullptr) {
        if (std::sscanf(line.data(), "VmRSS: %llu kB", &kib) == 1) break;
    }
    std::fclose(status);
    return kib * 1024;
}

void report_failure(std::string_view program, const Error& error) {
    std::string line = std::string(program) + ": " + error.to_string() + "\n";
    std::fputs(line.c_str(), stderr);
}

}  // namespace herald::bench

// `herald call`: RPC calls from the CLI's own node, one line per reply, and a summary with the
// protocol's retransmission counters when there are several. Layer: apps.
#include <fmt/format.h>

#include <map>

#include "call.h"
#include "core/result.h"  // HERALD_TRY

namespace herald::cli {
namespace {

struct Plan {
    Target target;
    CallOptions options;
    Bytes body;
};

Result<RpcProtocol> parse_protocol(std::string_view text) {
    if (text == "rr") return RpcProtocol::rr;
    if (text == "rra") return RpcProtocol::rra;
    if (text == "rara") return RpcProtocol::rara;
    return fail(Errc::invalid_argument,
                fmt::format("bad --protocol '{}' (allowed: rr, rra, rara)", text));
}

Result<RpcSemantics> parse_semantics(std::string_view text) {
    if (text == "exactly-once" || text == "exactly_once") return RpcSemantics::exactly_once;
    if (text == "at-least-once" || text == "at_least_once") return RpcSemantics::at_least_once;
    return fail(Errc::invalid_argument,
                fmt::format("bad --semantics '{}' (allowed: exactly-once, at-least-once)", text));
}

Result<Bytes> make_body(const CallArgs& args) {
    if (!args.has_json) return to_bytes(args.body);
    auto value = nlohmann::json::parse(args.json_value, nullptr, false);
    if (value.is_discarded()) {
        return fail(Errc::invalid_argument,
                    fmt::format("--json '{}' is not a JSON value (strings need quotes: "
                                "--json '\"text\"')",
                                args.json_value));
    }
    return Bytes(nlohmann::json::to_msgpack(value));  // Herald's typed bodies (wire/body.h).
}

// Everything from the command line, checked before any node starts.
Result<Plan> make_plan(const CallArgs& args) {
    Plan plan;
    HERALD_TRY(plan.target, parse_target(args.target));
    if (args.operation.empty() || args.operation.size() > 255) {
        return fail(Errc::invalid_argument, "OPERATION must be 1 to 255 bytes");
    }
    HERALD_TRY(plan.options.protocol, parse_protocol(args.protocol));
    HERALD_TRY(plan.options.semantics, parse_semantics(args.semantics));
    HERALD_TRY(plan.options.timeout, parse_duration(args.timeout));
    HERALD_TRY(auto retransmit, parse_duration(args.retransmit));
    if (retransmit == forever) return fail(Errc::invalid_argument, "--retransmit cannot be 0");
    plan.options.retransmit_timeout = retransmit;
    plan.options.retransmit_max = std::max(plan.options.retransmit_max, retransmit);
    plan.options.retry_limit = args.retries;
    HERALD_TRY(plan.body, make_body(args));
    return plan;
}

struct Tally {
    std::uint32_t ok = 0;
    std::map<std::string, std::uint32_t> failed;
    std::chrono::nanoseconds rtt_min = forever, rtt_max{0}, rtt_sum{0};
    int exit_code = exit_ok;
};

void print_reply(const Output& out, const CallArgs& args, Pid server, std::uint32_t seq,
                 const Bytes& reply, std::chrono::nanoseconds rtt) {
    const RenderedBody body = render_body(reply);
    const std::string mode = args.protocol + " " + args.semantics;
    const std::string number = args.count > 1 ? fmt::format(" #{}", seq) : std::string();
    out.result(fmt::format("reply from {} to {}{} ({}, {}{}): {}", to_string(server),
                           args.operation, number, mode, describe(rtt),
                           body.format == "text" ? "" : ", " + body.format, body.text),
               {{"event", "reply"},
                {"server", to_string(server)},
                {"operation", args.operation},
                {"seq", seq},
                {"protocol", args.protocol},
                {"semantics", args.semantics},
                {"rtt_ms", ms(rtt)},
                {"bytes", reply.size()},
                {"format", body.format},
                {"body", body.value}});
}

void print_summary(const Output& out, const CallArgs& args, const Tally& tally,
                   const RpcStats& stats) {
    std::string failures;
    nlohmann::json failed = nlohmann::json::object();
    for (const auto& [name, count] : tally.failed) {
        failures += fmt::format(" {}={}", name, count);
        failed[name] = count;
    }
    const auto avg = tally.ok > 0 ? tally.rtt_sum / tally.ok : std::chrono::nanoseconds{0};
    out.result(fmt::format("{} calls: {} ok, {} failed{}; rtt min/avg/max {:.3f}/{:.3f}/{:.3f} "
                           "ms; request retransmits {}, probes {}",
                           args.count, tally.ok, args.count - tally.ok, failures,
                           tally.ok > 0 ? ms(tally.rtt_min) : 0.0, ms(avg), ms(tally.rtt_max),
                           stats.request_retransmits, stats.probes),
               {{"event", "call_summary"},
                {"calls", args.count},
                {"ok", tally.ok},
                {"failed", failed},
                {"rtt_ms_min", tally.ok > 0 ? ms(tally.rtt_min) : 0.0},
                {"rtt_ms_avg", ms(avg)},
                {"rtt_ms_max", ms(tally.rtt_max)},
                {"request_retransmits", stats.request_retransmits},
                {"probes", stats.probes}});
}

}  // namespace

int run_call(const Output& out, const CallArgs& args) {
    auto plan = make_plan(args);
    if (!plan) return out.error(plan.error());
    auto client = start_client(plan->target.url, args.listen);
    if (!client) return out.error(client.error());
    Node& node = *(*client)->node;
    auto self = node.spawn();
    if (!self) return out.error(self.error());
    // The first call's --timeout covers finding the target too (docs/cli.md).
    const Deadline first(plan->options.timeout);
    auto server = resolve_target(node, *self, plan->target, first);
    if (!server) {
        Error error = server.error();
        if (error.code == Errc::unreachable || error.code == Errc::timeout) {
            error.detail =
                fmt::format("no answer from {} in {} (is a node listening there?): {}",
                            plan->target.url, describe_waited(first.elapsed()), error.detail);
        }
        return out.error(error);
    }
    Tally tally;
    for (std::uint32_t seq = 1; seq <= args.count; ++seq) {
        CallOptions options = plan->options;
        if (seq == 1) options.timeout = first.remaining();
        const auto start = std::chrono::steady_clock::now();
        auto reply = self->call(*server, args.operation, plan->body, options);
        const auto rtt = std::chrono::steady_clock::now() - start;
        if (!reply) {
            Error error = reply.error();
            error.detail += fmt::format(" (waited {})", describe_waited(rtt));
            tally.exit_code = out.error(error);
            ++tally.failed[std::string(errc_name(reply.error().code))];
            if (tally.exit_code == exit_usage) return tally.exit_code;
            continue;
        }
        ++tally.ok;
        tally.rtt_min = std::min(tally.rtt_min, std::chrono::nanoseconds(rtt));
        tally.rtt_max = std::max(tally.rtt_max, std::chrono::nanoseconds(rtt));
        tally.rtt_sum += rtt;
        print_reply(out, args, *server, seq, *reply, rtt);
    }
    if (args.count > 1) print_summary(out, args, tally, node.rpc_stats());
    return tally.exit_code;
}

}  // namespace herald::cli

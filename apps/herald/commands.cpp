// herald CLI subcommands: ping, send, recv, status, sim. Layer: apps.
// Each runs against its own client node and returns an exit code (cli.h).
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>

#include "cli.h"

namespace herald::cli {
namespace {

// The CLI's own node takes bodies up to the default limit; checking before reading a file
// means a huge file is refused without being read.
const std::size_t body_bytes_max = NodeOptions{}.message_bytes_max;

Result<SendMode> parse_mode(std::string_view text) {
    if (text == "nonblocking") return SendMode::nonblocking;
    if (text == "accepted") return SendMode::accepted;
    if (text == "delivered") return SendMode::delivered;
    return fail(Errc::invalid_argument,
                fmt::format("bad --mode '{}' (allowed: nonblocking, accepted, delivered)", text));
}

Result<Buffering> parse_buffering(std::string_view text) {
    if (text == "send_after_receive") return Buffering::send_after_receive;
    if (text == "send_discard_retry") return Buffering::send_discard_retry;
    if (text == "single") return Buffering::single;
    if (text == "multiple") return Buffering::multiple;
    return fail(Errc::invalid_argument,
                fmt::format("bad --buffering '{}' (allowed: send_after_receive, "
                            "send_discard_retry, single, multiple)",
                            text));
}

Error too_large(std::size_t size) {
    return Error{Errc::too_large, fmt::format("body of {} bytes exceeds the limit of {} bytes",
                                              size, body_bytes_max)};
}

// Reads at most body_bytes_max + 1 bytes, so that an endless stdin is refused too.
Result<Bytes> read_body_file(const std::string& path) {
    std::ifstream file;
    std::istream* in = &std::cin;
    if (path != "-") {
        file.open(path, std::ios::binary);
        if (!file) {
            return fail(Errc::invalid_argument,
                        fmt::format("cannot read --body-file '{}': {}", path,
                                    std::error_code(errno, std::generic_category()).message()));
        }
        in = &file;
    }
    Bytes body(body_bytes_max + 1);
    in->read(reinterpret_cast<char*>(body.data()), static_cast<std::streamsize>(body.size()));
    if (in->bad()) return fail(Errc::invalid_argument, "cannot read --body-file '" + path + "'");
    body.resize(static_cast<std::size_t>(in->gcount()));
    if (body.size() > body_bytes_max) return fail(too_large(body.size()));
    return body;
}

Result<Bytes> make_body(const SendArgs& args) {
    const int given = int{args.has_body} + int{args.has_body_file} + int{args.has_json};
    if (given != 1) {
        return fail(Errc::invalid_argument,
                    "give exactly one of --body TEXT, --body-file FILE, --json VALUE");
    }
    if (args.has_body_file) return read_body_file(args.body_file);
    if (args.has_body) {
        if (args.body.size() > body_bytes_max) return fail(too_large(args.body.size()));
        return to_bytes(args.body);
    }
    auto value = nlohmann::json::parse(args.json_value, nullptr, false);
    if (value.is_discarded()) {
        return fail(Errc::invalid_argument,
                    fmt::format("--json '{}' is not a JSON value (strings need quotes: "
                                "--json '\"text\"')",
                                args.json_value));
    }
    // MessagePack is what Herald's typed bodies are (wire/body.h); receivers print it as JSON.
    Bytes body = nlohmann::json::to_msgpack(value);
    if (body.size() > body_bytes_max) return fail(too_large(body.size()));
    return body;
}

// Errors of connecting to a node, said the way a user of the CLI thinks of them.
Error explain(Error error, std::string_view url, const Deadline& deadline) {
    if (error.code == Errc::unreachable || error.code == Errc::timeout) {
        error.detail = fmt::format("no answer from {} in {} (is a node listening there?)", url,
                                   describe_waited(deadline.elapsed()));
    }
    return error;
}

}  // namespace

int run_ping(const Output& out, const PingArgs& args) {
    auto timeout = parse_duration(args.timeout);
    if (!timeout) return out.error(timeout.error());
    auto interval = parse_duration(args.interval);
    if (!interval) return out.error(interval.error());
    auto client = start_client(args.url, args.listen);
    if (!client) return out.error(client.error());
    std::uint32_t answered = 0;
    std::chrono::nanoseconds rtt_min = forever, rtt_max{0}, rtt_sum{0};
    for (std::uint32_t i = 1; i <= args.count; ++i) {
        const Deadline deadline(*timeout);
        auto reply = (*client)->node->ping(args.url, *timeout);
        if (!reply) {
            const int code = out.error(explain(reply.error(), args.url, deadline));
            if (code == exit_usage) return code;
        } else {
            ++answered;
            rtt_min = std::min(rtt_min, reply->rtt);
            rtt_max = std::max(rtt_max, reply->rtt);
            rtt_sum += reply->rtt;
            out.result(
                fmt::format("reply from {}: node {} incarnation {} rtt {}", args.url,
                            to_string(reply->node), reply->incarnation, describe(reply->rtt)),
                {{"event", "pong"},
                 {"url", args.url},
                 {"seq", i},
                 {"node", to_string(reply->node)},
                 {"incarnation", reply->incarnation},
                 {"rtt_ms", ms(reply->rtt)}});
        }
        if (i < args.count && *interval != forever) std::this_thread::sleep_for(*interval);
    }
    if (args.count > 1 && answered > 0) {
        const auto avg = rtt_sum / answered;
        out.result(fmt::format("{} sent, {} answered, rtt min/avg/max {:.3f}/{:.3f}/{:.3f} ms",
                               args.count, answered, ms(rtt_min), ms(avg), ms(rtt_max)),
                   {{"event", "ping_summary"},
                    {"sent", args.count},
                    {"answered", answered},
                    {"rtt_ms_min", ms(rtt_min)},
                    {"rtt_ms_avg", ms(avg)},
                    {"rtt_ms_max", ms(rtt_max)}});
    }
    return answered == args.count ? exit_ok : exit_failed;
}

namespace {

int print_reply(const Output& out, Process& self, Pid from, const Deadline& deadline) {
    auto reply = self.receive_from(from, deadline.remaining());
    if (!reply && reply.error().code == Errc::timeout) {
        return out.error(Errc::timeout, fmt::format("no reply from {} in {}", to_string(from),
                                                    describe_waited(deadline.elapsed())));
    }
    if (!reply) return out.error(reply.error());
    out.result("reply " + message_text(*reply), [&] {
        auto object = message_json(*reply);
        object["event"] = "reply";
        return object;
    }());
    return exit_ok;
}

}  // namespace

int run_send(const Output& out, const SendArgs& args) {
    auto target = parse_target(args.target);
    if (!target) return out.error(target.error());
    auto timeout = parse_duration(args.timeout);
    if (!timeout) return out.error(timeout.error());
    auto mode = parse_mode(args.mode);
    if (!mode) return out.error(mode.error());
    auto body = make_body(args);
    if (!body) return out.error(body.error());
    const Deadline deadline(*timeout);
    auto client = start_client(target->url, args.listen);
    if (!client) return out.error(client.error());
    Node& node = *(*client)->node;
    auto self = node.spawn();
    if (!self) return out.error(self.error());
    auto pid = resolve_target(node, *self, *target, deadline);
    if (!pid) return out.error(explain(pid.error(), target->url, deadline));
    const std::size_t size = body->size();
    SendOptions options;
    options.mode = *mode;
    options.timeout = deadline.remaining();
    const auto start = std::chrono::steady_clock::now();
    if (auto sent = self->send(*pid, std::move(*body), options); !sent) {
        return out.error(sent.error());
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    const std::string address = to_string(ProcessAddress{*pid, target->url, {}});
    out.result(
        fmt::format("sent {} bytes to {} ({}) in {}", size, address, args.mode, describe(elapsed)),
        {{"event", "sent"},
         {"target", address},
         {"pid", to_string(*pid)},
         {"bytes", size},
         {"mode", args.mode},
         {"elapsed_ms", ms(elapsed)}});
    return args.wait_reply ? print_reply(out, *self, *pid, deadline) : exit_ok;
}

namespace {

// A --from of `herald recv` that names a sender through its node: PID@URL or URL/NAME.
bool target_like(std::string_view text) {
    return text.find('@') != std::string_view::npos || text.find("://") != std::string_view::npos ||
           text.starts_with("unix:");
}

// The pid a --from stands for: a pid as is, a target resolved through its node.
Result<Pid> sender_of(Node& node, Process& self, const std::string& text,
                      const Deadline& deadline) {
    if (!target_like(text)) return parse_pid(text);
    HERALD_TRY(Target target, parse_target(text));
    return resolve_target(node, self, target, deadline);
}

}  // namespace

int run_recv(const Output& out, const RecvArgs& args) {
    auto timeout = parse_duration(args.timeout);
    if (!timeout) return out.error(timeout.error());
    for (const auto& text : args.from) {  // Usage errors before any packet.
        std::string why;
        if (target_like(text)) {
            if (auto target = parse_target(text); !target) why = target.error().detail;
        } else if (auto pid = parse_pid(text); !pid) {
            why = pid.error().detail;
        }
        if (!why.empty()) return out.error(Errc::invalid_argument, "--from: " + why);
    }
    ProcessOptions options;
    auto buffering = parse_buffering(args.buffering);
    if (!buffering) return out.error(buffering.error());
    options.buffering = *buffering;
    options.queue_limit = args.queue_limit;
    auto client = start_client({}, args.listen);
    if (!client) return out.error(client.error());
    auto self = (*client)->node->spawn(options);
    if (!self) return out.error(self.error());
    const Deadline deadline(*timeout);
    std::vector<Pid> from;
    for (const auto& text : args.from) {
        auto pid = sender_of(*(*client)->node, *self, text, deadline);
        if (!pid) return out.error(pid.error());
        from.push_back(*pid);
    }
    const std::string url = (*client)->node->listen_url();
    const std::string address = to_string(ProcessAddress{self->pid(), url, {}});
    out.note("herald recv: listening as " + address, {{"event", "listening"},
                                                      {"address", address},
                                                      {"pid", to_string(self->pid())},
                                                      {"url", url},
                                                      {"buffering", args.buffering}});
    std::uint32_t received = 0;
    while (args.count == 0 || received < args.count) {
        auto message = from.empty() ? self->receive(deadline.remaining())
                                    : self->receive_any_of(from, deadline.remaining());
        if (!message && message.error().code == Errc::timeout && args.count == 0) break;
        if (!message && message.error().code == Errc::timeout) {
            return out.error(Errc::timeout, fmt::format("received {} of {} messages within {}",
                                                        received, args.count, describe(*timeout)));
        }
        if (!message) return out.error(message.error());
        out.result(message_text(*message), message_json(*message));
        ++received;
    }
    return exit_ok;
}

namespace {

void print_status(const Output& out, const admin::Reply& r, std::chrono::nanoseconds rtt) {
    if (out.json()) {
        nlohmann::json processes = nlohmann::json::array();
        for (const auto& p : r.processes) {
            processes.push_back({{"pid", p.pid},
                                 {"name", p.name},
                                 {"service", p.service},
                                 {"buffering", p.buffering},
                                 {"queue_limit", p.queue_limit},
                                 {"queued", p.queued},
                                 {"handled", p.handled},
                                 {"replies_failed", p.replies_failed}});
        }
        out.result({}, {{"event", "status"},
                        {"node", r.node},
                        {"incarnation", r.incarnation},
                        {"listen", r.listen},
                        {"version", r.version},
                        {"uptime_ms", r.uptime_ms},
                        {"faults", r.faults},
                        {"rtt_ms", ms(rtt)},
                        {"processes", processes},
                        {"counters", r.counters}});
        return;
    }
    std::string text = fmt::format(
        "node {} at {}: heraldd {}, incarnation {}, up {:.1f} s, faults {}, rtt {}\n", r.node,
        r.listen, r.version, r.incarnation, static_cast<double>(r.uptime_ms) / 1000,
        r.faults.empty() ? "none" : r.faults, describe(rtt));
    text +=
        fmt::format("  {:<28} {:<8} {:<8} {:<10} {:>6} {:>11} {:>9} {:>14}\n", "PID", "NAME",
                    "SERVICE", "BUFFERING", "QUEUED", "QUEUE_LIMIT", "HANDLED", "REPLIES_FAILED");
    for (const auto& p : r.processes) {
        text += fmt::format("  {:<28} {:<8} {:<8} {:<10} {:>6} {:>11} {:>9} {:>14}\n", p.pid,
                            p.name, p.service, p.buffering, p.queued, p.queue_limit, p.handled,
                            p.replies_failed);
    }
    text += "  counters:";
    for (const auto& [name, value] : r.counters) text += fmt::format(" {}={}", name, value);
    out.result(text, {});
}

}  // namespace

int run_status(const Output& out, const StatusArgs& args) {
    auto timeout = parse_duration(args.timeout);
    if (!timeout) return out.error(timeout.error());
    const Deadline deadline(*timeout);
    auto client = start_client(args.url, args.listen);
    if (!client) return out.error(client.error());
    auto self = (*client)->node->spawn();
    if (!self) return out.error(self.error());
    admin::Request request;
    request.op = "status";
    const auto start = std::chrono::steady_clock::now();
    auto reply = admin_call(*(*client)->node, *self, args.url, request, deadline);
    if (!reply) return out.error(explain(reply.error(), args.url, deadline));
    print_status(out, *reply, std::chrono::steady_clock::now() - start);
    return exit_ok;
}

int run_sim(const Output& out, const std::vector<std::string>& args) {
    std::error_code ec;
    const auto self_dir = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path();
    std::vector<std::string> candidates = {(self_dir / "herald-sim").string(),
                                           (self_dir / "../herald-sim/herald-sim").string()};
    std::vector<char*> argv;
    std::string program = "herald-sim";
    argv.push_back(program.data());
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    for (const auto& path : candidates) {
        if (::access(path.c_str(), X_OK) == 0) ::execv(path.c_str(), argv.data());
    }
    ::execvp("herald-sim", argv.data());  // Returns only when not found on PATH either.
    return out.error(Errc::not_found,
                     "herald-sim is not built (the simulator CLI, apps/herald-sim): build it "
                     "with `cmake --build build/release --target herald_sim`");
}

}  // namespace herald::cli

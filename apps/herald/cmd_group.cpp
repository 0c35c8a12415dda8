// herald group create|rm|join|leave|send|recv|view|members|views|ls: the group service through
// a heraldd's admin service (ops group_*; docs/admin.md), which asks its node's group server.
// Layer: apps. docs/cli.md ("herald group").
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>

#include "cli.h"

namespace herald::cli {
namespace {

nlohmann::json view_json(const admin::GroupRecord& r) {
    return {{"name", r.name},   {"view_id", r.view_id}, {"closed", r.closed},
            {"order", r.order}, {"address", r.address}, {"members", r.members}};
}

std::string view_text(const admin::GroupRecord& r) {
    // A host list is the default and not shown (the text of groups without an address).
    const std::string address = r.address.empty() || r.address == "hosts" ? "" : ", " + r.address;
    return fmt::format("{} view {} ({}, {}{}): {} member{}{}{}", r.name, r.view_id,
                       r.closed ? "closed" : "open", r.order, address, r.members.size(),
                       r.members.size() == 1 ? "" : "s", r.members.empty() ? "" : " ",
                       fmt::join(r.members, " "));
}

Status check_reliability(const std::string& text) {
    if (text == "all") return {};
    std::uint32_t k = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, k);
    if (text.empty() || ec != std::errc{} || ptr != end || k == Reliability::all_count) {
        return fail(Errc::invalid_argument,
                    "--reliability " + text + ": allowed: 0, a count k >= 1, all");
    }
    return {};
}

// --collect first|k|all and --from PID (docs/groups.md G24); the daemon checks them again.
Status check_collect(const GroupArgs& args) {
    for (const auto& pid : args.from) {
        if (!parse_pid(pid)) {
            return fail(Errc::invalid_argument, "--from " + pid + ": not a pid (NODE.LOCAL)");
        }
    }
    if (args.collect.empty() || args.collect == "first" || args.collect == "all") return {};
    std::uint32_t k = 0;
    const auto* end = args.collect.data() + args.collect.size();
    const auto [ptr, ec] = std::from_chars(args.collect.data(), end, k);
    if (ec != std::errc{} || ptr != end || k == 0 || k == Collect::all_count) {
        return fail(Errc::invalid_argument,
                    "--collect " + args.collect + ": allowed: first, a count k >= 1, all");
    }
    return {};
}

// The admin op of each action whose name differs (rm deletes; members reads the view).
std::string op_of(const std::string& action) {
    if (action == "rm") return "group_delete";
    if (action == "members") return "group_view";
    return "group_" + action;
}

// The request for args, or invalid_argument for a bad name, reliability or timeout (checked
// here so the user gets exit 2 without a round trip).
Result<admin::Request> request_for(const GroupArgs& args, std::chrono::nanoseconds timeout) {
    admin::Request request;
    request.op = op_of(args.action);
    request.name = args.name;
    if (args.action == "ls") return request;
    HERALD_TRY(check_group_name(args.name));
    request.closed = args.closed;
    if (args.action == "create") {
        auto order = parse_order(args.order);
        if (!order) return fail(Errc::invalid_argument, "--order: " + order.error().detail);
        request.order = args.order;
        auto address = parse_group_address(args.address);
        if (!address) return fail(Errc::invalid_argument, "--address: " + address.error().detail);
        request.address = args.address;
    }
    if (args.action != "send") return request;
    HERALD_TRY(check_reliability(args.reliability));
    if (args.atomic || args.ft_atomic) {
        // G23: an atomic multicast reaches every survivor of its view or none; it completes
        // when accepted, so reliability does not apply (the default "all" is taken as 0).
        if (args.reliability != "0" && args.reliability != "all") {
            return fail(Errc::invalid_argument, "--reliability " + args.reliability +
                                                    " does not apply to --atomic and " +
                                                    "--ft-atomic (0 or all)");
        }
        request.atomicity = args.ft_atomic ? "ft-atomic" : "atomic";
    }
    HERALD_TRY(auto send_timeout, parse_duration(args.send_timeout));
    if (send_timeout.count() <= 0 || send_timeout == forever ||
        send_timeout > std::chrono::minutes(10)) {
        return fail(Errc::invalid_argument,
                    "--send-timeout " + args.send_timeout + ": allowed: more than 0, up to 10m");
    }
    if (timeout != forever && send_timeout >= timeout) {
        return fail(Errc::invalid_argument,
                    "--send-timeout " + args.send_timeout + " must be shorter than --timeout");
    }
    request.body = args.body;
    request.reliability = request.atomicity.empty() ? args.reliability : "0";
    HERALD_TRY(check_collect(args));
    request.collect = args.collect;
    request.from = args.from;
    request.timeout_ms = std::max<std::int64_t>(
        1, std::chrono::duration_cast<std::chrono::milliseconds>(send_timeout).count());
    return request;
}

// The node part of a pid text "<node hex>.<local>".
std::string node_of(const std::string& pid) {
    return pid.substr(0, pid.find('.'));
}

// group send --collect: one line per answer, then the summary (docs/cli.md).
void print_answers(const Output& out, const admin::Reply& reply) {
    const auto& r = reply.groups.front();
    for (const auto& m : reply.group_messages) {
        const RenderedBody body = render_body(ByteView(m.body.data(), m.body.size()));
        out.result(fmt::format("answer from {} ({} bytes{}): {}", m.sender, m.body.size(),
                               body.format == "text" ? "" : ", " + body.format, body.text),
                   {{"event", "answer"},
                    {"group", m.group},
                    {"member", m.sender},
                    {"view_id", m.view_id},
                    {"bytes", m.body.size()},
                    {"format", body.format},
                    {"body", body.value}});
    }
    out.result(fmt::format("{} {} answer{} of {} addressed in {} (view {}) by {}{}{}",
                           r.timed_out ? "timeout:" : "collected", reply.group_messages.size(),
                           reply.group_messages.size() == 1 ? "" : "s", r.members.size(), r.name,
                           r.view_id, reply.pid,
                           r.departed.empty() ? "" : "; departed: ", fmt::join(r.departed, " ")),
               {{"event", "collected"},
                {"ok", !r.timed_out},
                {"name", r.name},
                {"view_id", r.view_id},
                {"sender", reply.pid},
                {"addressed", r.members},
                {"answers", reply.group_messages.size()},
                {"departed", r.departed},
                {"timed_out", r.timed_out}});
}

void print(const Output& out, const GroupArgs& args, const admin::Reply& reply) {
    if (args.action == "views") {
        for (const auto& r : reply.groups) out.result(view_text(r), view_json(r));
        return;
    }
    if (args.action == "ls") {
        for (const auto& r : reply.groups) {
            out.result(r.order.empty() ? r.name : r.name + " " + r.order,
                       {{"name", r.name}, {"order", r.order}});
        }
        return;
    }
    if (reply.groups.empty()) return;
    const auto& r = reply.groups.front();
    if (args.action == "rm") {
        out.result("deleted " + r.name, {{"ok", true}, {"name", r.name}});
        return;
    }
    if (args.action == "members") {
        for (const auto& pid : r.members) {
            out.result(
                pid + " " + node_of(pid),
                {{"name", r.name}, {"view_id", r.view_id}, {"pid", pid}, {"node", node_of(pid)}});
        }
        return;
    }
    if (args.action == "send" && !args.collect.empty()) {
        print_answers(out, reply);
        return;
    }
    if (args.action == "send") {
        const char* atomicity = args.ft_atomic ? "ft-atomic" : args.atomic ? "atomic" : "none";
        if (args.atomic || args.ft_atomic) {
            out.result(fmt::format("sent {} to {} (view {}) by {}: accepted", atomicity, r.name,
                                   r.view_id, reply.pid),
                       {{"ok", true},
                        {"name", r.name},
                        {"view_id", r.view_id},
                        {"sender", reply.pid},
                        {"atomicity", atomicity},
                        {"responders", r.members}});
            return;
        }
        out.result(fmt::format("sent to {} (view {}) by {}: {} responded{}{}", r.name, r.view_id,
                               reply.pid, r.members.size(), r.members.empty() ? "" : ": ",
                               fmt::join(r.members, " ")),
                   {{"ok", true},
                    {"name", r.name},
                    {"view_id", r.view_id},
                    {"sender", reply.pid},
                    {"responders", r.members}});
        return;
    }
    auto object = view_json(r);
    if (!reply.pid.empty()) object["member"] = reply.pid;
    const std::string who =
        reply.pid.empty() ? "" : fmt::format(" [{} {}]", args.action, reply.pid);
    out.result(view_text(r) + who, object);
}

void print_message(const Output& out, const admin::GroupMessageRecord& m) {
    const RenderedBody body = render_body(ByteView(m.body.data(), m.body.size()));
    out.result(
        fmt::format("{} from {} to {} (view {}, id {}, {} bytes{}): {}{}",
                    m.request ? "request" : "message", m.sender, m.group, m.view_id, m.message_id,
                    m.body.size(), body.format == "text" ? "" : ", " + body.format, body.text,
                    m.answered ? " (answered)" : ""),
        {{"event", m.request ? "request" : "message"},
         {"answered", m.answered},
         {"group", m.group},
         {"sender", m.sender},
         {"view_id", m.view_id},
         {"message_id", m.message_id},
         {"bytes", m.body.size()},
         {"format", body.format},
         {"body", body.value}});
}

// herald group recv: asks the daemon for its member's multicasts again and again (each
// group_recv waits at most 1 s there), printing them, as herald recv prints its own.
int receive(const Output& out, const GroupArgs& args, Node& node, Process& self,
            const Deadline& deadline) {
    using std::chrono::milliseconds;
    constexpr std::uint32_t per_request_max = 64;  // GroupOps::recv_count_max.
    constexpr milliseconds wait_max(1000);         // GroupOps::recv_wait_ms_max.
    constexpr milliseconds answer_slack(5000);     // Beyond the wait, for the answer.
    std::uint32_t received = 0;
    while (args.count == 0 || received < args.count) {
        // Half the time left, so that the answer comes back before the deadline.
        const auto wait = std::min<milliseconds>(
            wait_max, std::chrono::duration_cast<milliseconds>(deadline.remaining() / 2));
        if (wait < milliseconds(10)) break;
        admin::Request request;
        request.op = "group_recv";
        request.name = args.name;
        request.answer = args.answer;
        request.count =
            args.count == 0 ? per_request_max : std::min(per_request_max, args.count - received);
        request.timeout_ms = wait.count();
        // A daemon that stopped answering ends the command even without --timeout.
        const Deadline call(
            std::min<std::chrono::nanoseconds>(deadline.remaining(), wait + answer_slack));
        auto reply = admin_call(node, self, args.url, request, call);
        if (!reply) return out.error(reply.error());
        for (const auto& m : reply->group_messages) {
            print_message(out, m);
            ++received;
        }
    }
    if (args.count != 0 && received < args.count) {
        return out.error(Errc::timeout,
                         fmt::format("received {} of {} messages within {}", received, args.count,
                                     describe(deadline.timeout())));
    }
    return exit_ok;
}

}  // namespace

int run_group(const Output& out, const GroupArgs& args) {
    const std::string timeout_text = !args.timeout.empty()   ? args.timeout
                                     : args.action == "recv" ? "forever"
                                                             : "10s";
    auto timeout = parse_duration(timeout_text);
    if (!timeout) return out.error(timeout.error());
    const Deadline deadline(*timeout);
    auto request = request_for(args, *timeout);
    if (!request) return out.error(request.error());
    auto client = start_client(args.url, args.listen);
    if (!client) return out.error(client.error());
    auto self = (*client)->node->spawn();
    if (!self) return out.error(self.error());
    if (args.action == "recv") {
        return receive(out, args, *(*client)->node, *self, deadline);
    }
    auto reply = admin_call(*(*client)->node, *self, args.url, *request, deadline);
    if (!reply) return out.error(reply.error());
    print(out, args, *reply);
    if (args.action == "send" && !args.collect.empty() && !reply->groups.empty() &&
        reply->groups.front().timed_out) {
        return out.error(Errc::timeout,
                         fmt::format("{} answers within --send-timeout {}",
                                     reply->group_messages.size(), args.send_timeout));
    }
    return exit_ok;
}

}  // namespace herald::cli

// herald group create|join|leave|send|view|ls: the group service through a heraldd's admin
// service (ops group_*; docs/admin.md), which asks its node's group server. Layer: apps.
// docs/cli.md ("herald group").
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>

#include "cli.h"

namespace herald::cli {
namespace {

nlohmann::json view_json(const admin::GroupRecord& r) {
    return {{"name", r.name},
            {"view_id", r.view_id},
            {"closed", r.closed},
            {"order", r.order},
            {"members", r.members}};
}

std::string view_text(const admin::GroupRecord& r) {
    return fmt::format("{} view {} ({}, {}): {} member{}{}{}", r.name, r.view_id,
                       r.closed ? "closed" : "open", r.order, r.members.size(),
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

// The request for args, or invalid_argument for a bad name, reliability or timeout (checked
// here so the user gets exit 2 without a round trip).
Result<admin::Request> request_for(const GroupArgs& args, std::chrono::nanoseconds timeout) {
    admin::Request request;
    request.op = "group_" + args.action;
    request.name = args.name;
    if (args.action == "ls") return request;
    HERALD_TRY(check_group_name(args.name));
    request.closed = args.closed;
    if (args.action == "create") {
        auto order = parse_order(args.order);
        if (!order) return fail(Errc::invalid_argument, "--order: " + order.error().detail);
        request.order = args.order;
    }
    if (args.action != "send") return request;
    HERALD_TRY(check_reliability(args.reliability));
    HERALD_TRY(auto send_timeout, parse_duration(args.send_timeout));
    if (send_timeout.count() <= 0 || send_timeout == forever ||
        send_timeout > std::chrono::minutes(10)) {
        return fail(Errc::invalid_argument,
                    "--send-timeout " + args.send_timeout + ": allowed: more than 0, up to 10m");
    }
    if (timeout != forever && send_timeout >= timeout) {
        return fail(Errc::invalid_argument, "--send-timeout " + args.send_timeout +
                                                " must be shorter than --timeout " + args.timeout);
    }
    request.body = args.body;
    request.reliability = args.reliability;
    request.timeout_ms = std::max<std::int64_t>(
        1, std::chrono::duration_cast<std::chrono::milliseconds>(send_timeout).count());
    return request;
}

void print(const Output& out, const GroupArgs& args, const admin::Reply& reply) {
    if (args.action == "ls") {
        for (const auto& r : reply.groups) {
            out.result(r.order.empty() ? r.name : r.name + " " + r.order,
                       {{"name", r.name}, {"order", r.order}});
        }
        return;
    }
    if (reply.groups.empty()) return;
    const auto& r = reply.groups.front();
    if (args.action == "send") {
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

}  // namespace

int run_group(const Output& out, const GroupArgs& args) {
    auto timeout = parse_duration(args.timeout);
    if (!timeout) return out.error(timeout.error());
    const Deadline deadline(*timeout);
    auto request = request_for(args, *timeout);
    if (!request) return out.error(request.error());
    auto client = start_client(args.url, args.listen);
    if (!client) return out.error(client.error());
    auto self = (*client)->node->spawn();
    if (!self) return out.error(self.error());
    auto reply = admin_call(*(*client)->node, *self, args.url, *request, deadline);
    if (!reply) return out.error(reply.error());
    print(out, args, *reply);
    return exit_ok;
}

}  // namespace herald::cli

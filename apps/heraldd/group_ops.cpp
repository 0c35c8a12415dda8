// The admin service's group ops. Layer: apps.
#include "group_ops.h"

#include <charconv>
#include <chrono>
#include <utility>

#include "core/result.h"  // HERALD_TRY

namespace herald::daemon {
namespace {

// A multicast from the CLI waits at most this long unless timeout_ms says otherwise.
constexpr std::int64_t send_timeout_ms_default = 5000;
constexpr std::int64_t send_timeout_ms_max = 600'000;

admin::GroupRecord record_of(const GroupView& v) {
    admin::GroupRecord r{v.group, v.id, v.closed, {}, std::string(order_name(v.order))};
    r.members.reserve(v.members.size());
    for (const Pid& pid : v.members) r.members.push_back(to_string(pid));
    return r;
}

// "0", "all", or a count k >= 1.
Result<Reliability> parse_reliability(const std::string& text) {
    if (text == "all") return Reliability::all();
    std::uint32_t k = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, k);
    if (text.empty() || ec != std::errc{} || ptr != end || k == Reliability::all_count) {
        return fail(Errc::invalid_argument,
                    "reliability '" + text + "' (allowed: 0, a count k >= 1, all)");
    }
    return Reliability::at_least(k);
}

}  // namespace

bool GroupOps::handles(const std::string& op) {
    return op == "group_create" || op == "group_join" || op == "group_leave" ||
           op == "group_send" || op == "group_view" || op == "group_ls";
}

Status GroupOps::run(Process& self, const admin::Request& request, admin::Reply& reply) {
    drain_members();
    if (request.op == "group_ls") {
        HERALD_TRY(auto names, node_.groups());
        for (auto& name : names) {
            // The server's own view (no round trip): its order for the listing.
            auto view = node_.group_view(name);
            std::string order = view ? std::string(order_name(view->order)) : "";
            reply.groups.push_back({std::move(name), 0, false, {}, std::move(order)});
        }
        return {};
    }
    HERALD_TRY(check_group_name(request.name));
    if (request.op == "group_create") {
        HERALD_TRY(Order order, parse_order(request.order.empty() ? "fifo" : request.order));
        HERALD_TRY(auto view, node_.create_group(request.name, request.closed, order));
        reply.groups.push_back(record_of(view));
        return {};
    }
    if (request.op == "group_view") {
        HERALD_TRY(auto view, node_.group_view(request.name));
        reply.groups.push_back(record_of(view));
        return {};
    }
    if (request.op == "group_join") return join(request.name, reply);
    if (request.op == "group_leave") return leave(request.name, reply);
    return send(self, request, reply);
}

Status GroupOps::join(const std::string& name, admin::Reply& reply) {
    std::lock_guard lock(mutex_);
    auto it = members_.find(name);
    if (it == members_.end()) {
        if (members_.size() >= members_max) {
            return fail(Errc::queue_full, "the daemon is a member of 64 groups already");
        }
        ProcessOptions options;
        options.queue_limit = member_queue_limit;
        HERALD_TRY(Process member, node_.spawn(options));
        it = members_.emplace(name, std::move(member)).first;
    }
    auto view = it->second.join_group(name);
    if (!view) {
        if (view.error().code != Errc::timeout) members_.erase(name);  // timeout: it may be in.
        return fail(std::move(view.error()));
    }
    reply.pid = to_string(it->second.pid());
    reply.groups.push_back(record_of(*view));
    return {};
}

Status GroupOps::leave(const std::string& name, admin::Reply& reply) {
    std::lock_guard lock(mutex_);
    auto it = members_.find(name);
    if (it == members_.end()) {
        return fail(Errc::not_found, "this daemon did not join '" + name + "' (herald group join)");
    }
    HERALD_TRY(auto view, it->second.leave_group(name));
    reply.pid = to_string(it->second.pid());
    reply.groups.push_back(record_of(view));
    members_.erase(it);  // The process exits.
    return {};
}

Status GroupOps::send(Process& self, const admin::Request& request, admin::Reply& reply) {
    HERALD_TRY(Reliability reliability, parse_reliability(request.reliability));
    if (request.timeout_ms < 0 || request.timeout_ms > send_timeout_ms_max) {
        return fail(Errc::invalid_argument, "timeout_ms must be 0 (5 s) to 600000");
    }
    const auto timeout = std::chrono::milliseconds(request.timeout_ms == 0 ? send_timeout_ms_default
                                                                           : request.timeout_ms);
    std::lock_guard lock(mutex_);
    auto it = members_.find(request.name);  // A member may send to a closed group.
    Process& sender = it == members_.end() ? self : it->second;
    HERALD_TRY(auto sent, sender.multicast(request.name, std::string_view(request.body),
                                           reliability, timeout));
    reply.pid = to_string(sender.pid());
    admin::GroupRecord r{request.name, sent.view_id, false, {}, {}};
    for (const Pid& pid : sent.responders) r.members.push_back(to_string(pid));
    reply.groups.push_back(std::move(r));
    return {};
}

void GroupOps::drain_members() {
    std::lock_guard lock(mutex_);
    for (auto& [name, member] : members_) {
        while (member.try_receive()) {
        }
    }
}

}  // namespace herald::daemon

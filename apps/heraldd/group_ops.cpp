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
    admin::GroupRecord r{
        v.group, v.id, v.closed, {}, std::string(order_name(v.order)), to_string(v.address),
        {},      false};
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

// group_send's collect and from (docs/groups.md G24): "first", "all" or a count k >= 1, and
// the pids of a selective collection.
Result<Collect> parse_collect(const std::string& text, const std::vector<std::string>& from) {
    Collect c;
    if (text == "first") {
        c = Collect::first();
    } else if (text != "all") {
        std::uint32_t k = 0;
        const auto* end = text.data() + text.size();
        const auto [ptr, ec] = std::from_chars(text.data(), end, k);
        if (ec != std::errc{} || ptr != end || k == 0 || k == Collect::all_count) {
            return fail(Errc::invalid_argument,
                        "collect '" + text + "' (allowed: first, a count k >= 1, all)");
        }
        c = Collect::at_least(k);
    }
    for (const auto& pid : from) {
        auto parsed = parse_pid(pid);
        if (!parsed) return fail(Errc::invalid_argument, "from '" + pid + "' is not a pid");
        c.from.push_back(*parsed);
    }
    return c;
}

admin::GroupMessageRecord answer_record(const std::string& group, std::uint64_t view_id,
                                        const GroupAnswer& answer) {
    return {group,
            to_string(answer.member),
            view_id,
            0,
            std::vector<std::uint8_t>(answer.body.begin(), answer.body.end()),
            false,
            false};
}

}  // namespace

bool GroupOps::handles(const std::string& op) {
    return op == "group_create" || op == "group_join" || op == "group_leave" ||
           op == "group_send" || op == "group_view" || op == "group_ls" || op == "group_delete" ||
           op == "group_views" || op == "group_recv";
}

Status GroupOps::run(Process& self, const admin::Request& request, admin::Reply& reply) {
    drain_members();
    if (request.op == "group_ls") {
        HERALD_TRY(auto names, node_.groups());
        for (auto& name : names) {
            // The server's own view (no round trip): its order for the listing.
            auto view = node_.group_view(name);
            std::string order = view ? std::string(order_name(view->order)) : "";
            std::string address = view ? to_string(view->address) : "";
            reply.groups.push_back(
                {std::move(name), 0, false, {}, std::move(order), std::move(address), {}, false});
        }
        return {};
    }
    HERALD_TRY(check_group_name(request.name));
    if (request.op == "group_create") {
        HERALD_TRY(Order order, parse_order(request.order.empty() ? "fifo" : request.order));
        HERALD_TRY(GroupAddress address,
                   parse_group_address(request.address.empty() ? "hosts" : request.address));
        HERALD_TRY(auto view, node_.create_group(request.name, request.closed, order, address));
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
    if (request.op == "group_delete") return remove(request.name, reply);
    if (request.op == "group_views") return views(request.name, reply);
    if (request.op == "group_recv") return receive(request, reply);
    return send(self, request, reply);
}

Status GroupOps::join(const std::string& name, admin::Reply& reply) {
    std::lock_guard lock(mutex_);
    auto it = members_.find(name);
    if (it != members_.end() && it->second.deleted) {  // Of a deleted group of that name.
        members_.erase(it);
        it = members_.end();
    }
    if (it == members_.end()) {
        if (members_.size() >= members_max) {
            return fail(Errc::queue_full, "the daemon is a member of 64 groups already");
        }
        ProcessOptions options;
        options.queue_limit = member_queue_limit;
        HERALD_TRY(Process member, node_.spawn(options));
        it = members_.emplace(name, Member{std::move(member), {}, {}, 0, false}).first;
    }
    auto view = it->second.process.join_group(name);
    if (!view) {
        if (view.error().code != Errc::timeout) members_.erase(name);  // timeout: it may be in.
        return fail(std::move(view.error()));
    }
    reply.pid = to_string(it->second.process.pid());
    reply.groups.push_back(record_of(*view));
    return {};
}

Status GroupOps::leave(const std::string& name, admin::Reply& reply) {
    std::lock_guard lock(mutex_);
    auto it = members_.find(name);
    if (it == members_.end()) {
        return fail(Errc::not_found, "this daemon did not join '" + name + "' (herald group join)");
    }
    HERALD_TRY(auto view, it->second.process.leave_group(name));
    reply.pid = to_string(it->second.process.pid());
    reply.groups.push_back(record_of(view));
    members_.erase(it);  // The process exits.
    return {};
}

Status GroupOps::send(Process& self, const admin::Request& request, admin::Reply& reply) {
    HERALD_TRY(Reliability reliability, parse_reliability(request.reliability));
    HERALD_TRY(Atomicity atomicity, parse_atomicity(request.atomicity));
    if (request.timeout_ms < 0 || request.timeout_ms > send_timeout_ms_max) {
        return fail(Errc::invalid_argument, "timeout_ms must be 0 (5 s) to 600000");
    }
    const auto timeout = std::chrono::milliseconds(request.timeout_ms == 0 ? send_timeout_ms_default
                                                                           : request.timeout_ms);
    std::lock_guard lock(mutex_);
    auto it = members_.find(request.name);  // A member may send to a closed group.
    Process& sender = it == members_.end() ? self : it->second.process;
    if (!request.collect.empty()) return collect(sender, request, timeout, reply);
    HERALD_TRY(auto sent, sender.multicast(request.name, std::string_view(request.body),
                                           reliability, timeout, atomicity));
    reply.pid = to_string(sender.pid());
    admin::GroupRecord r{request.name, sent.view_id, false, {}, {}, {}, {}, false};
    for (const Pid& pid : sent.responders) r.members.push_back(to_string(pid));
    reply.groups.push_back(std::move(r));
    return {};
}

// group_send with collect: a request multicast and its answers (docs/groups.md G24).
Status GroupOps::collect(Process& sender, const admin::Request& request,
                         std::chrono::milliseconds timeout, admin::Reply& reply) {
    if (!request.atomicity.empty() && request.atomicity != "none") {
        return fail(Errc::invalid_argument, "collect does not apply to atomic multicasts");
    }
    HERALD_TRY(Collect collect, parse_collect(request.collect, request.from));
    HERALD_TRY(auto r, sender.multicast_request(request.name, std::string_view(request.body),
                                                collect, timeout));
    reply.pid = to_string(sender.pid());
    admin::GroupRecord g{request.name, r.view_id, false, {}, {}, {}, {}, false};
    for (const Pid& pid : r.addressed) g.members.push_back(to_string(pid));
    for (const Pid& pid : r.departed) g.departed.push_back(to_string(pid));
    g.timed_out = r.timed_out;
    reply.groups.push_back(std::move(g));
    for (const auto& answer : r.answers) {
        reply.group_messages.push_back(answer_record(request.name, r.view_id, answer));
    }
    return {};
}

Status GroupOps::remove(const std::string& name, admin::Reply& reply) {
    HERALD_TRY(node_.delete_group(name));
    std::lock_guard lock(mutex_);
    members_.erase(name);  // Its process exits; it is in no group any more.
    reply.groups.push_back({name, 0, false, {}, {}, {}, {}, false});
    return {};
}

// The views the daemon's member received (oldest first), or the current view alone when the
// daemon has no member of the group.
Status GroupOps::views(const std::string& name, admin::Reply& reply) {
    {
        std::lock_guard lock(mutex_);
        auto it = members_.find(name);
        if (it != members_.end() && !it->second.views.empty()) {
            reply.pid = to_string(it->second.process.pid());
            for (const auto& v : it->second.views) reply.groups.push_back(record_of(v));
            return {};
        }
    }
    HERALD_TRY(auto view, node_.group_view(name));
    reply.groups.push_back(record_of(view));
    return {};
}

// Up to `count` unread multicasts of the daemon's member of the group, waiting up to
// timeout_ms for the first when there is none.
Status GroupOps::receive(const admin::Request& request, admin::Reply& reply) {
    if (request.timeout_ms < 0 || request.timeout_ms > recv_wait_ms_max) {
        return fail(Errc::invalid_argument, "timeout_ms must be 0 to 1000 for group_recv");
    }
    if (request.count > recv_count_max) {
        return fail(Errc::invalid_argument, "count must be 0 (64) to 64 for group_recv");
    }
    std::lock_guard lock(mutex_);
    auto it = members_.find(request.name);
    if (it == members_.end()) {
        return fail(Errc::not_found,
                    "this daemon did not join '" + request.name + "' (herald group join)");
    }
    Member& member = it->second;
    if (member.unread.empty() && !member.deleted && request.timeout_ms > 0) {
        auto first = member.process.receive(std::chrono::milliseconds(request.timeout_ms));
        if (first) keep(member, *first);
        while (auto more = member.process.try_receive()) keep(member, *more);
    }
    reply.pid = to_string(member.process.pid());
    reply.counters["group_recv_dropped"] = member.dropped;
    const std::size_t count = request.count == 0 ? recv_count_max : request.count;
    while (!member.unread.empty() && reply.group_messages.size() < count) {
        GroupMessage& m = member.unread.front();
        // G24: a request is answered as it is taken (its requester may be waiting).
        const bool answered =
            m.request() && !request.answer.empty() && member.process.reply(m, request.answer);
        reply.group_messages.push_back(
            {m.group, to_string(m.sender), m.view_id, m.message_id,
             std::vector<std::uint8_t>(m.payload.begin(), m.payload.end()), m.request(), answered});
        member.unread.pop_front();
    }
    if (reply.group_messages.empty() && member.deleted) {
        members_.erase(it);
        return fail(Errc::not_found, "group '" + request.name + "' was deleted");
    }
    return {};
}

// Files what a member received: a multicast for group_recv, a view for group_views, the
// group's deletion. Anything else (a direct message to it) is dropped.
void GroupOps::keep(Member& member, const Envelope& envelope) {
    if (!envelope.group) return;
    auto m = decode_group_message(envelope);
    if (!m) return;
    switch (m->kind) {
        case GroupMessage::Kind::data:
            member.unread.push_back(std::move(*m));
            if (member.unread.size() > unread_max) {
                member.unread.pop_front();
                ++member.dropped;
            }
            break;
        case GroupMessage::Kind::view:
            member.views.push_back(std::move(m->view));
            if (member.views.size() > views_max) member.views.pop_front();
            break;
        case GroupMessage::Kind::deleted:
            member.deleted = true;
            break;
    }
}

void GroupOps::drain_members() {
    std::lock_guard lock(mutex_);
    for (auto& [name, member] : members_) {
        while (auto envelope = member.process.try_receive()) keep(member, *envelope);
    }
}

}  // namespace herald::daemon

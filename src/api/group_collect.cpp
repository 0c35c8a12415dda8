// Request multicasts and the many-to-one collection of their answers (docs/groups.md G24):
// Process::multicast_request sends a group request naming a short-lived collector process,
// whose inbox receives the members' answers (Process::reply, direct messages); the call
// takes them (selective receive from the addressed members, or any) until the collection is
// complete or the timeout passes, following view changes. Layer: api.
#include "api/group_collect.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "api/api_support.h"
#include "herald/process.h"
#include "proto/group/group_messages.h"
#include "runtime/node.h"
#include "runtime/node_group_service.h"

namespace herald {

namespace api {

namespace {

// The collector's inbox: every member of the largest view (members_max 64) answering twice.
constexpr std::uint32_t collector_slots = 128;
// How often a waiting call looks at the view (a removed member stops being awaited).
constexpr auto view_poll = std::chrono::milliseconds(100);
// Without a view on this node, a lookup at the server at most this often (lookup_ttl, G14).
constexpr auto lookup_poll = std::chrono::seconds(1);

bool contains(const std::vector<Pid>& pids, Pid pid) {
    return std::find(pids.begin(), pids.end(), pid) != pids.end();
}

std::vector<Pid> pids_of(const proto::group::View& v) {
    std::vector<Pid> pids;
    pids.reserve(v.members.size());
    for (const auto& m : v.members) pids.push_back(m.pid);
    return pids;
}

}  // namespace

Result<AnswerCollection> AnswerCollection::start(const Collect& collect, Pid requester,
                                                 std::uint64_t view_id,
                                                 const std::vector<Pid>& view_members) {
    std::vector<Pid> others = view_members;
    std::erase(others, requester);
    if (others.empty()) {
        return fail(Errc::invalid_argument,
                    "the group has no members to answer (but the requester)");
    }
    if (collect.count == 0) return fail(Errc::invalid_argument, "collect count 0");
    AnswerCollection c;
    c.result_.view_id = view_id;
    c.selective_ = !collect.from.empty();
    for (const Pid pid : collect.from) {
        if (contains(c.result_.addressed, pid)) {
            return fail(Errc::invalid_argument, "collect from names " + to_string(pid) + " twice");
        }
        if (pid == requester) {
            return fail(Errc::invalid_argument, "the requester cannot answer its own request");
        }
        if (!contains(view_members, pid)) {
            return fail(Errc::invalid_argument,
                        to_string(pid) + " is not a member of view " + std::to_string(view_id));
        }
        c.result_.addressed.push_back(pid);
    }
    if (!c.selective_) c.result_.addressed = std::move(others);
    const auto size = static_cast<std::uint32_t>(c.result_.addressed.size());
    if (collect.count != Collect::all_count && collect.count > size) {
        return fail(Errc::invalid_argument, "collect count " + std::to_string(collect.count) +
                                                " above the " + std::to_string(size) +
                                                " members addressed");
    }
    c.needed_ = collect.count == Collect::all_count ? size : collect.count;
    return c;
}

bool AnswerCollection::answered(Pid member) const {
    return std::any_of(result_.answers.begin(), result_.answers.end(),
                       [&](const GroupAnswer& a) { return a.member == member; });
}

bool AnswerCollection::departed(Pid member) const {
    return contains(result_.departed, member);
}

bool AnswerCollection::on_answer(Pid member, Bytes body) {
    if (complete() || !contains(result_.addressed, member) || answered(member)) return false;
    result_.answers.push_back(GroupAnswer{member, std::move(body)});
    return true;
}

void AnswerCollection::on_view(const std::vector<Pid>& members) {
    for (const Pid pid : result_.addressed) {
        if (!contains(members, pid) && !departed(pid) && !answered(pid)) {
            result_.departed.push_back(pid);
        }
    }
}

bool AnswerCollection::complete() const {
    if (result_.answers.size() >= needed_) return true;
    // Nothing more can come: every addressed member answered or left the view.
    return result_.answers.size() + result_.departed.size() >= result_.addressed.size();
}

CollectResult AnswerCollection::finish(bool timed_out) && {
    result_.timed_out = timed_out;
    return std::move(result_);
}

namespace {

using Clock = std::chrono::steady_clock;

// The collection's loop: takes answers from the collector's inbox until complete or
// `deadline`, looking at the group's view every view_poll. Counts collected and late answers.
CollectResult collect(runtime::Node& node, runtime::NodeGroupService& groups,
                      runtime::ProcessState& collector, const std::string& name, Pid requester,
                      AnswerCollection c, Clock::time_point deadline) {
    auto& counters = groups.answers();
    auto next_view = Clock::now() + view_poll;
    auto next_lookup = Clock::now() + lookup_poll;
    const std::vector<Pid> from = c.selective() ? c.addressed() : std::vector<Pid>{};
    while (!c.complete()) {
        const auto now = Clock::now();
        if (now >= deadline) return std::move(c).finish(true);
        const auto wait = std::min(deadline, next_view) - now;
        auto m = node.receive(collector, from, to_duration(wait));
        if (m) {
            const bool taken = c.on_answer(m->source, std::move(m->body));
            (taken ? counters.collected : counters.late).fetch_add(1);
            continue;
        }
        if (m.error().code != Errc::timeout) return std::move(c).finish(true);  // Node stopped.
        if (Clock::now() < next_view) continue;
        next_view = Clock::now() + view_poll;
        auto v = groups.known_view(name);
        if (!v) {  // No view on this node: ask the server, less often.
            if (Clock::now() < next_lookup) continue;
            next_lookup = Clock::now() + lookup_poll;
            v = groups.view(name, requester);
            if (!v && v.error().code == Errc::not_found) c.on_view({});  // The group was deleted.
        }
        if (v) c.on_view(pids_of(*v));
    }
    return std::move(c).finish(false);
}

// Ends the collector: what is still queued (answers after the end) is counted late.
void end_collector(runtime::Node& node, runtime::NodeGroupService& groups,
                   const std::shared_ptr<runtime::ProcessState>& collector) {
    while (node.try_receive(*collector, {})) groups.answers().late.fetch_add(1);
    node.exit(collector);
}

}  // namespace

}  // namespace api

Result<CollectResult> Process::multicast_request(std::string_view name, ByteView body,
                                                 const Collect& collect,
                                                 std::chrono::nanoseconds timeout) {
    if (!state_) return api::closed_process();
    HERALD_TRY(check_group_name(name));
    if (timeout <= std::chrono::nanoseconds::zero() || timeout == forever) {
        return fail(Errc::invalid_argument, "request timeout must be positive and finite");
    }
    const auto deadline = api::Clock::now() + timeout;
    HERALD_TRY(auto* groups, api::group_service(*node_));
    const std::string text(name);
    const Pid self = state_->pid();
    HERALD_TRY(auto view, groups->view(text, self));
    HERALD_TRY(auto collection,
               api::AnswerCollection::start(collect, self, view.id, api::pids_of(view)));
    runtime::ProcessConfig config;
    config.engine.queue_limit = api::collector_slots;
    HERALD_TRY(auto collector, node_->spawn(config));
    auto sent = groups->multicast(text, self, Bytes(body.begin(), body.end()), 0,
                                  api::to_duration(timeout), collector->pid());
    if (sent && sent->view_id != view.id) {
        // The view changed between the lookup and the send: collect for the one addressed.
        auto addressed = groups->view(text, self);
        if (addressed && addressed->id == sent->view_id) {
            auto again = api::AnswerCollection::start(collect, self, sent->view_id,
                                                      api::pids_of(*addressed));
            if (!again) sent = fail(std::move(again.error()));
            if (again) collection = std::move(*again);
        }
    }
    if (!sent) {
        api::end_collector(*node_, *groups, collector);
        return fail(std::move(sent.error()));
    }
    auto result =
        api::collect(*node_, *groups, *collector, text, self, std::move(collection), deadline);
    api::end_collector(*node_, *groups, collector);
    return result;
}

Result<CollectResult> Process::multicast_request(std::string_view name, std::string_view text,
                                                 const Collect& collect,
                                                 std::chrono::nanoseconds timeout) {
    return multicast_request(
        name, ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), collect,
        timeout);
}

Status Process::reply(const GroupMessage& request, ByteView body) {
    if (!state_) return api::closed_process();
    if (request.kind != GroupMessage::Kind::data || !request.request()) {
        return fail(Errc::invalid_argument,
                    "not a request: the multicast asked for no answer (docs/groups.md G24)");
    }
    auto sent = send(request.reply_to, body);
    if (auto* groups = node_->groups_service()) {
        if (sent) groups->answers().sent.fetch_add(1);
        if (!sent && sent.error().code == Errc::no_such_process) {
            groups->answers().late.fetch_add(1);
        }
    }
    if (!sent && sent.error().code == Errc::no_such_process) {
        return fail(Errc::no_such_process, "the request's collection already ended");
    }
    return sent;
}

Status Process::reply(const GroupMessage& request, std::string_view text) {
    return reply(request,
                 ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

}  // namespace herald

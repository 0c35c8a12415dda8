// OrderEngine, views and the flush (virtual synchrony, O27-O35): a local member with an older
// view freezes it, reports what it holds to the new view's first member, which decides one
// outcome for every survivor; each survivor delivers what the outcome adds, in its order, and
// installs the new view. Layer: proto/order. Rules: docs/ordering.md.
#include <algorithm>
#include <numeric>
#include <set>

#include "core/assert.h"
#include "proto/order/order_engine.h"

namespace herald::proto::order {

using wire::PacketKind;

bool OrderEngine::keeps_all(const View& earlier, const View& later) {
    return std::all_of(earlier.members.begin(), earlier.members.end(),
                       [&](const Member& m) { return index_of(later, m).has_value(); });
}

// O29: `later` may wait behind the pending view `pending` when it keeps every member of it and
// its id lies in the same block of view_block_ids ids; otherwise it redirects the flush.
bool OrderEngine::queues_behind(const View& pending, const View& later) {
    return pending.id / view_block_ids == later.id / view_block_ids && keeps_all(pending, later);
}

void OrderEngine::on_view(std::string_view name, const View& view, Time now, Effects& out) {
    auto g = groups_.find(name);
    if (g == groups_.end() || view.id == 0 || view.members.size() > options_.members_max ||
        !std::is_sorted(view.members.begin(), view.members.end()) || view.id <= g->second.view.id) {
        ++counters_.views_refused;
        return;
    }
    GroupState& state = g->second;
    if (state.view.id != 0 && view.id > state.view.id + 1) {  // O39: a reset skipped views.
        state.skips.emplace_back(state.view.id + 1, view.id - 1);
        if (state.skips.size() > recent_views_max) state.skips.pop_front();
    }
    state.view = view;
    state.recent[view.id] = view;
    if (state.recent.size() > recent_views_max) state.recent.erase(state.recent.begin());
    for (auto it = state.endpoints.begin(); it != state.endpoints.end();) {
        if (!index_of(view, it->second.self)) {
            it = state.endpoints.erase(it);  // O27: a member not in the view stops.
            continue;
        }
        Endpoint& ep = it->second;
        ++it;
        // O29: a flush whose members are all still in the new view ends first, then the new
        // view is flushed; one that lost a member (maybe a reporter it waits for, or its
        // coordinator), or whose pending view is of an earlier block of ids (the queue's
        // bound), is redirected to the new view's coordinator.
        if (ep.flushing && queues_behind(ep.pending, view)) {
            ep.queued.push_back(view);
            continue;
        }
        ep.queued.clear();
        begin_flush(g->first, ep, view, now, out);
    }
    for (const auto& m : view.members) {
        if (m.pid.node != self_ || m.incarnation != incarnation_) continue;
        if (state.endpoints.contains(m.pid)) continue;
        Endpoint& ep = state.endpoints[m.pid];
        ep.self = m;
        install(g->first, ep, view, now, out);  // O28: a new member has no old view to flush.
    }
    arm(now, out);
}

void OrderEngine::install(const std::string& name, Endpoint& ep, const View& next, Time now,
                          Effects& out) {
    const View view = next;  // `next` may be ep.pending, which the reset below clears.
    const bool joiner = ep.view.id == 0;
    const Member self = ep.self;
    std::deque<View> queued = std::move(ep.queued);
    Bytes last_outcome = std::move(ep.last_outcome);
    const bool batch_listed = ep.batch_listed;  // Still in batch_: kept, so listed once.
    // O23: a survivor's timestamps in the new view stay above every timestamp it received or
    // delivered in the old one (so its deliveries never step back at the view change).
    const std::int64_t floor = std::max(ep.out.last_timestamp, ep.out.seen_timestamp);
    ep = Endpoint{};
    ep.out.last_timestamp = floor;
    ep.self = self;
    ep.queued = std::move(queued);
    ep.last_outcome = std::move(last_outcome);
    ep.batch_listed = batch_listed;
    ep.view = view;
    ep.index = *index_of(view, self);
    ep.streams.assign(view.members.size(), Stream{});
    ep.out.acked.assign(view.members.size(), 0);
    ep.out.burst.assign(view.members.size(), retransmit_burst_max);
    ep.out.proposals_taken.assign(view.members.size(), 0);
    ep.out.proposals.reset(view.members.size());
    ep.out.progress_at_round.assign(view.members.size(), 0);
    ep.peer_done.assign(view.members.size(), std::vector<std::uint64_t>(view.members.size(), 0));
    ep.done_sent = ep.peer_done;
    ep.cbcast_received.assign(view.members.size(), 0);
    ep.ack_due.assign(view.members.size(), 0);
    ep.proposals_due.assign(view.members.size(), {});
    ++counters_.views_installed;
    Delivery d;
    d.is_view = true;
    d.group = name;
    d.view_id = view.id;
    d.view = view;
    Message message;
    message.source = ep.self.pid;
    message.target = ep.self.pid;
    message.seq = view.id;
    message.body = encode_delivery(d);
    hand_over(std::move(message), out);
    start_stream(name, ep, joiner, now, out);
}

// O23a: in absolute order every member opens its stream in a new view with a null entry (a
// survivor's is above every timestamp of the old view, O23); a joiner's data waits until it has
// the first entry of every other member's stream, and is timestamped above them all, so no
// delivery in the new view has a timestamp below one delivered in the old view.
void OrderEngine::start_stream(const std::string& name, Endpoint& ep, bool joiner, Time now,
                               Effects& out) {
    auto g = groups_.find(name);
    if (g == groups_.end() || g->second.mode != OrderMode::absolute) return;
    ep.starting = joiner && ep.view.members.size() > 1;
    StreamEntry null;
    null.type = EntryType::null;
    send_entry(g->second, name, ep, std::move(null), now, out);
}

// O29: freeze the installed view (nothing more is accepted or delivered in it) and report to
// the new view's first member; a newer view during a flush redirects the same report.
void OrderEngine::begin_flush(const std::string& name, Endpoint& ep, const View& view, Time now,
                              Effects& out) {
    if (ep.view.id == 0) {
        install(name, ep, view, now, out);
        return;
    }
    ep.flushing = true;
    ep.pending = view;
    ep.next_report = now + options_.retransmit_interval;
    send_report(name, ep, out);
}

FlushReport OrderEngine::make_report(const std::string& name, const Endpoint& ep) const {
    FlushReport r;
    if (auto g = groups_.find(name); g != groups_.end()) {
        for (const auto& member : ep.pending.members) {
            for (const auto& [id, earlier] : g->second.recent) {
                if (id >= ep.pending.id || !index_of(earlier, member)) continue;
                r.expected.push_back(member);
                break;
            }
        }
    }
    r.old_view_id = ep.view.id;
    r.old_members = ep.view.members;
    r.delivered.assign(ep.delivered_order.begin(), ep.delivered_order.end());
    r.delivered_base = ep.delivered_base;
    r.previous_outcome = ep.last_outcome;
    for (std::uint32_t j = 0; j < ep.streams.size(); ++j) {
        r.contiguous.push_back(ep.streams[j].contiguous);
        ep.streams[j].entries.for_each([&](std::uint64_t, const Received& rec) {
            if (rec.entry.type != EntryType::data) return;
            r.messages.push_back(Held{j, rec.entry, rec.committed, rec.number});
        });
    }
    return r;
}

void OrderEngine::send_report(const std::string& name, const Endpoint& ep, Effects& out) {
    send_flush(PacketKind::order_flush_report, name, ep.self, ep.pending.members.front(),
               ep.pending.id, encode_report(make_report(name, ep)), out);
}

void OrderEngine::send_flush(PacketKind kind, const std::string& name, const Member& from,
                             const Member& to, std::uint64_t view_id, Bytes body, Effects& out) {
    OrderPacket m;
    m.kind = kind;
    m.source = from;
    m.target = to;
    m.group = name;
    m.view_id = view_id;
    m.body = std::move(body);
    ++counters_.packets_sent;
    out.send(to.pid.node, build(m));
}

// O30: the first member of view `view_id` collects one report from every member of that view
// that was in the reporters' old view, then decides. O39: an empty body is a query from the
// coordinator of `view_id` to a member of this node; a report of old view 0 answers one.
void OrderEngine::on_report(GroupState& g, const std::string& name, const OrderPacket& m, Time now,
                            Effects& out) {
    if (m.body.empty()) return on_query(g, name, m, out);
    // O30: only this node's current incarnation coordinates: a report addressed to a member of
    // an earlier incarnation (the coordinator crashed, maybe after deciding; this node restarted)
    // or of another node is not this engine's to decide.
    const View* view = known_view(g, m.target, m.view_id);
    if (m.target.pid.node != self_ || m.target.incarnation != incarnation_) {
        ++counters_.stale_dropped;
        return;
    }
    if (view == nullptr && answer_skipped(g, name, m, out)) return;
    if (view != nullptr && (view->members.front() != m.target || !index_of(*view, m.source))) {
        ++counters_.stale_dropped;
        return;
    }
    auto report = decode_report(m.body, options_.members_max);
    if (!report || report->contiguous.size() != report->old_members.size()) {
        ++counters_.malformed_dropped;
        return;
    }
    // The coordinations kept are the newest few: a report toward a view older than all of them
    // when they are full, or toward a view this node no longer knows, finds its decision
    // forgotten (O34 (9)) and makes none; a copy of it may still be at hand.
    if (view == nullptr ||
        (!g.coordinations.contains(m.view_id) && g.coordinations.size() >= recent_views_max &&
         m.view_id < g.coordinations.begin()->first)) {
        return resend_remembered(g, name, m, report->old_view_id, out);
    }
    auto [it, fresh] = g.coordinations.try_emplace(m.view_id);
    Coordination& c = it->second;
    if (fresh) {
        c.view = *view;
        c.next_query = now + options_.retransmit_interval;
    }
    archive_outcomes(g);
    if (report->old_view_id == 0) {
        c.skipped.insert(m.source);  // O39: it holds nothing of any view before this one.
        if (c.decided) return;
    } else if (c.decided) {
        return answer_decided(g, name, c, m.source, std::move(*report), now, out);
    } else {
        c.reports[m.source] = std::move(*report);
    }
    if (const auto missing = awaited(g, c); !missing.empty() || c.reports.empty()) {
        return send_queries(name, c, missing, now, out);
    }
    if (catch_up(name, c, out)) return;
    std::set<std::uint64_t> old_views;
    for (const auto& [reporter, r] : c.reports) old_views.insert(r.old_view_id);
    for (auto old : old_views) {
        std::vector<const FlushReport*> group;
        for (const auto& [reporter, r] : c.reports) {
            if (r.old_view_id == old) group.push_back(&r);
        }
        c.outcomes[old] = decide(g.mode, group, c.view);
    }
    c.decided = true;
    ++counters_.flushes;
    for (const auto& [member, r] : c.reports) send_outcome(name, c, member, out);
}

// O39 (g): a report toward a view this node skipped, to a member of its incarnation: no one
// decides that view, and the reporter is told so (the run of ids holding it).
bool OrderEngine::answer_skipped(const GroupState& g, const std::string& name, const OrderPacket& m,
                                 Effects& out) {
    const auto run = skip_run(g, m.view_id);
    if (!run) return false;
    send_flush(PacketKind::order_flush_outcome, name, m.target, m.source, m.view_id,
               encode_skipped(*run), out);
    out.trace(Time{}, "probe_order_flush_skipped_answer");
    return true;
}

// O30: a report toward a view whose flush this node no longer keeps (its decision is forgotten)
// gets a copy of the outcome decided then for its old view if one is still at hand; otherwise
// it is dropped.
void OrderEngine::resend_remembered(const GroupState& g, const std::string& name,
                                    const OrderPacket& m, std::uint64_t old, Effects& out) {
    const Bytes* o = remembered(g, m, old);
    if (o == nullptr) {
        ++counters_.stale_dropped;
        return;
    }
    send_flush(PacketKind::order_flush_outcome, name, m.target, m.source, m.view_id, *o, out);
    const auto kept = g.archived.find({m.view_id, old});
    const bool archived = kept != g.archived.end() && &kept->second == o;
    out.trace(Time{}, archived ? "probe_order_flush_archived_outcome"
                               : "probe_order_flush_remembered_outcome");
}

// O30: the coordinations beyond the newest recent_views_max are forgotten, but their decided
// outcomes are kept for a member that missed one (it was paused, O34 (9)): those of views
// within view_block_ids ids of the newest coordination (a member still flushing toward an older
// one is redirected by a view of a later block, O29), at most archived_bytes_max bytes, the
// oldest dropped first.
void OrderEngine::archive_outcomes(GroupState& g) {
    while (g.coordinations.size() > recent_views_max) {
        auto oldest = g.coordinations.begin();
        for (auto& [old, body] : oldest->second.outcomes) {
            g.archived_bytes += body.size();
            g.archived[{oldest->first, old}] = std::move(body);
        }
        g.coordinations.erase(oldest);
    }
    if (g.coordinations.empty()) return;
    const std::uint64_t newest = g.coordinations.rbegin()->first;
    while (!g.archived.empty() && (g.archived.begin()->first.first + view_block_ids <= newest ||
                                   g.archived_bytes > archived_bytes_max)) {
        g.archived_bytes -= g.archived.begin()->second.size();
        g.archived.erase(g.archived.begin());
    }
}

// O30: the view `id` as the coordinator `self` knows it: among the last views its node was
// given, or its own member's installed, pending or queued view. A flush may wait longer than
// recent_views_max views (a member it waits for is paused while views that keep every member
// are queued behind it, O29), and its coordinator must still take the reports toward it.
const View* OrderEngine::known_view(const GroupState& g, const Member& self, std::uint64_t id) {
    if (auto it = g.recent.find(id); it != g.recent.end()) return &it->second;
    auto it = g.endpoints.find(self.pid);
    if (it == g.endpoints.end() || it->second.self != self) return nullptr;
    const Endpoint& ep = it->second;
    if (ep.view.id == id) return &ep.view;
    if (ep.flushing && ep.pending.id == id) return &ep.pending;
    for (const View& v : ep.queued) {
        if (v.id == id) return &v;
    }
    return nullptr;
}

// O30: a repeated report after the decision is answered with the outcome for the reporter's
// old view. O39: a reporter whose report was overtaken by a skipped view's outcome (it installed
// that view and froze it at once, so its new report holds nothing) reports that view as its old
// view: it gets the outcome decided for that old view, or one decided from its empty report.
void OrderEngine::answer_decided(const GroupState& g, const std::string& name, Coordination& c,
                                 const Member& from, FlushReport report, Time now, Effects& out) {
    auto known = c.reports.find(from);
    // Not waited for, or a late report whose old view is not decided yet (O39 (f)).
    if (known == c.reports.end() || !c.outcomes.contains(known->second.old_view_id)) {
        return decide_late(g, name, c, from, std::move(report), now, out);
    }
    const bool empty =
        report.delivered_base == 0 && report.delivered.empty() && report.messages.empty();
    if (report.old_view_id > known->second.old_view_id && empty) {
        known->second = std::move(report);
        const std::uint64_t old = known->second.old_view_id;
        if (!c.outcomes.contains(old)) c.outcomes[old] = decide(g.mode, {&known->second}, c.view);
        out.trace(Time{}, "probe_order_flush_overtaken_report");
    }
    send_outcome(name, c, from, out);
}

// O39: a report after the decision from a member it did not wait for, of an old view that no
// reporter had (the member joined in a view that every reporter's node and this one skipped,
// so no report named it): that old view is decided as the others were, once every member of
// the new view in it has reported (or answered a query with nothing), among its reporters.
void OrderEngine::decide_late(const GroupState& g, const std::string& name, Coordination& c,
                              const Member& from, FlushReport report, Time now, Effects& out) {
    const std::uint64_t old = report.old_view_id;
    if (c.outcomes.contains(old)) {
        ++counters_.stale_dropped;  // Not a survivor the decision of its old view waited for.
        return;
    }
    c.reports[from] = std::move(report);
    std::vector<const FlushReport*> group;
    std::vector<Member> missing;
    for (const auto& [reporter, r] : c.reports) {
        if (r.old_view_id != old) continue;
        group.push_back(&r);
        for (const Member& member : r.old_members) {
            if (!index_of(c.view, member) || c.reports.contains(member) ||
                c.skipped.contains(member) ||
                std::find(missing.begin(), missing.end(), member) != missing.end()) {
                continue;
            }
            missing.push_back(member);
        }
    }
    if (!missing.empty()) return send_queries(name, c, missing, now, out);
    c.outcomes[old] = decide(g.mode, group, c.view);
    out.trace(Time{}, "probe_order_flush_late_old_view");
    for (const auto& [member, r] : c.reports) {
        if (r.old_view_id == old) send_outcome(name, c, member, out);
    }
}

// O30: every member of the new view that is in a reporter's old view must report: survivors
// may come from different old views (a member that joined a view the others never installed).
// So must every new-view member of an earlier view this node was given (one that joined in a
// view the reporters never installed is in no reported old view). O39: but not one that
// answered a query holding nothing before the new view.
std::vector<Member> OrderEngine::awaited(const GroupState& g, const Coordination& c) {
    const auto was_member = [&](const Member& member) {
        for (const auto& [reporter, r] : c.reports) {
            if (std::find(r.old_members.begin(), r.old_members.end(), member) !=
                    r.old_members.end() ||
                std::find(r.expected.begin(), r.expected.end(), member) != r.expected.end()) {
                return true;
            }
        }
        return std::any_of(g.recent.begin(), g.recent.end(), [&](const auto& earlier) {
            return earlier.first < c.view.id && index_of(earlier.second, member);
        });
    };
    std::vector<Member> missing;
    for (const Member& member : c.view.members) {
        if (c.reports.contains(member) || c.skipped.contains(member)) continue;
        if (was_member(member)) missing.push_back(member);
    }
    return missing;
}

// O39: once a retransmit_interval after the first report, and every interval after, the
// coordinator asks each member it still waits for to report: an order_flush_report with an
// empty body, to that member, named by the new view.
void OrderEngine::send_queries(const std::string& name, Coordination& c,
                               const std::vector<Member>& awaited, Time now, Effects& out) {
    if (awaited.empty() || now < c.next_query) return;
    c.next_query = now + options_.retransmit_interval;
    for (const Member& member : awaited) {
        send_flush(PacketKind::order_flush_report, name, c.view.members.front(), member, c.view.id,
                   {}, out);
        out.trace(Time{}, "probe_order_flush_query");
    }
}

// O39: a member asked by the coordinator of view N answers when its report would otherwise
// never come: with nothing (a report of old view 0) when it installed N or a later view; with
// its flush report when it is flushing toward a later view and its node skipped N. Otherwise
// N is still to come to its node (or came, and a later view redirected its flush, as it will
// the others'), and it reports as usual.
void OrderEngine::on_query(GroupState& g, const std::string& name, const OrderPacket& m,
                           Effects& out) {
    auto it = g.endpoints.find(m.target.pid);
    if (it == g.endpoints.end() || it->second.self != m.target) {
        ++counters_.stale_dropped;
        return;
    }
    const Endpoint& ep = it->second;
    FlushReport answer;  // Old view 0: nothing of any view before N.
    if (ep.view.id >= m.view_id) {
        out.trace(Time{}, "probe_order_flush_nothing");
    } else if (ep.flushing && ep.pending.id > m.view_id && skipped(g, m.view_id)) {
        answer = make_report(name, ep);
        out.trace(Time{}, "probe_order_flush_skipped_view");
    } else {
        return;
    }
    OrderPacket report;
    report.kind = PacketKind::order_flush_report;
    report.source = ep.self;
    report.target = m.source;
    report.group = name;
    report.view_id = m.view_id;
    report.body = encode_report(answer);
    ++counters_.packets_sent;
    out.send(report.target.pid.node, build(report));
}

// O39: the node was given a view below `id` and then, next, one above it. Kept as runs of
// skipped ids, not as the views given: a flush may wait far longer than the last 8 views (a
// paused member's node skipped view 6 by a reset to 21 and was then given 22..44, while the
// others still flushed toward 6, O29).
bool OrderEngine::skipped(const GroupState& g, std::uint64_t id) {
    return skip_run(g, id).has_value();
}

std::optional<SkippedViews> OrderEngine::skip_run(const GroupState& g, std::uint64_t id) {
    for (const auto& [first, last] : g.skips) {
        if (first <= id && id <= last) return SkippedViews{first, last};
    }
    return std::nullopt;
}

namespace {

// The sort key of a message the flush adds beyond the longest delivered sequence (O31).
std::tuple<std::int64_t, std::uint64_t, std::uint32_t, std::uint32_t> rest_key(OrderMode mode,
                                                                               const Held& h) {
    switch (mode) {
        case OrderMode::absolute:
            return {h.entry.timestamp, 0, 0, h.sender};
        case OrderMode::cbcast:
            return {0,
                    std::accumulate(h.entry.clock.begin(), h.entry.clock.end(), std::uint64_t{0}),
                    0, h.sender};
        case OrderMode::abcast:
            return {0, h.number.value, h.number.member, h.sender};
        default:
            return {0, h.entry.seq, 0, h.sender};
    }
}

// O31: each sender's messages take the places its messages got in `list`, in stream order.
void restore_fifo(std::vector<const Held*>& list) {
    std::map<std::uint32_t, std::vector<const Held*>> by_sender;
    for (const Held* h : list) by_sender[h->sender].push_back(h);
    for (auto& [sender, held] : by_sender) {
        std::sort(held.begin(), held.end(),
                  [](const Held* a, const Held* b) { return a->entry.seq < b->entry.seq; });
    }
    std::map<std::uint32_t, std::size_t> next;
    for (auto& h : list) h = by_sender[h->sender][next[h->sender]++];
}

// ABCAST: what the reports know of a message's number: final if any survivor has the commit,
// else the largest proposal any survivor made.
void merge(Held& into, const Held& h) {
    if (into.committed) return;
    if (h.committed || h.number > into.number) {
        into.committed = h.committed;
        into.number = h.number;
    }
}

// O31: a sender's messages up to the longest prefix any survivor received contiguously; for
// CBCAST, also only messages whose vector every included stream covers.
std::vector<std::uint64_t> limits_of(OrderMode mode, const std::vector<const FlushReport*>& reports,
                                     const std::map<MessageKey, Held>& all) {
    const std::size_t n = reports.front()->old_members.size();
    std::vector<std::uint64_t> limit(n, 0);
    for (const FlushReport* r : reports) {
        for (std::size_t j = 0; j < n && j < r->contiguous.size(); ++j) {
            limit[j] = std::max(limit[j], r->contiguous[j]);
        }
    }
    for (bool changed = mode == OrderMode::cbcast; changed;) {
        changed = false;
        for (const auto& [key, h] : all) {
            if (key.second > limit[key.first] || h.entry.clock.size() != n) continue;
            for (std::size_t k = 0; k < n; ++k) {
                if (h.entry.clock[k] <= limit[k]) continue;
                limit[key.first] = key.second - 1;
                changed = true;
                break;
            }
        }
    }
    return limit;
}

}  // namespace

// O31: the outcome is the longest delivered sequence of any survivor (total orders), then every
// other message within the limits in a deterministic order that respects FIFO (and causality).
// O31a: a reporter whose old view is older than another reporter's, where that other reporter
// installed its old view by an outcome for exactly the lagging one's old view, gets that
// outcome (it missed it) and reports again; the decision waits for it.
bool OrderEngine::catch_up(const std::string& name, Coordination& c, Effects& out) {
    bool sent = false;
    for (auto it = c.reports.begin(); it != c.reports.end();) {
        const Bytes* previous = nullptr;
        for (const auto& [other, r] : c.reports) {
            if (r.old_view_id <= it->second.old_view_id || r.previous_outcome.empty()) continue;
            auto o = decode_outcome(r.previous_outcome, options_.members_max);
            if (o && o->old_view_id == it->second.old_view_id) previous = &r.previous_outcome;
        }
        if (previous == nullptr) {
            ++it;
            continue;
        }
        send_flush(PacketKind::order_flush_outcome, name, c.view.members.front(), it->first,
                   c.view.id, *previous, out);
        out.trace(Time{}, "probe_order_flush_catch_up");
        it = c.reports.erase(it);
        sent = true;
    }
    return sent;
}

Bytes OrderEngine::decide(OrderMode mode, const std::vector<const FlushReport*>& reports,
                          const View& next) {
    std::map<MessageKey, Held> all;
    const FlushReport* longest = nullptr;
    for (const FlushReport* r : reports) {
        for (const auto& h : r->messages) {
            auto [it, fresh] = all.try_emplace(MessageKey{h.sender, h.entry.seq}, h);
            if (!fresh) merge(it->second, h);
        }
        // O35: a reporter's delivered sequence is delivered_base stable messages, then the list.
        if (longest == nullptr || r->delivered_base + r->delivered.size() >
                                      longest->delivered_base + longest->delivered.size()) {
            longest = r;
        }
    }
    if (options_.mutations.flush_intersection) {  // A deliberate bug (OrderMutations).
        std::erase_if(all, [&](const auto& entry) {
            return std::any_of(reports.begin(), reports.end(), [&](const FlushReport* r) {
                return std::none_of(r->messages.begin(), r->messages.end(), [&](const Held& h) {
                    return MessageKey{h.sender, h.entry.seq} == entry.first;
                });
            });
        });
    }
    const auto limit = limits_of(mode, reports, all);
    FlushOutcome o;
    o.old_view_id = longest->old_view_id;
    o.view = next;
    std::set<MessageKey> taken;
    const bool total =
        mode == OrderMode::sequencer || mode == OrderMode::abcast || mode == OrderMode::absolute;
    if (total) {
        for (const auto& key : longest->delivered) {
            auto it = all.find(key);
            if (it == all.end() || !taken.insert(key).second) continue;
            o.messages.push_back(it->second);
        }
    }
    std::vector<const Held*> rest;
    for (const auto& [key, h] : all) {
        if (taken.contains(key)) continue;
        if (key.first >= limit.size() || key.second > limit[key.first]) {
            ++counters_.flush_discarded;
            continue;
        }
        rest.push_back(&h);
    }
    std::sort(rest.begin(), rest.end(), [&](const Held* a, const Held* b) {
        return rest_key(mode, *a) < rest_key(mode, *b);
    });
    restore_fifo(rest);
    for (const Held* h : rest) o.messages.push_back(*h);
    return encode_outcome(o);
}

void OrderEngine::send_outcome(const std::string& name, const Coordination& c, const Member& to,
                               Effects& out) {
    send_flush(PacketKind::order_flush_outcome, name, c.view.members.front(), to, c.view.id,
               c.outcomes.at(c.reports.at(to).old_view_id), out);
}

// O32: deliver, in the outcome's order, every message of it not delivered yet, then install.
void OrderEngine::on_outcome(const GroupState& g, const std::string& name, Endpoint& ep,
                             const OrderPacket& m, Time now, Effects& out) {
    if (m.body.size() >= 8 &&
        std::all_of(m.body.begin(), m.body.begin() + 8, [](std::uint8_t b) { return b == 0; })) {
        return on_skipped(name, ep, m, now, out);  // Old view 0: O39 (g).
    }
    // From the pending view's coordinator, or (O39) from the coordinator of a view between the
    // old and the pending one that this node skipped, which this member answered a query of.
    const bool from_pending = m.view_id == ep.pending.id && m.source == ep.pending.members.front();
    const bool from_skipped =
        m.view_id > ep.view.id && m.view_id < ep.pending.id && skipped(g, m.view_id);
    if (!ep.flushing || (!from_pending && !from_skipped)) {
        ++counters_.stale_dropped;
        return;
    }
    auto o = decode_outcome(m.body, options_.members_max);
    if (!o) {
        ++counters_.malformed_dropped;
        return;
    }
    if (o->old_view_id != ep.view.id) {
        ++counters_.stale_dropped;  // Decided for members of another old view (O29).
        return;
    }
    // O31a: an earlier flush's outcome (O39: or a skipped view's), for a view after the old one
    // that holds this member.
    const bool caught_up = o->view.id != ep.pending.id;
    const View pending = ep.pending;
    if (caught_up &&
        (o->view.id <= ep.view.id || o->view.id > m.view_id || !index_of(o->view, ep.self))) {
        ++counters_.malformed_dropped;
        return;
    }
    for (const auto& h : o->messages) {
        if (h.sender >= ep.streams.size()) continue;
        if (h.entry.seq <= ep.streams[h.sender].stable) continue;  // Delivered, discarded.
        const Received* held = ep.streams[h.sender].entries.find(h.entry.seq);
        if (held != nullptr && held->delivered) continue;
        ep.delivered_order.push_back(MessageKey{h.sender, h.entry.seq});
        ep.out.seen_timestamp = std::max(ep.out.seen_timestamp, h.entry.timestamp);
        deliver_message(name, ep, ep.view.members[h.sender], h.entry, out);
    }
    ep.last_outcome = m.body;
    install(name, ep, o->view, now, out);
    if (caught_up) {
        begin_flush(name, ep, pending, now, out);
        return;
    }
    if (!ep.queued.empty()) flush_queued(name, ep, now, out);
}

// The queued views as if they arrived now, one by one (O29): the first is the next pending
// view; each later one that keeps every member of the pending view (and, as all of them here,
// is in its block of ids) is queued behind it, each that loses one replaces it and drops the
// queue, as on_view does. (Stopping at the first view
// that keeps all left a member flushing toward a view whose coordinator a later queued view had
// dropped: it reported for ever to a dead member, O34 (7).)
void OrderEngine::flush_queued(const std::string& name, Endpoint& ep, Time now, Effects& out) {
    View next = ep.queued.front();
    ep.queued.pop_front();
    std::deque<View> kept;
    for (auto& later : ep.queued) {
        if (queues_behind(next, later)) {
            kept.push_back(std::move(later));
            continue;
        }
        next = std::move(later);
        kept.clear();
    }
    ep.queued = std::move(kept);
    begin_flush(name, ep, next, now, out);
}

// O39 (g): the coordinator of the pending view answered that its node skipped views
// first..last, the pending one among them: it never decides them, so the flush can never end
// there (as if the view had lost its coordinator). The member drops the pending view and every
// queued view of the run with the same coordinator, and takes the views left as if they arrived
// now (O29); with none left it keeps reporting until a later view comes.
void OrderEngine::on_skipped(const std::string& name, Endpoint& ep, const OrderPacket& m, Time now,
                             Effects& out) {
    const auto run = decode_skipped(m.body);
    if (!run) {
        ++counters_.malformed_dropped;
        return;
    }
    if (!ep.flushing || m.view_id != ep.pending.id || m.source != ep.pending.members.front() ||
        m.view_id < run->first || m.view_id > run->last) {
        ++counters_.stale_dropped;
        return;
    }
    std::erase_if(ep.queued, [&](const View& v) {
        return v.id >= run->first && v.id <= run->last && v.members.front() == m.source;
    });
    out.trace(Time{}, "probe_order_flush_coordinator_skipped");
    if (!ep.queued.empty()) flush_queued(name, ep, now, out);
}

// O30: the outcome that took old view `old` to the view report `m` names, as this node still
// holds it: the one that installed a local member's view (each member keeps it for O31a), one a
// reporter of a flush kept here reported as its previous outcome, or one kept from a forgotten
// coordination (archive_outcomes). The decision itself is forgotten (O34 (9) (ii)), but these
// are copies of it: sending one again decides nothing anew. Only the view's coordinator sends
// it, and only to a member of that view.
const Bytes* OrderEngine::remembered(const GroupState& g, const OrderPacket& m,
                                     std::uint64_t old) const {
    const auto matches = [&](const Bytes& body) {
        if (body.empty()) return false;
        const auto o = decode_outcome(body, options_.members_max);
        return o && o->old_view_id == old && o->view.id == m.view_id && !o->view.members.empty() &&
               o->view.members.front() == m.target && index_of(o->view, m.source);
    };
    for (const auto& [pid, ep] : g.endpoints) {
        if (matches(ep.last_outcome)) return &ep.last_outcome;
    }
    for (const auto& [view_id, c] : g.coordinations) {
        for (const auto& [member, r] : c.reports) {
            if (matches(r.previous_outcome)) return &r.previous_outcome;
        }
    }
    if (auto it = g.archived.find({m.view_id, old});
        it != g.archived.end() && matches(it->second)) {
        return &it->second;
    }
    return nullptr;
}

}  // namespace herald::proto::order

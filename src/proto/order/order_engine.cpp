// OrderEngine: commands, packet dispatch, the reliable per-sender streams (O3-O9) and the
// timer. Delivery order per mode is order_delivery.cpp; views and the flush order_flush.cpp.
// Layer: proto/order. Rules: docs/ordering.md.
#include "proto/order/order_engine.h"

#include <algorithm>

#include "core/assert.h"
#include "proto/fields.h"

namespace herald::proto::order {

using wire::PacketKind;

namespace {
constexpr TimerId tick_timer{1};
}  // namespace

OrderEngine::OrderEngine(const EngineContext& context, const OrderOptions& options)
    : self_(context.self), incarnation_(context.incarnation), options_(options) {
    HERALD_ASSERT(context.incarnation >= 1);
    HERALD_ASSERT(options.members_max >= 1);
}

Status OrderEngine::on_create(std::string_view name, OrderMode mode) {
    if (name.empty() || name.size() > options_.name_bytes_max) {
        return fail(Errc::invalid_argument, "group name");
    }
    if (auto it = groups_.find(name); it != groups_.end()) {
        if (it->second.mode == mode) return {};
        return fail(Errc::already_exists, "group exists with another mode");
    }
    if (groups_.size() >= options_.groups_max) return fail(Errc::queue_full, "groups_max");
    groups_[std::string(name)].mode = mode;
    return {};
}

void OrderEngine::on_delete(std::string_view name) {
    if (auto it = groups_.find(name); it != groups_.end()) groups_.erase(it);
}

std::optional<std::uint32_t> OrderEngine::index_of(const View& v, const Member& m) {
    auto it = std::lower_bound(v.members.begin(), v.members.end(), m);
    if (it == v.members.end() || *it != m) return std::nullopt;
    return static_cast<std::uint32_t>(it - v.members.begin());
}

const Endpoint* OrderEngine::endpoint(std::string_view name, Pid member) const {
    auto g = groups_.find(name);
    if (g == groups_.end()) return nullptr;
    auto it = g->second.endpoints.find(member);
    return it == g->second.endpoints.end() ? nullptr : &it->second;
}

const View* OrderEngine::installed(std::string_view name, Pid member) const {
    const Endpoint* ep = endpoint(name, member);
    return ep == nullptr || ep->view.id == 0 ? nullptr : &ep->view;
}

void OrderEngine::on_multicast(OperationId op, Pid sender, std::string_view name, Bytes body,
                               Time now, Effects& out, bool relay) {
    auto g = groups_.find(name);
    if (g == groups_.end()) return out.complete(op, fail(Errc::not_found, "no such group"));
    auto it = g->second.endpoints.find(sender);
    if (it == g->second.endpoints.end() || it->second.view.id == 0) {
        return out.complete(op, fail(Errc::not_found, "sender has no view of the group"));
    }
    if (body.size() > options_.body_bytes_max) return out.complete(op, fail(Errc::too_large));
    Endpoint& ep = it->second;
    const std::uint64_t unacked =
        ep.out.next_seq - 1 - *std::min_element(ep.out.acked.begin(), ep.out.acked.end());
    if (ep.flushing) return out.complete(op, fail(Errc::would_block, "flush in progress"));
    if (ep.starting) ep.starting = !every_stream_started(ep);
    if (ep.starting) return out.complete(op, fail(Errc::would_block, "view starting"));  // O23a.
    if (unacked >= options_.send_window_max ||
        ep.out.proposals.size() >= options_.send_window_max) {
        return out.complete(op, fail(Errc::would_block, "send_window_max"));
    }
    if (ep.streams[ep.index].entries.size() >= options_.retained_max) {
        return out.complete(op, fail(Errc::would_block, "retained_max"));
    }
    StreamEntry e;
    e.type = EntryType::data;
    e.payload = std::move(body);
    e.relay = relay;
    if (g->second.mode == OrderMode::cbcast) {
        // O11: increment its own element (its sends: the seq this message gets; its own
        // earlier messages may still wait for credit to be delivered to itself, O37), then
        // send the vector with the message.
        for (std::size_t j = 0; j < ep.streams.size(); ++j) {
            e.clock.push_back(j == ep.index ? ep.out.next_seq : ep.streams[j].delivered);
        }
    }
    Bytes view_id;
    put_u64(view_id, ep.view.id);
    out.complete(op, std::move(view_id));
    send_entry(g->second, g->first, ep, std::move(e), now, out);
    pump(g->second, g->first, ep, now, out);
    arm(now, out);
}

// O5: the next entry of the member's own stream goes to every other member, and into its own
// stream as received (a member receives its own messages through the same rules).
void OrderEngine::send_entry(GroupState& g, const std::string& name, Endpoint& ep,
                             StreamEntry entry, Time now, Effects& out) {
    entry.seq = ep.out.next_seq++;
    if (g.mode == OrderMode::absolute) {
        // O23: the clock, strictly growing; a null is at least the timestamp it answers (O25);
        // above the other members' first entries in the view (O23a).
        std::int64_t floor = std::max(ep.out.last_timestamp, ep.out.start_floor) + 1;
        if (entry.type == EntryType::null) floor = std::max(floor, entry.timestamp);
        entry.timestamp = std::max(wall(now), floor);
        ep.out.last_timestamp = entry.timestamp;
    }
    if (g.mode == OrderMode::abcast && entry.type == EntryType::data) {
        ep.out.proposals.open(entry.seq);
    }
    transmit_first(name, ep, entry, out);  // O38.
    ep.out.acked[ep.index] = entry.seq;
    Stream& own = ep.streams[ep.index];
    own.contiguous = entry.seq;
    own.entries.try_emplace(entry.seq).first->entry = std::move(entry);
}

void OrderEngine::transmit_entry(const std::string& name, const Endpoint& ep,
                                 const StreamEntry& entry, std::uint32_t to, Effects& out) {
    OrderPacket m;
    m.kind = PacketKind::order_data;
    m.source = ep.self;
    m.target = ep.view.members[to];
    m.group = name;
    m.view_id = ep.view.id;
    m.entry = entry;
    ++counters_.packets_sent;
    out.send(m.target.pid.node, build(m));
}

void OrderEngine::send_small(PacketKind kind, const std::string& name, const Endpoint& ep,
                             std::uint32_t to, std::uint64_t value, Number number, Effects& out) {
    OrderPacket m;
    m.kind = kind;
    m.source = ep.self;
    m.target = ep.view.members[to];
    m.group = name;
    m.view_id = ep.view.id;
    m.ack = value;
    m.seq = value;
    m.number = number;
    ++counters_.packets_sent;
    out.send(m.target.pid.node, build(m));
}

void OrderEngine::on_packet(NodeId from, wire::Packet& packet, Time now, Effects& out) {
    auto parsed = parse(from, packet, options_.name_bytes_max, options_.members_max);
    if (!parsed) {
        ++counters_.malformed_dropped;
        out.trace(now, "malformed", parsed.error().detail);
        return;
    }
    OrderPacket& m = *parsed;
    auto g = groups_.find(m.group);
    if (g == groups_.end()) {
        // O38: a group address may be shared with groups this node does not know.
        ++(m.to_group() ? counters_.unclaimed_dropped : counters_.stale_dropped);
        return;
    }
    if (m.kind == PacketKind::order_flush_report) {
        on_report(g->second, g->first, m, now, out);
        return arm(now, out);
    }
    if (m.to_group()) {
        on_group_data(g->second, g->first, m, now, out);
        return arm(now, out);
    }
    auto it = g->second.endpoints.find(m.target.pid);
    if (it == g->second.endpoints.end() || it->second.self != m.target) {
        ++counters_.stale_dropped;
        return;
    }
    Endpoint& ep = it->second;
    if (m.kind == PacketKind::order_flush_outcome) {
        on_outcome(g->second, g->first, ep, m, now, out);
        return arm(now, out);
    }
    const auto index = index_of(ep.view, m.source);
    if (ep.flushing || ep.view.id != m.view_id || !index) {
        ++counters_.stale_dropped;  // O8: another view, or a flush froze this one.
        return;
    }
    // O36: a relayed entry belongs to its origin's stream; the origin is another member than
    // the relayer and the target.
    if (m.origin &&
        (*m.origin >= ep.view.members.size() || *m.origin == *index || *m.origin == ep.index)) {
        ++counters_.malformed_dropped;
        return;
    }
    switch (m.kind) {
        case PacketKind::order_data:
            on_data(g->second, g->first, ep, m.origin.value_or(*index), m, now, out);
            break;
        case PacketKind::order_ack:
            on_ack(g->first, ep, *index, m, out);
            break;
        case PacketKind::order_propose:
            on_propose(g->second, g->first, ep, *index, m, now, out);
            break;
        default:
            break;
    }
    arm(now, out);
}

// O6: keep every entry once, acknowledge the contiguous prefix, process in stream order.
void OrderEngine::on_data(GroupState& g, const std::string& name, Endpoint& ep, std::uint32_t from,
                          OrderPacket& m, Time now, Effects& out) {
    Stream& s = ep.streams[from];
    const std::uint64_t seq = m.entry.seq;
    const bool cbcast_data = g.mode == OrderMode::cbcast && m.entry.type == EntryType::data;
    if (cbcast_data && (m.entry.clock.size() != ep.view.members.size() ||
                        m.entry.clock[from] != seq || m.entry.type != EntryType::data)) {
        ++counters_.malformed_dropped;  // O11: S[i] of a message is its place in i's stream.
        return;
    }
    if (g.mode == OrderMode::cbcast && m.entry.type != EntryType::data) {
        ++counters_.malformed_dropped;
        return;
    }
    if (!takes(ep, s, seq)) return;
    // O36: a relayed copy is not acknowledged (acks speak for the origin's own sends) and not
    // answered with a proposal; the origin's copies are.
    const bool relayed = m.origin.has_value();
    if (seq <= s.stable) {
        ++counters_.duplicates_dropped;  // Delivered everywhere and discarded (O35).
        if (!relayed) ack_later(name, ep, from);
        return;
    }
    auto [held, fresh] = s.entries.try_emplace(seq);
    if (fresh) {
        if (m.entry.relay &&
            !options_.mutations
                 .no_relay) {  // O36: first sight of an ft-atomic message: re-multicast it.
            const auto via = index_of(ep.view, m.source);
            relay(name, ep, from, via.value_or(from), m.entry, out);
            if (relayed) {
                ++counters_.relayed_first;
                out.trace(now, "probe_order_relayed_first");
            }
        }
        if (g.mode == OrderMode::absolute) {
            if (m.entry.timestamp > wall(now) + options_.skew_bound.ns()) {
                ++counters_.skew_violations;  // O26.
                out.trace(now, "probe_order_skew_violation");
            }
            // Only data waits on the other members' streams; a null answering a null would
            // never end.
            if (m.entry.type == EntryType::data) {
                ep.out.seen_timestamp = std::max(ep.out.seen_timestamp, m.entry.timestamp);
            }
            if (seq == 1) ep.out.start_floor = std::max(ep.out.start_floor, m.entry.timestamp);
        }
        held->entry = std::move(m.entry);
        while (s.entries.contains(s.contiguous + 1)) ++s.contiguous;
    } else {
        ++counters_.duplicates_dropped;
        const Received& r = *held;
        // O14: a sender that asks again gets the same proposal.
        // (Once committed the sender has every proposal, and r.number is the final number.)
        if (r.proposed && !r.committed && !relayed)
            send_small(PacketKind::order_propose, name, ep, from, seq, r.number, out);
    }
    // Acknowledged after processing, so that the done vector it carries is current (O35).
    if (fresh) pump(g, name, ep, now, out);
    // O25: a data message this member's stream has not passed waits on it: a null at once.
    if (fresh && g.mode == OrderMode::absolute) send_null(g, name, ep, now, out);
    if (!relayed) ack_later(name, ep, from);
}

// O6: one cumulative ack per stream per batch, sent by on_batch_end.
void OrderEngine::ack_later(const std::string& name, Endpoint& ep, std::uint32_t from) {
    ep.ack_due[from] = 1;
    list_for_batch(name, ep);
}

// O17: the sequencer's order of this batch as `orders` entries: consecutive messages of one
// stream make one run; an entry holds at most order_runs_max runs and orders_entry_max
// messages.
void OrderEngine::send_orders(GroupState& g, const std::string& name, Endpoint& ep, Time now,
                              Effects& out) {
    std::vector<MessageKey> due = std::move(ep.orders_due);
    ep.orders_due.clear();
    StreamEntry entry;
    entry.type = EntryType::orders;
    std::uint32_t total = 0;
    for (const auto& [member, seq] : due) {
        if (total == orders_entry_max ||
            (entry.runs.size() == order_runs_max && !extends(entry.runs.back(), member, seq))) {
            send_entry(g, name, ep, std::move(entry), now, out);
            entry = StreamEntry{};
            entry.type = EntryType::orders;
            total = 0;
        }
        if (!entry.runs.empty() && extends(entry.runs.back(), member, seq)) {
            ++entry.runs.back().count;
        } else {
            entry.runs.push_back(OrderRun{member, seq, 1});
        }
        ++total;
    }
    if (!entry.runs.empty()) send_entry(g, name, ep, std::move(entry), now, out);
}

// O15: the commits of this batch as `commits` entries of at most commits_entry_max each.
void OrderEngine::send_commits(GroupState& g, const std::string& name, Endpoint& ep, Time now,
                               Effects& out) {
    std::vector<Commit> due = std::move(ep.commits_due);
    ep.commits_due.clear();
    for (std::size_t first = 0; first < due.size(); first += commits_entry_max) {
        StreamEntry entry;
        entry.type = EntryType::commits;
        const std::size_t last = std::min<std::size_t>(due.size(), first + commits_entry_max);
        entry.commits.assign(due.begin() + static_cast<std::ptrdiff_t>(first),
                             due.begin() + static_cast<std::ptrdiff_t>(last));
        send_entry(g, name, ep, std::move(entry), now, out);
    }
}

// O13: each member's proposals of this batch in one order_propose (more in several).
void OrderEngine::send_proposals(const std::string& name, Endpoint& ep, Effects& out) {
    for (std::uint32_t j = 0; j < ep.proposals_due.size(); ++j) {
        auto due = std::move(ep.proposals_due[j]);
        ep.proposals_due[j].clear();
        for (std::size_t first = 0; first < due.size(); first += proposals_more_max + 1) {
            OrderPacket m;
            m.kind = PacketKind::order_propose;
            m.source = ep.self;
            m.target = ep.view.members[j];
            m.group = name;
            m.view_id = ep.view.id;
            m.seq = due[first].first;
            m.number = due[first].second;
            const std::size_t last =
                std::min<std::size_t>(due.size(), first + proposals_more_max + 1);
            for (std::size_t k = first + 1; k < last; ++k) {
                m.more.emplace_back(due[k].first, due[k].second.value);
            }
            ++counters_.packets_sent;
            out.send(m.target.pid.node, build(m));
        }
    }
}

void OrderEngine::list_for_batch(const std::string& name, Endpoint& ep) {
    if (ep.batch_listed) return;
    ep.batch_listed = true;
    batch_.emplace_back(name, ep.self.pid);
}

void OrderEngine::on_batch_end(Time now, Effects& out) {
    auto listed = std::move(batch_);
    batch_.clear();
    for (const auto& [name, pid] : listed) {
        auto g = groups_.find(name);
        if (g == groups_.end()) continue;
        auto it = g->second.endpoints.find(pid);
        if (it == g->second.endpoints.end()) continue;
        Endpoint& ep = it->second;
        ep.batch_listed = false;
        if (ep.flushing || ep.view.id == 0) continue;  // O8: a frozen view answers nothing.
        if (!ep.orders_due.empty() || !ep.commits_due.empty()) {
            send_orders(g->second, g->first, ep, now, out);
            send_commits(g->second, g->first, ep, now, out);
            pump(g->second, g->first, ep, now, out);
        }
        send_proposals(g->first, ep, out);
        for (std::uint32_t j = 0; j < ep.ack_due.size(); ++j) {
            if (ep.ack_due[j] == 0) continue;
            ep.ack_due[j] = 0;
            send_ack(g->first, ep, j, false, false, out);
        }
    }
    arm(now, out);
}

// O22 and O37: whether the member takes entry `seq` of stream `s` (else it is dropped, counted,
// and not acknowledged: the sender sends it again). Beyond the receive window, no; out of
// credit, no new entry: its senders' windows fill and push back, and their retransmissions
// bring the entries once it has taken some.
bool OrderEngine::takes(const Endpoint& ep, const Stream& s, std::uint64_t seq) {
    if (seq > s.contiguous + options_.receive_window_max) {
        ++counters_.window_dropped;
        return false;
    }
    if (seq > s.contiguous && !has_credit(ep.self.pid)) {
        ++counters_.credit_dropped;
        return false;
    }
    return true;
}

// O36, the lecture's fault-tolerant atomic multicast: a member that sees an ft-atomic message
// for the first time sends it to every other member but its origin and the member it came
// from, as order_data from itself naming the origin's index (order_origin). Sent once: a lost
// relay is repaired by the origin's retransmissions, or, if the origin crashed, by the flush.
void OrderEngine::relay(const std::string& name, const Endpoint& ep, std::uint32_t origin,
                        std::uint32_t via, const StreamEntry& entry, Effects& out) {
    OrderPacket m;
    m.kind = PacketKind::order_data;
    m.source = ep.self;
    m.group = name;
    m.view_id = ep.view.id;
    m.entry = entry;
    m.origin = origin;
    for (std::uint32_t j = 0; j < ep.view.members.size(); ++j) {
        if (j == ep.index || j == origin || j == via) continue;
        m.target = ep.view.members[j];
        ++counters_.packets_sent;
        ++counters_.relays_sent;
        out.send(m.target.pid.node, build(m));
    }
}

OrderCounters OrderEngine::counters() const {
    OrderCounters c = counters_;
    for (const auto& [name, g] : groups_) {
        for (const auto& [pid, ep] : g.endpoints) {
            for (const auto& s : ep.streams) c.held += s.entries.size();
        }
    }
    return c;
}

// O6, O35: the cumulative ack of the target's stream, with the entries of this member's done
// vector that changed since the last ones sent to the target; the whole vector when answering
// a probe (or when every entry changed).
void OrderEngine::send_ack(const std::string& name, Endpoint& ep, std::uint32_t to, bool probe,
                           bool answer, Effects& out) {
    OrderPacket m;
    m.kind = PacketKind::order_ack;
    m.source = ep.self;
    m.target = ep.view.members[to];
    m.group = name;
    m.view_id = ep.view.id;
    m.ack = ep.streams[to].contiguous;
    const auto& mine = ep.peer_done[ep.index];
    auto& sent = ep.done_sent[to];
    for (std::uint32_t j = 0; j < mine.size(); ++j) {
        if (answer || sent[j] != mine[j]) m.done.emplace_back(j, mine[j]);
    }
    m.full = m.done.size() == mine.size();
    sent = mine;
    m.probe = probe;
    ++counters_.packets_sent;
    out.send(m.target.pid.node, build(m));
}

void OrderEngine::on_ack(const std::string& name, Endpoint& ep, std::uint32_t from,
                         const OrderPacket& m, Effects& out) {
    // O4: an ack beyond what was sent; O35: a full vector not one entry per member, an index
    // beyond the view, or more of this member's stream done than the ack says received.
    const std::size_t n = ep.view.members.size();
    const bool wrong =
        (m.full && m.done.size() != n) ||
        std::any_of(m.done.begin(), m.done.end(), [&](const auto& entry) {
            return entry.first >= n || (entry.first == ep.index && entry.second > m.ack);
        });
    if (m.ack >= ep.out.next_seq || wrong) {
        ++counters_.malformed_dropped;
        return;
    }
    ep.out.acked[from] = std::max(ep.out.acked[from], m.ack);
    auto& row = ep.peer_done[from];
    for (const auto& [j, value] : m.done) row[j] = std::max(row[j], value);
    if (m.probe) send_ack(name, ep, from, false, true, out);
    if (!m.done.empty()) collect(ep);
}

// O35: a member's done pointer per stream: entries processed and, if data, delivered.
void OrderEngine::advance_done(Endpoint& ep) {
    for (std::uint32_t j = 0; j < ep.streams.size(); ++j) {
        Stream& s = ep.streams[j];
        while (s.done < s.processed) {
            const Received* r = s.entries.find(s.done + 1);
            if (r == nullptr) break;
            if (r->entry.type == EntryType::data && !r->delivered) break;
            ++s.done;
        }
        ep.peer_done[ep.index][j] = s.done;
    }
}

// O35: entries every member has done are stable: discard them, and the delivered sequence's
// prefix they start.
void OrderEngine::collect(Endpoint& ep) {
    for (std::uint32_t j = 0; j < ep.streams.size(); ++j) {
        std::uint64_t stable = ep.peer_done[ep.index][j];
        for (const auto& row : ep.peer_done) stable = std::min(stable, row[j]);
        Stream& s = ep.streams[j];
        if (stable <= s.stable) continue;
        counters_.stable_discarded += s.entries.discard_through(stable);
        s.stable = stable;
    }
    while (!ep.delivered_order.empty() && ep.delivered_order.front().second <=
                                              ep.streams[ep.delivered_order.front().first].stable) {
        ep.delivered_order.pop_front();
        ++ep.delivered_base;
    }
}

// O35: whether member `k` has not reported done what this member has done.
bool OrderEngine::every_stream_started(const Endpoint& ep) {
    for (std::uint32_t k = 0; k < ep.streams.size(); ++k) {
        if (k != ep.index && ep.streams[k].contiguous == 0) return false;
    }
    return true;
}

bool OrderEngine::lags(const Endpoint& ep, std::uint32_t k) {
    const auto& mine = ep.peer_done[ep.index];
    const auto& theirs = ep.peer_done[k];
    for (std::size_t j = 0; j < mine.size(); ++j) {
        if (theirs[j] < mine[j]) return true;
    }
    return false;
}

void OrderEngine::on_propose(GroupState& g, const std::string& name, Endpoint& ep,
                             std::uint32_t from, const OrderPacket& m, Time now, Effects& out) {
    if (g.mode != OrderMode::abcast || m.number.member != from) {
        ++counters_.malformed_dropped;  // O13: a member proposes with its own index.
        return;
    }
    take_proposal(name, ep, m.seq, from, m.number);
    for (const auto& [seq, value] : m.more) {
        take_proposal(name, ep, seq, from, Number{value, m.number.member});
    }
    pump(g, name, ep, now, out);
}

// O15: once every member of the view proposed, the largest proposal is final: the sender
// commits it with a commit entry in its stream.
void OrderEngine::take_proposal(const std::string& name, Endpoint& ep, std::uint64_t seq,
                                std::uint32_t from, Number number) {
    const ProposalTable::Row slots = ep.out.proposals.find(seq);
    if (slots.empty()) {
        ++counters_.duplicates_dropped;
        return;
    }
    if (slots[from]) {
        ++counters_.duplicates_dropped;
        return;
    }
    slots[from] = number;
    ++ep.out.proposals_taken[from];
    if (std::any_of(slots.begin(), slots.end(), [](const auto& p) { return !p.has_value(); })) {
        return;
    }
    Number final_number;
    for (const auto& p : slots) final_number = std::max(final_number, *p);
    ep.out.proposals.close(seq);
    ep.commits_due.push_back(Commit{seq, final_number});  // Sent at the batch's end.
    list_for_batch(name, ep);
}

// O9: the entries member j may be sent again this round: twice the last round's after progress
// (its ack moved, it proposed, or nothing was outstanding), half of it without.
std::uint32_t OrderEngine::next_burst(Endpoint& ep, std::uint32_t j) {
    std::uint32_t& burst = ep.out.burst[j];
    const std::uint64_t progress = ep.out.acked[j] + ep.out.proposals_taken[j];
    bool outstanding = ep.out.acked[j] + 1 < ep.out.next_seq;
    ep.out.proposals.for_each_while([&](std::uint64_t seq, const auto& slots) {
        outstanding = outstanding || (!slots[j] && seq <= ep.out.acked[j]);
        return !outstanding;
    });
    if (progress > ep.out.progress_at_round[j] || !outstanding) {
        burst = std::min(burst * 2, retransmit_burst_max);
    } else {
        burst = std::max(burst / 2, std::uint32_t{1});
    }
    ep.out.progress_at_round[j] = progress;
    return burst;
}

// O9: entries a member has not acknowledged (ABCAST: data it has not proposed for) go to it
// again every retransmit_interval.
void OrderEngine::retransmit(const std::string& name, Endpoint& ep, Time now, Effects& out) {
    if (now < ep.out.next_retransmit) return;
    ep.out.next_retransmit = now + options_.retransmit_interval;
    const Stream& own = ep.streams[ep.index];
    for (std::uint32_t j = 0; j < ep.view.members.size(); ++j) {
        if (j == ep.index) continue;
        const std::uint32_t budget = next_burst(ep, j);
        std::uint32_t sent = 0;
        for (std::uint64_t seq = own.entries.next_from(ep.out.acked[j] + 1);
             seq != 0 && sent < budget; seq = own.entries.next_from(seq + 1), ++sent) {
            ++counters_.retransmits;
            transmit_entry(name, ep, own.entries.at(seq).entry, j, out);
        }
        ep.out.proposals.for_each_while([&](std::uint64_t seq, const auto& slots) {
            if (sent >= budget) return false;
            if (slots[j] || seq > ep.out.acked[j]) return true;
            ++counters_.retransmits;
            ++sent;
            transmit_entry(name, ep, own.entries.at(seq).entry, j, out);
            return true;
        });
        // O35: a member that has not reported done what this one has done is asked again,
        // once it has this member's whole stream (before that, its acks of the entries sent
        // again above carry its vector when it changes).
        if (lags(ep, j) && ep.out.acked[j] + 1 == ep.out.next_seq) {
            ++counters_.stability_probes;
            send_ack(name, ep, j, true, false, out);
        }
    }
}

// O25: an absolute-order member whose stream lags a data timestamp it received sends a null
// entry, timestamped at least that, so that the others learn no earlier message of its can
// still come; at most one per null_interval_min (one due sooner waits for the timer).
void OrderEngine::send_null(GroupState& g, const std::string& name, Endpoint& ep, Time now,
                            Effects& out) {
    if (g.mode != OrderMode::absolute || ep.flushing || ep.view.id == 0) return;
    if (ep.out.seen_timestamp <= ep.out.last_timestamp) return;
    if (now < ep.out.next_null) return arm_at(ep.out.next_null, out);
    ep.out.next_null = now + options_.null_interval_min;
    StreamEntry null;
    null.timestamp = ep.out.seen_timestamp;  // A floor: send_entry takes the clock if later.
    null.type = EntryType::null;
    send_entry(g, name, ep, std::move(null), now, out);
    pump(g, name, ep, now, out);
}

bool OrderEngine::busy(const GroupState& g, const Endpoint& ep) const {
    if (ep.flushing) return true;
    if (ep.view.id == 0) return false;
    const std::uint64_t last = ep.out.next_seq - 1;
    if (std::any_of(ep.out.acked.begin(), ep.out.acked.end(),
                    [&](std::uint64_t a) { return a < last; })) {
        return true;
    }
    if (!ep.out.proposals.empty()) return true;
    for (std::uint32_t k = 0; k < ep.view.members.size(); ++k) {
        if (lags(ep, k)) return true;  // O35: entries wait to be known stable.
    }
    return g.mode == OrderMode::absolute &&
           (ep.out.seen_timestamp > ep.out.last_timestamp || !ep.absolute_queue.empty());
}

void OrderEngine::arm(Time now, Effects& out) {
    if (timer_armed_) return;
    for (const auto& [name, g] : groups_) {
        for (const auto& [pid, ep] : g.endpoints) {
            if (!busy(g, ep)) continue;
            return arm_at(now + options_.tick, out);
        }
    }
}

void OrderEngine::arm_at(Time at, Effects& out) {
    if (timer_armed_ && timer_at_ <= at) return;
    timer_armed_ = true;
    timer_at_ = at;
    out.set_timer(tick_timer, at);
}

void OrderEngine::on_timer(TimerId timer, Time now, Effects& out) {
    if (timer != tick_timer) return;
    timer_armed_ = false;
    for (auto& [name, g] : groups_) {
        for (auto& [pid, ep] : g.endpoints) {
            if (ep.flushing) {
                if (now >= ep.next_report) {
                    ep.next_report = now + options_.retransmit_interval;
                    send_report(name, ep, out);
                }
                continue;
            }
            if (ep.view.id == 0) continue;
            retransmit(name, ep, now, out);
            send_null(g, name, ep, now, out);
            pump(g, name, ep, now, out);
        }
    }
    arm(now, out);
}

void OrderEngine::on_consumed(Pid receiver, std::uint32_t count, Time now, Effects& out) {
    const auto it = inbox_.find(receiver);
    if (it == inbox_.end() || count > it->second) {
        out.trace(now, "probe_order_consumed_overflow");  // A driver's miscount: clamp.
        if (it != inbox_.end()) it->second = 0;
        return;
    }
    const bool was_full = it->second >= options_.member_queue_max;
    it->second -= count;  // The entry stays (no allocation per message); exit erases it.
    if (!was_full || !has_credit(receiver)) return;
    for (auto& [name, g] : groups_) {  // Deliver what waited; acks follow (O9, O35).
        auto ep = g.endpoints.find(receiver);
        if (ep != g.endpoints.end()) pump(g, name, ep->second, now, out);
    }
    arm(now, out);
}

void OrderEngine::on_process_exited(Pid pid, Time now, Effects& out) {
    (void)now, (void)out;
    inbox_.erase(pid);
}

EngineCounters OrderEngine::totals() const {
    EngineCounters c;
    c.packets_sent = counters_.packets_sent;
    c.retransmits = counters_.retransmits;
    c.duplicates_dropped = counters_.duplicates_dropped;
    c.malformed_dropped = counters_.malformed_dropped;
    return c;
}

void OrderEngine::check_invariants(std::vector<std::string>& findings) const {
    for (const auto& [name, g] : groups_) {
        for (const auto& [pid, ep] : g.endpoints) {
            if (ep.view.id == 0) continue;
            if (ep.streams.size() != ep.view.members.size()) {
                findings.push_back("order " + name + ": streams do not match the view");
            }
            for (const auto& s : ep.streams) {
                if (s.processed > s.contiguous) {
                    findings.push_back("order " + name + ": processed beyond contiguous");
                }
                if (s.stable > s.done || s.done > s.processed) {
                    findings.push_back("order " + name + ": stable beyond done or processed");
                }
                if (!s.entries.empty() && s.entries.next_from(0) <= s.stable) {
                    findings.push_back("order " + name + ": a stable entry is retained");
                }
            }
        }
    }
}

}  // namespace herald::proto::order

// OrderEngine, delivery order: FIFO processing of each stream (O6), then the hold-back rule of
// the group's mode: FIFO (O10), CBCAST (O11-O12), ABCAST (O13-O16), sequencer (O17-O19),
// absolute (O23-O26). Layer: proto/order. Rules: docs/ordering.md.
#include <algorithm>

#include "core/assert.h"
#include "proto/order/order_engine.h"

namespace herald::proto::order {

// Runs FIFO processing and the mode's delivery rule until neither makes progress: entries a
// step emits (a sequencer's order, a commit, a null) are processed in the same call.
void OrderEngine::pump(GroupState& g, const std::string& name, Endpoint& ep, Time now,
                       Effects& out) {
    if (ep.flushing || ep.view.id == 0) return;
    for (bool progress = true; progress;) {
        progress = process_fifo(g, name, ep, out);
        switch (g.mode) {
            case OrderMode::fifo:
                break;  // Delivered during FIFO processing.
            case OrderMode::cbcast:
                progress = deliver_cbcast(name, ep, out) || progress;
                break;
            case OrderMode::abcast:
                progress = deliver_abcast(name, ep, out) || progress;
                break;
            case OrderMode::sequencer:
                progress = deliver_sequencer(name, ep, out) || progress;
                break;
            case OrderMode::absolute:
                progress = deliver_absolute(name, ep, now, out) || progress;
                break;
        }
    }
    advance_done(ep);
    collect(ep);
}

bool OrderEngine::process_fifo(GroupState& g, const std::string& name, Endpoint& ep, Effects& out) {
    bool progress = false;
    // O37: FIFO delivers while processing, so a member out of credit stops processing; in the
    // other modes processing delivers nothing (proposals, order entries go on).
    const bool gated = g.mode == OrderMode::fifo;
    for (std::uint32_t j = 0; j < ep.streams.size(); ++j) {
        Stream& s = ep.streams[j];
        while (s.processed < s.contiguous && (!gated || has_credit(ep.self.pid))) {
            ++s.processed;
            process_entry(g, name, ep, j, s.entries.at(s.processed), out);
            progress = true;
        }
    }
    return progress;
}

// O6: what each entry means once every earlier entry of its stream was processed.
void OrderEngine::process_entry(GroupState& g, const std::string& name, Endpoint& ep,
                                std::uint32_t from, Received& r, Effects& out) {
    const StreamEntry& e = r.entry;
    switch (e.type) {
        case EntryType::data:
            if (g.mode == OrderMode::fifo) deliver(name, ep, from, r, out);  // O10.
            if (g.mode == OrderMode::absolute) {
                ep.streams[from].horizon = e.timestamp;
                ep.absolute_queue.emplace(e.timestamp, from, e.seq);
            }
            if (g.mode == OrderMode::sequencer && ep.index == 0) {
                // O17: the sequencer orders in the order it processes; the entries go out at
                // the batch's end (on_batch_end).
                ep.orders_due.emplace_back(from, e.seq);
                list_for_batch(name, ep);
            }
            if (g.mode == OrderMode::abcast) {
                // O13: propose max(Fmax, Pmax) + 1 + i/N as (integer, own index).
                r.number = abcast_proposal(ep.fmax, ep.pmax, ep.index);
                r.proposed = true;
                ep.pmax = r.number.value;
                ep.abcast_queue.emplace(r.number, from, e.seq);
                if (from == ep.index) {
                    take_proposal(name, ep, e.seq, from, r.number);
                } else {  // Sent at the batch's end, with the batch's other proposals.
                    ep.proposals_due[from].emplace_back(e.seq, r.number);
                    list_for_batch(name, ep);
                }
            }
            break;
        case EntryType::commit:
            apply_commit(g, ep, from, e.seq, Commit{e.ref_seq, e.number});
            break;
        case EntryType::commits:  // O15: a batch of commits, in turn.
            for (const Commit& c : e.commits) apply_commit(g, ep, from, e.seq, c);
            break;
        case EntryType::order:
            if (g.mode != OrderMode::sequencer || from != 0 || e.ref_member >= ep.streams.size()) {
                ++counters_.malformed_dropped;
                break;
            }
            ep.order_queue.push_back(MessageKey{e.ref_member, e.ref_seq});
            break;
        case EntryType::orders:  // O17: a batch of the sequencer's order, run after run.
            if (g.mode != OrderMode::sequencer || from != 0 ||
                std::any_of(e.runs.begin(), e.runs.end(),
                            [&](const OrderRun& run) { return run.member >= ep.streams.size(); })) {
                ++counters_.malformed_dropped;
                break;
            }
            for (const OrderRun& run : e.runs) {
                for (std::uint32_t k = 0; k < run.count; ++k) {
                    ep.order_queue.push_back(MessageKey{run.member, run.first + k});
                }
            }
            break;
        case EntryType::null:
            if (g.mode == OrderMode::absolute) ep.streams[from].horizon = e.timestamp;
            break;
    }
}

// O16: the final number replaces the proposal in the hold-back queue. A commit in another
// mode, of a message not held, not proposed for, committed already, or not before the commit's
// own entry (`entry_seq`) is malformed.
void OrderEngine::apply_commit(const GroupState& g, Endpoint& ep, std::uint32_t from,
                               std::uint64_t entry_seq, const Commit& c) {
    Received* held = ep.streams[from].entries.find(c.seq);
    if (g.mode != OrderMode::abcast || held == nullptr || !held->proposed || held->committed ||
        c.seq >= entry_seq) {
        ++counters_.malformed_dropped;
        return;
    }
    Received& target = *held;
    // The key under the proposal stays in the heap, stale (deliver_abcast drops it), unless
    // the final number is the proposal.
    if (target.number != c.number) ep.abcast_queue.emplace(c.number, from, c.seq);
    target.number = c.number;
    target.committed = true;
    ep.fmax = std::max(ep.fmax, c.number.value);
}

// O11 (the lecture's test): deliver a message from i when S[i] = R[i] + 1 and S[j] <= R[j] for
// every j != i; otherwise it stays in the buffer and is tested again after each delivery (O12).
bool OrderEngine::deliver_cbcast(const std::string& name, Endpoint& ep, Effects& out) {
    bool progress = false;
    for (bool again = true; again;) {
        again = false;
        for (std::uint32_t i = 0; i < ep.streams.size() && has_credit(ep.self.pid); ++i) {
            Stream& s = ep.streams[i];
            Received* held = s.entries.find(s.delivered + 1);
            if (held == nullptr || held->delivered) continue;
            const auto& clock = held->entry.clock;
            std::vector<std::uint64_t>& r = ep.cbcast_received;
            for (std::uint32_t j = 0; j < ep.streams.size(); ++j) r[j] = ep.streams[j].delivered;
            if (!cbcast_deliverable(clock, r, i)) continue;
            s.delivered = clock[i];  // R[i] <- S[i].
            deliver(name, ep, i, *held, out);
            again = progress = true;
        }
    }
    return progress;
}

// O16: deliver the queue's head while its number is final; a message not yet received, or
// received but not yet committed, will end with a larger number (O13).
bool OrderEngine::deliver_abcast(const std::string& name, Endpoint& ep, Effects& out) {
    bool progress = false;
    while (!ep.abcast_queue.empty() && has_credit(ep.self.pid)) {
        const auto [number, from, seq] = ep.abcast_queue.top();
        Received* r = ep.streams[from].entries.find(seq);
        if (r == nullptr || r->number != number) {  // Stale: committed under another number.
            ep.abcast_queue.pop();
            continue;
        }
        if (!r->committed) break;
        ep.abcast_queue.pop();
        deliver(name, ep, from, *r, out);
        progress = true;
    }
    return progress;
}

// O18: deliver in the order of the sequencer's order entries, each once its message is here.
bool OrderEngine::deliver_sequencer(const std::string& name, Endpoint& ep, Effects& out) {
    bool progress = false;
    while (!ep.order_queue.empty() && has_credit(ep.self.pid)) {
        const auto [from, seq] = ep.order_queue.front();
        if (seq <= ep.streams[from].stable) {
            ep.order_queue.pop_front();
            ++counters_.malformed_dropped;  // Ordered again after it was delivered everywhere.
            continue;
        }
        Received* held = ep.streams[from].entries.find(seq);
        if (held == nullptr) break;
        ep.order_queue.pop_front();
        if (held->entry.type != EntryType::data || held->delivered) {
            ++counters_.malformed_dropped;  // The sequencer ordered a non-message or twice.
            continue;
        }
        deliver(name, ep, from, *held, out);
        progress = true;
    }
    return progress;
}

// O24: deliver the smallest (timestamp, sender) once every other member's stream has passed
// that timestamp; a member's own stream has passed its clock - 1 (its next timestamp is at
// least its clock, O23).
bool OrderEngine::deliver_absolute(const std::string& name, Endpoint& ep, Time now, Effects& out) {
    bool progress = false;
    while (!ep.absolute_queue.empty() && has_credit(ep.self.pid)) {
        const auto [timestamp, from, seq] = ep.absolute_queue.top();
        bool ready = true;
        for (std::uint32_t k = 0; ready && k < ep.streams.size(); ++k) {
            if (k == from) continue;
            const std::int64_t horizon = k == ep.index
                                             ? std::max(ep.out.last_timestamp, wall(now) - 1)
                                             : ep.streams[k].horizon;
            ready = horizon >= timestamp;
        }
        if (!ready) break;
        ep.absolute_queue.pop();
        deliver(name, ep, from, ep.streams[from].entries.at(seq), out);
        progress = true;
    }
    return progress;
}

void OrderEngine::deliver(const std::string& name, Endpoint& ep, std::uint32_t from, Received& r,
                          Effects& out) {
    HERALD_ASSERT(!r.delivered);
    HERALD_ASSERT(r.entry.type == EntryType::data);
    r.delivered = true;
    ep.delivered_order.push_back(MessageKey{from, r.entry.seq});
    deliver_message(name, ep, ep.view.members[from], r.entry, out);
}

// O20: the envelope the member's queue receives.
void OrderEngine::deliver_message(const std::string& name, const Endpoint& ep, const Member& sender,
                                  const StreamEntry& entry, Effects& out) {
    std::uint64_t view_id = ep.view.id;
    if (options_.mutations.flush_next_view_id && ep.flushing) view_id = ep.pending.id;
    Message message;
    message.source = sender.pid;
    message.target = ep.self.pid;
    message.seq = entry.seq;
    message.body =
        encode_data_delivery(name, view_id, sender, entry.seq, entry.timestamp, entry.payload);
    ++counters_.delivered;
    hand_over(std::move(message), out);
}

// O37: every delivery (data, flush, view) counts against the member's credit until consumed.
void OrderEngine::hand_over(Message message, Effects& out) {
    std::uint32_t& queued = inbox_[message.target];
    ++queued;
    if (queued == options_.member_queue_max) {
        ++counters_.credit_stalls;
        out.trace(Time{}, "probe_order_credit_stall");
    }
    out.deliver(std::move(message));
}

bool OrderEngine::has_credit(Pid member) const {
    const auto it = inbox_.find(member);
    return it == inbox_.end() || it->second < options_.member_queue_max;
}

}  // namespace herald::proto::order

// Checker implementations. Layer: sim.
#include "sim/checkers.h"

#include <map>
#include <tuple>
#include <unordered_map>

#include "sim/trace.h"

namespace herald::sim {

namespace {

std::string_view promise_name(Promise promise) {
    switch (promise) {
        case Promise::none:
            return "none";
        case Promise::accepted:
            return "accepted";
        case Promise::delivered:
            return "delivered";
    }
    return "?";
}

// "send op=17 1.2->3.4 payload=17 promise=delivered started=0.120000".
std::string describe(const OperationRecord& op) {
    Fields f;
    f.add("op", op.id).add("from", op.actor).add("to", op.peer).add("payload", op.payload);
    f.add("promise", promise_name(op.promise)).add("started", op.started);
    if (op.completed) {
        f.add("completed", *op.completed).add("outcome", errc_name(op.outcome));
    }
    return std::string(op.kind) + " " + f.take();
}

// First delivery of each payload (index into history.deliveries()).
std::unordered_map<std::uint64_t, std::size_t> first_deliveries(const History& history) {
    std::unordered_map<std::uint64_t, std::size_t> first;
    const auto& deliveries = history.deliveries();
    for (std::size_t i = 0; i < deliveries.size(); ++i) first.try_emplace(deliveries[i].payload, i);
    return first;
}

// Operation carrying each payload (payload ids are unique within a run).
std::unordered_map<std::uint64_t, const OperationRecord*> by_payload(const History& history) {
    std::unordered_map<std::uint64_t, const OperationRecord*> map;
    for (const auto& op : history.operations()) {
        if (op.payload != 0) map.try_emplace(op.payload, &op);
    }
    return map;
}

bool peer_crashed_since(const History& history, const OperationRecord& op) {
    for (const auto& crash : history.crashes()) {
        if (crash.node == op.peer.node && crash.at >= op.started) return true;
    }
    return false;
}

// A send issued after the faults healed, to a node that restarted before the sender's node
// heard from its new incarnation, may report peer_restarted (or, when non-blocking and so
// already complete, be dropped): the engine could not know yet that its channel was stale.
bool stale_channel_excuse(const History& history, const OperationRecord& op) {
    const bool failed_restart = op.completed && op.outcome == Errc::peer_restarted;
    const bool dropped_silently =
        op.promise == Promise::none && op.completed && op.outcome == Errc::ok;
    return (failed_restart || dropped_silently) && history.sent_to_unknown_restart(op);
}

// queue_full and would_block are back-pressure: the engine refused the message, so nothing
// was lost; the workload retries, and run-level liveness checks that the retries get through.
bool refused_by_back_pressure(const OperationRecord& op) {
    return op.completed && (op.outcome == Errc::queue_full || op.outcome == Errc::would_block);
}

}  // namespace

bool excused(const History& history, const OperationRecord& op) {
    return refused_by_back_pressure(op) || stale_channel_excuse(history, op);
}

std::vector<Violation> check_no_loss(const History& history) {
    std::vector<Violation> out;
    const auto first = first_deliveries(history);
    for (const auto& op : history.operations()) {
        if (op.payload == 0) continue;
        const auto it = first.find(op.payload);
        const DeliveryRecord* delivery =
            it == first.end() ? nullptr : &history.deliveries()[it->second];
        const bool ok = op.completed && op.outcome == Errc::ok;
        if (ok && op.promise == Promise::delivered) {
            if (delivery == nullptr) {
                out.push_back({"no_loss", *op.completed,
                               "completed ok as delivered but never delivered: " + describe(op)});
            } else if (delivery->at > *op.completed) {
                out.push_back({"no_loss", *op.completed,
                               "completed ok as delivered before it was delivered (at " +
                                   format_time(delivery->at) + "): " + describe(op)});
            }
        } else if (ok && op.promise == Promise::accepted && delivery == nullptr &&
                   !peer_crashed_since(history, op)) {
            out.push_back({"no_loss", *op.completed,
                           "completed ok as accepted but never delivered (the target node did "
                           "not crash): " +
                               describe(op)});
        }
        if (op.must_succeed && delivery == nullptr && !excused(history, op)) {
            out.push_back({"no_loss", op.started,
                           "sent after the faults healed but never delivered: " + describe(op)});
        }
    }
    return out;
}

std::vector<Violation> check_no_duplicates(const History& history) {
    std::vector<Violation> out;
    const auto senders = by_payload(history);
    std::unordered_map<std::uint64_t, Time> seen;
    for (const DeliveryRecord& d : history.deliveries()) {
        Fields f;
        f.add("payload", d.payload).add("from", d.source).add("to", d.target);
        f.add("incarnation", d.target_incarnation).add("at", d.at);
        const auto [it, fresh] = seen.try_emplace(d.payload, d.at);
        if (!fresh) {
            out.push_back(
                {"no_duplicates", d.at,
                 "delivered again (first at " + format_time(it->second) + "): " + f.text()});
        }
        const auto sender = senders.find(d.payload);
        if (sender == senders.end()) {
            out.push_back({"no_duplicates", d.at, "delivered a payload never sent: " + f.text()});
        } else if (sender->second->peer != d.target || sender->second->actor != d.source) {
            out.push_back({"no_duplicates", d.at,
                           "delivered to the wrong process or from the wrong source: " + f.text() +
                               "; sent as " + describe(*sender->second)});
        }
    }
    return out;
}

std::vector<Violation> check_fifo(const History& history) {
    std::vector<Violation> out;
    std::unordered_map<std::uint64_t, std::size_t> order;  // payload -> start index
    const auto& ops = history.operations();
    for (std::size_t i = 0; i < ops.size(); ++i) {
        if (ops[i].payload != 0) order.try_emplace(ops[i].payload, i);
    }
    // (actor, actor incarnation, peer, peer incarnation) -> last delivered start index.
    using Key = std::tuple<Pid, std::uint32_t, Pid, std::uint32_t>;
    std::map<Key, std::size_t> last;
    std::unordered_map<std::uint64_t, bool> delivered;
    for (const DeliveryRecord& d : history.deliveries()) {
        const auto it = order.find(d.payload);
        // Unknown payloads and second deliveries are check_no_duplicates' findings.
        if (it == order.end() || !delivered.try_emplace(d.payload, true).second) continue;
        const OperationRecord& op = ops[it->second];
        const Key key{op.actor, op.actor_incarnation, d.target, d.target_incarnation};
        const auto [prev, fresh] = last.try_emplace(key, it->second);
        if (fresh) continue;
        if (it->second < prev->second) {
            const OperationRecord& later = ops[prev->second];
            out.push_back({"fifo", d.at,
                           "delivered out of send order at " + format_time(d.at) + ": " +
                               describe(op) + " arrived after the later send " + describe(later)});
        } else if (it->second > prev->second) {
            prev->second = it->second;
        }
    }
    return out;
}

std::vector<Violation> check_exactly_once(const History& history) {
    std::vector<Violation> out;
    std::unordered_map<std::uint64_t, const ExecutionRecord*> seen;
    for (const ExecutionRecord& e : history.executions()) {
        const auto [it, fresh] = seen.try_emplace(e.request, &e);
        if (fresh) continue;
        Fields f;
        f.add("request", e.request).add("node", to_string(e.node));
        f.add("incarnation", e.incarnation).add("at", e.at);
        f.add("first_at", it->second->at).add("first_incarnation", it->second->incarnation);
        out.push_back({"exactly_once", e.at, "executed more than once: " + f.take()});
    }
    return out;
}

std::vector<Violation> check_invariants(const History& history) {
    std::vector<Violation> out;
    for (const Anomaly& a : history.invariants())
        out.push_back({"invariants", a.at, a.description});
    if (history.invariants_dropped() > 0) {
        out.push_back({"invariants", history.invariants().back().at,
                       std::to_string(history.invariants_dropped()) + " more findings"});
    }
    return out;
}

std::vector<Violation> check_operations(const History& history) {
    std::vector<Violation> out;
    for (const Anomaly& a : history.anomalies()) out.push_back({"operations", a.at, a.description});
    for (const auto& op : history.operations()) {
        if (op.completions > 1) {
            out.push_back(
                {"operations", *op.completed,
                 "completed " + std::to_string(op.completions) + " times: " + describe(op)});
        }
    }
    return out;
}

std::vector<Violation> check_liveness(const History& history, Duration bound, Time end) {
    std::vector<Violation> out;
    const Time healed = history.liveness_start();
    for (const auto& op : history.operations()) {
        if (op.abandoned) continue;
        const Time due = (op.started < healed ? healed : op.started) + bound;
        if (!op.completed) {
            if (healed == Time::max() || end < due) continue;  // Not yet due: no verdict.
            out.push_back({"liveness", due,
                           "did not complete within " + std::to_string(bound.ms()) +
                               "ms after the faults healed: " + describe(op)});
        } else if (healed != Time::max() && *op.completed > due) {
            out.push_back({"liveness", *op.completed,
                           "completed late (due " + format_time(due) + "): " + describe(op)});
        }
        if (op.must_succeed && op.completed && op.outcome != Errc::ok && !excused(history, op)) {
            out.push_back(
                {"liveness", *op.completed, "failed after the faults healed: " + describe(op)});
        }
    }
    return out;
}

std::vector<Violation> check_all(const History& history, Duration bound, Time end) {
    std::vector<Violation> out;
    for (auto* batch : {&check_operations, &check_no_duplicates, &check_no_loss, &check_fifo,
                        &check_exactly_once, &check_invariants}) {
        auto found = (*batch)(history);
        out.insert(out.end(), std::make_move_iterator(found.begin()),
                   std::make_move_iterator(found.end()));
    }
    auto late = check_liveness(history, bound, end);
    out.insert(out.end(), std::make_move_iterator(late.begin()),
               std::make_move_iterator(late.end()));
    return out;
}

}  // namespace herald::sim

// MailboxWorkload implementation. Layer: sim.
#include "sim/mailbox_workload.h"

#include <algorithm>

#include "core/assert.h"
#include "proto/mailbox/mailbox_engine.h"
#include "sim/rpc_workload.h"

namespace herald::sim {

using proto::mailbox::Durability;
using proto::mailbox::MailboxEngine;

namespace {
constexpr std::string_view persistent_name = "p";
constexpr std::string_view transient_name = "t";
}  // namespace

MailboxWorkload::MailboxWorkload(Simulation& sim, std::size_t slot,
                                 const MailboxWorkloadOptions& options, Random random)
    : sim_(sim), slot_(slot), options_(options), random_(random) {
    const std::size_t nodes = sim.node_count();
    for (std::uint32_t i = 0; i < options.senders; ++i) {
        const std::uint64_t node = nodes == 1 ? 1 : 2 + i % (nodes - 1);
        processes_.push_back(Process{Pid{NodeId{node}, 10 + i}, true});
    }
    for (std::uint32_t i = 0; i < options.receivers; ++i) {
        processes_.push_back(Process{Pid{NodeId{1 + i % nodes}, 100 + i}, false});
    }
}

std::uint64_t MailboxWorkload::record(OpKind kind, std::size_t index, std::uint64_t payload,
                                      bool persistent) {
    const Pid actor = kind == OpKind::create ? Pid{host_, 1} : processes_[index].pid;
    const OperationRecord r = sim_.new_operation("mailbox", actor, Pid{host_, 1});
    ops_[r.id] = Op{kind, index, payload, persistent};
    sim_.history().start(r);
    return r.id;
}

void MailboxWorkload::create_mailboxes(SimNode& node) {
    // The persistent mailbox comes back from disk after a restart (already_exists then); the
    // transient one is made anew.
    for (const bool persistent : {true, false}) {
        const auto op = record(OpKind::create, 0, 0, persistent);
        proto::mailbox::MailboxSpec spec;
        spec.name = std::string(persistent ? persistent_name : transient_name);
        spec.durability = persistent ? Durability::persistent : Durability::transient;
        spec.capacity_messages = 64;  // Small enough that queue_full happens now and then.
        node.command<MailboxEngine>(
            slot_, [&](auto& e, proto::Effects& out) { e.on_create(op, spec, sim_.now(), out); });
    }
}

void MailboxWorkload::on_node_started(SimNode& node) {
    if (node.id() == host_) {
        sim_.queue().schedule(sim_.now(), [this, &node] {
            if (node.up()) create_mailboxes(node);
        });
    }
    for (std::size_t i = 0; i < processes_.size(); ++i) {
        Process& p = processes_[i];
        if (p.pid.node != node.id()) continue;
        ++p.life;
        p.alive = true;
        p.busy = false;
        schedule(i, uniform(Duration::zero(), Duration::milliseconds(100)));
    }
}

void MailboxWorkload::on_node_crashed(SimNode& node) {
    for (auto& p : processes_) {
        if (p.pid.node != node.id()) continue;
        ++p.life;
        p.alive = false;
        p.busy = false;
    }
    for (auto it = ops_.begin(); it != ops_.end();) {
        const bool gone = it->second.kind == OpKind::create
                              ? node.id() == host_
                              : processes_[it->second.process].pid.node == node.id();
        if (gone && it->second.kind == OpKind::send) {
            payloads_[it->second.payload].unknown = true;
            payloads_[it->second.payload].finished = true;
        }
        it = gone ? ops_.erase(it) : std::next(it);
    }
}

void MailboxWorkload::on_delivered(SimNode& /*node*/, const Message& /*message*/) {
    HERALD_ASSERT(false);  // The mailbox scenario hosts no direct engine.
}

Duration MailboxWorkload::uniform(Duration low, Duration high) {
    if (high <= low) return low;
    return low + Duration::nanoseconds(static_cast<std::int64_t>(
                     random_.below(static_cast<std::uint64_t>((high - low).ns()))));
}

void MailboxWorkload::schedule(std::size_t index, Duration delay) {
    sim_.queue().schedule(sim_.now() + delay,
                          [this, index, life = processes_[index].life] { step(index, life); });
}

void MailboxWorkload::step(std::size_t index, std::uint64_t life) {
    Process& p = processes_[index];
    if (!p.alive || p.life != life || p.busy) return;
    if (!p.sender) {
        // Once everything is accounted for after the heal, receivers stop asking, so that the
        // nodes fall quiet (checker "quiet").
        if (liveness_ && done()) return;
        return start_receive(index);
    }
    auto& retry = retry_[index];
    if (!retry.empty()) {
        const auto payload = retry.back();
        retry.pop_back();
        return start_send(index, payload);
    }
    const bool more =
        liveness_ ? p.sent_liveness < options_.liveness_messages : p.sent < options_.messages;
    if (!more) return;
    ++(liveness_ ? p.sent_liveness : p.sent);
    const auto payload = next_payload_++;
    payloads_[payload].persistent = random_.chance(0.6);
    start_send(index, payload);
}

void MailboxWorkload::start_send(std::size_t index, std::uint64_t payload) {
    Process& p = processes_[index];
    const bool persistent = payloads_[payload].persistent;
    const auto op = record(OpKind::send, index, payload, persistent);
    p.busy = true;
    sim_.node(p.pid.node).command<MailboxEngine>(slot_, [&](auto& e, proto::Effects& out) {
        e.on_send(op, p.pid, host_, persistent ? persistent_name : transient_name,
                  tag_body(payload), sim_.now(), out);
    });
}

// Most receives take the oldest message; some name a sender (M18: a pid, or a whole node), and
// some peek and then take what they saw (M19, M20). `take` (with its mailbox's durability in
// the sign bit) continues such a peek.
void MailboxWorkload::start_receive(std::size_t index, std::uint64_t take) {
    Process& p = processes_[index];
    proto::mailbox::ReceiveFilter filter;
    bool persistent = random_.chance(0.6);
    if (take != 0) {
        persistent = (take >> 63) != 0;
        filter.take = take & ~(std::uint64_t{1} << 63);
        ++takes_;
    } else if (!liveness_ && random_.chance(0.15)) {
        const auto& s = processes_[random_.below(options_.senders)];
        filter.from = random_.chance(0.5) ? s.pid : Pid{s.pid.node, 0};
        ++selective_;
    } else if (!liveness_ && random_.chance(0.15)) {
        filter.peek = true;
        ++peeks_;
    }
    const auto op = record(OpKind::receive, index, 0, persistent);
    ops_[op].from = filter.from;
    ops_[op].peek = filter.peek;
    ops_[op].take = filter.take;
    const auto wait = filter.take != 0 ? Duration::zero()
                                       : uniform(Duration::zero(), Duration::milliseconds(500));
    p.busy = true;
    sim_.node(p.pid.node).command<MailboxEngine>(slot_, [&](auto& e, proto::Effects& out) {
        e.on_receive(op, p.pid, host_, persistent ? persistent_name : transient_name, wait,
                     sim_.now(), out, filter);
    });
}

void MailboxWorkload::start_ack(std::size_t index, std::uint64_t payload, std::uint64_t tag) {
    Process& p = processes_[index];
    const auto op = record(OpKind::ack, index, payload, true);
    p.busy = true;
    sim_.node(p.pid.node).command<MailboxEngine>(slot_, [&](auto& e, proto::Effects& out) {
        e.on_ack(op, p.pid, host_, persistent_name, tag, sim_.now(), out);
    });
}

void MailboxWorkload::on_completed(SimNode& /*node*/, const proto::CompleteEffect& c) {
    const Errc outcome = c.result ? Errc::ok : c.result.error().code;
    sim_.history().complete(c.op, sim_.now(), outcome);
    const auto it = ops_.find(c.op);
    if (it == ops_.end()) return;
    const Op op = it->second;
    ops_.erase(it);
    if (op.kind == OpKind::create) return;
    processes_[op.process].busy = false;
    if (op.kind == OpKind::send) on_sent(op, outcome);
    if (op.kind == OpKind::receive) on_received(op, c.result);
    if (op.kind == OpKind::ack && outcome == Errc::ok) ++payloads_[op.payload].acks;
    if (!processes_[op.process].busy) {
        schedule(op.process, uniform(Duration::zero(), Duration::milliseconds(50)));
    }
}

void MailboxWorkload::on_sent(const Op& op, Errc outcome) {
    Payload& p = payloads_[op.payload];
    if (outcome == Errc::ok) {
        p.accepted = true;
        p.finished = true;
    } else if (outcome == Errc::timeout || outcome == Errc::unreachable ||
               outcome == Errc::peer_restarted) {
        p.unknown = true;  // It may be in the mailbox; sending it again could duplicate it.
        p.finished = true;
    } else {
        retry_[op.process].push_back(op.payload);  // Definitely not stored (M5, M6, M13).
    }
}

void MailboxWorkload::on_received(const Op& op, const Result<Bytes>& result) {
    if (!result) return;
    auto received = proto::mailbox::decode_received(*result);
    HERALD_ASSERT(received.has_value());
    const auto payload = tag_of(received->body);
    auto it = payloads_.find(payload);
    if (it == payloads_.end()) {
        ++unknown_deliveries_;
        return;
    }
    const Pid s = received->sender;
    if (op.from.node.known() &&
        (s.node != op.from.node || (op.from.local != 0 && s.local != op.from.local))) {
        ++filter_mismatches_;
    }
    if (op.peek) {
        if (received->tag != 0) ++filter_mismatches_;  // A peek leased a message.
        // Take what was seen (another receiver may be faster: not_found then).
        const auto take = received->seq | (op.persistent ? std::uint64_t{1} << 63 : 0);
        processes_[op.process].busy = true;
        sim_.queue().schedule(sim_.now(),
                              [this, index = op.process, take, life = processes_[op.process].life] {
                                  if (processes_[index].life == life && processes_[index].alive) {
                                      start_receive(index, take);
                                  } else {
                                      processes_[index].busy = false;
                                  }
                              });
        return;
    }
    it->second.sender = received->sender.node;
    it->second.message_id = received->message_id;
    ++it->second.deliveries;
    if (!received->redelivery) ++it->second.first_deliveries;
    if (!op.persistent) return;
    if (!liveness_ && random_.chance(options_.skip_ack)) {
        ++skipped_acks_;  // The lease ends; the message comes back marked redelivery (M11).
        return;
    }
    // Workload hooks run inside an input: the ack is a new event (SimNode::command).
    processes_[op.process].busy = true;
    sim_.queue().schedule(sim_.now(), [this, index = op.process, payload, tag = received->tag,
                                       life = processes_[op.process].life] {
        if (processes_[index].life == life && processes_[index].alive) {
            start_ack(index, payload, tag);
        }
    });
}

void MailboxWorkload::begin_liveness() {
    liveness_ = true;
    for (std::size_t i = 0; i < processes_.size(); ++i) schedule(i, Duration::zero());
}

bool MailboxWorkload::done() const {
    for (std::size_t i = 0; i < processes_.size(); ++i) {
        const Process& p = processes_[i];
        if (!p.sender) continue;
        if (p.busy || p.sent_liveness < options_.liveness_messages) return false;
        if (auto r = retry_.find(i); r != retry_.end() && !r->second.empty()) return false;
    }
    return std::all_of(payloads_.begin(), payloads_.end(), [this](const auto& entry) {
        const Payload& p = entry.second;
        return !p.persistent || !p.accepted || p.acks > 0 || acked_on_disk(p);
    });
}

std::string MailboxWorkload::outstanding() const {
    std::string text;
    for (const auto& [id, p] : payloads_) {
        if (p.persistent && p.accepted && p.acks == 0) text += " unacked:" + std::to_string(id);
        if (!p.finished) text += " unsent:" + std::to_string(id);
    }
    return text;
}

// An ack whose answer was lost before the host restarted completes not_found, though it took
// effect: its tombstone shows it (docs/mailboxes.md, M14).
bool MailboxWorkload::acked_on_disk(const Payload& p) const {
    if (p.message_id == 0) return false;
    return sim_.node(host_).disk().contains(proto::mailbox::tombstone_key(p.sender, p.message_id));
}

bool MailboxWorkload::on_host_disk(std::uint64_t payload) const {
    const auto prefix = std::string("mailbox/m/") + std::string(persistent_name) + "/";
    const auto& disk = sim_.node(host_).disk();
    for (auto it = disk.lower_bound(prefix); it != disk.end() && it->first.starts_with(prefix);
         ++it) {
        auto m = proto::mailbox::decode_message(it->second);
        if (m && tag_of(m->body) == payload) return true;
    }
    return false;
}

std::vector<Violation> MailboxWorkload::check() const {
    std::vector<Violation> out;
    const auto at = sim_.now();
    auto add = [&](std::uint64_t id, const std::string& what) {
        out.push_back({"mailbox", at, "payload " + std::to_string(id) + ": " + what});
    };
    for (const auto& [id, p] : payloads_) {
        if (p.persistent && p.acks > 1) add(id, "acknowledged twice");
        if (p.persistent && p.first_deliveries > 1) add(id, "handed out twice unmarked");
        if (!p.persistent && p.deliveries > 1) add(id, "transient message handed out twice");
        if (p.deliveries > 0 && !p.accepted && !p.unknown) add(id, "handed out, never accepted");
        if (p.persistent && p.accepted && p.acks == 0 && !on_host_disk(id) && !acked_on_disk(p)) {
            add(id, "accepted, never acknowledged, not on the host's disk");
        }
    }
    if (unknown_deliveries_ > 0) {
        out.push_back({"mailbox", at, "handed out a message nobody sent"});
    }
    if (filter_mismatches_ > 0) {
        out.push_back({"mailbox", at, "a selective receive or a peek got what it did not ask"});
    }
    return out;
}

std::map<std::string, std::uint64_t> MailboxWorkload::numbers() const {
    std::map<std::string, std::uint64_t> n;
    for (const auto& [id, p] : payloads_) {
        n["mailbox_accepted"] += p.accepted ? 1 : 0;
        n["mailbox_unknown"] += p.unknown ? 1 : 0;
        n["mailbox_redelivered"] += p.deliveries - std::min(p.deliveries, p.first_deliveries);
    }
    n["mailbox_skipped_acks"] = skipped_acks_;
    n["mailbox_selective"] = selective_;
    n["mailbox_peeks"] = peeks_;
    n["mailbox_takes"] = takes_;
    return n;
}

}  // namespace herald::sim

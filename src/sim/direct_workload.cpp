// DirectWorkload implementation. Layer: sim.
#include "sim/direct_workload.h"

#include <algorithm>

#include "core/assert.h"
#include "proto/direct/direct_engine.h"
#include "sim/checkers.h"

namespace herald::sim {

using proto::direct::Buffering;
using proto::direct::OnFull;
using proto::direct::SendMode;
using proto::direct::SendOptions;

namespace {

constexpr std::uint64_t missing_local_id = 1000;  // No process ever has this local id.
constexpr std::int64_t unix_epoch_ns = 1'800'000'000'000'000'000;  // Virtual wall clock start.

std::string_view buffering_name(Buffering b) {
    switch (b) {
        case Buffering::send_after_receive:
            return "send_after_receive";
        case Buffering::send_discard_retry:
            return "send_discard_retry";
        case Buffering::single:
            return "single";
        case Buffering::multiple:
            return "multiple";
    }
    return "?";
}

std::string_view mode_name(SendMode m) {
    switch (m) {
        case SendMode::nonblocking:
            return "nonblocking";
        case SendMode::accepted:
            return "accepted";
        case SendMode::delivered:
            return "delivered";
    }
    return "?";
}

std::string_view on_full_name(OnFull f) {
    switch (f) {
        case OnFull::block:
            return "block";
        case OnFull::fail:
            return "fail";
        case OnFull::buffer:
            return "buffer";
    }
    return "?";
}

Promise promise_of(SendMode m) {
    switch (m) {
        case SendMode::nonblocking:
            return Promise::none;
        case SendMode::accepted:
            return Promise::accepted;
        case SendMode::delivered:
            return Promise::delivered;
    }
    return Promise::none;
}

}  // namespace

Bytes make_body(std::uint64_t payload, std::size_t padding) {
    Bytes body(8 + padding, 0xa5);
    for (std::size_t i = 0; i < 8; ++i) body[i] = static_cast<std::uint8_t>(payload >> (8 * i));
    return body;
}

std::uint64_t payload_of(const Bytes& body) {
    if (body.size() < 8) return 0;
    std::uint64_t payload = 0;
    for (std::size_t i = 0; i < 8; ++i) payload |= std::uint64_t{body[i]} << (8 * i);
    return payload;
}

DirectWorkload::DirectWorkload(Simulation& sim, std::size_t slot,
                               const DirectWorkloadOptions& options, Random random)
    : sim_(sim), slot_(slot), options_(options), random_(random) {
    HERALD_ASSERT(options.processes > 0);
    for (std::uint32_t i = 0; i < options.processes; ++i) {
        processes_.push_back(make_process(i, sim.node_count()));
    }
}

DirectWorkload::Process DirectWorkload::make_process(std::uint32_t index, std::size_t nodes) {
    Process p;
    // Round-robin over nodes; well-known local ids (< 2^32) survive restarts.
    p.pid = Pid{NodeId{1 + index % nodes}, 1 + index / nodes};
    if (random_.chance(0.5)) {
        p.options.buffering = Buffering::multiple;
        const bool tiny = options_.tiny_queues || random_.chance(0.3);
        p.options.queue_limit = tiny ? 1 + static_cast<std::uint32_t>(random_.below(3)) : 1024;
    } else {
        const Buffering others[] = {Buffering::single, Buffering::send_after_receive,
                                    Buffering::send_discard_retry};
        p.options.buffering = others[random_.below(3)];
        p.options.queue_limit = 1;
    }
    const bool slow = options_.slow_consumers && random_.chance(0.5);
    p.consume_max = slow ? Duration::milliseconds(100) : Duration::milliseconds(2);
    return p;
}

std::vector<Pid> DirectWorkload::pids() const {
    std::vector<Pid> out;
    for (const auto& p : processes_) out.push_back(p.pid);
    return out;
}

bool DirectWorkload::needs_post(const Process& p) const {
    return p.options.buffering == Buffering::send_after_receive ||
           p.options.buffering == Buffering::send_discard_retry;
}

Duration DirectWorkload::uniform(Duration low, Duration high) {
    if (high <= low) return low;
    return low + Duration::nanoseconds(static_cast<std::int64_t>(
                     random_.below(static_cast<std::uint64_t>((high - low).ns()))));
}

Duration DirectWorkload::think_time(bool liveness) {
    if (liveness) return uniform(Duration::zero(), Duration::milliseconds(5));
    // Bursts (back-to-back sends fill windows and queues) mixed with pauses that spread the
    // budget over the safety phase.
    if (random_.chance(0.3)) return uniform(Duration::zero(), Duration::milliseconds(1));
    return uniform(Duration::zero(),
                   options_.safety * 2 / std::max<std::uint32_t>(options_.messages, 1));
}

void DirectWorkload::on_node_started(SimNode& node) {
    for (std::size_t i = 0; i < processes_.size(); ++i) {
        Process& p = processes_[i];
        if (p.pid.node != node.id()) continue;
        ++p.life;
        p.alive = true;
        p.pending.reset();
        p.posted = false;
        p.step_scheduled = false;
        p.from.clear();
        spawn(i);
        schedule_step(i, Duration::zero());
        schedule_send(i, think_time(liveness_));
    }
}

void DirectWorkload::on_node_crashed(SimNode& node) {
    for (auto& p : processes_) {
        if (p.pid.node != node.id()) continue;
        ++p.life;
        p.alive = false;
        if (p.pending) pending_by_op_.erase(*p.pending);
        p.pending.reset();
    }
}

void DirectWorkload::spawn(std::size_t index) {
    const Process& p = processes_[index];
    SimNode& node = node_of(p);
    sim_.note(node.label(), "spawn",
              Fields()
                  .add("pid", p.pid)
                  .add("buffering", buffering_name(p.options.buffering))
                  .add("queue_limit", p.options.queue_limit)
                  .text());
    node.command<proto::direct::DirectEngine>(slot_, [&](auto& e, proto::Effects& out) {
        e.on_spawn(p.pid, p.options, sim_.now(), out);
    });
}

void DirectWorkload::schedule_send(std::size_t index, Duration delay) {
    sim_.queue().schedule(sim_.now() + delay,
                          [this, index, life = processes_[index].life] { send_next(index, life); });
}

void DirectWorkload::send_next(std::size_t index, std::uint64_t life) {
    Process& p = processes_[index];
    if (!p.alive || p.life != life || p.pending) return;
    if (!liveness_) {
        if (p.sent < options_.messages) issue_send(index, false);
        return;  // Budget spent: idle until the liveness phase.
    }
    if (p.sent_liveness < options_.liveness_messages) issue_send(index, true);
}

std::optional<Buffering> DirectWorkload::buffering_of(Pid pid) const {
    for (const auto& p : processes_) {
        if (p.pid == pid) return p.options.buffering;
    }
    return std::nullopt;
}

Pid DirectWorkload::pick_target(std::size_t index, bool allow_missing) {
    if (allow_missing && random_.chance(0.03)) {
        return Pid{NodeId{1 + random_.below(sim_.node_count())}, missing_local_id};
    }
    if (processes_.size() == 1) return processes_[index].pid;
    std::size_t target = random_.below(processes_.size() - 1);
    if (target >= index) ++target;  // Anyone but itself.
    return processes_[target].pid;
}

void DirectWorkload::issue_send(std::size_t index, bool liveness) {
    Process& p = processes_[index];
    const Pid target = pick_target(index, !liveness);
    OperationRecord record = sim_.new_operation("send", p.pid, target);
    const std::uint64_t op = record.id;
    SendOptions send;
    const SendMode modes[] = {SendMode::accepted, SendMode::delivered, SendMode::nonblocking};
    const bool nonblocking_ok = !liveness || options_.liveness_nonblocking;
    send.mode = modes[random_.below(nonblocking_ok ? 3 : 2)];
    if (!liveness) {
        // Safety sends try every full-queue policy and some deadlines; liveness sends block
        // without a deadline, so that only the engine can keep them from succeeding.
        const OnFull policies[] = {OnFull::block, OnFull::fail, OnFull::buffer};
        send.on_full = policies[random_.below(3)];
        if (random_.chance(0.6)) {
            send.deadline = sim_.now() + uniform(Duration::milliseconds(50), Duration::seconds(3));
        }
    }
    Message message;
    message.source = p.pid;
    message.target = target;
    message.sent_unix_ns = unix_epoch_ns + sim_.now().ns();
    message.body = make_body(op, static_cast<std::size_t>(random_.below(57)));

    record.payload = op;
    record.promise = promise_of(send.mode);
    // To a send-after-receive process, "accepted" means the offer was registered while the
    // body stays with the sender (docs/direct.md rule 7): it promises nothing about delivery.
    if (record.promise == Promise::accepted &&
        buffering_of(target) == Buffering::send_after_receive) {
        record.promise = Promise::none;
    }
    record.must_succeed = liveness;
    sim_.history().start(record);
    if (liveness) {
        ++p.sent_liveness;
        liveness_payloads_.insert(op);
    } else {
        ++p.sent;
    }
    p.pending = op;
    pending_by_op_[op] = index;
    if (sim_.trace().enabled()) {
        Fields f;
        f.add("op", op).add("from", p.pid).add("to", target).add("mode", mode_name(send.mode));
        f.add("on_full", on_full_name(send.on_full))
            .add("bytes", std::uint64_t{message.body.size()});
        if (send.deadline != Time::max()) f.add("deadline", send.deadline);
        sim_.note(node_of(p).label(), "send", f.text());
    }
    node_of(p).command<proto::direct::DirectEngine>(slot_, [&](auto& e, proto::Effects& out) {
        e.on_send(op, std::move(message), send, sim_.now(), out);
    });
}

void DirectWorkload::on_completed(SimNode& /*node*/, const proto::CompleteEffect& c) {
    sim_.history().complete(c.op, sim_.now(), c.result ? Errc::ok : c.result.error().code);
    const auto it = pending_by_op_.find(c.op);
    if (it == pending_by_op_.end()) return;  // A second completion: the history has it.
    const std::size_t index = it->second;
    pending_by_op_.erase(it);
    Process& p = processes_[index];
    p.pending.reset();
    const OperationRecord* op = sim_.history().find(c.op);
    if (op != nullptr && op->must_succeed &&
        (op->outcome == Errc::queue_full || op->outcome == Errc::peer_restarted)) {
        // Back-pressure (nothing was taken) or a stale channel (the target restarted): like an
        // application, try again later with a new payload; the checkers excuse the first.
        --p.sent_liveness;
        liveness_payloads_.erase(op->payload);
        return schedule_send(index, uniform(Duration::milliseconds(5), Duration::milliseconds(50)));
    }
    schedule_send(index, think_time(liveness_));
}

void DirectWorkload::on_delivered(SimNode& node, const Message& message) {
    const std::uint64_t payload = payload_of(message.body);
    sim_.history().deliver(
        {sim_.now(), message.source, message.target, node.incarnation(), payload});
    liveness_payloads_.erase(payload);
    if (sim_.trace().enabled()) {
        sim_.note(node.label(), "deliver",
                  Fields()
                      .add("to", message.target)
                      .add("from", message.source)
                      .add("payload", payload)
                      .add("seq", message.seq)
                      .text());
    }
    for (std::size_t i = 0; i < processes_.size(); ++i) {
        if (processes_[i].pid == message.target && !processes_[i].step_scheduled) {
            schedule_step(i, Duration::zero());
        }
    }
}

void DirectWorkload::schedule_step(std::size_t index, Duration delay) {
    Process& p = processes_[index];
    p.step_scheduled = true;
    sim_.queue().schedule(sim_.now() + delay,
                          [this, index, life = p.life] { receiver_step(index, life); });
}

void DirectWorkload::receiver_step(std::size_t index, std::uint64_t life) {
    Process& p = processes_[index];
    if (!p.alive || p.life != life) return;
    p.step_scheduled = false;
    SimNode& node = node_of(p);
    if (auto message = node.consume(p.pid, p.from)) {
        // The receive returned this message; the next receive picks its own filter.
        p.posted = false;
        p.from.clear();
        if (sim_.trace().enabled()) {
            sim_.note(node.label(), "consume",
                      Fields().add("pid", p.pid).add("payload", payload_of(message->body)).text());
        }
        schedule_step(index, uniform(Duration::zero(), p.consume_max));
    } else if (needs_post(p) && !p.posted) {
        post_receive(index);
    }
}

void DirectWorkload::post_receive(std::size_t index) {
    Process& p = processes_[index];
    p.posted = true;
    ++p.receive_generation;
    p.from.clear();
    if (processes_.size() > 1 && random_.chance(0.2)) {
        p.from.push_back(pick_target(index, false));  // Selective: one sender only.
    }
    SimNode& node = node_of(p);
    if (sim_.trace().enabled()) {
        Fields f;
        f.add("pid", p.pid);
        if (!p.from.empty()) f.add("from", p.from.front());
        sim_.note(node.label(), "receive", f.text());
    }
    node.command<proto::direct::DirectEngine>(slot_, [&](auto& e, proto::Effects& out) {
        e.on_receive_posted(p.pid, p.from, sim_.now(), out);
    });
    // A selective receive always has a timeout: its sender may never send again, and a
    // process blocked on it forever would be the workload's deadlock, not the engine's.
    if (!p.from.empty() || random_.chance(0.3)) {
        const Duration timeout = uniform(Duration::milliseconds(1), Duration::milliseconds(30));
        sim_.queue().schedule(sim_.now() + timeout,
                              [this, index, life = p.life, generation = p.receive_generation] {
                                  receive_timeout(index, life, generation);
                              });
    }
}

void DirectWorkload::receive_timeout(std::size_t index, std::uint64_t life,
                                     std::uint64_t generation) {
    Process& p = processes_[index];
    if (!p.alive || p.life != life || !p.posted || p.receive_generation != generation) return;
    p.posted = false;
    p.from.clear();
    SimNode& node = node_of(p);
    sim_.note(node.label(), "receive_timeout", Fields().add("pid", p.pid).text());
    node.command<proto::direct::DirectEngine>(slot_, [&](auto& e, proto::Effects& out) {
        e.on_receive_cancelled(p.pid, sim_.now(), out);
    });
    if (!p.step_scheduled)
        schedule_step(index, uniform(Duration::zero(), Duration::milliseconds(20)));
}

void DirectWorkload::begin_liveness() {
    liveness_ = true;
    for (std::size_t i = 0; i < processes_.size(); ++i) {
        if (processes_[i].alive && !processes_[i].pending) schedule_send(i, think_time(true));
    }
}

std::string DirectWorkload::outstanding() const {
    std::string out;
    for (const auto& p : processes_) {
        Fields f;
        if (!p.alive) f.add("down", true);
        if (p.pending) f.add("pending_op", *p.pending);
        if (p.sent_liveness < options_.liveness_messages) {
            f.add("liveness_sends_left", options_.liveness_messages - p.sent_liveness);
        }
        if (p.alive && sim_.node(p.pid.node).queued(p.pid) > 0) {
            f.add("queued", std::uint64_t{sim_.node(p.pid.node).queued(p.pid)});
        }
        if (!f.text().empty()) out += " [" + to_string(p.pid) + " " + f.text() + "]";
    }
    if (!liveness_payloads_.empty()) {
        out += " undelivered liveness payloads: " + std::to_string(liveness_payloads_.size());
    }
    return out;
}

bool DirectWorkload::done() const {
    if (!liveness_) return false;
    for (const std::uint64_t payload : liveness_payloads_) {
        // Payload ids are op ids. An excused send (e.g. dropped on a stale channel) need not
        // arrive.
        const OperationRecord* op = sim_.history().find(payload);
        if (op == nullptr || !excused(sim_.history(), *op)) return false;
    }
    for (const auto& p : processes_) {
        if (!p.alive || p.pending || p.sent_liveness < options_.liveness_messages) return false;
        if (sim_.node(p.pid.node).queued(p.pid) > 0) return false;
    }
    return true;
}

}  // namespace herald::sim

// MigrateWorkload: a mobile receiver migrating under faults while senders stream to it, with
// the checks of docs/migration.md (no loss, no duplicates, FIFO across migration). Layer: sim.
#include "sim/migrate_workload.h"

#include <string>
#include <utility>

#include "core/assert.h"
#include "proto/direct/direct_engine.h"
#include "proto/fields.h"
#include "sim/direct_workload.h"
#include "sim/sim_node.h"

namespace herald::sim {

namespace {
using proto::direct::DirectEngine;
constexpr std::uint64_t mobile_local = 7;
constexpr std::uint64_t sender_local = 3;
}  // namespace

MigrateWorkload::MigrateWorkload(Simulation& sim, std::size_t slot,
                                 const MigrateWorkloadOptions& options, Random random)
    : sim_(sim), slot_(slot), options_(options), random_(std::move(random)) {
    mobile_.pid = Pid{NodeId{1}, mobile_local};
    for (std::size_t i = 0; i < sim.node_count(); ++i) {
        Sender s;
        s.pid = Pid{sim.node_at(i).id(), sender_local};
        senders_.push_back(s);
    }
}

Duration MigrateWorkload::uniform(Duration low, Duration high) {
    const auto span = static_cast<std::uint64_t>((high - low).ns()) + 1;
    return low + Duration::nanoseconds(static_cast<std::int64_t>(random_.below(span)));
}

void MigrateWorkload::violation(std::string_view checker, std::string description) {
    static_cast<void>(checker);
    violations_.push_back({checker == "no_loss"         ? "no_loss"
                           : checker == "no_duplicates" ? "no_duplicates"
                           : checker == "fifo"          ? "fifo"
                                                        : "migration",
                           sim_.now(), std::move(description)});
}

Bytes MigrateWorkload::state_blob() const {
    Bytes state;
    proto::put_u64(state, mobile_.consumed);
    proto::put_u64(state, mobile_.life);
    return state;
}

void MigrateWorkload::on_node_started(SimNode& node) {
    for (std::size_t i = 0; i < senders_.size(); ++i) {
        if (senders_[i].pid.node == node.id()) spawn_sender(i);
    }
    // The mobile process is born once, on node 1; once it died it stays dead (its pid is not
    // reused: a new process under the same pid could be handed messages of the old one).
    if (node.id() == mobile_.pid.node && !mobile_born_) {
        mobile_born_ = true;
        spawn_mobile(node);
    }
}

void MigrateWorkload::spawn_mobile(SimNode& node) {
    mobile_.alive = true;
    mobile_.host = node.id();
    proto::direct::ProcessOptions options;
    options.queue_limit = 4;  // Small: flow control and window updates across a move.
    node.command<DirectEngine>(slot_, [&](auto& e, proto::Effects& out) {
        e.on_spawn(mobile_.pid, options, sim_.now(), out);
    });
    schedule_migration(uniform(Duration::milliseconds(50), options_.migrate_gap_max));
}

void MigrateWorkload::spawn_sender(std::size_t index) {
    Sender& s = senders_[index];
    s.alive = true;
    ++s.life;
    s.in_flight = 0;
    s.order = 0;
    s.step_scheduled = false;
    sim_.node(s.pid.node).command<DirectEngine>(slot_, [&](auto& e, proto::Effects& out) {
        e.on_spawn(s.pid, {}, sim_.now(), out);
    });
    schedule_sender(index, uniform(Duration::zero(), Duration::milliseconds(50)));
}

void MigrateWorkload::on_node_crashed(SimNode& node) {
    for (Sender& s : senders_) {
        if (s.pid.node != node.id()) continue;
        s.alive = false;
        s.in_flight = 0;
    }
    std::erase_if(send_ops_,
                  [&](const auto& e) { return senders_[e.second].pid.node == node.id(); });
    if (!mobile_.alive) return;
    if (mobile_.host == node.id()) return mobile_died("its host crashed");
    if (mobile_.migrate_op == 0 && mobile_.moving_to == node.id()) {
        return mobile_died("its migration target crashed before it arrived");
    }
    if (mobile_.migrate_op == 0 && mobile_.moving_to.known() && mobile_.moving_from == node.id()) {
        // The origin decided and died before the target heard it: presumed abort (M5).
        return mobile_died("its migration origin crashed before it arrived");
    }
}

void MigrateWorkload::mobile_died(const char* why) {
    sim_.note("--", "mobile_died", why);
    mobile_.alive = false;
    mobile_.host = NodeId{};
    mobile_.moving_to = NodeId{};
    mobile_.migrate_op = 0;
    ++mobile_.life;
    ++deaths_;
    reply_ops_.clear();  // Its sends died with it: no completion comes.
}

void MigrateWorkload::schedule_sender(std::size_t index, Duration delay) {
    Sender& s = senders_[index];
    if (s.step_scheduled) return;
    s.step_scheduled = true;
    sim_.queue().schedule(sim_.now() + delay,
                          [this, index, life = s.life] { sender_step(index, life); });
}

void MigrateWorkload::sender_step(std::size_t index, std::uint64_t life) {
    Sender& s = senders_[index];
    if (s.life != life) return;
    s.step_scheduled = false;
    if (!s.alive || !sim_.node(s.pid.node).up()) return;
    const std::uint32_t budget = liveness_ ? options_.liveness_messages : options_.messages;
    // At most a window per step: a send that fails at once must not make this loop spin.
    for (std::uint32_t issued = 0; s.in_flight < options_.window && issued < options_.window;
         ++issued) {
        const bool more = liveness_ ? s.liveness_ok + s.in_flight < budget : s.sent < budget;
        if (!more || !s.alive) break;
        issue_send(index);
    }
}

void MigrateWorkload::issue_send(std::size_t index) {
    Sender& s = senders_[index];
    SimNode& node = sim_.node(s.pid.node);
    if (liveness_ && mobile_.alive && mobile_.host.known()) {
        // The application's location hint (a name service would give it): a chain broken
        // by a crashed forwarding node is bypassed.
        node.command<DirectEngine>(slot_, [&](auto& e, proto::Effects& out) {
            e.on_location(mobile_.pid, mobile_.host, sim_.now(), out);
        });
    }
    const std::uint64_t op = sim_.next_operation_id();
    SendRecord record{index, s.life, s.order++, mobile_.life, liveness_, std::nullopt, false};
    sends_[op] = record;
    send_ops_[op] = index;
    ++s.in_flight;
    if (!liveness_) ++s.sent;
    send(node, op, s.pid, mobile_.pid, 24);
}

void MigrateWorkload::on_completed(SimNode& node, const proto::CompleteEffect& c) {
    if (c.op == mobile_.migrate_op) {
        mobile_.migrate_op = 0;
        if (!c.result) {  // It stays where it is; its queue came back first.
            ++migrations_failed_;
            mobile_.moving_to = NodeId{};
            schedule_consume(Duration::zero());
            // Refused while its replies were in flight (would_block), or the target failed:
            // it tries again later.
            schedule_migration(uniform(Duration::milliseconds(50), options_.migrate_gap_max));
            return;
        }
        ++migrations_ok_;
        mobile_.host = NodeId{};  // Left: it lives again where it arrives.
        SimNode& target = sim_.node(mobile_.moving_to);
        if (!target.up() || target.incarnation() != mobile_target_life_) {
            // The target that accepted may have died before it heard the commit.
            mobile_died("its migration target restarted");
        }
        return;
    }
    if (reply_ops_.erase(c.op) > 0) {
        ReplyRecord& r = replies_.at(c.op);
        r.outcome = c.result ? Errc::ok : c.result.error().code;
        if (c.result) ++replies_ok_;
        return;
    }
    auto pending = send_ops_.find(c.op);
    if (pending == send_ops_.end()) return;
    const std::size_t index = pending->second;
    Sender& s = senders_[index];
    send_ops_.erase(pending);
    SendRecord& record = sends_.at(c.op);
    record.outcome = c.result ? Errc::ok : c.result.error().code;
    if (s.in_flight > 0) --s.in_flight;
    if (record.liveness && c.result) ++s.liveness_ok;
    if (record.liveness && !c.result && !mobile_.alive) ++s.liveness_ok;  // Ended: no hang.
    static_cast<void>(node);
    schedule_sender(index, uniform(Duration::zero(), Duration::milliseconds(30)));
}

void MigrateWorkload::on_delivered(SimNode& /*node*/, const Message& message) {
    for (std::size_t i = 0; i < senders_.size(); ++i) {
        if (message.target == senders_[i].pid) return on_reply_delivered(i, message);
    }
    if (message.target != mobile_.pid) return;
    const std::uint64_t payload = payload_of(message.body);
    if (++delivered_[payload] > 1) {
        violation("no_duplicates", "payload " + std::to_string(payload) + " delivered twice");
    }
    schedule_consume(uniform(Duration::zero(), Duration::milliseconds(20)));
}

void MigrateWorkload::on_arrived(SimNode& node, Pid pid, const Bytes& state) {
    if (pid != mobile_.pid) return;
    ++arrivals_;
    if (!mobile_.alive) {
        // Declared dead because its target restarted, but the new incarnation took it.
        mobile_.alive = true;
        ++mobile_.life;
    }
    if (state.size() != 16) violation("migration", "state blob of " + std::to_string(state.size()));
    std::size_t offset = 0;
    std::uint64_t consumed = 0;
    if (!proto::get_u64(state, offset, consumed) || consumed != mobile_.consumed) {
        violation("migration", "state blob says " + std::to_string(consumed) + " consumed, not " +
                                   std::to_string(mobile_.consumed));
    }
    mobile_.host = node.id();
    mobile_.moving_to = NodeId{};
    schedule_migration(uniform(Duration::milliseconds(50), options_.migrate_gap_max));
}

void MigrateWorkload::schedule_consume(Duration delay) {
    if (mobile_.step_scheduled) return;
    mobile_.step_scheduled = true;
    sim_.queue().schedule(sim_.now() + delay, [this, life = mobile_.life] { consume_step(life); });
}

void MigrateWorkload::consume_step(std::uint64_t life) {
    mobile_.step_scheduled = false;
    if (life != mobile_.life || !mobile_.alive || !mobile_.host.known()) return;
    if (mobile_.migrate_op != 0) return;  // Its queue travels; it resumes where it lands.
    SimNode& node = sim_.node(mobile_.host);
    if (!node.up()) return;
    auto message = node.consume(mobile_.pid);
    if (!message) return;
    ++mobile_.consumed;
    const std::uint64_t payload = payload_of(message->body);
    auto it = sends_.find(payload);
    if (it == sends_.end()) {
        violation("no_duplicates", "payload " + std::to_string(payload) + " was never sent");
    } else {
        it->second.consumed = true;
        auto& last = last_order_[{it->second.sender, it->second.sender_life}];
        if (last != 0 && it->second.order + 1 <= last) {
            violation("fifo", "sender " + std::to_string(it->second.sender) + " message " +
                                  std::to_string(it->second.order) + " after " +
                                  std::to_string(last - 1));
        }
        last = it->second.order + 1;
        reply(node, it->second.sender);
    }
    schedule_consume(uniform(Duration::zero(), Duration::milliseconds(10)));
}

void MigrateWorkload::reply(SimNode& node, std::size_t index) {
    Sender& s = senders_[index];
    const std::uint64_t op = sim_.next_operation_id();
    replies_[op] = ReplyRecord{index, s.replies_issued++, s.life, std::nullopt, false};
    reply_ops_.insert(op);
    send(node, op, mobile_.pid, s.pid, 16);
}

void MigrateWorkload::send(SimNode& node, std::uint64_t op, Pid from, Pid to,
                           std::uint64_t padding_max) {
    Message message;
    message.source = from;
    message.target = to;
    message.body = make_body(op, static_cast<std::size_t>(random_.below(padding_max)));
    proto::direct::SendOptions options;
    // Both modes complete only once the receiver's node has the message (the no-loss checks
    // count on it); nonblocking would complete at the first transmission.
    options.mode = random_.below(2) == 0 ? proto::direct::SendMode::accepted
                                         : proto::direct::SendMode::delivered;
    node.command<DirectEngine>(slot_, [&](auto& e, proto::Effects& out) {
        e.on_send(op, std::move(message), options, sim_.now(), out);
    });
}

void MigrateWorkload::on_reply_delivered(std::size_t index, const Message& message) {
    const std::uint64_t payload = payload_of(message.body);
    auto it = replies_.find(payload);
    if (message.source != mobile_.pid || it == replies_.end()) {
        return violation("no_duplicates", "reply " + std::to_string(payload) + " was never sent");
    }
    ReplyRecord& r = it->second;
    if (r.delivered) {
        violation("no_duplicates", "reply " + std::to_string(payload) + " delivered twice");
    }
    r.delivered = true;
    Sender& s = senders_[index];
    auto& last = s.last_reply[s.life];
    if (last != 0 && r.order + 1 <= last) {
        violation("fifo", "reply " + std::to_string(r.order) + " to sender " +
                              std::to_string(index) + " after " + std::to_string(last - 1));
    }
    last = r.order + 1;
    // The sender's application reads it at once (its queue stays short).
    sim_.queue().schedule(sim_.now(), [this, index, life = s.life] {
        Sender& sender = senders_[index];
        if (sender.life != life || !sender.alive || !sim_.node(sender.pid.node).up()) return;
        while (sim_.node(sender.pid.node).consume(sender.pid)) {
        }
    });
}

void MigrateWorkload::schedule_migration(Duration delay) {
    if (liveness_) return;
    sim_.queue().schedule(sim_.now() + delay, [this] { migrate_step(); });
}

void MigrateWorkload::migrate_step() {
    if (liveness_ || !mobile_.alive || !mobile_.host.known() || mobile_.migrate_op != 0) return;
    SimNode& node = sim_.node(mobile_.host);
    if (!node.up()) return;
    // Any other node, up or down (a down target is a migration that fails half-way).
    const auto pick = random_.below(sim_.node_count() - 1);
    std::size_t index = 0;
    for (std::size_t i = 0, seen = 0; i < sim_.node_count(); ++i) {
        if (sim_.node_at(i).id() == mobile_.host) continue;
        if (seen++ == pick) index = i;
    }
    const NodeId to = sim_.node_at(index).id();
    std::vector<Message> queued = node.take_queue(mobile_.pid);
    for (const Message& m : queued) --delivered_[payload_of(m.body)];
    const std::uint64_t op = sim_.next_operation_id();
    mobile_.migrate_op = op;
    mobile_.moving_to = to;
    mobile_.moving_from = mobile_.host;
    mobile_target_life_ = sim_.node(to).up() ? sim_.node(to).incarnation() : 0;
    node.command<DirectEngine>(slot_, [&](auto& e, proto::Effects& out) {
        e.on_migrate(op, mobile_.pid, to, std::move(queued), state_blob(), sim_.now(), out);
    });
}

void MigrateWorkload::schedule_crashes(std::uint32_t count, Random& random) {
    const auto down_max = Duration::seconds(1);
    const Duration window = options_.safety - down_max;
    if (window <= Duration::zero()) return;
    for (std::uint32_t i = 0; i < count; ++i) {
        const Time at = Time::zero() + Duration::nanoseconds(static_cast<std::int64_t>(
                                           random.below(static_cast<std::uint64_t>(window.ns()))));
        const Duration down =
            Duration::milliseconds(1 + static_cast<std::int64_t>(random.below(1000)));
        const std::uint64_t pick = random.below(sim_.node_count());
        sim_.queue().schedule(at, [this, pick, down] {
            // The first up node from `pick` on that does not host the mobile process.
            for (std::size_t k = 0; k < sim_.node_count(); ++k) {
                SimNode& n = sim_.node_at((pick + k) % sim_.node_count());
                if (!n.up() || (mobile_.alive && n.id() == mobile_.host)) continue;
                const NodeId id = n.id();
                sim_.crash(id, false);
                sim_.queue().schedule(sim_.now() + down, [this, id] { sim_.restart(id); });
                return;
            }
        });
    }
}

void MigrateWorkload::begin_liveness() {
    liveness_ = true;
    for (std::size_t i = 0; i < senders_.size(); ++i) {
        schedule_sender(i, uniform(Duration::zero(), Duration::milliseconds(20)));
    }
    schedule_consume(Duration::zero());
}

bool MigrateWorkload::done() const {
    if (mobile_.migrate_op != 0 || !reply_ops_.empty()) return false;
    for (const Sender& s : senders_) {
        if (s.in_flight > 0 || s.liveness_ok < options_.liveness_messages) return false;
    }
    if (!mobile_.alive) return true;
    if (!mobile_.host.known()) return false;
    for (const auto& [op, r] : sends_) {
        if (r.mobile_life == mobile_.life && r.outcome == Errc::ok && !r.consumed) return false;
    }
    return true;
}

std::string MigrateWorkload::outstanding() const {
    std::string text = mobile_.alive ? " mobile at " + to_string(mobile_.host) : " mobile dead";
    if (mobile_.migrate_op != 0) text += " (migrating)";
    for (std::size_t i = 0; i < senders_.size(); ++i) {
        const Sender& s = senders_[i];
        text += " sender" + std::to_string(i) + ": in_flight=" + std::to_string(s.in_flight) +
                " liveness_ok=" + std::to_string(s.liveness_ok);
    }
    std::uint64_t unconsumed = 0;
    for (const auto& [op, r] : sends_) {
        if (r.mobile_life == mobile_.life && r.outcome == Errc::ok && !r.consumed) ++unconsumed;
    }
    return text + " unconsumed=" + std::to_string(unconsumed) +
           " replies_in_flight=" + std::to_string(reply_ops_.size());
}

std::vector<Violation> MigrateWorkload::check() const {
    std::vector<Violation> out = violations_;
    for (const auto& [op, r] : replies_) {
        // Acked to a sender life that lives on: it was delivered to that life.
        const Sender& s = senders_[r.sender];
        if (r.outcome == Errc::ok && !r.delivered && s.alive && s.life == r.sender_life) {
            out.push_back({"no_loss", sim_.now(),
                           "reply " + std::to_string(op) + " to sender " +
                               std::to_string(r.sender) + " acked but never delivered"});
        }
    }
    for (const auto& [op, r] : sends_) {
        // Acked (accepted or delivered) to a process that never died since: it must arrive.
        if (r.outcome == Errc::ok && r.mobile_life == mobile_.life && mobile_.alive &&
            !r.consumed) {
            out.push_back({"no_loss", sim_.now(),
                           "payload " + std::to_string(op) + " from sender " +
                               std::to_string(r.sender) + " acked but never consumed"});
        }
    }
    return out;
}

std::map<std::string, std::uint64_t> MigrateWorkload::numbers() const {
    return {{"migrations_ok", migrations_ok_},
            {"migrations_failed", migrations_failed_},
            {"arrivals", arrivals_},
            {"mobile_deaths", deaths_},
            {"replies_ok", replies_ok_}};
}

}  // namespace herald::sim

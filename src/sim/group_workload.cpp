// GroupWorkload implementation. Layer: sim.
#include "sim/group_workload.h"

#include <algorithm>

#include "core/assert.h"
#include "proto/group/group_engine.h"
#include "sim/rpc_workload.h"

namespace herald::sim {

using proto::group::AddressKind;
using proto::group::Envelope;
using proto::group::GroupAddress;
using proto::group::GroupEngine;
using proto::group::Member;
using proto::group::reliability_all;

namespace {
const std::string open_group = "open";
const std::string closed_group = "closed";
const std::string doomed_group = "doomed";
// G24: the local id of the collector a request names (no process has it: only carried).
constexpr std::uint64_t collector_local = 0xC0'11EC7;

// G22: the open group has an IP multicast address the server picks, the doomed one the
// broadcast address, the closed one a host list; the three sending paths run side by side.
GroupAddress address_of(const std::string& group) {
    if (group == open_group) return GroupAddress{AddressKind::multicast, proto::IpGroup{4, {}, 0}};
    if (group == doomed_group) return GroupAddress{AddressKind::broadcast, {}};
    return GroupAddress{};
}
}  // namespace

GroupWorkload::GroupWorkload(Simulation& sim, std::size_t slot, const GroupWorkloadOptions& options,
                             Random random)
    : sim_(sim), taking_(sim, options.stall), slot_(slot), options_(options), random_(random) {
    const std::size_t nodes = sim.node_count();
    for (std::uint32_t i = 0; i < options.members; ++i) {
        processes_.push_back(Process{Pid{NodeId{1 + i % nodes}, 10 + i}});
    }
    Process outsider{Pid{NodeId{nodes}, 200}};
    outsider.outsider = true;
    processes_.push_back(outsider);
}

void GroupWorkload::violation(std::string text) {
    violations_.push_back({"group", sim_.now(), std::move(text)});
}

std::uint64_t GroupWorkload::record(OpKind kind, std::size_t index, const std::string& group) {
    const bool server = kind == OpKind::create || kind == OpKind::remove;
    const Pid actor = server ? Pid{server_, 1} : processes_[index].pid;
    const OperationRecord r = sim_.new_operation("group", actor, Pid{server_, 1});
    ops_[r.id] = Op{kind, index, group};
    sim_.history().start(r);
    return r.id;
}

void GroupWorkload::create_groups(SimNode& node) {
    // After a restart the groups come back from the server's disk: already_exists. The doomed
    // group is made once, and deleted once at a random time.
    if (!doomed_created_) {
        doomed_created_ = true;
        const auto op = record(OpKind::create, 0, doomed_group);
        node.command<GroupEngine>(slot_, [&](auto& e, proto::Effects& out) {
            e.on_create(op, Pid{server_, 1}, doomed_group, false, proto::group::order_fifo,
                        address_of(doomed_group), sim_.now(), out);
        });
        sim_.queue().schedule(
            sim_.now() + uniform(Duration::milliseconds(300), Duration::seconds(3)),
            [this] { start_delete(); });
    }
    for (const auto* group : {&open_group, &closed_group}) {
        const auto op = record(OpKind::create, 0, *group);
        node.command<GroupEngine>(slot_, [&](auto& e, proto::Effects& out) {
            e.on_create(op, Pid{server_, 1}, *group, group == &closed_group,
                        proto::group::order_fifo, address_of(*group), sim_.now(), out);
        });
    }
}

void GroupWorkload::on_node_started(SimNode& node) {
    if (node.id() == server_) {
        sim_.queue().schedule(sim_.now(), [this, &node] {
            if (node.up()) create_groups(node);
        });
        if (delete_started_ && !delete_done_) {
            sim_.queue().schedule(sim_.now() + Duration::milliseconds(10),
                                  [this] { start_delete(); });
        }
    }
    for (std::size_t i = 0; i < processes_.size(); ++i) {
        Process& p = processes_[i];
        if (p.pid.node != node.id()) continue;
        ++p.life;
        p.alive = true;
        p.busy = false;
        schedule(i, uniform(Duration::milliseconds(10), Duration::milliseconds(200)));
    }
}

void GroupWorkload::on_node_crashed(SimNode& node) {
    for (auto& p : processes_) {
        if (p.pid.node != node.id()) continue;
        ++p.life;
        p.alive = false;
        p.busy = false;
    }
    for (auto it = ops_.begin(); it != ops_.end();) {
        const bool server = it->second.kind == OpKind::create || it->second.kind == OpKind::remove;
        const Pid actor = server ? Pid{server_, 1} : processes_[it->second.process].pid;
        it = actor.node == node.id() ? ops_.erase(it) : std::next(it);
    }
    if (node.id() == server_) delete_busy_ = false;
}

// G21: the server's process deletes the doomed group, again after a failure or a restart of
// its node, until it is answered ok or not_found (a retry after the server restarted may find
// it gone).
void GroupWorkload::start_delete() {
    SimNode& node = sim_.node(server_);
    if (delete_done_ || delete_busy_) return;
    delete_started_ = true;  // A server that is down deletes when it starts again.
    if (!node.up()) return;
    delete_busy_ = true;
    const auto op = record(OpKind::remove, 0, doomed_group);
    node.command<GroupEngine>(slot_, [&](auto& e, proto::Effects& out) {
        e.on_delete(op, Pid{server_, 1}, doomed_group, sim_.now(), out);
    });
}

void GroupWorkload::on_delete_done(Errc outcome) {
    delete_busy_ = false;
    ++numbers_["group_delete_" + std::string(errc_name(outcome))];
    if (outcome == Errc::ok || outcome == Errc::not_found) {
        delete_done_ = true;
        return;
    }
    sim_.queue().schedule(sim_.now() + Duration::milliseconds(300), [this] { start_delete(); });
}

// G21, once the delete was answered: no live member is in a view of the doomed group its node
// installed, and the server holds no such group.
bool GroupWorkload::doomed_dropped(const Process& p) const {
    if (!delete_done_) return false;
    SimNode& server = sim_.node(server_);
    if (!server.up() || server.engine<GroupEngine>(slot_).server_view(doomed_group) != nullptr) {
        return false;
    }
    if (p.outsider || !p.alive) return true;
    SimNode& node = sim_.node(p.pid.node);
    const auto* v = node.engine<GroupEngine>(slot_).installed(doomed_group);
    return v == nullptr || !v->contains(Member{p.pid, node.incarnation()});
}

Duration GroupWorkload::uniform(Duration low, Duration high) {
    if (high <= low) return low;
    return low + Duration::nanoseconds(static_cast<std::int64_t>(
                     random_.below(static_cast<std::uint64_t>((high - low).ns()))));
}

void GroupWorkload::schedule(std::size_t index, Duration delay) {
    sim_.queue().schedule(sim_.now() + delay,
                          [this, index, life = processes_[index].life] { step(index, life); });
}

bool GroupWorkload::is_member(const Process& p, const std::string& group) const {
    SimNode& node = sim_.node(p.pid.node);
    if (!node.up()) return false;
    const auto* v = node.engine<GroupEngine>(slot_).installed(group);
    return v != nullptr && v->contains(Member{p.pid, node.incarnation()});
}

void GroupWorkload::step(std::size_t index, std::uint64_t life) {
    Process& p = processes_[index];
    if (!p.alive || p.life != life || p.busy) return;
    if (p.outsider) return step_outsider(index);
    for (const auto* group : {&open_group, &closed_group}) {
        if (!is_member(p, *group)) return start_join(index, *group, OpKind::join);
    }
    if (!liveness_ && !delete_started_ && !is_member(p, doomed_group) && random_.chance(0.3)) {
        return start_join(index, doomed_group, OpKind::join);
    }
    if (liveness_) {
        if (p.liveness_ok < options_.liveness_messages) {
            start_multicast(index, random_.chance(0.5) ? open_group : closed_group, reliability_all,
                            true);
        } else {
            // A view may still remove it (a late suspicion), even after it converged: a removed
            // member gets no view, so look again every 100 ms; one that is out rejoins above.
            schedule(index, Duration::milliseconds(100));
        }
        return;
    }
    if (p.sent >= options_.messages) return;
    if (random_.chance(options_.leave)) {
        return start_join(index, random_.chance(0.5) ? open_group : closed_group, OpKind::leave);
    }
    ++p.sent;
    static constexpr std::uint32_t choices[] = {0, 1, 2, reliability_all};
    const std::string& group = !delete_done_ && random_.chance(0.3) ? doomed_group
                               : random_.chance(0.5)                ? open_group
                                                                    : closed_group;
    start_multicast(index, group, choices[random_.below(4)], false);
}

// The outsider sends to the open group (reliability 1) and to the closed one, which must
// refuse it; after the heal it must get both answers once.
void GroupWorkload::step_outsider(std::size_t index) {
    Process& p = processes_[index];
    if (liveness_) {
        if (!p.closed_refused) return start_multicast(index, closed_group, 1, true);
        if (p.liveness_ok == 0) start_multicast(index, open_group, 1, true);
        return;
    }
    if (p.sent >= options_.messages) return;
    ++p.sent;
    start_multicast(index, random_.chance(0.5) ? open_group : closed_group, 1, false);
}

void GroupWorkload::start_join(std::size_t index, const std::string& group, OpKind kind) {
    Process& p = processes_[index];
    const auto op = record(kind, index, group);
    p.busy = true;
    sim_.node(p.pid.node).command<GroupEngine>(slot_, [&](auto& e, proto::Effects& out) {
        if (kind == OpKind::join) {
            e.on_join(op, p.pid, group, sim_.now(), out);
        } else {
            e.on_leave(op, p.pid, group, sim_.now(), out);
        }
    });
}

void GroupWorkload::start_multicast(std::size_t index, const std::string& group,
                                    std::uint32_t reliability, bool liveness) {
    Process& p = processes_[index];
    const auto op = record(OpKind::multicast, index, group);
    const auto payload = next_payload_++;
    ops_[op].payload = payload;
    ops_[op].reliability = reliability;
    ops_[op].liveness = liveness;
    payloads_[payload].group = group;
    payloads_[payload].sender = p.pid;
    // G24: every other reliability-0 multicast is a request (no random draw: seeds keep their
    // course). The collector is a pid nobody hosts: the engine only carries it.
    const Pid reply_to =
        reliability == 0 && payload % 2 == 1 ? Pid{p.pid.node, collector_local} : Pid{};
    payloads_[payload].reply_to = reply_to;
    p.busy = true;
    sim_.node(p.pid.node).command<GroupEngine>(slot_, [&](auto& e, proto::Effects& out) {
        e.on_multicast(op, p.pid, group, tag_body(payload), reliability, options_.multicast_timeout,
                       sim_.now(), out, reply_to);
    });
}

void GroupWorkload::on_completed(SimNode& /*node*/, const proto::CompleteEffect& c) {
    const Errc outcome = c.result ? Errc::ok : c.result.error().code;
    sim_.history().complete(c.op, sim_.now(), outcome);
    const auto it = ops_.find(c.op);
    if (it == ops_.end()) return;
    const Op op = it->second;
    ops_.erase(it);
    ++numbers_[std::string("group_") + std::string(outcome == Errc::ok ? "ok" : "failed")];
    if (op.kind == OpKind::remove) return on_delete_done(outcome);
    if (op.kind == OpKind::create) return;
    processes_[op.process].busy = false;
    if (op.kind == OpKind::multicast) on_multicast_done(op, c.result);
    // After a join, give its view time to reach the node before checking membership again.
    const bool joined = op.kind == OpKind::join && outcome == Errc::ok;
    const Duration low = joined ? Duration::milliseconds(100) : Duration::zero();
    const Duration high =
        outcome == Errc::ok && !joined ? Duration::milliseconds(50) : Duration::milliseconds(300);
    if (!processes_[op.process].busy) schedule(op.process, uniform(low, high));
}

void GroupWorkload::on_multicast_done(const Op& op, const Result<Bytes>& result) {
    Process& p = processes_[op.process];
    if (!result) {
        const Errc code = result.error().code;
        ++numbers_["group_multicast_" + std::string(errc_name(code))];
        if (p.outsider && op.liveness && op.group == closed_group && code == Errc::access_denied) {
            p.closed_refused = true;
        }
        return;
    }
    if (p.outsider && op.group == closed_group) {
        violation("outsider " + to_string(p.pid) + " multicast to the closed group succeeded");
    }
    auto r = proto::group::decode_responders(*result);
    if (!r) return violation("a multicast result does not decode");
    const auto& receivers = payloads_[op.payload].receivers;
    std::set<Pid> distinct(r->pids.begin(), r->pids.end());
    if (distinct.size() != r->pids.size()) violation("a responder is counted twice");
    for (auto pid : r->pids) {
        if (!receivers.contains(pid)) {
            violation("payload " + std::to_string(op.payload) + ": responder " + to_string(pid) +
                      " never received it");
        }
    }
    if (op.reliability != reliability_all && r->pids.size() < op.reliability) {
        violation("payload " + std::to_string(op.payload) + ": reliability " +
                  std::to_string(op.reliability) + " completed with fewer responses");
    }
    auto view = views_.find({op.group, r->view_id});
    if (op.reliability == reliability_all && view != views_.end() &&
        r->pids.size() != view->second.size()) {
        violation("payload " + std::to_string(op.payload) + ": reliability all completed with " +
                  std::to_string(r->pids.size()) + " of " + std::to_string(view->second.size()) +
                  " members");
    }
    ++numbers_[op.reliability == reliability_all ? "group_ok_all"
                                                 : "group_ok_r" + std::to_string(op.reliability)];
    if (op.liveness) ++p.liveness_ok;
}

void GroupWorkload::on_delivered(SimNode& node, const Message& message) {
    taking_.on_delivered(node, message.target);
    auto e = proto::group::decode_envelope(message.body);
    HERALD_ASSERT(e.has_value());
    const Life life{message.target, node.incarnation()};
    if (e->is_deleted) {
        if (e->group != doomed_group) violation("group " + e->group + " told deleted");
        if (!delete_started_) violation("doomed group told deleted before any delete");
        if (told_deleted_.insert(life).second) ++numbers_["group_told_deleted"];
        return;
    }
    if (told_deleted_.contains(life) && e->group == doomed_group) {
        violation(to_string(life.first) +
                  " got a view or data of the doomed group after its deletion");
    }
    if (e->is_view) {
        // G22: the view was installed and its membership effects carried out just before.
        if (!joins_broken_) {
            std::vector<Violation> found;
            check_joins(node, found);
            joins_broken_ = !found.empty();
            for (auto& v : found) violations_.push_back(std::move(v));
        }
        return on_view(life, *e);
    }
    on_data(life, *e);
}

// G20 (1, 2): every member of a view sees the same view under its id, in increasing order.
void GroupWorkload::on_view(const Life& life, const Envelope& e) {
    const auto key = std::make_pair(e.group, e.view_id);
    auto [it, fresh] = views_.try_emplace(key, e.view.members);
    if (!fresh && it->second != e.view.members) {
        violation("view " + e.group + "/" + std::to_string(e.view_id) + " differs between members");
    }
    if (!e.view.contains(Member{life.first, life.second})) {
        violation("view " + std::to_string(e.view_id) + " delivered to non-member " +
                  to_string(life.first));
    }
    auto& seq = lives_[life][e.group];
    if (!seq.empty() && e.view_id <= seq.back()) {
        violation(to_string(life.first) + " installed view " + std::to_string(e.view_id) +
                  " after " + std::to_string(seq.back()));
    }
    seq.push_back(e.view_id);
}

// G20 (3): a multicast reaches only members, in the view they installed last.
void GroupWorkload::on_data(const Life& life, const Envelope& e) {
    const auto payload = tag_of(e.payload);
    auto p = payloads_.find(payload);
    if (p == payloads_.end() || p->second.group != e.group) {
        return violation("delivered a payload nobody sent to " + e.group);
    }
    // At most once per member life (G18); a restarted node's process is a new member.
    if (!p->second.lives.insert(life).second) {
        violation("payload " + std::to_string(payload) + " delivered twice to " +
                  to_string(life.first));
    }
    if (!p->second.receivers.insert(life.first).second) {
        ++numbers_["group_redelivered_after_restart"];
    }
    // G24: a request names its collector at every member and never reaches its own sender.
    if (e.reply_to != p->second.reply_to) {
        violation("payload " + std::to_string(payload) + " delivered to " + to_string(life.first) +
                  (p->second.reply_to.valid() ? " without its collector" : " as a request"));
    }
    if (e.reply_to.valid()) {
        ++numbers_["group_requests_delivered"];
        if (life.first == p->second.sender) {
            violation("request " + std::to_string(payload) + " delivered to its own sender");
        }
    }
    const auto& seq = lives_[life][e.group];
    if (seq.empty() || seq.back() != e.view_id) {
        violation("payload " + std::to_string(payload) + " delivered to " + to_string(life.first) +
                  " outside its current view");
    }
    auto view = views_.find({e.group, e.view_id});
    if (view == views_.end()) return;
    const auto& members = view->second;
    if (!std::binary_search(members.begin(), members.end(), Member{life.first, life.second})) {
        violation("payload " + std::to_string(payload) + " delivered to non-member " +
                  to_string(life.first));
    }
    if (e.group == closed_group && !std::binary_search(members.begin(), members.end(), e.sender)) {
        violation("payload " + std::to_string(payload) + " of a non-member in the closed group");
    }
}

void GroupWorkload::begin_liveness() {
    liveness_ = true;
    for (std::size_t i = 0; i < processes_.size(); ++i) schedule(i, Duration::zero());
}

bool GroupWorkload::done() const {
    return std::all_of(processes_.begin(), processes_.end(), [this](const Process& p) {
        if (!p.alive || p.busy) return false;
        if (!doomed_dropped(p)) return false;
        if (p.outsider) return p.closed_refused && p.liveness_ok > 0;
        return p.liveness_ok >= options_.liveness_messages && converged(p);
    });
}

// The process is in the server's current view of both groups, and its node installed them.
bool GroupWorkload::converged(const Process& p) const {
    SimNode& server = sim_.node(server_);
    SimNode& node = sim_.node(p.pid.node);
    if (!server.up() || !node.up()) return false;
    const Member m{p.pid, node.incarnation()};
    for (const auto* group : {&open_group, &closed_group}) {
        const auto* current = server.engine<GroupEngine>(slot_).server_view(*group);
        const auto* installed = node.engine<GroupEngine>(slot_).installed(*group);
        if (current == nullptr || installed == nullptr) return false;
        if (!current->contains(m) || installed->id != current->id) return false;
    }
    return true;
}

std::string GroupWorkload::outstanding() const {
    std::string text;
    for (const auto& p : processes_) {
        if (doomed_dropped(p) &&
            (p.outsider ? (p.closed_refused && p.liveness_ok > 0)
                        : p.liveness_ok >= options_.liveness_messages && converged(p))) {
            continue;
        }
        text += ' ';  // Appends one by one: g++ 12 flags " " + string with a false -Wrestrict.
        text += to_string(p.pid);
        text += p.busy ? "(busy):" : ":";
        text += std::to_string(p.liveness_ok);
    }
    return text;
}

// Once done: the server's current views hold every live member, and every node hosting one
// of them installed that view (G20, 4).
void GroupWorkload::check_convergence(std::vector<Violation>& out) const {
    SimNode& server = sim_.node(server_);
    if (!server.up()) return;
    for (const auto* group : {&open_group, &closed_group}) {
        const auto* current = server.engine<GroupEngine>(slot_).server_view(*group);
        if (current == nullptr) continue;
        for (const auto& p : processes_) {
            if (p.outsider || !p.alive) continue;
            const Member m{p.pid, sim_.node(p.pid.node).incarnation()};
            if (!current->contains(m)) {
                out.push_back({"group", sim_.now(), to_string(p.pid) + " not in " + *group});
            }
            const auto* v = sim_.node(p.pid.node).engine<GroupEngine>(slot_).installed(*group);
            if (v == nullptr || v->id != current->id) {
                out.push_back({"group", sim_.now(),
                               "node of " + to_string(p.pid) + " did not install view " +
                                   std::to_string(current->id) + " of " + *group});
            }
        }
    }
}

std::vector<Violation> GroupWorkload::check() const {
    std::vector<Violation> out = violations_;
    // A member's consecutive views skip no known view that holds it.
    for (const auto& [life, groups] : lives_) {
        for (const auto& [group, seq] : groups) {
            for (std::size_t i = 1; i < seq.size(); ++i) {
                for (auto id = seq[i - 1] + 1; id < seq[i]; ++id) {
                    auto v = views_.find({group, id});
                    if (v == views_.end()) continue;
                    const Member m{life.first, life.second};
                    if (std::binary_search(v->second.begin(), v->second.end(), m)) {
                        out.push_back({"group", sim_.now(),
                                       to_string(m.pid) + " skipped view " + std::to_string(id) +
                                           " of " + group + " that holds it"});
                    }
                }
            }
        }
    }
    if (done()) check_convergence(out);
    check_joins(out);
    return out;
}

// G22: each up node has joined exactly the IP multicast groups of its installed views that
// hold a member of it (the simulated network delivers a group's datagrams by these joins).
// Checked at every view a member receives and at the end.
void GroupWorkload::check_joins(std::vector<Violation>& out) const {
    for (std::size_t i = 0; i < sim_.node_count(); ++i) check_joins(sim_.node_at(i), out);
}

void GroupWorkload::check_joins(SimNode& node, std::vector<Violation>& out) const {
    if (!node.up()) return;
    std::set<proto::IpGroup> expected;
    for (const auto& [name, v] : node.engine<GroupEngine>(slot_).installed_views()) {
        if (v.address.kind != AddressKind::multicast) continue;
        for (const auto& m : v.members) {
            if (m.pid.node == node.id() && m.incarnation == node.incarnation()) {
                expected.insert(v.address.ip);
            }
        }
    }
    if (expected != node.joined_groups()) {
        out.push_back({"group", sim_.now(),
                       node.label() + " joined " + std::to_string(node.joined_groups().size()) +
                           " IP groups, its views hold members of " +
                           std::to_string(expected.size())});
    }
}

std::map<std::string, std::uint64_t> GroupWorkload::numbers() const {
    return numbers_;
}

}  // namespace herald::sim

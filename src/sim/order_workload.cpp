// OrderWorkload implementation. Layer: sim.
#include "sim/order_workload.h"

#include <algorithm>

#include "core/assert.h"
#include "proto/order/order_engine.h"
#include "sim/rpc_workload.h"

namespace herald::sim {

using proto::order::Delivery;
using proto::order::Member;
using proto::order::OrderEngine;
using proto::order::OrderMode;

namespace {
const std::string group_name = "g";
}  // namespace

OrderWorkload::OrderWorkload(Simulation& sim, std::size_t slot, const OrderWorkloadOptions& options,
                             Random random)
    : sim_(sim), taking_(sim, options.stall), slot_(slot), options_(options), random_(random) {
    const std::size_t nodes = sim.node_count();
    for (std::uint32_t i = 0; i < options.members; ++i) {
        processes_.push_back(Process{Pid{NodeId{1 + i % nodes}, 10 + i}});
    }
}

void OrderWorkload::violation(std::string text) {
    violations_.push_back({"order", sim_.now(), std::move(text)});
}

Duration OrderWorkload::uniform(Duration low, Duration high) {
    if (high <= low) return low;
    return low + Duration::nanoseconds(static_cast<std::int64_t>(
                     random_.below(static_cast<std::uint64_t>((high - low).ns()))));
}

OrderWorkload::Life OrderWorkload::life_of(const Process& p) const {
    return {p.pid, sim_.node(p.pid.node).incarnation()};
}

bool OrderWorkload::total_order() const {
    return options_.mode == OrderMode::sequencer || options_.mode == OrderMode::abcast ||
           options_.mode == OrderMode::absolute;
}

void OrderWorkload::on_node_started(SimNode& node) {
    auto offset = clock_offsets_.find(node.id());
    if (offset == clock_offsets_.end()) {
        const auto span = static_cast<std::uint64_t>(options_.clock_skew.ns()) + 1;
        offset = clock_offsets_
                     .emplace(node.id(),
                              Duration::nanoseconds(static_cast<std::int64_t>(random_.below(span))))
                     .first;
    }
    node.command<OrderEngine>(slot_, [&](auto& e, proto::Effects&) {
        HERALD_ASSERT(e.on_create(group_name, options_.mode).has_value());
        e.on_clock(offset->second);
    });
    given_[node.id()] = view_id_;
    for (std::size_t i = 0; i < processes_.size(); ++i) {
        Process& p = processes_[i];
        if (p.pid.node != node.id()) continue;
        ++p.life;
        p.alive = true;
        p.busy = false;
        schedule(i, uniform(Duration::milliseconds(20), Duration::milliseconds(200)));
    }
    if (view_id_ == 0 && options_.pause_views > 0 && node.id() == NodeId{1}) {
        sim_.queue().schedule(Time::zero() + Duration::milliseconds(300), [this] { pause(); });
    }
    // The first view once every node started at time 0; later, a join after a restart.
    schedule_reconfigure(view_id_ == 0
                             ? Duration::milliseconds(1)
                             : uniform(Duration::milliseconds(20), Duration::milliseconds(200)));
}

void OrderWorkload::on_node_crashed(SimNode& node) {
    for (auto& p : processes_) {
        if (p.pid.node != node.id()) continue;
        ++p.life;
        p.alive = false;
        p.busy = false;
    }
    for (auto it = ops_.begin(); it != ops_.end();) {
        it = processes_[it->second.first].pid.node == node.id() ? ops_.erase(it) : std::next(it);
    }
    // The group server's failure detector notices after a while.
    schedule_reconfigure(uniform(Duration::milliseconds(50), Duration::milliseconds(300)));
}

void OrderWorkload::schedule_reconfigure(Duration delay) {
    if (reconfigure_scheduled_) return;
    reconfigure_scheduled_ = true;
    sim_.queue().schedule(sim_.now() + delay, [this] {
        reconfigure_scheduled_ = false;
        reconfigure();
    });
}

// The next view: the members of every node that is up, given to every node that is up (with
// a view lag, to the last node later, O39).
void OrderWorkload::reconfigure() {
    std::vector<Member> members;
    for (const auto& p : processes_) {
        SimNode& node = sim_.node(p.pid.node);
        if (node.up()) members.push_back(Member{p.pid, node.incarnation()});
    }
    if (churn_member_ && sim_.node(churn_member_->pid.node).up() &&
        sim_.node(churn_member_->pid.node).incarnation() == churn_member_->incarnation) {
        members.push_back(*churn_member_);
    }
    std::sort(members.begin(), members.end());
    if (members == view_members_ || members.empty()) return;
    view_members_ = members;
    ++view_id_;
    ++numbers_["order_views"];
    const proto::order::View view = current_view();
    if (options_.pause_views > 0) {  // The views a pause may miss, and a few made before.
        history_[view.id] = view;
        if (history_.size() > options_.pause_views + 8) history_.erase(history_.begin());
    }
    for (std::size_t i = 0; i < sim_.node_count(); ++i) {
        SimNode& node = sim_.node_at(i);
        if (!node.up() || node.id() == paused_) continue;
        if (options_.view_lag > Duration::zero() && i + 1 == sim_.node_count()) {
            sim_.queue().schedule(sim_.now() + options_.view_lag,
                                  [this, id = node.id()] { give_late(id); });
            continue;
        }
        give_view(node, view);
    }
}

proto::order::View OrderWorkload::current_view() const {
    proto::order::View view;
    view.id = view_id_;
    view.members = view_members_;
    view.address = options_.address;
    return view;
}

void OrderWorkload::give_view(SimNode& node, const proto::order::View& view) {
    given_[node.id()] = view.id;
    node.command<OrderEngine>(slot_, [&](auto& e, proto::Effects& out) {
        follow_address(node, view, out);
        e.on_view(group_name, view, sim_.now(), out);
    });
}

// O39: the lagging node gets the newest view, skipping those made since the last it got (the
// group server's reset, docs/groups.md G10); nothing when it has the newest already.
void OrderWorkload::give_late(NodeId id) {
    SimNode& node = sim_.node(id);
    if (!node.up() || id == paused_ || given_[id] >= view_id_) return;
    if (view_id_ > given_[id] + 1) {
        numbers_["order_views_skipped"] += view_id_ - given_[id] - 1;
        sim_.note(node.label(), "order_views_skipped",
                  Fields().add("after", given_[id]).add("view", view_id_).text());
    }
    give_view(node, current_view());
}

// pause_views: the last node (node 1 with pause_coordinator) hears nothing and sends nothing
// (the runtime's SIGSTOP: its packets wait or are lost, retransmissions cover both) while the
// churn makes views.
void OrderWorkload::pause() {
    paused_ = sim_.node_at(options_.pause_coordinator ? 0 : sim_.node_count() - 1).id();
    sim_.note(sim_.node(paused_).label(), "order_paused", "");
    for (std::size_t i = 0; i < sim_.node_count(); ++i) {
        if (sim_.node_at(i).id() == paused_) continue;
        sim_.network().block(sim_.node_at(i).id(), paused_);
        sim_.network().block(paused_, sim_.node_at(i).id());
    }
    churn();
}

// A process of node 1 (of the last node with pause_coordinator) joins the group, or the one
// that joined leaves it: one view each.
void OrderWorkload::churn() {
    SimNode& node = sim_.node_at(options_.pause_coordinator ? sim_.node_count() - 1 : 0);
    if (churn_member_) {
        churn_member_.reset();
    } else if (node.up()) {
        churn_member_ = Member{Pid{node.id(), 1000 + churned_}, node.incarnation()};
    }
    const std::uint64_t before = view_id_;
    reconfigure();
    if (view_id_ != before) ++churned_;
    if (churned_ < options_.pause_views) {
        sim_.queue().schedule(
            sim_.now() + uniform(Duration::milliseconds(20), Duration::milliseconds(50)),
            [this] { churn(); });
        return;
    }
    sim_.queue().schedule(sim_.now() + Duration::milliseconds(50), [this] { resume(); });
}

void OrderWorkload::resume() {
    for (std::size_t i = 0; i < sim_.node_count(); ++i) {
        if (sim_.node_at(i).id() == paused_) continue;
        sim_.network().unblock(sim_.node_at(i).id(), paused_);
        sim_.network().unblock(paused_, sim_.node_at(i).id());
    }
    const NodeId node = paused_;
    paused_ = NodeId{0};
    sim_.note(sim_.node(node).label(), "order_resumed", "");
    // What the group server sent it meanwhile, in order (G9, G10): the view after its last
    // (sent when made), then, once the server no longer kept that one (history_max views
    // later), the durable view with group_reset at each retransmission: every view from
    // there on, the views in between skipped.
    const std::uint64_t last = given_[node];
    missed_.clear();
    for (std::uint64_t id = last + 1; id <= view_id_; ++id) {
        if (id == last + 1 || view_id_ - last <= options_.history_max ||
            id > last + options_.history_max) {
            missed_.push_back(id);
        }
    }
    give_missed(node);
}

// The views it missed, one every 1-5 ms (each once it acknowledged the one before); a view
// made meanwhile reaches it at once, as any node.
void OrderWorkload::give_missed(NodeId id) {
    SimNode& node = sim_.node(id);
    while (!missed_.empty() && missed_.front() <= given_[id]) missed_.pop_front();
    if (!node.up() || missed_.empty()) return;
    const auto view = history_.find(missed_.front());
    missed_.pop_front();
    if (view == history_.end()) return give_view(node, current_view());
    if (view->first > given_[id] + 1) {
        numbers_["order_views_skipped"] += view->first - given_[id] - 1;
    }
    give_view(node, view->second);
    sim_.queue().schedule(
        sim_.now() + uniform(Duration::milliseconds(1), Duration::milliseconds(5)),
        [this, id] { give_missed(id); });
}

// G22's memberships, as the group engine gives them: a node receives the datagrams of the
// group's IP multicast group while the view it installs holds one of its members.
void OrderWorkload::follow_address(const SimNode& node, const proto::order::View& view,
                                   proto::Effects& out) {
    const proto::IpGroup& ip = view.address.ip;
    if (view.address.kind != proto::group::AddressKind::multicast) return;
    const bool hosts = std::any_of(view.members.begin(), view.members.end(),
                                   [&](const Member& m) { return m.pid.node == node.id(); });
    if (hosts && !node.joined(ip)) out.join_group(ip);
    if (!hosts && node.joined(ip)) out.leave_group(ip);
}

void OrderWorkload::schedule(std::size_t index, Duration delay) {
    sim_.queue().schedule(sim_.now() + delay,
                          [this, index, life = processes_[index].life] { step(index, life); });
}

void OrderWorkload::step(std::size_t index, std::uint64_t life) {
    Process& p = processes_[index];
    if (!p.alive || p.life != life || p.busy) return;
    const bool more =
        liveness_ ? p.liveness_sent < options_.liveness_messages : p.sent < options_.messages;
    if (more) start_multicast(index);
}

void OrderWorkload::start_multicast(std::size_t index) {
    Process& p = processes_[index];
    const Life life = life_of(p);
    const std::uint64_t op = sim_.next_operation_id();
    const std::uint64_t payload = next_payload_++;
    OperationRecord r;
    r.id = op;
    r.kind = "order";
    r.actor = p.pid;
    r.peer = p.pid;
    r.actor_incarnation = life.second;
    r.started = sim_.now();
    sim_.history().start(r);
    ops_[op] = {index, payload};
    Sent s;
    s.sender = life;
    s.deps = lives_[life].delivered;
    s.op = op;
    sent_[payload] = std::move(s);
    p.busy = true;
    // Drawn only when asked for, so that the other order scenarios replay as before.
    const bool relay = options_.ft_percent > 0 && random_.below(100) < options_.ft_percent;
    ++numbers_[relay ? "order_ft_atomic" : "order_atomic"];
    sim_.node(p.pid.node).command<OrderEngine>(slot_, [&](auto& e, proto::Effects& out) {
        e.on_multicast(op, p.pid, group_name, tag_body(payload), sim_.now(), out, relay);
    });
}

void OrderWorkload::on_completed(SimNode& /*node*/, const proto::CompleteEffect& c) {
    const Errc outcome = c.result ? Errc::ok : c.result.error().code;
    sim_.history().complete(c.op, sim_.now(), outcome);
    const auto it = ops_.find(c.op);
    if (it == ops_.end()) return;
    const auto [index, payload] = it->second;
    ops_.erase(it);
    Process& p = processes_[index];
    p.busy = false;
    ++numbers_["order_multicast_" + std::string(errc_name(outcome))];
    if (outcome == Errc::ok) {
        Sent& s = sent_.at(payload);
        s.index = ++lives_[s.sender].sent;
        if (options_.sender_crash_percent > 0 && !liveness_ &&
            sender_crashes_ < options_.sender_crashes_max &&
            random_.below(100) < options_.sender_crash_percent) {
            crash_mid_multicast(p.pid.node);
        }
        if (liveness_) {
            ++p.liveness_sent;
        } else {
            ++p.sent;
        }
        schedule(index, uniform(Duration::milliseconds(5), Duration::milliseconds(150)));
    } else {
        sent_.erase(payload);  // Refused (would_block, not_found before a view): retry.
        schedule(index, uniform(Duration::milliseconds(20), Duration::milliseconds(200)));
    }
}

// The sender crashes while its multicast's copies are on the way (0-400 us: some reached a
// member, others not, with the scenario's loss); a hook may not crash a node itself, so it is
// scheduled. The node restarts 100-400 ms later.
void OrderWorkload::crash_mid_multicast(NodeId node) {
    ++sender_crashes_;
    ++numbers_["order_sender_crashes"];
    sim_.queue().schedule(
        sim_.now() + uniform(Duration::zero(), Duration::microseconds(400)), [this, node] {
            sim_.crash(node, false);
            sim_.queue().schedule(
                sim_.now() + uniform(Duration::milliseconds(100), Duration::milliseconds(400)),
                [this, node] { sim_.restart(node); });
        });
}

void OrderWorkload::on_delivered(SimNode& node, const Message& message) {
    taking_.on_delivered(node, message.target);
    auto d = proto::order::decode_delivery(message.body);
    HERALD_ASSERT(d.has_value());
    const Life life{message.target, node.incarnation()};
    LifeState& state = lives_[life];
    if (d->is_view) {
        if (!state.views.empty() && d->view_id <= state.views.back()) {
            violation(to_string(life.first) + " installed view " + std::to_string(d->view_id) +
                      " after " + std::to_string(state.views.back()));
        }
        state.views.push_back(d->view_id);
        sim_.note(to_string(life.first), "order_view",
                  "life=" + std::to_string(life.second) + " view=" + std::to_string(d->view_id));
        return;
    }
    on_data(life, *d);
}

// O33 (1, 2, 5): at most once per member life, FIFO per sender life, timestamps in order.
void OrderWorkload::on_data(const Life& life, const Delivery& d) {
    LifeState& state = lives_[life];
    const std::uint64_t payload = tag_of(d.payload);
    auto s = sent_.find(payload);
    if (s == sent_.end()) return violation("delivered a payload nobody sent");
    if (s->second.sender != Life{d.sender.pid, d.sender.incarnation}) {
        violation("payload " + std::to_string(payload) + " delivered with the wrong sender");
    }
    if (!state.seen.insert(payload).second) {
        return violation("payload " + std::to_string(payload) + " delivered twice to " +
                         to_string(life.first));
    }
    // The sender's index is known once its multicast completed, which precedes any delivery
    // (the completion is recorded before the packets leave).
    std::uint64_t& last = state.last_index[s->second.sender];
    if (s->second.index != 0 && s->second.index <= last) {
        violation("FIFO: " + to_string(life.first) + " delivered message " +
                  std::to_string(s->second.index) + " of " + to_string(d.sender.pid) +
                  " after message " + std::to_string(last));
    }
    last = std::max(last, s->second.index);
    if (options_.mode == OrderMode::absolute) {
        if (d.timestamp < state.last_timestamp) {
            violation("absolute: " + to_string(life.first) + " delivered timestamp " +
                      std::to_string(d.timestamp) + " after " +
                      std::to_string(state.last_timestamp));
        }
        state.last_timestamp = d.timestamp;
    }
    // G23 (b): a delivery names the view its receiver had installed; (a) is checked on the
    // receiver's installed view, not on the id the delivery claims.
    const std::uint64_t installed = state.views.empty() ? 0 : state.views.back();
    if (d.view_id != installed) {
        violations_.push_back({"view_id", sim_.now(),
                               to_string(life.first) + " got payload " + std::to_string(payload) +
                                   " marked view " + std::to_string(d.view_id) +
                                   " while it had installed view " + std::to_string(installed)});
    }
    state.delivered.push_back(payload);
    state.per_view[installed].insert(payload);
    sim_.note(to_string(life.first), "order_delivered",
              "life=" + std::to_string(life.second) + " payload=" + std::to_string(payload) +
                  " view=" + std::to_string(d.view_id) + " from=" + to_string(d.sender.pid) +
                  " seq=" + std::to_string(d.seq));
    ++numbers_["order_delivered"];
}

void OrderWorkload::begin_liveness() {
    liveness_ = true;
    for (std::size_t i = 0; i < processes_.size(); ++i) schedule(i, Duration::zero());
}

bool OrderWorkload::installed_last(const Process& p) const {
    SimNode& node = sim_.node(p.pid.node);
    if (!node.up()) return false;
    const auto* v = node.engine<OrderEngine>(slot_).installed(group_name, p.pid);
    return v != nullptr && v->id == view_id_;
}

bool OrderWorkload::done() const {
    const std::set<std::uint64_t>* first = nullptr;
    for (const auto& p : processes_) {
        if (!p.alive || p.busy || p.liveness_sent < options_.liveness_messages) return false;
        if (!installed_last(p)) return false;
        auto it = lives_.find(life_of(p));
        if (it == lives_.end()) return false;
        auto view = it->second.per_view.find(view_id_);
        if (view == it->second.per_view.end()) return false;
        if (first != nullptr && *first != view->second) return false;
        first = &view->second;
    }
    return true;
}

std::string OrderWorkload::outstanding() const {
    std::string text;
    for (const auto& p : processes_) {
        text += ' ';  // Appends one by one: g++ 12 flags " " + string with a false -Wrestrict.
        text += to_string(p.pid);
        text += p.alive ? "" : "(down)";
        text += p.busy ? "(busy)" : "";
        text += installed_last(p) ? ":" : "(old view):";
        text += std::to_string(p.liveness_sent);
    }
    return text;
}

// O33 (3): every two member lives that did not crash deliver the messages both deliver in the
// same order. Agreement is not uniform (O33): a member that crashed may have delivered in an
// order no survivor learnt (a sequencer delivers in its own order before the others know it).
void OrderWorkload::check_total(std::vector<Violation>& out) const {
    const auto crashed = [this](const Life& life) {
        return sim_.node(life.first.node).incarnation() != life.second;
    };
    for (auto a = lives_.begin(); a != lives_.end(); ++a) {
        if (crashed(a->first)) continue;
        for (auto b = std::next(a); b != lives_.end(); ++b) {
            if (crashed(b->first)) continue;
            std::vector<std::uint64_t> x, y;
            for (auto p : a->second.delivered) {
                if (b->second.seen.contains(p)) x.push_back(p);
            }
            for (auto p : b->second.delivered) {
                if (a->second.seen.contains(p)) y.push_back(p);
            }
            if (x == y) continue;
            std::string text = to_string(a->first.first) + " and " + to_string(b->first.first) +
                               " deliver common messages in different orders:";
            for (std::size_t i = 0; i < x.size(); ++i) {
                if (x[i] == y[i]) continue;
                text += " payload ";
                text += std::to_string(x[i]);
                text += " vs ";
                text += std::to_string(y[i]);
                text += " at ";
                text += std::to_string(i);
                break;
            }
            out.push_back({"total_order", sim_.now(), std::move(text)});
            return;
        }
    }
}

// O33 (4): a message a sender had delivered before it sent m is delivered before m by every
// member life that delivers both.
void OrderWorkload::check_causal(std::vector<Violation>& out) const {
    for (const auto& [life, state] : lives_) {
        std::map<std::uint64_t, std::size_t> position;
        for (std::size_t i = 0; i < state.delivered.size(); ++i) position[state.delivered[i]] = i;
        for (std::size_t i = 0; i < state.delivered.size(); ++i) {
            for (auto dep : sent_.at(state.delivered[i]).deps) {
                auto it = position.find(dep);
                if (it == position.end() || it->second < i) continue;
                out.push_back({"causal_order", sim_.now(),
                               to_string(life.first) + " delivered payload " +
                                   std::to_string(state.delivered[i]) + " before payload " +
                                   std::to_string(dep) + " it depends on"});
                return;
            }
        }
    }
}

// O33 (6): member lives that installed a view and then the same next view delivered the same
// messages in that view (virtual synchrony).
void OrderWorkload::check_views(std::vector<Violation>& out) const {
    // Keyed by (view, the next view installed): members that moved to different next views
    // (one missed a flush decision that a crashed coordinator made) are not compared.
    std::map<std::pair<std::uint64_t, std::uint64_t>, const std::set<std::uint64_t>*> first;
    static const std::set<std::uint64_t> none;
    for (const auto& [life, state] : lives_) {
        for (std::size_t i = 0; i + 1 < state.views.size(); ++i) {
            const auto v = state.views[i];
            auto it = state.per_view.find(v);
            const auto* set = it == state.per_view.end() ? &none : &it->second;
            auto [f, fresh] = first.try_emplace(std::make_pair(v, state.views[i + 1]), set);
            if (fresh || *f->second == *set) continue;
            out.push_back({"virtual_synchrony", sim_.now(),
                           "members that left view " + std::to_string(v) +
                               " together delivered different messages in it (" +
                               to_string(life.first) + ")"});
            return;
        }
    }
}

void OrderWorkload::check_no_loss(std::vector<Violation>& out) const {
    for (const auto& [payload, s] : sent_) {
        if (s.index == 0) continue;
        const Process* sender = nullptr;
        for (const auto& p : processes_) {
            if (p.pid == s.sender.first) sender = &p;
        }
        if (sender == nullptr || !sender->alive || life_of(*sender) != s.sender) continue;
        if (!lives_.at(s.sender).seen.contains(payload)) {
            out.push_back({"no_loss", sim_.now(),
                           to_string(s.sender.first) + " never delivered its own payload " +
                               std::to_string(payload)});
            return;
        }
    }
}

std::vector<Violation> OrderWorkload::check() const {
    std::vector<Violation> out = violations_;
    if (total_order()) check_total(out);
    if (options_.mode == OrderMode::cbcast) check_causal(out);
    check_views(out);
    if (done()) check_no_loss(out);
    return out;
}

std::map<std::string, std::uint64_t> OrderWorkload::numbers() const {
    return numbers_;
}

}  // namespace herald::sim

// GroupEngine, member side: requests to the server, installing views, heartbeats, multicast
// with reliability, and delivery to local members. The server side is group_server.cpp.
// Layer: proto/group. Rules: docs/groups.md.
#include "proto/group/group_engine.h"

#include <algorithm>

#include "core/assert.h"

namespace herald::proto::group {

using wire::PacketKind;

namespace {
constexpr TimerId tick_timer{1};

bool valid_name(std::string_view name, std::uint32_t bytes_max) {
    return !name.empty() && name.size() <= bytes_max;
}

std::string describe(const std::vector<Pid>& pids) {
    std::string text;
    for (auto pid : pids) {
        text += ' ';  // Two appends: g++ 12 flags " " + string with a false -Wrestrict.
        text += to_string(pid);
    }
    return text;
}
}  // namespace

GroupEngine::GroupEngine(const EngineContext& context, const GroupOptions& options)
    : self_(context.self),
      incarnation_(context.incarnation),
      started_(context.started),
      options_(options),
      next_id_(std::uint64_t{context.incarnation} << 32 | 1),
      next_heartbeat_(context.started) {
    HERALD_ASSERT(context.incarnation >= 1);
    // options.server may be unknown (0) until the runtime learns it (a ping to its URL):
    // requests fail unreachable until then.
}

// Coordinated groups: views from the runtime's backend instead of a server's group_view.
void GroupEngine::on_coordinated_view(const std::string& name, const View& v, bool fresh,
                                      Effects& out) {
    HERALD_ASSERT(options_.coordinated);
    auto known = known_.find(name);
    if (!fresh && known != known_.end() && v.id <= known->second.id) {
        ++counters_.duplicates_dropped;
        return;
    }
    known_[name] = v;
    auto it = installed_.find(name);
    const bool concerned = hosts_member_of(v) || it != installed_.end();
    if (!concerned) return;
    if (!fresh && it != installed_.end() && !deleted_.contains(name) && v.id <= it->second.id) {
        return;
    }
    install(v, name, out);
}

void GroupEngine::on_coordinated_delete(const std::string& name, Effects& out) {
    HERALD_ASSERT(options_.coordinated);
    const auto known = known_.find(name);
    const std::uint64_t last = known != known_.end() ? known->second.id : 0;
    known_.erase(name);
    if (auto it = installed_.find(name); it != installed_.end() && !deleted_.contains(name)) {
        return drop(name, std::max(last, it->second.id) + 1, out);
    }
    std::vector<std::uint64_t> failed;
    for (const auto& [id, mc] : multicasts_) {
        if (mc.name == name) failed.push_back(id);
    }
    for (auto id : failed) finish(id, fail(Errc::not_found, "group " + name + " was deleted"), out);
}

const View* GroupEngine::installed(std::string_view name) const {
    auto it = installed_.find(name);
    return it == installed_.end() ? nullptr : &it->second;
}

void GroupEngine::on_create(OperationId op, Pid requester, std::string_view name, bool closed,
                            std::uint8_t order, const GroupAddress& address, Time now,
                            Effects& out) {
    if (order == 0 || order > order_max) {
        if (op != 0) out.complete(op, fail(Errc::invalid_argument, "group order mode"));
        return;
    }
    // G22: a multicast address must be a multicast group with a port, or all zero (picked).
    Bytes encoded;
    put_group_address(encoded, address);
    GroupAddress checked;
    std::size_t offset = 0;
    if (!get_group_address(encoded, offset, checked, false) || checked != address) {
        if (op != 0) {
            out.complete(op, fail(Errc::invalid_argument,
                                  "group address: not an IP multicast group and port"));
        }
        return;
    }
    start_request(op, PacketKind::group_create, requester, name, closed, now, out, order, address);
}

void GroupEngine::on_join(OperationId op, Pid member, std::string_view name, Time now,
                          Effects& out) {
    start_request(op, PacketKind::group_join, member, name, false, now, out);
}

void GroupEngine::on_leave(OperationId op, Pid member, std::string_view name, Time now,
                           Effects& out) {
    start_request(op, PacketKind::group_leave, member, name, false, now, out);
}

void GroupEngine::on_delete(OperationId op, Pid requester, std::string_view name, Time now,
                            Effects& out) {
    start_request(op, PacketKind::group_delete, requester, name, false, now, out);
}

void GroupEngine::on_lookup(OperationId op, Pid requester, std::string_view name, Time now,
                            Effects& out) {
    start_request(op, PacketKind::group_lookup, requester, name, false, now, out);
}

void GroupEngine::start_request(OperationId op, PacketKind kind, Pid source, std::string_view name,
                                bool closed, Time now, Effects& out, std::uint8_t order,
                                const GroupAddress& address) {
    if (!options_.server.known() || options_.coordinated) {
        if (op != 0) out.complete(op, fail(Errc::unreachable, "group server unknown"));
        return;
    }
    if (!valid_name(name, options_.name_bytes_max) || source.node != self_ || !source.valid()) {
        if (op != 0) out.complete(op, fail(Errc::invalid_argument, "group name or pid"));
        return;
    }
    if (requests_.size() >= options_.requests_max) {
        if (op != 0) out.complete(op, fail(Errc::queue_full, "group requests_max"));
        return;
    }
    Outstanding o;
    o.op = op;
    o.request.kind = kind;
    o.request.source = source;
    o.request.target = Pid{options_.server, 0};
    o.request.id = next_id_++;
    o.request.name = std::string(name);
    o.request.closed = closed;
    o.request.order = order;
    o.request.address = address;
    o.deadline = now + options_.request_timeout;
    o.next_send = now + options_.retransmit_interval;
    transmit(options_.server, o.request, out);
    requests_.emplace(o.request.id, std::move(o));
    arm(now, out);
}

void GroupEngine::transmit(NodeId to, const GroupPacket& m, Effects& out) {
    ++counters_.packets_sent;
    out.send(to, build(m, incarnation_));
}

void GroupEngine::on_packet(NodeId from, wire::Packet& packet, Time now, Effects& out) {
    auto parsed = parse(from, packet, options_.name_bytes_max);
    if (!parsed) {
        ++counters_.malformed_dropped;
        out.trace(now, "malformed", parsed.error().detail);
        return;
    }
    GroupPacket& m = *parsed;
    const bool to_me = m.target_incarnation == 0 || m.target_incarnation == incarnation_;
    switch (m.kind) {
        case PacketKind::group_create:
        case PacketKind::group_join:
        case PacketKind::group_leave:
        case PacketKind::group_lookup:
        case PacketKind::group_delete:
            if (is_server() && !stale(from, m.source_incarnation)) on_request(from, m, now, out);
            break;
        case PacketKind::group_view_ack:
        case PacketKind::group_heartbeat:
            if (!is_server() || stale(from, m.source_incarnation)) break;
            heard(from, m.source_incarnation, now);
            if (m.kind == PacketKind::group_view_ack) on_view_ack(from, m, now, out);
            if (m.kind == PacketKind::group_heartbeat) on_heartbeat(from, m, now, out);
            break;
        case PacketKind::group_reply:
            if (to_me) on_reply(m, now, out);
            break;
        case PacketKind::group_view:
            on_view(from, m, out);
            break;
        case PacketKind::group_data:
            if (to_me) on_data(from, m, now, out);
            break;
        case PacketKind::group_response:
            if (to_me) on_response(from, m, out);
            break;
        default:
            break;
    }
    if (is_server()) write_dirty(out);
    arm(now, out);
}

void GroupEngine::on_reply(const GroupPacket& m, Time now, Effects& out) {
    auto it = requests_.find(m.id);
    if (it == requests_.end()) {
        ++counters_.duplicates_dropped;
        return;
    }
    Outstanding o = std::move(it->second);
    requests_.erase(it);
    if (o.request.kind == PacketKind::group_lookup) {
        std::optional<View> v;
        if (m.reason == Errc::ok) v = decode_view(m.body);
        if (v) remember_lookup(o.request.name, *v, now);
        const Errc code = m.reason != Errc::ok ? m.reason : (v ? Errc::ok : Errc::malformed);
        if (o.op != 0) {
            if (code != Errc::ok) {
                out.complete(o.op, fail(code, "group " + o.request.name));
            } else {
                out.complete(o.op, encode_view(*v));
            }
        }
        std::vector<std::uint64_t> waiting, gone;
        for (const auto& [id, mc] : multicasts_) {
            if (mc.name != o.request.name) continue;
            if (!mc.resolved) waiting.push_back(id);
            if (mc.resolved && code == Errc::not_found) gone.push_back(id);
        }
        // G21: a multicast addressed with a looked-up view whose group is gone now.
        for (auto id : gone) {
            finish(id, fail(Errc::not_found, "group " + o.request.name + " was deleted"), out);
        }
        for (auto id : waiting) {
            if (code != Errc::ok) {
                finish(id, fail(code, "group " + o.request.name), out);
            } else {
                resolve(multicasts_.at(id), *v, now, out);
            }
        }
        return;
    }
    if (m.reason != Errc::ok) {
        out.complete(o.op, fail(m.reason, "group " + o.request.name));
        return;
    }
    out.complete(o.op, Bytes(m.body));
}

// Rule G10: install the next view (or the first, or a reset), acknowledge what is installed.
void GroupEngine::on_view(NodeId from, const GroupPacket& m, Effects& out) {
    GroupPacket ack;
    ack.kind = PacketKind::group_view_ack;
    ack.source = Pid{self_, 0};
    ack.target = Pid{from, 0};
    ack.name = m.name;
    if (m.target_incarnation != 0 && m.target_incarnation != incarnation_) {
        // Tells the server this node restarted (G12), and which view this incarnation has: an
        // id 0 here would make the server restart it from scratch and skip views (G10).
        auto have = installed_.find(m.name);
        ack.id = have == installed_.end() ? 0 : have->second.id;
        transmit(from, ack, out);
        return;
    }
    auto v = decode_view(m.body);
    if (!v || v->id != m.id) {
        ++counters_.malformed_dropped;
        return;
    }
    auto it = installed_.find(m.name);
    const std::uint64_t have = it == installed_.end() ? 0 : it->second.id;
    if (m.deleted) {  // G21: the group is gone; acknowledged with its final view's id.
        const bool next = have == 0 || v->id == have + 1 || (m.reset && v->id > have);
        if (next) drop(m.name, v->id, out);
        if (!next && v->id <= have) ++counters_.duplicates_dropped;
        ack.id = next ? v->id : have;
        transmit(from, ack, out);
        return;
    }
    if (have == 0 || v->id == have + 1 || (m.reset && v->id > have)) {
        if (have != 0 && v->id != have + 1) out.trace(Time{}, "probe_group_view_gap");
        install(*v, m.name, out);
    } else if (v->id <= have) {
        ++counters_.duplicates_dropped;
    }
    ack.id = installed_.at(m.name).id;
    transmit(from, ack, out);
}

void GroupEngine::log_install(const std::string& name, const View& v, bool dropped) {
    if (install_log_.size() == install_log_max) install_log_.pop_front();
    install_log_.push_back(Installed{++installs_logged_, name, v, dropped});
}

void GroupEngine::install(const View& v, const std::string& name, Effects& out) {
    installed_[name] = v;
    deleted_.erase(name);
    cache_.erase(name);
    ++counters_.views_installed;
    log_install(name, v, false);
    update_membership(name, out);
    for (const auto& member : v.members) {
        if (member.pid.node != self_ || member.incarnation != incarnation_) continue;
        Envelope e;
        e.is_view = true;
        e.group = name;
        e.view_id = v.id;
        e.view = v;
        Message message;
        message.source = Pid{options_.server, 0};
        message.target = member.pid;
        message.seq = v.id;
        message.body = encode_envelope(e);
        hand_over(std::move(message), out);
    }
}

// G21: the group was deleted. Each local member of the installed view gets a deleted
// envelope; multicasts to it fail not_found; the final view (no members) stays installed, so
// that a late copy of an earlier view is not installed again (G10 drops older ids).
void GroupEngine::drop(const std::string& name, std::uint64_t final_id, Effects& out) {
    View final{final_id, false, {}, order_fifo, {}};
    if (auto it = installed_.find(name); it != installed_.end() && !deleted_.contains(name)) {
        final.closed = it->second.closed;
        final.address = it->second.address;
        final.order = it->second.order;
        for (const auto& member : it->second.members) {
            if (member.pid.node != self_ || member.incarnation != incarnation_) continue;
            Envelope e;
            e.is_deleted = true;
            e.group = name;
            e.view_id = final_id;
            Message message;
            message.source = Pid{options_.server, 0};
            message.target = member.pid;
            message.seq = final_id;
            message.body = encode_envelope(e);
            hand_over(std::move(message), out);
        }
        ++counters_.groups_dropped;
    }
    log_install(name, final, true);
    installed_[name] = final;
    deleted_.insert(name);
    cache_.erase(name);
    update_membership(name, out);
    std::vector<std::uint64_t> failed;
    for (const auto& [id, mc] : multicasts_) {
        if (mc.name == name) failed.push_back(id);
    }
    for (auto id : failed) finish(id, fail(Errc::not_found, "group " + name + " was deleted"), out);
}

bool GroupEngine::hosts_member_of(const View& v) const {
    return std::any_of(v.members.begin(), v.members.end(), [&](const Member& m) {
        return m.pid.node == self_ && m.incarnation == incarnation_;
    });
}

// G22: a node receives a multicast group's datagrams while its installed view of a group with
// that address holds a member of this node: joined with the first, left after the last.
void GroupEngine::update_membership(const std::string& name, Effects& out) {
    IpGroup want;
    if (auto it = installed_.find(name); it != installed_.end() &&
                                         it->second.address.kind == AddressKind::multicast &&
                                         hosts_member_of(it->second)) {
        want = it->second.address.ip;
    }
    for (auto it = joined_.begin(); it != joined_.end();) {
        if (it->first != want && it->second.erase(name) != 0 && it->second.empty()) {
            out.leave_group(it->first);
            it = joined_.erase(it);
        } else {
            ++it;
        }
    }
    if (want.empty()) return;
    auto& names = joined_[want];
    if (names.empty()) out.join_group(want);
    names.insert(name);
}

// A view this node may address a multicast with (G14): the installed one when this node hosts
// a member of it (the server keeps it current), else a looked-up one still within lookup_ttl.
const View* GroupEngine::usable_view(std::string_view name, Time now) const {
    if (options_.coordinated) {  // The backend's watch keeps every group's view current.
        auto it = known_.find(name);
        return it == known_.end() ? nullptr : &it->second;
    }
    if (auto it = installed_.find(name); it != installed_.end()) {
        for (const auto& m : it->second.members) {
            if (m.pid.node == self_ && m.incarnation == incarnation_) return &it->second;
        }
    }
    if (auto it = cache_.find(name); it != cache_.end() && now < it->second.expires) {
        return &it->second.view;
    }
    return nullptr;
}

void GroupEngine::on_multicast(OperationId op, Pid sender, std::string_view name, Bytes body,
                               std::uint32_t reliability, Duration timeout, Time now, Effects& out,
                               Pid reply_to) {
    if (!valid_name(name, options_.name_bytes_max) || sender.node != self_ || !sender.valid()) {
        return out.complete(op, fail(Errc::invalid_argument, "group name or sender"));
    }
    if (body.size() > options_.body_bytes_max) return out.complete(op, fail(Errc::too_large));
    if (multicasts_.size() >= options_.multicasts_max) {
        return out.complete(op, fail(Errc::would_block, "group multicasts_max"));
    }
    Multicast mc;
    mc.op = op;
    mc.sender = sender;
    mc.name = std::string(name);
    mc.body = std::make_shared<const Bytes>(std::move(body));
    mc.reliability = reliability;
    mc.reply_to = reply_to;
    mc.deadline = now + timeout;
    mc.id = next_id_++;
    const std::uint64_t id = mc.id;
    auto& stored = multicasts_.emplace(id, std::move(mc)).first->second;
    if (const View* v = usable_view(name, now)) {
        resolve(stored, *v, now, out);
    } else {
        look_up(sender, stored.name, now, out);
    }
    arm(now, out);
}

// The view is known: check the sender may send (G15), send one packet per node (G16).
void GroupEngine::resolve(Multicast& mc, const View& v, Time now, Effects& out) {
    const std::uint64_t message_id = mc.id;
    if (v.closed && !v.contains(Member{mc.sender, incarnation_})) {
        return finish(message_id, fail(Errc::access_denied, "closed group " + mc.name), out);
    }
    const auto size = static_cast<std::uint32_t>(v.members.size());
    if (mc.reliability != reliability_all && mc.reliability > size) {
        return finish(message_id, fail(Errc::invalid_argument, "reliability above members"), out);
    }
    const bool request = mc.reply_to.valid();
    mc.needed = mc.reliability == reliability_all ? size : mc.reliability;
    mc.resolved = true;
    mc.view_id = v.id;
    for (const auto& m : v.members) {
        if (request && m.pid == mc.sender) continue;  // G24: never addressed to the asker.
        mc.waiting[m.pid.node].push_back(m.pid.local);
    }
    if (request) {
        // G24: the call completes now (the answers are collected above the engine); the node
        // resends to the addressed members until each has it, or the request's timeout.
        out.complete(mc.op, encode_responders({mc.view_id, {}}));
        mc.op = 0;
        mc.needed = 0;
        for (const auto& [node, locals] : mc.waiting) {
            mc.needed += static_cast<std::uint32_t>(locals.size());
        }
    }
    const bool others = mc.waiting.size() > (mc.waiting.contains(self_) ? 1u : 0u);
    if (v.address.kind == AddressKind::hosts || !others) {
        for (const auto& [node, locals] : mc.waiting) send_data(mc, node, locals, out);
    } else {  // G22: this node's members by loopback, every other node by one datagram.
        if (auto own = mc.waiting.find(self_); own != mc.waiting.end()) {
            send_data(mc, self_, own->second, out);
        }
        send_to_address(mc, v, out);
    }
    mc.next_send = now + options_.retransmit_interval;
    if (mc.needed == 0) finish(message_id, encode_responders({mc.view_id, {}}), out);
}

void GroupEngine::send_data(const Multicast& mc, NodeId node,
                            const std::vector<std::uint64_t>& locals, Effects& out) {
    GroupPacket m;
    m.kind = PacketKind::group_data;
    m.source = mc.sender;
    m.target = Pid{node, 0};
    m.id = mc.id;
    m.name = mc.name;
    m.view_id = mc.view_id;
    m.locals = locals;
    m.respond = mc.needed > 0;
    m.reliability = mc.reliability;
    m.reply_to = mc.reply_to;
    ++counters_.packets_sent;
    out.send(node, build(m, incarnation_), mc.body);
}

// G22: one group_data for every member node but this one, to the group's multicast or
// broadcast address, naming the members addressed (group_members); the node list lets a
// driver without that capability fan it out.
void GroupEngine::send_to_address(const Multicast& mc, const View& v, Effects& out) {
    GroupPacket m;
    m.kind = PacketKind::group_data;
    m.source = mc.sender;
    m.target = Pid{NodeId{}, 0};
    m.id = mc.id;
    m.name = mc.name;
    m.view_id = mc.view_id;
    m.respond = mc.needed > 0;
    m.reliability = mc.reliability;
    m.reply_to = mc.reply_to;
    std::vector<NodeId> nodes;
    for (const auto& member : v.members) {
        if (member.pid.node == self_) continue;
        m.members.push_back(member.pid);
        if (nodes.empty() || nodes.back() != member.pid.node) nodes.push_back(member.pid.node);
    }
    const bool multicast = v.address.kind == AddressKind::multicast;
    Destination to =
        out.fan_out(multicast ? Destination::Kind::multicast : Destination::Kind::broadcast, nodes);
    if (multicast) to.group = v.address.ip;
    ++counters_.packets_sent;
    ++counters_.address_sends;
    out.trace(Time{}, multicast ? "probe_group_ip_multicast" : "probe_group_broadcast");
    out.send(to, build(m, incarnation_), mc.body);
}

// G17-G19: deliver to the listed local members of this node's view, once per message id;
// answer with every listed member that has it, so a retransmission is answered again.
void GroupEngine::on_data(NodeId from, GroupPacket& m, Time now, Effects& out) {
    if (!m.members.empty()) {  // G22: sent to a group address; this node's members of it.
        m.locals.clear();
        for (auto pid : m.members) {
            if (pid.node == self_) m.locals.push_back(pid.local);
        }
        if (m.locals.empty()) {
            ++counters_.not_addressed;
            return;
        }
    } else if (m.target.node != self_) {
        ++counters_.malformed_dropped;  // Unicast data names this node (G16).
        return;
    }
    const SeenKey key{m.source, m.source_incarnation, m.id};
    auto [it, fresh] = seen_.try_emplace(key);
    if (fresh) remember_seen(key, now);
    Seen& seen = it->second;
    const View* v = installed(m.name);
    const bool sender_ok =
        v != nullptr && (!v->closed || v->contains({m.source, m.source_incarnation}));
    bool duplicate = true;
    for (auto local : m.locals) {
        if (std::find(seen.delivered.begin(), seen.delivered.end(), local) !=
            seen.delivered.end()) {
            continue;
        }
        const Member member{Pid{self_, local}, incarnation_};
        if (!sender_ok || !v->contains(member)) {
            ++counters_.not_member_dropped;
            continue;
        }
        duplicate = false;
        if (!has_credit(member.pid)) {
            ++counters_.credit_dropped;  // G25: not delivered, not answered; resent, or lost.
            out.trace(now, "probe_group_credit_dropped");
            continue;
        }
        seen.delivered.push_back(local);
        Envelope e;
        e.group = m.name;
        e.view_id = v->id;
        e.sender = Member{m.source, m.source_incarnation};
        e.message_id = m.id;
        e.reply_to = m.reply_to;
        e.payload = m.body;
        Message message;
        message.source = m.source;
        message.target = member.pid;
        message.seq = m.id;
        message.body = encode_envelope(e);
        ++counters_.delivered;
        hand_over(std::move(message), out);
    }
    if (duplicate) ++counters_.duplicates_dropped;
    if (!m.respond || seen.delivered.empty()) return;
    GroupPacket r;
    r.kind = PacketKind::group_response;
    r.source = Pid{self_, 0};
    r.target = m.source;
    r.target_incarnation = m.source_incarnation;
    r.id = m.id;
    r.name = m.name;
    r.locals = seen.delivered;
    transmit(from, r, out);
}

// G25: every delivery counts against its member's credit until the runtime reports it taken.
void GroupEngine::hand_over(Message message, Effects& out) {
    ++inbox_[message.target];
    out.deliver(std::move(message));
}

bool GroupEngine::has_credit(Pid member) const {
    const auto it = inbox_.find(member);
    return it == inbox_.end() || it->second < options_.member_queue_max;
}

void GroupEngine::on_consumed(Pid receiver, std::uint32_t count, Time now, Effects& out) {
    const auto it = inbox_.find(receiver);
    if (it == inbox_.end() || count > it->second) {
        // A driver that reports more than was delivered breaks the contract; clamp and say so.
        out.trace(now, "probe_group_consumed_overflow");
        if (it != inbox_.end()) it->second = 0;
        return;
    }
    it->second -= count;  // The entry stays (no allocation per message); exit erases it.
}

void GroupEngine::on_process_exited(Pid pid, Time now, Effects& out) {
    (void)now, (void)out;
    inbox_.erase(pid);
}

// G14: at most lookups_max looked-up views; expired ones go first, then the one expiring first.
void GroupEngine::remember_lookup(const std::string& name, const View& v, Time now) {
    std::erase_if(cache_, [&](const auto& entry) { return now >= entry.second.expires; });
    if (!cache_.contains(name) && cache_.size() >= options_.lookups_max) {
        auto first = std::min_element(
            cache_.begin(), cache_.end(),
            [](const auto& x, const auto& y) { return x.second.expires < y.second.expires; });
        cache_.erase(first);
    }
    cache_[name] = CachedView{v, now + options_.lookup_ttl};
}

void GroupEngine::remember_seen(const SeenKey& key, Time now) {
    auto& s = seen_.at(key);
    s.at = now;
    s.order = seen_order_++;
    seen_by_order_.emplace(s.order, key);
    while (seen_.size() > options_.seen_max) {
        auto oldest = seen_by_order_.begin();
        seen_.erase(oldest->second);
        seen_by_order_.erase(oldest);
        ++counters_.seen_evicted;
    }
}

void GroupEngine::on_response(NodeId from, const GroupPacket& m, Effects& out) {
    auto it = multicasts_.find(m.id);
    if (it == multicasts_.end() || !it->second.resolved) {
        ++counters_.duplicates_dropped;
        return;
    }
    Multicast& mc = it->second;
    auto waiting = mc.waiting.find(from);
    if (waiting == mc.waiting.end()) return;
    auto& locals = waiting->second;
    for (auto local : m.locals) {
        auto pos = std::find(locals.begin(), locals.end(), local);
        if (pos == locals.end()) continue;  // Not asked, or already counted.
        locals.erase(pos);
        mc.responders.push_back(Pid{from, local});
    }
    if (locals.empty()) mc.waiting.erase(waiting);
    if (mc.responders.size() >= mc.needed)
        finish(m.id, encode_responders({mc.view_id, mc.responders}), out);
}

void GroupEngine::finish(std::uint64_t id, Result<Bytes> result, Effects& out) {
    auto it = multicasts_.find(id);
    HERALD_ASSERT(it != multicasts_.end());
    // A request's call completed when it was sent (G24): its end is silent.
    if (it->second.op != 0) out.complete(it->second.op, std::move(result));
    multicasts_.erase(it);
}

std::vector<InstalledView> GroupEngine::member_views() const {
    std::vector<InstalledView> views;
    for (const auto& [name, v] : installed_) {
        for (const auto& m : v.members) {
            if (m.pid.node != self_ || m.incarnation != incarnation_) continue;
            views.push_back({name, v.id});
            break;
        }
    }
    return views;
}

bool GroupEngine::hosts_members() const {
    return !member_views().empty();
}

// Retransmits requests and multicasts, times them out, sends heartbeats (G11), forgets old
// message ids.
void GroupEngine::member_tick(Time now, Effects& out) {
    std::vector<std::uint64_t> expired;
    for (auto& [id, o] : requests_) {
        if (now >= o.deadline) {
            expired.push_back(id);
        } else if (now >= o.next_send) {
            o.next_send = now + options_.retransmit_interval;
            ++counters_.retransmits;
            transmit(options_.server, o.request, out);
        }
    }
    for (auto id : expired) {
        Outstanding o = std::move(requests_.at(id));
        requests_.erase(id);
        if (o.op != 0) out.complete(o.op, fail(Errc::timeout, "group server did not answer"));
        if (o.request.kind != PacketKind::group_lookup) continue;
        std::vector<std::uint64_t> waiting;
        for (const auto& [mid, mc] : multicasts_) {
            if (!mc.resolved && mc.name == o.request.name) waiting.push_back(mid);
        }
        for (auto mid : waiting) finish(mid, fail(Errc::unreachable, "group lookup"), out);
    }
    tick_multicasts(now, out);
    while (!seen_by_order_.empty()) {
        auto oldest = seen_by_order_.begin();
        if (now - seen_.at(oldest->second).at < options_.seen_retention) break;
        seen_.erase(oldest->second);
        seen_by_order_.erase(oldest);
    }
    if (!is_server() && !options_.coordinated && now >= next_heartbeat_ && hosts_members()) {
        next_heartbeat_ = now + options_.heartbeat_interval;
        GroupPacket h;
        h.kind = PacketKind::group_heartbeat;
        h.source = Pid{self_, 0};
        h.target = Pid{options_.server, 0};
        h.body = encode_heartbeat(member_views());
        transmit(options_.server, h, out);
    }
}

// Retransmits multicasts to the members that have not responded, times them out (G16).
void GroupEngine::tick_multicasts(Time now, Effects& out) {
    std::vector<std::uint64_t> expired;
    std::vector<std::pair<Pid, std::string>> relookups;
    for (auto& [id, mc] : multicasts_) {
        if (now >= mc.deadline) {
            expired.push_back(id);
        } else if (mc.resolved && now >= mc.next_send) {
            // G21: a sender without a member trusts a looked-up view for lookup_ttl; after
            // that it asks again, so that a deleted group fails its multicasts not_found.
            if (usable_view(mc.name, now) == nullptr) relookups.emplace_back(mc.sender, mc.name);
            mc.next_send = now + options_.retransmit_interval;
            for (const auto& [node, locals] : mc.waiting) {
                ++counters_.retransmits;
                send_data(mc, node, locals, out);
            }
        }
    }
    for (const auto& [sender, name] : relookups) look_up(sender, name, now, out);
    for (auto id : expired) {
        const auto& mc = multicasts_.at(id);
        finish(id,
               fail(Errc::timeout, "responses=" + std::to_string(mc.responders.size()) + " of " +
                                       std::to_string(mc.needed) + ":" + describe(mc.responders)),
               out);
    }
}

// An internal lookup of `name` for multicasts (G14), unless one is outstanding.
void GroupEngine::look_up(Pid sender, const std::string& name, Time now, Effects& out) {
    if (options_.coordinated) {  // Every group is known here (C14): this one does not exist.
        std::vector<std::uint64_t> failed;
        for (const auto& [id, mc] : multicasts_) {
            if (mc.name == name) failed.push_back(id);
        }
        for (auto id : failed) finish(id, fail(Errc::not_found, "no group " + name), out);
        return;
    }
    const bool asking = std::any_of(requests_.begin(), requests_.end(), [&](const auto& r) {
        return r.second.op == 0 && r.second.request.name == name;
    });
    if (!asking) start_request(0, PacketKind::group_lookup, sender, name, false, now, out);
}

void GroupEngine::arm(Time now, Effects& out) {
    if (timer_armed_) return;
    timer_armed_ = true;
    out.set_timer(tick_timer, now + options_.tick);
}

void GroupEngine::on_timer(TimerId timer, Time now, Effects& out) {
    if (timer != tick_timer) return;
    timer_armed_ = false;
    member_tick(now, out);
    if (is_server()) server_tick(now, out);
    const bool busy = !requests_.empty() || !multicasts_.empty() || !seen_.empty() ||
                      hosts_members() || (is_server() && !groups_.empty());
    if (busy) arm(now, out);
}

EngineCounters GroupEngine::totals() const {
    EngineCounters c;
    c.packets_sent = counters_.packets_sent;
    c.retransmits = counters_.retransmits;
    c.duplicates_dropped = counters_.duplicates_dropped;
    c.malformed_dropped = counters_.malformed_dropped;
    return c;
}

}  // namespace herald::proto::group

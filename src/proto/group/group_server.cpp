// GroupEngine, server side (the lecture's CGS): groups, members and numbered views, durable
// before anyone sees them; the failure detector; installing views on every node concerned,
// in order, one at a time per node. Layer: proto/group. Rules: docs/groups.md.
#include <algorithm>
#include <limits>
#include <set>

#include "core/assert.h"
#include "proto/group/group_engine.h"

namespace herald::proto::group {

using wire::PacketKind;

namespace {
constexpr std::uint32_t every_incarnation = std::numeric_limits<std::uint32_t>::max();

// Whether `v` holds a member of `node` (of that incarnation of it; 0: of any).
bool hosts(const View& v, NodeId node, std::uint32_t incarnation = 0) {
    return std::any_of(v.members.begin(), v.members.end(), [&](const Member& m) {
        return m.pid.node == node && (incarnation == 0 || m.incarnation == incarnation);
    });
}
}  // namespace

const View* GroupEngine::server_view(std::string_view name) const {
    auto it = groups_.find(name);
    return it == groups_.end() || it->second.deleted ? nullptr : &it->second.current();
}

void GroupEngine::on_restore(std::span<const StoredRecord> records) {
    if (!is_server()) return;
    for (const auto& [key, value] : records) {
        RecordState state = RecordState::live;
        auto history = key.starts_with("group/g/") ? decode_record(value, state) : std::nullopt;
        if (!history) {
            ++counters_.bad_records;
            continue;
        }
        if (state == RecordState::gone) {  // G21: only the floor of a deleted group is left.
            floors_[key.substr(8)] = history->back().id;
            continue;
        }
        ServerGroup g;
        g.history = std::move(*history);
        g.deleted = state == RecordState::deleted;  // G21: the deletion goes on.
        g.durable_id = g.current().id;
        groups_.emplace(key.substr(8), std::move(g));
    }
    // Members on this node belonged to an earlier incarnation: they are gone (G12).
    remove_node_members(self_, incarnation_);
}

void GroupEngine::on_request(NodeId from, const GroupPacket& m, Time now, Effects& out) {
    heard(from, m.source_incarnation, now);
    const RequestKey key{from, m.source_incarnation, m.id};
    if (auto it = answers_.find(key); it != answers_.end()) {
        ++counters_.duplicates_dropped;
        if (it->second.sent) transmit(from, it->second.reply, out);  // G4: the same answer.
        return;
    }
    std::uint64_t wait = 0;
    GroupPacket reply = handle_request(m, wait);
    if (answers_.size() >= options_.answers_max) {
        reply.reason = Errc::queue_full;  // Not remembered: the client's retry asks again.
        reply.body.clear();
        transmit(from, reply, out);
        return;
    }
    auto& answer = answers_[key];
    answer.reply = std::move(reply);
    answer.wait_view = wait;
    answer.at = now;
    auto g = groups_.find(m.name);
    if (wait == 0 || (g != groups_.end() && g->second.durable_id >= wait)) {
        answer.sent = true;
        transmit(from, answer.reply, out);
    }
}

// G2-G8: what the request does to the groups, and its answer; `wait_view` is the view that
// must be durable before the answer goes out (0: at once).
GroupPacket GroupEngine::handle_request(const GroupPacket& m, std::uint64_t& wait_view) {
    GroupPacket reply;
    reply.kind = PacketKind::group_reply;
    reply.source = Pid{self_, 0};
    reply.target = m.source;
    reply.target_incarnation = m.source_incarnation;
    reply.id = m.id;
    reply.name = m.name;
    auto it = groups_.find(m.name);
    if (m.kind == PacketKind::group_create) {
        if (it != groups_.end()) return reply.reason = Errc::already_exists, reply;
        if (groups_.size() >= options_.groups_max) return reply.reason = Errc::queue_full, reply;
        // G21: above the final view of a deleted group of that name, so that no node takes a
        // view of one for a view of the other.
        std::uint64_t first = 1;
        if (auto floor = floors_.find(m.name); floor != floors_.end()) {
            first = floor->second + 1;
            floors_.erase(floor);
        }
        ServerGroup g;
        g.history.push_back(View{first, m.closed, {}, m.order, pick_address(m.address)});
        g.dirty = true;
        ++counters_.views_created;
        it = groups_.emplace(m.name, std::move(g)).first;
        reply.body = encode_view(it->second.current());
        wait_view = first;
        return reply;
    }
    if (it == groups_.end()) return reply.reason = Errc::not_found, reply;
    ServerGroup& g = it->second;
    if (m.kind == PacketKind::group_delete) {
        // G21: a final view without members; answered once the group is gone. A second
        // delete while it goes waits for the same end.
        if (!g.deleted) {
            g.deleted = true;
            change(m.name, g, {});
        }
        wait_view = wait_gone;
        return reply;
    }
    if (g.deleted) return reply.reason = Errc::not_found, reply;
    if (m.kind == PacketKind::group_join) return handle_join(g, std::move(reply), m, wait_view);
    if (m.kind == PacketKind::group_lookup) {
        if (g.current().closed && !g.current().contains_pid(m.source)) {
            return reply.reason = Errc::access_denied, reply;
        }
    } else {  // group_leave
        auto members = g.current().members;
        const auto end = std::remove_if(members.begin(), members.end(),
                                        [&](const Member& x) { return x.pid == m.source; });
        if (end == members.end()) return reply.reason = Errc::not_found, reply;
        members.erase(end, members.end());
        change(m.name, g, std::move(members));
    }
    reply.body = encode_view(g.current());
    reply.view_id = g.current().id;
    wait_view = g.current().id;
    return reply;
}

GroupPacket GroupEngine::handle_join(ServerGroup& g, GroupPacket reply, const GroupPacket& m,
                                     std::uint64_t& wait_view) {
    const Member member{m.source, m.source_incarnation};
    if (!g.current().contains(member)) {
        if (g.current().members.size() >= options_.members_max) {
            return reply.reason = Errc::queue_full, reply;
        }
        auto members = g.current().members;
        members.push_back(member);
        std::sort(members.begin(), members.end());
        change(reply.name, g, std::move(members));
    }
    reply.body = encode_view(g.current());
    reply.view_id = g.current().id;
    wait_view = g.current().id;
    return reply;
}

// G22: a multicast group the create left to the server: the first free of 239.193.0.1 ..
// 239.193.255.254 (IPv6: ff12::4852:1 .. ff12::4852:fffe), port picked_port, among the groups
// it holds; when all are taken, the first (a shared address costs receivers filtering only).
GroupAddress GroupEngine::pick_address(const GroupAddress& asked) const {
    std::set<IpGroup> used;
    for (const auto& entry : groups_) used.insert(entry.second.current().address.ip);
    return group::pick_address(asked, used);
}

GroupAddress pick_address(const GroupAddress& asked, const std::set<IpGroup>& used) {
    if (asked.kind != AddressKind::multicast || asked.ip.valid()) return asked;
    GroupAddress a = asked;
    a.ip.port = picked_port;
    for (std::uint32_t k = 1; k <= 0xFFFE; ++k) {
        const auto high = static_cast<std::uint8_t>(k >> 8);
        const auto low = static_cast<std::uint8_t>(k & 0xFF);
        if (a.ip.family == 4) {
            a.ip.address = {239, 193, high, low};
        } else {
            a.ip.address = {0xFF, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x48, 0x52, high, low};
        }
        if (!used.contains(a.ip)) return a;
    }
    a.ip.address[a.ip.family == 4 ? 3 : 15] = 1;
    a.ip.address[a.ip.family == 4 ? 2 : 14] = 0;
    return a;
}

// G5: a new view, numbered one above the current; sent to nobody until it is durable.
void GroupEngine::change(const std::string& name, ServerGroup& g, std::vector<Member> members) {
    View v{g.current().id + 1, g.current().closed, std::move(members), g.current().order,
           g.current().address};
    HERALD_ASSERT(std::is_sorted(v.members.begin(), v.members.end()));
    g.history.push_back(std::move(v));
    while (g.history.size() > options_.history_max && g.history.front().id < g.durable_id) {
        g.history.erase(g.history.begin());
    }
    g.dirty = true;
    ++counters_.views_created;
    static_cast<void>(name);
}

void GroupEngine::remove_node_members(NodeId node, std::uint32_t below_incarnation) {
    for (auto& [name, g] : groups_) {
        if (g.deleted) continue;  // Its final view has no members.
        auto members = g.current().members;
        const auto end = std::remove_if(members.begin(), members.end(), [&](const Member& m) {
            return m.pid.node == node && m.incarnation < below_incarnation;
        });
        if (end == members.end()) continue;
        members.erase(end, members.end());
        change(name, g, std::move(members));
    }
}

void GroupEngine::write_dirty(Effects& out) {
    for (auto& [name, g] : groups_) {
        if (g.writing) continue;
        if (!g.dirty) {
            // G21: every node concerned dropped the deleted group: only its floor stays.
            if (!g.deleted || !g.announced || !g.nodes.empty()) continue;
            const std::uint64_t token = next_token_++;
            out.persist(token, record_key(name), encode_record({g.current()}, RecordState::gone));
            finals_[token] = name;
            g.writing = true;
            continue;
        }
        const std::uint64_t token = next_token_++;
        out.persist(token, record_key(name),
                    encode_record(g.history, g.deleted ? RecordState::deleted : RecordState::live));
        writes_[token] = {name, g.current().id};
        g.writing = true;
        g.dirty = false;
    }
}

void GroupEngine::on_durable(std::uint64_t token, const Status& status, Time now, Effects& out) {
    if (auto e = finals_.find(token); e != finals_.end()) {
        const std::string name = e->second;
        finals_.erase(e);
        if (status) {
            floors_[name] = groups_.at(name).current().id;
            groups_.erase(name);  // G21: gone; a create may make it again.
            send_gone_answers(name, now, out);
        } else {
            ++counters_.storage_errors;  // Written again at the next write_dirty.
            groups_.at(name).writing = false;
        }
        write_dirty(out);
        arm(now, out);
        return;
    }
    auto w = writes_.find(token);
    HERALD_ASSERT(w != writes_.end());
    const auto [name, view_id] = w->second;
    writes_.erase(w);
    ServerGroup& g = groups_.at(name);
    g.writing = false;
    if (status) {
        g.durable_id = std::max(g.durable_id, view_id);
        send_answers(name, out);
        distribute(name, g, now, true, out);
    } else {
        ++counters_.storage_errors;  // G5: nothing of it is sent; written again next.
        g.dirty = true;
    }
    write_dirty(out);
    arm(now, out);
}

void GroupEngine::send_answers(const std::string& name, Effects& out) {
    const std::uint64_t durable = groups_.at(name).durable_id;
    for (auto& [key, answer] : answers_) {
        if (answer.sent || answer.reply.name != name || answer.wait_view > durable) continue;
        answer.sent = true;
        transmit(key.node, answer.reply, out);
    }
}

void GroupEngine::send_gone_answers(const std::string& name, Time now, Effects& out) {
    for (auto& [key, answer] : answers_) {
        if (answer.sent || answer.reply.name != name || answer.wait_view != wait_gone) continue;
        answer.sent = true;
        answer.at = now;  // Retention runs from now: a retry gets this answer.
        transmit(key.node, answer.reply, out);
    }
}

// G21: a group_view of a group that no longer exists, with no cursor (heartbeats repeat it).
void GroupEngine::send_gone(NodeId node, std::uint32_t incarnation, const std::string& name,
                            std::uint64_t id, Effects& out) {
    GroupPacket m;
    m.kind = PacketKind::group_view;
    m.source = Pid{self_, 0};
    m.target = Pid{node, 0};
    m.target_incarnation = incarnation;
    m.name = name;
    m.id = id;
    m.deleted = true;
    m.body = encode_view(View{id, false, {}, order_fifo, {}});
    transmit(node, m, out);
}

// G21: a node that stays silent for suspicion_timeout is not waited for by a deletion (it
// drops the group when it is heard again: its heartbeat names a group that is gone).
void GroupEngine::abandon_silent(Time now) {
    for (auto& [name, g] : groups_) {
        if (!g.deleted) continue;
        std::erase_if(g.nodes, [&](const auto& entry) {
            if (entry.first == self_) return false;
            auto [h, fresh] = heard_.try_emplace(entry.first, HeardFrom{0, now});
            return !fresh && now - h->second.at > options_.suspicion_timeout;
        });
    }
}

// G9: every node that hosts members of the durable view, or of the one before it, is brought
// up to date, one view at a time; `force` sends now, else only when a retransmit is due.
void GroupEngine::distribute(const std::string& name, ServerGroup& g, Time now, bool force,
                             Effects& out) {
    const View* durable = g.find(g.durable_id);
    if (durable == nullptr) return;
    const View* before = g.find(g.durable_id - 1);
    // G21: the final view of a deleted group goes to the nodes of the view before it once;
    // each is forgotten when it acknowledged it.
    const bool final = g.deleted && g.durable_id == g.current().id;
    std::vector<NodeId> nodes;
    for (const View* v : {durable, before}) {
        if (v == nullptr || (final && g.announced)) continue;
        for (const auto& m : v->members) nodes.push_back(m.pid.node);
    }
    for (auto node : nodes) {
        if (!g.nodes.contains(node)) g.nodes[node].incarnation = known_incarnation(node);
    }
    if (final) g.announced = true;
    for (auto it = g.nodes.begin(); it != g.nodes.end();) {
        NodeCursor& c = it->second;
        const bool current = c.known && c.acked >= g.durable_id;
        // Forgotten only once neither view it is sent for holds it: else the next call would
        // make it again, unknown, and resend the durable view for ever (checker "quiet").
        const bool concerned =
            hosts(*durable, it->first) || (before != nullptr && hosts(*before, it->first));
        if (current && (final || !concerned)) {
            it = g.nodes.erase(it);
            continue;
        }
        if (!current && (force || now - c.sent >= options_.retransmit_interval)) {
            if (c.sent != Time{}) ++counters_.retransmits;
            send_view(name, g, it->first, c, now, out);
        }
        ++it;
    }
}

// G9, G10: the next view after what the node acknowledged (or the durable one when its
// progress is unknown; or, when the next is no longer kept, the durable one with `reset`).
void GroupEngine::send_view(const std::string& name, const ServerGroup& g, NodeId node,
                            NodeCursor& c, Time now, Effects& out) {
    GroupPacket m;
    m.kind = PacketKind::group_view;
    m.source = Pid{self_, 0};
    m.target = Pid{node, 0};
    m.target_incarnation = c.incarnation;
    m.name = name;
    const View* v = g.find(g.durable_id);
    if (!c.known) {
        // G9: a node whose answer has not come yet starts at the earliest durable view of the
        // run that ends with the durable one and holds its (this incarnation's) members each
        // time: a member that joined while later views became durable installs the view it
        // joined in first, as every other member of that view did (ordering's flush waits
        // for each of them, docs/ordering.md O30).
        while (v != nullptr && hosts(*v, node, c.incarnation)) {
            const View* earlier = g.find(v->id - 1);
            if (earlier == nullptr || !hosts(*earlier, node, c.incarnation)) break;
            v = earlier;
        }
    } else {
        m.ack = c.acked;
        const View* next = g.find(c.acked + 1);
        if (next != nullptr && next->id <= g.durable_id) {
            v = next;
        } else {
            m.reset = true;
            out.trace(now, "probe_group_view_reset");
        }
    }
    HERALD_ASSERT(v != nullptr);
    m.deleted = g.deleted && v->id == g.current().id;
    m.id = v->id;
    m.body = encode_view(*v);
    c.sent = now;
    transmit(node, m, out);
}

void GroupEngine::on_view_ack(NodeId from, const GroupPacket& m, Time now, Effects& out) {
    auto g = groups_.find(m.name);
    if (g == groups_.end()) return;
    // A view this group never made durable: the node speaks of a deleted predecessor (G21).
    if (m.id > g->second.durable_id) return;
    auto it = g->second.nodes.find(from);
    if (it == g->second.nodes.end() || it->second.incarnation != m.source_incarnation) return;
    NodeCursor& c = it->second;
    if (c.known && m.id <= c.acked) {
        ++counters_.duplicates_dropped;
        return;
    }
    c.known = true;
    c.acked = m.id;
    c.sent = Time{};
    distribute(g->first, g->second, now, true, out);
}

// G11: a node that reports an installed view older than the durable one, and that the server
// is not bringing up to date (it lost its cursors in a restart), gets a cursor now.
void GroupEngine::on_heartbeat(NodeId from, const GroupPacket& m, Time now, Effects& out) {
    auto views = decode_heartbeat(m.body);
    if (!views) {
        ++counters_.malformed_dropped;
        return;
    }
    for (const auto& installed : *views) {
        auto g = groups_.find(installed.name);
        // G21: a group that is gone (or a view the group of that name never made: its deleted
        // predecessor's) is dropped by the node.
        if (g == groups_.end() || installed.view_id > g->second.durable_id) {
            send_gone(from, m.source_incarnation, installed.name, installed.view_id + 1, out);
            continue;
        }
        if (installed.view_id >= g->second.durable_id) continue;
        auto [c, fresh] = g->second.nodes.try_emplace(from);
        if (!fresh) continue;
        c->second = NodeCursor{m.source_incarnation, true, installed.view_id, Time{}};
        send_view(g->first, g->second, from, c->second, now, out);
    }
}

// Restart detection (G12): a packet from a newer incarnation of a node removes that node's
// members of older incarnations, and restarts its cursors.
void GroupEngine::heard(NodeId node, std::uint32_t incarnation, Time now) {
    if (node == self_) return;
    HeardFrom& h = heard_[node];
    if (incarnation < h.incarnation) return;  // A late packet of an earlier incarnation.
    if (incarnation > h.incarnation) {
        remove_node_members(node, incarnation);
        for (auto& [name, g] : groups_) {
            auto c = g.nodes.find(node);
            if (c != g.nodes.end() && c->second.incarnation != incarnation) {
                c->second = NodeCursor{incarnation, false, 0, Time{}};
            }
        }
        h.incarnation = incarnation;
    }
    h.at = now;
}

// G12: a late packet of an earlier incarnation of a node (reordered, duplicated) is dropped:
// a join it carried would put a dead member next to its successor with the same pid.
bool GroupEngine::stale(NodeId node, std::uint32_t incarnation) {
    auto it = heard_.find(node);
    if (it == heard_.end() || incarnation >= it->second.incarnation) return false;
    ++counters_.duplicates_dropped;
    return true;
}

std::uint32_t GroupEngine::known_incarnation(NodeId node) const {
    if (node == self_) return incarnation_;
    if (auto it = heard_.find(node); it != heard_.end() && it->second.incarnation != 0) {
        return it->second.incarnation;
    }
    std::uint32_t best = 0;
    for (const auto& [name, g] : groups_) {
        for (const auto& m : g.current().members) {
            if (m.pid.node == node) best = std::max(best, m.incarnation);
        }
    }
    return best;
}

// G11: a node hosting members that was silent for suspicion_timeout is taken for crashed.
void GroupEngine::suspect(Time now, Effects& out) {
    std::vector<NodeId> nodes;
    for (const auto& [name, g] : groups_) {
        for (const auto& m : g.current().members) {
            if (m.pid.node != self_) nodes.push_back(m.pid.node);
        }
    }
    for (auto node : nodes) {
        // Incarnation 0: not heard yet. Taking one from the members here would hide a newer
        // incarnation's first packet from heard(), which then would not reset cursors (G12).
        auto [it, fresh] = heard_.try_emplace(node, HeardFrom{0, now});
        if (fresh || now - it->second.at <= options_.suspicion_timeout) continue;
        remove_node_members(node, every_incarnation);
        ++counters_.suspicions;
        out.trace(now, "probe_group_suspected", "node=" + to_string(node));
        it->second.at = now;
    }
}

// Bounds heard_: a node that hosts no member of any current view and has been silent for twice
// answer_retention (no retransmission of its requests can still come) is forgotten.
void GroupEngine::forget_silent(Time now) {
    std::set<NodeId> hosting;
    for (const auto& [name, g] : groups_) {
        for (const auto& m : g.current().members) hosting.insert(m.pid.node);
    }
    std::erase_if(heard_, [&](const auto& entry) {
        return !hosting.contains(entry.first) &&
               now - entry.second.at > options_.answer_retention + options_.answer_retention;
    });
}

void GroupEngine::server_tick(Time now, Effects& out) {
    suspect(now, out);
    abandon_silent(now);
    forget_silent(now);
    for (auto& [name, g] : groups_) distribute(name, g, now, false, out);
    for (auto it = answers_.begin(); it != answers_.end();) {
        const bool old = it->second.sent && now - it->second.at >= options_.answer_retention;
        it = old ? answers_.erase(it) : std::next(it);
    }
    write_dirty(out);
}

}  // namespace herald::proto::group

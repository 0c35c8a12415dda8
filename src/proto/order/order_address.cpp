// OrderEngine, O38: the first transmission of each entry of a member's own stream as ONE
// order_data without a target, to the group's IP multicast or broadcast address or to the list
// of member nodes (the lecture's two-level addressing, as the group engine's G22), and its
// receipt by every local member of the view. Retransmissions stay unicast (order_engine.cpp).
// Layer: proto/order. Rules: docs/ordering.md.
#include <utility>

#include "core/assert.h"
#include "proto/order/order_engine.h"

namespace herald::proto::order {

using wire::PacketKind;

// O38: one order_data, encoded once, without a target: to the member nodes but this one (by
// address or node list) and, by loopback, to this node's other members of the view.
void OrderEngine::transmit_first(const std::string& name, const Endpoint& ep, StreamEntry& entry,
                                 Effects& out) {
    nodes_.clear();
    bool local = false;
    for (std::uint32_t j = 0; j < ep.view.members.size(); ++j) {
        if (j == ep.index) continue;
        const NodeId node = ep.view.members[j].pid.node;
        if (node == self_) {
            local = true;
        } else if (nodes_.empty() || nodes_.back() != node) {
            nodes_.push_back(node);  // Members are sorted by node: each node once.
        }
    }
    if (!local && nodes_.empty()) return;  // Alone in the view.
    OrderPacket m;
    m.kind = PacketKind::order_data;
    m.source = ep.self;
    m.target = Member{};
    m.group = name;
    m.view_id = ep.view.id;
    m.entry = std::move(entry);  // Borrowed for the encoding, not copied.
    wire::Packet packet = build(m);
    entry = std::move(m.entry);
    if (!nodes_.empty()) {
        const Destination to = first_destination(ep.view, out);
        ++counters_.packets_sent;
        if (local) {
            out.send(to, packet);  // The loopback below takes the original.
        } else {
            out.send(to, std::move(packet));
        }
    }
    if (local) {
        ++counters_.packets_sent;
        out.send(self_, std::move(packet));
    }
}

// O38: the group's IP multicast group or the broadcast address, with the member nodes as the
// fan-out list for a driver that cannot send there; without an address the list itself (one
// node: that node).
Destination OrderEngine::first_destination(const View& view, Effects& out) {
    HERALD_ASSERT(!nodes_.empty());
    const group::GroupAddress& address = view.address;
    if (address.kind == group::AddressKind::multicast && address.ip.valid()) {
        ++counters_.address_sends;
        out.trace(Time{}, "probe_order_ip_multicast");
        Destination to = out.fan_out(Destination::Kind::multicast, nodes_);
        to.group = address.ip;
        return to;
    }
    if (address.kind == group::AddressKind::broadcast) {
        ++counters_.address_sends;
        out.trace(Time{}, "probe_order_broadcast");
        return out.fan_out(Destination::Kind::broadcast, nodes_);
    }
    if (nodes_.size() == 1) return Destination::to_node(nodes_.front());
    return out.fan_out(Destination::Kind::nodes, nodes_);
}

// O38: every local member of the group but the source, in the packet's view and not flushing,
// takes the entry as if it was addressed to it (O6 on), each its own copy.
void OrderEngine::on_group_data(GroupState& g, const std::string& name, OrderPacket& m, Time now,
                                Effects& out) {
    HERALD_ASSERT(m.kind == PacketKind::order_data);
    const auto takes_it = [&](const Endpoint& ep) {
        return ep.self != m.source && !ep.flushing && ep.view.id == m.view_id &&
               index_of(ep.view, m.source).has_value();
    };
    std::size_t takers = 0;
    for (const auto& [pid, ep] : g.endpoints)
        if (takes_it(ep)) ++takers;
    if (takers == 0) {
        ++counters_.unclaimed_dropped;  // None here, another view, a flush, or its source.
        out.trace(now, "probe_order_unclaimed");
        return;
    }
    for (auto& [pid, ep] : g.endpoints) {
        if (!takes_it(ep)) continue;
        const std::uint32_t from = *index_of(ep.view, m.source);
        if (--takers == 0) {
            on_data(g, name, ep, from, m, now, out);  // The last takes the packet's entry.
            return;
        }
        OrderPacket copy = m;
        on_data(g, name, ep, from, copy, now, out);
    }
}

}  // namespace herald::proto::order

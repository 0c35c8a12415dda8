// Node: group addresses (IP multicast groups, the broadcast address) and the routing of
// multicast and broadcast destinations to them. Layer: runtime.
#include "runtime/node.h"

namespace herald::runtime {

std::uint32_t Node::ip_group_handle(const proto::IpGroup& group, GroupRole role) {
    auto it = ip_groups_.find(group);
    if (it != ip_groups_.end() && role == GroupRole::sender) return it->second;
    auto handle =
        groups_.add(*transport_, endpoint_of(group), role, config_.transport.groups.groups_max);
    if (!handle) {
        ++counters_.group_address_errors;  // The engine's unicast retransmissions still reach.
        return 0;
    }
    ip_groups_[group] = *handle;
    return *handle;
}

void Node::group_membership(const proto::MembershipEffect& m) {
    if (m.join) {
        // Without multicast (tcp, unix, inproc) the handle only serves the fan-out: not joined.
        if (ip_group_handle(m.group, GroupRole::member) != 0 && capabilities_.multicast) {
            ip_joined_.insert(m.group);
        }
    } else if (auto it = ip_groups_.find(m.group); it != ip_groups_.end()) {
        // Leaves the group and forgets it; a later send registers it again as a sender.
        static_cast<void>(groups_.remove(*transport_, it->second));
        ip_groups_.erase(it);
        ip_joined_.erase(m.group);
    }  // Else the join was refused (counted then).
    counters_.group_joined = ip_joined_.size();
}

Result<std::uint32_t> Node::add_group_address(const Endpoint& group, GroupRole role) {
    return on_loop<Result<std::uint32_t>>(
        "add_group_address()", [this, group, role]() -> Result<std::uint32_t> {
            if (shut_down_) return fail(Errc::closed, "node stopped");
            return groups_.add(*transport_, group, role, config_.transport.groups.groups_max);
        });
}

Status Node::remove_group_address(std::uint32_t handle) {
    return on_loop<Status>("remove_group_address()", [this, handle]() -> Status {
        if (shut_down_) return fail(Errc::closed, "node stopped");
        return groups_.remove(*transport_, handle);
    });
}

bool Node::route_to_group(const proto::SendEffect& send) {
    proto::Destination destination = send.to;
    if (destination.kind == proto::Destination::Kind::multicast && destination.address == 0 &&
        !destination.group.empty()) {
        destination.address = ip_group_handle(destination.group, GroupRole::sender);
    }
    const Endpoint* to = groups_.resolve(*transport_, destination);
    if (to == nullptr) {
        ++counters_.group_fan_outs;
        return false;
    }
    // The link packs and fragments as for one node; members reassemble by source node.
    link_->send_to(*to, send.parts());
    ++counters_.group_datagrams;
    return true;
}

}  // namespace herald::runtime

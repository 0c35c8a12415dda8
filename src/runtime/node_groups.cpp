// Node: group addresses (IP multicast groups, the broadcast address) and the routing of
// multicast and broadcast destinations to them. Layer: runtime.
#include "runtime/node.h"

namespace herald::runtime {

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
    const Endpoint* to = groups_.resolve(*transport_, send.to);
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

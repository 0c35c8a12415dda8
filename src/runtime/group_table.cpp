// GroupTable: handles of group addresses, registered with a multicast-capable transport.
// Layer: runtime.
#include "runtime/group_table.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <string>

namespace herald::runtime {

Endpoint endpoint_of(const proto::IpGroup& group) {
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(group.family == 6 ? AF_INET6 : AF_INET, group.address.data(), text, sizeof text);
    Endpoint e;
    e.scheme = Endpoint::Scheme::udp;
    e.host = text;
    e.port = group.port;
    return e;
}

Result<proto::IpGroup> ip_group_of(const Endpoint& group) {
    HERALD_TRY(check_group_endpoint(group));
    proto::IpGroup ip;
    ip.port = group.port;
    ip.family = inet_pton(AF_INET, group.host.c_str(), ip.address.data()) == 1 ? 4 : 6;
    if (ip.family == 6 && inet_pton(AF_INET6, group.host.c_str(), ip.address.data()) != 1) {
        return fail(Errc::invalid_argument, "group address " + group.host);
    }
    return ip;
}

Result<std::uint32_t> GroupTable::add(Transport& transport, const Endpoint& group, GroupRole role,
                                      std::uint32_t groups_max) {
    HERALD_TRY(check_group_endpoint(group));
    const bool multicast = transport.capabilities().multicast;
    std::size_t open_slot = slots_.size();
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        Slot& slot = slots_[i];
        if (!slot.used) {
            if (open_slot == slots_.size()) open_slot = i;
            continue;
        }
        if (slot.group != group) continue;
        // Again: the transport joins now if asked and returns the handle it gave before.
        if (multicast) HERALD_TRY(transport.add_group(group, role));
        return static_cast<std::uint32_t>(i + 1);
    }
    if (open_slot == slots_.size() && slots_.size() >= groups_max) {
        return fail(Errc::queue_full,
                    "groups_max (" + std::to_string(groups_max) + ") group addresses registered");
    }
    Transport::GroupHandle transport_handle = 0;
    if (multicast) {
        HERALD_TRY(transport_handle, transport.add_group(group, role));
    }
    if (open_slot == slots_.size()) slots_.emplace_back();
    slots_[open_slot] = Slot{true, group, transport_handle};
    ++size_;
    return static_cast<std::uint32_t>(open_slot + 1);
}

Status GroupTable::remove(Transport& transport, std::uint32_t handle) {
    if (handle == 0 || handle > slots_.size() || !slots_[handle - 1].used) {
        return fail(Errc::not_found, "no group address with handle " + std::to_string(handle));
    }
    Slot& slot = slots_[handle - 1];
    slot.used = false;
    --size_;
    if (slot.transport_handle != 0) HERALD_TRY(transport.remove_group(slot.transport_handle));
    return {};
}

const Endpoint* GroupTable::resolve(const Transport& transport,
                                    const proto::Destination& to) const {
    using Kind = proto::Destination::Kind;
    if (to.kind == Kind::broadcast) return transport.broadcast_endpoint();
    if (to.kind != Kind::multicast) return nullptr;
    if (to.address == 0 || to.address > slots_.size()) return nullptr;
    const Slot& slot = slots_[to.address - 1];
    if (!slot.used || slot.transport_handle == 0) return nullptr;
    return transport.group_endpoint(slot.transport_handle);
}

}  // namespace herald::runtime

// GroupTable: the node's group addresses, the handles engines put in proto::Destination for
// Kind::multicast. A group is registered with the transport when it has multicast; otherwise
// only remembered, and the Node fans its packets out to the destination's node list.
// Layer: runtime. Loop thread.
#pragma once

#include <cstdint>
#include <vector>

#include "core/result.h"
#include "proto/effects.h"
#include "runtime/transport.h"

namespace herald::runtime {

// An engine's IP group by value (docs/groups.md G22) as a udp endpoint, and back.
// ip_group_of: Errc::invalid_argument (check_group_endpoint's errors).
[[nodiscard]] Endpoint endpoint_of(const proto::IpGroup& group);
[[nodiscard]] Result<proto::IpGroup> ip_group_of(const Endpoint& group);

class GroupTable {
public:
    // Registers `group` (check_group_endpoint) and returns its handle, 1..groups_max; the same
    // group again returns the same handle (joining it if `role` is now member). With a transport
    // that has multicast, registers it there too (Transport::add_group).
    // Errc::invalid_argument (a bad group endpoint, another family than the transport's),
    // Errc::queue_full (groups_max registered), Errc::io_error (the OS refused the join).
    [[nodiscard]] Result<std::uint32_t> add(Transport& transport, const Endpoint& group,
                                            GroupRole role, std::uint32_t groups_max);
    // Forgets a group (leaving it on the transport). Errc::not_found for an unknown handle.
    [[nodiscard]] Status remove(Transport& transport, std::uint32_t handle);

    // Where one datagram for `to` goes: a multicast destination's group endpoint, or the
    // broadcast endpoint. nullptr when the transport cannot send it as one datagram (no
    // capability, an unknown handle, another kind of destination): the caller fans out.
    [[nodiscard]] const Endpoint* resolve(const Transport& transport,
                                          const proto::Destination& to) const;

    [[nodiscard]] std::size_t size() const { return size_; }

private:
    struct Slot {
        bool used = false;
        Endpoint group;
        Transport::GroupHandle transport_handle = 0;  // 0: the transport has no multicast.
    };
    std::vector<Slot> slots_;  // Handle h is slots_[h - 1].
    std::size_t size_ = 0;
};

}  // namespace herald::runtime

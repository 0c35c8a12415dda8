// The admin service's group ops (group_create, group_join, group_leave, group_send, group_view,
// group_ls; docs/admin.md), through the daemon's node and its group service (docs/groups.md).
// group_join makes a member process that the daemon keeps for that group until group_leave.
// Layer: apps.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "admin_protocol.h"
#include "herald/herald.h"

namespace herald::daemon {

class GroupOps {
public:
    // At most this many groups joined through the admin service at once (group_join:
    // queue_full beyond).
    static constexpr std::size_t members_max = 64;
    // The inbox of each member process: what it receives is discarded at each group op, so
    // that the inbox never holds more than this (later copies are dropped and counted by the
    // node until then).
    static constexpr std::uint32_t member_queue_limit = 256;

    explicit GroupOps(Node& node) : node_(node) {}

    // True for the op names above.
    [[nodiscard]] static bool handles(const std::string& op);
    // Runs `request` (one of handles()), filling `reply`. Errors of the herald::Node and
    // herald::Process group calls; invalid_argument (bad reliability or timeout_ms).
    // `self` is the admin process: it sends group_send when the daemon has no member of the
    // group. Blocks (at most the group server's timeout, or the send's).
    [[nodiscard]] Status run(Process& self, const admin::Request& request, admin::Reply& reply);

private:
    [[nodiscard]] Status join(const std::string& name, admin::Reply& reply);
    [[nodiscard]] Status leave(const std::string& name, admin::Reply& reply);
    [[nodiscard]] Status send(Process& self, const admin::Request& request, admin::Reply& reply);
    void drain_members();

    Node& node_;
    std::mutex mutex_;  // members_.
    std::map<std::string, Process> members_;
};

}  // namespace herald::daemon

// The admin service's group ops (group_create, group_join, group_leave, group_send, group_view,
// group_ls, group_delete, group_views, group_recv; docs/admin.md), through the daemon's node
// and its group service (docs/groups.md). group_join makes a member process that the daemon
// keeps for that group until group_leave (or the group's deletion); what it receives is kept
// for group_views and group_recv. Layer: apps.
#pragma once

#include <chrono>
#include <deque>
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
    // The inbox of each member process. What it receives is moved at each group op into the
    // member's own buffers below, so that the inbox never holds more than this (later copies
    // are dropped and counted by the node until then).
    static constexpr std::uint32_t member_queue_limit = 256;
    // Multicasts kept for group_recv per member (the oldest unread is dropped beyond), and
    // views kept for group_views (the oldest forgotten beyond).
    static constexpr std::size_t unread_max = 256;
    static constexpr std::size_t views_max = 16;
    // group_recv: at most this many messages per answer, and this long a wait (the admin
    // service answers one request at a time).
    static constexpr std::uint32_t recv_count_max = 64;
    static constexpr std::int64_t recv_wait_ms_max = 1000;

    explicit GroupOps(Node& node) : node_(node) {}

    // True for the op names above.
    [[nodiscard]] static bool handles(const std::string& op);
    // Runs `request` (one of handles()), filling `reply`. Errors of the herald::Node and
    // herald::Process group calls; invalid_argument (bad reliability, timeout_ms or count);
    // not_found (group_recv, group_leave: the daemon did not join; group_recv: deleted).
    // `self` is the admin process: it sends group_send when the daemon has no member of the
    // group. Blocks (at most the group server's timeout, or the send's, or group_recv's wait).
    [[nodiscard]] Status run(Process& self, const admin::Request& request, admin::Reply& reply);

private:
    // A member process the daemon keeps for one group, and what it received.
    struct Member {
        Process process;
        std::deque<GroupMessage> unread;  // Multicasts not yet taken by group_recv.
        std::deque<GroupView> views;      // Views it received, oldest first.
        std::uint64_t dropped = 0;        // Multicasts dropped unread (unread_max).
        bool deleted = false;             // It received the group's deletion.
    };

    [[nodiscard]] Status join(const std::string& name, admin::Reply& reply);
    [[nodiscard]] Status leave(const std::string& name, admin::Reply& reply);
    [[nodiscard]] Status send(Process& self, const admin::Request& request, admin::Reply& reply);
    [[nodiscard]] Status collect(Process& sender, const admin::Request& request,
                                 std::chrono::milliseconds timeout, admin::Reply& reply);
    [[nodiscard]] Status remove(const std::string& name, admin::Reply& reply);
    [[nodiscard]] Status views(const std::string& name, admin::Reply& reply);
    [[nodiscard]] Status receive(const admin::Request& request, admin::Reply& reply);
    static void keep(Member& member, const Envelope& envelope);
    void drain_members();

    Node& node_;
    std::mutex mutex_;  // members_.
    std::map<std::string, Member> members_;
};

}  // namespace herald::daemon

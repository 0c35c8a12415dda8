// GroupBackend: the coordination backend under the group service (docs/coordination.md), as
// NodeGroupService sees it: where groups are created and deleted and where each group's
// sequence of views is decided. Two implementations: EmbeddedGroups (the group engine's server
// protocol, docs/groups.md, with the server on one node) and coord::EtcdGroups (views as keys
// in an etcd cluster, C12-C17). NodeConfig::coordination chooses. Multicast and delivery are
// the group engine's on either (they need no backend). Layer: runtime.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"
#include "proto/group/group_messages.h"

namespace herald::runtime {

class GroupBackend {
public:
    using View = proto::group::View;
    virtual ~GroupBackend() = default;

    // --- Application threads (any thread but the loop). Each blocks until the backend
    // answers (bounded). Errors as docs/groups.md "Operations" (embedded) and
    // docs/coordination.md C17 (etcd), plus invalid_argument on the loop thread or for a
    // pid that is not a process of this node, closed once the node stopped. ---
    [[nodiscard]] virtual Result<View> create(const std::string& name, bool closed, Pid requester,
                                              std::uint8_t order,
                                              const proto::group::GroupAddress& address) = 0;
    [[nodiscard]] virtual Result<View> join(const std::string& name, Pid member) = 0;
    [[nodiscard]] virtual Result<View> leave(const std::string& name, Pid member) = 0;
    [[nodiscard]] virtual Status remove(const std::string& name, Pid requester) = 0;
    // The current view for `requester` (closed group: access_denied unless this node hosts
    // members of it or `requester` is one).
    [[nodiscard]] virtual Result<View> view(const std::string& name, Pid requester) = 0;
    // The view this node knows without asking anyone (Errc::not_found when none).
    [[nodiscard]] virtual Result<View> known(const std::string& name) = 0;
    // The groups, in name order (embedded: only on the server's node, empty elsewhere).
    [[nodiscard]] virtual Result<std::vector<std::string>> list() = 0;

    // --- Loop thread ---
    // `member` exited: it leaves `name`; nobody waits for the outcome.
    virtual void leave_later(const std::string& name, Pid member, Time now) = 0;
    // The node stops: drop queued work; join_threads() then waits for the backend's threads.
    virtual void shutdown() {}
    virtual void join_threads() {}
};

}  // namespace herald::runtime

// EmbeddedGroups: the group service's embedded backend: each operation is a request of the
// node's group engine to the group server (docs/groups.md; the server is the engine of the node
// named by GroupOptions::server). Layer: runtime.
#pragma once

#include "proto/engine.h"
#include "runtime/group_backend.h"
#include "runtime/node_context.h"

namespace herald::runtime {

class EmbeddedGroups final : public GroupBackend {
public:
    EmbeddedGroups(NodeContext& node, proto::EngineSlot slot) : node_(node), slot_(slot) {}

    [[nodiscard]] Result<View> create(const std::string& name, bool closed, Pid requester,
                                      std::uint8_t order,
                                      const proto::group::GroupAddress& address) override;
    [[nodiscard]] Result<View> join(const std::string& name, Pid member) override;
    [[nodiscard]] Result<View> leave(const std::string& name, Pid member) override;
    [[nodiscard]] Status remove(const std::string& name, Pid requester) override;
    [[nodiscard]] Result<View> view(const std::string& name, Pid requester) override;
    [[nodiscard]] Result<View> known(const std::string& name) override;
    [[nodiscard]] Result<std::vector<std::string>> list() override;
    void leave_later(const std::string& name, Pid member, Time now) override;

private:
    NodeContext& node_;
    proto::EngineSlot slot_;
};

}  // namespace herald::runtime

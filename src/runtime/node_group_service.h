// NodeGroupService: the runtime service of the group engine (proto::group::GroupEngine; not
// node_groups.h, which is about UDP multicast destinations). The engine lives in the node's
// EngineSet: group packets, its timer, its durable writes and its restore reach it as they
// reach every engine; views and multicasts reach member processes' queues as envelopes
// (proto::group::decode_envelope). This service offers the engine's commands to application
// threads as blocking calls, through NodeContext only. Layer: runtime. Rules: docs/groups.md.
#pragma once

#include <memory>
#include <string>

#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"
#include "proto/engine_set.h"
#include "proto/group/group_engine.h"
#include "runtime/node_context.h"
#include "runtime/node_options.h"

namespace herald::runtime {

class NodeGroupService final : public Service {
public:
    NodeGroupService(NodeContext& node, const proto::group::GroupOptions& options);

    // Node::open's one line: the service, with its engine added to `engines`, when
    // config.group_enabled (else nullptr). The node named by config.group.server keeps the
    // groups in its store, so it needs data_dir: Errc::invalid_argument without one.
    [[nodiscard]] static Result<std::unique_ptr<NodeGroupService>> host(
        NodeContext& node, proto::EngineSet& engines, const proto::EngineContext& context,
        const NodeConfig& config);

    // --- Application threads (any thread but the loop). Each blocks until the engine
    // completes the command (at most request_timeout, or the multicast's timeout). Errors as
    // in docs/groups.md ("Operations"), plus: invalid_argument (called on the loop thread),
    // queue_full (commands_max queued), closed (the node stopped). ---

    // Creates group `name` (view 1, no members); `requester` is a process of this node.
    [[nodiscard]] Result<proto::group::View> create(const std::string& name, bool closed,
                                                    Pid requester);
    // Adds `member` (a process of this node): the view that holds it. (`join` is taken:
    // Service::join waits for threads at stop.)
    [[nodiscard]] Result<proto::group::View> join_group(const std::string& name, Pid member);
    // Removes `member`: the view without it.
    [[nodiscard]] Result<proto::group::View> leave_group(const std::string& name, Pid member);
    // Multicasts `body` from `sender` (a process of this node) with `reliability` (0, k, or
    // proto::group::reliability_all): the members that responded.
    [[nodiscard]] Result<proto::group::Responders> multicast(const std::string& name, Pid sender,
                                                             Bytes body, std::uint32_t reliability,
                                                             Duration timeout);
    [[nodiscard]] Result<proto::group::GroupCounters> counters();

private:
    NodeContext& node_;
    proto::group::GroupOptions options_;  // The engine holds a reference: kept here.
    proto::EngineSlot slot_ = 0;
};

}  // namespace herald::runtime

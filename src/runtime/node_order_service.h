// NodeOrderService: the runtime service of the ordering engine (proto::order::OrderEngine). The
// engine lives in the node's EngineSet beside the group engine, whose installed views are its
// view input: after every batch of effects in which the group engine installed a view, this
// service creates the group in the ordering engine with the view's mode (once) and gives it
// the views it has not had. Ordered multicasts reach member processes' queues as envelopes
// (Message::ordered; proto::order::decode_delivery). Application threads send through one
// hop to the loop each (hop: spin, then sleep). Layer: runtime. Rules: docs/ordering.md
// (O1-O37, "Runtime").
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/ids.h"
#include "core/result.h"
#include "proto/engine_set.h"
#include "proto/group/group_engine.h"
#include "proto/order/order_engine.h"
#include "runtime/node_context.h"
#include "runtime/node_options.h"

namespace herald::runtime {

class NodeOrderService final : public Service {
public:
    NodeOrderService(NodeContext& node, const proto::order::OrderOptions& options,
                     const proto::group::GroupEngine& groups);

    // Node::open's one line: the service, with its engine added to `engines`, when the node
    // hosts the group engine in `group_slot` (else nullptr: without views nothing is ordered).
    [[nodiscard]] static std::unique_ptr<NodeOrderService> host(
        NodeContext& node, proto::EngineSet& engines, const proto::EngineContext& context,
        const NodeConfig& config, std::optional<proto::EngineSlot> group_slot);

    // The node carried out a batch of effects. When the group engine installed views since
    // the last call, gives the ordering engine each of them, in order, that is newer than the
    // one it has (creating the group with the view's mode first); when it dropped a deleted
    // group, the ordering engine forgets that group too. Cheap otherwise (one compare).
    // Loop thread.
    void after_effects();

    // One ordered multicast of `body` from local member `sender` to its ordering view of
    // `name`: ok = accepted (O33). Errors as OrderEngine::on_multicast: not_found (no group,
    // or `sender` has no ordering view yet), too_large, would_block (retry later); plus
    // invalid_argument (on the loop thread), queue_full (commands_max), closed. Blocks for one
    // round trip to the loop. Any other thread.
    [[nodiscard]] Status multicast(const std::string& name, Pid sender, Bytes body);
    // Several ordered multicasts from `sender` in one round trip to the loop (one wake-up for
    // the batch, not one per message): the bodies in order, until the engine refuses one.
    // Returns how many were accepted (the first ones; at least 1), or, when the first is
    // refused, that error (as multicast). Blocks for one round trip. Any other thread.
    [[nodiscard]] Result<std::size_t> multicast_many(const std::string& name, Pid sender,
                                                     std::vector<Bytes> bodies);
    // The same, for an atomic multicast (docs/groups.md G23): ok = the id of the view the
    // message was accepted in. `relay`: fault-tolerant atomic (docs/ordering.md O36). Same
    // errors.
    [[nodiscard]] Result<std::uint64_t> atomic_multicast(const std::string& name, Pid sender,
                                                         Bytes body, bool relay);
    // The view `member` (a process of this node) installed in the ordering engine: the view
    // its ordered multicasts go to. Errc::not_found when none (not a member, or not yet).
    // Blocks for one hop to the loop.
    [[nodiscard]] Result<proto::group::View> view(const std::string& name, Pid member);
    [[nodiscard]] Result<proto::order::OrderCounters> counters();
    // The engine's slot: the node marks what it delivers as ordered group messages.
    [[nodiscard]] proto::EngineSlot slot() const { return slot_; }

private:
    // The wall clock's offset from the node's monotonic clock: absolute order's timestamps
    // (docs/ordering.md O23; OrderEngine::on_clock).
    [[nodiscard]] Duration wall_offset() const;
    // One ordering command's blocking hop to the loop thread: `task()` runs there and its
    // value comes back (the caller spins for `spin`, then sleeps: SpinWaiter). Errors:
    // invalid_argument (on the loop thread), queue_full (commands_max), closed (the loop
    // closed first).
    template <class R, class F>
    [[nodiscard]] R hop(const char* what, std::chrono::microseconds spin, F&& task);
    void sync_views();
    void sync_installed();
    // Gives the ordering engine `view` of `name` (creating the group with its mode first);
    // forget: the group was deleted.
    void give(const std::string& name, const proto::group::View& view);
    void forget(const std::string& name);

    NodeContext& node_;
    proto::order::OrderOptions options_;  // The engine holds a reference: kept here.
    const proto::group::GroupEngine& groups_;
    proto::EngineSlot slot_ = 0;
    // The number of the group engine's last install (install_log) given at the last sync.
    std::uint64_t logged_ = 0;
    bool syncing_ = false;  // sync_views runs engines, which carry out effects.
    // The last view id given to the ordering engine per group. Bounded by the group engine's
    // installed views (one per group this node hosts or hosted members of).
    std::map<std::string, std::uint64_t, std::less<>> given_;
};

}  // namespace herald::runtime

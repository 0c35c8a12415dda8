// NodeOrderService implementation. Layer: runtime.
#include "runtime/node_order_service.h"

#include <optional>
#include <utility>
#include <vector>

#include "proto/fields.h"

namespace herald::runtime {

using proto::group::View;
using proto::order::OrderEngine;
using proto::order::OrderMode;

NodeOrderService::NodeOrderService(NodeContext& node, const proto::order::OrderOptions& options,
                                   const proto::group::GroupEngine& groups)
    : node_(node), options_(options), groups_(groups) {}

std::unique_ptr<NodeOrderService> NodeOrderService::host(
    NodeContext& node, proto::EngineSet& engines, const proto::EngineContext& context,
    const NodeConfig& config, std::optional<proto::EngineSlot> group_slot) {
    if (!group_slot) return nullptr;
    const auto& groups = engines.get<proto::group::GroupEngine>(*group_slot);
    auto service = std::make_unique<NodeOrderService>(node, config.order, groups);
    service->slot_ = engines.add(std::make_unique<OrderEngine>(context, service->options_));
    return service;
}

void NodeOrderService::after_effects() {
    if (syncing_) return;  // The engines sync_views runs end here too.
    const auto counters = groups_.counters();
    const std::uint64_t installs = counters.views_installed + counters.groups_dropped;
    if (installs == installs_seen_) return;
    installs_seen_ = installs;
    syncing_ = true;
    sync_views();
    syncing_ = false;
}

// The group engine's installed views are the ordering engine's view input (docs/ordering.md,
// "Runtime"): each group once created with its mode, then every newer view, in id order.
void NodeOrderService::sync_views() {
    // A group given before whose installed view is now a final one was deleted (G21).
    std::vector<std::string> gone;
    for (const auto& entry : given_) {
        if (groups_.deleted(entry.first)) gone.push_back(entry.first);
    }
    for (const auto& name : gone) {
        given_.erase(name);
        node_.run<OrderEngine>(slot_, [&](OrderEngine& e, proto::Effects&) { e.on_delete(name); });
    }
    std::vector<std::pair<std::string, View>> newer;  // Copied: running engines may install.
    for (const auto& [name, view] : groups_.installed_views()) {
        if (groups_.deleted(name)) continue;  // Not given: a group made again starts afresh.
        auto it = given_.find(name);
        if (it == given_.end() || it->second < view.id) newer.emplace_back(name, view);
    }
    for (const auto& entry : newer) {
        const std::string& name = entry.first;  // Not a structured binding: clang 14 cannot
        const View& view = entry.second;        // capture one in the lambda below.
        given_[name] = view.id;
        node_.run<OrderEngine>(slot_, [&](OrderEngine& e, proto::Effects& out) {
            // A mode the engine refuses (another mode for this name: cannot happen, as the
            // mode is fixed at create) leaves the group unordered here; on_view counts it.
            static_cast<void>(e.on_create(name, static_cast<OrderMode>(view.order)));
            e.on_clock(wall_offset());
            e.on_view(name, view, node_.now(), out);
        });
    }
}

Duration NodeOrderService::wall_offset() const {
    return Duration::nanoseconds(node_.unix_ns() - node_.now().ns());
}

Status NodeOrderService::multicast(const std::string& name, Pid sender, Bytes body) {
    HERALD_TRY(atomic_multicast(name, sender, std::move(body), false));
    return {};
}

Result<std::uint64_t> NodeOrderService::atomic_multicast(const std::string& name, Pid sender,
                                                         Bytes body, bool relay) {
    HERALD_TRY(auto view_id, node_.run_blocking<OrderEngine>(
                                 slot_, [this, name, sender, relay, body = std::move(body)](
                                            OrderEngine& e, auto op, Time now, auto& out) mutable {
                                     e.on_clock(wall_offset());
                                     e.on_multicast(op, sender, name, std::move(body), now, out,
                                                    relay);
                                 }));
    std::uint64_t id = 0;
    std::size_t offset = 0;
    if (!proto::get_u64(view_id, offset, id)) return fail(Errc::malformed, "ordered view id");
    return id;
}

Result<std::size_t> NodeOrderService::multicast_many(const std::string& name, Pid sender,
                                                     std::vector<Bytes> bodies) {
    using R = Result<std::size_t>;
    return node_.on_loop<R>("ordered multicast", [&]() -> R {
        std::size_t accepted = 0;
        Status refused;
        const Time at = node_.now();
        node_.run<OrderEngine>(slot_, at, [&](OrderEngine& e, proto::Effects& out) {
            e.on_clock(wall_offset());
            for (Bytes& body : bodies) {
                // The engine completes each multicast at once (OrderEngine::on_multicast): its
                // completion is read here, not routed to an operation.
                e.on_multicast(0, sender, name, std::move(body), at, out);
                proto::CompleteEffect done = std::move(out.completions.back());
                out.completions.pop_back();
                if (!done.result) {
                    refused = fail(done.result.error());
                    break;
                }
                ++accepted;
            }
        });
        if (accepted == 0) return fail(refused.error());
        return accepted;
    });
}

Result<View> NodeOrderService::view(const std::string& name, Pid member) {
    return node_.on_loop<Result<View>>("order view", [this, name, member]() -> Result<View> {
        std::optional<View> found;
        node_.run<OrderEngine>(slot_, [&](OrderEngine& e, proto::Effects&) {
            if (const View* v = e.installed(name, member)) found = *v;
        });
        if (!found) return fail(Errc::not_found, "no ordering view of group " + name);
        return *found;
    });
}

Result<proto::order::OrderCounters> NodeOrderService::counters() {
    using C = proto::order::OrderCounters;
    return node_.on_loop<Result<C>>("order counters", [this]() -> Result<C> {
        C c;
        node_.run<OrderEngine>(slot_, [&](OrderEngine& e, proto::Effects&) { c = e.counters(); });
        return c;
    });
}

}  // namespace herald::runtime

// NodeOrderService implementation. Layer: runtime.
#include "runtime/node_order_service.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/assert.h"
#include "proto/fields.h"
#include "runtime/spin_waiter.h"

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
    const auto& log = groups_.install_log();
    if (log.empty() || log.back().number == logged_) return;
    syncing_ = true;
    sync_views();
    syncing_ = false;
}

// The group engine's installs since the last sync are the ordering engine's view input
// (docs/ordering.md, "Runtime"): every view and every drop of a deleted group, in the order
// they happened, each group created with its mode first. Every view, not only the last: a view
// installed and passed within one batch of effects (the group server's own node acknowledges
// at once) is one its members were in, and a flush out of it waits for each of them (O30).
void NodeOrderService::sync_views() {
    using Installed = proto::group::GroupEngine::Installed;
    const auto& log = groups_.install_log();
    if (log.front().number > logged_ + 1) {
        // More than install_log_max since the last sync: the views as they are now.
        logged_ = log.back().number;
        sync_installed();
        return;
    }
    std::vector<Installed> events;  // Copied: running engines may install.
    for (const auto& e : log) {
        if (e.number > logged_) events.push_back(e);
    }
    logged_ = log.back().number;
    for (const auto& e : events) {
        if (e.dropped) {
            if (given_.erase(e.group) > 0) forget(e.group);
            continue;
        }
        auto it = given_.find(e.group);
        if (it == given_.end() || it->second < e.view.id) give(e.group, e.view);
    }
}

// The fallback of sync_views: each group's installed view now.
void NodeOrderService::sync_installed() {
    // A group given before whose installed view is now a final one was deleted (G21).
    std::vector<std::string> gone;
    for (const auto& entry : given_) {
        if (groups_.deleted(entry.first)) gone.push_back(entry.first);
    }
    for (const auto& name : gone) {
        given_.erase(name);
        forget(name);
    }
    std::vector<std::pair<std::string, View>> newer;  // Copied: running engines may install.
    for (const auto& [name, view] : groups_.installed_views()) {
        if (groups_.deleted(name)) continue;  // Not given: a group made again starts afresh.
        auto it = given_.find(name);
        if (it == given_.end() || it->second < view.id) newer.emplace_back(name, view);
    }
    for (const auto& [name, view] : newer) give(name, view);
}

void NodeOrderService::give(const std::string& name, const View& view) {
    given_[name] = view.id;
    node_.run<OrderEngine>(slot_, [&](OrderEngine& e, proto::Effects& out) {
        // A mode the engine refuses (another mode for this name: cannot happen, as the mode is
        // fixed at create) leaves the group unordered here; on_view counts it.
        static_cast<void>(e.on_create(name, static_cast<OrderMode>(view.order)));
        e.on_clock(wall_offset());
        e.on_view(name, view, node_.now(), out);
    });
}

void NodeOrderService::forget(const std::string& name) {
    node_.run<OrderEngine>(slot_, [&](OrderEngine& e, proto::Effects&) { e.on_delete(name); });
}

Duration NodeOrderService::wall_offset() const {
    return Duration::nanoseconds(node_.unix_ns() - node_.now().ns());
}

Status NodeOrderService::multicast(const std::string& name, Pid sender, Bytes body) {
    HERALD_TRY(atomic_multicast(name, sender, std::move(body), false));
    return {};
}

// One ordering command's hop to the loop and back: `task()` (returning R, a Result) runs on the
// loop thread while the caller spins, then sleeps, for its value (SpinWaiter).
template <class R, class F>
R NodeOrderService::hop(const char* what, std::chrono::microseconds spin, F&& task) {
    if (node_.in_loop_thread()) {
        return fail(Errc::invalid_argument, std::string(what) + " on the node's loop thread");
    }
    HERALD_TRY(node_.reserve_command());
    // Answers closed when the task is dropped unrun (the loop closed).
    struct Answer {
        std::shared_ptr<SpinWaiter<R>> waiter = std::make_shared<SpinWaiter<R>>();
        bool answered = false;
        Answer() = default;
        Answer(const Answer&) = delete;
        Answer& operator=(const Answer&) = delete;
        ~Answer() {
            if (!answered) waiter->complete(fail(Errc::closed, "node stopped"));
        }
    };
    auto answer = std::make_shared<Answer>();
    const auto waiter = answer->waiter;
    const bool posted = node_.post([this, answer, task = std::forward<F>(task)]() mutable {
        node_.release_command();
        if (!node_.accepting()) return;  // Answer's destructor: closed.
        answer->answered = true;
        answer->waiter->complete(task());
    });
    if (!posted) {
        node_.release_command();
        return fail(Errc::closed, "node stopped");
    }
    answer.reset();  // The loop's copy answers.
    return std::move(*waiter->wait(std::chrono::steady_clock::time_point::max(), spin));
}

Result<std::uint64_t> NodeOrderService::atomic_multicast(const std::string& name, Pid sender,
                                                         Bytes body, bool relay) {
    using R = Result<std::uint64_t>;
    // Spins: the loop answers within microseconds, and a futex wake-up costs more than the
    // whole command on a VM (the paced sender of docs/performance.md "Where one paced
    // message's time goes" was back 45-75 us after the answer).
    return hop<R>("ordered multicast", completion_spin, [this, &name, sender, relay, &body]() -> R {
        // The engine completes a multicast at once (OrderEngine::on_multicast): its completion
        // is read here, not routed to an operation.
        std::optional<proto::CompleteEffect> done;
        const Time at = node_.now();
        node_.run<OrderEngine>(slot_, at, [&](OrderEngine& e, proto::Effects& out) {
            e.on_clock(wall_offset());
            e.on_multicast(0, sender, name, std::move(body), at, out, relay);
            HERALD_ASSERT(!out.completions.empty());
            done = std::move(out.completions.back());
            out.completions.pop_back();
        });
        if (!done->result) return fail(done->result.error());
        std::uint64_t id = 0;
        std::size_t offset = 0;
        if (!proto::get_u64(*done->result, offset, id)) {
            return fail(Errc::malformed, "ordered view id");
        }
        return id;
    });
}

Result<std::size_t> NodeOrderService::multicast_many(const std::string& name, Pid sender,
                                                     std::vector<Bytes> bodies) {
    using R = Result<std::size_t>;
    // Sleeps at once: a sender with batches to hand over keeps the cores busy, and a spinning
    // caller takes the one a loop thread needs (herald-bench mcast rows, 3 members: 10-25%
    // fewer msgs/s with the spin; docs/performance.md).
    return hop<R>("ordered multicast", std::chrono::microseconds(0), [&]() -> R {
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

// NodeGroupService implementation. Layer: runtime.
#include "runtime/node_group_service.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "runtime/embedded_groups.h"

namespace herald::runtime {

using proto::group::GroupEngine;
using proto::group::Responders;
using proto::group::View;

NodeGroupService::NodeGroupService(NodeContext& node, const proto::group::GroupOptions& options)
    : node_(node), options_(options) {}

Result<std::unique_ptr<NodeGroupService>> NodeGroupService::host(
    NodeContext& node, proto::EngineSet& engines, const proto::EngineContext& context,
    const NodeConfig& config) {
    if (!config.group_enabled) return std::unique_ptr<NodeGroupService>{};
    auto options = config.group;
    if (config.coordination_etcd) {  // No server: views come from etcd (C12).
        options.coordinated = true;
        options.server = NodeId{};
        auto service = std::make_unique<NodeGroupService>(node, options);
        service->slot_ = engines.add(std::make_unique<GroupEngine>(context, service->options_));
        auto* s = service.get();
        HERALD_TRY(auto etcd, coord::EtcdGroups::open(
                                  node, config, context.incarnation,
                                  [s](const std::string& name, const std::optional<View>& view,
                                      bool fresh) { s->apply(name, view, fresh); }));
        service->etcd_ = etcd.get();
        service->backend_ = std::move(etcd);
        return service;
    }
    if (config.group_server) options.server = context.self;
    if (!options.server.known() && config.group_server_url.empty()) {
        return fail(Errc::invalid_argument, "neither group.server nor group_server_url is set");
    }
    if (options.server == context.self && config.data_dir.empty()) {
        return fail(Errc::invalid_argument, "the group server needs data_dir (G5)");
    }
    auto service = std::make_unique<NodeGroupService>(node, options);
    service->server_url_ = config.group_server_url;
    service->server_ = options.server.value;
    service->slot_ = engines.add(std::make_unique<GroupEngine>(context, service->options_));
    service->backend_ = std::make_unique<EmbeddedGroups>(node, service->slot_);
    return service;
}

Result<View> NodeGroupService::create(const std::string& name, bool closed, Pid requester,
                                      std::uint8_t order,
                                      const proto::group::GroupAddress& address) {
    return backend_->create(name, closed, requester, order, address);
}

Result<View> NodeGroupService::join_group(const std::string& name, Pid member) {
    auto view = backend_->join(name, member);
    if (view || view.error().code == Errc::timeout) {  // timeout: it may have joined.
        std::lock_guard lock(joined_mutex_);
        joined_[member].insert(name);
    }
    return view;
}

Result<View> NodeGroupService::leave_group(const std::string& name, Pid member) {
    auto view = backend_->leave(name, member);
    if (view || view.error().code == Errc::not_found) forget(member, name);
    return view;
}

Status NodeGroupService::delete_group(const std::string& name, Pid requester) {
    HERALD_TRY(backend_->remove(name, requester));
    std::lock_guard lock(joined_mutex_);
    for (auto it = joined_.begin(); it != joined_.end();) {
        it->second.erase(name);
        it = it->second.empty() ? joined_.erase(it) : std::next(it);
    }
    return {};
}

bool NodeGroupService::joined(Pid member, const std::string& name) {
    std::lock_guard lock(joined_mutex_);
    auto it = joined_.find(member);
    return it != joined_.end() && it->second.contains(name);
}

void NodeGroupService::forget(Pid member, const std::string& name) {
    std::lock_guard lock(joined_mutex_);
    auto it = joined_.find(member);
    if (it == joined_.end()) return;
    it->second.erase(name);
    if (it->second.empty()) joined_.erase(it);
}

void NodeGroupService::on_process_exited(Pid pid, Time now) {
    std::set<std::string> names;
    {
        std::lock_guard lock(joined_mutex_);
        auto it = joined_.find(pid);
        if (it == joined_.end()) return;
        names = std::move(it->second);
        joined_.erase(it);
    }
    if (!node_.accepting()) return;  // Draining or stopped: the failure detector removes it.
    for (const auto& name : names) backend_->leave_later(name, pid, now);
}

Result<Responders> NodeGroupService::multicast(const std::string& name, Pid sender, Bytes body,
                                               std::uint32_t reliability, Duration timeout,
                                               Pid reply_to) {
    multicasts_.fetch_add(1, std::memory_order_relaxed);
    HERALD_TRY(auto bytes, node_.run_blocking<GroupEngine>(slot_, [=, body = std::move(body)](
                                                                      GroupEngine& e, auto op,
                                                                      Time now, auto& out) mutable {
        e.on_multicast(op, sender, name, std::move(body), reliability, timeout, now, out, reply_to);
    }));
    auto r = proto::group::decode_responders(bytes);
    if (!r) return fail(Errc::malformed, "group responders");
    return *r;
}

Result<View> NodeGroupService::known_view(const std::string& name) {
    return backend_->known(name);
}

Result<View> NodeGroupService::view(const std::string& name, Pid requester) {
    return backend_->view(name, requester);
}

Result<std::vector<std::string>> NodeGroupService::server_groups() {
    return backend_->list();
}

Status NodeGroupService::set_server(NodeId server) {
    if (etcd_) return fail(Errc::invalid_argument, "groups are on etcd: there is no group server");
    if (!server.known()) return fail(Errc::invalid_argument, "unknown group server id");
    return node_.on_loop<Status>("group set_server", [this, server]() -> Status {
        options_.server = server;  // The engine reads it by reference, on this thread.
        server_ = server.value;
        return {};
    });
}

Result<proto::group::GroupCounters> NodeGroupService::counters() {
    using C = proto::group::GroupCounters;
    return node_.on_loop<Result<C>>("group counters", [this]() -> Result<C> {
        C c;
        node_.run<GroupEngine>(slot_, [&](GroupEngine& e, proto::Effects&) { c = e.counters(); });
        return c;
    });
}

coord::EtcdGroups::Counters NodeGroupService::etcd_counters() const {
    if (!etcd_) return {};
    auto c = etcd_->counters();
    return c ? *c : coord::EtcdGroups::Counters{};
}

void NodeGroupService::shutdown() {
    backend_->shutdown();
}

void NodeGroupService::join() {
    backend_->join_threads();
}

void NodeGroupService::apply(const std::string& name, const std::optional<View>& view, bool fresh) {
    node_.run<GroupEngine>(slot_, [&](GroupEngine& e, proto::Effects& out) {
        if (view) {
            e.on_coordinated_view(name, *view, fresh, out);
        } else {
            e.on_coordinated_delete(name, out);
        }
    });
}

}  // namespace herald::runtime

// NodeGroupService implementation. Layer: runtime.
#include "runtime/node_group_service.h"

#include <algorithm>
#include <optional>
#include <utility>

namespace herald::runtime {

using proto::group::GroupEngine;
using proto::group::Responders;
using proto::group::View;

namespace {

Result<View> as_view(Result<Bytes> r) {
    if (!r) return fail(r.error());
    auto v = proto::group::decode_view(*r);
    if (!v) return fail(Errc::malformed, "group view");
    return *v;
}

}  // namespace

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
        HERALD_TRY(service->etcd_, coord::EtcdGroups::open(
                                       node, config, context.incarnation,
                                       [s](const std::string& name, const std::optional<View>& view,
                                           bool fresh) { s->apply(name, view, fresh); }));
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
    return service;
}

Result<View> NodeGroupService::create(const std::string& name, bool closed, Pid requester,
                                      std::uint8_t order,
                                      const proto::group::GroupAddress& address) {
    if (etcd_) {
        HERALD_TRY(check_local(requester));
        if (order == 0 || order > proto::group::order_max) {
            return fail(Errc::invalid_argument, "group order mode");
        }
        Bytes encoded;  // The engine's check (G22): a group with a port, or all zero.
        proto::group::put_group_address(encoded, address);
        proto::group::GroupAddress checked;
        std::size_t offset = 0;
        if (!proto::group::get_group_address(encoded, offset, checked, false) ||
            checked != address) {
            return fail(Errc::invalid_argument,
                        "group address: not an IP multicast group and port");
        }
        return etcd_->create(name, closed, order, address);
    }
    return as_view(
        node_.run_blocking<GroupEngine>(slot_, [=](GroupEngine& e, auto op, Time now, auto& out) {
            e.on_create(op, requester, name, closed, order, address, now, out);
        }));
}

Result<View> NodeGroupService::join_group(const std::string& name, Pid member) {
    if (etcd_) HERALD_TRY(check_local(member));
    auto view = etcd_ ? etcd_->join(name, member)
                      : as_view(node_.run_blocking<GroupEngine>(
                            slot_, [=](GroupEngine& e, auto op, Time now, auto& out) {
                                e.on_join(op, member, name, now, out);
                            }));
    if (view || view.error().code == Errc::timeout) {  // timeout: it may have joined.
        std::lock_guard lock(joined_mutex_);
        joined_[member].insert(name);
    }
    return view;
}

Result<View> NodeGroupService::leave_group(const std::string& name, Pid member) {
    if (etcd_) HERALD_TRY(check_local(member));
    auto view = etcd_ ? etcd_->leave(name, member)
                      : as_view(node_.run_blocking<GroupEngine>(
                            slot_, [=](GroupEngine& e, auto op, Time now, auto& out) {
                                e.on_leave(op, member, name, now, out);
                            }));
    if (view || view.error().code == Errc::not_found) forget(member, name);
    return view;
}

Status NodeGroupService::delete_group(const std::string& name, Pid requester) {
    if (etcd_) {
        HERALD_TRY(check_local(requester));
        HERALD_TRY(etcd_->remove(name));
    } else {
        HERALD_TRY(node_.run_blocking<GroupEngine>(
            slot_, [=](GroupEngine& e, auto op, Time now, auto& out) {
                e.on_delete(op, requester, name, now, out);
            }));
    }
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
    for (const auto& name : names) {
        if (etcd_) {
            etcd_->leave_later(name, pid);
            continue;
        }
        const auto op = node_.begin_operation([](Result<Bytes>) {});  // Nobody waits.
        node_.run<GroupEngine>(slot_, [&](GroupEngine& e, proto::Effects& out) {
            e.on_leave(op, pid, name, now, out);
        });
    }
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
    if (etcd_) return etcd_->known(name);
    return node_.on_loop<Result<View>>("group view", [this, name]() -> Result<View> {
        std::optional<View> found;
        const NodeId self = node_.id();
        node_.run<GroupEngine>(slot_, [&](GroupEngine& e, proto::Effects&) {
            const View* v = e.is_server() ? e.server_view(name) : nullptr;
            // An installed view is kept up to date only while this node hosts members of it
            // (G9): once they all left, it goes stale.
            const View* mine = e.installed(name);
            const auto local = [self](const proto::group::Member& m) { return m.pid.node == self; };
            if (v == nullptr && mine != nullptr &&
                std::any_of(mine->members.begin(), mine->members.end(), local)) {
                v = mine;
            }
            if (v != nullptr) found = *v;
        });
        if (!found) return fail(Errc::not_found, "no view of group " + name + " here");
        return *found;
    });
}

Result<View> NodeGroupService::view(const std::string& name, Pid requester) {
    if (etcd_) return etcd_->view(name, requester);
    auto known = known_view(name);
    if (known || known.error().code != Errc::not_found) return known;
    return as_view(
        node_.run_blocking<GroupEngine>(slot_, [=](GroupEngine& e, auto op, Time now, auto& out) {
            e.on_lookup(op, requester, name, now, out);
        }));
}

Result<std::vector<std::string>> NodeGroupService::server_groups() {
    if (etcd_) return etcd_->list();
    using Names = std::vector<std::string>;
    return node_.on_loop<Result<Names>>("group list", [this]() -> Result<Names> {
        Names names;
        node_.run<GroupEngine>(slot_, [&](GroupEngine& e, proto::Effects&) {
            if (e.is_server()) names = e.server_groups();
        });
        return names;
    });
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
    if (etcd_) etcd_->shutdown();
}

void NodeGroupService::join() {
    if (etcd_) etcd_->join_threads();
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

Status NodeGroupService::check_local(Pid pid) const {
    if (pid.node != node_.id() || !pid.valid()) {
        return fail(Errc::invalid_argument, "group request for a pid not of this node");
    }
    return {};
}

}  // namespace herald::runtime

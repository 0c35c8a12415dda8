// NodeGroupService implementation. Layer: runtime.
#include "runtime/node_group_service.h"

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
    if (!config.group.server.known()) {
        return fail(Errc::invalid_argument, "group.server is not set");
    }
    if (config.group.server == context.self && config.data_dir.empty()) {
        return fail(Errc::invalid_argument, "the group server needs data_dir (G5)");
    }
    auto service = std::make_unique<NodeGroupService>(node, config.group);
    service->slot_ = engines.add(std::make_unique<GroupEngine>(context, service->options_));
    return service;
}

Result<View> NodeGroupService::create(const std::string& name, bool closed, Pid requester) {
    return as_view(
        node_.run_blocking<GroupEngine>(slot_, [=](GroupEngine& e, auto op, Time now, auto& out) {
            e.on_create(op, requester, name, closed, now, out);
        }));
}

Result<View> NodeGroupService::join_group(const std::string& name, Pid member) {
    return as_view(
        node_.run_blocking<GroupEngine>(slot_, [=](GroupEngine& e, auto op, Time now, auto& out) {
            e.on_join(op, member, name, now, out);
        }));
}

Result<View> NodeGroupService::leave_group(const std::string& name, Pid member) {
    return as_view(
        node_.run_blocking<GroupEngine>(slot_, [=](GroupEngine& e, auto op, Time now, auto& out) {
            e.on_leave(op, member, name, now, out);
        }));
}

Result<Responders> NodeGroupService::multicast(const std::string& name, Pid sender, Bytes body,
                                               std::uint32_t reliability, Duration timeout) {
    HERALD_TRY(auto bytes, node_.run_blocking<GroupEngine>(slot_, [=, body = std::move(body)](
                                                                      GroupEngine& e, auto op,
                                                                      Time now, auto& out) mutable {
        e.on_multicast(op, sender, name, std::move(body), reliability, timeout, now, out);
    }));
    auto r = proto::group::decode_responders(bytes);
    if (!r) return fail(Errc::malformed, "group responders");
    return *r;
}

Result<proto::group::GroupCounters> NodeGroupService::counters() {
    using C = proto::group::GroupCounters;
    return node_.on_loop<Result<C>>("group counters", [this]() -> Result<C> {
        C c;
        node_.run<GroupEngine>(slot_, [&](GroupEngine& e, proto::Effects&) { c = e.counters(); });
        return c;
    });
}

}  // namespace herald::runtime

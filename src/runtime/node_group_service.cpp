// NodeGroupService implementation. Layer: runtime.
#include "runtime/node_group_service.h"

#include <future>
#include <utility>

namespace herald::runtime {

using proto::group::GroupEngine;
using proto::group::Responders;
using proto::group::View;

namespace {

// The answer of one command; closed when the completion is dropped unrun (the node stopped).
struct Answer {
    std::promise<Result<Bytes>> promise;
    bool answered = false;
    void set(Result<Bytes> value) {
        answered = true;
        promise.set_value(std::move(value));
    }
    ~Answer() {
        if (!answered) promise.set_value(fail(Errc::closed, "node stopped"));
    }
};

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

template <class F>
Result<Bytes> NodeGroupService::run_blocking(F&& start) {
    if (node_.in_loop_thread()) return fail(Errc::invalid_argument, "on the node's loop thread");
    HERALD_TRY(node_.reserve_command());
    auto answer = std::make_shared<Answer>();
    auto future = answer->promise.get_future();
    const bool posted = node_.post([this, answer, start = std::forward<F>(start)]() mutable {
        node_.release_command();
        if (!node_.accepting()) return answer->set(fail(Errc::closed, "node stopped"));
        const auto op = node_.begin_operation(
            [answer](Result<Bytes> result) { answer->set(std::move(result)); });
        const Time now = node_.now();
        node_.run<GroupEngine>(
            slot_, [&](GroupEngine& engine, proto::Effects& out) { start(engine, op, now, out); });
    });
    if (!posted) {
        node_.release_command();
        return fail(Errc::closed, "node stopped");
    }
    answer.reset();  // The loop's copy answers, or drops it: closed.
    return future.get();
}

Result<View> NodeGroupService::create(const std::string& name, bool closed, Pid requester) {
    return as_view(run_blocking([=](GroupEngine& e, auto op, Time now, auto& out) {
        e.on_create(op, requester, name, closed, now, out);
    }));
}

Result<View> NodeGroupService::join_group(const std::string& name, Pid member) {
    return as_view(run_blocking([=](GroupEngine& e, auto op, Time now, auto& out) {
        e.on_join(op, member, name, now, out);
    }));
}

Result<View> NodeGroupService::leave_group(const std::string& name, Pid member) {
    return as_view(run_blocking([=](GroupEngine& e, auto op, Time now, auto& out) {
        e.on_leave(op, member, name, now, out);
    }));
}

Result<Responders> NodeGroupService::multicast(const std::string& name, Pid sender, Bytes body,
                                               std::uint32_t reliability, Duration timeout) {
    HERALD_TRY(auto bytes, run_blocking([=, body = std::move(body)](GroupEngine& e, auto op,
                                                                    Time now, auto& out) mutable {
                   e.on_multicast(op, sender, name, std::move(body), reliability, timeout, now,
                                  out);
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

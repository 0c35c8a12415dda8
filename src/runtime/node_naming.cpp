// NodeNaming implementation. Layer: runtime.
#include "runtime/node_naming.h"

#include <future>
#include <utility>

#include "wire/body.h"

namespace herald::runtime {

using proto::naming::NameEntry;
using proto::naming::NamingEngine;

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

Status as_status(const Result<Bytes>& r) {
    if (!r) return fail(r.error());
    return {};
}

}  // namespace

NodeNaming::NodeNaming(NodeContext& node, const proto::naming::NamingOptions& options)
    : node_(node), options_(options) {}

Result<std::unique_ptr<NodeNaming>> NodeNaming::host(NodeContext& node, proto::EngineSet& engines,
                                                     const proto::EngineContext& context,
                                                     const NodeConfig& config) {
    if (config.naming.server && config.data_dir.empty()) {
        return fail(Errc::invalid_argument, "the name server role needs data_dir (rule 6)");
    }
    auto service = std::make_unique<NodeNaming>(node, config.naming);
    if (service->options_.server && !service->options_.server_node.known()) {
        service->options_.server_node = context.self;
    }
    service->slot_ = engines.add(service->make_engine(context));
    return service;
}

std::unique_ptr<proto::Engine> NodeNaming::make_engine(const proto::EngineContext& context) {
    return std::make_unique<NamingEngine>(context, options_);
}

template <class F>
Result<Bytes> NodeNaming::run_blocking(F&& start) {
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
        node_.run<NamingEngine>(
            slot_, [&](NamingEngine& engine, proto::Effects& out) { start(engine, op, now, out); });
    });
    if (!posted) {
        node_.release_command();
        return fail(Errc::closed, "node stopped");
    }
    answer.reset();  // The loop's copy answers, or drops it: closed.
    return future.get();
}

Status NodeNaming::register_name(const std::string& name, Pid owner, Duration lease) {
    return as_status(run_blocking([=](NamingEngine& e, auto op, Time now, auto& out) {
        e.on_register(op, name, owner, lease, now, out);
    }));
}

Result<NameEntry> NodeNaming::lookup(const std::string& name) {
    HERALD_TRY(auto bytes, run_blocking([=](NamingEngine& e, auto op, Time now, auto& out) {
                   e.on_lookup(op, name, now, out);
               }));
    return wire::unpack<NameEntry>(bytes);
}

Status NodeNaming::unregister(const std::string& name, Pid owner) {
    return as_status(run_blocking([=](NamingEngine& e, auto op, Time now, auto& out) {
        e.on_unregister(op, name, owner, now, out);
    }));
}

Result<std::vector<NameEntry>> NodeNaming::list(const std::string& prefix) {
    HERALD_TRY(auto bytes, run_blocking([=](NamingEngine& e, auto op, Time now, auto& out) {
                   e.on_list(op, prefix, now, out);
               }));
    return wire::unpack<std::vector<NameEntry>>(bytes);
}

Status NodeNaming::invalidate(const std::string& name) {
    return node_.on_loop<Status>("naming invalidate", [this, name]() -> Status {
        node_.run<NamingEngine>(slot_,
                                [&](NamingEngine& e, proto::Effects&) { e.invalidate(name); });
        return {};
    });
}

Result<NodeNaming::Counters> NodeNaming::counters() {
    return node_.on_loop<Result<Counters>>("naming counters", [this]() -> Result<Counters> {
        Counters c;
        node_.run<NamingEngine>(slot_, [&](NamingEngine& e, proto::Effects&) {
            c.naming = e.counters();
            c.totals = e.totals();
            c.names = e.names();
        });
        return c;
    });
}

}  // namespace herald::runtime

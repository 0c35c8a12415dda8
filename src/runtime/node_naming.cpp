// NodeNaming implementation. Layer: runtime.
#include "runtime/node_naming.h"

#include <utility>

#include "wire/body.h"

namespace herald::runtime {

using proto::naming::NameEntry;
using proto::naming::NamingEngine;

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
    service->server_url_ = config.naming_server_url;
    service->server_ = service->options_.server_node.value;
    service->slot_ = engines.add(service->make_engine(context));
    return service;
}

std::unique_ptr<proto::Engine> NodeNaming::make_engine(const proto::EngineContext& context) {
    return std::make_unique<NamingEngine>(context, options_);
}

Status NodeNaming::register_name(const std::string& name, Pid owner, Duration lease) {
    return as_status(
        node_.run_blocking<NamingEngine>(slot_, [=](NamingEngine& e, auto op, Time now, auto& out) {
            e.on_register(op, name, owner, lease, now, out);
        }));
}

Status NodeNaming::hold(const std::string& name, Pid owner, Duration lease) {
    return as_status(
        node_.run_blocking<NamingEngine>(slot_, [=](NamingEngine& e, auto op, Time now, auto& out) {
            e.on_hold(op, name, owner, lease, now, out);
        }));
}

Status NodeNaming::register_for(const std::string& name, Pid owner, Duration lease) {
    return as_status(node_.run_blocking<NamingEngine>(
        slot_, [=, this](NamingEngine& e, auto op, Time now, auto& out) {
            if (owner.node == node_.id() && node_.has_process(owner)) {
                e.on_hold(op, name, owner, lease, now, out);
            } else {
                e.on_register(op, name, owner, lease, now, out);
            }
        }));
}

Status NodeNaming::set_server(NodeId server) {
    if (!server.known()) return fail(Errc::invalid_argument, "unknown name server id");
    return node_.on_loop<Status>("naming set_server", [this, server]() -> Status {
        options_.server_node = server;  // The engine reads it by reference, on this thread.
        server_ = server.value;
        return {};
    });
}

Result<NameEntry> NodeNaming::lookup(const std::string& name) {
    HERALD_TRY(auto bytes, node_.run_blocking<NamingEngine>(
                               slot_, [=](NamingEngine& e, auto op, Time now, auto& out) {
                                   e.on_lookup(op, name, now, out);
                               }));
    return wire::unpack<NameEntry>(bytes);
}

Status NodeNaming::unregister(const std::string& name, Pid owner) {
    return as_status(
        node_.run_blocking<NamingEngine>(slot_, [=](NamingEngine& e, auto op, Time now, auto& out) {
            e.on_unregister(op, name, owner, now, out);
        }));
}

Result<std::vector<NameEntry>> NodeNaming::list(const std::string& prefix) {
    HERALD_TRY(auto bytes, node_.run_blocking<NamingEngine>(
                               slot_, [=](NamingEngine& e, auto op, Time now, auto& out) {
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
            c.held = e.held();
        });
        c.retries = retries_.load(std::memory_order_relaxed);
        return c;
    });
}

}  // namespace herald::runtime

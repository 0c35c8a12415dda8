// Engine factories of the simulator. Layer: sim.
#include "sim/engines.h"

#include "proto/direct/direct_engine.h"
#include "proto/group/group_engine.h"
#include "proto/mailbox/mailbox_engine.h"
#include "proto/naming/naming_engine.h"
#include "proto/order/order_engine.h"
#include "proto/rpc/rpc_engine.h"

namespace herald::sim {

EngineFactory direct_engine(const proto::direct::DirectOptions& options) {
    return [options](const proto::EngineContext& context) -> std::unique_ptr<proto::Engine> {
        return std::make_unique<proto::direct::DirectEngine>(context, options);
    };
}

EngineFactory rpc_engine(const proto::rpc::RpcOptions& options) {
    // Shared by every engine the factory makes; it outlives them (the factory is kept by the
    // node for its whole life).
    auto kept = std::make_shared<const proto::rpc::RpcOptions>(options);
    return [kept](const proto::EngineContext& context) -> std::unique_ptr<proto::Engine> {
        return std::make_unique<proto::rpc::RpcEngine>(context, *kept);
    };
}

EngineFactory naming_engine(const proto::naming::NamingOptions& options) {
    auto server = std::make_shared<proto::naming::NamingOptions>(options);
    auto client = std::make_shared<proto::naming::NamingOptions>(options);
    server->server = true;
    client->server = false;
    return [server, client](const proto::EngineContext& context) -> std::unique_ptr<proto::Engine> {
        const bool is_server = context.self == server->server_node;
        return std::make_unique<proto::naming::NamingEngine>(context,
                                                             is_server ? *server : *client);
    };
}

EngineFactory mailbox_engine(const proto::mailbox::MailboxOptions& options) {
    auto kept = std::make_shared<const proto::mailbox::MailboxOptions>(options);
    return [kept](const proto::EngineContext& context) -> std::unique_ptr<proto::Engine> {
        return std::make_unique<proto::mailbox::MailboxEngine>(context, *kept);
    };
}

EngineFactory group_engine(const proto::group::GroupOptions& options) {
    auto kept = std::make_shared<const proto::group::GroupOptions>(options);
    return [kept](const proto::EngineContext& context) -> std::unique_ptr<proto::Engine> {
        return std::make_unique<proto::group::GroupEngine>(context, *kept);
    };
}

EngineFactory order_engine(const proto::order::OrderOptions& options) {
    auto kept = std::make_shared<const proto::order::OrderOptions>(options);
    return [kept](const proto::EngineContext& context) -> std::unique_ptr<proto::Engine> {
        return std::make_unique<proto::order::OrderEngine>(context, *kept);
    };
}

}  // namespace herald::sim

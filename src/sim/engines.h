// How the simulator makes the engines a SimNode hosts: a factory per protocol, called at every
// start of a node with that incarnation's EngineContext. The engines themselves are the real
// proto::Engine classes, hosted through proto::EngineSet as the runtime hosts them.
// Layer: sim.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/bytes.h"
#include "proto/direct/direct_options.h"
#include "proto/engine.h"
#include "proto/group/group_options.h"
#include "proto/mailbox/mailbox_options.h"
#include "proto/naming/naming_engine.h"
#include "proto/order/order_options.h"
#include "proto/rpc/rpc_options.h"

namespace herald::sim {

// A node's disk: survives crashes unless the scenario wipes it.
using DurableStore = std::map<std::string, Bytes, std::less<>>;

// Counters every engine reports; summed over incarnations for the run summary.
using EngineStats = proto::EngineCounters;

using EngineFactory =
    std::function<std::unique_ptr<proto::Engine>(const proto::EngineContext& context)>;

// The direct engine with fixed options.
[[nodiscard]] EngineFactory direct_engine(const proto::direct::DirectOptions& options);
// The RPC engine with fixed options (copied into the factory; each engine keeps its own copy,
// since it holds a reference to them).
[[nodiscard]] EngineFactory rpc_engine(const proto::rpc::RpcOptions& options);
// The mailbox engine with fixed options (kept, as for the RPC engine).
[[nodiscard]] EngineFactory mailbox_engine(const proto::mailbox::MailboxOptions& options);
// The naming engine: the node `options.server_node` hosts the server role, every node the
// client role (options.server is set per node).
[[nodiscard]] EngineFactory naming_engine(const proto::naming::NamingOptions& options);
// The group engine with fixed options (kept, as for the RPC engine).
[[nodiscard]] EngineFactory group_engine(const proto::group::GroupOptions& options);
// The ordering engine with fixed options (kept, as for the RPC engine).
[[nodiscard]] EngineFactory order_engine(const proto::order::OrderOptions& options);

}  // namespace herald::sim

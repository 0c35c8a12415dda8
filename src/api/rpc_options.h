// Mapping of the public RPC options (herald/rpc.h) onto the runtime's, shared by node.cpp and
// rpc.cpp. Layer: api (internal header).
#pragma once

#include "herald/rpc.h"
#include "runtime/node_rpc_options.h"

namespace herald::api {

// The node-wide RPC options as the runtime takes them; invalid values are refused by
// runtime::Node::start (Errc::invalid_argument).
[[nodiscard]] runtime::RpcConfig to_rpc_config(const RpcNodeOptions& options);

}  // namespace herald::api

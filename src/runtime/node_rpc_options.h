// Options and counters of a Node's RPC hosting (NodeRpc): the RPC engine's options, the handler
// threads and the durable store's sync mode. Layer: runtime. NodeConfig::rpc holds the options,
// Node::Counters::rpc the counters.
#pragma once

#include <cstdint>

#include "proto/rpc/rpc_options.h"
#include "proto/rpc/rpc_state.h"
#include "store/store.h"

namespace herald::runtime {

struct RpcConfig {
    // engine.durable (the exactly-once reply cache survives a crash) needs NodeConfig::data_dir.
    proto::rpc::RpcOptions engine;
    // Threads that run handlers (1..256). The handlers of one node share them; requests beyond
    // them wait in the pool's queue, which holds at most engine.executions_max jobs.
    std::uint32_t handler_threads = 4;
    // How hard each commit of the store waits for the disk (store::Sync).
    store::Sync sync = store::Sync::full;
    // For this long after the node starts, a request for a well-known pid (local id < 2^32)
    // that does not serve the operation yet is dropped instead of refused: the processes of a
    // restarted server are still being spawned, and the caller's retransmission finds them.
    Duration startup_grace = Duration::seconds(2);
};

struct NodeRpcCounters {
    proto::rpc::RpcCounters engine;
    std::uint64_t store_commits = 0, store_writes = 0;
    std::uint64_t store_errors = 0;        // Failed commits (their calls never complete).
    std::uint64_t durable_pending = 0;     // Store batches not yet committed.
    std::uint64_t handler_exceptions = 0;  // Handlers that threw (reported application_error).
    std::uint64_t handlers_waiting = 0;    // Executions held back by ServeConfig::concurrency.
    std::uint64_t unreachable_calls = 0;   // Calls refused: no address known for the server.
    std::uint64_t startup_dropped = 0;     // Requests dropped during the startup grace.
};

}  // namespace herald::runtime

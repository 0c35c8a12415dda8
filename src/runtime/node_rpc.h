// NodeRpc: how a Node hosts the RPC engine (proto::rpc::RpcEngine) next to the direct engine.
// rpc_* packets and the engine's timers reach it through the Node's dispatch; its `execute`
// effects run the server process's handler on a HandlerPool (never on the loop thread), whose
// result comes back through the loop (on_result); its `persist` effects go to the node's
// store (StoreWriter, in NodeConfig::data_dir), then on_durable; at start the reply cache is
// restored from the store (on_restore). Calls complete their callbacks on the loop thread.
// Layer: runtime. The public API (include/herald/rpc.h) wraps it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"
#include "proto/effects.h"
#include "proto/rpc/rpc_engine.h"
#include "runtime/handler_pool.h"
#include "runtime/node.h"
#include "runtime/node_rpc_options.h"
#include "runtime/store_writer.h"

namespace herald::runtime {

// What a handler gets: who calls, which operation of which server, and the request body.
struct RpcRequest {
    Pid client;
    Pid server;
    std::string operation;
    Bytes body;
};

// Durable state changes of one handler run, committed atomically with its reply.
using RpcWrites = std::vector<proto::rpc::HandlerWrite>;

// Runs on a handler thread. Returns the response or an error (the caller sees
// application_error with the error's text). May append durable writes (only when served with
// ServeConfig::writes). Must not throw; an exception is turned into application_error.
using RpcHandler = std::function<Result<Bytes>(const RpcRequest&, RpcWrites&)>;
using CallCallback = std::function<void(Result<Bytes>)>;

struct ServeConfig {
    bool idempotent = false;        // At-least-once service even when exactly-once is asked for.
    std::uint32_t concurrency = 0;  // Runs of this operation at once; 0: as many as threads.
    bool writes = false;            // The handler makes durable writes (needs data_dir).
};

struct CallConfig {
    proto::rpc::CallOptions options;     // Its deadline is ignored: see timeout.
    Duration timeout = Duration::max();  // From the call; Errc::timeout after it.
};

class NodeRpc {
public:
    // Creates the engine, opens the store when config.data_dir is set (restoring the reply
    // cache), starts the handler threads and registers the rpc_* packet kinds with `node`.
    // Called by Node::open before the loop thread starts.
    // Errc::invalid_argument: engine.durable without data_dir, handler_threads not in 1..256,
    // executions_max 0. Errc::storage_error / io_error: the store cannot be opened or read.
    [[nodiscard]] static Result<std::unique_ptr<NodeRpc>> open(Node& node,
                                                               const NodeConfig& config);
    NodeRpc(Node& node, const NodeConfig& config);
    ~NodeRpc();
    NodeRpc(const NodeRpc&) = delete;
    NodeRpc& operator=(const NodeRpc&) = delete;

    // --- Application threads (any thread but the loop; calls into handlers are allowed) ---

    // Local process `server` serves `operation` with `handler`. Blocks for one loop round trip.
    // Errc::invalid_argument (bad pid, operation empty or over 255 bytes, writes without
    // data_dir, called on the loop thread), already_exists (already served by that process),
    // no_such_process (not a live process of this node), closed (the node stopped).
    [[nodiscard]] Status serve(Pid server, std::string operation, RpcHandler handler,
                               const ServeConfig& config);

    // Calls `operation` of `server` from local process `client`; `done` runs once on the loop
    // thread (it must not block). Returns an error without running `done` when the call cannot
    // start: invalid_argument (bad pid or operation), too_large, queue_full (commands_max
    // commands queued to the loop), closed. Later errors reach `done`: those of
    // RpcEngine::on_call, and unreachable (no address known for the server's node), closed.
    [[nodiscard]] Status call_async(Pid client, Pid server, std::string operation, Bytes request,
                                    const CallConfig& config, CallCallback done);
    // Blocking form of call_async. Errc::invalid_argument when called on the loop thread.
    [[nodiscard]] Result<Bytes> call(Pid client, Pid server, std::string operation, Bytes request,
                                     const CallConfig& config);

    // The durable records under `prefix` (reply-cache records under "rpc/" are left out).
    // Blocks. Errc::invalid_argument (no data_dir), storage_error, closed.
    [[nodiscard]] Result<std::vector<store::Record>> read_state(std::string prefix);

    // Before process `server` exits: its queued handler runs are skipped, and this waits for
    // its running ones to return (except the caller's own, when a handler of it calls this).
    // Returns at once for a process that never served. On the loop thread it does not wait.
    void unserve_and_wait(Pid server);

    // --- Node hooks (loop thread) ---

    // Completions, executions and durable writes of the engine's last input.
    void apply(proto::Effects& effects, Time now);
    [[nodiscard]] bool owns(const Node::EngineSlot& slot) const { return &slot == slot_.get(); }
    void on_wake(Time now);
    [[nodiscard]] std::optional<Time> earliest() const;
    void on_exit(Pid pid, Time now);
    // No call outstanding, no handler running, nothing waiting for the disk.
    [[nodiscard]] bool drained() const;
    // Fails outstanding calls with Errc::closed, drops queued handler runs, stops the store
    // after it committed what is queued.
    void shutdown();
    // Any thread but a handler's and the loop's: waits for handler and store threads to end.
    void join();
    [[nodiscard]] NodeRpcCounters counters() const;

private:
    struct Served;
    struct ServerState;
    struct Host;
    using ServedKey = std::pair<Pid, std::string>;

    void on_packet(NodeId from, const wire::Packet& packet, Time now, proto::Effects& out);
    [[nodiscard]] bool too_early(const wire::Packet& packet, Time now) const;
    void start_serve(Pid server, std::string operation, RpcHandler handler,
                     const ServeConfig& config, std::promise<Status>& done);
    void start_call(Pid client, Pid server, std::string operation, Bytes request,
                    const proto::rpc::CallOptions& options, CallCallback done);
    void execute(proto::ExecuteEffect execution);
    void launch(const ServedKey& key, Served& served, proto::ExecuteEffect execution);
    void run_handler(ServerState& state, const RpcHandler& handler, bool writes_allowed,
                     const ServedKey& key, proto::ExecuteEffect execution);
    void on_handler_done(const ServedKey& key, std::uint64_t execution, Result<Bytes> result,
                         RpcWrites writes);
    void persist(std::vector<proto::PersistEffect>& persists);
    void on_committed(const std::vector<std::uint64_t>& tokens, const Status& status);
    void feed_result(std::uint64_t execution, Result<Bytes> result, RpcWrites writes);
    void check_drained();

    Node& node_;
    RpcConfig config_;  // The engine keeps a reference to config_.engine: declared before it.
    std::unique_ptr<proto::rpc::RpcEngine> engine_;
    std::unique_ptr<Host> host_;
    std::unique_ptr<Node::EngineSlot> slot_;
    std::unique_ptr<HandlerPool> pool_;
    std::unique_ptr<StoreWriter> writer_;

    // Loop thread only.
    std::map<ServedKey, Served> served_;
    std::unordered_map<proto::OperationId, CallCallback> calls_;
    proto::OperationId op_next_ = 1;
    NodeRpcCounters counters_;
    Time started_;  // For RpcConfig::startup_grace.

    // Server states: created on the loop thread, looked up by unserve_and_wait on any thread.
    mutable std::mutex servers_mutex_;
    std::unordered_map<Pid, std::shared_ptr<ServerState>> servers_;
};

}  // namespace herald::runtime

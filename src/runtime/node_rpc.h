// NodeRpc: the runtime service of the RPC engine (proto::rpc::RpcEngine) — what is not protocol.
// The engine lives in the node's EngineSet: rpc_* packets, its timers, its durable writes (the
// node's store) and its restore at start reach it as they reach every engine. This service
// runs its `execute` effects on a HandlerPool (never on the loop thread), feeds their results
// back (on_result), keeps the served operations, and offers serve / call to the application.
// It reaches the node only through NodeContext. Calls complete on the loop thread.
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
#include "runtime/node_context.h"
#include "runtime/node_options.h"
#include "runtime/node_rpc_options.h"
#include "runtime/node_rpc_queue.h"
#include "runtime/operation_table.h"
#include "store/store.h"

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
// ServeConfig::writes). May take the request's strings (they are its own). Must not throw; an
// exception is turned into application_error.
using RpcHandler = std::function<Result<Bytes>(RpcRequest&, RpcWrites&)>;
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

class NodeRpc final : public Service {
public:
    // Errc::invalid_argument: engine.durable without data_dir, handler_threads not in 1..256,
    // executions_max or cache_entries_max 0, non-positive timeouts, negative startup_grace.
    [[nodiscard]] static Status check_config(const NodeConfig& config);
    // Starts the handler threads. `config` must have passed check_config. Before the loop.
    NodeRpc(NodeContext& node, const NodeConfig& config);
    ~NodeRpc() override;
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
    // The same, completing into `queue` with `tag` (published at the loop batch's end, see
    // CallQueueState). Errc::queue_full also when the queue has no free slot.
    [[nodiscard]] Status call_queued(Pid client, Pid server, std::string operation, Bytes request,
                                     const CallConfig& config,
                                     std::shared_ptr<CallQueueState> queue, std::uint64_t tag);
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

    // --- Node hooks (before the loop starts, then loop thread) ---

    // The engine, for the node's EngineSet (once), and the slot the set gave it.
    [[nodiscard]] std::unique_ptr<proto::Engine> make_engine(const proto::EngineContext& context);
    void attach(proto::EngineSlot slot) { slot_ = slot; }

    void execute(proto::ExecuteEffect& execution) override;
    // The loop batch's end: wakes handler threads for the runs this batch queued (launch
    // queues them without waking any, so a batch of requests costs a few wake-ups, not one
    // per request), and publishes the calls this batch completed into call queues (one lock
    // and at most one wake-up per queue). Nothing (not even the pool's lock) when this batch
    // did neither.
    void end_batch() {
        if (!queues_completed_.empty()) publish_completions();
        if (!held_) return;
        held_ = false;
        pool_->release();
    }
    void on_process_exited(Pid pid, Time now) override;
    // No handler running (calls are operations of the node; writes its durable_pending).
    [[nodiscard]] bool drained() const override;
    // Drops queued handler runs and the served operations.
    void shutdown() override;
    // Any thread but a handler's and the loop's: waits for the handler threads to end.
    void join() override;
    [[nodiscard]] NodeRpcCounters counters() const;

private:
    struct Served;
    struct ServerState;
    using ServedKey = std::pair<Pid, std::string>;

    [[nodiscard]] Status start_serve(Pid server, std::string operation, RpcHandler handler,
                                     const ServeConfig& config);
    // A call on its way from an application thread to the loop: a completion callback, or a
    // call queue and tag (then `done` is empty).
    struct CallCommand {
        Pid client;
        Pid server;
        std::string operation;
        Bytes request;
        proto::rpc::CallOptions options;
        CallCallback done;
        std::shared_ptr<CallQueueState> queue;
        std::uint64_t tag = 0;
    };
    // A call completing into a call queue, while the engine runs it. Loop thread.
    struct QueuedCall {
        std::shared_ptr<CallQueueState> queue;
        std::uint64_t tag = 0;
    };
    [[nodiscard]] Status check_call(Pid client, Pid server, const std::string& operation,
                                    const Bytes& request) const;
    [[nodiscard]] Status queue_call(CallCommand command, const CallConfig& config);
    void take_calls();  // Loop thread: starts every queued call, in order.
    void start_call(CallCommand& command);
    void answer_call(CallCommand& command, Result<Bytes> result);
    void finish_queued(std::uint64_t id, Result<Bytes> result);
    void complete_queued(std::shared_ptr<CallQueueState> queue, std::uint64_t tag,
                         Result<Bytes> result);
    void publish_completions();
    // One handler run from launch (loop) through its handler thread back to the loop, with
    // its outcome: a record kept for the next run, so that the job handed to the pool is a
    // pointer (no allocation for it). A record is free only as Run{} (reset where the loop
    // frees it), so a run starts from nothing of the one before.
    struct Run {
        std::shared_ptr<ServerState> state;
        std::shared_ptr<const RpcHandler> handler;
        bool writes_allowed = false;
        ServedKey key;
        proto::ExecuteEffect execution;
        bool threw = false;
        Result<Bytes> result;
        RpcWrites writes;
    };
    void launch(const ServedKey& key, Served& served, proto::ExecuteEffect execution);
    [[nodiscard]] Run& take_run();  // Loop thread: a spare record, or a new one.
    void run_handler(Run& run);     // Handler thread.
    void on_handler_done(const ServedKey& key, std::uint64_t execution, Result<Bytes> result,
                         RpcWrites writes);
    // Loop thread: hands every finished run to the engine, in the order they finished.
    void take_finished();
    void feed_result(std::uint64_t execution, Result<Bytes> result, RpcWrites writes);

    NodeContext& node_;
    RpcConfig config_;  // The engine keeps a reference to config_.engine: it outlives it.
    bool has_store_ = false;
    proto::rpc::RpcEngine* engine_ = nullptr;  // Owned by the node's EngineSet.
    proto::EngineSlot slot_ = 0;
    std::unique_ptr<HandlerPool> pool_;

    // Loop thread only.
    std::map<ServedKey, Served> served_;
    bool held_ = false;  // Loop thread: a run was queued since the last end_batch().
    NodeRpcCounters counters_;

    // Every run record (owned here; a record's address is stable), and those free for the
    // next launch (loop thread). A record is in use from launch until the loop takes its
    // outcome, so there are at most as many as runs were in flight at once: the pool's queue
    // (executions_max) plus the handler threads plus outcomes not yet taken (each of a run
    // the engine still counts among executions_max, or one it gave up on at a process exit).
    // They hold no request or response between runs.
    std::deque<Run> runs_;
    std::vector<Run*> runs_free_;
    // Runs finished by handler threads, not yet taken by the loop. The thread that finds it
    // empty posts the one task that takes all of them, so a batch of results costs one
    // hand-off to the loop, not one each. At most one entry per run record; dropped with the
    // node when the loop has closed.
    std::mutex finished_mutex_;
    std::vector<Run*> finished_;
    std::vector<Run*> finished_taken_;  // Loop thread: the batch being handed over.
    // Calls queued by application threads, not yet taken by the loop. The thread that finds
    // calls_posted_ false posts the one task that takes all of them, so a window of calls costs
    // one hand-off to the loop, not one each. Bounded by the node's commands_max (each call
    // holds one reserve_command until the loop takes it); refused with queue_full beyond.
    std::mutex calls_mutex_;
    std::vector<CallCommand> calls_;
    bool calls_posted_ = false;
    std::vector<CallCommand> calls_taken_;  // Loop thread: the batch being started.
    // Loop thread: calls completing into call queues (no allocation per call once warm), and
    // the queues that hold completions to publish at the batch's end.
    OperationTable<QueuedCall> queued_calls_;
    std::vector<std::shared_ptr<CallQueueState>> queues_completed_;
    // Server states: created on the loop thread, looked up by unserve_and_wait on any thread.
    mutable std::mutex servers_mutex_;
    std::unordered_map<Pid, std::shared_ptr<ServerState>> servers_;
};

}  // namespace herald::runtime

// NodeRpc: the RPC engine's service in the runtime Node — serving, calls and handler runs.
// Layer: runtime.
#include "runtime/node_rpc.h"

#include <chrono>
#include <exception>

#include "core/assert.h"
#include "proto/rpc/reply_cache.h"
#include "wire/auth.h"

namespace herald::runtime {

namespace {

constexpr std::uint32_t handler_threads_max = 256;
constexpr std::size_t operation_bytes_max = 255;

// The server whose handler this thread runs now (unserve_and_wait must not wait for itself).
thread_local Pid current_server;

Status check_rpc_config(const NodeConfig& config) {
    const RpcConfig& rpc = config.rpc;
    if (rpc.engine.durable && config.data_dir.empty()) {
        return fail(Errc::invalid_argument,
                    "a durable RPC reply cache needs a data_dir to keep it in");
    }
    if (rpc.handler_threads == 0 || rpc.handler_threads > handler_threads_max) {
        return fail(Errc::invalid_argument, "rpc handler_threads must be in 1..256");
    }
    if (rpc.engine.executions_max == 0 || rpc.engine.cache_entries_max == 0 ||
        rpc.engine.clients_max == 0 || rpc.engine.clients_per_address_max == 0) {
        return fail(Errc::invalid_argument,
                    "rpc executions_max, cache_entries_max, clients_max and "
                    "clients_per_address_max must be > 0");
    }
    if (rpc.engine.retention <= Duration::zero() ||
        rpc.engine.long_request_threshold <= Duration::zero() ||
        rpc.engine.response_retransmit_timeout <= Duration::zero() ||
        rpc.engine.response_retransmit_max < rpc.engine.response_retransmit_timeout) {
        return fail(Errc::invalid_argument,
                    "rpc retention, long_request_threshold and response_retransmit_timeout must "
                    "be positive (and response_retransmit_timeout at most 1 s)");
    }
    if (rpc.startup_grace < Duration::zero()) {
        return fail(Errc::invalid_argument, "rpc startup_grace must not be negative");
    }
    return {};
}

}  // namespace

// One (server, operation) this node serves. Loop thread.
struct NodeRpc::Served {
    std::shared_ptr<const RpcHandler> handler;
    ServeConfig config;
    std::uint32_t running = 0;                 // Submitted to the pool, result not back.
    std::deque<proto::ExecuteEffect> waiting;  // Held back by config.concurrency.
};

// One serving process, shared with the handler threads.
struct NodeRpc::ServerState {
    std::mutex mutex;
    std::condition_variable idle;
    bool active = true;         // False once the process exits: queued runs are skipped.
    std::uint32_t running = 0;  // Handlers of this process running now.
};

// --- Start-up and shutdown ---

Status NodeRpc::check_config(const NodeConfig& config) {
    return check_rpc_config(config);
}

NodeRpc::NodeRpc(NodeContext& node, const NodeConfig& config)
    : node_(node),
      config_(config.rpc),
      has_store_(!config.data_dir.empty()),
      pool_(std::make_unique<HandlerPool>(config_.handler_threads, config_.engine.executions_max)) {
    config_.engine.startup_grace = config_.startup_grace;
    // Without a cluster key any packet can name any client node: a new client node proves that
    // it receives at its address before the server keeps anything for it (docs/rpc.md,
    // "Admission"). With a key only key holders reach the engine.
    config_.engine.admission_cookies = config.key_file.empty();
    config_.engine.cookie_key = wire::random_hash_key();
}

NodeRpc::~NodeRpc() {
    join();
}

std::unique_ptr<proto::Engine> NodeRpc::make_engine(const proto::EngineContext& context) {
    HERALD_ASSERT(engine_ == nullptr);
    auto engine = std::make_unique<proto::rpc::RpcEngine>(context, config_.engine);
    engine_ = engine.get();
    return engine;
}

void NodeRpc::shutdown() {
    served_.clear();
    pool_->stop();
}

void NodeRpc::join() {
    pool_->stop();
    pool_->join();
}

bool NodeRpc::drained() const {
    return engine_->counters().executing == 0;
}

NodeRpcCounters NodeRpc::counters() const {
    NodeRpcCounters c = counters_;
    c.engine = engine_->counters();
    c.startup_dropped = c.engine.startup_dropped;
    c.handlers_waiting = 0;
    for (const auto& [key, served] : served_) c.handlers_waiting += served.waiting.size();
    return c;
}

// --- Process exits (Node hook) ---

void NodeRpc::on_process_exited(Pid pid, Time now) {
    (void)now;  // The engine heard of it first (Engine::on_process_exited: on_unserve).
    for (auto it = served_.lower_bound({pid, std::string()});
         it != served_.end() && it->first.first == pid;) {
        it = served_.erase(it);
    }
    std::shared_ptr<ServerState> state;
    {
        std::lock_guard lock(servers_mutex_);
        if (auto it = servers_.find(pid); it != servers_.end()) {
            state = std::move(it->second);
            servers_.erase(it);
        }
    }
    if (state) {
        std::lock_guard lock(state->mutex);
        state->active = false;  // Queued runs of it are skipped.
    }
}

void NodeRpc::unserve_and_wait(Pid server) {
    std::shared_ptr<ServerState> state;
    {
        std::lock_guard lock(servers_mutex_);
        auto it = servers_.find(server);
        if (it == servers_.end()) return;  // Never served: nothing can be running.
        state = it->second;
    }
    std::unique_lock lock(state->mutex);
    state->active = false;
    if (node_.in_loop_thread()) return;  // The loop must not wait for handlers.
    const std::uint32_t own = current_server == server ? 1 : 0;
    state->idle.wait(lock, [&] { return state->running <= own; });
}

// --- Serving ---

Status NodeRpc::serve(Pid server, std::string operation, RpcHandler handler,
                      const ServeConfig& config) {
    if (!server.valid() || server.node != node_.id()) {
        return fail(Errc::invalid_argument, "server " + to_string(server) + " is not local");
    }
    if (operation.empty() || operation.size() > operation_bytes_max) {
        return fail(Errc::invalid_argument, "operation name empty or longer than 255 bytes");
    }
    if (!handler) return fail(Errc::invalid_argument, "empty handler");
    if (config.writes && !has_store_) {
        return fail(Errc::invalid_argument,
                    "a handler with durable state needs the node's data_dir");
    }
    return node_.on_loop<Status>("serve()", [this, server, operation = std::move(operation),
                                             handler = std::move(handler), config]() mutable {
        return start_serve(server, std::move(operation), std::move(handler), config);
    });
}

Status NodeRpc::start_serve(Pid server, std::string operation, RpcHandler handler,
                            const ServeConfig& config) {
    if (!node_.accepting()) return fail(Errc::closed, "node stopped");
    if (!node_.has_process(server)) {
        return fail(Errc::no_such_process, to_string(server) + " is not running");
    }
    HERALD_TRY(engine_->on_serve(server, operation, config.idempotent));
    Served served;
    served.handler = std::make_shared<const RpcHandler>(std::move(handler));
    served.config = config;
    served_.emplace(ServedKey{server, std::move(operation)}, std::move(served));
    {
        std::lock_guard lock(servers_mutex_);
        auto& state = servers_[server];
        if (!state) state = std::make_shared<ServerState>();
    }
    return {};
}

// --- Handler runs ---

void NodeRpc::execute(proto::ExecuteEffect& effect) {
    proto::ExecuteEffect execution = std::move(effect);
    ServedKey key{execution.server, execution.operation};
    auto it = served_.find(key);
    if (it == served_.end()) {
        // The engine saw the operation served, so the process exited meanwhile.
        node_.defer([this, id = execution.execution] {
            feed_result(id, fail(Errc::no_such_process, "server process exited"), {});
        });
        return;
    }
    Served& served = it->second;
    if (served.config.concurrency != 0 && served.running >= served.config.concurrency) {
        served.waiting.push_back(std::move(execution));
        return;
    }
    launch(it->first, served, std::move(execution));
}

void NodeRpc::launch(const ServedKey& key, Served& served, proto::ExecuteEffect execution) {
    Run& run = take_run();
    {
        std::lock_guard lock(servers_mutex_);
        auto it = servers_.find(key.first);
        HERALD_ASSERT(it != servers_.end());  // Erased only together with served_.
        run.state = it->second;
    }
    run.handler = served.handler;
    run.writes_allowed = served.config.writes;
    run.key = key;
    run.execution = std::move(execution);
    ++served.running;
    // Two pointers: std::function keeps them in place, without an allocation.
    const bool submitted = pool_->submit_held([this, record = &run] { run_handler(*record); });
    if (!submitted) {
        // Only when stopping: the queue holds executions_max jobs, and the engine never has
        // more executions than that at once.
        --served.running;
        run = Run{};
        runs_free_.push_back(&run);
        return;
    }
    held_ = true;
}

NodeRpc::Run& NodeRpc::take_run() {
    if (runs_free_.empty()) return runs_.emplace_back();
    Run* run = runs_free_.back();
    runs_free_.pop_back();
    return *run;
}

// Handler thread.
void NodeRpc::run_handler(Run& run) {
    bool active = false;
    {
        std::lock_guard lock(run.state->mutex);
        active = run.state->active;
        if (active) ++run.state->running;
    }
    if (!active) {
        run.result = fail(Errc::server_crashed, "server process exited before the call ran");
    } else {
        proto::ExecuteEffect& execution = run.execution;
        RpcRequest request{execution.client, execution.server, std::move(execution.operation),
                           std::move(execution.request)};
        current_server = run.key.first;
        try {
            run.result = (*run.handler)(request, run.writes);
        } catch (const std::exception& e) {
            run.result = fail(Errc::application_error, std::string("handler threw: ") + e.what());
            run.threw = true;
        } catch (...) {
            run.result = fail(Errc::application_error, "handler threw a non-standard exception");
            run.threw = true;
        }
        current_server = Pid{};
        if (run.threw) run.writes.clear();
        if (!run.writes.empty() && !run.writes_allowed) {
            run.writes.clear();
            run.result = fail(Errc::application_error,
                              "handler wrote durable state without ServeConfig::writes");
        }
        std::lock_guard lock(run.state->mutex);
        --run.state->running;
        run.state->idle.notify_all();
    }
    bool first = false;
    {
        std::lock_guard lock(finished_mutex_);
        first = finished_.empty();
        finished_.push_back(&run);
    }
    // The loop takes every result queued by then in one task. Dropped when the loop has
    // closed: the node is gone, and so are the calls' entries.
    if (first) static_cast<void>(node_.post([this] { take_finished(); }));
}

void NodeRpc::take_finished() {
    {
        std::lock_guard lock(finished_mutex_);
        finished_taken_.swap(finished_);
    }
    for (Run* run : finished_taken_) {
        if (run->threw) ++counters_.handler_exceptions;
        const ServedKey key = std::move(run->key);
        const std::uint64_t execution = run->execution.execution;
        Result<Bytes> result = std::move(run->result);
        RpcWrites writes = std::move(run->writes);
        // Emptied before the engine runs: on_handler_done may launch into this record.
        *run = Run{};
        runs_free_.push_back(run);
        on_handler_done(key, execution, std::move(result), std::move(writes));
    }
    finished_taken_.clear();
}

void NodeRpc::on_handler_done(const ServedKey& key, std::uint64_t execution, Result<Bytes> result,
                              RpcWrites writes) {
    if (node_.shut_down()) return;
    if (auto it = served_.find(key); it != served_.end()) --it->second.running;
    feed_result(execution, std::move(result), std::move(writes));
    // The next run held back by the concurrency bound starts only now, after the engine took
    // this result: durable writes of one operation reach the store in execution order.
    if (auto it = served_.find(key); it != served_.end()) {
        Served& served = it->second;
        const auto limit = served.config.concurrency;
        if (!served.waiting.empty() && (limit == 0 || served.running < limit)) {
            auto next = std::move(served.waiting.front());
            served.waiting.pop_front();
            launch(it->first, served, std::move(next));
        }
    }
    node_.check_drained();
}

void NodeRpc::feed_result(std::uint64_t execution, Result<Bytes> result, RpcWrites writes) {
    if (node_.shut_down()) return;
    const Time t = node_.now();
    node_.run<proto::rpc::RpcEngine>(slot_, [&](auto& engine, proto::Effects& out) {
        engine.on_result(execution, std::move(result), std::move(writes), t, out);
    });
}

// --- Calls ---

Status NodeRpc::check_call(Pid client, Pid server, const std::string& operation,
                           const Bytes& request) const {
    if (!server.valid()) return fail(Errc::invalid_argument, "invalid server pid");
    if (!client.valid() || client.node != node_.id()) {
        return fail(Errc::invalid_argument, "the caller is not a process of this node");
    }
    if (operation.empty() || operation.size() > operation_bytes_max) {
        return fail(Errc::invalid_argument, "operation name empty or longer than 255 bytes");
    }
    if (request.size() > config_.engine.request_bytes_max) {
        return fail(Errc::too_large,
                    "request of " + std::to_string(request.size()) + " bytes exceeds the " +
                        std::to_string(config_.engine.request_bytes_max) + "-byte limit");
    }
    return {};
}

Status NodeRpc::call_async(Pid client, Pid server, std::string operation, Bytes request,
                           const CallConfig& config, CallCallback done) {
    HERALD_TRY(check_call(client, server, operation, request));
    if (!done) return fail(Errc::invalid_argument, "empty completion callback");
    return queue_call(CallCommand{client, server, std::move(operation), std::move(request),
                                  config.options, std::move(done), nullptr, 0},
                      config);
}

Status NodeRpc::call_queued(Pid client, Pid server, std::string operation, Bytes request,
                            const CallConfig& config, std::shared_ptr<CallQueueState> queue,
                            std::uint64_t tag) {
    HERALD_ASSERT(queue != nullptr);
    HERALD_TRY(check_call(client, server, operation, request));
    if (!queue->reserve()) {
        return fail(Errc::queue_full, "the call queue's " + std::to_string(queue->capacity()) +
                                          " slots hold calls not taken yet");
    }
    CallQueueState& slots = *queue;
    Status status = queue_call(CallCommand{client,
                                           server,
                                           std::move(operation),
                                           std::move(request),
                                           config.options,
                                           {},
                                           std::move(queue),
                                           tag},
                               config);
    if (!status) slots.unreserve();
    return status;
}

Status NodeRpc::queue_call(CallCommand command, const CallConfig& config) {
    HERALD_TRY(node_.reserve_command());
    command.options.deadline = deadline_after(node_.now(), config.timeout);
    std::lock_guard lock(calls_mutex_);
    calls_.push_back(std::move(command));
    if (calls_posted_) return {};  // The loop's task, queued already, takes this one too.
    // Posting under the lock: if the loop is closed, no other caller can have queued behind
    // us expecting this task to take theirs.
    if (!node_.post([this] { take_calls(); })) {
        calls_.pop_back();
        node_.release_command();
        return fail(Errc::closed, "node stopped");
    }
    calls_posted_ = true;
    return {};
}

void NodeRpc::take_calls() {
    {
        std::lock_guard lock(calls_mutex_);
        calls_taken_.swap(calls_);
        calls_posted_ = false;
    }
    for (CallCommand& command : calls_taken_) {
        node_.release_command();
        start_call(command);
    }
    calls_taken_.clear();  // Keeps its capacity for the next batch.
    // Calls refused at once (closed, unreachable) publish now: no batch end may follow.
    if (!queues_completed_.empty()) publish_completions();
}

void NodeRpc::answer_call(CallCommand& command, Result<Bytes> result) {
    if (command.done) {
        node_.answer(command.done, std::move(result));
        return;
    }
    complete_queued(std::move(command.queue), command.tag, std::move(result));
}

void NodeRpc::start_call(CallCommand& command) {
    if (!node_.accepting()) {
        answer_call(command, fail(Errc::closed, "node stopped"));
        return;
    }
    if (!node_.knows_node(command.server.node)) {
        ++counters_.unreachable_calls;
        answer_call(command, fail(Errc::unreachable,
                                  "no address known for node " + to_string(command.server.node) +
                                      " (connect to it or resolve PID@URL first)"));
        return;
    }
    proto::OperationId op = 0;
    if (command.done) {
        op = node_.begin_operation(std::move(command.done));
    } else {
        // A pointer and an id: the completion fits in std::function's own storage.
        const std::uint64_t id =
            queued_calls_.add(QueuedCall{std::move(command.queue), command.tag});
        op = node_.begin_operation(
            [this, id](Result<Bytes> result) { finish_queued(id, std::move(result)); });
    }
    const Time t = node_.now();
    node_.run<proto::rpc::RpcEngine>(slot_, [&](auto& engine, proto::Effects& out) {
        engine.on_call(op, command.client, command.server, std::move(command.operation),
                       std::move(command.request), command.options, t, out);
    });
}

void NodeRpc::finish_queued(std::uint64_t id, Result<Bytes> result) {
    std::optional<QueuedCall> call = queued_calls_.take(id);
    HERALD_ASSERT(call.has_value());  // The node completes each operation once.
    complete_queued(std::move(call->queue), call->tag, std::move(result));
}

// Loop thread: the queue's first completion of this loop turn lists it for the turn's end.
void NodeRpc::complete_queued(std::shared_ptr<CallQueueState> queue, std::uint64_t tag,
                              Result<Bytes> result) {
    if (queue->complete(tag, std::move(result))) queues_completed_.push_back(std::move(queue));
}

void NodeRpc::publish_completions() {
    for (auto& queue : queues_completed_) queue->publish();
    queues_completed_.clear();
}

Result<Bytes> NodeRpc::call(Pid client, Pid server, std::string operation, Bytes request,
                            const CallConfig& config) {
    if (node_.in_loop_thread()) {
        return fail(Errc::invalid_argument, "blocking call on the node's loop thread");
    }
    auto promise = std::make_shared<std::promise<Result<Bytes>>>();
    auto future = promise->get_future();
    const Time deadline = deadline_after(node_.now(), config.timeout);
    HERALD_TRY(
        call_async(client, server, std::move(operation), std::move(request), config,
                   [promise](Result<Bytes> result) { promise->set_value(std::move(result)); }));
    if (deadline == Time::max()) return future.get();
    const std::chrono::steady_clock::time_point until{
        std::chrono::nanoseconds((deadline + completion_grace).ns())};
    if (future.wait_until(until) == std::future_status::timeout) {
        return fail(Errc::timeout, "no completion from the node loop");
    }
    return future.get();
}

Result<std::vector<store::Record>> NodeRpc::read_state(std::string prefix) {
    HERALD_TRY(auto records, node_.read_store(std::move(prefix)));
    std::erase_if(records, [](const store::Record& record) {
        return proto::rpc::ReplyCache::reserved_key(record.first);
    });
    return records;
}

}  // namespace herald::runtime

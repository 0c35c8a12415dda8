// NodeRpc: the RPC engine in the runtime Node — start-up, serving, calls, handler runs and
// durable writes. Layer: runtime.
#include "runtime/node_rpc.h"

#include <chrono>
#include <exception>
#include <filesystem>
#include <system_error>

#include "core/assert.h"
#include "proto/rpc/reply_cache.h"

namespace herald::runtime {

namespace {

constexpr std::uint32_t handler_threads_max = 256;
constexpr std::size_t operation_bytes_max = 255;
constexpr const char* store_file = "herald.db";
// See node_send.cpp: a guard against a lost completion, not a protocol timeout.
constexpr Duration completion_grace = Duration::seconds(2);

// The server whose handler this thread runs now (unserve_and_wait must not wait for itself).
thread_local Pid current_server;

Time deadline_after(Time now, Duration timeout) {
    if (timeout == Duration::max()) return Time::max();
    return now + (timeout < Duration::zero() ? Duration::zero() : timeout);
}

Status check_config(const NodeConfig& config) {
    const RpcConfig& rpc = config.rpc;
    if (rpc.engine.durable && config.data_dir.empty()) {
        return fail(Errc::invalid_argument,
                    "a durable RPC reply cache needs a data_dir to keep it in");
    }
    if (rpc.handler_threads == 0 || rpc.handler_threads > handler_threads_max) {
        return fail(Errc::invalid_argument, "rpc handler_threads must be in 1..256");
    }
    if (rpc.engine.executions_max == 0 || rpc.engine.cache_entries_max == 0) {
        return fail(Errc::invalid_argument, "rpc executions_max and cache_entries_max must be > 0");
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

Result<store::Store> open_store(const NodeConfig& config) {
    std::error_code ec;
    std::filesystem::create_directories(config.data_dir, ec);
    if (ec) {
        return fail(Errc::io_error,
                    "cannot create data_dir '" + config.data_dir + "': " + ec.message());
    }
    const auto path = (std::filesystem::path(config.data_dir) / store_file).string();
    return store::Store::open(path, store::StoreOptions{config.rpc.sync});
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

// The engine as the Node's dispatch sees it: packet kinds, packets and timers.
struct NodeRpc::Host final : HostedEngine {
    Host(NodeRpc& node_rpc, proto::rpc::RpcEngine& rpc_engine)
        : rpc(node_rpc), engine(rpc_engine) {}
    [[nodiscard]] std::string_view name() const override { return "rpc"; }
    [[nodiscard]] std::vector<wire::PacketKind> kinds() const override {
        using wire::PacketKind;
        return {PacketKind::rpc_request, PacketKind::rpc_ack, PacketKind::rpc_response,
                PacketKind::rpc_response_ack, PacketKind::rpc_nack};
    }
    void on_packet(NodeId from, wire::Packet& packet, Time now, proto::Effects& out) override {
        rpc.on_packet(from, packet, now, out);
    }
    void on_timer(proto::TimerId timer, Time now, proto::Effects& out) override {
        engine.on_timer(timer, now, out);
    }
    NodeRpc& rpc;
    proto::rpc::RpcEngine& engine;
};

// --- Start-up and shutdown ---

Result<std::unique_ptr<NodeRpc>> NodeRpc::open(Node& node, const NodeConfig& config) {
    HERALD_TRY(check_config(config));
    auto rpc = std::make_unique<NodeRpc>(node, config);
    if (!config.data_dir.empty()) {
        HERALD_TRY(store::Store store, open_store(config));
        const std::string prefix(proto::rpc::ReplyCache::key_prefix);
        HERALD_TRY(auto records, store.scan(prefix));
        rpc->engine_->on_restore(records);
        NodeRpc* self = rpc.get();
        rpc->writer_ = std::make_unique<StoreWriter>(
            std::move(store), [self](std::vector<std::uint64_t> tokens, Status status) {
                // A commit that ends after the loop closed is dropped with the node.
                static_cast<void>(self->node_.loop_.post(
                    [self, tokens = std::move(tokens), status = std::move(status)] {
                        self->on_committed(tokens, status);
                    }));
            });
    }
    for (auto kind : rpc->host_->kinds()) {
        auto& entry = node.by_kind_[static_cast<std::uint8_t>(kind)];
        HERALD_ASSERT(entry == nullptr);
        entry = rpc->slot_.get();
    }
    return rpc;
}

NodeRpc::NodeRpc(Node& node, const NodeConfig& config)
    : node_(node),
      config_(config.rpc),
      engine_(std::make_unique<proto::rpc::RpcEngine>(node.id_, node.incarnation_, config_.engine,
                                                      node.random_)),
      host_(std::make_unique<Host>(*this, *engine_)),
      slot_(std::make_unique<Node::EngineSlot>()),
      pool_(std::make_unique<HandlerPool>(config_.handler_threads, config_.engine.executions_max)) {
    slot_->engine = host_.get();
    started_ = node.now();
}

NodeRpc::~NodeRpc() {
    join();
}

void NodeRpc::shutdown() {
    auto calls = std::move(calls_);
    calls_.clear();
    for (auto& [op, done] : calls) done(fail(Errc::closed, "node stopped"));
    served_.clear();
    pool_->stop();
    if (writer_) writer_->stop();
}

void NodeRpc::join() {
    pool_->stop();
    pool_->join();
    if (writer_) {
        writer_->stop();
        writer_->join();
    }
}

bool NodeRpc::drained() const {
    return calls_.empty() && engine_->counters().executing == 0 && counters_.durable_pending == 0;
}

void NodeRpc::check_drained() {
    if (!node_.draining_ || !node_.ops_.empty() || !drained()) return;
    node_.deferred_.push_back([this] { node_.finish_shutdown(); });
}

NodeRpcCounters NodeRpc::counters() const {
    NodeRpcCounters c = counters_;
    c.engine = engine_->counters();
    if (writer_) {
        const auto store = writer_->counters();
        c.store_commits = store.commits;
        c.store_writes = store.writes;
    }
    c.handlers_waiting = 0;
    for (const auto& [key, served] : served_) c.handlers_waiting += served.waiting.size();
    return c;
}

// --- Packets, timers and process exits (Node hooks) ---

void NodeRpc::on_packet(NodeId from, const wire::Packet& packet, Time now, proto::Effects& out) {
    if (too_early(packet, now)) {
        ++counters_.startup_dropped;  // Not refused: the caller resends, and finds it served.
        return;
    }
    engine_->on_packet(from, packet, now, out);
}

bool NodeRpc::too_early(const wire::Packet& packet, Time now) const {
    if (packet.header.kind != wire::PacketKind::rpc_request) return false;
    if (now - started_ >= config_.startup_grace) return false;
    const Pid target = packet.header.target;
    if (target.node != node_.id_ || target.local >= local_id_dynamic_min) return false;
    const wire::Extension* operation = packet.find(wire::ExtensionType::operation);
    if (operation == nullptr) return false;  // Malformed: the engine counts it.
    const std::string name(operation->value.begin(), operation->value.end());
    return !served_.contains(ServedKey{target, name});
}

void NodeRpc::on_wake(Time now) {
    while (auto id = slot_->timers.pop_due(now)) {
        node_.run_engine(*slot_, now,
                         [&](proto::Effects& out) { engine_->on_timer(*id, now, out); });
        if (node_.shut_down_) return;
    }
}

std::optional<Time> NodeRpc::earliest() const {
    return slot_->timers.earliest();
}

void NodeRpc::on_exit(Pid pid, Time now) {
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
    node_.run_engine(*slot_, now, [&](proto::Effects& out) { engine_->on_unserve(pid, now, out); });
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
    if (node_.loop_.in_loop_thread()) return;  // The loop must not wait for handlers.
    const std::uint32_t own = current_server == server ? 1 : 0;
    state->idle.wait(lock, [&] { return state->running <= own; });
}

// --- Serving ---

Status NodeRpc::serve(Pid server, std::string operation, RpcHandler handler,
                      const ServeConfig& config) {
    if (node_.loop_.in_loop_thread()) {
        return fail(Errc::invalid_argument, "serve() on the node's loop thread");
    }
    if (!server.valid() || server.node != node_.id_) {
        return fail(Errc::invalid_argument, "server " + to_string(server) + " is not local");
    }
    if (operation.empty() || operation.size() > operation_bytes_max) {
        return fail(Errc::invalid_argument, "operation name empty or longer than 255 bytes");
    }
    if (!handler) return fail(Errc::invalid_argument, "empty handler");
    if (config.writes && !writer_) {
        return fail(Errc::invalid_argument,
                    "a handler with durable state needs the node's data_dir");
    }
    std::promise<Status> promise;
    auto future = promise.get_future();
    const bool posted =
        node_.loop_.post([this, server, operation = std::move(operation),
                          handler = std::move(handler), config, &promise]() mutable {
            start_serve(server, std::move(operation), std::move(handler), config, promise);
        });
    if (!posted) return fail(Errc::closed, "node stopped");
    return future.get();
}

void NodeRpc::start_serve(Pid server, std::string operation, RpcHandler handler,
                          const ServeConfig& config, std::promise<Status>& done) {
    if (node_.shut_down_ || node_.draining_) {
        done.set_value(fail(Errc::closed, "node stopped"));
        return;
    }
    if (!node_.processes_.contains(server.local)) {
        done.set_value(fail(Errc::no_such_process, to_string(server) + " is not running"));
        return;
    }
    if (auto status = engine_->on_serve(server, operation, config.idempotent); !status) {
        done.set_value(std::move(status));
        return;
    }
    Served served;
    served.handler = std::make_shared<const RpcHandler>(std::move(handler));
    served.config = config;
    served_.emplace(ServedKey{server, std::move(operation)}, std::move(served));
    {
        std::lock_guard lock(servers_mutex_);
        auto& state = servers_[server];
        if (!state) state = std::make_shared<ServerState>();
    }
    done.set_value(Status{});
}

// --- Handler runs ---

void NodeRpc::execute(proto::ExecuteEffect execution) {
    ServedKey key{execution.server, execution.operation};
    auto it = served_.find(key);
    if (it == served_.end()) {
        // The engine saw the operation served, so the process exited meanwhile.
        node_.deferred_.push_back([this, id = execution.execution] {
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
    std::shared_ptr<ServerState> state;
    {
        std::lock_guard lock(servers_mutex_);
        auto it = servers_.find(key.first);
        HERALD_ASSERT(it != servers_.end());  // Erased only together with served_.
        state = it->second;
    }
    ++served.running;
    const bool submitted = pool_->submit([this, state = std::move(state), handler = served.handler,
                                          writes = served.config.writes, key,
                                          execution = std::move(execution)]() mutable {
        run_handler(*state, *handler, writes, key, std::move(execution));
    });
    if (!submitted) {
        // Only when stopping: the queue holds executions_max jobs, and the engine never has
        // more executions than that at once.
        --served.running;
    }
}

// Handler thread.
void NodeRpc::run_handler(ServerState& state, const RpcHandler& handler, bool writes_allowed,
                          const ServedKey& key, proto::ExecuteEffect execution) {
    bool active = false;
    {
        std::lock_guard lock(state.mutex);
        active = state.active;
        if (active) ++state.running;
    }
    Result<Bytes> result = fail(Errc::server_crashed, "server process exited before the call ran");
    RpcWrites writes;
    bool threw = false;
    if (active) {
        const RpcRequest request{execution.client, execution.server, std::move(execution.operation),
                                 std::move(execution.request)};
        current_server = key.first;
        try {
            result = handler(request, writes);
        } catch (const std::exception& e) {
            result = fail(Errc::application_error, std::string("handler threw: ") + e.what());
            threw = true;
        } catch (...) {
            result = fail(Errc::application_error, "handler threw a non-standard exception");
            threw = true;
        }
        current_server = Pid{};
        if (threw) writes.clear();
        if (!writes.empty() && !writes_allowed) {
            writes.clear();
            result = fail(Errc::application_error,
                          "handler wrote durable state without ServeConfig::writes");
        }
        std::lock_guard lock(state.mutex);
        --state.running;
        state.idle.notify_all();
    }
    // Dropped when the loop has closed: the node is gone, and so is the call's entry.
    static_cast<void>(
        node_.loop_.post([this, key, id = execution.execution, threw, result = std::move(result),
                          writes = std::move(writes)]() mutable {
            if (threw) ++counters_.handler_exceptions;
            on_handler_done(key, id, std::move(result), std::move(writes));
        }));
}

void NodeRpc::on_handler_done(const ServedKey& key, std::uint64_t execution, Result<Bytes> result,
                              RpcWrites writes) {
    if (node_.shut_down_) return;
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
    check_drained();
    node_.run_deferred();
}

void NodeRpc::feed_result(std::uint64_t execution, Result<Bytes> result, RpcWrites writes) {
    if (node_.shut_down_) return;
    const Time t = node_.now();
    node_.run_engine(*slot_, t, [&](proto::Effects& out) {
        engine_->on_result(execution, std::move(result), std::move(writes), t, out);
    });
}

// --- Effects of the engine (Node::apply_effects hook) ---

void NodeRpc::apply(proto::Effects& effects, Time now) {
    (void)now;
    for (auto& completion : effects.completions) {
        auto it = calls_.find(completion.op);
        HERALD_ASSERT(it != calls_.end());  // The engine completes each call exactly once.
        CallCallback done = std::move(it->second);
        calls_.erase(it);
        done(std::move(completion.result));
    }
    for (auto& execution : effects.executions) execute(std::move(execution));
    persist(effects.persists);
    check_drained();
}

void NodeRpc::persist(std::vector<proto::PersistEffect>& persists) {
    if (persists.empty()) return;
    // Only durable reply caches and handlers served with writes persist; both need data_dir.
    HERALD_ASSERT(writer_ != nullptr);
    std::vector<store::Write> batch;
    std::uint64_t token = 0;
    const auto submit = [&] {
        ++counters_.durable_pending;
        writer_->write(std::move(batch), token);
        batch.clear();
    };
    for (auto& p : persists) {
        // Effects that share a token are one atomic write; tokens come in order.
        if (!batch.empty() && p.token != token) submit();
        token = p.token;
        batch.push_back({std::move(p.key), std::move(p.value), p.erase});
    }
    submit();
}

void NodeRpc::on_committed(const std::vector<std::uint64_t>& tokens, const Status& status) {
    if (node_.shut_down_) return;
    HERALD_ASSERT(counters_.durable_pending >= tokens.size());
    counters_.durable_pending -= tokens.size();
    if (!status) {
        // Nothing of it is on disk: the calls waiting for it never answer (their clients time
        // out), and a restart reads them as crashed. The error is kept for stats.
        ++counters_.store_errors;
        return;
    }
    for (const auto token : tokens) {
        const Time t = node_.now();
        node_.run_engine(*slot_, t,
                         [&](proto::Effects& out) { engine_->on_durable(token, t, out); });
        if (node_.shut_down_) return;
    }
    check_drained();
    node_.run_deferred();
}

// --- Calls ---

Status NodeRpc::call_async(Pid client, Pid server, std::string operation, Bytes request,
                           const CallConfig& config, CallCallback done) {
    if (!server.valid()) return fail(Errc::invalid_argument, "invalid server pid");
    if (!client.valid() || client.node != node_.id_) {
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
    if (!done) return fail(Errc::invalid_argument, "empty completion callback");
    if (node_.stopped()) return fail(Errc::closed, "node stopped");
    auto& queued = node_.commands_queued_;
    if (queued.fetch_add(1, std::memory_order_acq_rel) >= node_.config_.commands_max) {
        queued.fetch_sub(1, std::memory_order_acq_rel);
        return fail(Errc::queue_full, "commands_max commands are queued to the node loop");
    }
    auto options = config.options;
    options.deadline = deadline_after(node_.now(), config.timeout);
    const bool posted =
        node_.loop_.post([this, client, server, operation = std::move(operation),
                          request = std::move(request), options, done = std::move(done)]() mutable {
            node_.commands_queued_.fetch_sub(1, std::memory_order_acq_rel);
            start_call(client, server, std::move(operation), std::move(request), options,
                       std::move(done));
        });
    if (!posted) {
        queued.fetch_sub(1, std::memory_order_acq_rel);
        return fail(Errc::closed, "node stopped");
    }
    return {};
}

void NodeRpc::start_call(Pid client, Pid server, std::string operation, Bytes request,
                         const proto::rpc::CallOptions& options, CallCallback done) {
    if (node_.shut_down_ || node_.draining_) {
        done(fail(Errc::closed, "node stopped"));
        return;
    }
    if (server.node != node_.id_ && node_.peers_.find(server.node) == nullptr) {
        ++counters_.unreachable_calls;
        done(fail(Errc::unreachable, "no address known for node " + to_string(server.node) +
                                         " (connect to it or resolve PID@URL first)"));
        return;
    }
    const proto::OperationId op = op_next_++;
    calls_.emplace(op, std::move(done));
    const Time t = node_.now();
    node_.run_engine(*slot_, t, [&](proto::Effects& out) {
        engine_->on_call(op, client, server, std::move(operation), std::move(request), options, t,
                         out);
    });
}

Result<Bytes> NodeRpc::call(Pid client, Pid server, std::string operation, Bytes request,
                            const CallConfig& config) {
    if (node_.loop_.in_loop_thread()) {
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
    if (!writer_) return fail(Errc::invalid_argument, "the node has no data_dir");
    if (node_.loop_.in_loop_thread()) {
        return fail(Errc::invalid_argument, "read_state() on the node's loop thread");
    }
    HERALD_TRY(auto records, writer_->read(std::move(prefix)));
    std::erase_if(records, [](const store::Record& record) {
        return proto::rpc::ReplyCache::reserved_key(record.first);
    });
    return records;
}

}  // namespace herald::runtime

// The public RPC calls (herald/rpc.h): Process::serve / call / call_async and Node's RPC
// counters and durable state, over runtime::NodeRpc. Layer: api.
#include "herald/rpc.h"

#include <algorithm>
#include <exception>
#include <memory>

#include "api/api_support.h"
#include "api/rpc_options.h"
#include "herald/node.h"
#include "herald/process.h"
#include "runtime/node.h"
#include "runtime/node_rpc.h"
#include "runtime/node_rpc_queue.h"

namespace herald {

static_assert(int(RpcProtocol::rara) == int(proto::rpc::Protocol::rara));
static_assert(int(RpcProtocol::rr) == int(proto::rpc::Protocol::rr));
static_assert(int(RpcSemantics::exactly_once) == int(proto::rpc::Semantics::exactly_once));
static_assert(int(DurableSync::normal) == int(store::Sync::normal));

namespace {

using api::closed_process;
using api::to_duration;

runtime::CallConfig to_call_config(const CallOptions& options) {
    runtime::CallConfig config;
    auto& o = config.options;
    o.protocol = static_cast<proto::rpc::Protocol>(options.protocol);
    o.semantics = static_cast<proto::rpc::Semantics>(options.semantics);
    o.retransmit_timeout = to_duration(options.retransmit_timeout);
    o.backoff_percent = options.backoff_percent;
    o.retransmit_max = to_duration(options.retransmit_max);
    o.retry_limit = options.retry_limit;
    o.probe_interval = to_duration(options.probe_interval);
    config.timeout = to_duration(options.timeout);
    return config;
}

Status check(const CallOptions& options) {
    if (options.protocol > RpcProtocol::rara || options.semantics > RpcSemantics::exactly_once) {
        return fail(Errc::invalid_argument, "unknown protocol or semantics");
    }
    return {};  // The engine checks the timing options (invalid_argument with the rule).
}

runtime::RpcHandler wrap(StatefulHandler handler) {
    return [handler = std::move(handler)](runtime::RpcRequest& in,
                                          runtime::RpcWrites& writes) -> Result<Bytes> {
        const Request request{in.client, in.server, std::move(in.operation), std::move(in.body)};
        StateWrites state;
        auto result = handler(request, state);
        for (auto& change : state.take()) {
            writes.push_back({std::move(change.key), std::move(change.value), change.erase});
        }
        return result;
    };
}

}  // namespace

namespace api {

runtime::RpcConfig to_rpc_config(const RpcNodeOptions& options) {
    runtime::RpcConfig config;
    config.engine.durable = options.durable;
    config.engine.executions_max = options.executions_max;
    config.engine.cache_entries_max = options.cache_entries_max;
    config.engine.clients_max = options.clients_max;
    config.engine.clients_per_address_max = options.clients_per_address_max;
    config.engine.retention = to_duration(options.retention);
    config.engine.long_request_threshold = to_duration(options.long_request_threshold);
    config.engine.response_retransmit_timeout = to_duration(options.response_retransmit_timeout);
    config.engine.response_retransmit_max =
        std::max(config.engine.response_retransmit_max, config.engine.response_retransmit_timeout);
    config.handler_threads = options.handler_threads;
    config.startup_grace = to_duration(options.startup_grace);
    config.sync = static_cast<store::Sync>(options.sync);
    return config;
}

}  // namespace api

std::string_view protocol_name(RpcProtocol protocol) {
    switch (protocol) {
        case RpcProtocol::rr:
            return "rr";
        case RpcProtocol::rra:
            return "rra";
        case RpcProtocol::rara:
            return "rara";
    }
    return "unknown";
}

std::string_view semantics_name(RpcSemantics semantics) {
    switch (semantics) {
        case RpcSemantics::at_least_once:
            return "at_least_once";
        case RpcSemantics::exactly_once:
            return "exactly_once";
    }
    return "unknown";
}

// --- Process: serving ---

Status Process::serve(std::string operation, Handler handler, const ServeOptions& options) {
    if (!state_) return closed_process();
    if (!handler) return fail(Errc::invalid_argument, "empty handler");
    auto plain = [handler = std::move(handler)](const Request& request, StateWrites&) {
        return handler(request);
    };
    const runtime::ServeConfig config{options.idempotent, options.concurrency, false};
    return node_->rpc().serve(state_->pid(), std::move(operation), wrap(std::move(plain)), config);
}

Status Process::serve_with_state(std::string operation, StatefulHandler handler,
                                 const ServeOptions& options) {
    if (!state_) return closed_process();
    if (!handler) return fail(Errc::invalid_argument, "empty handler");
    const runtime::ServeConfig config{options.idempotent, options.concurrency, true};
    return node_->rpc().serve(state_->pid(), std::move(operation), wrap(std::move(handler)),
                              config);
}

// --- Process: calling ---

Result<Bytes> Process::call(Pid server, std::string_view operation, ByteView request,
                            const CallOptions& options) {
    if (!state_) return closed_process();
    HERALD_TRY(check(options));
    return node_->rpc().call(state_->pid(), server, std::string(operation),
                             Bytes(request.begin(), request.end()), to_call_config(options));
}

Result<Bytes> Process::call(Pid server, std::string_view operation, std::string_view text,
                            const CallOptions& options) {
    return call(server, operation,
                ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), options);
}

std::future<Result<Bytes>> Process::call_async(Pid server, std::string_view operation,
                                               Bytes request, const CallOptions& options) {
    auto promise = std::make_shared<std::promise<Result<Bytes>>>();
    auto future = promise->get_future();
    auto started =
        call_async(server, operation, std::move(request), options,
                   [promise](Result<Bytes> result) { promise->set_value(std::move(result)); });
    if (!started) promise->set_value(fail(std::move(started.error())));
    return future;
}

Status Process::call_async(Pid server, std::string_view operation, Bytes request,
                           const CallOptions& options, CallDone done) {
    if (!state_) return closed_process();
    HERALD_TRY(check(options));
    return node_->rpc().call_async(state_->pid(), server, std::string(operation),
                                   std::move(request), to_call_config(options), std::move(done));
}

Status Process::call_async(Pid server, std::string_view operation, Bytes request,
                           const CallOptions& options, CallQueue& queue, std::uint64_t tag) {
    if (!state_) return closed_process();
    HERALD_TRY(check(options));
    return node_->rpc().call_queued(state_->pid(), server, std::string(operation),
                                    std::move(request), to_call_config(options), queue.state_, tag);
}

// --- CallQueue ---

CallQueue::CallQueue(std::uint32_t capacity)
    : state_(std::make_shared<runtime::CallQueueState>(std::clamp(capacity, 1U, capacity_max))) {}

CallQueue::~CallQueue() = default;

std::size_t CallQueue::take(std::vector<CallCompletion>& out, std::chrono::nanoseconds timeout) {
    using SteadyClock = std::chrono::steady_clock;
    if (timeout <= std::chrono::nanoseconds::zero()) {
        return state_->take(out, SteadyClock::time_point::min());
    }
    const auto now = SteadyClock::now();
    const auto until = timeout >= SteadyClock::time_point::max() - now
                           ? SteadyClock::time_point::max()
                           : now + std::chrono::duration_cast<SteadyClock::duration>(timeout);
    return state_->take(out, until);
}

std::uint32_t CallQueue::outstanding() const {
    return state_->outstanding();
}

std::uint32_t CallQueue::capacity() const {
    return state_->capacity();
}

// --- Node: RPC counters and durable state ---

RpcStats Node::rpc_stats() const {
    const auto c = impl_->counters().rpc;
    const auto& e = c.engine;
    RpcStats s;
    s.packets_sent = e.packets_sent;
    s.packets_received = e.packets_received;
    s.malformed_dropped = e.malformed_dropped;
    s.stale_dropped = e.stale_dropped;
    s.calls_started = e.calls_started;
    s.calls_succeeded = e.calls_succeeded;
    s.calls_failed = e.calls_failed;
    s.calls_outstanding = e.calls_outstanding;
    s.request_retransmits = e.request_retransmits;
    s.probes = e.probes;
    s.unreachable_calls = c.unreachable_calls;
    s.startup_dropped = c.startup_dropped;
    s.executions = e.executions;
    s.duplicates_discarded = e.duplicates_discarded;
    s.duplicates_answered = e.duplicates_answered;
    s.busy_refusals = e.busy_refusals;
    s.crashed_reported = e.crashed_reported;
    s.response_retransmits = e.response_retransmits;
    s.responses_abandoned = e.responses_abandoned;
    s.cookies_sent = e.cookies_sent;
    s.address_refusals = e.address_refusals;
    s.cookie_retries = e.cookie_retries;
    s.cache_clients = e.cache_clients;
    s.executing = e.executing;
    s.cache_entries = e.cache_entries;
    s.cache_bytes = e.cache_bytes;
    s.handler_exceptions = c.handler_exceptions;
    s.store_commits = c.store_commits;
    s.store_writes = c.store_writes;
    s.store_errors = c.store_errors;
    return s;
}

Result<std::vector<StateRecord>> Node::read_state(std::string_view prefix) const {
    HERALD_TRY(auto records, impl_->rpc().read_state(std::string(prefix)));
    std::vector<StateRecord> out;
    out.reserve(records.size());
    for (auto& [key, value] : records) out.push_back({std::move(key), std::move(value)});
    return out;
}

}  // namespace herald

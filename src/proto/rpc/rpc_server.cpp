// The server half of the RPC engine. Layer: proto/rpc.
#include "proto/rpc/rpc_server.h"

#include <algorithm>
#include <array>

#include "wire/auth.h"

namespace herald::proto::rpc {
namespace {

TimerId server_timer(std::uint64_t execution) {
    return TimerId{timer_tag::server | execution};
}

CallKey key_of(const Route& route) {
    return CallKey{route.client.node, route.id.incarnation, route.id.seq};
}

// What the client sees of a handler's failure: application_error with the handler's text.
Error application_failure(const Error& error) {
    if (error.code == Errc::application_error) return error;
    return Error{Errc::application_error, error.to_string()};
}

}  // namespace

Status RpcServer::on_serve(Pid server, std::string operation, bool idempotent) {
    if (!server.valid() || server.node != ctx_.self) {
        return fail(Errc::invalid_argument, "server " + to_string(server) + " is not local");
    }
    if (operation.empty() || operation.size() > ctx_.options.operation_bytes_max) {
        return fail(Errc::invalid_argument, "operation name empty or too long");
    }
    auto& operations = services_[server].operations;
    if (operations.contains(operation)) {
        return fail(Errc::already_exists, to_string(server) + " already serves " + operation);
    }
    operations.emplace(std::move(operation), idempotent);
    return {};
}

void RpcServer::on_unserve(Pid server, Time now, Effects& out) {
    services_.erase(server);
    std::vector<std::uint64_t> executions;
    for (const auto& [key, entry] : cache_.all_entries()) {
        if (entry.route.server == server && entry.state == EntryState::executing) {
            executions.push_back(entry.execution);
        }
    }
    for (const auto execution : executions) {
        finish(*cache_.find_execution(execution),
               fail(Errc::server_crashed, "server process exited during the call"), {}, now, out);
    }
}

void RpcServer::on_request(Request& request, const Source& source, Time now, Effects& out) {
    if (!admit_client(request, source, now, out)) return;
    const CallKey key = key_of(request.route);
    if (Entry* entry = cache_.find(key)) {
        if (entry->route.client != request.route.client ||
            entry->route.server != request.route.server) {
            ++ctx_.counters.malformed_dropped;  // Same request id, other pids: not our client.
            return;
        }
        on_duplicate(*entry, request, now, out);
        return;
    }
    on_new(key, request, now, out);
}

// Tracks the client node's incarnation and floor; false when the request is stale (from an
// older incarnation or below the floor) or refused for want of room.
bool RpcServer::admit_client(const Request& request, const Source& source, Time now, Effects& out) {
    const NodeId node = request.route.client.node;
    const auto incarnation = request.route.id.incarnation;
    ClientRecord* client = cache_.client(node);
    if (client == nullptr) {
        if (!admit_new_client(request, source, now, out)) return false;
        client = &cache_.add_client(node, incarnation, source.address);
    }
    if (incarnation < client->incarnation) {
        ++ctx_.counters.stale_dropped;
        return false;
    }
    client->last_heard = now;
    bool moved = false;
    if (incarnation > client->incarnation) {
        client->incarnation = incarnation;  // The client node restarted: its old calls are over.
        client->floor = 0;
        moved = true;
    }
    if (request.floor > client->floor) {
        client->floor = request.floor;
        moved = true;
    }
    if (moved) release(node, *client, out);
    if (request.route.id.seq < client->floor) {
        ++ctx_.counters.stale_dropped;
        return false;
    }
    return true;
}

// Rules 19-20: a node that has not shown it receives at its address gets a cookie and no state
// (as QUIC's Retry); one address gets at most clients_per_address_max records; all of them
// at most clients_max.
bool RpcServer::admit_new_client(const Request& request, const Source& source, Time now,
                                 Effects& out) {
    const auto& options = ctx_.options;
    if (source.address != 0 && options.admission_cookies && !source.proven) {
        const std::int64_t bucket =
            now.ns() / std::max<std::int64_t>(options.cookie_period.ns(), 1);
        const bool proven =
            request.cookie && (*request.cookie == cookie(request, source.address, bucket) ||
                               *request.cookie == cookie(request, source.address, bucket - 1));
        if (!proven) {
            ++ctx_.counters.cookies_sent;
            ctx_.send(request.route.client.node,
                      cookie_packet(request.route, ctx_.incarnation,
                                    cookie(request, source.address, bucket)),
                      out);
            return false;
        }
    }
    if (source.address != 0 &&
        cache_.clients_at(source.address) >= options.clients_per_address_max) {
        ++ctx_.counters.busy_refusals;
        ++ctx_.counters.address_refusals;
        refuse(request.route, Errc::queue_full,
               "server busy: too many client nodes at this address", out);
        return false;
    }
    if (cache_.clients() >= options.clients_max) {
        ++ctx_.counters.busy_refusals;
        refuse(request.route, Errc::queue_full, "server busy: too many client nodes", out);
        return false;
    }
    return true;
}

std::uint64_t RpcServer::cookie(const Request& request, std::uint64_t address,
                                std::int64_t bucket) const {
    std::array<std::uint8_t, 28> message{};
    std::size_t at = 0;
    const auto put = [&](std::uint64_t value, std::size_t bytes) {
        for (std::size_t i = 0; i < bytes; ++i) {
            message[at++] = static_cast<std::uint8_t>(value >> (8 * i));
        }
    };
    put(request.route.client.node.value, 8);
    put(request.route.id.incarnation, 4);
    put(address, 8);
    put(static_cast<std::uint64_t>(bucket), 8);
    return wire::keyed_hash(ctx_.options.cookie_key, ByteView(message.data(), message.size()));
}

void RpcServer::on_duplicate(Entry& entry, const Request& request, Time now, Effects& out) {
    entry.last_heard = now;
    entry.route.attempt = std::max(entry.route.attempt, request.route.attempt);
    switch (entry.state) {
        case EntryState::starting:
        case EntryState::executing:
        case EntryState::finishing:
            ++ctx_.counters.duplicates_discarded;
            // RARA re-acks a lost Ack; RRA acks a client that is resending (rule 2); RR is silent.
            if (entry.route.mode.protocol != Protocol::rr) {
                entry.long_ack_sent = true;
                ctx_.send(entry.route.client.node, ack_packet(entry.route, ctx_.incarnation), out);
            }
            return;
        case EntryState::done:
            ++ctx_.counters.duplicates_answered;
            ctx_.send(entry.route.client.node,
                      response_packet(entry.route, ctx_.incarnation, entry.response), out);
            return;
        case EntryState::acked:
            ++ctx_.counters.stale_dropped;
            return;
        case EntryState::forgotten:
            refuse(entry.route, Errc::response_lost, "reply dropped after the retention time", out);
            return;
        case EntryState::crashed:
            ++ctx_.counters.crashed_reported;
            refuse(entry.route, Errc::server_crashed, "server restarted while running the call",
                   out);
            return;
    }
}

void RpcServer::on_new(const CallKey& key, Request& request, Time now, Effects& out) {
    const Route& route = request.route;
    const auto service = services_.find(route.server);
    if (service == services_.end()) {
        refuse(route, Errc::no_such_process, to_string(route.server) + " serves nothing", out);
        return;
    }
    const auto operation = service->second.operations.find(request.operation);
    if (operation == service->second.operations.end()) {
        refuse(route, Errc::no_such_operation,
               to_string(route.server) + " does not serve " + request.operation, out);
        return;
    }
    Entry entry;
    entry.route = route;
    // Idempotent handlers need no reply cache: running them again changes nothing (rule 6).
    const bool cached = route.mode.semantics == Semantics::exactly_once && !operation->second &&
                        !ctx_.options.mutations.ignore_reply_cache;
    if (!cached) entry.route.mode.semantics = Semantics::at_least_once;
    entry.durable = cached && ctx_.options.durable;
    // An exactly-once call older than `retention` that we do not know may have run here and
    // been forgotten (its client record expired): refuse it rather than run it twice (rule 12).
    if (cached && request.age >= ctx_.options.retention) {
        refuse(route, Errc::response_lost, "call older than the server's retention", out);
        return;
    }
    // A restarted server that cannot prove it never ran the call must not run it (rule 8).
    if (request.target_incarnation != 0 && request.target_incarnation != ctx_.incarnation &&
        !entry.durable) {
        ++ctx_.counters.crashed_reported;
        refuse(route, Errc::server_crashed, "server restarted since it acknowledged the call", out);
        return;
    }
    // The client's oldest call (floor == seq) is admitted even when the cache is full: its
    // tombstones go only when its floor moves past them, and the floor cannot move while its
    // oldest call is refused. One such entry per client node keeps the cache bounded (rule 14).
    const bool oldest = request.floor == route.id.seq;
    if (executing_ >= ctx_.options.executions_max ||
        (!oldest && cache_.full(request.body.size(), false))) {
        ++ctx_.counters.busy_refusals;
        refuse(route, Errc::queue_full, "server busy: reply cache or executions full", out);
        return;
    }
    entry.operation = request.operation;
    entry.last_heard = now;
    entry.execution = next_execution_++;
    if (acks_request(route.mode)) {
        ctx_.send(route.client.node, ack_packet(route, ctx_.incarnation), out);
    }
    if (entry.durable && !ctx_.options.mutations.skip_execution_marker) {
        entry.state = EntryState::starting;
        entry.request = std::move(request.body);
        Entry& stored = cache_.insert(key, std::move(entry));
        const auto token = ctx_.token();
        pending_[token] = Pending{Pending::Kind::start, key};
        persist(key, stored, EntryState::executing, token, out);
        return;
    }
    start(cache_.insert(key, std::move(entry)), std::move(request.body), now, out);
}

void RpcServer::start(Entry& entry, Bytes request, Time now, Effects& out) {
    entry.state = EntryState::executing;
    entry.started = now;
    entry.request.clear();
    entry.request.shrink_to_fit();
    cache_.recount(entry);
    ++executing_;
    if (!services_.contains(entry.route.server)) {
        finish(entry, fail(Errc::no_such_process, "server process exited before the call ran"), {},
               now, out);
        return;
    }
    ++ctx_.counters.executions;
    if (out.tracing) {
        out.trace(now, "rpc_execute",
                  "seq=" + std::to_string(entry.route.id.seq) +
                      " client=" + to_string(entry.route.client) + " op=" + entry.operation);
    }
    out.execute(ExecuteEffect{entry.execution, entry.route.client, entry.route.server,
                              entry.operation, std::move(request)});
    if (entry.route.mode.protocol == Protocol::rra && !entry.long_ack_sent) {
        out.set_timer(server_timer(entry.execution), now + ctx_.options.long_request_threshold);
    }
}

void RpcServer::on_result(std::uint64_t execution, Result<Bytes> response,
                          std::vector<HandlerWrite> writes, Time now, Effects& out) {
    Entry* entry = cache_.find_execution(execution);
    if (entry == nullptr || entry->state != EntryState::executing) {
        ++ctx_.counters.results_ignored;  // Finished already (process exited) or unknown.
        return;
    }
    if (!response) {
        response = tl::make_unexpected(application_failure(response.error()));
    } else if (response->size() > ctx_.options.response_bytes_max) {
        response =
            fail(Errc::too_large, "response of " + std::to_string(response->size()) + " bytes");
    }
    const bool reserved = std::any_of(writes.begin(), writes.end(), [](const HandlerWrite& w) {
        return ReplyCache::reserved_key(w.key);
    });
    if (reserved) {
        writes.clear();
        response =
            fail(Errc::application_error, "handler write uses a reserved prefix (rpc/, node/)");
    }
    finish(*entry, std::move(response), std::move(writes), now, out);
}

void RpcServer::finish(Entry& entry, Result<Bytes> response, std::vector<HandlerWrite> writes,
                       Time now, Effects& out) {
    HERALD_ASSERT(entry.state == EntryState::executing);
    HERALD_ASSERT(executing_ > 0);
    --executing_;
    entry.response = std::move(response);
    cache_.recount(entry);
    const CallKey key = key_of(entry.route);
    if (!entry.durable && writes.empty()) {
        respond(key, entry, now, out);
        return;
    }
    // The handler's writes and the reply are one atomic write (same token): either both are on
    // disk after a crash, or neither, and then the call reads as "crashed" (rule 15).
    const auto token = ctx_.token();
    for (auto& write : writes) {
        if (write.erase) {
            out.erase(token, std::move(write.key));
        } else {
            out.persist(token, std::move(write.key), std::move(write.value));
        }
    }
    if (entry.durable) persist(key, entry, EntryState::done, token, out);
    if (ctx_.options.mutations.respond_before_durable) {
        respond(key, entry, now, out);
        return;
    }
    entry.state = EntryState::finishing;
    pending_[token] = Pending{Pending::Kind::respond, key};
}

void RpcServer::respond(const CallKey& key, Entry& entry, Time now, Effects& out) {
    entry.state = EntryState::done;
    ctx_.send(entry.route.client.node,
              response_packet(entry.route, ctx_.incarnation, entry.response), out);
    if (!acks_response(entry.route.mode)) {
        // RR: no Ack will come. At-least-once keeps nothing (a resent Req runs again, rule 3);
        // exactly-once keeps the reply until the client's floor passes it or `retention`.
        if (entry.route.mode.semantics == Semantics::at_least_once) free(key, out);
        return;
    }
    entry.response_sends = 0;
    entry.response_wait = ctx_.options.response_retransmit_timeout;
    out.set_timer(server_timer(entry.execution), now + ctx_.jittered(entry.response_wait));
}

void RpcServer::on_timer(std::uint64_t execution, Time now, Effects& out) {
    Entry* entry = cache_.find_execution(execution);
    if (entry == nullptr) return;
    if (entry->state == EntryState::executing) {
        if (entry->route.mode.protocol == Protocol::rra && !entry->long_ack_sent) {
            entry->long_ack_sent = true;  // Rule 2: the optional Ack of a long request.
            ctx_.send(entry->route.client.node, ack_packet(entry->route, ctx_.incarnation), out);
        }
        return;
    }
    if (entry->state != EntryState::done || !acks_response(entry->route.mode)) return;
    if (entry->response_sends >= ctx_.options.response_retransmit_limit) {
        // Stop resending. At-least-once forgets (a resent Req runs again); exactly-once keeps
        // the reply for the client's probes.
        if (entry->route.mode.semantics == Semantics::at_least_once) {
            free(key_of(entry->route), out);
        }
        return;
    }
    ++entry->response_sends;
    ++ctx_.counters.response_retransmits;
    ctx_.send(entry->route.client.node,
              response_packet(entry->route, ctx_.incarnation, entry->response), out);
    entry->response_wait = std::min(entry->response_wait * 2, ctx_.options.response_retransmit_max);
    out.set_timer(server_timer(execution), now + ctx_.jittered(entry->response_wait));
}

void RpcServer::on_unreachable(NodeId node, Time now, Effects& out) {
    (void)now;
    auto& entries = cache_.all_entries();
    std::vector<CallKey> forget;
    for (auto it = entries.lower_bound(CallKey{node, 0, 0});
         it != entries.end() && it->first.client_node == node; ++it) {
        Entry& entry = it->second;
        if (entry.state != EntryState::done || !acks_response(entry.route.mode)) continue;
        if (entry.response_sends < ctx_.options.response_retransmit_limit) {
            ++ctx_.counters.responses_abandoned;
        }
        entry.response_sends = ctx_.options.response_retransmit_limit;
        if (entry.route.mode.semantics == Semantics::at_least_once) forget.push_back(it->first);
    }
    for (const CallKey& key : forget) free(key, out);
}

void RpcServer::on_response_ack(const ResponseAck& ack, Time now, Effects& out) {
    const NodeId node = ack.route.client.node;
    ClientRecord* client = cache_.client(node);
    if (client != nullptr && ack.route.id.incarnation == client->incarnation) {
        client->last_heard = now;
        if (ack.floor > client->floor) {
            client->floor = ack.floor;
            release(node, *client, out);
        }
    }
    const CallKey key = key_of(ack.route);
    Entry* entry = cache_.find(key);
    if (entry == nullptr || entry->state != EntryState::done ||
        entry->route.client != ack.route.client) {
        ++ctx_.counters.stale_dropped;
        return;
    }
    out.cancel_timer(server_timer(entry->execution));
    if (entry->route.mode.semantics == Semantics::at_least_once) {
        free(key, out);
        return;
    }
    entry->state = EntryState::acked;  // Keep a tombstone: a late duplicate must not run again.
    entry->response = Bytes{};
    cache_.recount(*entry);
    if (entry->durable) persist(key, *entry, EntryState::acked, ctx_.token(), out);
}

// --- Freeing entries, durable bookkeeping, the periodic sweep ---

void RpcServer::refuse(const Route& route, Errc reason, std::string_view text, Effects& out) {
    ctx_.send(route.client.node, nack_packet(route, ctx_.incarnation, reason, text), out);
}

bool RpcServer::running(const Entry& entry) {
    return entry.state == EntryState::starting || entry.state == EntryState::executing ||
           entry.state == EntryState::finishing;
}

void RpcServer::persist(const CallKey& key, const Entry& entry, EntryState stored,
                        std::uint64_t token, Effects& out) {
    out.persist(token, ReplyCache::entry_key(key), ReplyCache::encode_entry(entry, stored));
}

void RpcServer::free(const CallKey& key, Effects& out) {
    Entry* entry = cache_.find(key);
    if (entry == nullptr) return;
    HERALD_ASSERT(!running(*entry));
    if (entry->durable) out.erase(ctx_.token(), ReplyCache::entry_key(key));
    if (entry->execution != 0) out.cancel_timer(server_timer(entry->execution));
    cache_.erase(key);
}

void RpcServer::forget(const CallKey& key, Entry& entry, Effects& out) {
    if (entry.route.mode.semantics == Semantics::at_least_once) {
        free(key, out);
        return;
    }
    entry.state = EntryState::forgotten;  // Duplicates now get rpc_nack(response_lost).
    entry.response = Bytes{};
    cache_.recount(entry);
    if (entry.execution != 0) out.cancel_timer(server_timer(entry.execution));
    if (entry.durable) persist(key, entry, EntryState::forgotten, ctx_.token(), out);
}

// Frees the client's finished entries below its floor. A durable entry goes only once a floor
// at least as high is on disk: after a crash that floor still marks its duplicates as stale.
void RpcServer::release(NodeId node, ClientRecord& client, Effects& out) {
    const CallKey durable_end{node, client.durable_incarnation, client.floor_durable};
    bool waiting = false;
    cache_.below(node, client.incarnation, client.floor, release_keys_);
    for (const CallKey& key : release_keys_) {
        const Entry& entry = *cache_.find(key);
        if (running(entry)) continue;  // Freed when it finishes and the next release runs.
        if (!entry.durable || key < durable_end) {
            free(key, out);
        } else {
            waiting = true;
        }
    }
    if (waiting) write_floor(node, client, out);
}

void RpcServer::write_floor(NodeId node, ClientRecord& client, Effects& out) {
    if (client.floor_writing) return;  // on_durable of the write in flight releases again.
    client.floor_writing = true;
    const auto token = ctx_.token();
    pending_[token] =
        Pending{Pending::Kind::floor, CallKey{node, client.incarnation, client.floor}};
    out.persist(token, ReplyCache::floor_key(node), ReplyCache::encode_floor(client));
}

bool RpcServer::serves(Pid server, std::string_view operation) const {
    const auto it = services_.find(server);
    return it != services_.end() && it->second.operations.contains(operation);
}

void RpcServer::on_durable(std::uint64_t token, const Status& status, Time now, Effects& out) {
    const auto it = pending_.find(token);
    if (!status) ++ctx_.counters.store_failures;
    if (it == pending_.end()) return;  // A write nobody waits for (tombstone, erase).
    const Pending pending = it->second;
    pending_.erase(it);
    if (!status) {
        on_write_failed(pending, status.error(), now, out);
        return;
    }
    switch (pending.kind) {
        case Pending::Kind::start:
            if (Entry* entry = cache_.find(pending.key);
                entry != nullptr && entry->state == EntryState::starting) {
                Bytes request = std::move(entry->request);
                start(*entry, std::move(request), now, out);
            }
            return;
        case Pending::Kind::respond:
            if (Entry* entry = cache_.find(pending.key);
                entry != nullptr && entry->state == EntryState::finishing) {
                respond(pending.key, *entry, now, out);
            }
            return;
        case Pending::Kind::floor:
            if (ClientRecord* client = cache_.client(pending.key.client_node)) {
                client->floor_writing = false;
                client->durable_incarnation = pending.key.incarnation;
                client->floor_durable = pending.key.seq;
                release(pending.key.client_node, *client, out);
            }
            return;
    }
}

void RpcServer::on_write_failed(const Pending& pending, const Error& error, Time now,
                                Effects& out) {
    // Nothing of the write is on disk. A call waiting on it is answered with storage_error
    // (its handler did not run, or ran with its writes lost: either way nothing of it is
    // durable) rather than left unanswered; a floor is written again at the next release.
    const auto failed = [&] {
        return fail(Errc::storage_error, "the server's durable store failed: " + error.detail);
    };
    switch (pending.kind) {
        case Pending::Kind::start:
            if (Entry* entry = cache_.find(pending.key);
                entry != nullptr && entry->state == EntryState::starting) {
                entry->request.clear();
                entry->response = failed();
                cache_.recount(*entry);
                respond(pending.key, *entry, now, out);
            }
            return;
        case Pending::Kind::respond:
            if (Entry* entry = cache_.find(pending.key);
                entry != nullptr && entry->state == EntryState::finishing) {
                entry->response = failed();
                cache_.recount(*entry);
                respond(pending.key, *entry, now, out);
            }
            return;
        case Pending::Kind::floor:
            if (ClientRecord* client = cache_.client(pending.key.client_node)) {
                client->floor_writing = false;
            }
            return;
    }
}

void RpcServer::arm_sweep(Time now, Effects& out) {
    if (sweep_armed_ || (cache_.entries() == 0 && cache_.clients() == 0)) return;
    sweep_armed_ = true;
    const auto period = std::max(ctx_.options.retention / 4, Duration::milliseconds(1));
    out.set_timer(TimerId{timer_tag::sweep}, now + period);
}

void RpcServer::on_sweep(Time now, Effects& out) {
    sweep_armed_ = false;
    std::vector<NodeId> nodes;
    nodes.reserve(cache_.clients());
    for (const auto& [node, client] : cache_.all_clients()) nodes.push_back(node);
    for (const NodeId node : nodes) {
        if (ClientRecord* client = cache_.client(node)) sweep_client(node, *client, now, out);
    }
    arm_sweep(now, out);
}

// Drops replies not fetched for `retention`; forgets a client node silent for `retention`
// (with its tombstones: the maximum packet lifetime assumption, docs/rpc.md).
void RpcServer::sweep_client(NodeId node, ClientRecord& client, Time now, Effects& out) {
    if (!client.last_heard) client.last_heard = now;  // Restored: start its clock now.
    const auto retention = ctx_.options.retention;
    const bool idle = now - *client.last_heard >= retention;
    bool busy = false;
    for (const CallKey& key : cache_.of_client(node)) {
        Entry& entry = *cache_.find(key);
        if (running(entry)) {
            busy = true;
        } else if (idle) {
            free(key, out);
        } else if (entry.state == EntryState::done && now - entry.last_heard >= retention) {
            forget(key, entry, out);
        }
    }
    if (!idle) {
        release(node, client, out);
        return;
    }
    if (busy) return;
    if (ctx_.options.durable) out.erase(ctx_.token(), ReplyCache::floor_key(node));
    cache_.erase_client(node);
}

void RpcServer::on_restore(std::span<const std::pair<std::string, Bytes>> records) {
    ctx_.counters.bad_records += cache_.restore(records);
}

}  // namespace herald::proto::rpc

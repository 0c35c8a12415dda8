// Node: ping / connect by URL (the direct engine's hello to an address handle, before the
// peer's id is known), the address handles, and counters. Layer: runtime.
#include <chrono>
#include <future>

#include "core/assert.h"
#include "runtime/node.h"
#include "runtime/node_rpc.h"

namespace herald::runtime {

namespace {

// Address handles of pings to URLs at once; more fail with queue_full.
constexpr std::size_t addresses_max = 4096;

// The body of a completed ping of an address (DirectEngine::on_ping_address): u64 round-trip
// ns, u64 node id, u32 incarnation, all little-endian.
Result<PingResult> decode_ping(const Bytes& body, const Endpoint& to) {
    if (body.size() != 20) return fail(Errc::malformed, "ping result of unexpected size");
    const auto u64_at = [&](std::size_t at) {
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < 8; ++i) v |= std::uint64_t{body[at + i]} << (8 * i);
        return v;
    };
    std::uint32_t incarnation = 0;
    for (std::size_t i = 0; i < 4; ++i) incarnation |= std::uint32_t{body[16 + i]} << (8 * i);
    PingResult result;
    result.rtt = Duration::nanoseconds(static_cast<std::int64_t>(u64_at(0)));
    result.node = NodeId{u64_at(8)};
    result.incarnation = incarnation;
    result.endpoint = to;
    return result;
}

}  // namespace

Result<PingResult> Node::ping(const Endpoint& to, Duration timeout) {
    if (loop_.in_loop_thread()) {
        return fail(Errc::invalid_argument, "blocking ping on the node's loop thread");
    }
    auto promise = std::make_shared<std::promise<Result<PingResult>>>();
    auto future = promise->get_future();
    HERALD_TRY(ping_async(to, timeout, [promise](Result<PingResult> result) {
        promise->set_value(std::move(result));
    }));
    return future.get();  // Always completes: reply, the engine's deadline, or shutdown.
}

Status Node::ping_async(const Endpoint& to, Duration timeout, PingCallback done) {
    if (stopped()) return fail(Errc::closed, "node stopped");
    HERALD_TRY(reserve_command());
    if (!loop_.post([this, to, timeout, done = std::move(done)]() mutable {
            release_command();
            start_ping(to, timeout, std::move(done));
        })) {
        release_command();
        return fail(Errc::closed, "node stopped");
    }
    return {};
}

void Node::start_ping(const Endpoint& to, Duration timeout, PingCallback done) {
    if (shut_down_) {
        upcall(done, fail(Errc::closed, "node stopped"));
        return;
    }
    if (to == listen_) {
        // Our own address: the engine would answer itself internally, never through here.
        upcall(done, PingResult{id_, incarnation_, Duration::zero(), listen_});
        return;
    }
    const std::optional<std::uint32_t> address = claim_address(to);
    if (!address) {
        upcall(done, fail(Errc::queue_full, "too many pings of addresses at once"));
        return;
    }
    const Time t = now();
    const Time deadline = timeout == Duration::max() ? Time::max() : t + timeout;
    // The hello and its retries are the direct engine's (DirectEngine::on_ping_address); the
    // address handle maps its Destination::address sends to `to` (Node::route).
    const proto::OperationId op = begin_operation([this, to, handle = *address,
                                                   done = std::move(done)](Result<Bytes> result) {
        release_address(handle);
        if (!result) {
            Error error = std::move(result.error());
            if (error.code == Errc::unreachable) {
                error.detail = "no hello_reply from " + to_string(to) + " (" + error.detail + ")";
            }
            done(tl::make_unexpected(std::move(error)));
            return;
        }
        done(decode_ping(*result, to));
    });
    run<proto::direct::DirectEngine>(direct_slot_, [&](auto& direct, proto::Effects& out) {
        direct.on_ping_address(op, *address, deadline, t, out);
    });
}

std::optional<std::uint32_t> Node::claim_address(const Endpoint& endpoint) {
    if (auto it = address_handles_.find(endpoint); it != address_handles_.end()) {
        ++addresses_[it->second - 1].users;
        return it->second;
    }
    std::uint32_t handle = 0;
    if (!free_addresses_.empty()) {
        handle = free_addresses_.back();
        free_addresses_.pop_back();
        addresses_[handle - 1] = AddressEntry{endpoint, 1};
    } else if (addresses_.size() < addresses_max) {
        addresses_.push_back(AddressEntry{endpoint, 1});
        handle = static_cast<std::uint32_t>(addresses_.size());
    } else {
        return std::nullopt;
    }
    address_handles_.emplace(endpoint, handle);
    return handle;
}

void Node::release_address(std::uint32_t handle) {
    HERALD_ASSERT(handle >= 1);
    HERALD_ASSERT(handle <= addresses_.size());
    AddressEntry& entry = addresses_[handle - 1];
    HERALD_ASSERT(entry.users > 0);
    if (--entry.users > 0) return;
    address_handles_.erase(entry.endpoint);
    free_addresses_.push_back(handle);
}

const Endpoint* Node::address(std::uint32_t handle) const {
    if (handle == 0 || handle > addresses_.size() || addresses_[handle - 1].users == 0) {
        return nullptr;
    }
    return &addresses_[handle - 1].endpoint;
}

Node::Counters Node::counters() const {
    {
        std::lock_guard lock(final_mutex_);
        if (final_counters_) return *final_counters_;
    }
    auto promise = std::make_shared<std::promise<Counters>>();
    auto future = promise->get_future();
    if (!loop_.post([this, promise] { promise->set_value(snapshot()); })) {
        std::lock_guard lock(final_mutex_);
        return final_counters_ ? *final_counters_ : Counters{};
    }
    return future.get();
}

Node::Counters Node::snapshot() const {
    Counters c = counters_;
    c.direct = direct_->counters();
    c.transport = transport_->counters();
    c.link = link_->counters();
    c.authenticated = link_->authenticated();
    c.encrypted = link_->encrypting();
    c.peers = peers_.counters();
    c.paths = path_checks_.counters();
    c.peers_known = peers_.size();
    c.processes = processes_.size();
    c.operations_pending = ops_.size();
    c.acks_coalesced = c.direct.acks_coalesced;
    c.loopback_packets = engines_->loopback_packets();
    c.rpc = rpc_->counters();
    c.peer_state_entries = peers_.size() + path_checks_.size() + c.link.replay_senders +
                           c.direct.peers_live + c.rpc.engine.cache_clients;
    c.peer_state_bytes = peers_.memory_bytes() + path_checks_.memory_bytes() + c.link.replay_bytes +
                         c.direct.peer_bytes + c.rpc.engine.client_bytes;
    if (store_) {
        const auto store = store_->counters();
        c.store_commits = store.commits;
        c.store_writes = store.writes;
    }
    c.loop_polls = loop_.polls();
    c.rpc.store_commits = c.store_commits;
    c.rpc.store_writes = c.store_writes;
    c.rpc.store_errors = c.store_errors;
    c.rpc.durable_pending = c.durable_pending;
    return c;
}

}  // namespace herald::runtime

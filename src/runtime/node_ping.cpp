// Node: ping / connect by URL (hello and hello_reply at node level, before the peer's id is
// known), and counters. Layer: runtime.
#include <chrono>
#include <future>

#include "core/assert.h"
#include "runtime/node.h"
#include "runtime/node_rpc.h"

namespace herald::runtime {

namespace {

// First hello retry after 50 ms (several loopback round trips), doubling up to 1 s: a lost
// hello costs little time on a LAN, and a dead address is not flooded.
constexpr Duration hello_retry_initial = Duration::milliseconds(50);
constexpr Duration hello_retry_max = Duration::seconds(1);

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
    return future.get();  // start_ping always completes: reply, deadline timer or shutdown.
}

Status Node::ping_async(const Endpoint& to, Duration timeout, PingCallback done) {
    if (stopped()) return fail(Errc::closed, "node stopped");
    if (!loop_.post([this, to, timeout, done = std::move(done)]() mutable {
            start_ping(to, timeout, std::move(done));
        })) {
        return fail(Errc::closed, "node stopped");
    }
    return {};
}

void Node::start_ping(const Endpoint& to, Duration timeout, PingCallback done) {
    if (shut_down_) {
        done(fail(Errc::closed, "node stopped"));
        return;
    }
    if (to == listen_) {
        // Our own address: the engine would answer itself internally, never through here.
        done(PingResult{id_, incarnation_, Duration::zero(), listen_});
        return;
    }
    const Time t = now();
    const std::uint64_t id = timer_next_++;
    PendingPing ping;
    ping.to = to;
    ping.deadline = timeout == Duration::max() ? Time::max() : t + timeout;
    ping.backoff = hello_retry_initial;
    ping.done = std::move(done);
    auto& entry = pings_.emplace(id, std::move(ping)).first->second;
    send_hello(id, entry, t);
    rearm();
    schedule_flush();
}

void Node::send_hello(std::uint64_t id, PendingPing& ping, Time now_time) {
    // The nonce travels in timestamp_ns and comes back echoed in hello_reply; it is the wall
    // clock made unique, so that it still reads as a timestamp in traces.
    std::int64_t nonce = clock_.unix_ns();
    if (nonce <= nonce_last_) nonce = nonce_last_ + 1;
    nonce_last_ = nonce;
    if (ping.nonce != 0) ping_by_nonce_.erase(ping.nonce);
    ping.nonce = nonce;
    ping.sent_at = now_time;
    ping_by_nonce_[nonce] = id;
    wire::Packet hello;
    hello.header.kind = wire::PacketKind::hello;
    hello.header.source = Pid{id_, 0};
    hello.header.source_incarnation = incarnation_;
    hello.header.timestamp_ns = nonce;
    link_->send_to(ping.to, hello);
    const Time retry = std::min(ping.deadline, now_time + ping.backoff);
    node_timers_.set(node_timer(NodeTimer::ping, id), retry);
}

void Node::on_ping_timer(std::uint64_t id, Time now_time) {
    auto it = pings_.find(id);
    if (it == pings_.end()) return;
    PendingPing& ping = it->second;
    if (now_time >= ping.deadline) {
        auto done = std::move(ping.done);
        ping_by_nonce_.erase(ping.nonce);
        const std::string url = to_string(ping.to);
        pings_.erase(it);
        done(fail(Errc::unreachable, "no hello_reply from " + url));
        return;
    }
    ping.backoff = std::min(ping.backoff * 2, hello_retry_max);
    send_hello(id, ping, now_time);
    schedule_flush();
}

bool Node::on_hello_reply(const Endpoint& from, const wire::Packet& packet, Time now_time) {
    auto by_nonce = ping_by_nonce_.find(packet.header.timestamp_ns);
    if (by_nonce == ping_by_nonce_.end()) return false;
    const std::uint64_t id = by_nonce->second;
    ping_by_nonce_.erase(by_nonce);
    auto it = pings_.find(id);
    HERALD_ASSERT(it != pings_.end());
    PendingPing ping = std::move(it->second);
    pings_.erase(it);
    node_timers_.cancel(node_timer(NodeTimer::ping, id));
    PingResult result;
    result.node = packet.header.source.node;
    result.incarnation = packet.header.source_incarnation;
    result.rtt = now_time - ping.sent_at;
    result.endpoint = from;
    ping.done(std::move(result));
    return true;
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
    c.peers = peers_.counters();
    c.peers_known = peers_.size();
    c.processes = processes_.size();
    c.operations_pending = ops_.size();
    c.acks_coalesced = c.direct.acks_coalesced;
    c.loopback_packets = engines_->loopback_packets();
    c.rpc = rpc_->counters();
    if (store_) {
        const auto store = store_->counters();
        c.store_commits = store.commits;
        c.store_writes = store.writes;
    }
    c.rpc.store_commits = c.store_commits;
    c.rpc.store_writes = c.store_writes;
    c.rpc.store_errors = c.store_errors;
    c.rpc.durable_pending = c.durable_pending;
    return c;
}

}  // namespace herald::runtime

// Node: lifecycle, dispatch of received packets, the engines' effects and timers, shutdown.
// Layer: runtime. Application-thread commands are in node_commands.cpp, ping in node_ping.cpp.
#include "runtime/node.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <future>
#include <limits>
#include <random>

#include "core/assert.h"
#include "runtime/incarnation.h"
#include "runtime/node_rpc.h"

namespace herald::runtime {

namespace {

// FNV-1a over the canonical URL, then a splitmix64 finalizer so that similar URLs (ports
// 7400 and 7401) get unrelated ids.
NodeId derive_node_id(std::string_view url) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (char c : url) {
        h ^= static_cast<std::uint8_t>(c);
        h *= 0x100000001b3ULL;
    }
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return NodeId{h == 0 ? 1 : h};
}

std::uint64_t random_seed(std::int64_t unix_ns) {
    std::random_device device;
    return (std::uint64_t{device()} << 32 | device()) ^ static_cast<std::uint64_t>(unix_ns);
}

Result<FaultOptions> fault_options(const NodeConfig& config) {
    std::string spec = config.faults;
    if (spec.empty() && config.faults_from_env) {
        if (const char* env = std::getenv("HERALD_FAULTS")) spec = env;
    }
    if (spec.empty()) return FaultOptions{};
    return parse_fault_options(spec);
}

}  // namespace

Node::Node(Private, NodeConfig config)
    : config_(std::move(config)),
      clock_(SystemClock::instance()),
      peers_(config_.peers_max),
      random_(random_seed(clock_.unix_ns())) {}

Node::~Node() {
    HERALD_ASSERT(!loop_.in_loop_thread());  // The loop cannot join itself.
    stop();
}

Result<std::shared_ptr<Node>> Node::start(NodeConfig config) {
    if (config.peers_max == 0 || config.commands_max == 0 || config.processes_max == 0) {
        return fail(Errc::invalid_argument, "peers_max, commands_max, processes_max must be > 0");
    }
    auto node = std::make_shared<Node>(Private{}, std::move(config));
    HERALD_TRY(node->open(node->config_));
    node->start_loop();
    return node;
}

Status Node::open(const NodeConfig& config) {
    HERALD_TRY(Endpoint endpoint, parse_endpoint(config.listen_url));
    HERALD_TRY(FaultOptions faults, fault_options(config));
    HERALD_TRY(transport_, open_transport(loop_.io(), endpoint, config.transport));
    if (faults.any()) transport_ = with_faults(loop_.io(), std::move(transport_), faults);
    listen_ = transport_->local_endpoint();
    id_ = config.id.known() ? config.id : derive_node_id(to_string(listen_));
    // Claimed (durably, with a data_dir) before anything can answer: see incarnation.h.
    HERALD_TRY(incarnation_, start_incarnation(config, clock_.unix_ns()));
    peers_.learn(id_, listen_, now());
    LinkOptions link_options;
    link_options.message_bytes_max = config.direct.body_bytes_max + (std::size_t{64} << 10);
    link_options.reassembly = config.reassembly;
    link_ = std::make_unique<Link>(*transport_, peers_, link_options);
    direct_ =
        std::make_unique<proto::direct::DirectEngine>(id_, incarnation_, config.direct, random_);
    direct_host_ = std::make_unique<DirectHost>(*direct_);
    direct_slot_.engine = direct_host_.get();
    for (auto kind : direct_host_->kinds()) {
        HERALD_ASSERT(by_kind_[static_cast<std::uint8_t>(kind)] == nullptr);
        by_kind_[static_cast<std::uint8_t>(kind)] = &direct_slot_;
    }
    HERALD_TRY(rpc_, NodeRpc::open(*this, config));
    wake_timer_ = std::make_unique<asio::steady_timer>(loop_.io());
    return {};
}

void Node::start_loop() {
    std::promise<void> started;
    auto done = started.get_future();
    loop_.start();
    const bool posted = loop_.post([this, &started] {
        transport_->start(
            [this](const Endpoint& from, ByteView datagram) { on_datagram(from, datagram); });
        started.set_value();
    });
    HERALD_ASSERT(posted);
    done.wait();
}

proto::TimerId Node::node_timer(NodeTimer kind, std::uint64_t id) {
    HERALD_ASSERT(id < (std::uint64_t{1} << 56));
    return proto::TimerId{std::uint64_t{static_cast<std::uint8_t>(kind)} << 56 | id};
}

void Node::on_datagram(const Endpoint& from, ByteView datagram) {
    if (shut_down_) return;
    const Time t = now();
    bool whole = false;
    link_->receive(datagram, t, [&](wire::Packet&& packet) {
        whole = true;
        if (!shut_down_) on_packet(from, packet, t);
    });
    if (!whole) rearm();  // A new partial message may need the reassembly timeout.
}

void Node::on_packet(const Endpoint& from, wire::Packet& packet, Time t) {
    const NodeId source = packet.header.source.node;
    if (!source.known()) {
        ++counters_.packets_anonymous;  // Bad input from outside: count and drop.
        return;
    }
    if (source != id_) peers_.learn(source, from, t);
    if (packet.header.kind == wire::PacketKind::hello_reply) {
        // Answers a node-level ping when it echoes one of our nonces; the engine sees it too,
        // so that it learns the peer's incarnation.
        on_hello_reply(from, packet, t);
    }
    dispatch_packet(source, packet, t);
}

void Node::dispatch_packet(NodeId from, wire::Packet& packet, Time now_time) {
    ++counters_.packets_received;
    if (packet.header.kind == wire::PacketKind::hello) ++counters_.pings_answered;
    const auto kind = packet.header.kind;
    if (refusing_ && from != id_ &&
        (kind == wire::PacketKind::data || kind == wire::PacketKind::rpc_request)) {
        ++counters_.incoming_refused;  // Unacknowledged: the sender never counts it accepted.
        return;
    }
    EngineSlot* slot = by_kind_[static_cast<std::uint8_t>(kind)];
    if (slot == nullptr) {
        ++counters_.packets_unhandled;  // A kind no hosted engine speaks (yet): drop.
        return;
    }
    // Credit in the ack must count what the target process took (lazy reports: node_receive).
    if (kind == wire::PacketKind::data) fold_consumed(packet.header.target);
    run_engine(*slot, now_time,
               [&](proto::Effects& out) { slot->engine->on_packet(from, packet, now_time, out); });
}

void Node::apply_effects(EngineSlot& slot, Time now_time) {
    for (auto& send : effects_.sends) route(send);
    for (auto& timer : effects_.timers) slot.timers.apply(timer);
    for (auto& delivery : effects_.deliveries) deliver(std::move(delivery.message), now_time);
    if (rpc_->owns(slot)) {
        rpc_->apply(effects_, now_time);  // Call completions, handler runs, durable writes.
        effects_.clear();
        return;
    }
    for (auto& completion : effects_.completions) {
        complete(completion.op, std::move(completion.result));
    }
    // Only the RPC engine executes handlers and writes durably.
    HERALD_ASSERT(effects_.executions.empty());
    HERALD_ASSERT(effects_.persists.empty());
    effects_.clear();
}

void Node::run_deferred() {
    if (running_deferred_) return;  // The outer call keeps draining.
    running_deferred_ = true;
    while (!deferred_.empty()) {
        auto input = std::move(deferred_.front());
        deferred_.pop_front();
        input();
    }
    running_deferred_ = false;
}

void Node::route(proto::SendEffect& send) {
    if (send.to == id_) {
        // A process on this node: hand the packet to the engine directly (after the current
        // effects are applied), without encoding or a system call.
        deferred_.push_back([this, packet = std::move(send).take()]() mutable {
            if (!shut_down_) dispatch_packet(id_, packet, now());
        });
        return;
    }
    if (coalesce_ack(send)) return;
    link_->send(send.to, send.parts());
}

bool Node::coalesce_ack(proto::SendEffect& send) {
    // Direct acks are cumulative (README rule 5 of proto/direct): of the acks one channel gets
    // within a loop batch, the last says all the others say. Keep only it and send it at the
    // batch's flush: one ack per channel per batch instead of one per data packet. To the
    // sender, the dropped ones look like acks lost on the way, which it tolerates.
    const wire::Header& h = send.packet.header;
    if (h.kind != wire::PacketKind::ack || (h.flags & wire::flag::offer) != 0) return false;
    const AckKey key{h.source, h.target};
    auto it = pending_acks_.find(key);
    if (it == pending_acks_.end()) {
        if (pending_acks_.size() >= pending_acks_max) return false;  // Bounded: send it now.
        pending_acks_.emplace(key, PendingAck{send.to, std::move(send.packet)});
        return true;
    }
    const wire::Header& held = it->second.packet.header;
    if (held.epoch != h.epoch || held.ack > h.ack) return false;  // Not a successor: keep both.
    it->second = PendingAck{send.to, std::move(send.packet)};
    ++counters_.acks_coalesced;
    return true;
}

void Node::flush_acks() {
    for (auto& [key, pending] : pending_acks_) link_->send(pending.to, pending.packet);
    pending_acks_.clear();
}

void Node::deliver(Message message, Time now_time) {
    HERALD_ASSERT(message.target.node == id_);
    auto it = processes_.find(message.target.local);
    if (it == processes_.end()) {
        ++counters_.deliveries_dropped;  // The process exited after the engine took it.
        return;
    }
    ProcessState& process = *it->second;
    const auto& from = process.async_from;
    if (process.async_receiver &&
        (from.empty() || std::find(from.begin(), from.end(), message.source) != from.end())) {
        finish_async_receive(process, std::move(message), now_time);
        return;
    }
    if (!process.push(std::move(message))) ++counters_.deliveries_dropped;
}

void Node::complete(proto::OperationId op, Result<Bytes> result) {
    auto it = ops_.find(op);
    HERALD_ASSERT(it != ops_.end());  // Engines complete each operation exactly once.
    SendCallback done = std::move(it->second);
    ops_.erase(it);
    if (result) {
        done(Status{});
    } else {
        done(fail(std::move(result.error())));
    }
    if (draining_ && ops_.empty() && rpc_->drained()) {
        deferred_.push_back([this] { finish_shutdown(); });
    }
}

void Node::rearm() {
    if (shut_down_) return;
    Time earliest = Time::max();
    auto consider = [&](std::optional<Time> t) {
        if (t && *t < earliest) earliest = *t;
    };
    consider(direct_slot_.timers.earliest());
    consider(rpc_->earliest());
    consider(node_timers_.earliest());
    if (auto t = link_->next_deadline()) {
        node_timers_.set(node_timer(NodeTimer::reassembly, 0), *t);
        consider(t);
    }
    // Re-arm only when something is due earlier than the armed wake-up: a wake-up that comes
    // too early just re-arms, which is cheaper than moving the timer on every engine input.
    if (earliest >= wake_at_) return;
    wake_at_ = earliest;
    wake_timer_->expires_at(
        asio::steady_timer::time_point(std::chrono::nanoseconds(earliest.ns())));
    wake_timer_->async_wait([this](const std::error_code& error) {
        if (!error) on_wake();
    });
}

void Node::on_wake() {
    wake_at_ = Time::max();
    if (shut_down_) return;
    const Time t = now();
    while (auto id = direct_slot_.timers.pop_due(t)) {
        run_engine(direct_slot_, t,
                   [&](proto::Effects& out) { direct_slot_.engine->on_timer(*id, t, out); });
        if (shut_down_) return;
    }
    rpc_->on_wake(t);
    if (shut_down_) return;
    while (auto id = node_timers_.pop_due(t)) {
        on_node_timer(*id, t);
        if (shut_down_) return;
    }
    rearm();
}

void Node::on_node_timer(proto::TimerId id, Time now_time) {
    const auto kind = static_cast<NodeTimer>(id.value >> 56);
    const std::uint64_t value = id.value & ((std::uint64_t{1} << 56) - 1);
    switch (kind) {
        case NodeTimer::ping:
            on_ping_timer(value, now_time);
            break;
        case NodeTimer::receive:
            if (auto it = receive_timers_.find(value); it != receive_timers_.end()) {
                const Pid pid = it->second;
                receive_timers_.erase(it);
                auto process = processes_.find(pid.local);
                if (process != processes_.end() && process->second->async_timer == value) {
                    finish_async_receive(*process->second,
                                         fail(Errc::timeout, "receive_async timed out"), now_time);
                }
            }
            break;
        case NodeTimer::reassembly:
            link_->expire(now_time);
            break;
        case NodeTimer::drain:
            finish_shutdown();
            break;
    }
    run_deferred();
}

void Node::schedule_flush() {
    if (flush_scheduled_ || shut_down_) return;
    flush_scheduled_ = true;
    // Runs after the handlers already queued (the rest of a receive batch, other commands),
    // so one flush (one sendmmsg) covers everything they sent.
    asio::post(loop_.io(), [this] {
        flush_scheduled_ = false;
        if (shut_down_) return;
        flush_acks();
        link_->flush();
        transport_->flush();
    });
}

Status Node::refuse_incoming() {
    if (loop_.in_loop_thread()) {
        return fail(Errc::invalid_argument, "blocking call on the node's loop thread");
    }
    auto promise = std::make_shared<std::promise<void>>();
    auto future = promise->get_future();
    if (!loop_.post([this, promise] {
            refusing_ = true;
            promise->set_value();
        })) {
        return fail(Errc::closed, "node stopped");
    }
    future.wait();
    return {};
}

void Node::stop() {
    const bool first = !stopping_.exchange(true, std::memory_order_acq_rel);
    if (loop_.in_loop_thread()) {
        // From a callback: the loop cannot wait for itself. Start the drain; whoever calls
        // stop() (or destroys the node) from another thread joins.
        if (first) begin_drain();
        return;
    }
    // A failed post means the loop is already closed: nothing is left to drain.
    if (first) static_cast<void>(loop_.post([this] { begin_drain(); }));
    loop_.join();
    if (rpc_) rpc_->join();  // Handler and store threads (they only post to the closed loop).
}

void Node::begin_drain() {
    if (shut_down_) return;
    draining_ = true;
    if (ops_.empty() && rpc_->drained()) {
        finish_shutdown();
        return;
    }
    node_timers_.set(node_timer(NodeTimer::drain, 0), now() + config_.drain_max);
    rearm();
}

void Node::finish_shutdown() {
    if (shut_down_) return;
    {
        std::lock_guard lock(final_mutex_);
        final_counters_ = std::make_unique<Counters>(snapshot());
    }
    shut_down_ = true;
    auto ops = std::move(ops_);
    for (auto& [op, done] : ops) done(fail(Errc::closed, "node stopped"));
    auto pings = std::move(pings_);
    for (auto& [id, ping] : pings) ping.done(fail(Errc::closed, "node stopped"));
    for (auto& [local, process] : processes_) {
        if (process->async_receiver) {
            auto done = std::move(process->async_receiver);
            process->async_receiver = nullptr;
            done(fail(Errc::closed, "node stopped"));
        }
        process->close();
    }
    processes_.clear();
    rpc_->shutdown();
    flush_acks();
    link_->flush();
    transport_->flush();
    transport_->close();
    wake_timer_->cancel();
    loop_.close();
}

}  // namespace herald::runtime

// DirectState: tables, bounds, packet dispatch, process lifecycle and the idle sweep.
// Layer: proto/direct.
#include "proto/direct/direct_state.h"

#include <algorithm>
#include <string>

#include "core/assert.h"
#include "core/memory.h"
#include "proto/direct/direct_messages.h"
#include "proto/fields.h"

namespace herald::proto::direct {

namespace {
constexpr std::uint64_t timer_key_mask = (std::uint64_t{1} << 56) - 1;
}  // namespace

TimerId make_timer(TimerKind kind, std::uint64_t key) {
    HERALD_ASSERT(key <= timer_key_mask);
    return TimerId{(std::uint64_t{static_cast<std::uint8_t>(kind)} << 56) | key};
}

DirectState::DirectState(NodeId self, std::uint32_t incarnation, const DirectOptions& options,
                         Random& random)
    : self_(self), incarnation_(incarnation), options_(options), next_epoch_(random.next_u32()) {
    // Drawn even when overridden, so that an override shifts no other draw from `random`.
    if (options.epoch_first != 0) next_epoch_ = options.epoch_first;
    HERALD_ASSERT(self.known());
    HERALD_ASSERT(incarnation != 0);
    HERALD_ASSERT(options.window_messages >= 1);
    HERALD_ASSERT(options.channel_buffer_max >= 1);
    HERALD_ASSERT(options.channels_max >= 1);
    HERALD_ASSERT(options.retransmit_initial > Duration::zero());
    HERALD_ASSERT(options.retransmit_max >= options.retransmit_initial);
    HERALD_ASSERT(options.peer_timeout > Duration::zero());
    HERALD_ASSERT(options.channel_idle > Duration::zero());
    Peer& me = peer_for(self, Time::zero());
    me.incarnation = incarnation;
}

void DirectState::emit(NodeId to, wire::Packet packet, Effects& out,
                       std::shared_ptr<const Bytes> shared_body) {
    ++counters_.packets_sent;
    // A migrated process's packets say where they come from (docs/migration.md M3).
    if (packet.header.source.node != self_ &&
        packet.find(wire::ExtensionType::forwarded) == nullptr) {
        put_u64_extension(packet, wire::ExtensionType::location, self_.value);
    }
    // One to this node itself goes straight back in through the EngineSet (loopback).
    out.send(to, std::move(packet), std::move(shared_body));
}

void DirectState::end_input(Time now, Effects& out) {
    arm_sweep(now, out);
}

void DirectState::malformed(Time now, Effects& out, const char* why) {
    ++counters_.malformed_dropped;
    trace(out, now, "malformed_dropped", [&] { return std::string("why=") + why; });
}

void DirectState::stale(Time now, Effects& out, const char* why) {
    ++counters_.duplicates_dropped;
    trace(out, now, "stale_dropped", [&] { return std::string("why=") + why; });
}

bool DirectState::at_channel_bound() const {
    return senders_.size() + receivers_.size() >= options_.channels_max;
}

Peer& DirectState::peer_for(NodeId node, Time now) {
    auto it = peers_.find(node);
    if (it != peers_.end()) return it->second;
    Peer peer;
    peer.id = next_peer_id_++;
    peer.node = node;
    peer.last_heard = now;
    peer_nodes_[peer.id] = node;
    return peers_.emplace(node, peer).first->second;
}

Peer* DirectState::peer_by_id(std::uint64_t id) {
    auto it = peer_nodes_.find(id);
    if (it == peer_nodes_.end()) return nullptr;
    return &peers_.at(it->second);
}

void DirectState::on_spawn(Pid pid, const ProcessOptions& options, Time /*now*/, Effects& /*out*/) {
    HERALD_ASSERT(pid.node == self_);
    HERALD_ASSERT(pid.local != 0);
    forwards_.erase(pid);  // A new process under a pid that once left: it is here now.
    LocalProcess& process = processes_[pid];
    process.options = options;
    if (options.buffering == Buffering::single) process.options.queue_limit = 1;
    process.options.queue_limit = std::max<std::uint32_t>(1, process.options.queue_limit);
}

void DirectState::on_exit(Pid pid, Time now, Effects& out) {
    auto it = processes_.find(pid);
    if (it == processes_.end()) return;
    if (it->second.migrating != 0) {
        abort_out(it->second.migrating, Errc::closed, "the process exited", now, out);
    }
    for (std::uint64_t id : sender_ids_of(pid)) {
        fail_channel(senders_.at(id), Errc::closed, true, out);
        release_sender(id, out);
    }
    for (const Pid& source : sources_of(pid)) erase_receiver({source, pid}, out);
    processes_.erase(pid);
    trace(out, now, "process_exit", [&] { return "pid=" + to_string(pid); });
}

// A released channel takes its timers with it: left set they would stay in the driver's timer
// set until they fire, finding nothing (many short-lived senders would pile them up).
void DirectState::release_sender(std::uint64_t id, Effects& out) {
    auto it = senders_.find(id);
    HERALD_ASSERT(it != senders_.end());
    for (const SendEntry& entry : it->second.entries) HERALD_ASSERT(!entry.pending);
    if (it->second.timer_at != Time::max()) out.cancel_timer(make_timer(TimerKind::retransmit, id));
    if (it->second.deadline_at != Time::max()) {
        out.cancel_timer(make_timer(TimerKind::deadline, id));
    }
    sender_ids_.erase(it->second.key);
    senders_.erase(it);
    ++counters_.channels_released;
}

void DirectState::erase_receiver(const ChannelKey& key, Effects& out) {
    receivers_by_target_.erase({key.target, key.source});
    auto it = receivers_.find(key);
    if (it == receivers_.end()) return;
    // A channel that ever sent `ready` may still have its ready timer set (release_sender).
    if (it->second.ready_rto != Duration{}) {
        out.cancel_timer(make_timer(TimerKind::ready, it->second.id));
    }
    auto process = processes_.find(key.target);
    if (process != processes_.end()) set_blocked(it->second, process->second, false);
    receiver_keys_.erase(it->second.id);
    receivers_.erase(it);
    ++counters_.channels_released;
}

std::vector<std::uint64_t> DirectState::sender_ids_of(Pid source) const {
    std::vector<std::uint64_t> ids;
    for (auto it = sender_ids_.lower_bound({source, Pid{}});
         it != sender_ids_.end() && it->first.source == source; ++it) {
        ids.push_back(it->second);
    }
    return ids;
}

std::vector<Pid> DirectState::sources_of(Pid target) const {
    std::vector<Pid> sources;
    for (const auto& pair : sources_range(target)) sources.push_back(pair.second);
    return sources;
}

void DirectState::on_packet(NodeId from, wire::Packet& packet, Time now, Effects& out) {
    ++counters_.packets_received;
    const wire::Header& h = packet.header;
    // A migrated process's packets come from the node it lives on (docs/migration.md M3).
    const NodeId node = sender_node(packet);
    if (!node.known()) return malformed(now, out, "location");
    std::uint64_t forwarder = 0;
    bool forwarded = false;
    if (!get_u64_extension(packet, wire::ExtensionType::forwarded, forwarded, forwarder) ||
        (forwarded && (h.kind != wire::PacketKind::data || forwarder == 0))) {
        return malformed(now, out, "forwarded");
    }
    const NodeId via = forwarded ? NodeId{forwarder} : node;
    if (from.known() && from != via) return malformed(now, out, "source_node");
    if (!h.source.node.known() || h.source_incarnation == 0) {
        return malformed(now, out, "source_identity");
    }
    if (node == self_ && h.source_incarnation != incarnation_) {
        // Our own earlier life's data may come back forwarded: a straggler (M8).
        if (forwarded) return stale(now, out, "forwarded_from_earlier_self");
        return malformed(now, out, "stale_self");
    }
    if (!observe_peer(node, packet, now, out)) return;
    if (h.kind == wire::PacketKind::ack || h.kind == wire::PacketKind::nack ||
        h.kind == wire::PacketKind::ready) {
        learn_location(packet, node, now, out);
    }
    dispatch(packet, now, out);
}

Time DirectState::restarted_by(const wire::Packet& packet, Time now) const {
    // hello, hello_reply and nack carry the sender incarnation's uptime in `ack`: it started
    // no later than now - uptime. The margin covers clock rate differences (0.1%).
    const wire::Header& h = packet.header;
    const bool carries_uptime = h.kind == wire::PacketKind::hello ||
                                h.kind == wire::PacketKind::hello_reply ||
                                h.kind == wire::PacketKind::nack;
    if (!carries_uptime || h.ack == 0 || h.ack > static_cast<std::uint64_t>(now.ns())) {
        return Time::max();
    }
    const Duration uptime = Duration::nanoseconds(static_cast<std::int64_t>(h.ack));
    return now - uptime + uptime / 1000;
}

std::uint64_t DirectState::uptime_ns(Time now) const {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, (now - started_).ns()));
}

bool DirectState::observe_peer(NodeId node, const wire::Packet& packet, Time now, Effects& out) {
    const wire::Header& h = packet.header;
    const bool hello = h.kind == wire::PacketKind::hello || h.kind == wire::PacketKind::hello_reply;
    if (hello && peers_.size() >= options_.hello_peers_max && !peers_.contains(node)) {
        ++counters_.hello_peers_refused;  // Answered (hello) without a record; see the option.
        return true;
    }
    Peer& peer = peer_for(node, now);
    // Incarnations grow with each restart: a lower one is a straggler of an earlier life.
    if (h.source_incarnation < peer.incarnation) {
        ++counters_.duplicates_dropped;
        trace(out, now, "probe_stale_incarnation", [&] { return "node=" + to_string(peer.node); });
        return false;
    }
    peer.last_heard = now;
    if (peer.incarnation == 0) {
        peer.incarnation = h.source_incarnation;
    } else if (peer.incarnation != h.source_incarnation) {
        on_peer_restarted(peer, h.source_incarnation, restarted_by(packet, now), now, out);
    }
    return true;
}

void DirectState::dispatch(wire::Packet& packet, Time now, Effects& out) {
    const wire::Header& h = packet.header;
    switch (h.kind) {
        case wire::PacketKind::hello:
            return on_hello(packet, now, out);
        case wire::PacketKind::hello_reply:
            return on_hello_reply(packet, now, out);
        case wire::PacketKind::data:
            return on_data(packet, now, out);
        case wire::PacketKind::migrate:
            return on_migrate_packet(packet, now, out);
        case wire::PacketKind::migrate_reply:
            return on_migrate_reply(packet, now, out);
        case wire::PacketKind::migrate_done:
            return on_migrate_done(packet, now, out);
        default:
            break;
    }
    // Replies to a process that migrated here come here too (docs/migration.md M15).
    const bool for_me = (h.target.node == self_ || processes_.contains(h.target)) &&
                        h.target_incarnation == incarnation_;
    switch (h.kind) {
        case wire::PacketKind::ack:
        case wire::PacketKind::nack:
        case wire::PacketKind::ready:
            if (!for_me && h.kind != wire::PacketKind::nack && h.target.node == self_ &&
                h.target_incarnation != 0 && h.target_incarnation < incarnation_) {
                // A receiver still answers our previous life (e.g. repeats `ready` for a body
                // that died with it): tell it, so it drops those channels (rule 14).
                trace(out, now, "probe_nack_old_reply", [&] { return "kind=reply"; });
                return nack(packet, Errc::peer_restarted, now, out);
            }
            if (!for_me) return stale(now, out, "stale_target");
            if (h.kind == wire::PacketKind::ack) return on_ack(packet, now, out);
            if (h.kind == wire::PacketKind::nack) return on_nack(packet, now, out);
            return on_ready(packet, now, out);
        default:
            return malformed(now, out, "kind");
    }
}

void DirectState::on_timer(TimerId timer, Time now, Effects& out) {
    const auto kind = static_cast<TimerKind>(timer.value >> 56);
    const std::uint64_t key = timer.value & timer_key_mask;
    switch (kind) {
        case TimerKind::retransmit: {
            auto it = senders_.find(key);
            if (it != senders_.end()) on_retransmit_timer(it->second, now, out);
            return;
        }
        case TimerKind::hello:
            if (Peer* peer = peer_by_id(key)) on_hello_timer(*peer, now, out);
            return;
        case TimerKind::watch:
            if (Peer* peer = peer_by_id(key)) on_watch_timer(*peer, now, out);
            return;
        case TimerKind::deadline:
            return on_deadline_timer(key, now, out);
        case TimerKind::ping:
            return on_ping_timer(key, now, out);
        case TimerKind::sweep:
            return on_sweep(now, out);
        case TimerKind::ready:
            return on_ready_timer(key, now, out);
        case TimerKind::migrate_out:
            return on_migrate_out_timer(key, now, out);
        case TimerKind::migrate_in:
            return on_migrate_in_timer(key, now, out);
    }
    // Unknown kinds cannot come from us; a stale or foreign id is ignored.
}

void DirectState::arm_sweep(Time now, Effects& out) {
    if (sweep_armed_) return;
    if (senders_.empty() && receivers_.empty() && peers_.size() <= 1 && forwards_.empty() &&
        finished_.empty()) {
        return;
    }
    sweep_armed_ = true;
    out.set_timer(make_timer(TimerKind::sweep, 0), now + options_.channel_idle / 2);
}

void DirectState::on_sweep(Time now, Effects& out) {
    sweep_armed_ = false;
    const Duration idle = options_.channel_idle;
    std::set<NodeId> in_use{self_};
    std::vector<std::uint64_t> idle_senders;
    for (const auto& [id, channel] : senders_) {
        if (channel.entries.empty() && channel.last_activity + idle <= now) {
            idle_senders.push_back(id);
        } else {
            in_use.insert(channel.location);
        }
    }
    for (std::uint64_t id : idle_senders) release_sender(id, out);
    std::vector<ChannelKey> idle_receivers;
    for (const auto& [key, channel] : receivers_) {
        if (channel.last_activity + idle <= now) {
            idle_receivers.push_back(key);
        } else {
            in_use.insert(channel.source_node);
        }
    }
    for (const ChannelKey& key : idle_receivers) erase_receiver(key, out);
    for (const auto& [nonce, ping] : pings_) in_use.insert(ping.node);
    for (const auto& [id, outgoing] : outgoing_) in_use.insert(outgoing.to);
    for (const auto& [key, incoming] : incoming_) in_use.insert(incoming.from);
    sweep_forwards(now);
    for (auto it = peers_.begin(); it != peers_.end();) {
        const Peer& peer = it->second;
        if (in_use.contains(peer.node) || peer.hello_pending || peer.last_heard + idle > now) {
            ++it;
            continue;
        }
        peer_nodes_.erase(peer.id);
        it = peers_.erase(it);
    }
    trace(out, now, "sweep", [&] {
        return "senders_released=" + std::to_string(idle_senders.size()) +
               " receivers_released=" + std::to_string(idle_receivers.size());
    });
    arm_sweep(now, out);
}

DirectEngine::Counters DirectState::counters() const {
    DirectEngine::Counters c = counters_;
    c.channels_live = senders_.size() + receivers_.size();
    c.forwards_live = forwards_.size();
    c.peers_live = peers_.size();
    c.peer_bytes =
        peers_.size() * (memory::map_node(sizeof(std::pair<const NodeId, Peer>)) +
                         memory::map_node(sizeof(std::pair<const std::uint64_t, NodeId>)));
    return c;
}

std::uint32_t DirectState::queued(Pid pid) const {
    auto it = processes_.find(pid);
    return it == processes_.end() ? 0 : it->second.queued;
}

void DirectState::check_invariants(std::vector<std::string>& findings) const {
    for (const auto& [id, channel] : senders_) {
        const std::string name =
            to_string(channel.key.source) + "->" + to_string(channel.key.target);
        if (channel.acked >= channel.next_seq || channel.inflight() > channel.entries.size()) {
            findings.push_back("sender " + name + ": acked " + std::to_string(channel.acked) +
                               ", next_seq " + std::to_string(channel.next_seq) + ", entries " +
                               std::to_string(channel.entries.size()));
        } else if (channel.inflight() > options_.window_messages) {
            findings.push_back("sender " + name + ": " + std::to_string(channel.inflight()) +
                               " in flight, window " + std::to_string(options_.window_messages));
        }
        for (const SendEntry& entry : channel.entries) {
            if (!entry.pending || entry.deadline >= channel.deadline_at) continue;
            // The channel's deadline timer would fire after this send's deadline (rule 9).
            findings.push_back("sender " + name + ": a pending deadline before the timer");
            break;
        }
    }
    if (receivers_by_target_.size() != receivers_.size()) {  // The index of sources_range.
        findings.push_back("receivers: " + std::to_string(receivers_.size()) + " channels, " +
                           std::to_string(receivers_by_target_.size()) + " indexed by target");
    }
    std::map<Pid, std::uint32_t> blocked;  // What LocalProcess::blocked counts.
    for (const auto& [key, channel] : receivers_) {
        if (channel.blocked) ++blocked[key.target];
    }
    for (const auto& [pid, process] : processes_) {
        const auto it = blocked.find(pid);
        if (process.blocked != (it == blocked.end() ? 0 : it->second)) {
            findings.push_back("process " + to_string(pid) + ": counts " +
                               std::to_string(process.blocked) + " blocked channels, has " +
                               std::to_string(it == blocked.end() ? 0 : it->second));
        }
    }
    for (const auto& [key, channel] : receivers_) {
        if (channel.held.empty()) continue;
        const std::uint64_t first = channel.held.begin()->first;
        const std::uint64_t last = channel.held.rbegin()->first;
        if (first <= channel.expected - 1 || last - channel.expected >= options_.window_messages) {
            findings.push_back("receiver " + to_string(key.source) + "->" + to_string(key.target) +
                               ": holds seqs " + std::to_string(first) + ".." +
                               std::to_string(last) + ", expected " +
                               std::to_string(channel.expected));
        }
    }
    if (forwards_.size() > options_.forwards_max || incoming_.size() > options_.migrations_max) {
        findings.push_back(std::to_string(forwards_.size()) + " forwarding entries, " +
                           std::to_string(incoming_.size()) + " arrivals: over their bounds");
    }
    for (const auto& [pid, process] : processes_) {
        if (forwards_.contains(pid)) {
            findings.push_back("process " + to_string(pid) + " is here and forwarded too");
        }
        const Buffering b = process.options.buffering;
        const bool buffered = b == Buffering::multiple || b == Buffering::single;
        if (buffered && process.queued > process.options.queue_limit) {
            findings.push_back("process " + to_string(pid) + ": " + std::to_string(process.queued) +
                               " queued, limit " + std::to_string(process.options.queue_limit));
        }
    }
}

}  // namespace herald::proto::direct

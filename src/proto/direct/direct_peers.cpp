// Node peers of the direct protocol: hello handshake and ping, incarnations and restarts,
// liveness (unreachable after peer_timeout of silence). Layer: proto/direct.
#include <algorithm>
#include <string>
#include <vector>

#include "core/assert.h"
#include "proto/direct/direct_messages.h"
#include "proto/direct/direct_state.h"

namespace herald::proto::direct {

void DirectState::start_hello(Peer& peer, Time now, Effects& out) {
    if (peer.hello_pending) {
        // New demand while the handshake has backed off (e.g. a partition just healed): ask
        // now rather than up to retransmit_max later, when the silence may already have made
        // the peer unreachable and failed a send that never had a chance.
        if (peer.hello_rto <= options_.retransmit_initial) return;
        peer.hello_rto = options_.retransmit_initial;
        send_hello(peer.node, 0, now, out);
        out.set_timer(make_timer(TimerKind::hello, peer.id), now + peer.hello_rto);
        return;
    }
    peer.hello_pending = true;
    peer.hello_rto = options_.retransmit_initial;
    send_hello(peer.node, 0, now, out);
    out.set_timer(make_timer(TimerKind::hello, peer.id), now + peer.hello_rto);
    watch(peer, now, out);
}

void DirectState::send_hello(NodeId node, std::uint64_t nonce, Time now, Effects& out) {
    auto peer = peers_.find(node);
    const std::uint32_t known = peer == peers_.end() ? 0 : peer->second.incarnation;
    wire::Packet packet =
        make_packet(wire::PacketKind::hello, Pid{self_, 0}, Pid{node, 0}, incarnation_, known);
    packet.header.seq = nonce;              // 0 = handshake; else the ping it answers.
    packet.header.ack = uptime_ns(now);     // Bounds our start for a restarted peer (rule 14).
    packet.header.timestamp_ns = now.ns();  // Echoed back: round trip from our own clock.
    put_body_limit(packet, options_.body_bytes_max);
    emit(node, std::move(packet), out);
}

void DirectState::on_hello(const wire::Packet& packet, Time now, Effects& out) {
    const wire::Header& h = packet.header;
    if (h.target.node.known() && h.target.node != self_) {
        return malformed(now, out, "hello_target");
    }
    wire::Packet reply = make_packet(wire::PacketKind::hello_reply, Pid{self_, 0}, h.source,
                                     incarnation_, h.source_incarnation);
    reply.header.seq = h.seq;
    reply.header.ack = uptime_ns(now);
    reply.header.timestamp_ns = h.timestamp_ns;
    put_body_limit(reply, options_.body_bytes_max);
    emit(h.source.node, std::move(reply), out);
    // No record when hello_peers_max were full (observe_peer): nothing to remember.
    auto peer = peers_.find(h.source.node);
    if (auto limit = read_body_limit(packet); limit && peer != peers_.end()) {
        peer->second.body_limit = *limit;
    }
}

void DirectState::on_hello_reply(const wire::Packet& packet, Time now, Effects& out) {
    const wire::Header& h = packet.header;
    if (h.target.node != self_) return malformed(now, out, "hello_reply_target");
    const auto found = peers_.find(h.source.node);  // observe_peer learned its incarnation,
    if (found == peers_.end()) {                    // unless hello_peers_max were full.
        if (h.seq != 0 && h.target_incarnation == incarnation_) finish_ping(packet, now, out);
        return;
    }
    Peer& peer = found->second;
    if (auto limit = read_body_limit(packet)) peer.body_limit = *limit;
    if (peer.hello_pending) {
        peer.hello_pending = false;
        trace(out, now, "hello_done", [&] {
            return "node=" + to_string(peer.node) +
                   " incarnation=" + std::to_string(peer.incarnation);
        });
        flush_peer(peer.node, now, out);
    }
    if (h.seq == 0 || h.target_incarnation != incarnation_) return;
    finish_ping(packet, now, out);
}

void DirectState::finish_ping(const wire::Packet& reply, Time now, Effects& out) {
    const wire::Header& h = reply.header;
    auto it = pings_.find(h.seq);
    if (it == pings_.end()) return;
    const Ping& ping = it->second;
    // A ping of a node wants that node's answer; a ping of an address takes whoever answers
    // there, and learns its node id.
    if (ping.address == 0 && ping.node != h.source.node) return;
    const Duration rtt = std::max(now - Time::from_ns(h.timestamp_ns), Duration::zero());
    Bytes body = encode_u64_le(static_cast<std::uint64_t>(rtt.ns()));
    if (ping.address != 0) {
        const Bytes node = encode_u64_le(h.source.node.value);
        body.insert(body.end(), node.begin(), node.end());
        for (int shift = 0; shift < 32; shift += 8) {
            body.push_back(static_cast<std::uint8_t>(h.source_incarnation >> shift));
        }
    }
    out.complete(ping.op, std::move(body));
    pings_.erase(it);
}

void DirectState::on_ping(OperationId op, NodeId node, Time deadline, Time now, Effects& out) {
    if (!node.known()) {
        out.complete(op, fail(Errc::invalid_argument, "ping needs a known node id"));
        return;
    }
    if (deadline > now) peer_for(node, now);
    start_ping(next_nonce_, Ping{op, node, deadline, options_.retransmit_initial, 0}, now, out);
}

void DirectState::on_ping_address(OperationId op, std::uint32_t address, Time deadline, Time now,
                                  Effects& out) {
    if (address == 0) {
        out.complete(op, fail(Errc::invalid_argument, "ping needs an address handle"));
        return;
    }
    start_ping(next_nonce_, Ping{op, NodeId{}, deadline, options_.retransmit_initial, address}, now,
               out);
}

bool DirectState::start_ping(std::uint64_t nonce, Ping ping, Time now, Effects& out) {
    if (ping.deadline <= now) {
        out.complete(ping.op, fail(Errc::unreachable, "deadline already passed"));
        return false;
    }
    if (pings_.size() >= options_.pings_max) {
        out.complete(ping.op, fail(Errc::queue_full, "pings_max pings are pending"));
        return false;
    }
    // No ping of a known node waits longer than peer_timeout: that silence means unreachable.
    // A ping of an address waits as long as its caller asked (pings_max bounds the state).
    if (ping.address == 0) ping.deadline = std::min(ping.deadline, now + options_.peer_timeout);
    ++next_nonce_;
    const auto& stored = pings_.emplace(nonce, ping).first->second;
    send_ping_hello(nonce, stored, now, out);
    out.set_timer(make_timer(TimerKind::ping, nonce),
                  std::min(now + options_.retransmit_initial, stored.deadline));
    return true;
}

void DirectState::send_ping_hello(std::uint64_t nonce, const Ping& ping, Time now, Effects& out) {
    if (ping.address == 0) {
        send_hello(ping.node, nonce, now, out);
        return;
    }
    // To an address: the target node is not known yet (0), nor its incarnation.
    wire::Packet packet =
        make_packet(wire::PacketKind::hello, Pid{self_, 0}, Pid{NodeId{}, 0}, incarnation_, 0);
    packet.header.seq = nonce;
    packet.header.ack = uptime_ns(now);
    packet.header.timestamp_ns = now.ns();
    put_body_limit(packet, options_.body_bytes_max);
    ++counters_.packets_sent;
    out.send(Destination::to_address(ping.address), std::move(packet));
}

void DirectState::on_ping_timer(std::uint64_t nonce, Time now, Effects& out) {
    auto it = pings_.find(nonce);
    if (it == pings_.end()) return;
    Ping& ping = it->second;
    if (now >= ping.deadline) {
        out.complete(ping.op, fail(Errc::unreachable, "no hello_reply before the deadline"));
        pings_.erase(it);
        return;
    }
    ping.rto = std::min(ping.rto * 2, options_.retransmit_max);
    send_ping_hello(nonce, ping, now, out);
    out.set_timer(make_timer(TimerKind::ping, nonce), std::min(now + ping.rto, ping.deadline));
}

void DirectState::on_hello_timer(Peer& peer, Time now, Effects& out) {
    if (!peer.hello_pending) return;
    peer.hello_rto = std::min(peer.hello_rto * 2, options_.retransmit_max);
    ++counters_.retransmits;
    send_hello(peer.node, 0, now, out);
    out.set_timer(make_timer(TimerKind::hello, peer.id), now + peer.hello_rto);
    watch(peer, now, out);
}

void DirectState::on_peer_restarted(Peer& peer, std::uint32_t incarnation, Time started_by,
                                    Time now, Effects& out) {
    trace(out, now, "peer_restarted", [&] {
        return "node=" + to_string(peer.node) + " old=" + std::to_string(peer.incarnation) +
               " new=" + std::to_string(incarnation);
    });
    peer.incarnation = incarnation;
    peer.body_limit = 0;  // The new incarnation says its own with its hello(_reply).
    peer.hello_pending = false;
    for (auto& [id, channel] : senders_) {
        if (channel.location != peer.node) continue;
        if (channel.key.target.node != peer.node) {
            // A migrated process may live on in the new incarnation with its channel state
            // (it may have arrived there after the restart): keep the epoch; the receiver
            // dedups, or answers no_such_process if it died (docs/migration.md M11).
            const Pid target = channel.key.target;  // clang 14 captures no structured binding.
            trace(out, now, "probe_migrated_target_kept",
                  [&] { return "target=" + to_string(target); });
            continue;
        }
        restart_channel(channel, started_by, Errc::peer_restarted, now, out);
    }
    std::vector<ChannelKey> old_receivers;
    for (const auto& [key, channel] : receivers_) {
        // A channel that came with a migrated process may already be of the new incarnation.
        if (channel.source_node == peer.node && channel.source_incarnation < incarnation) {
            old_receivers.push_back(key);
        }
    }
    for (const ChannelKey& key : old_receivers) erase_receiver(key, out);
    // A send-after-receive process may have been waiting for a body from the old incarnation
    // (one `ready` at a time): offer its receive to the other senders now.
    for (const ChannelKey& key : old_receivers) {
        auto process = processes_.find(key.target);
        if (process != processes_.end()) maybe_ready(key.target, process->second, now, out);
    }
    flush_peer(peer.node, now, out);
}

void DirectState::restart_channel(SenderChannel& channel, Time started_by, Errc code, Time now,
                                  Effects& out) {
    // In-flight messages may have reached the old incarnation (or the receiver channel that
    // a stalled epoch may have lost): fail them with `code`, never resend them (that could
    // deliver twice). Those first sent after `started_by` cannot have: they go again, in
    // order, with the unsent ones, in a new epoch (rules 14 and 18).
    const auto inflight = static_cast<std::size_t>(channel.inflight());
    std::deque<SendEntry> kept;
    for (std::size_t i = 0; i < channel.entries.size(); ++i) {
        SendEntry& entry = channel.entries[i];
        if (i < inflight && entry.first_sent_at <= started_by) {
            complete(entry,
                     fail(code, code == Errc::peer_restarted
                                    ? "in flight when the peer restarted"
                                    : "in flight on a channel the receiver stopped answering"),
                     out);
            continue;
        }
        if (entry.state == EntryState::skip) continue;  // Its op already failed.
        if (i < inflight) {
            trace(out, now, "probe_resent_after_restart",
                  [&] { return "target=" + to_string(channel.key.target); });
        }
        entry.state = EntryState::queued;
        entry.message.seq = 0;
        entry.first_sent_at = Time::max();
        kept.push_back(std::move(entry));
    }
    channel.entries = std::move(kept);
    channel.next_seq = channel.acked + 1;  // Nothing in flight now.
    reset_sender(channel, now);
    trace(out, now, "channel_reset", [&] {
        return "source=" + to_string(channel.key.source) +
               " target=" + to_string(channel.key.target) +
               " epoch=" + std::to_string(channel.epoch);
    });
}

void DirectState::flush_peer(NodeId node, Time now, Effects& out) {
    for (auto& [id, channel] : senders_) {
        if (channel.location == node) try_transmit(channel, now, out);
    }
}

void DirectState::watch(Peer& peer, Time now, Effects& out) {
    if (peer.node == self_) return;
    if (peer.unanswered_since <= peer.last_heard) peer.unanswered_since = now;
    if (peer.watched) return;
    peer.watched = true;
    out.set_timer(make_timer(TimerKind::watch, peer.id),
                  peer.unanswered_since + options_.peer_timeout);
}

bool DirectState::waiting_on(const Peer& peer) const {
    if (peer.hello_pending) return true;
    for (const auto& [id, channel] : senders_) {
        if (channel.location == peer.node && !channel.entries.empty()) return true;
    }
    return false;
}

void DirectState::on_watch_timer(Peer& peer, Time now, Effects& out) {
    peer.watched = false;
    // Unreachable = we kept sending to it for peer_timeout and it said nothing since (rule 16).
    // When it spoke, or we stopped waiting, the next send starts a new period.
    if (peer.unanswered_since <= peer.last_heard) return;
    if (!waiting_on(peer)) {
        peer.unanswered_since = peer.last_heard;
        return;
    }
    const Time deadline = peer.unanswered_since + options_.peer_timeout;
    if (now < deadline) {
        peer.watched = true;
        out.set_timer(make_timer(TimerKind::watch, peer.id), deadline);
        return;
    }
    trace(out, now, "unreachable", [&] { return "node=" + to_string(peer.node); });
    // Messages that have not waited peer_timeout/2 themselves (sent just before the verdict,
    // e.g. right after a partition healed) get one more period, if never transmitted or if
    // every message of their channel is such a one (fail_unreachable).
    const Time fresh_after = now - options_.peer_timeout / 2;
    std::vector<std::uint64_t> ids;
    for (const auto& [id, channel] : senders_) {
        if (channel.location == peer.node) ids.push_back(id);
    }
    bool kept = false;
    for (std::uint64_t id : ids) {
        if (fail_unreachable(senders_.at(id), fresh_after, now, out)) {
            kept = true;
        } else {
            release_sender(id, out);
        }
    }
    if (!kept) {
        peer.hello_pending = false;
        peer.unanswered_since = peer.last_heard;
        return;
    }
    trace(out, now, "probe_unreachable_spared", [&] { return "node=" + to_string(peer.node); });
    peer.unanswered_since = now;
    peer.watched = true;
    out.set_timer(make_timer(TimerKind::watch, peer.id), now + options_.peer_timeout);
}

bool DirectState::fail_unreachable(SenderChannel& channel, Time fresh_after, Time now,
                                   Effects& out) {
    // Every message is fresh (e.g. the only one in flight was sent after a partition healed and
    // transmitted just now in a new epoch, rule 18): the channel stays as it is. Its in-flight
    // messages keep their epoch and seqs, so resending them cannot deliver one twice.
    const auto fresh = [&](const SendEntry& entry) { return entry.queued_at > fresh_after; };
    if (!channel.entries.empty() &&
        std::all_of(channel.entries.begin(), channel.entries.end(), fresh)) {
        return true;
    }
    const auto inflight = static_cast<std::size_t>(channel.inflight());
    std::deque<SendEntry> kept;
    for (std::size_t i = 0; i < channel.entries.size(); ++i) {
        SendEntry& entry = channel.entries[i];
        if (i >= inflight && fresh(entry)) {
            kept.push_back(std::move(entry));
        } else {
            complete(entry, fail(Errc::unreachable, "the peer node did not answer"), out);
        }
    }
    if (kept.empty()) return false;
    channel.entries = std::move(kept);
    channel.next_seq = channel.acked + 1;
    if (inflight > 0) reset_sender(channel, now);  // Its in-flight messages failed.
    return true;
}

}  // namespace herald::proto::direct

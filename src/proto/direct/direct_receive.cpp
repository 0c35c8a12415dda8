// Receiver side of the direct protocol: dedup, reordering, delivery in seq order, acks with
// credit, and the buffering strategies (multiple, single, send-discard-retry,
// send-after-receive). Layer: proto/direct.
#include <algorithm>
#include <limits>
#include <string>

#include "core/assert.h"
#include "proto/direct/direct_messages.h"
#include "proto/direct/direct_state.h"

namespace herald::proto::direct {

void DirectState::on_data(wire::Packet& packet, Time now, Effects& out) {
    const wire::Header& h = packet.header;
    if (!h.source.valid() || !h.target.valid() || h.seq == 0 || h.epoch == 0 || h.ack >= h.seq) {
        return malformed(now, out, "data_header");
    }
    if ((is_skip(packet) || is_offer(packet)) && !packet.body.empty()) {
        return malformed(now, out, "data_body");
    }
    if (is_skip(packet) && (is_offer(packet) || !read_reason(packet))) {
        return malformed(now, out, "data_skip");
    }
    // Senders learn our limit from our hello(_reply) and refuse larger bodies themselves.
    if (packet.body.size() > options_.body_bytes_max) return malformed(now, out, "data_too_large");
    // A forwarded packet carries the origin's incarnation, which the forwarder checked (M8).
    const bool forwarded = packet.find(wire::ExtensionType::forwarded) != nullptr;
    if (!forwarded && h.target_incarnation != incarnation_) {
        trace(out, now, "probe_nack_peer_restarted",
              [&] { return "source=" + to_string(h.source); });
        return nack(packet, Errc::peer_restarted, now, out);
    }
    auto process = processes_.find(h.target);
    if (process == processes_.end() || process->second.migrating != 0) {
        return route_away(packet, now, out);
    }
    LocalProcess& proc = process->second;
    if (h.target.node != self_) {
        auto floor = proc.floors ? proc.floors->find(sender_node(packet))
                                 : std::map<NodeId, std::uint32_t>::const_iterator{};
        if (proc.floors && floor != proc.floors->end() && h.source_incarnation < floor->second) {
            return stale(now, out, "earlier_sender_life");  // Known dead where it lived (M10).
        }
        ++(forwarded ? counters_.received_forwarded : counters_.received_direct);
    }
    ReceiverChannel* channel = receiver_for(packet, now, out);
    if (channel == nullptr) return;
    channel->last_activity = now;
    if (h.seq < channel->expected) return on_duplicate(*channel, proc, packet, now, out);
    if (h.seq - channel->expected >= options_.window_messages) {
        return malformed(now, out, "seq_beyond_window");
    }
    if (is_skip(packet)) return on_skip(*channel, proc, packet, now, out);
    if (is_offer(packet)) return on_offer(*channel, proc, packet, now, out);
    if (proc.options.buffering == Buffering::send_after_receive) {
        return on_sar_body(*channel, proc, packet, now, out);
    }
    on_body(*channel, proc, packet, now, out);
}

void DirectState::nack(const wire::Packet& data, Errc reason, Time now, Effects& out) {
    const wire::Header& h = data.header;
    wire::Packet packet =
        make_packet(wire::PacketKind::nack, h.target, h.source, incarnation_, h.source_incarnation);
    packet.header.epoch = h.epoch;
    packet.header.seq = h.seq;
    packet.header.ack = uptime_ns(now);  // The sender may resend what it first sent since.
    put_reason(packet, reason);
    emit(sender_node(data), std::move(packet), out);
}

ReceiverChannel* DirectState::receiver_for(const wire::Packet& packet, Time now, Effects& out) {
    const wire::Header& h = packet.header;
    const ChannelKey key{h.source, h.target};
    const NodeId node = sender_node(packet);
    auto it = receivers_.find(key);
    // Incarnations of one node only compare with each other: a sender that migrated sends
    // from another node, continuing its epoch (docs/migration.md M15).
    const bool same_node = it != receivers_.end() && it->second.source_node == node;
    // A channel that came with a migrated process may predate a restart of its sender that
    // this node never saw (docs/migration.md M10): the new incarnation's epochs start anew.
    const bool older_life = same_node && it->second.source_incarnation < h.source_incarnation;
    if (!older_life && it != receivers_.end() && it->second.epoch == h.epoch) {
        // The sender moved: follow it, but not for a straggler from where it was (M15).
        if (!same_node && h.seq >= it->second.expected) {
            trace(out, now, "sender_moved",
                  [&] { return "source=" + to_string(h.source) + " node=" + to_string(node); });
            it->second.source_node = node;
            it->second.source_incarnation = h.source_incarnation;
        }
        return &it->second;
    }
    if (!older_life && it != receivers_.end() && !epoch_newer(h.epoch, it->second.epoch)) {
        ++counters_.duplicates_dropped;  // A straggler of an older epoch (rule 3).
        trace(out, now, "probe_stale_epoch", [&] { return "source=" + to_string(h.source); });
        return nullptr;
    }
    // Check the window before a new epoch replaces what we have (h.ack < h.seq holds).
    if (h.seq - (h.ack + 1) >= options_.window_messages) {
        malformed(now, out, "seq_beyond_window");
        return nullptr;
    }
    if (it == receivers_.end()) {
        if (at_channel_bound()) {
            trace(out, now, "probe_channels_max", [&] { return "side=receiver"; });
            nack(packet, Errc::queue_full, now, out);  // Back-pressure, not silence (rule 18).
            return nullptr;
        }
        it = receivers_.emplace(key, ReceiverChannel{}).first;
        it->second.id = next_channel_id_++;
        receiver_keys_[it->second.id] = key;
        receivers_by_target_.insert({key.target, key.source});
    } else {
        trace(out, now, "channel_reset", [&] {
            return "source=" + to_string(h.source) + " target=" + to_string(h.target) +
                   " epoch=" + std::to_string(h.epoch);
        });
    }
    ReceiverChannel& channel = it->second;
    const std::uint64_t id = channel.id;
    if (channel.blocked) set_blocked(channel, processes_.at(key.target), false);
    channel = ReceiverChannel{};
    channel.id = id;
    channel.key = key;
    channel.epoch = h.epoch;
    channel.source_node = node;
    channel.source_incarnation = h.source_incarnation;
    // The sender has acks up to h.ack, so those seqs were delivered: start after them.
    channel.expected = h.ack + 1;
    return &channel;
}

void DirectState::on_duplicate(ReceiverChannel& channel, LocalProcess& process,
                               const wire::Packet& packet, Time now, Effects& out) {
    ++counters_.duplicates_dropped;
    trace(out, now, "duplicate", [&] {
        return "source=" + to_string(channel.key.source) +
               " seq=" + std::to_string(packet.header.seq);
    });
    if (options_.mutations.skip_duplicate_check && !is_skip(packet) && !is_offer(packet)) {
        deliver(channel, process, packet.header.seq, packet.header.timestamp_ns, packet.body, out);
    }
    send_ack(channel, process, 0, out);  // Our ack was lost: say it again.
}

void DirectState::on_body(ReceiverChannel& channel, LocalProcess& process, wire::Packet& packet,
                          Time now, Effects& out) {
    const std::uint64_t seq = packet.header.seq;
    if (channel.held.contains(seq)) {
        ++counters_.duplicates_dropped;
        return send_ack(channel, process, 0, out);
    }
    const bool discard_retry = process.options.buffering == Buffering::send_discard_retry;
    const bool accept = discard_retry ? seq == channel.expected && has_room(channel, process)
                                      : seq - channel.expected < free_slots(channel, process);
    if (!accept) {
        // No room: drop the body; the non-advancing ack tells the sender (rules 6 and 11).
        trace(out, now, discard_retry ? "probe_discard_not_waiting" : "probe_discard_no_room",
              [&] { return "target=" + to_string(channel.key.target); });
        return send_ack(channel, process, 0, out);
    }
    if (seq == channel.expected) {
        deliver(channel, process, seq, packet.header.timestamp_ns, std::move(packet.body), out);
        ++channel.expected;
    } else if (options_.mutations.skip_reorder_buffer) {
        deliver(channel, process, seq, packet.header.timestamp_ns, packet.body, out);
        channel.held[seq] = Held{{}, 0, false, true};
    } else {
        channel.held[seq] = Held{std::move(packet.body), packet.header.timestamp_ns, false, false};
    }
    drain(channel, process, out);
    send_ack(channel, process, 0, out);
}

void DirectState::on_sar_body(ReceiverChannel& channel, LocalProcess& process, wire::Packet& packet,
                              Time now, Effects& out) {
    const std::uint64_t seq = packet.header.seq;
    const bool take =
        seq == channel.expected &&
        (channel.readied == seq || (process.waiting && matches(process, channel.key.source) &&
                                    !ready_outstanding(process, channel.key.target)));
    if (take) {
        deliver(channel, process, seq, packet.header.timestamp_ns, std::move(packet.body), out);
        ++channel.expected;
        channel.readied = 0;
        drain(channel, process, out);
        return send_ack(channel, process, 0, out);
    }
    // Not receiving this now: keep only the offer; the body stays with the sender (rule 12).
    channel.offers.try_emplace(seq, next_offer_stamp_++);
    trace(out, now, "offer", [&] {
        return "source=" + to_string(channel.key.source) + " seq=" + std::to_string(seq) +
               " from_body=1";
    });
    send_ack(channel, process, seq, out);
    if (channel.readied == seq) return send_ready(channel, now, out);
    maybe_ready(channel.key.target, process, now, out);
}

void DirectState::on_offer(ReceiverChannel& channel, LocalProcess& process,
                           const wire::Packet& packet, Time now, Effects& out) {
    if (process.options.buffering != Buffering::send_after_receive) {
        return malformed(now, out, "offer_to_buffered_process");
    }
    const std::uint64_t seq = packet.header.seq;
    channel.offers.try_emplace(seq, next_offer_stamp_++);
    send_ack(channel, process, seq, out);
    if (channel.readied == seq) return send_ready(channel, now, out);  // Our ready was lost.
    maybe_ready(channel.key.target, process, now, out);
}

void DirectState::on_skip(ReceiverChannel& channel, LocalProcess& process,
                          const wire::Packet& packet, Time now, Effects& out) {
    const std::uint64_t seq = packet.header.seq;
    channel.offers.erase(seq);
    if (channel.readied == seq) channel.readied = 0;
    trace(out, now, "probe_skip_received", [&] {
        return "source=" + to_string(channel.key.source) + " seq=" + std::to_string(seq);
    });
    if (seq == channel.expected) {
        ++channel.expected;
        drain(channel, process, out);
    } else {
        channel.held.try_emplace(seq, Held{{}, 0, true, false});  // A held body wins.
    }
    send_ack(channel, process, 0, out);
    maybe_ready(channel.key.target, process, now, out);
}

bool DirectState::matches(const LocalProcess& process, Pid source) const {
    return process.from.empty() ||
           std::find(process.from.begin(), process.from.end(), source) != process.from.end();
}

std::uint32_t DirectState::free_slots(const ReceiverChannel& channel,
                                      const LocalProcess& process) const {
    switch (process.options.buffering) {
        case Buffering::multiple:
        case Buffering::single: {
            const std::uint32_t limit = process.options.queue_limit;
            return process.queued >= limit ? 0 : limit - process.queued;
        }
        case Buffering::send_discard_retry:
            return process.waiting && process.queued == 0 && matches(process, channel.key.source)
                       ? 1
                       : 0;
        case Buffering::send_after_receive:
            return options_.window_messages;
    }
    return 0;
}

bool DirectState::has_room(const ReceiverChannel& channel, const LocalProcess& process) const {
    // Send-after-receive holds no bodies, only skips, so drain never needs room for it.
    if (process.options.buffering == Buffering::send_after_receive) return false;
    return free_slots(channel, process) > 0;
}

bool DirectState::ready_outstanding(const LocalProcess& process, Pid receiver) const {
    for (const auto& pair : sources_range(receiver)) {
        const Pid& source = pair.second;
        if (!matches(process, source)) continue;
        auto it = receivers_.find({source, receiver});
        HERALD_ASSERT(it != receivers_.end());
        if (it->second.readied != 0) return true;
    }
    return false;
}

void DirectState::deliver(ReceiverChannel& channel, LocalProcess& process, std::uint64_t seq,
                          std::int64_t sent_unix_ns, Bytes body, Effects& out) {
    out.deliver(
        Message{channel.key.source, channel.key.target, seq, sent_unix_ns, std::move(body)});
    ++process.queued;
    ++counters_.delivered;
    channel.offers.erase(seq);
    // Without buffers a delivery ends the receive it was waiting for.
    if (process.options.buffering == Buffering::send_discard_retry ||
        process.options.buffering == Buffering::send_after_receive) {
        process.waiting = false;
    }
}

void DirectState::drain(ReceiverChannel& channel, LocalProcess& process, Effects& out) {
    while (!channel.held.empty()) {
        auto it = channel.held.begin();
        HERALD_ASSERT(it->first >= channel.expected);
        if (it->first != channel.expected) break;
        Held& held = it->second;
        if (!held.skip && !held.delivered) {
            if (!has_room(channel, process)) break;
            deliver(channel, process, it->first, held.sent_unix_ns, std::move(held.body), out);
        }
        channel.held.erase(it);
        ++channel.expected;
    }
    channel.offers.erase(channel.offers.begin(), channel.offers.lower_bound(channel.expected));
}

std::uint32_t DirectState::credit_for(const ReceiverChannel& channel,
                                      const LocalProcess& process) const {
    const std::uint32_t free = free_slots(channel, process);
    const bool buffered = process.options.buffering == Buffering::multiple ||
                          process.options.buffering == Buffering::single;
    if (!buffered || free == 0 || process.blocked == 0) return free;
    // Senders that were refused wait for room: each is granted its share of the free slots,
    // not all of them, or N senders of a burst overrun the inbox again at once and wait for
    // retransmission (issue 17 item 4: 100 senders to one receiver, 30k instead of 380k
    // msgs/s). At least 1, so that every sender moves.
    const std::uint32_t sharers = process.blocked + (channel.blocked ? 0 : 1);
    return std::max<std::uint32_t>(1, free / sharers);
}

void DirectState::set_blocked(ReceiverChannel& channel, LocalProcess& process, bool blocked) {
    if (channel.blocked == blocked) return;
    channel.blocked = blocked;
    if (blocked) {
        ++process.blocked;
    } else {
        HERALD_ASSERT(process.blocked > 0);
        --process.blocked;
    }
}

void DirectState::send_ack(ReceiverChannel& channel, LocalProcess& process, std::uint64_t offer_seq,
                           Effects& out) {
    const std::uint32_t credit = credit_for(channel, process);
    const bool buffered = process.options.buffering == Buffering::multiple ||
                          process.options.buffering == Buffering::single;
    if (credit == 0 && buffered) set_blocked(channel, process, true);
    if (offer_seq == 0 && refresh_held_ack(channel, credit)) return;
    wire::Packet packet = make_packet(wire::PacketKind::ack, channel.key.target, channel.key.source,
                                      incarnation_, channel.source_incarnation);
    wire::Header& h = packet.header;
    h.epoch = channel.epoch;
    h.ack = channel.expected - 1;
    h.flags = wire::flag::delivered;
    if (offer_seq != 0) {
        h.flags |= wire::flag::offer;
        h.seq = offer_seq;
    }
    put_credit(packet, credit);
    if (offer_seq == 0 && hold_ack(channel.key, channel.source_node, packet)) return;
    emit(channel.source_node, std::move(packet), out);
}

bool DirectState::hold_ack(const ChannelKey& key, NodeId to, wire::Packet& packet) {
    // Rule 5: acks are cumulative, so of one channel's acks within a batch the last says all
    // the others say. To the sender, the dropped ones look like acks lost on the way. An ack
    // of another epoch is no successor: the held one goes out first, in order.
    if (!options_.coalesce_acks || to == self_) return false;
    auto it = held_acks_.find(key);
    if (it == held_acks_.end()) {
        if (held_acks_.size() >= options_.acks_held_max) return false;  // Bounded: send now.
        held_acks_.emplace(key, HeldAck{to, std::move(packet)});
        return true;
    }
    const wire::Header& held = it->second.packet.header;
    if (held.epoch != packet.header.epoch || held.ack > packet.header.ack) return false;
    it->second = HeldAck{to, std::move(packet)};
    ++counters_.acks_coalesced;
    return true;
}

bool DirectState::refresh_held_ack(const ReceiverChannel& channel, std::uint32_t credit) {
    // The plain ack send_ack would build now differs from the one held for this channel (same
    // node, epoch and incarnation, not a newer ack) only in its ack and credit: rewrite those
    // in place instead of building a packet per message that the next one replaces (issue 17).
    if (!options_.coalesce_acks || channel.source_node == self_) return false;
    auto it = held_acks_.find(channel.key);
    if (it == held_acks_.end() || it->second.to != channel.source_node) return false;
    wire::Header& held = it->second.packet.header;
    const std::uint64_t ack = channel.expected - 1;
    if (held.epoch != channel.epoch || held.target_incarnation != channel.source_incarnation ||
        held.ack > ack || held.flags != wire::flag::delivered) {
        return false;
    }
    if (!rewrite_credit(it->second.packet, credit)) return false;
    held.ack = ack;
    ++counters_.acks_coalesced;
    return true;
}

void DirectState::flush_acks(Effects& out) {
    for (auto& [key, held] : held_acks_) emit(held.to, std::move(held.packet), out);
    held_acks_.clear();
}

}  // namespace herald::proto::direct

// Sender side of the direct protocol: channels, send modes, flow control, retransmission,
// deadlines, and the replies (ack, nack, ready) that drive them. Layer: proto/direct.
#include <algorithm>
#include <string>

#include "core/assert.h"
#include "proto/direct/direct_messages.h"
#include "proto/direct/direct_state.h"

namespace herald::proto::direct {

std::uint32_t DirectState::new_epoch(Pid source) {
    auto process = processes_.find(source);
    std::uint32_t& counter = process != processes_.end() && process->second.next_epoch != 0
                                 ? process->second.next_epoch
                                 : next_epoch_;
    if (counter == 0) counter = 1;  // 0 means "no epoch" on the wire.
    return counter++;
}

SenderChannel* DirectState::sender_for(const ChannelKey& key, Time now, Effects& out) {
    auto found = sender_ids_.find(key);
    if (found != sender_ids_.end()) return &senders_.at(found->second);
    if (at_channel_bound()) {
        trace(out, now, "probe_channels_max", [&] { return "side=sender"; });
        return nullptr;
    }
    SenderChannel channel;
    channel.id = next_channel_id_++;
    channel.key = key;
    channel.epoch = new_epoch(key.source);
    channel.credit = options_.window_messages;  // Optimistic until the first ack (rule 6).
    channel.rto = options_.retransmit_initial;
    channel.last_activity = now;
    auto known = locations_.find(key.target);
    channel.location = known != locations_.end() ? known->second.first : key.target.node;
    sender_ids_[key] = channel.id;
    return &senders_.emplace(channel.id, std::move(channel)).first->second;
}

std::uint64_t DirectState::allowed(const SenderChannel& channel) const {
    return std::min(options_.window_messages, channel.credit);
}

bool DirectState::check_send(OperationId op, const Message& message, const SendOptions& options,
                             Time now, Effects& out) {
    auto refuse = [&](Errc code, const char* detail) {
        out.complete(op, fail(code, detail));
        return false;
    };
    if (!message.source.valid()) return refuse(Errc::invalid_argument, "invalid source pid");
    if (!message.target.valid()) return refuse(Errc::invalid_argument, "invalid target pid");
    // A process that migrated here sends from here too (docs/migration.md M15).
    auto source = processes_.find(message.source);
    if (source == processes_.end() && message.source.node != self_) {
        return refuse(Errc::invalid_argument, "source is not a process of this node");
    }
    if (source == processes_.end()) return refuse(Errc::closed, "source process has exited");
    if (source->second.migrating != 0) return refuse(Errc::would_block, "source is migrating");
    if (message.body.size() > options_.body_bytes_max) {
        return refuse(Errc::too_large, "body exceeds body_bytes_max");
    }
    if (options.deadline <= now) return refuse(Errc::timeout, "deadline already passed");
    return true;
}

void DirectState::on_send(OperationId op, Message message, const SendOptions& options, Time now,
                          Effects& out) {
    if (!check_send(op, message, options, now, out)) return;
    SenderChannel* channel = sender_for({message.source, message.target}, now, out);
    if (channel == nullptr) {
        out.complete(op, fail(Errc::queue_full, "channels_max reached"));
        return;
    }
    Peer& peer = peer_for(channel->location, now);
    if (peer.body_limit != 0 && message.body.size() > peer.body_limit) {
        out.complete(op, fail(Errc::too_large, std::to_string(message.body.size()) +
                                                   " bytes exceed the receiving node's limit of " +
                                                   std::to_string(peer.body_limit)));
        return;
    }
    const bool stale = peer.node != self_ && now - peer.last_heard >= options_.peer_revalidate;
    if (peer.incarnation == 0 || stale) start_hello(peer, now, out);
    const bool room = channel->inflight() + channel->queued() < allowed(*channel);
    if (!room &&
        (channel->queued() >= options_.channel_buffer_max || options.on_full == OnFull::fail)) {
        trace(out, now, "probe_queue_full", [&] { return "target=" + to_string(message.target); });
        out.complete(op, fail(Errc::queue_full, "no credit and no room in the sender buffer"));
        return;
    }
    channel->last_activity = now;
    SendEntry entry;
    entry.body = make_body(std::move(message.body));
    entry.message = std::move(message);
    entry.mode = options.mode;
    entry.queued_at = now;
    const bool taken = room || options.on_full == OnFull::buffer;
    if (taken && options.mode == SendMode::nonblocking) {
        out.complete(op, Bytes{});
    } else {
        entry.op = op;
        entry.pending = true;
        entry.deadline = options.deadline;
        // Armed before try_transmit, which may complete it: the timer is the channel's and
        // moves only when this deadline is the earliest, so this costs nothing in a stream.
        if (options.deadline != Time::max()) arm_deadline(*channel, options.deadline, out);
    }
    channel->entries.push_back(std::move(entry));
    try_transmit(*channel, now, out);
}

std::shared_ptr<const Bytes> DirectState::make_body(Bytes bytes) {
    if (spare_bodies_.empty()) return std::make_shared<Bytes>(std::move(bytes));
    std::shared_ptr<Bytes> body = std::move(spare_bodies_.back());
    spare_bodies_.pop_back();
    *body = std::move(bytes);
    return body;
}

void DirectState::recycle_body(std::shared_ptr<const Bytes>& body) {
    // Only a body nobody else holds (no packet of a driver keeps it): then no one can see it
    // change. Its bytes are freed now; the holder (shared_ptr and control block) is reused.
    if (!body || body.use_count() != 1 || spare_bodies_.size() >= spare_bodies_max) return;
    std::shared_ptr<Bytes> spare = std::const_pointer_cast<Bytes>(std::move(body));
    *spare = Bytes{};
    spare_bodies_.push_back(std::move(spare));
}

void DirectState::try_transmit(SenderChannel& channel, Time now, Effects& out) {
    auto peer = peers_.find(channel.location);
    if (peer == peers_.end() || peer->second.incarnation == 0 || peer->second.hello_pending) {
        return;  // Hello first (rule 13).
    }
    abandon_if_stalled(channel, now, out);
    // A channel that has not heard from its receiver for channel_idle/4 holds new messages:
    // should it stall, they go on in the next epoch instead of failing with the old one.
    const bool suspect =
        channel.inflight() > 0 && now >= stall_at(channel) - options_.channel_idle / 4;
    while (!suspect && channel.queued() > 0 && channel.inflight() < allowed(channel)) {
        transmit_next(channel, now, out);
    }
    // No credit and nothing in flight: the retransmit timer sends a probe (rule 6).
    if (channel.queued() > 0 && channel.inflight() == 0) {
        arm_retransmit(channel, now + channel.rto, out);
    }
    // In flight without a timer: it fired while the receiver's node was not known yet (a
    // hello to a new location was pending) and was not set again. The hello's end brings us
    // here (flush_peer); without this, such data waited forever (seed 55 of the migrate
    // scenario with harsher faults). A no-op while a timer is set.
    if (channel.inflight() > 0) arm_retransmit(channel, now + channel.rto, out);
}

void DirectState::transmit_next(SenderChannel& channel, Time now, Effects& out) {
    HERALD_ASSERT(channel.queued() > 0);
    const auto index = static_cast<std::ptrdiff_t>(channel.inflight());
    SendEntry& entry = channel.entries[static_cast<std::size_t>(index)];
    HERALD_ASSERT(entry.state == EntryState::queued);
    const std::uint64_t limit = peers_.at(channel.location).body_limit;
    if (limit != 0 && entry.body->size() > limit) {
        // The receiving node said (in its hello) it accepts no body this large: refuse it
        // here rather than send what it would drop. Later messages take its place.
        trace(out, now, "probe_too_large_for_peer",
              [&] { return "target=" + to_string(channel.key.target); });
        complete(entry,
                 fail(Errc::too_large, std::to_string(entry.body->size()) +
                                           " bytes exceed the receiving node's limit of " +
                                           std::to_string(limit)),
                 out);
        channel.entries.erase(channel.entries.begin() + index);
        return;
    }
    entry.message.seq = channel.next_seq++;
    entry.state = channel.offer_mode ? EntryState::offered : EntryState::sent;
    entry.first_sent_at = now;
    transmit(channel, entry, now, out);
    arm_retransmit(channel, now + channel.rto, out);
    if (entry.pending &&
        (entry.mode == SendMode::nonblocking || options_.mutations.complete_before_ack)) {
        complete(entry, Bytes{}, out);
    }
    if (entry.state == EntryState::offered) {
        trace(out, now, "offer", [&] {
            return "target=" + to_string(channel.key.target) +
                   " seq=" + std::to_string(entry.message.seq);
        });
    }
}

void DirectState::transmit(SenderChannel& channel, SendEntry& entry, Time now, Effects& out) {
    entry.sent_at = now;
    channel.last_activity = now;
    const bool with_body = entry.state == EntryState::sent;
    emit(channel.location, data_packet(channel, entry), out, with_body ? entry.body : nullptr);
    watch(peers_.at(channel.location), now, out);
}

wire::Packet DirectState::data_packet(const SenderChannel& channel, const SendEntry& entry) const {
    const std::uint32_t target_incarnation = peers_.at(channel.location).incarnation;
    wire::Packet packet = make_packet(wire::PacketKind::data, channel.key.source,
                                      channel.key.target, incarnation_, target_incarnation);
    wire::Header& h = packet.header;
    h.epoch = channel.epoch;
    h.seq = entry.message.seq;
    h.ack = channel.acked;  // Lets a receiver without this channel start at the right seq.
    h.timestamp_ns = entry.message.sent_unix_ns;
    if (entry.mode == SendMode::delivered) h.flags |= wire::flag::want_delivered;
    switch (entry.state) {
        case EntryState::skip:
            put_reason(packet, Errc::timeout);
            break;
        case EntryState::offered:
        case EntryState::offer_accepted:
            h.flags |= wire::flag::offer;
            break;
        case EntryState::sent:  // The body goes with the packet, shared (transmit).
            break;
        case EntryState::queued:
            HERALD_ASSERT(entry.state != EntryState::queued);
            break;
    }
    return packet;
}

void DirectState::arm_retransmit(SenderChannel& channel, Time at, Effects& out) {
    if (at >= channel.timer_at) return;
    channel.timer_at = at;
    out.set_timer(make_timer(TimerKind::retransmit, channel.id), at);
}

void DirectState::on_retransmit_timer(SenderChannel& channel, Time now, Effects& out) {
    channel.timer_at = Time::max();
    auto peer = peers_.find(channel.location);
    if (peer == peers_.end() || peer->second.incarnation == 0) return;
    if (options_.mutations.never_retransmit) return;
    if (abandon_if_stalled(channel, now, out)) return try_transmit(channel, now, out);
    if (channel.inflight() == 0) {
        if (channel.queued() == 0 || peer->second.hello_pending) return;  // Hello flushes it.
        send_probe(channel, now, out);
        channel.rto = std::min(channel.rto * 2, options_.retransmit_max);
        arm_retransmit(channel, now + channel.rto, out);
        return;
    }
    // Entries past the receiver's credit would be refused; when it is 0, probe with the first.
    const std::uint64_t limit =
        std::max<std::uint64_t>(1, std::min(channel.inflight(), allowed(channel)));
    std::uint64_t resent = 0;
    for (std::size_t i = 0; i < limit; ++i) {
        SendEntry& entry = channel.entries[i];
        if (entry.sent_at + channel.rto > now) continue;
        transmit(channel, entry, now, out);
        ++resent;
    }
    if (resent > 0) {
        counters_.retransmits += resent;
        trace(out, now, "retransmit", [&] {
            return "target=" + to_string(channel.key.target) +
                   " first_seq=" + std::to_string(channel.acked + 1) +
                   " count=" + std::to_string(resent) +
                   " rto_ms=" + std::to_string(channel.rto.ms());
        });
        channel.rto = std::min(channel.rto * 2, options_.retransmit_max);
    }
    arm_retransmit(channel, std::min(now + channel.rto, stall_at(channel)), out);
}

Time DirectState::stall_at(const SenderChannel& channel) const {
    // The receiver keeps a channel for channel_idle after its last packet. It had one at our
    // oldest in-flight message's first transmission (or opened it then) and when it last
    // acked; so packets sent within channel_idle/2 of the later of the two still find it,
    // if packets live less than channel_idle/4 in the network (rule 18).
    if (channel.inflight() == 0) return Time::max();
    const Time anchor = std::max(channel.heard, channel.entries.front().first_sent_at);
    return anchor + options_.channel_idle / 2;
}

bool DirectState::abandon_if_stalled(SenderChannel& channel, Time now, Effects& out) {
    if (now < stall_at(channel)) return false;
    // The receiver may have released its channel by now: another packet of this epoch could
    // reopen it below a message it delivered and deliver that twice. Give the epoch up.
    trace(out, now, "probe_channel_stalled",
          [&] { return "target=" + to_string(channel.key.target); });
    restart_channel(channel, Time::max(), Errc::unreachable, now, out);
    return true;
}

void DirectState::send_probe(SenderChannel& channel, Time now, Effects& out) {
    trace(out, now, "probe_zero_credit", [&] { return "target=" + to_string(channel.key.target); });
    if (channel.acked == 0) {
        transmit_next(channel, now, out);  // Nothing to repeat yet: send the next message.
        return;
    }
    // Repeat the last delivered seq as a skip: the receiver drops it as a duplicate and acks
    // with its current credit, and no queued message is committed to a seq before there is
    // room (so a blocked send can still be withdrawn at its deadline).
    wire::Packet packet =
        make_packet(wire::PacketKind::data, channel.key.source, channel.key.target, incarnation_,
                    peers_.at(channel.location).incarnation);
    packet.header.epoch = channel.epoch;
    packet.header.seq = channel.acked;
    packet.header.ack = channel.acked - 1;
    put_reason(packet, Errc::timeout);
    emit(channel.location, std::move(packet), out);
    watch(peers_.at(channel.location), now, out);
}

void DirectState::complete(SendEntry& entry, Result<Bytes> result, Effects& out) {
    if (!entry.pending) return;
    out.complete(entry.op, std::move(result));
    // The channel's deadline timer stays: when it fires it finds nothing due and re-arms for
    // the next pending deadline, if any (on_deadline_timer).
    entry.pending = false;
}

void DirectState::arm_deadline(SenderChannel& channel, Time at, Effects& out) {
    if (at >= channel.deadline_at) return;
    channel.deadline_at = at;
    out.set_timer(make_timer(TimerKind::deadline, channel.id), at);
}

void DirectState::on_deadline_timer(std::uint64_t channel_id, Time now, Effects& out) {
    auto it = senders_.find(channel_id);
    if (it == senders_.end()) return;  // Released since: its entries were all completed.
    it->second.deadline_at = Time::max();
    std::vector<OperationId> due;  // In send order; expiring one may change the entries.
    for (const SendEntry& entry : it->second.entries) {
        if (entry.pending && entry.deadline <= now) due.push_back(entry.op);
    }
    for (const OperationId op : due) expire(channel_id, op, now, out);
    it = senders_.find(channel_id);
    if (it == senders_.end()) return;
    Time next = Time::max();
    for (const SendEntry& entry : it->second.entries) {
        if (entry.pending) next = std::min(next, entry.deadline);
    }
    if (next != Time::max()) arm_deadline(it->second, next, out);
}

void DirectState::expire(std::uint64_t channel_id, OperationId op, Time now, Effects& out) {
    auto found = senders_.find(channel_id);
    if (found == senders_.end()) return;
    SenderChannel& channel = found->second;
    auto it = std::find_if(channel.entries.begin(), channel.entries.end(),
                           [&](const SendEntry& e) { return e.pending && e.op == op; });
    if (it == channel.entries.end()) return;  // Completed by an earlier expiry's restart.
    const auto index = static_cast<std::uint64_t>(it - channel.entries.begin());
    complete(*it, fail(Errc::timeout, "send deadline passed"), out);
    if (index >= channel.inflight()) {
        // Never transmitted: withdraw it; later messages take its place in seq order.
        channel.entries.erase(it);
        trace(out, now, "probe_withdrawn",
              [&] { return "target=" + to_string(channel.key.target); });
        return;
    }
    if (abandon_if_stalled(channel, now, out)) return try_transmit(channel, now, out);
    // Its seq is in use: a skip takes its place so that the receiver neither delivers it
    // later (unless the body got there first) nor waits for it (rule 9).
    it->state = EntryState::skip;
    it->body.reset();
    transmit(channel, *it, now, out);
    arm_retransmit(channel, now + channel.rto, out);
    trace(out, now, "probe_skip_sent", [&] {
        return "target=" + to_string(channel.key.target) +
               " seq=" + std::to_string(it->message.seq);
    });
}

void DirectState::fail_channel(SenderChannel& channel, Errc code, bool queued_too, Effects& out) {
    const std::uint64_t inflight = channel.inflight();
    for (std::size_t i = 0; i < channel.entries.size(); ++i) {
        if (i < inflight || queued_too) complete(channel.entries[i], fail(code), out);
    }
}

void DirectState::reset_sender(SenderChannel& channel, Time now) {
    HERALD_ASSERT(channel.inflight() == 0);
    channel.epoch = new_epoch(channel.key.source);
    channel.next_seq = 1;
    channel.acked = 0;
    channel.credit = options_.window_messages;
    channel.refused_next = 1;
    channel.refused_last = 0;
    channel.offer_mode = false;
    channel.rto = options_.retransmit_initial;
    channel.last_activity = now;
    channel.heard = Time{};
}

}  // namespace herald::proto::direct

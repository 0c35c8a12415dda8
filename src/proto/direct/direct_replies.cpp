// Sender side of the direct protocol, continued: the receiver's replies (ack, nack, ready).
// Layer: proto/direct.
#include <string>

#include "core/assert.h"
#include "proto/direct/direct_messages.h"
#include "proto/direct/direct_state.h"

namespace herald::proto::direct {

SenderChannel* DirectState::sender_of_reply(const wire::Packet& packet, Time now, Effects& out) {
    const wire::Header& h = packet.header;
    auto found = sender_ids_.find({h.target, h.source});
    if (found == sender_ids_.end()) {
        stale(now, out, "reply_without_channel");
        return nullptr;
    }
    SenderChannel& channel = senders_.at(found->second);
    if (channel.epoch != h.epoch) {
        // Epoch 0 is never a channel's; another one is a reply of an epoch the channel left.
        if (h.epoch == 0) {
            malformed(now, out, "reply_epoch_zero");
        } else {
            stale(now, out, "reply_epoch");
        }
        return nullptr;
    }
    return &channel;
}

void DirectState::on_ack(const wire::Packet& packet, Time now, Effects& out) {
    SenderChannel* channel = sender_of_reply(packet, now, out);
    if (channel == nullptr) return;
    const wire::Header& h = packet.header;
    const std::optional<std::uint32_t> credit = read_credit(packet);
    if (!credit) return malformed(now, out, "ack_credit");
    if (h.ack >= channel->next_seq) return malformed(now, out, "ack_unsent_seq");
    channel->credit = *credit;
    channel->last_activity = now;
    channel->heard = now;
    if (h.ack > channel->acked) {
        while (channel->acked < h.ack) {
            complete(channel->entries.front(), Bytes{}, out);  // accepted / delivered
            recycle_body(channel->entries.front().body);
            channel->entries.pop_front();
            ++channel->acked;
        }
        channel->rto = options_.retransmit_initial;
    }
    if (is_offer(packet)) on_offer_ack(*channel, h.seq, out);
    if (*credit == 0 && channel->inflight() > 0) {
        channel->refused_next = channel->acked + 1;  // Whatever is in flight was refused.
        channel->refused_last = channel->next_seq - 1;
    } else if (*credit > 0) {
        resend_refused(*channel, now, out);
    }
    try_transmit(*channel, now, out);
}

void DirectState::resend_refused(SenderChannel& channel, Time now, Effects& out) {
    // Rule 6: an ack with credit 0 said that what was in flight beyond it was refused; an ack
    // with credit says there is room for that much now. The refused go again at once, not on
    // the retransmit timer, whose backoff stretched every refusal of a burst to 20 ms and more
    // (issue 17 item 4: N senders to one receiver). One that was only late arrives twice: a
    // duplicate, dropped (rule 4).
    const std::uint64_t first = std::max(channel.refused_next, channel.acked + 1);
    const std::uint64_t last =
        std::min({channel.refused_last, channel.next_seq - 1, channel.acked + allowed(channel)});
    if (first > last) return;
    for (std::uint64_t seq = first; seq <= last; ++seq) {
        SendEntry& entry = channel.entries[static_cast<std::size_t>(seq - channel.acked - 1)];
        if (entry.state == EntryState::sent || entry.state == EntryState::skip) {
            transmit(channel, entry, now, out);
            ++counters_.retransmits;
        }
    }
    channel.refused_next = last + 1;
}

void DirectState::on_offer_ack(SenderChannel& channel, std::uint64_t seq, Effects& out) {
    if (seq <= channel.acked || seq >= channel.next_seq) return;  // Stale: already done.
    SendEntry& entry = channel.entries[static_cast<std::size_t>(seq - channel.acked - 1)];
    // The receiver is send-after-receive: it registered an offer (or turned our body into
    // one) and will send `ready` when its process receives (rule 12).
    channel.offer_mode = true;
    if (entry.state == EntryState::offered || entry.state == EntryState::sent) {
        entry.state = EntryState::offer_accepted;
    }
    if (entry.mode == SendMode::accepted) complete(entry, Bytes{}, out);
}

void DirectState::on_nack(const wire::Packet& packet, Time now, Effects& out) {
    const std::optional<Errc> reason = read_reason(packet);
    if (!reason) return malformed(now, out, "nack_reason");
    // The nack's source incarnation already told observe_peer about the restart (rule 14).
    if (*reason == Errc::peer_restarted) return;
    if (*reason != Errc::no_such_process && *reason != Errc::queue_full) {
        return malformed(now, out, "nack_reason");
    }
    SenderChannel* channel = sender_of_reply(packet, now, out);
    if (channel == nullptr) return;
    // no_such_process: transient messaging, nothing to wait for. queue_full: the receiving
    // node is at channels_max; the sender may retry later (rules 15 and 18).
    trace(out, now, *reason == Errc::queue_full ? "probe_nack_queue_full" : "no_such_process",
          [&] { return "target=" + to_string(channel->key.target); });
    fail_channel(*channel, *reason, true, out);
    release_sender(channel->id, out);
}

void DirectState::on_ready(const wire::Packet& packet, Time now, Effects& out) {
    SenderChannel* channel = sender_of_reply(packet, now, out);
    if (channel == nullptr) return;
    const std::uint64_t seq = packet.header.seq;
    if (seq <= channel->acked) return;  // Duplicate ready for a message already delivered.
    if (abandon_if_stalled(*channel, now, out)) return try_transmit(*channel, now, out);
    if (seq >= channel->next_seq) return malformed(now, out, "ready_unsent_seq");
    SendEntry& entry = channel->entries[static_cast<std::size_t>(seq - channel->acked - 1)];
    channel->offer_mode = true;
    channel->last_activity = now;
    if (entry.state == EntryState::offered || entry.state == EntryState::offer_accepted) {
        entry.state = EntryState::sent;  // The body moves now, copied once (rule 12).
    }
    if (entry.mode == SendMode::accepted && entry.state != EntryState::skip) {
        complete(entry, Bytes{}, out);
    }
    transmit(*channel, entry, now, out);  // Body, or the skip that replaced it.
    arm_retransmit(*channel, now + channel->rto, out);
    trace(out, now, "ready", [&] {
        return "target=" + to_string(channel->key.target) + " seq=" + std::to_string(seq);
    });
}

}  // namespace herald::proto::direct

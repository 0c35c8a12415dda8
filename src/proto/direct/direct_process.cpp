// Receiver side of the direct protocol, continued: what the local process does (posts or
// cancels a receive, consumes delivered messages) and the `ready` it triggers.
// Layer: proto/direct.
#include <algorithm>
#include <limits>
#include <string>

#include "core/assert.h"
#include "proto/direct/direct_messages.h"
#include "proto/direct/direct_state.h"

namespace herald::proto::direct {

void DirectState::on_receive_posted(Pid receiver, std::span<const Pid> from, Time now,
                                    Effects& out) {
    auto it = processes_.find(receiver);
    if (it == processes_.end()) return;
    it->second.waiting = true;
    it->second.from.assign(from.begin(), from.end());
    maybe_ready(receiver, it->second, now, out);
}

void DirectState::on_receive_cancelled(Pid receiver) {
    auto it = processes_.find(receiver);
    if (it != processes_.end()) it->second.waiting = false;
}

void DirectState::on_consumed(Pid receiver, std::uint32_t count, Time now, Effects& out) {
    auto it = processes_.find(receiver);
    if (it == processes_.end()) return;
    LocalProcess& process = it->second;
    if (count > process.queued) {
        trace(out, now, "probe_consumed_overflow", [&] { return "pid=" + to_string(receiver); });
        count = process.queued;
    }
    process.queued -= count;
    std::uint32_t unblocked = 0;
    for (const auto& pair : sources_range(receiver)) {
        const Pid& source = pair.second;  // Not a structured binding: the trace lambda uses it.
        ReceiverChannel& channel = receivers_.at({source, receiver});
        const std::uint64_t expected = channel.expected;
        drain(channel, process, out);
        // Window update: the sender stopped for lack of credit, or held data moved (rule 6).
        if (channel.expected != expected || (channel.blocked && free_slots(channel, process) > 0)) {
            channel.last_activity = now;  // The sender counts this ack as a sign of life.
            trace(out, now, "window_update", [&] { return "source=" + to_string(source); });
            // Still counted as blocked while the acks of this round go out, so that all the
            // waiting senders share the same free slots (credit_for).
            send_ack(channel, process, 0, out);
            if (channel.blocked && free_slots(channel, process) > 0) {
                channel.blocked = false;
                ++unblocked;
            }
        }
    }
    HERALD_ASSERT(process.blocked >= unblocked);
    process.blocked -= unblocked;
}

void DirectState::maybe_ready(Pid receiver, LocalProcess& process, Time now, Effects& out) {
    if (process.options.buffering != Buffering::send_after_receive || !process.waiting) return;
    ReceiverChannel* best = nullptr;
    std::uint64_t best_stamp = std::numeric_limits<std::uint64_t>::max();
    for (const auto& pair : sources_range(receiver)) {
        const Pid& source = pair.second;
        if (!matches(process, source)) continue;
        ReceiverChannel& channel = receivers_.at({source, receiver});
        if (channel.readied != 0) return;  // One body is already on its way to this receive.
        auto offer = channel.offers.find(channel.expected);
        if (offer != channel.offers.end() && offer->second < best_stamp) {
            best = &channel;
            best_stamp = offer->second;
        }
    }
    if (best == nullptr) return;
    best->readied = best->expected;  // The oldest offer among the accepted senders goes first.
    best->ready_rto = options_.retransmit_initial;
    send_ready(*best, now, out);
    // We wait for the body: repeat `ready` until it comes (the sender's offer keepalive backs
    // off to retransmit_max; this keeps a lost ready cheap).
    out.set_timer(make_timer(TimerKind::ready, best->id), now + best->ready_rto);
}

void DirectState::on_ready_timer(std::uint64_t id, Time now, Effects& out) {
    auto key = receiver_keys_.find(id);
    if (key == receiver_keys_.end()) return;
    ReceiverChannel& channel = receivers_.at(key->second);
    if (channel.readied == 0) return;  // The body came (or a skip).
    ++counters_.retransmits;
    send_ready(channel, now, out);
    channel.ready_rto = std::min(channel.ready_rto * 2, options_.retransmit_max);
    out.set_timer(make_timer(TimerKind::ready, channel.id), now + channel.ready_rto);
}

void DirectState::send_ready(ReceiverChannel& channel, Time now, Effects& out) {
    HERALD_ASSERT(channel.readied != 0);
    wire::Packet packet = make_packet(wire::PacketKind::ready, channel.key.target,
                                      channel.key.source, incarnation_, channel.source_incarnation);
    packet.header.epoch = channel.epoch;
    packet.header.seq = channel.readied;
    emit(channel.source_node, std::move(packet), out);
    trace(out, now, "ready", [&] {
        return "source=" + to_string(channel.key.source) +
               " seq=" + std::to_string(channel.readied);
    });
}

}  // namespace herald::proto::direct

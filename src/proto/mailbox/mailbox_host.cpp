// MailboxEngine, host side: the mailboxes this node keeps. Sends are stored (persistent: once
// durable) and deduplicated by message id; receives wait for a message in arrival order;
// persistent messages are leased until acknowledged. Layer: proto/mailbox.
#include <algorithm>
#include <charconv>

#include "core/assert.h"
#include "proto/mailbox/mailbox_engine.h"
#include "proto/rpc/rpc_messages.h"

namespace herald::proto::mailbox {

using wire::PacketKind;

MailboxPacket MailboxEngine::answer_to(const MailboxPacket& request, PacketKind kind,
                                       Errc reason) const {
    MailboxPacket a;
    a.kind = kind;
    a.source = Pid{self_, 0};
    a.target = request.source;
    a.target_incarnation = request.source_incarnation;
    a.id = request.id;
    a.tag = request.tag;
    a.reason = reason;
    return a;
}

void MailboxEngine::answer(NodeId to, RequestKey key, MailboxPacket m, Time now, Effects& out) {
    transmit(to, m, out);
    answers_[key] = Answer{std::move(m), true, now + options_.answer_retention};
}

void MailboxEngine::on_send_request(NodeId from, MailboxPacket& m, Time now, Effects& out) {
    if (auto seen = seen_.find({from.value, m.id}); seen != seen_.end()) {
        ++counters_.duplicate_sends;
        // While it is being written the answer comes with on_durable; the sender retries.
        if (seen->second.state == Seen::State::writing) return;
        auto again = answer_to(m, PacketKind::mailbox_accept, seen->second.reason);
        again.mailbox_seq = seen->second.seq;  // A board post's seq (B2).
        return transmit(from, again, out);
    }
    auto it = boxes_.find(m.name);
    Errc refusal = Errc::ok;
    if (it == boxes_.end() || !it->second.ready) {
        refusal = Errc::not_found;
    } else if (!allowed(it->second, m.source, rights::send)) {
        refusal = Errc::access_denied;
    } else if (it->second.board) {
        if (m.body.size() > it->second.capacity_bytes) refusal = Errc::too_large;
    } else if (it->second.messages >= it->second.capacity_messages ||
               it->second.bytes + m.body.size() > it->second.capacity_bytes) {
        ++counters_.refused_full;
        refusal = Errc::queue_full;
    } else if (m.body.size() > options_.body_bytes_max) {
        refusal = Errc::too_large;
    }
    if (refusal == Errc::ok && maybe_sent_before_start(m, it->second, now)) {
        refusal = Errc::peer_restarted;
    }
    if (refusal != Errc::ok) {
        remember_seen({from.value, m.id}, Seen::State::refused, false, refusal);
        return transmit(from, answer_to(m, PacketKind::mailbox_accept, refusal), out);
    }
    if (it->second.board) return post(it->first, it->second, m, now, out);
    store_message(it->first, it->second, m, now, out);
}

// M17: a send whose id this incarnation does not know may have reached an earlier incarnation,
// whose memory of it is gone (transient mailboxes; refusals): its fate is unknown. A persistent
// mailbox needs only the sender's clock (the age says it was first sent before the start); a
// transient one also waits out packet_lifetime after the start, since a copy of the first
// transmission may still be in the network (TCP's quiet time, RFC 793).
bool MailboxEngine::maybe_sent_before_start(const MailboxPacket& m, const Mailbox& box,
                                            Time now) const {
    if (incarnation_ == 1) return false;  // No earlier incarnation.
    // M23: first sent to this incarnation, so it cannot have reached an earlier one.
    if (m.target_incarnation == incarnation_) return false;
    const Duration uptime = now - started_;
    if (box.durability == Durability::persistent) return m.age > uptime;
    return m.age + options_.packet_lifetime > uptime;
}

void MailboxEngine::store_message(const std::string& name, Mailbox& box, MailboxPacket& m, Time now,
                                  Effects& out) {
    const auto seq = box.next_seq++;
    ++box.messages;
    box.bytes += m.body.size();
    auto reply = answer_to(m, PacketKind::mailbox_accept, Errc::ok);
    Entry entry{StoredMessage{m.source, m.id, std::move(m.body)}, 0, false};
    const SeenKey key{m.source.node.value, m.id};
    if (box.durability == Durability::transient) {
        remember_seen(key, Seen::State::stored, false);
        ++counters_.accepted;
        transmit(m.source.node, reply, out);
        return enqueue(name, box, seq, std::move(entry), now, out);
    }
    remember_seen(key, Seen::State::writing, true);
    const auto token = next_token_++;
    const OperationId answers = local_send(m);
    // Encoded into buffers the driver gave back (no allocation in a steady stream).
    std::string record_key = out.record_key();
    message_key(name, seq, record_key);
    Bytes record_value = out.record_value();
    if (record_value.capacity() > 0) ++counters_.records_in_kept_buffers;
    encode_message(entry.message, record_value);
    out.persist(token, std::move(record_key), std::move(record_value), answers);
    writes_.emplace(token, WriteStore{name, seq, std::move(reply), std::move(entry), answers});
}

// M6: a send of this engine's own client to its own host is decided by the write alone: the
// persist names its operation (a driver may answer it once the write is durable) and the
// client waits for the write without a timeout or a retransmission.
OperationId MailboxEngine::local_send(const MailboxPacket& m) {
    if (m.source.node != self_ || m.source_incarnation != incarnation_) return 0;
    auto it = outstanding_.find(m.id);
    if (it == outstanding_.end() || it->second.request.kind != PacketKind::mailbox_send) return 0;
    it->second.writing = true;
    return it->second.op;
}

void MailboxEngine::enqueue(const std::string& name, Mailbox& box, std::uint64_t seq, Entry entry,
                            Time now, Effects& out) {
    box.queued.emplace(seq, std::move(entry));
    hand_out(name, box, now, out);
}

// The owner has every right; others have everyone's, their node's and their own, ored.
bool MailboxEngine::allowed(const Mailbox& box, Pid who, std::uint8_t right) const {
    if (box.owner.valid() && who == box.owner) return true;
    std::uint8_t have = box.everyone;
    if (auto g = box.grants.find(who); g != box.grants.end()) have |= g->second;
    if (auto g = box.grants.find(Pid{who.node, 0}); g != box.grants.end()) have |= g->second;
    return (have & right) != 0;
}

namespace {

bool from_matches(Pid from, Pid sender) {
    if (!from.node.known()) return true;
    return from.node == sender.node && (from.local == 0 || from.local == sender.local);
}

// The first queued message the waiter may have (M18, M19): O(queued) when it filters.
QueuedMap::iterator match(QueuedMap& queued, const Waiter& w) {
    auto it = w.peek ? queued.upper_bound(w.after) : queued.begin();
    while (it != queued.end() && !from_matches(w.from, it->second.message.sender)) ++it;
    return it;
}

}  // namespace

MailboxPacket MailboxEngine::deliver_packet(const Waiter& w, std::uint64_t tag,
                                            const Entry& e) const {
    MailboxPacket d;
    d.kind = PacketKind::mailbox_deliver;
    // The header's source is the host: a node learns where a node is from the packets it sends
    // (runtime peer table); the message's sender rides in mailbox_sender.
    d.source = Pid{self_, 0};
    d.sender = e.message.sender;
    d.target = w.receiver;
    d.target_incarnation = w.incarnation;
    d.id = w.request;
    d.tag = tag;
    d.deliveries = e.deliveries;
    d.redelivery = e.maybe_seen || e.deliveries > 1;
    d.message_id = e.message.message_id;
    d.body = e.message.body;
    return d;
}

void MailboxEngine::hand_out(const std::string& name, Mailbox& box, Time now, Effects& out) {
    if (box.board) return wake_readers(name, box, now, out);
    // First come, first served among the waiters a message matches (M7, M18).
    for (auto w = box.waiters.begin(); w != box.waiters.end() && !box.queued.empty();) {
        const auto entry = match(box.queued, *w);
        if (entry == box.queued.end()) {
            ++w;
            continue;
        }
        const Waiter waiter = *w;
        w = box.waiters.erase(w);
        give(name, box, waiter, entry, now, out);
    }
}

// Answers `w` with the message at `entry`: a copy when it peeks (M19), else the message itself,
// leased (persistent) or gone from the mailbox (transient).
void MailboxEngine::give(const std::string& name, Mailbox& box, const Waiter& w,
                         QueuedMap::iterator entry, Time now, Effects& out) {
    const RequestKey key{w.receiver.node.value, w.incarnation, w.receiver.local, w.request};
    if (w.peek) {
        auto packet = deliver_packet(w, 0, entry->second);
        packet.mailbox_seq = entry->first;
        return answer(w.receiver.node, key, std::move(packet), now, out);
    }
    auto node = box.queued.extract(entry);
    Entry& e = node.mapped();
    ++e.deliveries;
    ++counters_.delivered;
    const auto tag = next_id_++;
    auto packet = deliver_packet(w, tag, e);
    packet.mailbox_seq = node.key();
    if (box.durability == Durability::persistent) {
        box.leased.emplace(tag, Lease{node.key(), std::move(e), now + options_.lease});
    } else {
        --box.messages;
        box.bytes -= e.message.body.size();
        remember_seen({e.message.sender.node.value, e.message.message_id}, Seen::State::acked,
                      false);
    }
    if (out.tracing) {
        out.trace(now, "mailbox_deliver",
                  name + " seq=" + std::to_string(node.key()) +
                      " from=" + to_string(packet.sender) +
                      " id=" + std::to_string(packet.message_id) + " tag=" + std::to_string(tag) +
                      " redelivery=" + std::to_string(packet.redelivery ? 1 : 0));
    }
    answer(w.receiver.node, key, std::move(packet), now, out);
}

// M24: a request below its pid's floor is a late copy of a finished one and is dropped; a
// higher floor frees the pid's finished answers below it.
bool MailboxEngine::admit(NodeId from, const MailboxPacket& m, Time now) {
    const ClientKey client{from.value, m.source_incarnation, m.source.local};
    auto it = floors_.find(client);
    if (it != floors_.end() && m.id < it->second.floor) {
        ++counters_.duplicates_dropped;
        return false;
    }
    if (m.floor == 0) return true;
    if (it == floors_.end()) {
        if (floors_.size() >= options_.answers_max) return true;  // Its answers age out (M3).
        it = floors_.emplace(client, ClientFloor{}).first;
    }
    it->second.expires = now + options_.answer_retention;
    if (m.floor <= it->second.floor) return true;
    it->second.floor = m.floor;
    const auto [node, incarnation, local] = client;
    auto a = answers_.lower_bound({node, incarnation, local, 0});
    const auto end = answers_.lower_bound({node, incarnation, local, m.floor});
    while (a != end) a = a->second.done ? answers_.erase(a) : std::next(a);
    return true;
}

void MailboxEngine::on_receive_request(NodeId from, const MailboxPacket& m, Time now,
                                       Effects& out) {
    if (!admit(from, m, now)) return;
    const RequestKey key{from.value, m.source_incarnation, m.source.local, m.id};
    if (auto known = answers_.find(key); known != answers_.end()) {
        ++counters_.duplicates_dropped;
        if (known->second.done) transmit(from, known->second.packet, out);
        return;  // Still waiting: the answer comes when a message does or the wait ends.
    }
    auto it = boxes_.find(m.name);
    if (it == boxes_.end() || !it->second.ready) {
        return answer(from, key, answer_to(m, PacketKind::mailbox_deliver, Errc::not_found), now,
                      out);
    }
    if (!allowed(it->second, m.source, rights::receive)) {
        return answer(from, key, answer_to(m, PacketKind::mailbox_deliver, Errc::access_denied),
                      now, out);
    }
    if (answers_.size() >= options_.answers_max) {
        return transmit(from, answer_to(m, PacketKind::mailbox_deliver, Errc::queue_full), out);
    }
    auto& box = it->second;
    if (box.board != (m.board_count != 0)) {  // B6: a board is read, a mailbox received.
        return answer(from, key, answer_to(m, PacketKind::mailbox_deliver, Errc::invalid_argument),
                      now, out);
    }
    if (box.board) return on_board_read(from, it->first, box, m, now, out);
    const Waiter w{m.source, m.source_incarnation,
                   m.id,     now + Duration::milliseconds(m.wait_ms),
                   m.from,   m.peek,
                   m.after};
    if (m.take != 0) {  // M20: that message or nothing, at once.
        auto entry = box.queued.find(m.take);
        if (entry == box.queued.end() || !from_matches(m.from, entry->second.message.sender)) {
            return answer(from, key, answer_to(m, PacketKind::mailbox_deliver, Errc::not_found),
                          now, out);
        }
        return give(it->first, box, w, entry, now, out);
    }
    if (auto entry = match(box.queued, w); entry != box.queued.end()) {
        return give(it->first, box, w, entry, now, out);
    }
    if (m.wait_ms == 0) {
        return answer(from, key, answer_to(m, PacketKind::mailbox_deliver, Errc::timeout), now,
                      out);
    }
    box.waiters.push_back(w);
    answers_[key] = Answer{{}, false, Time::max()};
}

void MailboxEngine::on_ack_request(NodeId from, const MailboxPacket& m, Time now, Effects& out) {
    if (!admit(from, m, now)) return;
    const RequestKey key{from.value, m.source_incarnation, m.source.local, m.id};
    if (auto known = answers_.find(key); known != answers_.end()) {
        ++counters_.duplicates_dropped;
        if (known->second.done) transmit(from, known->second.packet, out);
        return;
    }
    auto it = boxes_.find(m.name);
    if (it == boxes_.end() || !it->second.ready) {
        return answer(from, key, answer_to(m, PacketKind::mailbox_ack_reply, Errc::not_found), now,
                      out);
    }
    if (!allowed(it->second, m.source, rights::receive)) {
        return answer(from, key, answer_to(m, PacketKind::mailbox_ack_reply, Errc::access_denied),
                      now, out);
    }
    if (it->second.durability == Durability::transient && !it->second.board) {
        return answer(from, key, answer_to(m, PacketKind::mailbox_ack_reply, Errc::ok), now, out);
    }
    auto lease = it->second.leased.find(m.tag);
    if (lease == it->second.leased.end() || lease->second.acking) {
        return answer(from, key, answer_to(m, PacketKind::mailbox_ack_reply, Errc::not_found), now,
                      out);
    }
    lease->second.acking = true;
    const auto& message = lease->second.entry.message;
    const auto token = next_token_++;
    std::string erased = out.record_key();  // Buffers the driver gave back, as in a send.
    message_key(it->first, lease->second.seq, erased);
    out.erase(token, std::move(erased));
    std::string tombstone = out.record_key();
    tombstone_key(message.sender.node, message.message_id, tombstone);
    Bytes order = out.record_value();
    put_u64(order, seen_order_);
    out.persist(token, std::move(tombstone), std::move(order));
    answers_[key] = Answer{{}, false, Time::max()};
    writes_.emplace(token, WriteAck{it->first, m.tag, key,
                                    answer_to(m, PacketKind::mailbox_ack_reply, Errc::ok)});
}

void MailboxEngine::durable_store(WriteStore& w, const Status& status, Time now, Effects& out) {
    const SeenKey key{w.entry.message.sender.node.value, w.entry.message.message_id};
    auto it = boxes_.find(w.mailbox);
    if (it == boxes_.end()) {
        // Destroyed while it was written: take the record back out; the sender learns `closed`,
        // but a local send whose write is durable was accepted by it (M6, M13): it was
        // discarded with the mailbox, as a message accepted just before the destroy.
        const bool accepted = status && w.answers != 0;
        if (accepted) {
            remember_seen(key, Seen::State::acked, false);
        } else {
            remember_seen(key, Seen::State::refused, false, Errc::closed);
        }
        if (status) out.erase(next_token_++, message_key(w.mailbox, w.seq));
        w.answer.reason = accepted ? Errc::ok : Errc::closed;
        return transmit(w.answer.target.node, w.answer, out);
    }
    auto& box = it->second;
    if (!status) {
        --box.messages;
        box.bytes -= w.entry.message.body.size();
        remember_seen(key, Seen::State::refused, false, Errc::storage_error);
        w.answer.reason = Errc::storage_error;
        return transmit(w.answer.target.node, w.answer, out);
    }
    seen_[key].state = Seen::State::stored;
    ++counters_.accepted;
    transmit(w.answer.target.node, w.answer, out);
    enqueue(it->first, box, w.seq, std::move(w.entry), now, out);
}

void MailboxEngine::durable_ack(WriteAck& w, const Status& status, Time now, Effects& out) {
    auto it = boxes_.find(w.mailbox);
    auto lease =
        it == boxes_.end() ? decltype(it->second.leased.end()){} : it->second.leased.find(w.tag);
    if (it == boxes_.end() || lease == it->second.leased.end()) {
        w.answer.reason = Errc::not_found;  // Destroyed meanwhile.
        return answer(w.answer.target.node, w.request, std::move(w.answer), now, out);
    }
    if (!status) {
        lease->second.acking = false;  // The lease runs on; the message comes back if it ends.
        w.answer.reason = Errc::storage_error;
        return answer(w.answer.target.node, w.request, std::move(w.answer), now, out);
    }
    const auto& message = lease->second.entry.message;
    --it->second.messages;
    it->second.bytes -= message.body.size();
    remember_seen({message.sender.node.value, message.message_id}, Seen::State::acked, true);
    ++counters_.acknowledged;
    it->second.leased.erase(lease);
    answer(w.answer.target.node, w.request, std::move(w.answer), now, out);
}

void MailboxEngine::durable_control(WriteControl& w, const Status& status, Effects& out) {
    if (w.what == WriteControl::What::create) {
        auto it = boxes_.find(w.mailbox);
        HERALD_ASSERT(it != boxes_.end());
        if (status) {
            it->second.ready = true;
        } else {
            boxes_.erase(it);
        }
    }
    if (w.what == WriteControl::What::grant) {
        auto it = boxes_.find(w.mailbox);
        if (it == boxes_.end()) return out.complete(w.op, fail(Errc::not_found, w.mailbox));
        --it->second.grants_writing;
        if (status) {
            it->second.everyone = w.everyone;
            it->second.grants = std::move(w.grants);
        }
    }
    if (!status) return out.complete(w.op, fail(Errc::storage_error, status.error().detail));
    out.complete(w.op, Bytes{});
}

void MailboxEngine::host_tick(Time now, Effects& out) {
    for (auto& [name, box] : boxes_) {
        if (box.board) board_tick(name, box, now, out);
        for (auto lease = box.leased.begin(); lease != box.leased.end();) {
            if (lease->second.acking || lease->second.until > now) {
                ++lease;
                continue;
            }
            ++counters_.redelivered;
            lease->second.entry.maybe_seen = true;
            box.queued.emplace(lease->second.seq, std::move(lease->second.entry));
            lease = box.leased.erase(lease);
        }
        hand_out(name, box, now, out);
        while (!box.waiters.empty() && box.waiters.front().until <= now) {
            const Waiter w = box.waiters.front();
            box.waiters.pop_front();
            MailboxPacket timeout;
            timeout.source = w.receiver;
            timeout.source_incarnation = w.incarnation;
            timeout.id = w.request;
            answer(w.receiver.node,
                   {w.receiver.node.value, w.incarnation, w.receiver.local, w.request},
                   answer_to(timeout, PacketKind::mailbox_deliver, Errc::timeout), now, out);
        }
    }
    std::erase_if(answers_,
                  [now](const auto& a) { return a.second.done && a.second.expires <= now; });
    std::erase_if(floors_, [now](const auto& f) { return f.second.expires <= now; });
}

void MailboxEngine::discard(const std::string& name, Mailbox& box, Time now, Effects& out) {
    (void)name;
    if (box.durability == Durability::transient) {
        counters_.discarded += box.queued.size() + box.leased.size();
    }
    for (const auto& w : box.waiters) {
        MailboxPacket closed;
        closed.source = w.receiver;
        closed.source_incarnation = w.incarnation;
        closed.id = w.request;
        answer(w.receiver.node, {w.receiver.node.value, w.incarnation, w.receiver.local, w.request},
               answer_to(closed, PacketKind::mailbox_deliver, Errc::closed), now, out);
    }
    box.waiters.clear();
}

void MailboxEngine::remember_seen(SeenKey key, Seen::State state, bool durable, Errc reason) {
    auto& seen = seen_[key];
    seen.state = state;
    seen.durable = durable;
    seen.reason = reason;
    if (state == Seen::State::acked || state == Seen::State::refused) {
        seen.order = seen_order_++;
        tombstones_.emplace(seen.order, key);
    }
}

void MailboxEngine::evict_seen(Effects& out) {
    while (seen_.size() > options_.seen_max && !tombstones_.empty()) {
        const auto key = tombstones_.begin()->second;
        tombstones_.erase(tombstones_.begin());
        auto it = seen_.find(key);
        const bool done = it != seen_.end() && (it->second.state == Seen::State::acked ||
                                                it->second.state == Seen::State::refused);
        if (!done) continue;
        if (it->second.durable)
            out.erase(next_token_++, tombstone_key(NodeId{key.first}, key.second));
        seen_.erase(it);
    }
}

void MailboxEngine::restore_record(const StoredRecord& record) {
    std::string_view key = record.first;
    if (key.starts_with("mailbox/p/") || key.starts_with("mailbox/c/") ||
        key.starts_with("mailbox/f/")) {
        return restore_board_record(record);
    }
    if (key.starts_with("mailbox/b/")) {
        const auto d = decode_definition(record.second);
        if (!d) return void(++counters_.bad_records);
        Mailbox box = new_mailbox();
        box.durability = Durability::persistent;
        box.capacity_messages = d->capacity_messages;
        box.capacity_bytes = d->capacity_bytes;
        box.owner = d->owner;
        box.everyone = d->everyone;
        box.grants = d->grants;
        box.board = d->board;
        box.retain_age = Duration::milliseconds(static_cast<std::int64_t>(d->retain_ms));
        boxes_.emplace(std::string(key.substr(10)), std::move(box));
        return;
    }
    const bool message = key.starts_with("mailbox/m/");
    const bool tombstone = key.starts_with("mailbox/t/");
    const auto slash = key.rfind('/');
    std::uint64_t number = 0;
    const auto tail = key.substr(slash + 1);
    if ((!message && !tombstone) ||
        std::from_chars(tail.data(), tail.data() + tail.size(), number, 16).ec != std::errc{}) {
        return void(++counters_.bad_records);
    }
    const auto head = key.substr(10, slash - 10);
    if (tombstone) {
        std::uint64_t node = 0;
        std::uint64_t order = 0;
        std::size_t offset = 0;
        if (std::from_chars(head.data(), head.data() + head.size(), node, 16).ec != std::errc{} ||
            !get_u64(record.second, offset, order)) {
            return void(++counters_.bad_records);
        }
        std::uint64_t seq = 0;  // A board post's tombstone also has its seq (B2).
        if (record.second.size() == 16) (void)get_u64(record.second, offset, seq);
        seen_[{node, number}] = Seen{Seen::State::acked, Errc::ok, true, order, seq};
        tombstones_.emplace(order, SeenKey{node, number});
        seen_order_ = std::max(seen_order_, order + 1);
        return;
    }
    auto box = boxes_.find(head);
    auto stored = decode_message(record.second);
    if (box == boxes_.end() || !stored) return void(++counters_.bad_records);
    seen_[{stored->sender.node.value, stored->message_id}] =
        Seen{Seen::State::stored, Errc::ok, true, 0};
    ++box->second.messages;
    box->second.bytes += stored->body.size();
    box->second.next_seq = std::max(box->second.next_seq, number + 1);
    box->second.queued.emplace(number, Entry{std::move(*stored), 0, true});
}

}  // namespace herald::proto::mailbox

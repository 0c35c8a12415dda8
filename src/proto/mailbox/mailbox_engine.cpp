// MailboxEngine: commands, the client side (requests retransmitted until answered), the timer,
// restore and dispatch. The host side is in mailbox_host.cpp. Layer: proto/mailbox.
#include "proto/mailbox/mailbox_engine.h"

#include "core/assert.h"

namespace herald::proto::mailbox {
namespace {

using wire::PacketKind;

constexpr TimerId tick_timer{1};

PacketKind request_kind_of(PacketKind answer) {
    switch (answer) {
        case PacketKind::mailbox_accept:
            return PacketKind::mailbox_send;
        case PacketKind::mailbox_deliver:
            return PacketKind::mailbox_receive;
        default:
            return PacketKind::mailbox_ack;
    }
}

Result<Bytes> result_of(const MailboxPacket& answer, bool board_read) {
    if (answer.reason != Errc::ok) return fail(answer.reason, "refused by the mailbox host");
    if (board_read) return answer.body;  // encode_batch(...), checked by decode_batch.
    if (answer.kind == PacketKind::mailbox_accept && answer.mailbox_seq != 0) {
        Bytes seq;  // A board post's seq (B2).
        put_u64(seq, answer.mailbox_seq);
        return seq;
    }
    if (answer.kind != PacketKind::mailbox_deliver) return Bytes{};
    return encode_received({answer.tag, answer.message_id, answer.deliveries, answer.redelivery,
                            answer.sender, answer.mailbox_seq, answer.body});
}

}  // namespace

bool valid_mailbox_name(std::string_view name, std::uint32_t bytes_max) {
    if (name.empty() || name.size() > bytes_max) return false;
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

MailboxEngine::MailboxEngine(const EngineContext& context, const MailboxOptions& options)
    : self_(context.self),
      incarnation_(context.incarnation),
      started_(context.started),
      wall_offset_(context.wall_offset),
      options_(options),
      next_id_((std::uint64_t{context.incarnation} << 32) | 1) {
    HERALD_ASSERT(context.self.known());
    HERALD_ASSERT(context.incarnation >= 1);
}

Mailbox MailboxEngine::new_mailbox() {
    Mailbox box;
    box.queued = pooled<QueuedMap>(queued_nodes_);
    box.leased = pooled<decltype(box.leased)>(leased_nodes_);
    return box;
}

void MailboxEngine::on_create(OperationId op, const MailboxSpec& spec, Time now, Effects& out) {
    (void)now;
    if (!valid_mailbox_name(spec.name, options_.name_bytes_max) || spec.capacity_messages == 0 ||
        spec.capacity_bytes == 0) {
        out.complete(op, fail(Errc::invalid_argument, "mailbox name or capacity"));
        return;
    }
    if (const Errc bad = check_board_spec(spec); bad != Errc::ok) {
        return out.complete(op, fail(bad,
                                     "board retention: count 1..board_retain_messages_max, "
                                     "age 0..board_retain_ms_max, and only on a board"));
    }
    if (spec.owner.node.known() && (!spec.owner.valid() || spec.owner.node != self_)) {
        return out.complete(op,
                            fail(Errc::invalid_argument, "the owner is not a pid of this node"));
    }
    if (boxes_.contains(spec.name)) return out.complete(op, fail(Errc::already_exists, spec.name));
    if (boxes_.size() >= options_.mailboxes_max) {
        return out.complete(op, fail(Errc::queue_full, "mailboxes_max"));
    }
    Mailbox box = new_mailbox();
    box.durability = spec.durability;
    box.capacity_messages = spec.capacity_messages;
    box.capacity_bytes = spec.capacity_bytes;
    box.owner = spec.owner;
    box.everyone = spec.restricted ? rights::none : rights::all;
    box.board = spec.board;
    box.retain_age = Duration::milliseconds(static_cast<std::int64_t>(spec.retain_ms));
    if (spec.durability == Durability::transient) {
        boxes_.emplace(spec.name, std::move(box));
        return out.complete(op, Bytes{});
    }
    box.ready = false;
    const auto token = next_token_++;
    out.persist(token, definition_key(spec.name), encode_definition(definition_of(box)));
    boxes_.emplace(spec.name, std::move(box));
    writes_.emplace(token, WriteControl{op, spec.name, WriteControl::What::create, 0, {}});
}

MailboxDefinition MailboxEngine::definition_of(const Mailbox& box) const {
    return {box.durability == Durability::persistent,
            box.capacity_messages,
            box.capacity_bytes,
            box.owner,
            box.everyone,
            box.grants,
            box.board,
            static_cast<std::uint64_t>(box.retain_age.ms())};
}

void MailboxEngine::on_grant(OperationId op, std::string_view name, Pid by, Grantee who,
                             std::uint8_t rights, Time now, Effects& out) {
    (void)now;
    auto it = boxes_.find(name);
    if (it == boxes_.end() || !it->second.ready) {
        return out.complete(op, fail(Errc::not_found, std::string(name)));
    }
    auto& box = it->second;
    if (by.node.known() && by != box.owner) {
        return out.complete(op, fail(Errc::access_denied, "only the owner or the host may grant"));
    }
    const bool everyone = !who.node.known() && who.local == 0;
    if (rights > rights::all || (!everyone && !who.node.known())) {
        return out.complete(op, fail(Errc::invalid_argument, "grantee or rights"));
    }
    auto next = definition_of(box);
    if (box.grants_writing > 0) {
        next.everyone = box.staged_everyone;
        next.grants = box.staged_grants;
    }
    if (everyone) {
        next.everyone = rights;
    } else if (rights == rights::none) {
        next.grants.erase(who);
    } else if (!next.grants.contains(who) && next.grants.size() >= grants_max) {
        return out.complete(op, fail(Errc::queue_full, "grants_max"));
    } else {
        next.grants[who] = rights;
    }
    if (box.durability == Durability::transient) {
        box.everyone = next.everyone;
        box.grants = std::move(next.grants);
        return out.complete(op, Bytes{});
    }
    // Persistent: the rights change once the definition is durable (durable_control).
    const auto token = next_token_++;
    out.persist(token, definition_key(it->first), encode_definition(next));
    ++box.grants_writing;
    box.staged_everyone = next.everyone;
    box.staged_grants = next.grants;
    writes_.emplace(token, WriteControl{op, it->first, WriteControl::What::grant, next.everyone,
                                        std::move(next.grants)});
}

void MailboxEngine::on_destroy(OperationId op, std::string_view name, Time now, Effects& out) {
    auto it = boxes_.find(name);
    if (it == boxes_.end() || !it->second.ready) {
        return out.complete(op, fail(Errc::not_found, std::string(name)));
    }
    const std::string key(name);
    const bool persistent = it->second.durability == Durability::persistent;
    const auto token = next_token_++;
    if (persistent) {
        out.erase(token, definition_key(key));
        for (const auto& [seq, entry] : it->second.queued) out.erase(token, message_key(key, seq));
        for (const auto& [tag, lease] : it->second.leased) {
            out.erase(token, message_key(key, lease.seq));
        }
        if (it->second.board) erase_board(key, it->second, token, out);
    }
    discard(key, it->second, now, out);
    boxes_.erase(it);
    if (!persistent) return out.complete(op, Bytes{});
    writes_.emplace(token, WriteControl{op, key, WriteControl::What::destroy, 0, {}});
}

void MailboxEngine::on_send(OperationId op, Pid sender, NodeId host, std::string_view name,
                            Bytes body, Time now, Effects& out) {
    if (!sender.valid() || sender.node != self_ || !host.known() ||
        !valid_mailbox_name(name, options_.name_bytes_max)) {
        return out.complete(op, fail(Errc::invalid_argument, "sender, host or mailbox name"));
    }
    if (body.size() > options_.body_bytes_max) {
        return out.complete(op, fail(Errc::too_large, "body over body_bytes_max"));
    }
    MailboxPacket m;
    m.kind = PacketKind::mailbox_send;
    m.source = sender;
    m.target = Pid{host, 0};
    m.name = std::string(name);
    m.body = std::move(body);
    start_request(op, host, std::move(m), Duration::zero(), now, out);
}

void MailboxEngine::on_receive(OperationId op, Pid receiver, NodeId host, std::string_view name,
                               Duration wait, Time now, Effects& out, const ReceiveFilter& filter) {
    if (!receiver.valid() || receiver.node != self_ || !host.known() ||
        !valid_mailbox_name(name, options_.name_bytes_max) || wait < Duration::zero() ||
        wait.ms() > options_.wait_ms_max) {
        return out.complete(op, fail(Errc::invalid_argument, "receiver, host, name or wait"));
    }
    if ((filter.take != 0 && filter.peek) ||
        (!filter.from.node.known() && filter.from.local != 0)) {
        return out.complete(op, fail(Errc::invalid_argument, "receive filter"));
    }
    MailboxPacket m;
    m.kind = PacketKind::mailbox_receive;
    m.source = receiver;
    m.target = Pid{host, 0};
    m.name = std::string(name);
    m.wait_ms = static_cast<std::uint32_t>(wait.ms());
    m.from = filter.from;
    m.peek = filter.peek;
    m.after = filter.after;
    m.take = filter.take;
    start_request(op, host, std::move(m), wait, now, out);
}

void MailboxEngine::on_read(OperationId op, Pid reader, NodeId host, std::string_view name,
                            std::uint64_t from, std::uint32_t count, Duration wait, Time now,
                            Effects& out) {
    if (!reader.valid() || reader.node != self_ || !host.known() ||
        !valid_mailbox_name(name, options_.name_bytes_max) || wait < Duration::zero() ||
        wait.ms() > options_.wait_ms_max || count == 0 || count > options_.board_count_max) {
        return out.complete(op, fail(Errc::invalid_argument, "reader, host, name, count or wait"));
    }
    MailboxPacket m;
    m.kind = PacketKind::mailbox_receive;
    m.source = reader;
    m.target = Pid{host, 0};
    m.name = std::string(name);
    m.wait_ms = static_cast<std::uint32_t>(wait.ms());
    m.board_from = from;
    m.board_count = count;
    start_request(op, host, std::move(m), wait, now, out);
}

void MailboxEngine::on_ack(OperationId op, Pid receiver, NodeId host, std::string_view name,
                           std::uint64_t tag, Time now, Effects& out) {
    if (!receiver.valid() || receiver.node != self_ || !host.known() || tag == 0 ||
        !valid_mailbox_name(name, options_.name_bytes_max)) {
        return out.complete(op, fail(Errc::invalid_argument, "receiver, host, name or tag"));
    }
    MailboxPacket m;
    m.kind = PacketKind::mailbox_ack;
    m.source = receiver;
    m.target = Pid{host, 0};
    m.name = std::string(name);
    m.tag = tag;
    start_request(op, host, std::move(m), Duration::zero(), now, out);
}

void MailboxEngine::start_request(OperationId op, NodeId host, MailboxPacket request,
                                  Duration extra, Time now, Effects& out) {
    if (outstanding_.size() >= options_.requests_max) {
        return out.complete(op, fail(Errc::queue_full, "requests_max outstanding"));
    }
    request.id = next_id_++;
    // M23: the host incarnation this request is first sent to; retransmissions keep it.
    if (host == self_) {
        request.target_incarnation = incarnation_;
    } else if (auto known = host_incarnations_.find(host); known != host_incarnations_.end()) {
        request.target_incarnation = known->second;
    }
    const auto deadline = now + extra + options_.request_timeout;
    if (request.kind != PacketKind::mailbox_send) {
        open_.emplace(host.value, request.source.local, request.id);
        request.floor = floor_of(host, request.source);
    }
    if (host == self_ && request.kind == PacketKind::mailbox_send) {
        // A send to this node is never retransmitted with its body: the host answers it at
        // once or writes it (M6), and drops or answers from M4 any repeat. So the body moves
        // into the one transmission instead of being copied.
        ++counters_.packets_sent;
        out.send(host, build(std::move(request), incarnation_));
    } else {
        transmit(host, request, out);
    }
    const auto id = request.id;
    outstanding_.emplace(id, Outstanding{op, host, std::move(request), deadline,
                                         now + options_.retransmit_interval, now});
    arm(now, out);
}

// M24: the lowest id of `source`'s receives and acks to `host` still outstanding (1 when none).
std::uint64_t MailboxEngine::floor_of(NodeId host, Pid source) const {
    auto it = open_.lower_bound({host.value, source.local, 0});
    if (it == open_.end() || std::get<0>(*it) != host.value || std::get<1>(*it) != source.local) {
        return 1;
    }
    return std::get<2>(*it);
}

void MailboxEngine::forget(PooledMap<std::uint64_t, Outstanding>::iterator it) {
    const Outstanding& o = it->second;
    open_.erase({o.host.value, o.request.source.local, o.request.id});
}

void MailboxEngine::transmit(NodeId to, const MailboxPacket& m, Effects& out) {
    ++counters_.packets_sent;
    out.send(to, build(m, incarnation_));
}

void MailboxEngine::on_answer(const MailboxPacket& answer, Effects& out) {
    auto it = outstanding_.find(answer.id);
    const bool ours = it != outstanding_.end() && answer.target == it->second.request.source &&
                      answer.target_incarnation == incarnation_ &&
                      it->second.request.kind == request_kind_of(answer.kind);
    if (!ours) {
        ++counters_.duplicates_dropped;  // Late, repeated or not ours: nothing waits on it.
        return;
    }
    const NodeId host = it->second.host;
    if (host_incarnations_.size() < options_.requests_max || host_incarnations_.contains(host)) {
        host_incarnations_[host] = answer.source_incarnation;
    }
    out.complete(it->second.op, result_of(answer, it->second.request.board_count != 0));
    forget(it);
    outstanding_.erase(it);
}

void MailboxEngine::client_tick(Time now, Effects& out) {
    for (auto it = outstanding_.begin(); it != outstanding_.end();) {
        auto& o = it->second;
        if (o.writing) {  // Completes with its write (M6).
            ++it;
            continue;
        }
        if (now >= o.deadline) {
            const bool receive = o.request.kind == PacketKind::mailbox_receive;
            out.complete(o.op, fail(receive ? Errc::unreachable : Errc::timeout,
                                    "no answer from the mailbox host"));
            forget(it);
            it = outstanding_.erase(it);
            continue;
        }
        if (now >= o.retransmit_at) {
            ++counters_.retransmits;
            o.request.age = now - o.first_sent;
            if (o.request.kind != PacketKind::mailbox_send) {
                o.request.floor = floor_of(o.host, o.request.source);
            }
            transmit(o.host, o.request, out);
            o.retransmit_at = now + options_.retransmit_interval;
        }
        ++it;
    }
}

void MailboxEngine::arm(Time now, Effects& out) {
    evict_seen(out);
    if (timer_armed_ || !busy()) return;
    timer_armed_ = true;
    out.set_timer(tick_timer, now + options_.tick);
}

void MailboxEngine::on_timer(TimerId timer, Time now, Effects& out) {
    if (timer != tick_timer) return;
    timer_armed_ = false;
    client_tick(now, out);
    host_tick(now, out);
    arm(now, out);
}

void MailboxEngine::on_packet(NodeId from, wire::Packet& packet, Time now, Effects& out) {
    auto parsed = parse(from, packet, options_.name_bytes_max);
    if (!parsed) {
        ++counters_.malformed_dropped;
        out.trace(now, "mailbox_malformed", parsed.error().detail);
        return;
    }
    switch (parsed->kind) {
        case PacketKind::mailbox_send:
            on_send_request(from, *parsed, now, out);
            break;
        case PacketKind::mailbox_receive:
            on_receive_request(from, *parsed, now, out);
            break;
        case PacketKind::mailbox_ack:
            on_ack_request(from, *parsed, now, out);
            break;
        default:
            on_answer(*parsed, out);
            break;
    }
    arm(now, out);
}

void MailboxEngine::on_durable(std::uint64_t token, const Status& status, Time now, Effects& out) {
    auto it = writes_.find(token);
    if (it == writes_.end()) return;  // Only tombstone evictions: nothing waits on them.
    auto write = std::move(it->second);
    writes_.erase(it);
    if (!status) ++counters_.storage_errors;
    if (auto* w = std::get_if<WriteStore>(&write)) durable_store(*w, status, now, out);
    if (auto* w = std::get_if<WriteAck>(&write)) durable_ack(*w, status, now, out);
    if (auto* w = std::get_if<WriteControl>(&write)) durable_control(*w, status, out);
    if (auto* w = std::get_if<WritePost>(&write)) durable_post(*w, status, now, out);
    if (auto* w = std::get_if<WriteCursor>(&write)) durable_cursor(*w, status, now, out);
    arm(now, out);
}

void MailboxEngine::on_restore(std::span<const StoredRecord> records) {
    for (const auto& record : records) {
        if (record.first.starts_with("mailbox/b/")) restore_record(record);
    }
    for (const auto& record : records) {
        if (!record.first.starts_with("mailbox/b/")) restore_record(record);
    }
}

std::vector<MailboxStats> MailboxEngine::stats() const {
    std::vector<MailboxStats> all;
    for (const auto& [name, box] : boxes_) {
        all.push_back({name, box.durability, box.capacity_messages, box.capacity_bytes,
                       box.messages, box.bytes, static_cast<std::uint32_t>(box.queued.size()),
                       static_cast<std::uint32_t>(box.leased.size()),
                       static_cast<std::uint32_t>(box.waiters.size()), box.everyone != rights::all,
                       box.owner, static_cast<std::uint32_t>(box.grants.size()), box.board,
                       static_cast<std::uint64_t>(box.retain_age.ms()),
                       static_cast<std::uint32_t>(box.cursors.size()),
                       box.posts.empty() ? 0 : box.posts.begin()->first,
                       box.board ? box.next_seq : 0});
    }
    return all;
}

EngineCounters MailboxEngine::totals() const {
    return {counters_.packets_sent, counters_.retransmits, counters_.duplicates_dropped,
            counters_.malformed_dropped};
}

bool MailboxEngine::busy() const {
    if (!outstanding_.empty() || !answers_.empty() || !floors_.empty()) return true;
    for (const auto& [name, box] : boxes_) {
        if (!box.leased.empty() || !box.waiters.empty()) return true;
        // Age retention needs the tick while posts may expire (B4).
        if (box.retain_age > Duration::zero() && !box.posts.empty()) return true;
    }
    return false;
}

}  // namespace herald::proto::mailbox

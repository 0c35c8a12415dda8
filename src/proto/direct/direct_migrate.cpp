// Process migration with forwarding (docs/migration.md, rules M1-M14): the origin offers a
// process with its queued messages, receiver channels and state blob; the target installs it
// when the origin commits; the origin forwards data that still comes to it; senders learn the
// new location from the acks. Layer: proto/direct.
#include <algorithm>
#include <iterator>
#include <map>
#include <set>
#include <string>

#include "core/assert.h"
#include "proto/direct/direct_messages.h"
#include "proto/direct/direct_state.h"
#include "proto/fields.h"

namespace herald::proto::direct {

namespace {

// The snapshot (the migrate packet's body), little-endian: u8 buffering, u32 queue_limit;
// u32 n, n x {pid source, u64 source_node, u32 epoch, u32 source_incarnation, u64 expected};
// u32 next_epoch, u32 s, s x {pid target, u64 location, u32 epoch, u64 next_seq}; u32 f,
// f x {u64 node,
// u32 incarnation}; m x {pid source, u64 seq, u64 sent_unix_ns, u32 length, body}; u32 length,
// state.
struct Snapshot {
    ProcessOptions options;
    struct Channel {
        Pid source;
        NodeId source_node;
        std::uint32_t epoch = 0;
        std::uint32_t source_incarnation = 0;
        std::uint64_t expected = 1;
    };
    // A sender channel of the process: idle (M1), so everything before next_seq was acked.
    struct Sender {
        Pid target;
        NodeId location;
        std::uint32_t epoch = 0;
        std::uint64_t next_seq = 1;
    };
    std::vector<Channel> channels;
    // Above every epoch the process's channels ever had, released ones included: its counter
    // (the origin's, for a process that had not migrated before). Its later epochs go on
    // from here (M15).
    std::uint32_t next_epoch = 0;
    std::vector<Sender> senders;
    std::map<NodeId, std::uint32_t> floors;
    std::vector<Message> queued;
    Bytes state;
};

void put_bytes(Bytes& out, const Bytes& bytes) {
    put_u32(out, static_cast<std::uint32_t>(bytes.size()));
    out.insert(out.end(), bytes.begin(), bytes.end());
}

bool get_bytes(ByteView in, std::size_t& offset, Bytes& bytes) {
    std::uint32_t length = 0;
    if (!get_u32(in, offset, length) || in.size() - offset < length) return false;
    const auto first = in.begin() + static_cast<std::ptrdiff_t>(offset);
    bytes.assign(first, first + static_cast<std::ptrdiff_t>(length));
    offset += length;
    return true;
}

bool get_channels(ByteView in, std::size_t& offset, Snapshot& s) {
    std::uint32_t n = 0;
    if (!get_u32(in, offset, n) || n > (in.size() - offset) / 40) return false;
    for (std::uint32_t i = 0; i < n; ++i) {
        Snapshot::Channel c;
        std::uint64_t node = 0;
        if (!get_pid(in, offset, c.source) || !get_u64(in, offset, node) ||
            !get_u32(in, offset, c.epoch) || !get_u32(in, offset, c.source_incarnation) ||
            !get_u64(in, offset, c.expected)) {
            return false;
        }
        c.source_node = NodeId{node};
        if (!c.source.valid() || !c.source_node.known() || c.epoch == 0 || c.expected == 0) {
            return false;
        }
        s.channels.push_back(c);
    }
    return true;
}

bool get_senders(ByteView in, std::size_t& offset, Pid pid, Snapshot& s) {
    std::uint32_t n = 0;
    if (!get_u32(in, offset, s.next_epoch) || s.next_epoch == 0) return false;
    if (!get_u32(in, offset, n) || n > (in.size() - offset) / 36) return false;
    std::set<Pid> targets;
    for (std::uint32_t i = 0; i < n; ++i) {
        Snapshot::Sender c;
        std::uint64_t location = 0;
        if (!get_pid(in, offset, c.target) || !get_u64(in, offset, location) ||
            !get_u32(in, offset, c.epoch) || !get_u64(in, offset, c.next_seq)) {
            return false;
        }
        c.location = NodeId{location};
        if (!c.target.valid() || c.target == pid || !c.location.known() || c.epoch == 0 ||
            !epoch_newer(s.next_epoch, c.epoch) || c.next_seq == 0 ||
            !targets.insert(c.target).second) {
            return false;
        }
        s.senders.push_back(c);
    }
    return true;
}

// Sender nodes' incarnations the origin knew (M10); at most floors_max travel.
constexpr std::size_t floors_max = 256;

bool get_floors(ByteView in, std::size_t& offset, Snapshot& s) {
    std::uint32_t f = 0;
    if (!get_u32(in, offset, f) || f > floors_max) return false;
    for (std::uint32_t i = 0; i < f; ++i) {
        std::uint64_t node = 0;
        std::uint32_t incarnation = 0;
        if (!get_u64(in, offset, node) || !get_u32(in, offset, incarnation) || node == 0) {
            return false;
        }
        s.floors[NodeId{node}] = incarnation;
    }
    return true;
}

bool get_queued(ByteView in, std::size_t& offset, Pid pid, Snapshot& s) {
    std::uint32_t m = 0;
    if (!get_u32(in, offset, m) || m > (in.size() - offset) / 36) return false;
    for (std::uint32_t i = 0; i < m; ++i) {
        Message message;
        std::uint64_t sent = 0;
        if (!get_pid(in, offset, message.source) || !get_u64(in, offset, message.seq) ||
            !get_u64(in, offset, sent) || !get_bytes(in, offset, message.body)) {
            return false;
        }
        message.target = pid;
        message.sent_unix_ns = static_cast<std::int64_t>(sent);
        s.queued.push_back(std::move(message));
    }
    return true;
}

// Nullopt-like: false when the bytes do not decode (the packet is refused as malformed).
bool decode_snapshot(ByteView in, Pid pid, Snapshot& s) {
    std::size_t offset = 0;
    std::uint8_t buffering = 0;
    if (!get_u8(in, offset, buffering) || !get_u32(in, offset, s.options.queue_limit)) {
        return false;
    }
    if (buffering != static_cast<std::uint8_t>(Buffering::multiple) &&
        buffering != static_cast<std::uint8_t>(Buffering::single)) {
        return false;
    }
    s.options.buffering = static_cast<Buffering>(buffering);
    if (s.options.queue_limit == 0) return false;
    if (!get_channels(in, offset, s) || !get_senders(in, offset, pid, s) ||
        !get_floors(in, offset, s) || !get_queued(in, offset, pid, s)) {
        return false;
    }
    return get_bytes(in, offset, s.state) && offset == in.size();
}

}  // namespace

NodeId DirectState::sender_node(const wire::Packet& packet) {
    return source_node(packet);
}

namespace {

// Why a process cannot migrate now (M1); code ok when it can.
struct Refusal {
    Errc code = Errc::ok;
    const char* detail = "";
};

void refuse(Effects& out, OperationId op, const Refusal& refusal) {
    out.completions.push_back(
        {op, Result<Bytes>(tl::unexpect, Error{refusal.code, refusal.detail})});
}

}  // namespace

bool DirectState::check_migrate(OperationId op, Pid pid, NodeId to, Effects& out) {
    Refusal refusal;
    auto it = processes_.find(pid);
    if (it == processes_.end()) {
        refusal = {Errc::invalid_argument, "not a process here"};
    } else if (!to.known() || to == self_) {
        refusal = {Errc::invalid_argument, "invalid target node"};
    } else if (it->second.options.buffering != Buffering::multiple &&
               it->second.options.buffering != Buffering::single) {
        refusal = {Errc::invalid_argument, "only buffered processes migrate"};
    } else if (it->second.migrating != 0) {
        refusal = {Errc::would_block, "already migrating"};
    } else if (forwards_.size() + outgoing_.size() >= options_.forwards_max) {
        refusal = {Errc::queue_full, "forwards_max reached"};
    } else {
        for (std::uint64_t id : sender_ids_of(pid)) {
            if (!senders_.at(id).entries.empty()) {
                refusal = {Errc::would_block, "the process has sends pending"};
            }
        }
    }
    if (refusal.code == Errc::ok) return true;
    refuse(out, op, refusal);
    return false;
}

Bytes DirectState::snapshot(Pid pid, const LocalProcess& process,
                            const std::vector<Message>& queued, const Bytes& state) const {
    Bytes out;
    out.push_back(static_cast<std::uint8_t>(process.options.buffering));
    put_u32(out, process.options.queue_limit);
    const std::vector<Pid> sources = sources_of(pid);
    put_u32(out, static_cast<std::uint32_t>(sources.size()));
    for (const Pid& source : sources) {
        const ReceiverChannel& channel = receivers_.at({source, pid});
        put_pid(out, source);
        put_u64(out, channel.source_node.value);
        put_u32(out, channel.epoch);
        put_u32(out, channel.source_incarnation);
        put_u64(out, channel.expected);
    }
    const std::uint32_t next_epoch = process.next_epoch != 0 ? process.next_epoch : next_epoch_;
    put_u32(out, next_epoch == 0 ? 1 : next_epoch);
    const std::vector<std::uint64_t> sender_ids = sender_ids_of(pid);
    put_u32(out, static_cast<std::uint32_t>(sender_ids.size()));
    for (std::uint64_t id : sender_ids) {
        const SenderChannel& channel = senders_.at(id);  // Idle (check_migrate).
        put_pid(out, channel.key.target);
        put_u64(out, channel.location.value);
        put_u32(out, channel.epoch);
        put_u64(out, channel.next_seq);
    }
    // What this node knows of sender incarnations, with what the process brought along.
    std::map<NodeId, std::uint32_t> floors;
    if (process.floors) floors = *process.floors;
    for (const auto& [node, peer] : peers_) {
        if (peer.incarnation != 0) floors[node] = std::max(floors[node], peer.incarnation);
    }
    while (floors.size() > floors_max) floors.erase(std::prev(floors.end()));
    put_u32(out, static_cast<std::uint32_t>(floors.size()));
    for (const auto& [node, incarnation] : floors) {
        put_u64(out, node.value);
        put_u32(out, incarnation);
    }
    put_u32(out, static_cast<std::uint32_t>(queued.size()));
    for (const Message& message : queued) {
        put_pid(out, message.source);
        put_u64(out, message.seq);
        put_u64(out, static_cast<std::uint64_t>(message.sent_unix_ns));
        put_bytes(out, message.body);
    }
    put_bytes(out, state);
    return out;
}

void DirectState::on_migrate(OperationId op, Pid pid, NodeId to, std::vector<Message> queued,
                             Bytes state, Time now, Effects& out) {
    auto it = processes_.find(pid);
    if (it != processes_.end()) {
        // The driver took these out of the process's queue: they are no longer queued here.
        const auto taken =
            static_cast<std::uint32_t>(std::min<std::size_t>(queued.size(), it->second.queued));
        it->second.queued -= taken;
    }
    auto give_back = [&] {
        if (it == processes_.end()) return;
        for (Message& m : queued) {
            ++it->second.queued;
            out.deliver(std::move(m));
        }
    };
    if (!check_migrate(op, pid, to, out)) return give_back();
    Outgoing o;
    o.snapshot = snapshot(pid, it->second, queued, state);
    if (o.snapshot.size() > options_.body_bytes_max) {
        refuse(out, op, {Errc::too_large, "snapshot exceeds body_bytes_max"});
        return give_back();
    }
    o.op = op;
    o.pid = pid;
    o.to = to;
    o.queued = std::move(queued);
    o.deadline = now + options_.migrate_timeout;
    o.rto = options_.retransmit_initial;
    const std::uint64_t id = next_migration_id_++;
    it->second.migrating = id;
    send_migrate(o, id, out);
    out.set_timer(make_timer(TimerKind::migrate_out, id), now + o.rto);
    trace(out, now, "migrate_start", [&] {
        return "pid=" + to_string(pid) + " to=" + to_string(to) + " id=" + std::to_string(id);
    });
    outgoing_.emplace(id, std::move(o));
}

void DirectState::send_migrate(const Outgoing& outgoing, std::uint64_t id, Effects& out) {
    wire::Packet packet =
        make_packet(wire::PacketKind::migrate, outgoing.pid, Pid{outgoing.to, 0}, incarnation_, 0);
    packet.header.seq = id;
    packet.body = outgoing.snapshot;
    emit(outgoing.to, std::move(packet), out);
}

void DirectState::on_migrate_out_timer(std::uint64_t id, Time now, Effects& out) {
    auto it = outgoing_.find(id);
    if (it == outgoing_.end()) return;
    Outgoing& o = it->second;
    if (now >= o.deadline) {
        return abort_out(id, Errc::unreachable, "no answer from the target node", now, out);
    }
    ++counters_.retransmits;
    send_migrate(o, id, out);
    o.rto = std::min(o.rto * 2, options_.retransmit_max);
    out.set_timer(make_timer(TimerKind::migrate_out, id), std::min(now + o.rto, o.deadline));
}

void DirectState::abort_out(std::uint64_t id, Errc code, const char* why, Time now, Effects& out) {
    auto it = outgoing_.find(id);
    HERALD_ASSERT(it != outgoing_.end());
    Outgoing o = std::move(it->second);
    outgoing_.erase(it);
    ++counters_.migrations_failed;
    trace(out, now, "probe_migrate_aborted", [&] { return "pid=" + to_string(o.pid); });
    auto process = processes_.find(o.pid);
    HERALD_ASSERT(process != processes_.end());
    process->second.migrating = 0;
    // The process stays here: its queued messages come back first, in order (M6).
    for (Message& m : o.queued) {
        ++process->second.queued;
        out.deliver(std::move(m));
    }
    refuse(out, o.op, {code, why});
    // Tell the target at once (it would also learn it from its next migrate_reply, M5).
    send_done(o.to, 0, o.pid, id, false, out);
}

void DirectState::commit_out(std::uint64_t id, std::uint32_t to_incarnation, Time now,
                             Effects& out) {
    auto it = outgoing_.find(id);
    HERALD_ASSERT(it != outgoing_.end());
    Outgoing o = std::move(it->second);
    outgoing_.erase(it);
    for (const Pid& source : sources_of(o.pid)) erase_receiver({source, o.pid}, out);
    for (std::uint64_t sender : sender_ids_of(o.pid)) release_sender(sender, out);  // Idle.
    processes_.erase(o.pid);
    forwards_[o.pid] = Forward{o.to, id, to_incarnation, now + options_.forward_ttl};
    ++counters_.migrations_out;
    trace(out, now, "migrate_commit",
          [&] { return "pid=" + to_string(o.pid) + " to=" + to_string(o.to); });
    out.complete(o.op, Bytes{});
    send_done(o.to, to_incarnation, o.pid, id, true, out);
}

void DirectState::send_done(NodeId to, std::uint32_t to_incarnation, Pid pid, std::uint64_t id,
                            bool commit, Effects& out) {
    wire::Packet packet =
        make_packet(wire::PacketKind::migrate_done, pid, Pid{to, 0}, incarnation_, to_incarnation);
    packet.header.seq = id;
    if (!commit) put_reason(packet, Errc::closed);
    emit(to, std::move(packet), out);
}

void DirectState::on_migrate_reply(const wire::Packet& packet, Time now, Effects& out) {
    const wire::Header& h = packet.header;
    const NodeId target = sender_node(packet);
    if (!h.target.valid() || h.seq == 0) return malformed(now, out, "migrate_reply");
    const auto reason = read_reason(packet);
    if (packet.find(wire::ExtensionType::reason) != nullptr && !reason) {
        return malformed(now, out, "migrate_reply_reason");
    }
    auto it = outgoing_.find(h.seq);
    const bool mine = h.target_incarnation == incarnation_ && it != outgoing_.end() &&
                      it->second.to == target && it->second.pid == h.target;
    if (mine && reason) return abort_out(h.seq, *reason, "refused by the target", now, out);
    if (mine) return commit_out(h.seq, h.source_incarnation, now, out);
    if (reason) return stale(now, out, "migrate_refusal");  // Refusals need no decision.
    // A repeated accept: answer with the decision taken (M5). Commit only if this migration
    // made the forwarding entry; any other (an earlier life's, an aborted one) was aborted.
    auto forward = forwards_.find(h.target);
    // A target that restarted since it accepted may accept a late duplicate of the migrate
    // packet: that is not the acceptance we committed on.
    const bool committed = h.target_incarnation == incarnation_ && forward != forwards_.end() &&
                           forward->second.id == h.seq && forward->second.to == target &&
                           forward->second.to_incarnation == h.source_incarnation;
    send_done(target, h.source_incarnation, h.target, h.seq, committed, out);
}

void DirectState::send_migrate_reply(const Incoming& incoming, Errc reason, Effects& out) {
    wire::Packet packet = make_packet(wire::PacketKind::migrate_reply, Pid{self_, 0}, incoming.pid,
                                      incarnation_, incoming.from_incarnation);
    packet.header.seq = incoming.id;
    if (reason != Errc::ok) put_reason(packet, reason);
    emit(incoming.from, std::move(packet), out);
}

void DirectState::on_migrate_packet(const wire::Packet& packet, Time now, Effects& out) {
    const wire::Header& h = packet.header;
    if (h.target.node != self_ || !h.source.valid() || h.seq == 0) {
        return malformed(now, out, "migrate_header");
    }
    Incoming in;
    in.from = sender_node(packet);
    in.from_incarnation = h.source_incarnation;
    in.id = h.seq;
    in.pid = h.source;
    for (const auto& [key, existing] : incoming_) {
        if (existing.from == in.from && existing.id == in.id &&
            existing.from_incarnation == in.from_incarnation) {
            return send_migrate_reply(existing, Errc::ok, out);  // Our reply was lost.
        }
    }
    if (finished_.contains({in.from, in.from_incarnation, in.id})) {
        // A late duplicate of a migration decided already: never start it again (M4).
        trace(out, now, "probe_migrate_late_duplicate", [&] { return "pid=" + to_string(in.pid); });
        return send_migrate_reply(in, Errc::already_exists, out);
    }
    Snapshot s;
    if (!decode_snapshot(packet.body, in.pid, s)) {
        malformed(now, out, "migrate_snapshot");
        return send_migrate_reply(in, Errc::malformed, out);
    }
    Errc refusal = Errc::ok;
    if (processes_.contains(in.pid)) {
        refusal = Errc::already_exists;  // Hosted here already (a late duplicate, M4).
    } else if (incoming_.size() >= options_.migrations_max) {
        refusal = Errc::queue_full;
    } else if (senders_.size() + receivers_.size() + s.channels.size() + s.senders.size() >
               options_.channels_max) {
        refusal = Errc::queue_full;
    }
    if (refusal != Errc::ok) {
        trace(out, now, "probe_migrate_refused", [&] { return "pid=" + to_string(in.pid); });
        return send_migrate_reply(in, refusal, out);
    }
    in.key = next_incoming_key_++;
    in.snapshot = packet.body;
    in.since = now;
    in.rto = options_.retransmit_initial;
    send_migrate_reply(in, Errc::ok, out);
    out.set_timer(make_timer(TimerKind::migrate_in, in.key), now + in.rto);
    incoming_.emplace(in.key, std::move(in));
}

void DirectState::on_migrate_in_timer(std::uint64_t key, Time now, Effects& out) {
    auto it = incoming_.find(key);
    if (it == incoming_.end()) return;
    Incoming& in = it->second;
    if (now >= in.since + options_.migrate_hold) {
        trace(out, now, "probe_migrate_hold_expired", [&] { return "pid=" + to_string(in.pid); });
        // Our entry predates this move back to us, so it is stale; and if the origin
        // committed, following it could come round to us again (M9).
        forwards_.erase(in.pid);
        remember_finished(in, now);
        incoming_.erase(it);
        return;
    }
    ++counters_.retransmits;
    send_migrate_reply(in, Errc::ok, out);  // Asks the origin for its decision again.
    in.rto = std::min(in.rto * 2, options_.retransmit_max);
    out.set_timer(make_timer(TimerKind::migrate_in, key), now + in.rto);
}

void DirectState::on_migrate_done(const wire::Packet& packet, Time now, Effects& out) {
    const wire::Header& h = packet.header;
    if (h.target.node != self_ || !h.source.valid() || h.seq == 0) {
        return malformed(now, out, "migrate_done");
    }
    if (h.target_incarnation != 0 && h.target_incarnation != incarnation_) {
        return stale(now, out, "migrate_done_incarnation");
    }
    const NodeId from = sender_node(packet);
    const bool commit = packet.find(wire::ExtensionType::reason) == nullptr;
    for (auto it = incoming_.begin(); it != incoming_.end(); ++it) {
        const Incoming& in = it->second;
        if (in.from != from || in.id != h.seq || in.pid != h.source ||
            h.source_incarnation < in.from_incarnation) {
            continue;
        }
        // A later incarnation of the origin knows nothing of it: the origin died with the
        // process frozen there, or after it decided; either way nothing is installed (M5).
        if (commit && h.source_incarnation == in.from_incarnation) install(in, now, out);
        remember_finished(in, now);
        incoming_.erase(it);
        return;
    }
    stale(now, out, "migrate_done_unknown");  // Decided already (a duplicate).
}

bool DirectState::install(const Incoming& in, Time now, Effects& out) {
    Snapshot s;
    const bool decoded = decode_snapshot(in.snapshot, in.pid, s);
    HERALD_ASSERT(decoded);  // Checked when it arrived.
    if (processes_.contains(in.pid)) return false;
    LocalProcess& process = processes_[in.pid];
    process.options = s.options;
    process.floors = std::make_unique<std::map<NodeId, std::uint32_t>>(std::move(s.floors));
    for (const Snapshot::Channel& c : s.channels) {
        const ChannelKey key{c.source, in.pid};
        erase_receiver(key, out);
        ReceiverChannel channel;
        channel.id = next_channel_id_++;
        channel.key = key;
        channel.epoch = c.epoch;
        channel.source_node = c.source_node;
        channel.source_incarnation = c.source_incarnation;
        channel.expected = c.expected;
        channel.blocked = true;  // A sender may wait for credit: update it once there is.
        ++process.blocked;
        channel.last_activity = now;
        receiver_keys_[channel.id] = key;
        receivers_.emplace(key, std::move(channel));
        receivers_by_target_.insert({key.target, key.source});
    }
    // Its sender channels go on where they stopped, in their epochs (M15). Receivers compare
    // the epochs of a pair, so every later epoch of this process, in a channel that came along
    // or in a new one to a receiver that still holds an old epoch, comes from the counter that
    // came along.
    process.next_epoch = s.next_epoch;
    for (const Snapshot::Sender& c : s.senders) {
        const ChannelKey key{in.pid, c.target};
        SenderChannel channel;
        channel.id = next_channel_id_++;
        channel.key = key;
        channel.epoch = c.epoch;
        channel.next_seq = c.next_seq;
        channel.acked = c.next_seq - 1;
        channel.credit = options_.window_messages;
        channel.rto = options_.retransmit_initial;
        channel.last_activity = now;
        channel.location = c.location;
        sender_ids_[key] = channel.id;
        senders_.emplace(channel.id, std::move(channel));
    }
    forwards_.erase(in.pid);  // Back where it once was: no longer forwarded from here.
    std::erase_if(incoming_,
                  [&](const auto& e) { return e.second.pid == in.pid && &e.second != &in; });
    out.arrive(in.pid, std::move(s.state));
    for (Message& m : s.queued) {
        ++process.queued;
        out.deliver(std::move(m));
    }
    ++counters_.migrations_in;
    trace(out, now, "migrate_installed",
          [&] { return "pid=" + to_string(in.pid) + " from=" + to_string(in.from); });
    return true;
}

void DirectState::route_away(wire::Packet& packet, Time now, Effects& out) {
    const wire::Header& h = packet.header;
    if (processes_.contains(h.target)) {
        // Migrating: not delivered, not acked; the sender retransmits to where it lands (M7).
        return trace(out, now, "probe_migrating_dropped",
                     [&] { return "pid=" + to_string(h.target); });
    }
    // Arriving here: an older forwarding entry of this node is stale (no loops, M9).
    for (const auto& [key, in] : incoming_) {
        if (in.pid == h.target) {
            return trace(out, now, "probe_tentative_dropped",
                         [&] { return "pid=" + to_string(h.target); });
        }
    }
    auto forward = forwards_.find(h.target);
    if (forward != forwards_.end()) {
        forward->second.expires = now + options_.forward_ttl;
        ++counters_.forwarded;
        wire::Packet copy = std::move(packet);
        std::erase_if(copy.extensions, [](const wire::Extension& e) {
            return e.type == wire::ExtensionType::forwarded;
        });
        put_u64_extension(copy, wire::ExtensionType::forwarded, self_.value);
        trace(out, now, "forward", [&] {
            return "pid=" + to_string(copy.header.target) + " to=" + to_string(forward->second.to);
        });
        return emit(forward->second.to, std::move(copy), out);
    }
    nack(packet, Errc::no_such_process, now, out);
}

void DirectState::learn_location(const wire::Packet& packet, NodeId node, Time now, Effects& out) {
    const wire::Header& h = packet.header;
    if (h.kind == wire::PacketKind::nack) return;             // A refusal says nothing about where.
    if (node == h.source.node && locations_.empty()) return;  // No migration seen: fast path.
    auto id = sender_ids_.find({h.target, h.source});
    if (id == sender_ids_.end()) return;
    SenderChannel& channel = senders_.at(id->second);
    if (channel.location == node) return;
    set_location(channel, node, now, out);
    remember_location(h.source, node);
}

void DirectState::set_location(SenderChannel& channel, NodeId node, Time now, Effects& out) {
    trace(out, now, "location_update", [&] {
        return "pid=" + to_string(channel.key.target) + " from=" + to_string(channel.location) +
               " to=" + to_string(node);
    });
    channel.location = node;
    ++counters_.location_updates;
    Peer& peer = peer_for(node, now);
    if (peer.incarnation == 0) start_hello(peer, now, out);
    // What waited for the old location (a hello to it, say) goes to the new one now.
    try_transmit(channel, now, out);
}

void DirectState::remember_location(Pid pid, NodeId node) {
    if (node == pid.node) {
        locations_.erase(pid);
        return;
    }
    if (!locations_.contains(pid) && locations_.size() >= options_.locations_max) {
        auto oldest = std::min_element(
            locations_.begin(), locations_.end(),
            [](const auto& a, const auto& b) { return a.second.second < b.second.second; });
        locations_.erase(oldest);
    }
    locations_[pid] = {node, next_location_stamp_++};
}

void DirectState::on_location(Pid pid, NodeId node, Time now, Effects& out) {
    if (!pid.valid() || !node.known()) return;
    remember_location(pid, node);
    for (auto& [id, channel] : senders_) {
        if (channel.key.target == pid && channel.location != node) {
            set_location(channel, node, now, out);
        }
    }
}

void DirectState::sweep_forwards(Time now) {
    std::erase_if(forwards_, [&](const auto& e) { return e.second.expires <= now; });
    std::erase_if(finished_,
                  [&](const auto& e) { return e.second + options_.migrate_hold <= now; });
}

void DirectState::remember_finished(const Incoming& in, Time now) {
    // Bounded: the oldest goes first. A duplicate older than migrate_hold is assumed gone
    // (packets live less than channel_idle / 4, docs/direct.md rule 18).
    const std::size_t finished_max = std::size_t{16} * options_.migrations_max;
    if (finished_.size() >= finished_max) {
        auto oldest =
            std::min_element(finished_.begin(), finished_.end(),
                             [](const auto& a, const auto& b) { return a.second < b.second; });
        finished_.erase(oldest);
    }
    finished_[{in.from, in.from_incarnation, in.id}] = now;
}

}  // namespace herald::proto::direct

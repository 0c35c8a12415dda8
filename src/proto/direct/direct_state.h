// DirectState: all state of one node's direct engine, and the handlers that change it.
// Layer: proto/direct. DirectEngine forwards to it. The handlers are split by concern:
// direct_state.cpp (tables, packet dispatch, bounds), direct_send.cpp (sender channels),
// direct_receive.cpp (receiver channels), direct_peers.cpp (hello, restarts, timers).
#pragma once

#include <compare>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "core/message.h"
#include "core/random.h"
#include "proto/direct/direct_engine.h"
#include "proto/direct/direct_options.h"
#include "proto/effects.h"

namespace herald::proto::direct {

// A channel is one direction of one (source process, target process) pair.
struct ChannelKey {
    Pid source;
    Pid target;
    auto operator<=>(const ChannelKey&) const = default;
};

// Where a message stands on its sender channel (docs/direct.md rules 7-12).
enum class EntryState : std::uint8_t {
    queued,          // In the sender buffer; no seq yet.
    offered,         // Send-after-receive: offer (no body) sent, not yet registered.
    offer_accepted,  // The receiver registered the offer; waiting for `ready`.
    sent,            // Body sent (data packet), not yet acked.
    skip,            // Withdrawn after its seq was used: a skip packet stands in for it.
};

struct SendEntry {
    Message message;  // message.seq is set when the entry leaves the queue; its body is in `body`.
    // The body, shared with the data packets that carry it rather than copied into each
    // transmission (issue 7); dropped once a skip replaces the message.
    std::shared_ptr<const Bytes> body;
    OperationId op = 0;           // The application's send; completed once (`pending` until then).
    bool pending = false;         // Its op is not completed yet.
    Time deadline = Time::max();  // Of the pending op: it fails with `timeout` then (rule 9).
    SendMode mode = SendMode::accepted;
    EntryState state = EntryState::queued;
    Time queued_at;                    // When the application sent it.
    Time sent_at;                      // Last transmission, for retransmission.
    Time first_sent_at = Time::max();  // First transmission of its current seq.
};

struct SenderChannel {
    std::uint64_t id = 0;  // Timer key; never reused within an engine.
    ChannelKey key;
    std::uint32_t epoch = 0;
    std::uint64_t next_seq = 1;
    std::uint64_t acked = 0;   // Highest seq the receiver delivered in order (cumulative).
    std::uint32_t credit = 0;  // Receiver's free slots after `acked` (last ack).
    // Seqs refused_next..refused_last were in flight when an ack said credit 0: the receiver
    // refused them for lack of room (rule 6). They go again as credit allows, not on the
    // timer. None when refused_next > refused_last.
    std::uint64_t refused_next = 1;
    std::uint64_t refused_last = 0;
    bool offer_mode = false;        // The receiver is send-after-receive: send offers first.
    std::deque<SendEntry> entries;  // First inflight() have seqs acked+1..; then the queue.
    Duration rto;
    Time timer_at = Time::max();  // When the retransmit timer is set; max = not set.
    // When the channel's one deadline timer is set (max = not set): never later than the
    // earliest deadline of its pending entries. Deadlines live in the entries, in send order,
    // so a send costs no timer of its own; the timer moves only when a send's deadline is
    // earlier than it, and completions leave it (it finds nothing due and re-arms).
    Time deadline_at = Time::max();
    Time last_activity;
    Time heard;       // Last ack (or nack) of this epoch from the receiver; bounds retransmission.
    NodeId location;  // Where the target lives now (its pid's node until told otherwise).

    [[nodiscard]] std::uint64_t inflight() const { return next_seq - 1 - acked; }
    [[nodiscard]] std::uint64_t queued() const { return entries.size() - inflight(); }
};

// An out-of-order packet held by a receiver channel until the gap before it fills.
struct Held {
    Bytes body;
    std::int64_t sent_unix_ns = 0;
    bool skip = false;       // A skip: advances the seq without delivering.
    bool delivered = false;  // Only with Mutations::skip_reorder_buffer.
};

struct ReceiverChannel {
    std::uint64_t id = 0;  // Timer key (ready retransmission).
    ChannelKey key;
    std::uint32_t epoch = 0;
    // The node the sender lives on (its pid's node unless it migrated: docs/migration.md
    // M15) and that node's incarnation; acks, window updates and readies go there.
    NodeId source_node;
    std::uint32_t source_incarnation = 0;
    std::uint64_t expected = 1;                     // Next seq to deliver.
    std::map<std::uint64_t, Held> held;             // expected < seq < expected + window.
    std::map<std::uint64_t, std::uint64_t> offers;  // Registered offers: seq -> arrival stamp.
    std::uint64_t readied = 0;  // Seq we sent `ready` for and whose body has not come; 0 = none.
    Duration ready_rto;         // Backoff of `ready` retransmission while readied != 0.
    bool blocked = false;       // We refused data for lack of room: send a window update.
    Time last_activity;
};

// Kept small, as every hosted process has one (issue 17 item 4: 100,000 idle processes): its
// channels are found in the node's channel tables (DirectState::sender_ids_of, sources_range),
// not in sets of its own, and what only a migrated process has is made when it arrives.
struct LocalProcess {
    ProcessOptions options;
    std::uint32_t queued = 0;  // Delivered, not yet consumed.
    // Arrived by migration: the epoch counter of its sender channels, which travels with it
    // (M15); 0 = it uses the node's. Each node's counter starts at random, and epochs compare
    // in serial order, so a pair's epochs must all come from one counter.
    std::uint32_t next_epoch = 0;
    bool waiting = false;  // Blocked in receive (on_receive_posted).
    // Its receiver channels with `blocked` set: they share the free slots (credit_for).
    std::uint32_t blocked = 0;
    std::vector<Pid> from;        // Accepted senders while waiting; empty = any.
    std::uint64_t migrating = 0;  // Id of its migration away in progress; 0 = none.
    // Arrived by migration: the sender node incarnations the nodes it lived on knew; data of
    // an earlier incarnation is a straggler (docs/migration.md M10). At most floors_max.
    // Null for a process spawned here.
    std::unique_ptr<std::map<NodeId, std::uint32_t>> floors;
};

// A migration away from this node waiting for the target's answer (docs/migration.md).
struct Outgoing {
    OperationId op = 0;
    Pid pid;
    NodeId to;
    Bytes snapshot;               // The migrate packet's body.
    std::vector<Message> queued;  // Given back to the process if the migration fails.
    Time deadline;
    Duration rto;
};

// A process offered to this node, installed only when the origin commits.
struct Incoming {
    std::uint64_t key = 0;  // Timer key.
    NodeId from;
    std::uint32_t from_incarnation = 0;
    std::uint64_t id = 0;
    Pid pid;
    Bytes snapshot;
    Time since;
    Duration rto;
};

// The origin's record of a process that left: data for it goes to `to`.
struct Forward {
    NodeId to;
    std::uint64_t id = 0;              // The migration that made it (answers a late migrate_reply).
    std::uint32_t to_incarnation = 0;  // The target incarnation that accepted it.
    Time expires;
};

struct Peer {
    std::uint64_t id = 0;  // Timer key.
    NodeId node;
    std::uint32_t incarnation = 0;  // 0 = unknown: hello first. Lower ones are stale.
    std::uint64_t body_limit = 0;   // Its body_bytes_max from its hello(_reply); 0 = unknown.
    Time last_heard;
    bool hello_pending = false;
    Duration hello_rto;
    bool watched = false;   // The liveness timer is set.
    Time unanswered_since;  // First send since it last spoke; <= last_heard when none.
};

struct Ping {
    OperationId op = 0;
    NodeId node;  // Unknown (0) for a ping of an address: the reply names the node.
    Time deadline;
    Duration rto;
    std::uint32_t address = 0;  // The driver's address handle, for a ping of an address.
};

enum class TimerKind : std::uint8_t {
    retransmit = 1,   // Key: sender channel id.
    hello = 2,        // Key: peer id.
    watch = 3,        // Key: peer id (liveness: unreachable after peer_timeout of silence).
    deadline = 4,     // Key: sender channel id (its earliest pending deadline).
    ping = 5,         // Key: ping nonce.
    sweep = 6,        // Key: 0 (idle channels and peers).
    ready = 7,        // Key: receiver channel id (send-after-receive go-ahead).
    migrate_out = 8,  // Key: migration id (resend migrate, or give up).
    migrate_in = 9,   // Key: Incoming::key (resend migrate_reply, or drop).
};

[[nodiscard]] TimerId make_timer(TimerKind kind, std::uint64_t key);

// Epochs of one pair only grow (serial-number order, RFC 1982): is `a` newer than `b`?
[[nodiscard]] inline bool epoch_newer(std::uint32_t a, std::uint32_t b) {
    return static_cast<std::int32_t>(a - b) > 0;
}

// Builds the trace fields only when someone reads traces.
template <class MakeFields>
void trace(Effects& out, Time now, std::string_view event, MakeFields&& make_fields) {
    if (out.tracing) out.trace(now, event, make_fields());
}

class DirectState {
public:
    DirectState(NodeId self, std::uint32_t incarnation, const DirectOptions& options,
                Random& random);

    // Entry points; see DirectEngine for the contracts.
    void on_spawn(Pid pid, const ProcessOptions& options, Time now, Effects& out);
    void on_exit(Pid pid, Time now, Effects& out);
    void on_send(OperationId op, Message message, const SendOptions& options, Time now,
                 Effects& out);
    void on_receive_posted(Pid receiver, std::span<const Pid> from, Time now, Effects& out);
    void on_receive_cancelled(Pid receiver);
    void on_consumed(Pid receiver, std::uint32_t count, Time now, Effects& out);
    void on_ping(OperationId op, NodeId node, Time deadline, Time now, Effects& out);
    void on_ping_address(OperationId op, std::uint32_t address, Time deadline, Time now,
                         Effects& out);
    // May take `packet`'s body (a delivered message moves instead of being copied).
    void on_packet(NodeId from, wire::Packet& packet, Time now, Effects& out);
    void on_timer(TimerId timer, Time now, Effects& out);
    // Called first by every input: remembers when this incarnation started (its first input).
    void begin(Time now) {
        if (started_ == Time::max()) started_ = now;
    }
    // Called last by every input: arms the sweep of idle state when there is some.
    void end_input(Time now, Effects& out);

    [[nodiscard]] DirectEngine::Counters counters() const;
    void check_invariants(std::vector<std::string>& findings) const;
    [[nodiscard]] std::uint32_t queued(Pid pid) const;
    [[nodiscard]] std::optional<ProcessOptions> options_of(Pid pid) const {
        auto it = processes_.find(pid);
        if (it == processes_.end()) return std::nullopt;
        return it->second.options;
    }
    void on_migrate(OperationId op, Pid pid, NodeId to, std::vector<Message> queued, Bytes state,
                    Time now, Effects& out);
    void on_location(Pid pid, NodeId node, Time now, Effects& out);
    // Sends the acks held for coalescing (options.coalesce_acks), in channel order.
    void flush_acks(Effects& out);

private:
    // An ack held until the batch ends: the latest plain ack of one channel.
    struct HeldAck {
        NodeId to;
        wire::Packet packet;
    };
    // Holds `packet` (a plain ack of channel `key`) when coalescing; false: send it now.
    bool hold_ack(const ChannelKey& key, NodeId to, wire::Packet& packet);
    // Rewrites the ack held for `channel` to say `channel`'s ack and `credit`, when one of the
    // same epoch is held (so no packet is built); false: build and hold (or send) one.
    bool refresh_held_ack(const ReceiverChannel& channel, std::uint32_t credit);
    // direct_state.cpp: tables, bounds, dispatch.
    // Sends `packet` (with `shared_body` as its body when set) to node `to` (this node
    // included: the EngineSet feeds those back in).
    void emit(NodeId to, wire::Packet packet, Effects& out,
              std::shared_ptr<const Bytes> shared_body = {});
    void malformed(Time now, Effects& out, const char* why);
    // A straggler: a reply of a channel released, of an epoch left or to an earlier incarnation
    // of this node. Legitimate under delay and duplication, so counted as a duplicate.
    void stale(Time now, Effects& out, const char* why);
    [[nodiscard]] bool at_channel_bound() const;
    void arm_sweep(Time now, Effects& out);
    void on_sweep(Time now, Effects& out);
    Peer& peer_for(NodeId node, Time now);
    bool observe_peer(NodeId node, const wire::Packet& packet, Time now, Effects& out);
    [[nodiscard]] Time restarted_by(const wire::Packet& packet, Time now) const;
    [[nodiscard]] std::uint64_t uptime_ns(Time now) const;
    void dispatch(wire::Packet& packet, Time now, Effects& out);

    // direct_send.cpp: sender channels.
    // A new epoch for a sender channel of `source`: from its own counter if it migrated here,
    // else from the node's; never 0.
    std::uint32_t new_epoch(Pid source);
    SenderChannel* sender_for(const ChannelKey& key, Time now, Effects& out);
    [[nodiscard]] std::uint64_t allowed(const SenderChannel& channel) const;
    bool check_send(OperationId op, const Message& message, const SendOptions& options, Time now,
                    Effects& out);
    void try_transmit(SenderChannel& channel, Time now, Effects& out);
    void transmit_next(SenderChannel& channel, Time now, Effects& out);
    void transmit(SenderChannel& channel, SendEntry& entry, Time now, Effects& out);
    void arm_retransmit(SenderChannel& channel, Time at, Effects& out);
    void on_retransmit_timer(SenderChannel& channel, Time now, Effects& out);
    void resend_refused(SenderChannel& channel, Time now, Effects& out);
    void send_probe(SenderChannel& channel, Time now, Effects& out);
    void arm_deadline(SenderChannel& channel, Time at, Effects& out);
    void on_deadline_timer(std::uint64_t channel_id, Time now, Effects& out);
    // The pending send `op` of channel `channel_id` passed its deadline (rule 9).
    void expire(std::uint64_t channel_id, OperationId op, Time now, Effects& out);
    void complete(SendEntry& entry, Result<Bytes> result, Effects& out);
    // A shared body for a send (from spare_bodies_ when there is one: no allocation), and its
    // holder given back when the receiver acked it.
    [[nodiscard]] std::shared_ptr<const Bytes> make_body(Bytes bytes);
    void recycle_body(std::shared_ptr<const Bytes>& body);
    void fail_channel(SenderChannel& channel, Errc code, bool queued_too, Effects& out);
    void release_sender(std::uint64_t id, Effects& out);
    void reset_sender(SenderChannel& channel, Time now);
    void on_ack(const wire::Packet& packet, Time now, Effects& out);
    void on_offer_ack(SenderChannel& channel, std::uint64_t seq, Effects& out);
    void on_nack(const wire::Packet& packet, Time now, Effects& out);
    void on_ready(const wire::Packet& packet, Time now, Effects& out);
    SenderChannel* sender_of_reply(const wire::Packet& packet, Time now, Effects& out);
    [[nodiscard]] wire::Packet data_packet(const SenderChannel& channel,
                                           const SendEntry& entry) const;

    // direct_receive.cpp: receiver channels.
    void on_data(wire::Packet& packet, Time now, Effects& out);
    void nack(const wire::Packet& data, Errc reason, Time now, Effects& out);
    ReceiverChannel* receiver_for(const wire::Packet& packet, Time now, Effects& out);
    void on_duplicate(ReceiverChannel& channel, LocalProcess& process, const wire::Packet& packet,
                      Time now, Effects& out);
    void on_body(ReceiverChannel& channel, LocalProcess& process, wire::Packet& packet, Time now,
                 Effects& out);
    void on_sar_body(ReceiverChannel& channel, LocalProcess& process, wire::Packet& packet,
                     Time now, Effects& out);
    void on_offer(ReceiverChannel& channel, LocalProcess& process, const wire::Packet& packet,
                  Time now, Effects& out);
    void on_skip(ReceiverChannel& channel, LocalProcess& process, const wire::Packet& packet,
                 Time now, Effects& out);
    [[nodiscard]] bool matches(const LocalProcess& process, Pid source) const;
    [[nodiscard]] std::uint32_t free_slots(const ReceiverChannel& channel,
                                           const LocalProcess& process) const;
    [[nodiscard]] bool has_room(const ReceiverChannel& channel, const LocalProcess& process) const;
    [[nodiscard]] bool ready_outstanding(const LocalProcess& process, Pid receiver) const;
    void deliver(ReceiverChannel& channel, LocalProcess& process, std::uint64_t seq,
                 std::int64_t sent_unix_ns, Bytes body, Effects& out);
    void drain(ReceiverChannel& channel, LocalProcess& process, Effects& out);
    // The credit an ack of `channel` grants (rule 6).
    [[nodiscard]] std::uint32_t credit_for(const ReceiverChannel& channel,
                                           const LocalProcess& process) const;
    // Sets channel.blocked and keeps process.blocked, its count, in step.
    static void set_blocked(ReceiverChannel& channel, LocalProcess& process, bool blocked);
    void send_ack(ReceiverChannel& channel, LocalProcess& process, std::uint64_t offer_seq,
                  Effects& out);
    void maybe_ready(Pid receiver, LocalProcess& process, Time now, Effects& out);
    void send_ready(ReceiverChannel& channel, Time now, Effects& out);
    void on_ready_timer(std::uint64_t id, Time now, Effects& out);
    void erase_receiver(const ChannelKey& key, Effects& out);
    // The ids of `source`'s sender channels, by target (a copy: callers may release them).
    [[nodiscard]] std::vector<std::uint64_t> sender_ids_of(Pid source) const;
    // The sources of `target`'s receiver channels, in order (a copy, as above).
    [[nodiscard]] std::vector<Pid> sources_of(Pid target) const;
    // The (target, source) pairs of `target`'s receiver channels, by source. Valid until a
    // receiver channel of `target` is added or erased.
    // (Not std::ranges::subrange: clang 14 with libstdc++ 12's ranges fails on it.)
    struct SourceRange {
        std::set<std::pair<Pid, Pid>>::const_iterator first, last;
        [[nodiscard]] auto begin() const { return first; }
        [[nodiscard]] auto end() const { return last; }
    };
    [[nodiscard]] SourceRange sources_range(Pid target) const {
        constexpr Pid pid_max{NodeId{~std::uint64_t{0}}, ~std::uint64_t{0}};
        return {receivers_by_target_.lower_bound({target, Pid{}}),
                receivers_by_target_.upper_bound({target, pid_max})};
    }

    // direct_peers.cpp: hello, ping, restart, liveness, timers.
    void start_hello(Peer& peer, Time now, Effects& out);
    void send_hello(NodeId node, std::uint64_t nonce, Time now, Effects& out);
    void on_hello(const wire::Packet& packet, Time now, Effects& out);
    void on_hello_reply(const wire::Packet& packet, Time now, Effects& out);
    void on_peer_restarted(Peer& peer, std::uint32_t incarnation, Time started_by, Time now,
                           Effects& out);
    void restart_channel(SenderChannel& channel, Time started_by, Errc code, Time now,
                         Effects& out);
    [[nodiscard]] Time stall_at(const SenderChannel& channel) const;
    bool abandon_if_stalled(SenderChannel& channel, Time now, Effects& out);
    void on_hello_timer(Peer& peer, Time now, Effects& out);
    void on_ping_timer(std::uint64_t nonce, Time now, Effects& out);
    // Starts ping `ping` (nonce `nonce`): sends its first hello and arms its timer.
    bool start_ping(std::uint64_t nonce, Ping ping, Time now, Effects& out);
    void send_ping_hello(std::uint64_t nonce, const Ping& ping, Time now, Effects& out);
    void finish_ping(const wire::Packet& reply, Time now, Effects& out);
    void watch(Peer& peer, Time now, Effects& out);
    void on_watch_timer(Peer& peer, Time now, Effects& out);
    bool fail_unreachable(SenderChannel& channel, Time fresh_after, Time now, Effects& out);
    [[nodiscard]] bool waiting_on(const Peer& peer) const;
    void flush_peer(NodeId node, Time now, Effects& out);
    Peer* peer_by_id(std::uint64_t id);

    // direct_migrate.cpp: migration, forwarding, locations (docs/migration.md).
    // The node a packet came from: its `location` extension, else its source pid's node.
    [[nodiscard]] static NodeId sender_node(const wire::Packet& packet);
    bool check_migrate(OperationId op, Pid pid, NodeId to, Effects& out);
    [[nodiscard]] Bytes snapshot(Pid pid, const LocalProcess& process,
                                 const std::vector<Message>& queued, const Bytes& state) const;
    void send_migrate(const Outgoing& outgoing, std::uint64_t id, Effects& out);
    void on_migrate_packet(const wire::Packet& packet, Time now, Effects& out);
    void on_migrate_reply(const wire::Packet& packet, Time now, Effects& out);
    void on_migrate_done(const wire::Packet& packet, Time now, Effects& out);
    void send_done(NodeId to, std::uint32_t to_incarnation, Pid pid, std::uint64_t id, bool commit,
                   Effects& out);
    void send_migrate_reply(const Incoming& incoming, Errc reason, Effects& out);
    void commit_out(std::uint64_t id, std::uint32_t to_incarnation, Time now, Effects& out);
    void abort_out(std::uint64_t id, Errc code, const char* why, Time now, Effects& out);
    bool install(const Incoming& incoming, Time now, Effects& out);
    void on_migrate_out_timer(std::uint64_t id, Time now, Effects& out);
    void on_migrate_in_timer(std::uint64_t key, Time now, Effects& out);
    // Data for a pid not hosted here, or migrating away: forward, drop or nack (M7-M9).
    void route_away(wire::Packet& packet, Time now, Effects& out);
    void learn_location(const wire::Packet& packet, NodeId node, Time now, Effects& out);
    void set_location(SenderChannel& channel, NodeId node, Time now, Effects& out);
    void remember_location(Pid pid, NodeId node);
    void sweep_forwards(Time now);
    void remember_finished(const Incoming& incoming, Time now);

    NodeId self_;
    std::uint32_t incarnation_;
    DirectOptions options_;
    DirectEngine::Counters counters_;

    std::uint32_t next_epoch_;  // One counter for all channels: epochs of a pair only grow.
    std::uint64_t next_channel_id_ = 1;
    std::uint64_t next_peer_id_ = 1;
    std::uint64_t next_nonce_ = 1;
    std::uint64_t next_offer_stamp_ = 1;
    bool sweep_armed_ = false;
    Time started_ = Time::max();  // First input: a lower bound of this incarnation's start.

    std::map<std::uint64_t, SenderChannel> senders_;  // By id (ordered: deterministic walks).
    std::map<ChannelKey, std::uint64_t> sender_ids_;
    std::map<ChannelKey, ReceiverChannel> receivers_;
    // (target, source) of every receiver channel: a process's sources without a set per process.
    std::set<std::pair<Pid, Pid>> receivers_by_target_;
    std::map<std::uint64_t, ChannelKey> receiver_keys_;  // Receiver channel id -> key.
    std::unordered_map<Pid, LocalProcess> processes_;
    std::map<NodeId, Peer> peers_;
    std::map<std::uint64_t, NodeId> peer_nodes_;  // Peer id -> node.
    std::map<std::uint64_t, Ping> pings_;         // By nonce.
    std::map<ChannelKey, HeldAck> held_acks_;     // Emptied by every flush_acks.
    // Holders of acked bodies (created non-const by make_body, empty now), reused for new sends
    // so that a stream allocates no shared_ptr per message (issue 17). Bounded: a burst beyond
    // spare_bodies_max frees the rest.
    static constexpr std::size_t spare_bodies_max = 1024;
    std::vector<std::shared_ptr<Bytes>> spare_bodies_;
    std::uint64_t next_migration_id_ = 1;
    std::uint64_t next_incoming_key_ = 1;
    std::map<std::uint64_t, Outgoing> outgoing_;  // By migration id.
    std::map<std::uint64_t, Incoming> incoming_;  // By Incoming::key.
    std::map<Pid, Forward> forwards_;             // Bounded: forwards_max.
    // Migrations into this node that were decided (origin, its incarnation, id) -> when: a
    // late duplicate migrate must not start them again (M4). Bounded: finished_max.
    std::map<std::tuple<NodeId, std::uint32_t, std::uint64_t>, Time> finished_;
    std::map<Pid, std::pair<NodeId, std::uint64_t>> locations_;  // pid -> (node, stamp).
    std::uint64_t next_location_stamp_ = 1;
};

}  // namespace herald::proto::direct

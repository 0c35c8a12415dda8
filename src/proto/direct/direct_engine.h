// DirectEngine: reliable, FIFO, exactly-once process-to-process messaging on one node.
// Layer: proto/direct. Sans-I/O: every input carries `now`; outputs go to Effects.
// The protocol's numbered rules are in docs/direct.md (cited as "rule N").
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "core/message.h"
#include "core/random.h"
#include "proto/direct/direct_options.h"
#include "proto/effects.h"
#include "proto/engine.h"

namespace herald::proto::direct {

class DirectState;

// Loop thread only (one thread drives an engine). Timer ids: kind << 56 | key; a timer that
// fires after it stopped mattering is ignored, so drivers need not cancel anything.
class DirectEngine final : public Engine {
public:
    // `self` and `incarnation` identify this node. Incarnations must grow from one start of a
    // node to the next (never 0): peers drop packets of lower ones as stragglers. `random`
    // must outlive the engine.
    DirectEngine(NodeId self, std::uint32_t incarnation, const DirectOptions& options,
                 Random& random);
    DirectEngine(const EngineContext& context, const DirectOptions& options)
        : DirectEngine(context.self, context.incarnation, options, context.random) {}
    ~DirectEngine() override;
    DirectEngine(const DirectEngine&) = delete;
    DirectEngine& operator=(const DirectEngine&) = delete;

    // A local process now exists / has exited. Messages to an exited process are refused with
    // Errc::no_such_process; its pending sends complete with Errc::closed.
    void on_spawn(Pid pid, const ProcessOptions& options, Time now, Effects& out);
    void on_exit(Pid pid, Time now, Effects& out);

    // Application command: send `message` (source and target set by the caller). Completes `op`
    // with an empty Result on success (per options.mode; docs/direct.md rules 7-9), or with:
    // timeout (deadline passed; a message already sent may still arrive), unreachable (peer silent
    // for peer_timeout), no_such_process (the target node says so), queue_full (no room and
    // OnFull::fail, sender buffer full, or channels_max reached here or at the target node),
    // too_large (body above body_bytes_max), peer_restarted (target node restarted with the message
    // in flight: fate unknown), closed (the source process exited), invalid_argument (source not a
    // process of this node, or target pid invalid). Every op completes exactly once.
    void on_send(OperationId op, Message message, const SendOptions& options, Time now,
                 Effects& out);

    // The receiving process is blocked in receive (accepting only `from` when not empty) /
    // stopped waiting. Drives send-after-receive and send-discard-retry; for those the first
    // message delivered to `receiver` ends the posted receive (post again for the next one).
    void on_receive_posted(Pid receiver, std::span<const Pid> from, Time now, Effects& out);
    void on_receive_cancelled(Pid receiver, Time now, Effects& out);

    // The application took `count` delivered messages out of `receiver`'s queue (clamped to
    // what is queued). Frees credit: blocked senders get a window update.
    void on_consumed(Pid receiver, std::uint32_t count, Time now, Effects& out) override;

    // Handshake / ping: sends hello to `node` (retransmitted with backoff); completes `op` when
    // its hello_reply arrives (result body: 8-byte little-endian round-trip ns, measured with
    // this engine's `now`), or with unreachable at min(deadline, now + peer_timeout);
    // invalid_argument when `node` is 0, queue_full when options.pings_max pings are pending.
    void on_ping(OperationId op, NodeId node, Time deadline, Time now, Effects& out);
    // The same for an address whose node is not known yet (a URL): the hello goes to
    // Destination::to_address(address), a handle the driver maps to the address. The result
    // body on success is 20 bytes little-endian: u64 round-trip ns, u64 node id of the
    // answering node, u32 its incarnation. queue_full when options.pings_max are pending.
    void on_ping_address(OperationId op, std::uint32_t address, Time deadline, Time now,
                         Effects& out);

    // Migration (docs/migration.md): move local process `pid` to node `to`, with `queued` (the
    // messages delivered to it and not consumed, which the driver took out of its queue, in
    // order) and the application's `state`. The pid stays the same. Completes `op` with an
    // empty Result once the target took it (the process is then no longer here: this node
    // forwards its messages), or with: invalid_argument (pid not a process of this node, `to`
    // is this node or 0, a buffering other than multiple/single), would_block (the process
    // has sends pending or is migrating already), queue_full (forwards_max reached here, or
    // the target's migrations_max), too_large (snapshot over body_bytes_max), unreachable
    // (no answer within migrate_timeout), closed (the process exited meanwhile), or the
    // target's refusal reason. On failure the process stays here and `queued` are delivered
    // to it again, first, in order.
    void on_migrate(OperationId op, Pid pid, NodeId to, std::vector<Message> queued, Bytes state,
                    Time now, Effects& out);
    // A location hint: `pid` is believed to be at node `node` (from a name service or the
    // application). Later data to it goes there; a wrong hint costs a forward or a nack.
    void on_location(Pid pid, NodeId node, Time now, Effects& out);

    // A packet of kind hello, hello_reply, data, ack, nack or ready arrived from node `from`.
    // Bad packets are counted and dropped, never asserted on.
    void on_packet(NodeId from, const wire::Packet& packet, Time now, Effects& out);
    // The same, taking the packet: a delivered body moves into the message instead of being
    // copied (the runtime's receive path).
    void on_packet(NodeId from, wire::Packet&& packet, Time now, Effects& out);

    // --- Engine (the inputs both drivers share) ---
    [[nodiscard]] wire::Protocol protocol() const override { return wire::Protocol::direct; }
    void on_packet(NodeId from, wire::Packet& packet, Time now, Effects& out) override {
        on_packet(from, std::move(packet), now, out);
    }
    void on_timer(TimerId timer, Time now, Effects& out) override;
    void on_process_exited(Pid pid, Time now, Effects& out) override { on_exit(pid, now, out); }
    // Sends the acks held back for coalescing (DirectOptions::coalesce_acks).
    void on_batch_end(Time now, Effects& out) override;
    [[nodiscard]] EngineCounters totals() const override;
    // In flight <= window on every sender channel (acked < next_seq); held out-of-order bodies
    // within the window ahead of `expected`; a buffered process's queue within its limit.
    void check_invariants(std::vector<std::string>& findings) const override;

    // Observability (status command, tests).
    struct Counters {
        std::uint64_t packets_sent = 0, packets_received = 0, retransmits = 0;
        std::uint64_t duplicates_dropped = 0, malformed_dropped = 0, delivered = 0;
        std::uint64_t channels_live = 0, channels_released = 0;
        std::uint64_t acks_coalesced = 0;  // Acks superseded within a batch (coalesce_acks).
        // Migration (docs/migration.md).
        std::uint64_t migrations_out = 0;      // Processes that left this node.
        std::uint64_t migrations_in = 0;       // Processes installed here by migration.
        std::uint64_t migrations_failed = 0;   // Migrations from here that ended in an abort.
        std::uint64_t forwarded = 0;           // Data packets this node forwarded.
        std::uint64_t received_forwarded = 0;  // Data for a migrated-in process, forwarded.
        std::uint64_t received_direct = 0;     // Data for a migrated-in process, sent direct.
        std::uint64_t location_updates = 0;    // Sender channels that learned a new location.
        std::uint64_t forwards_live = 0;       // Forwarding entries held now.
        // Remote nodes this engine keeps a record of now (incarnation, liveness), and the
        // estimated heap bytes of those records (core/memory.h).
        std::uint64_t peers_live = 0, peer_bytes = 0;
        // Hellos and hello_replies answered without a record: hello_peers_max were full.
        std::uint64_t hello_peers_refused = 0;
    };
    [[nodiscard]] Counters counters() const;
    // The options of local process `pid` (one that migrated here too); nullopt for none.
    [[nodiscard]] std::optional<ProcessOptions> options_of(Pid pid) const;
    // Messages delivered to `pid`'s queue and not yet consumed.
    [[nodiscard]] std::uint32_t queued(Pid pid) const;

private:
    std::unique_ptr<DirectState> state_;
};

}  // namespace herald::proto::direct

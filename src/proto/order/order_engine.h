// OrderEngine: ordered multicast within a group's view (issue 16): reliable per-sender streams
// (sequence numbers, acks, retransmission, dedup) and, per group, FIFO, sequencer, ABCAST,
// CBCAST or absolute (timestamp) delivery order; on a view change the survivors flush the old
// view (virtual synchrony). Membership is an input (on_view), e.g. the group engine's views.
// Layer: proto/order. Sans-I/O, single-threaded. Rules O1..O39: docs/ordering.md.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "proto/engine.h"
#include "proto/order/order_options.h"
#include "proto/order/order_state.h"

namespace herald::proto::order {

class OrderEngine final : public Engine {
public:
    // `options` must outlive the engine.
    OrderEngine(const EngineContext& context, const OrderOptions& options);

    // Creates group `name` on this node with ordering `mode` (every node of the group must use
    // the same mode, O2). Errors: invalid_argument (name), already_exists (another mode;
    // the same mode again is ok), queue_full (groups_max).
    [[nodiscard]] Status on_create(std::string_view name, OrderMode mode);
    // Group `name` was deleted (docs/groups.md G21): its state here is forgotten (messages not
    // yet delivered are not delivered), so that a group created again under the name starts
    // afresh. An unknown name is ignored.
    void on_delete(std::string_view name);
    // View `view` of group `name` (members sorted, id growing by one per change): local
    // members in it that had no view install it at once; local members with an older view
    // flush it first (O27-O32) and then install it; local members not in it stop. Views of
    // unknown groups, over members_max, or not newer are counted and ignored.
    void on_view(std::string_view name, const View& view, Time now, Effects& out);
    // Multicasts `body` from local member `sender` to its view of `name`. Completes `op` at
    // once: ok (accepted: it will be delivered to every member of the view that survives it,
    // in the group's order, or to none of them: atomic; the body is the u64 id of that view),
    // or not_found (no such group, or `sender` has no installed view),
    // too_large (body_bytes_max), would_block (send_window_max unacknowledged, or
    // retained_max own entries not yet delivered everywhere, or a flush in progress: retry
    // later).
    // `relay`: fault-tolerant atomic (O36): every member that receives the message for the
    // first time re-multicasts it to the other members.
    void on_multicast(OperationId op, Pid sender, std::string_view name, Bytes body, Time now,
                      Effects& out, bool relay = false);

    // Absolute order's clock (O23-O26): timestamps are `now + offset`, so that members on
    // different hosts compare clocks synchronized within skew_bound (the runtime gives the
    // wall clock's offset from its monotonic `now`, refreshed before each multicast and view;
    // the simulator a fixed offset per node). Timers stay on `now`. Default 0.
    void on_clock(Duration offset) { wall_offset_ = offset; }

    // The view local member `member` installed last, or nullptr.
    [[nodiscard]] const View* installed(std::string_view name, Pid member) const;
    [[nodiscard]] const Endpoint* endpoint(std::string_view name, Pid member) const;
    // The counters, with the gauge `held` counted now.
    [[nodiscard]] OrderCounters counters() const;

    // --- Engine ---
    [[nodiscard]] wire::Protocol protocol() const override { return wire::Protocol::order; }
    void on_packet(NodeId from, wire::Packet& packet, Time now, Effects& out) override;
    void on_timer(TimerId timer, Time now, Effects& out) override;
    // Sends what this batch held back (O6, O17): one cumulative ack per stream that received
    // data, and the sequencer's order entries. Drivers call it after every batch of inputs.
    void on_batch_end(Time now, Effects& out) override;
    // O37: the application took `count` of this engine's deliveries to `receiver` (data and
    // views); a member that was out of credit delivers what it holds back.
    void on_consumed(Pid receiver, std::uint32_t count, Time now, Effects& out) override;
    void on_process_exited(Pid pid, Time now, Effects& out) override;
    [[nodiscard]] EngineCounters totals() const override;
    // O37: deliveries to `member` not yet reported consumed (0 when none).
    [[nodiscard]] std::uint32_t inbox(Pid member) const {
        const auto it = inbox_.find(member);
        return it == inbox_.end() ? 0 : it->second;
    }
    void check_invariants(std::vector<std::string>& findings) const override;

private:
    // The synchronized clock of absolute order: `now` plus the driver's offset (on_clock).
    [[nodiscard]] std::int64_t wall(Time now) const { return now.ns() + wall_offset_.ns(); }

    // Streams and reliability (order_engine.cpp).
    void send_entry(GroupState& g, const std::string& name, Endpoint& ep, StreamEntry entry,
                    Time now, Effects& out);
    void transmit_entry(const std::string& name, const Endpoint& ep, const StreamEntry& entry,
                        std::uint32_t to, Effects& out);

    // O38 (order_address.cpp): an entry's first transmission, one order_data without a target
    // for the members of every other node (`entry` is borrowed and given back unchanged), and
    // its receipt by every local member of its view.
    void transmit_first(const std::string& name, const Endpoint& ep, StreamEntry& entry,
                        Effects& out);
    [[nodiscard]] Destination first_destination(const View& view, Effects& out);
    void on_group_data(GroupState& g, const std::string& name, OrderPacket& m, Time now,
                       Effects& out);
    void on_data(GroupState& g, const std::string& name, Endpoint& ep, std::uint32_t from,
                 OrderPacket& m, Time now, Effects& out);
    [[nodiscard]] bool takes(const Endpoint& ep, const Stream& s, std::uint64_t seq);
    void relay(const std::string& name, const Endpoint& ep, std::uint32_t origin, std::uint32_t via,
               const StreamEntry& entry, Effects& out);
    void send_ack(const std::string& name, Endpoint& ep, std::uint32_t to, bool probe, bool answer,
                  Effects& out);
    void send_orders(GroupState& g, const std::string& name, Endpoint& ep, Time now, Effects& out);
    void send_commits(GroupState& g, const std::string& name, Endpoint& ep, Time now, Effects& out);
    // Whether message (member, seq) continues `run`.
    [[nodiscard]] static bool extends(const OrderRun& run, std::uint32_t member,
                                      std::uint64_t seq) {
        return run.member == member && run.first + run.count == seq;
    }
    void ack_later(const std::string& name, Endpoint& ep, std::uint32_t from);
    void send_proposals(const std::string& name, Endpoint& ep, Effects& out);
    // Lists `ep` for on_batch_end (an ack or an order entry is due).
    void list_for_batch(const std::string& name, Endpoint& ep);
    void on_ack(const std::string& name, Endpoint& ep, std::uint32_t from, const OrderPacket& m,
                Effects& out);
    // Stability (O35): done pointers, discarding stable entries, who lags.
    static void advance_done(Endpoint& ep);
    void collect(Endpoint& ep);
    [[nodiscard]] static bool lags(const Endpoint& ep, std::uint32_t k);
    [[nodiscard]] static bool every_stream_started(const Endpoint& ep);
    void on_propose(GroupState& g, const std::string& name, Endpoint& ep, std::uint32_t from,
                    const OrderPacket& m, Time now, Effects& out);
    void take_proposal(const std::string& name, Endpoint& ep, std::uint64_t seq, std::uint32_t from,
                       Number number);
    void send_small(wire::PacketKind kind, const std::string& name, const Endpoint& ep,
                    std::uint32_t to, std::uint64_t value, Number number, Effects& out);
    void retransmit(const std::string& name, Endpoint& ep, Time now, Effects& out);
    [[nodiscard]] static std::uint32_t next_burst(Endpoint& ep, std::uint32_t j);
    void send_null(GroupState& g, const std::string& name, Endpoint& ep, Time now, Effects& out);
    [[nodiscard]] bool busy(const GroupState& g, const Endpoint& ep) const;
    void arm(Time now, Effects& out);
    void arm_at(Time at, Effects& out);  // The timer at `at`, unless it is set sooner.

    // Ordering (order_delivery.cpp).
    void pump(GroupState& g, const std::string& name, Endpoint& ep, Time now, Effects& out);
    bool process_fifo(GroupState& g, const std::string& name, Endpoint& ep, Effects& out);
    void process_entry(GroupState& g, const std::string& name, Endpoint& ep, std::uint32_t from,
                       Received& r, Effects& out);
    void apply_commit(const GroupState& g, Endpoint& ep, std::uint32_t from,
                      std::uint64_t entry_seq, const Commit& c);
    bool deliver_cbcast(const std::string& name, Endpoint& ep, Effects& out);
    bool deliver_abcast(const std::string& name, Endpoint& ep, Effects& out);
    bool deliver_sequencer(const std::string& name, Endpoint& ep, Effects& out);
    bool deliver_absolute(const std::string& name, Endpoint& ep, Time now, Effects& out);
    void deliver(const std::string& name, Endpoint& ep, std::uint32_t from, Received& r,
                 Effects& out);
    void deliver_message(const std::string& name, const Endpoint& ep, const Member& sender,
                         const StreamEntry& entry, Effects& out);
    // O37: whether `member` may get another delivery (outside a flush).
    [[nodiscard]] bool has_credit(Pid member) const;
    void hand_over(Message message, Effects& out);

    // Views and flush (order_flush.cpp).
    void install(const std::string& name, Endpoint& ep, const View& next, Time now, Effects& out);
    void start_stream(const std::string& name, Endpoint& ep, bool joiner, Time now, Effects& out);
    void begin_flush(const std::string& name, Endpoint& ep, const View& view, Time now,
                     Effects& out);
    void send_report(const std::string& name, const Endpoint& ep, Effects& out);
    [[nodiscard]] FlushReport make_report(const std::string& name, const Endpoint& ep) const;
    void on_report(GroupState& g, const std::string& name, const OrderPacket& m, Time now,
                   Effects& out);
    [[nodiscard]] static const View* known_view(const GroupState& g, const Member& self,
                                                std::uint64_t id);
    void answer_decided(const GroupState& g, const std::string& name, Coordination& c,
                        const Member& from, FlushReport report, Time now, Effects& out);
    void decide_late(const GroupState& g, const std::string& name, Coordination& c,
                     const Member& from, FlushReport report, Time now, Effects& out);
    // O39: a coordinator's query to a member it waits for, and who it still waits for.
    void on_query(GroupState& g, const std::string& name, const OrderPacket& m, Effects& out);
    void send_queries(const std::string& name, Coordination& c, const std::vector<Member>& awaited,
                      Time now, Effects& out);
    [[nodiscard]] static std::vector<Member> awaited(const GroupState& g, const Coordination& c);
    // O39: this node was given views before and after `id` but not `id` (a reset skipped it).
    [[nodiscard]] static bool skipped(const GroupState& g, std::uint64_t id);
    [[nodiscard]] static std::optional<SkippedViews> skip_run(const GroupState& g,
                                                              std::uint64_t id);
    // O39 (g): the pending view's coordinator answered that its node skipped that view.
    void on_skipped(const std::string& name, Endpoint& ep, const OrderPacket& m, Time now,
                    Effects& out);
    bool answer_skipped(const GroupState& g, const std::string& name, const OrderPacket& m,
                        Effects& out);
    void resend_remembered(const GroupState& g, const std::string& name, const OrderPacket& m,
                           std::uint64_t old, Effects& out);
    // O30: a copy of the outcome decided for old view `old` toward report `m`'s view, whose
    // first member is its target and which holds its source, or nullptr.
    [[nodiscard]] const Bytes* remembered(const GroupState& g, const OrderPacket& m,
                                          std::uint64_t old) const;
    // O30: keeps the outcomes of the coordinations beyond the newest few, within its bounds.
    static void archive_outcomes(GroupState& g);
    // O29: the queued views taken one by one as if they arrived now; flushes toward the result.
    void flush_queued(const std::string& name, Endpoint& ep, Time now, Effects& out);
    [[nodiscard]] Bytes decide(OrderMode mode, const std::vector<const FlushReport*>& reports,
                               const View& next);
    bool catch_up(const std::string& name, Coordination& c, Effects& out);
    void on_outcome(const GroupState& g, const std::string& name, Endpoint& ep,
                    const OrderPacket& m, Time now, Effects& out);
    void send_outcome(const std::string& name, const Coordination& c, const Member& to,
                      Effects& out);
    // One flush packet (a report, a query, an outcome) from `from` to `to`, named by `view_id`.
    void send_flush(wire::PacketKind kind, const std::string& name, const Member& from,
                    const Member& to, std::uint64_t view_id, Bytes body, Effects& out);

    [[nodiscard]] static std::optional<std::uint32_t> index_of(const View& v, const Member& m);
    // Whether every member of `earlier` is in `later` (O29).
    [[nodiscard]] static bool keeps_all(const View& earlier, const View& later);
    // Whether `later` waits behind the flush toward `pending` rather than redirecting it (O29).
    [[nodiscard]] static bool queues_behind(const View& pending, const View& later);

    NodeId self_;
    std::uint32_t incarnation_;
    const OrderOptions& options_;
    OrderCounters counters_;
    Duration wall_offset_ = Duration::zero();  // on_clock.
    bool timer_armed_ = false;
    Time timer_at_;  // When the armed timer fires.
    std::map<std::string, GroupState, std::less<>> groups_;
    // Endpoints with an ack or order entry due at the batch's end, by (group, member pid): at
    // most one entry per endpoint (Endpoint::batch_listed), so bounded by the endpoints.
    std::vector<std::pair<std::string, Pid>> batch_;
    // O37: per local member, deliveries not yet reported consumed (one entry per process that
    // got one, erased when it exits: no allocation per message).
    std::map<Pid, std::uint32_t> inbox_;
    // O38: the member nodes of a first transmission (kept for its capacity).
    std::vector<NodeId> nodes_;
};

}  // namespace herald::proto::order

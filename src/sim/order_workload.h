// OrderWorkload: the simulated processes of the "order" scenarios. It plays the group server:
// it gives every node group "g" with the scenario's ordering mode and installs views, the
// first once every node started, then one after each crash (without the crashed node's
// members) and each restart (with its new members), at every node that is up. Members
// multicast at random times (retrying on would_block) during the safety phase and after the
// heal. check() states the ordering promises (docs/ordering.md, O33). Layer: sim.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/random.h"
#include "proto/order/order_messages.h"
#include "sim/checkers.h"
#include "sim/scenario_spec.h"
#include "sim/simulation.h"

namespace herald::sim {

struct OrderWorkloadOptions {
    proto::order::OrderMode mode = proto::order::OrderMode::fifo;
    std::uint32_t members = 6;            // Round-robin over nodes 1..N.
    std::uint32_t messages = 5;           // Multicasts per member, safety phase.
    std::uint32_t liveness_messages = 2;  // Multicasts per member after the heal.
    // Each node's clock is off by up to this (drawn once per node, kept across restarts):
    // absolute order's timestamps (OrderEngine::on_clock, docs/ordering.md O23-O26). Within
    // the engine's skew_bound (10 ms) by default.
    Duration clock_skew = Duration::milliseconds(8);
    // Atomic multicast (docs/groups.md G23, docs/ordering.md O36): the share of multicasts, in
    // percent, sent fault-tolerant atomic (receivers re-multicast them on first sight); the
    // others are atomic. And, per accepted multicast of the safety phase, the chance in percent
    // that its sender's node crashes 0-400 us later (mid-multicast: some copies left, others
    // not), at most `sender_crashes_max` times per run; it restarts 100-400 ms later.
    std::uint32_t ft_percent = 0;
    Duration stall = Duration::zero();  // InboxTaking (scenario_spec.h): the last node's stall.
    // docs/ordering.md O39: the last node is given each view this long after the others, and
    // then only the newest view made by then (a group_reset, docs/groups.md G10), so views made
    // less than this apart are skipped there. Zero: every node gets every view at once.
    Duration view_lag = Duration::zero();
    // O29, O39 (issue 16 item 2): the last node is paused (no packet in or out) from 300 ms
    // while a churn process of node 1 (not a sender) joins and leaves, making this many views;
    // then it is resumed and given the views it missed as the group server would (G9, G10):
    // one at a time, or only the newest when more than `history_max` were made. Zero: none.
    std::uint32_t pause_views = 0;
    // With pause_views: node 1 is paused instead (its members sort first: they coordinate every
    // flush, O30) and the churn process is on the last node.
    bool pause_coordinator = false;
    static constexpr std::uint64_t history_max = 16;  // docs/groups.md G6.
    std::uint32_t sender_crash_percent = 0;
    std::uint32_t sender_crashes_max = 2;
    // The group's address in every view (docs/ordering.md O38). With an IP multicast group the
    // workload also plays the group engine's part (docs/groups.md G22): each up node joins the
    // group while the view holds one of its members, and leaves it when not.
    proto::group::GroupAddress address = {};
};

class OrderWorkload final : public ScenarioWorkload {
public:
    OrderWorkload(Simulation& sim, std::size_t slot, const OrderWorkloadOptions& options,
                  Random random);

    void on_node_started(SimNode& node) override;
    void on_node_crashed(SimNode& node) override;
    void on_delivered(SimNode& node, const Message& message) override;
    void on_completed(SimNode& node, const proto::CompleteEffect& completion) override;

    [[nodiscard]] std::string_view operation_kind() const override { return "order"; }
    [[nodiscard]] bool takes_deliveries() const override { return true; }
    void begin_liveness() override;
    // Every member is in the last view, made its liveness multicasts, and every member
    // delivered the same messages in that view.
    [[nodiscard]] bool done() const override;
    [[nodiscard]] std::string outstanding() const override;
    // FIFO, no duplicates, total order (sequencer, abcast, absolute), causal order (cbcast),
    // timestamp order (absolute), same messages per view among survivors, no loss.
    [[nodiscard]] std::vector<Violation> check() const override;
    [[nodiscard]] std::map<std::string, std::uint64_t> numbers() const override;

private:
    // One life of a member process: (pid, its node's incarnation).
    using Life = std::pair<Pid, std::uint32_t>;
    struct Process {
        Pid pid;
        std::uint64_t life = 0;
        bool alive = false;
        bool busy = false;
        std::uint32_t sent = 0, liveness_sent = 0;
    };
    struct Sent {
        Life sender;
        std::uint64_t index = 0;          // Its place among the sender life's messages.
        std::vector<std::uint64_t> deps;  // Payloads the sender life delivered before.
        std::uint64_t op = 0;
    };
    struct LifeState {
        std::vector<std::uint64_t> delivered;  // Payloads, in delivery order.
        std::set<std::uint64_t> seen;
        std::map<Life, std::uint64_t> last_index;                   // FIFO per sender life.
        std::vector<std::uint64_t> views;                           // View ids installed, in order.
        std::map<std::uint64_t, std::set<std::uint64_t>> per_view;  // View -> payloads.
        std::int64_t last_timestamp = 0;
        std::uint64_t sent = 0;
    };

    void schedule(std::size_t index, Duration delay);
    void step(std::size_t index, std::uint64_t life);
    void start_multicast(std::size_t index);
    void reconfigure();
    [[nodiscard]] proto::order::View current_view() const;
    void give_view(SimNode& node, const proto::order::View& view);
    void give_late(NodeId node);
    void pause();
    void churn();
    void resume();
    void give_missed(NodeId node);
    void schedule_reconfigure(Duration delay);
    void on_data(const Life& life, const proto::order::Delivery& d);
    [[nodiscard]] Life life_of(const Process& p) const;
    [[nodiscard]] bool installed_last(const Process& p) const;
    [[nodiscard]] bool total_order() const;
    [[nodiscard]] Duration uniform(Duration low, Duration high);
    void violation(std::string text);
    void check_total(std::vector<Violation>& out) const;
    void check_causal(std::vector<Violation>& out) const;
    void check_views(std::vector<Violation>& out) const;
    void check_no_loss(std::vector<Violation>& out) const;
    void crash_mid_multicast(NodeId node);

    Simulation& sim_;
    InboxTaking taking_;  // Members take their deliveries (G25, O37).
    std::size_t slot_;
    OrderWorkloadOptions options_;
    Random random_;
    std::vector<Process> processes_;
    std::map<std::uint64_t, std::pair<std::size_t, std::uint64_t>> ops_;  // op -> (proc, payload)
    std::map<std::uint64_t, Sent> sent_;                                  // By payload.
    std::map<Life, LifeState> lives_;
    void follow_address(const SimNode& node, const proto::order::View& view, proto::Effects& out);
    std::uint64_t view_id_ = 0;
    std::vector<proto::order::Member> view_members_;
    // Per up node, the last view id it was given (or the newest view when it started: the
    // views made before were not for it); O39's skipped views are counted from it.
    std::map<NodeId, std::uint64_t> given_;
    std::set<std::uint64_t> views_with_loss_;  // Views a crash ended (informative).
    std::vector<Violation> violations_;
    std::map<std::string, std::uint64_t> numbers_;
    std::map<NodeId, Duration> clock_offsets_;  // Per node, drawn at its first start.
    std::uint64_t next_payload_ = 1;
    bool liveness_ = false;
    // pause_views: the paused node (0: none paused), the churn member while it is in the group,
    // the views made by the churn so far, and the last views made (pause_views + 8 at most).
    NodeId paused_{0};
    std::optional<proto::order::Member> churn_member_;
    std::uint32_t churned_ = 0;
    std::map<std::uint64_t, proto::order::View> history_;
    std::deque<std::uint64_t> missed_;  // The views the resumed node is yet to get, by id.
    bool reconfigure_scheduled_ = false;
    std::uint32_t sender_crashes_ = 0;
};

}  // namespace herald::sim

// GroupWorkload: the simulated processes of the "group" scenario. Node 1 runs the group server
// and creates an open group and a closed one. Member processes on every node join both, keep
// rejoining when a view no longer holds them (a false suspicion, a leave, a restart), and
// multicast with reliability 0, 1, 2 (M-of-N) or all; an outsider multicasts to both. A third,
// open group ("doomed") is created once; members may join it and multicast to it until the
// server's process deletes it at a random time (G21), retrying until answered. After the heal
// every member multicasts with reliability all until it succeeds. Every other multicast of
// reliability 0 is a request (G24) naming a collector pid. check() states the group promises
// (docs/groups.md, G20, G21 and G24's delivery rules). Layer: sim.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/random.h"
#include "proto/group/group_messages.h"
#include "sim/checkers.h"
#include "sim/scenario_spec.h"
#include "sim/simulation.h"

namespace herald::sim {

struct GroupWorkloadOptions {
    std::uint32_t members = 6;            // Round-robin over nodes 1..N.
    std::uint32_t messages = 5;           // Multicasts per member, safety phase.
    std::uint32_t liveness_messages = 2;  // Reliability-all multicasts per member after the heal.
    double leave = 0.1;                   // Chance that a safety step leaves a group.
    Duration multicast_timeout = Duration::seconds(2);
    Duration stall = Duration::zero();  // InboxTaking (scenario_spec.h): the last node's stall.
};

class GroupWorkload final : public ScenarioWorkload {
public:
    GroupWorkload(Simulation& sim, std::size_t slot, const GroupWorkloadOptions& options,
                  Random random);

    void on_node_started(SimNode& node) override;
    void on_node_crashed(SimNode& node) override;
    void on_delivered(SimNode& node, const Message& message) override;
    void on_completed(SimNode& node, const proto::CompleteEffect& completion) override;

    [[nodiscard]] std::string_view operation_kind() const override { return "group"; }
    [[nodiscard]] bool takes_deliveries() const override { return true; }
    void begin_liveness() override;
    // Every member made its reliability-all multicasts after the heal, and the outsider its.
    [[nodiscard]] bool done() const override;
    [[nodiscard]] std::string outstanding() const override;
    // View agreement, members' view order, no delivery to non-members, reliability-k
    // completions backed by k deliveries, and, once done, every node agreeing on the views.
    [[nodiscard]] std::vector<Violation> check() const override;
    [[nodiscard]] std::map<std::string, std::uint64_t> numbers() const override;

private:
    void check_joins(std::vector<Violation>& out) const;
    void check_joins(SimNode& node, std::vector<Violation>& out) const;
    enum class OpKind : std::uint8_t { create, join, leave, multicast, remove };
    struct Process {
        Pid pid;
        bool outsider = false;
        std::uint64_t life = 0;
        bool alive = false;
        bool busy = false;
        std::uint32_t sent = 0, liveness_ok = 0;
        bool closed_refused = false;  // Outsider, after the heal.
    };
    struct Op {
        OpKind kind = OpKind::join;
        std::size_t process = 0;
        std::string group;
        std::uint64_t payload = 0;
        std::uint32_t reliability = 0;
        bool liveness = false;
    };
    // One life of a process: (pid, its node's incarnation).
    using Life = std::pair<Pid, std::uint32_t>;
    struct Payload {
        std::string group;
        std::set<Pid> receivers;
        std::set<Life> lives;  // Each member life that received it.
        Pid sender;
        Pid reply_to;  // A request (G24): the collector its deliveries must name.
    };

    void schedule(std::size_t index, Duration delay);
    void step(std::size_t index, std::uint64_t life);
    void step_outsider(std::size_t index);
    void start_join(std::size_t index, const std::string& group, OpKind kind);
    void start_multicast(std::size_t index, const std::string& group, std::uint32_t reliability,
                         bool liveness);
    std::uint64_t record(OpKind kind, std::size_t index, const std::string& group);
    void on_multicast_done(const Op& op, const Result<Bytes>& result);
    void on_view(const Life& life, const proto::group::Envelope& e);
    void on_data(const Life& life, const proto::group::Envelope& e);
    void create_groups(SimNode& node);
    void start_delete();
    void on_delete_done(Errc outcome);
    [[nodiscard]] bool doomed_dropped(const Process& p) const;
    [[nodiscard]] bool is_member(const Process& p, const std::string& group) const;
    [[nodiscard]] bool converged(const Process& p) const;
    [[nodiscard]] Duration uniform(Duration low, Duration high);
    void violation(std::string text);
    void check_convergence(std::vector<Violation>& out) const;

    Simulation& sim_;
    InboxTaking taking_;  // Members take their deliveries (G25, O37).
    std::size_t slot_;
    GroupWorkloadOptions options_;
    Random random_;
    NodeId server_{1};
    std::vector<Process> processes_;
    std::map<std::uint64_t, Op> ops_;
    std::map<std::uint64_t, Payload> payloads_;
    std::map<std::pair<std::string, std::uint64_t>, std::vector<proto::group::Member>> views_;
    std::map<Life, std::map<std::string, std::vector<std::uint64_t>>> lives_;
    std::vector<Violation> violations_;
    bool joins_broken_ = false;  // A join violation was recorded (only the first is).
    std::map<std::string, std::uint64_t> numbers_;
    std::uint64_t next_payload_ = 1;
    bool liveness_ = false;
    // G21: the doomed group. Created at the server's first start only (a create after its
    // deletion would start its view ids again at 1, which the view checks key on).
    bool doomed_created_ = false;
    bool delete_started_ = false;
    bool delete_done_ = false;     // Answered ok or not_found.
    bool delete_busy_ = false;     // A delete is outstanding.
    std::set<Life> told_deleted_;  // Lives that received the deleted envelope.
};

}  // namespace herald::sim

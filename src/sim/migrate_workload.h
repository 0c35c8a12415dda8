// MigrateWorkload: the simulated processes of the "migrate" scenario (docs/migration.md). One
// mobile process, born on node 1, migrates from node to node (chains, back home, to nodes that
// are down) while one sender per node streams numbered messages to it, several in flight; the
// mobile process answers each message it consumes with a reply to its sender, from wherever it
// lives then (M15). Checks of its own: no message or reply delivered twice, per-sender FIFO
// across migrations both ways, no loss of a message or reply whose send completed ok while its
// receiver lived, the state blob arrives intact, and after the faults heal every send ends (ok
// while the process lives; a clear error once it died with a crashed node, never a hang).
// Layer: sim.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/random.h"
#include "proto/direct/direct_options.h"
#include "sim/scenario_spec.h"
#include "sim/simulation.h"

namespace herald::sim {

struct MigrateWorkloadOptions {
    std::uint32_t messages = 12;          // Per sender, safety phase.
    std::uint32_t liveness_messages = 3;  // Per sender, after the faults heal.
    std::uint32_t window = 3;             // Sends in flight per sender.
    Duration safety = Duration::seconds(3);
    Duration migrate_gap_max = Duration::milliseconds(500);
};

class MigrateWorkload final : public ScenarioWorkload {
public:
    MigrateWorkload(Simulation& sim, std::size_t slot, const MigrateWorkloadOptions& options,
                    Random random);

    void on_node_started(SimNode& node) override;
    void on_node_crashed(SimNode& node) override;
    void on_delivered(SimNode& node, const Message& message) override;
    void on_arrived(SimNode& node, Pid pid, const Bytes& state) override;
    void on_completed(SimNode& node, const proto::CompleteEffect& completion) override;

    [[nodiscard]] std::string_view operation_kind() const override { return "send"; }
    [[nodiscard]] bool takes_deliveries() const override { return true; }
    void begin_liveness() override;
    [[nodiscard]] bool done() const override;
    [[nodiscard]] std::string outstanding() const override;
    [[nodiscard]] std::vector<Violation> check() const override;
    [[nodiscard]] std::map<std::string, std::uint64_t> numbers() const override;

    // Crash faults: a node that neither hosts the mobile process nor is migrating it away, at
    // random times of the safety phase, down 1 ms to 1 s. A target node may die half-way.
    void schedule_crashes(std::uint32_t count, Random& random);

private:
    struct Sender {
        Pid pid;
        std::uint64_t life = 0;
        bool alive = false;
        std::uint32_t sent = 0;         // Safety sends issued.
        std::uint32_t liveness_ok = 0;  // Liveness sends that completed ok.
        std::uint32_t in_flight = 0;
        std::uint32_t order = 0;  // Number of the next message of this life.
        bool step_scheduled = false;
        std::uint32_t replies_issued = 0;  // Replies the mobile process sent it (all lives).
        // Order of the last reply delivered to each of its lives (+1; 0 = none yet).
        std::map<std::uint64_t, std::uint32_t> last_reply;
    };
    // A reply of the mobile process to a sender (payload = its op id).
    struct ReplyRecord {
        std::size_t sender = 0;
        std::uint32_t order = 0;
        std::uint64_t sender_life = 0;  // The sender's life when the reply was sent.
        std::optional<Errc> outcome;
        bool delivered = false;
    };
    struct SendRecord {
        std::size_t sender = 0;
        std::uint64_t sender_life = 0;
        std::uint32_t order = 0;
        std::uint64_t mobile_life = 0;  // The mobile process's life when the send started.
        bool liveness = false;
        std::optional<Errc> outcome;  // Set at completion (ok = Errc::ok).
        bool consumed = false;
    };
    struct Mobile {
        Pid pid;
        std::uint64_t life = 1;  // Grows when it dies (its host crashed).
        bool alive = false;
        NodeId host;                   // Where it is; unknown while it moves.
        std::uint64_t migrate_op = 0;  // Pending migration op; 0 = none.
        NodeId moving_to;              // Committed, not yet arrived.
        NodeId moving_from;            // The node it left.
        std::uint64_t consumed = 0;    // Messages the application took (part of its state).
        bool step_scheduled = false;
    };

    void spawn_mobile(SimNode& node);
    void spawn_sender(std::size_t index);
    void schedule_sender(std::size_t index, Duration delay);
    void sender_step(std::size_t index, std::uint64_t life);
    void issue_send(std::size_t index);
    void reply(SimNode& node, std::size_t sender);
    // Sends op's numbered body (0..padding_max-1 filler bytes) from `from` to `to`, accepted or
    // delivered at random.
    void send(SimNode& node, std::uint64_t op, Pid from, Pid to, std::uint64_t padding_max);
    void on_reply_delivered(std::size_t sender, const Message& message);
    void schedule_consume(Duration delay);
    void consume_step(std::uint64_t life);
    void schedule_migration(Duration delay);
    void migrate_step();
    void mobile_died(const char* why);
    void violation(std::string_view checker, std::string description);
    [[nodiscard]] Bytes state_blob() const;
    [[nodiscard]] Duration uniform(Duration low, Duration high);

    Simulation& sim_;
    std::size_t slot_;
    MigrateWorkloadOptions options_;
    Random random_;
    Mobile mobile_;
    std::vector<Sender> senders_;
    std::map<std::uint64_t, SendRecord> sends_;         // By op id (= payload).
    std::map<std::uint64_t, std::size_t> send_ops_;     // Pending op -> sender index.
    std::map<std::uint64_t, std::uint32_t> delivered_;  // Payload -> times in a queue now/ever.
    std::map<std::uint64_t, ReplyRecord> replies_;      // By op id (= payload).
    std::set<std::uint64_t> reply_ops_;                 // Replies not completed yet.
    // Last consumed order per (sender, sender life): per-sender FIFO.
    std::map<std::pair<std::size_t, std::uint64_t>, std::uint32_t> last_order_;
    std::vector<Violation> violations_;
    bool liveness_ = false;
    bool mobile_born_ = false;
    std::uint32_t mobile_target_life_ = 0;  // Target's incarnation when the migration began.
    std::uint64_t migrations_ok_ = 0, migrations_failed_ = 0, arrivals_ = 0, deaths_ = 0;
    std::uint64_t replies_ok_ = 0;
};

}  // namespace herald::sim

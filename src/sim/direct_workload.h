// DirectWorkload: the simulated processes of the "direct" scenario. Each process has a sender
// (sends its budget of messages one at a time, waiting for each completion, to random targets
// with random modes, full-queue policies and deadlines) and a receiver (consumes its queue;
// with send-after-receive or send-discard-retry buffering it blocks in receive, sometimes
// selectively or with a timeout). Processes die with their node and respawn with the same
// pids. Layer: sim.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/random.h"
#include "proto/direct/direct_options.h"
#include "sim/scenario_spec.h"
#include "sim/simulation.h"

namespace herald::sim {

struct DirectWorkloadOptions {
    std::uint32_t processes = 6;
    std::uint32_t messages = 5;           // Per process, safety phase.
    std::uint32_t liveness_messages = 2;  // Per process, after the faults heal.
    Duration safety = Duration::seconds(5);
    bool slow_consumers = false;  // Buggify: some receivers take up to 100 ms per message.
    bool tiny_queues = false;     // Buggify: `multiple` receivers get 1-3 slots.
    // Whether liveness sends may be non-blocking. Off when the engine may run out of channels:
    // a non-blocking send refused for lack of one is dropped unreported (nothing to retry).
    bool liveness_nonblocking = true;
};

class DirectWorkload final : public ScenarioWorkload {
public:
    // `slot` is the direct engine's slot on every node of `sim`.
    DirectWorkload(Simulation& sim, std::size_t slot, const DirectWorkloadOptions& options,
                   Random random);

    void on_node_started(SimNode& node) override;
    void on_node_crashed(SimNode& node) override;
    void on_delivered(SimNode& node, const Message& message) override;
    void on_completed(SimNode& node, const proto::CompleteEffect& completion) override;

    [[nodiscard]] std::string_view operation_kind() const override { return "send"; }
    [[nodiscard]] bool takes_deliveries() const override { return true; }
    // From now on every send is a liveness send (must succeed and be delivered).
    void begin_liveness() override;
    // All liveness sends completed and were delivered, no send is pending, all queues are empty.
    [[nodiscard]] bool done() const override;
    // What keeps done() false, per process, for the report.
    [[nodiscard]] std::string outstanding() const override;

    // Process pids, in index order (for tests and traces).
    [[nodiscard]] std::vector<Pid> pids() const;

private:
    struct Process {
        Pid pid;
        proto::direct::ProcessOptions options;
        Duration consume_max;    // Upper bound of its per-message processing time.
        std::uint64_t life = 0;  // Changes when its node crashes or starts.
        bool alive = false;
        std::optional<std::uint64_t> pending;  // The send it is blocked in.
        std::uint32_t sent = 0;
        std::uint32_t sent_liveness = 0;
        bool posted = false;          // Blocked in receive (the engine was told).
        bool step_scheduled = false;  // A receiver step is queued.
        std::vector<Pid> from;        // Filter of the current receive (empty = any).
        std::uint64_t receive_generation = 0;
    };

    [[nodiscard]] SimNode& node_of(const Process& p) { return sim_.node(p.pid.node); }
    [[nodiscard]] bool needs_post(const Process& p) const;
    // Buffering of process `pid`; nullopt for a pid that is no process of the workload.
    [[nodiscard]] std::optional<proto::direct::Buffering> buffering_of(Pid pid) const;
    Process make_process(std::uint32_t index, std::size_t nodes);
    void spawn(std::size_t index);
    void schedule_send(std::size_t index, Duration delay);
    void send_next(std::size_t index, std::uint64_t life);
    void issue_send(std::size_t index, bool liveness);
    [[nodiscard]] Pid pick_target(std::size_t index, bool allow_missing);
    void schedule_step(std::size_t index, Duration delay);
    void receiver_step(std::size_t index, std::uint64_t life);
    void post_receive(std::size_t index);
    void receive_timeout(std::size_t index, std::uint64_t life, std::uint64_t generation);
    [[nodiscard]] Duration uniform(Duration low, Duration high);
    [[nodiscard]] Duration think_time(bool liveness);

    Simulation& sim_;
    std::size_t slot_;
    DirectWorkloadOptions options_;
    Random random_;
    std::vector<Process> processes_;
    std::unordered_map<std::uint64_t, std::size_t> pending_by_op_;  // op -> process index
    bool liveness_ = false;
    std::unordered_set<std::uint64_t> liveness_payloads_;  // Not yet delivered.
};

// A message body as the workload writes it: the payload id (8 bytes, little endian) then
// `padding` filler bytes. payload_of() returns 0 for a body too short to hold one.
[[nodiscard]] Bytes make_body(std::uint64_t payload, std::size_t padding);
[[nodiscard]] std::uint64_t payload_of(const Bytes& body);

}  // namespace herald::sim

// MailboxWorkload: the simulated processes of the "mailbox" scenario. Node 1 hosts a persistent
// mailbox "p" and a transient one "t" (re-created at every start: transient mailboxes die with
// their node). Senders on the other nodes send unique payloads to both; receivers on every
// node take messages as competing consumers and acknowledge most of them (some never, so
// leases end and messages come back marked redelivery). check() states the mailbox promises
// (docs/mailboxes.md, M4-M14). Layer: sim.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/random.h"
#include "sim/checkers.h"
#include "sim/scenario_spec.h"
#include "sim/simulation.h"

namespace herald::sim {

struct MailboxWorkloadOptions {
    std::uint32_t senders = 4;            // Round-robin over nodes 2..N.
    std::uint32_t receivers = 3;          // Round-robin over nodes 1..N.
    std::uint32_t messages = 5;           // Per sender, safety phase.
    std::uint32_t liveness_messages = 2;  // Per sender, after the faults heal.
    double skip_ack = 0.1;                // Chance that a receiver never acks a message.
};

class MailboxWorkload final : public ScenarioWorkload {
public:
    MailboxWorkload(Simulation& sim, std::size_t slot, const MailboxWorkloadOptions& options,
                    Random random);

    void on_node_started(SimNode& node) override;
    void on_node_crashed(SimNode& node) override;
    void on_delivered(SimNode& node, const Message& message) override;
    void on_completed(SimNode& node, const proto::CompleteEffect& completion) override;

    [[nodiscard]] std::string_view operation_kind() const override { return "mailbox"; }
    void begin_liveness() override;
    // Every payload was sent (accepted, or given up after a timeout) and every accepted
    // persistent payload was acknowledged.
    [[nodiscard]] bool done() const override;
    [[nodiscard]] std::string outstanding() const override;
    // - a persistent payload accepted is acknowledged exactly once, or is still on the host's
    //   disk; never acknowledged twice;
    // - no payload is handed out twice without the redelivery mark (persistent), or twice at
    //   all (transient); nothing is handed out that was not sent; a peek hands out nothing;
    // - a selective receive gets only messages of the sender it named.
    [[nodiscard]] std::vector<Violation> check() const override;
    [[nodiscard]] std::map<std::string, std::uint64_t> numbers() const override;

private:
    enum class OpKind : std::uint8_t { create, send, receive, ack };
    struct Process {
        Pid pid;
        bool sender = false;
        std::uint64_t life = 0;
        bool alive = false;
        bool busy = false;
        std::uint32_t sent = 0, sent_liveness = 0;
    };
    struct Op {
        OpKind kind = OpKind::send;
        std::size_t process = 0;
        std::uint64_t payload = 0;
        bool persistent = false;
        Pid from{};              // Receive: a selective receive's sender (node 0: any).
        bool peek = false;       // Receive: a peek (M19), followed by a take of what it saw.
        std::uint64_t take = 0;  // Receive: a take (M20) of this seq.
    };
    struct Payload {
        bool persistent = false;
        bool accepted = false;
        bool unknown = false;  // The send timed out: it may or may not be in the mailbox.
        bool finished = false;
        std::uint32_t deliveries = 0, first_deliveries = 0, acks = 0;
        NodeId sender;                 // Learned at its first delivery.
        std::uint64_t message_id = 0;  // Learned at its first delivery.
    };

    void schedule(std::size_t index, Duration delay);
    void step(std::size_t index, std::uint64_t life);
    void start_send(std::size_t index, std::uint64_t payload);
    void start_receive(std::size_t index, std::uint64_t take = 0);
    void start_ack(std::size_t index, std::uint64_t payload, std::uint64_t tag);
    std::uint64_t record(OpKind kind, std::size_t index, std::uint64_t payload, bool persistent);
    void on_received(const Op& op, const Result<Bytes>& result);
    void on_sent(const Op& op, Errc outcome);
    void create_mailboxes(SimNode& node);
    [[nodiscard]] Duration uniform(Duration low, Duration high);
    [[nodiscard]] bool on_host_disk(std::uint64_t payload) const;
    [[nodiscard]] bool acked_on_disk(const Payload& p) const;

    Simulation& sim_;
    std::size_t slot_;
    MailboxWorkloadOptions options_;
    Random random_;
    NodeId host_{1};
    std::vector<Process> processes_;
    std::map<std::uint64_t, Op> ops_;                          // By operation id.
    std::map<std::uint64_t, Payload> payloads_;                // By payload id.
    std::map<std::size_t, std::vector<std::uint64_t>> retry_;  // Refused payloads per sender.
    std::uint64_t next_payload_ = 1;
    std::uint64_t unknown_deliveries_ = 0;
    std::uint64_t skipped_acks_ = 0;
    std::uint64_t filter_mismatches_ = 0;  // A selective receive got another sender's message.
    std::uint64_t peeks_ = 0, takes_ = 0, selective_ = 0;
    bool liveness_ = false;
};

}  // namespace herald::sim

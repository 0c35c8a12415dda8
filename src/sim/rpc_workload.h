// RpcWorkload: the simulated processes of the "rpc" scenarios. Node 1 hosts a server process
// with a non-idempotent counter service ("add": add one, answer the new value) whose state is
// durable: every run writes the new value and a "done" mark of its call, atomically with the
// reply (HandlerWrite). Client processes on the other nodes make calls with random protocols
// (RR, RRA, RARA), a few in flight each. At the end, check() compares the server's disk with
// what the clients saw. Layer: sim.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/random.h"
#include "proto/rpc/rpc_options.h"
#include "sim/checkers.h"
#include "sim/scenario_spec.h"
#include "sim/simulation.h"

namespace herald::sim {

struct RpcWorkloadOptions {
    std::uint32_t clients = 4;         // Client processes, round-robin over nodes 2..N.
    std::uint32_t calls = 5;           // Per client, safety phase.
    std::uint32_t liveness_calls = 2;  // Per client, after the faults heal.
    std::uint32_t in_flight = 2;       // Calls a client keeps outstanding at most.
    Duration safety = Duration::seconds(5);
    proto::rpc::Semantics semantics = proto::rpc::Semantics::exactly_once;
    bool durable = true;         // The server's reply cache is durable.
    bool long_handlers = false;  // Buggify: many runs take 100-400 ms.
    // For runs without faults: handlers answer at once and clients wait 200 ms before they
    // resend, so that each call costs exactly the lecture's packets (RR 2, RRA 3, RARA 4).
    bool quiet = false;
};

class RpcWorkload final : public ScenarioWorkload {
public:
    RpcWorkload(Simulation& sim, std::size_t slot, const RpcWorkloadOptions& options,
                Random random);

    void on_node_started(SimNode& node) override;
    void on_node_crashed(SimNode& node) override;
    void on_delivered(SimNode& node, const Message& message) override;
    void on_completed(SimNode& node, const proto::CompleteEffect& completion) override;
    void on_execute(SimNode& node, std::size_t slot, const proto::ExecuteEffect& request) override;

    [[nodiscard]] std::string_view operation_kind() const override { return "call"; }
    [[nodiscard]] bool takes_executions() const override { return true; }
    void begin_liveness() override;
    // Every client made all its calls and none is outstanding.
    [[nodiscard]] bool done() const override;

    // The counter property, over the server's disk (docs/rpc.md, "What is guaranteed"):
    // - the counter equals the number of "done" marks (a run's writes are atomic);
    // - a call that completed ok is marked done; one that failed with a definite error
    //   (server_crashed under a durable cache, no_such_*, queue_full) is not;
    // - exactly-once: counter == ok calls + marked calls whose caller never learned the
    //   outcome (abandoned, timeout, request_lost, response_lost), and an ok reply carries
    //   the counter value its own run committed (the mark holds it);
    // - exactly-once in memory (durable = false): as at-least-once across server crashes,
    //   and no call runs twice within one server incarnation;
    // - after the faults heal, every client's liveness calls succeed: one refused by
    //   back-pressure (queue_full) is made again, so an engine that keeps refusing
    //   never finishes (a liveness violation).
    [[nodiscard]] std::vector<Violation> check() const override;
    // Counts for the report: calls per protocol and outcome, runs, re-runs, counter, liveness
    // calls refused by back-pressure and made again.
    [[nodiscard]] std::map<std::string, std::uint64_t> numbers() const override;

    static constexpr std::string_view counter_key = "counter/value";
    static constexpr std::string_view done_prefix = "counter/done/";

private:
    struct Client {
        Pid pid;
        std::uint64_t life = 0;
        bool alive = false;
        std::uint32_t issued = 0, issued_liveness = 0, in_flight = 0;
    };
    struct Call {
        std::size_t client = 0;
        proto::rpc::Protocol protocol = proto::rpc::Protocol::rr;
        std::optional<Errc> outcome;
        bool abandoned = false;
        bool liveness = false;                // Made after the faults healed.
        std::optional<std::uint64_t> answer;  // The counter value of an ok reply.
    };

    [[nodiscard]] SimNode& server_node() { return sim_.node(server_.node); }
    void schedule_issue(std::size_t index, Duration delay);
    void issue(std::size_t index, std::uint64_t life);
    void start_call(std::size_t index, bool liveness);
    [[nodiscard]] proto::rpc::CallOptions call_options(proto::rpc::Protocol protocol);
    void finish_run(std::uint64_t execution, std::uint64_t tag, std::uint64_t life);
    [[nodiscard]] Duration uniform(Duration low, Duration high);
    [[nodiscard]] std::uint64_t disk_counter() const;
    // The "done" marks on the server's disk: the tag of each committed call, with the counter
    // value its run wrote.
    [[nodiscard]] std::map<std::uint64_t, std::uint64_t> done_marks() const;

    Simulation& sim_;
    std::size_t slot_;
    RpcWorkloadOptions options_;
    Random random_;
    Pid server_;
    std::vector<Client> clients_;
    std::map<std::uint64_t, Call> calls_;  // By operation id, which is also the call's tag.
    bool liveness_ = false;
    std::uint64_t server_life_ = 0;  // Changes when the server node starts or crashes.
    std::uint64_t counter_ = 0;      // The service's state in memory (reloaded at start).
    std::uint64_t runs_ = 0;
    std::map<std::uint64_t, std::uint32_t> runs_by_tag_;
    // Exactly-once in memory: runs of each call per server incarnation (tag, incarnation).
    std::map<std::pair<std::uint64_t, std::uint32_t>, std::uint32_t> runs_by_incarnation_;
    std::uint64_t liveness_refused_ = 0;  // Liveness calls refused by back-pressure, remade.
};

// The request body of a call: its tag, 8 bytes little-endian.
[[nodiscard]] Bytes tag_body(std::uint64_t tag);
[[nodiscard]] std::uint64_t tag_of(const Bytes& body);

}  // namespace herald::sim

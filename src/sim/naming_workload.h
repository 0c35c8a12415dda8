// NamingWorkload: the simulated clients of the "naming" scenario. Node 1 hosts the name server;
// client processes on the other nodes register, renew, look up and unregister names of a small
// pool (so registrations race), with short leases. check() holds the name service to its rules
// (docs/naming.md) from what the clients saw. Layer: sim.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/random.h"
#include "sim/scenario_spec.h"
#include "sim/simulation.h"

namespace herald::sim {

struct NamingWorkloadOptions {
    std::uint32_t clients = 4;       // Round-robin over nodes 2..N (node 1 when alone).
    std::uint32_t ops = 8;           // Per client, safety phase.
    std::uint32_t liveness_ops = 3;  // Per client, after the faults heal.
    std::uint32_t names = 3;         // The pool of names the clients fight over.
    Duration lease = Duration::milliseconds(800);
    Duration safety = Duration::seconds(5);
    Duration probe_interval = Duration::milliseconds(250);  // The server's (rule 14).
    Duration dead_after = Duration::seconds(1);
};

class NamingWorkload final : public ScenarioWorkload {
public:
    NamingWorkload(Simulation& sim, std::size_t slot, const NamingWorkloadOptions& options,
                   Random random);

    void on_node_started(SimNode& node) override;
    void on_node_crashed(SimNode& node) override;
    void on_delivered(SimNode& node, const Message& message) override;
    void on_completed(SimNode& node, const proto::CompleteEffect& completion) override;

    [[nodiscard]] std::string_view operation_kind() const override { return "name"; }
    void begin_liveness() override;
    [[nodiscard]] bool done() const override;
    [[nodiscard]] std::string outstanding() const override;
    // Uniqueness, no lost registration, lease expiry, liveness after heal (docs/naming.md).
    [[nodiscard]] std::vector<Violation> check() const override;
    [[nodiscard]] std::map<std::string, std::uint64_t> numbers() const override;

    struct Op {
        enum class Kind : std::uint8_t { reg, lookup, unreg } kind = Kind::lookup;
        std::size_t client = 0;
        std::string name;
        Time start;
        std::optional<Time> end;
        std::optional<Errc> outcome;
        Pid owner;            // lookup ok: the owner it returned.
        bool cached = false;  // Answered from the client's cache.
        bool liveness = false;
    };

private:
    struct Client {
        Pid pid;
        std::uint64_t life = 0;
        bool alive = false;
        bool busy = false;
        std::uint32_t issued = 0, issued_liveness = 0;
    };

    void schedule_issue(std::size_t index, Duration delay);
    void issue(std::size_t index, std::uint64_t life);
    void start(std::size_t index, bool liveness);
    [[nodiscard]] Duration uniform(Duration low, Duration high);
    void check_pair(const Op& a, const Op& b, std::vector<Violation>& out) const;
    [[nodiscard]] bool unregister_from(NodeId node, const std::string& name, Time before) const;
    void check_lookup(const Op& l, std::vector<Violation>& out) const;
    void check_dead_holder(const Op& l, std::vector<Violation>& out) const;
    [[nodiscard]] bool crashed_between(NodeId node, Time from, Time to) const;

    Simulation& sim_;
    std::size_t slot_;
    NamingWorkloadOptions options_;
    Random random_;
    std::vector<Client> clients_;
    std::map<std::uint64_t, Op> ops_;  // By operation id.
    std::vector<Time> server_starts_;
    std::map<NodeId, std::vector<Time>> crashes_;  // Of client nodes, in time order.
    bool liveness_ = false;
    bool in_command_ = false;
};

}  // namespace herald::sim

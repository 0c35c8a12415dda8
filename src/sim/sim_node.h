// SimNode: one simulated node — its engines (a proto::EngineSet, as the runtime Node hosts
// them), their timers, the queues of its processes, and its disk. Crash drops everything
// volatile; start makes a new incarnation. Layer: sim. Single-threaded: everything runs inside
// Simulation's event loop.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/assert.h"
#include "core/message.h"
#include "core/random.h"
#include "proto/effects.h"
#include "proto/engine_set.h"
#include "sim/engines.h"
#include "wire/fragment.h"

namespace herald::sim {

class Simulation;

class SimNode {
public:
    SimNode(Simulation& sim, NodeId id);
    ~SimNode();
    SimNode(const SimNode&) = delete;
    SimNode& operator=(const SimNode&) = delete;

    // Adds an engine, created at every start; returns its slot. Only before the first start.
    std::size_t add_engine(EngineFactory factory);

    [[nodiscard]] NodeId id() const { return id_; }
    [[nodiscard]] const std::string& label() const { return label_; }
    [[nodiscard]] std::uint32_t incarnation() const { return incarnation_; }
    [[nodiscard]] bool up() const { return up_; }
    [[nodiscard]] const DurableStore& disk() const { return disk_; }
    // A fragment that arrived for this node: the whole packet once its last fragment is here
    // (nullopt before), or the reassembler's error. Fragments held die with a crash.
    [[nodiscard]] Result<std::optional<wire::Packet>> reassemble(wire::Packet fragment, Time now) {
        return reassembler_.on_fragment(std::move(fragment), now);
    }
    // Durable writes (persist batches) issued, over every incarnation.
    [[nodiscard]] std::uint64_t writes_issued() const { return writes_issued_; }

    // Starts a new incarnation (1, 2, ...): engines are created, then the workload's
    // on_node_started respawns the node's processes. The node must be down.
    void start();
    // Drops all volatile state: engines, timers, process queues, writes not yet durable (a
    // random prefix of those is kept, as a real disk may have written them; each write, i.e.
    // the persist effects of one token, survives whole or not at all). With `wipe` the
    // disk is emptied as well. The node must be up.
    void crash(bool wipe);

    // A packet arrived (the node must be up). Packets of a kind no engine handles are dropped.
    void on_packet(NodeId from, const wire::Packet& packet);

    // Runs an application command `command(engine, out)` against the engine in `slot`, of
    // concrete type E, and carries out its effects. Must not be called from inside another
    // input (workload hooks schedule events instead).
    template <class E, class F>
    void command(std::size_t slot, F&& command) {
        HERALD_ASSERT(!in_input_);
        HERALD_ASSERT(up_);
        static_cast<void>(engines_->get<E>(static_cast<proto::EngineSlot>(slot)));  // Checked.
        in_input_ = true;
        engines_->run<E>(static_cast<proto::EngineSlot>(slot), now(), effects_,
                         std::forward<F>(command));
        drain();
    }

    // The engine in `slot`, as its concrete type (checked).
    template <class E>
    [[nodiscard]] E& engine(std::size_t slot) {
        HERALD_ASSERT(up_);
        return engines_->get<E>(static_cast<proto::EngineSlot>(slot));
    }

    // Process queues: messages delivered and not yet consumed.
    [[nodiscard]] std::size_t queued(Pid pid) const;
    // Takes the oldest queued message of `pid` whose source is in `from` (any when empty), and
    // tells the engine that delivered it (on_consumed). nullopt when there is none.
    std::optional<Message> consume(Pid pid, std::span<const Pid> from = {});

    // Takes every queued message of `pid`, in order, without telling the engine (a process
    // that migrates hands them to the engine's on_migrate).
    [[nodiscard]] std::vector<Message> take_queue(Pid pid);
    // Counters of all engines over all incarnations so far.
    [[nodiscard]] EngineStats stats() const;
    // The IP multicast groups this incarnation joined (membership effects): the simulated
    // network delivers a group's datagrams to the up nodes that joined it.
    [[nodiscard]] bool joined(const proto::IpGroup& group) const {
        return up_ && joined_.contains(group);
    }
    [[nodiscard]] const std::set<proto::IpGroup>& joined_groups() const { return joined_; }

private:
    // An rpc_request for a hosted RPC engine, given with its sender's address; false: not one.
    bool deliver_request(NodeId from, wire::Packet& packet);
    struct Queued {
        proto::EngineSlot slot = 0;
        Message message;
    };
    class Carrier;  // Carries effects out (EngineSet::apply's driver).
    struct Timer {
        std::uint64_t generation = 0;
    };
    struct PendingWrite {  // One atomic write: the persist effects of one token.
        proto::EngineSlot slot = 0;
        std::uint64_t token = 0;
        std::vector<proto::PersistEffect> parts;
    };

    [[nodiscard]] Time now() const;
    // Ends the batch (on_batch_end: every input is a batch here) and carries out the effects
    // in EngineSet's order.
    void drain();
    void carry_out_timer(const proto::TimerEffect& timer);
    void fire_timer(std::uint64_t life, proto::EngineSlot slot, std::uint64_t id,
                    std::uint64_t generation);
    void persist(proto::EngineSlot slot, std::uint64_t token,
                 std::span<proto::PersistEffect> parts);
    void finish_write(std::uint64_t life);
    void apply(const PendingWrite& write);

    Simulation& sim_;
    NodeId id_;
    std::string label_;
    std::uint32_t incarnation_ = 0;
    bool up_ = false;
    std::set<proto::IpGroup> joined_;
    bool in_input_ = false;
    std::uint64_t life_ = 0;  // Changes at every start and crash; stale events check it.
    std::vector<EngineFactory> factories_;
    std::vector<std::unique_ptr<Random>> randoms_;  // One per engine; outlive the engines.
    std::unique_ptr<proto::EngineSet> engines_;     // While up.
    proto::Effects effects_;
    std::vector<std::string> findings_;  // Engine::check_invariants after each input.
    std::map<std::pair<proto::EngineSlot, std::uint64_t>, Timer> timers_;
    std::uint64_t timer_generation_ = 0;
    std::map<Pid, std::deque<Queued>> queues_;
    DurableStore disk_;
    std::deque<PendingWrite> writes_;  // Issued, not yet durable; complete in order.
    std::uint64_t writes_issued_ = 0;
    wire::Reassembler reassembler_;
    Time disk_free_;          // When the last issued write becomes durable.
    EngineStats past_stats_;  // Of crashed incarnations.
};

}  // namespace herald::sim

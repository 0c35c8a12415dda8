// Network: the simulator's seeded model of the links between nodes — latency (base + jitter of
// a chosen shape), loss, duplication, reordering, one-way and two-way partitions, clogged nodes,
// and the harsher buggify modes (burst loss, extreme delay, duplicate storms). It decides the
// fate of each packet; the Simulation carries packets out. Layer: sim.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "core/random.h"
#include "core/time.h"

namespace herald::sim {

enum class JitterShape : std::uint8_t {
    uniform,      // Uniform in [0, jitter].
    exponential,  // Exponential with mean `jitter`, capped at 20x.
    pareto,       // Heavy tail (shape 1.5, scale jitter / 3), capped at 50x.
};

struct NetworkOptions {
    Duration latency_base = Duration::microseconds(500);  // Per link scaled by 0.5..1.5.
    Duration jitter = Duration::microseconds(500);
    JitterShape shape = JitterShape::exponential;
    double loss = 0.0;       // Probability each packet is dropped.
    double duplicate = 0.0;  // Probability a packet arrives twice (independent delays).
    double reorder = 0.0;    // Probability a packet gets an extra delay (reorders it).
    Duration reorder_delay_max = Duration::milliseconds(50);
    Duration loopback_latency = Duration::microseconds(5);  // A node to itself: never faulty.

    // Buggify modes (chosen per seed). Burst loss: each link is a two-state (Gilbert-Elliott)
    // channel that enters a bad state where it loses `burst_loss_rate` of packets.
    bool burst_loss = false;
    double burst_enter = 0.02;
    double burst_exit = 0.15;
    double burst_loss_rate = 0.9;
    bool extreme_delay = false;  // 1% of packets are delayed by up to `extreme_delay_max`.
    Duration extreme_delay_max = Duration::seconds(2);
    bool duplicate_storm = false;  // Duplicates come as up to 5 copies.
};

// Fate of one packet: the arrival times of its copies (none = dropped, with the reason).
struct Route {
    std::vector<Time> arrivals;
    std::string_view drop_reason;  // "loss", "burst", "partition"; empty when delivered.
};

class Network {
public:
    // Nodes are NodeId{1} .. NodeId{node_count}.
    Network(const NetworkOptions& options, Random random, std::size_t node_count);

    // Decides what happens to a packet sent now from `from` to `to`.
    [[nodiscard]] Route route(NodeId from, NodeId to, Time now);

    // Partitions: packets from `from` to `to` are dropped while blocked.
    // Partitions may overlap: a link stays blocked until every partition that blocked it
    // has healed (or heal_all()).
    void block(NodeId from, NodeId to) { ++blocked_[link(from, to)]; }
    void unblock(NodeId from, NodeId to);
    [[nodiscard]] bool blocked(NodeId from, NodeId to) const {
        return blocked_[link(from, to)] > 0;
    }
    // Packets from or to `node` sent before `until` leave at `until` (FoundationDB's clogging).
    void clog(NodeId node, Time until);
    // Ends every partition and clog, and turns off loss, duplication, reordering and the
    // buggify modes: the liveness phase's clean network (latency jitter stays).
    void heal_all();

    struct Counters {
        std::uint64_t sent = 0, lost = 0, partitioned = 0, duplicated = 0, delayed = 0;
    };
    [[nodiscard]] const Counters& counters() const { return counters_; }
    [[nodiscard]] const NetworkOptions& options() const { return options_; }

private:
    [[nodiscard]] std::size_t link(NodeId from, NodeId to) const;
    [[nodiscard]] Duration latency(std::size_t link);
    [[nodiscard]] bool lost(std::size_t link);
    [[nodiscard]] std::uint32_t copies();

    NetworkOptions options_;
    Random random_;
    std::size_t node_count_;
    std::vector<Duration> base_;          // Per link.
    std::vector<std::uint32_t> blocked_;  // Per link: partitions currently blocking it.
    std::vector<bool> bad_;               // Per link: in the burst-loss bad state.
    std::vector<Time> clogged_until_;     // Per node.
    Counters counters_;
};

}  // namespace herald::sim

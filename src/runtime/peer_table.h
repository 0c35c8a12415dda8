// PeerTable: the node's address book, NodeId <-> Endpoint. Learned from the source node and
// from-address of every received packet, and from connect(url). Layer: runtime. Loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <unordered_map>

#include "core/ids.h"
#include "core/time.h"
#include "runtime/transport.h"

namespace herald::runtime {

class PeerTable {
public:
    // At most `peers_max` entries; when full, learning a new node evicts the one heard from
    // least recently (its engines' retransmissions then count as unknown-peer drops until the
    // node is heard from again). peers_max >= 1.
    explicit PeerTable(std::size_t peers_max = 65536);

    // Records that `node` answers at `endpoint` (the latest address wins: a node restarted on
    // another port moves). An endpoint belongs to one node: a different node now at the same
    // address (restart with a new id) replaces the old mapping. `node` must be known.
    void learn(NodeId node, const Endpoint& endpoint, Time now);

    // The endpoint of `node`, or nullptr when unknown. The pointer is valid until the next
    // learn() or forget().
    [[nodiscard]] const Endpoint* find(NodeId node) const;
    // The node at `endpoint`, or NodeId{} (unknown).
    [[nodiscard]] NodeId find(const Endpoint& endpoint) const;

    void forget(NodeId node);
    [[nodiscard]] std::size_t size() const { return by_node_.size(); }
    // Estimated heap bytes of the table (core/memory.h).
    [[nodiscard]] std::size_t memory_bytes() const;

    struct Counters {
        std::uint64_t learned = 0, moved = 0, evicted = 0;
    };
    [[nodiscard]] Counters counters() const { return counters_; }

private:
    struct Entry {
        Endpoint endpoint;
        Time last_seen;
    };
    void evict_oldest();

    std::size_t peers_max_;
    std::unordered_map<NodeId, Entry> by_node_;
    std::map<Endpoint, NodeId> by_endpoint_;
    Counters counters_;
};

}  // namespace herald::runtime

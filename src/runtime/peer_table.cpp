// PeerTable: NodeId <-> Endpoint address book. Layer: runtime.
#include "runtime/peer_table.h"

#include "core/assert.h"
#include "core/memory.h"

namespace herald::runtime {

PeerTable::PeerTable(std::size_t peers_max) : peers_max_(peers_max) {
    HERALD_ASSERT(peers_max >= 1);
}

void PeerTable::learn(NodeId node, const Endpoint& endpoint, Time now) {
    HERALD_ASSERT(node.known());
    auto it = by_node_.find(node);
    if (it != by_node_.end() && it->second.endpoint == endpoint) {
        it->second.last_seen = now;  // The common case: a known peer at its known address.
        return;
    }
    if (auto other = by_endpoint_.find(endpoint); other != by_endpoint_.end()) {
        by_node_.erase(other->second);  // Another node used to live at this address.
        by_endpoint_.erase(other);
    }
    it = by_node_.find(node);
    if (it != by_node_.end()) {
        by_endpoint_.erase(it->second.endpoint);
        it->second = Entry{endpoint, now};
        ++counters_.moved;
    } else {
        if (by_node_.size() >= peers_max_) evict_oldest();
        by_node_.emplace(node, Entry{endpoint, now});
        ++counters_.learned;
    }
    by_endpoint_[endpoint] = node;
}

const Endpoint* PeerTable::find(NodeId node) const {
    auto it = by_node_.find(node);
    return it == by_node_.end() ? nullptr : &it->second.endpoint;
}

NodeId PeerTable::find(const Endpoint& endpoint) const {
    auto it = by_endpoint_.find(endpoint);
    return it == by_endpoint_.end() ? NodeId{} : it->second;
}

void PeerTable::forget(NodeId node) {
    auto it = by_node_.find(node);
    if (it == by_node_.end()) return;
    by_endpoint_.erase(it->second.endpoint);
    by_node_.erase(it);
}

void PeerTable::evict_oldest() {
    // Linear scan: eviction happens only when the table is full, which a healthy deployment
    // never reaches; keeping no LRU list keeps the per-packet learn() path cheap.
    auto oldest = by_node_.begin();
    for (auto it = by_node_.begin(); it != by_node_.end(); ++it) {
        if (it->second.last_seen < oldest->second.last_seen) oldest = it;
    }
    if (oldest == by_node_.end()) return;
    by_endpoint_.erase(oldest->second.endpoint);
    by_node_.erase(oldest);
    ++counters_.evicted;
}

std::size_t PeerTable::memory_bytes() const {
    std::size_t bytes = by_node_.bucket_count() * sizeof(void*);
    for (const auto& [node, entry] : by_node_) {
        // The endpoint is held twice: in the entry and as the key of by_endpoint_.
        const std::size_t strings =
            memory::heap(entry.endpoint.host) + memory::heap(entry.endpoint.path);
        bytes += memory::hash_node(sizeof(std::pair<const NodeId, Entry>)) +
                 memory::map_node(sizeof(std::pair<const Endpoint, NodeId>)) + 2 * strings;
    }
    return bytes;
}

}  // namespace herald::runtime

// The group engine's pure state: the server's groups (view history, durable progress, the
// nodes it keeps up to date), a node's installed views, outstanding requests and multicasts,
// and the message ids a receiving node remembers. Layer: proto/group.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/time.h"
#include "proto/effects.h"
#include "proto/group/group_messages.h"

namespace herald::proto::group {

// Server: how far one node is with one group's views (rule G9).
struct NodeCursor {
    std::uint32_t incarnation = 0;  // The node's incarnation this cursor is for.
    bool known = false;             // False until the node acknowledged a view.
    std::uint64_t acked = 0;        // The highest view it installed (known only).
    Time sent;                      // Last transmission, for retransmits.
};

// Server: one group.
struct ServerGroup {
    std::vector<View> history;     // The last history_max views; back() is current. Never empty.
    std::uint64_t durable_id = 0;  // Views up to this id are on disk and may be sent (G5).
    bool writing = false;          // A write of the record is in flight.
    bool dirty = false;            // The record changed since the last write began.
    // G21: deleted; the current view is the final one (no members). The group stays (a
    // tombstone) until every node concerned dropped it and its record is erased.
    bool deleted = false;
    bool announced = false;  // Deleted: the nodes to tell were given cursors.
    std::map<NodeId, NodeCursor> nodes;

    [[nodiscard]] const View& current() const { return history.back(); }
    [[nodiscard]] const View* find(std::uint64_t id) const {
        for (const auto& v : history) {
            if (v.id == id) return &v;
        }
        return nullptr;
    }
};

// Server: what it last heard from a node (failure detector, restart detection).
struct HeardFrom {
    std::uint32_t incarnation = 0;
    Time at;
};

// Server: a request it answered or will answer once its view is durable (G4).
struct RequestKey {
    NodeId node;
    std::uint32_t incarnation = 0;
    std::uint64_t id = 0;
    auto operator<=>(const RequestKey&) const = default;
};
// Answer::wait_view of a delete: sent once the group is gone (G21).
inline constexpr std::uint64_t wait_gone = ~std::uint64_t{0};
struct Answer {
    GroupPacket reply;
    std::uint64_t wait_view = 0;  // Sent once this view of reply.name is durable (or wait_gone).
    bool sent = false;
    Time at;  // When it was first sent (retention).
};

// Client: a request to the server, retransmitted until answered or timed out.
struct Outstanding {
    OperationId op = 0;  // 0 for an internal lookup (multicasts wait on it).
    GroupPacket request;
    Time deadline;
    Time next_send;
};

// Sender: a multicast waiting for responses (reliability > 0) or for a view (lookup).
struct Multicast {
    std::uint64_t id = 0;  // The message id (G13).
    OperationId op = 0;
    Pid sender;
    std::string name;
    std::shared_ptr<const Bytes> body;
    std::uint32_t reliability = 0;  // Requested: 0, k, or reliability_all.
    std::uint32_t needed = 0;       // Responses that complete it, fixed once the view is known.
    Time deadline;
    Time next_send;
    bool resolved = false;  // The view is known and the packets went out.
    std::uint64_t view_id = 0;
    std::map<NodeId, std::vector<std::uint64_t>> waiting;  // Members not yet responded.
    std::vector<Pid> responders;
    Pid reply_to;  // A request (G24): where the members' answers go; else invalid.
};

// Receiver: one multicast message seen (dedup and re-answering retransmissions).
struct SeenKey {
    Pid source;
    std::uint32_t incarnation = 0;
    std::uint64_t id = 0;
    auto operator<=>(const SeenKey&) const = default;
};
struct Seen {
    std::vector<std::uint64_t> delivered;  // Local ids that got it.
    Time at;
    std::uint64_t order = 0;  // Insertion order, for eviction at seen_max.
};

// Sender: a looked-up view and when it stops being trusted.
struct CachedView {
    View view;
    Time expires;
};

}  // namespace herald::proto::group

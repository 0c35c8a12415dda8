// Options and counters of the group engine (docs/groups.md). Layer: proto/group.
#pragma once

#include <cstdint>

#include "core/ids.h"
#include "core/time.h"

namespace herald::proto::group {

struct GroupOptions {
    // The node that runs the group server (the lecture's CGS). Every node of a deployment
    // names the same one; that node answers requests and installs views.
    NodeId server{1};
    // Views come from a coordination backend (etcd, docs/coordination.md "Groups on etcd")
    // through on_coordinated_view / on_coordinated_delete, not from a server: requests are not
    // sent, heartbeats neither (the backend's leases detect crashed nodes), and `server` is
    // unused.
    bool coordinated = false;
    // A request or view not answered is sent again after this long (datagrams get lost).
    Duration retransmit_interval = Duration::milliseconds(200);
    // A request to the server not answered within this long completes with Errc::timeout.
    Duration request_timeout = Duration::seconds(5);
    // Failure detector (docs/groups.md, "Failure detector"): nodes hosting members send a
    // heartbeat every heartbeat_interval; the server removes the members of a node it has
    // not heard from for suspicion_timeout. Defaults are the LAN row of the table there.
    Duration heartbeat_interval = Duration::milliseconds(500);
    Duration suspicion_timeout = Duration::seconds(3);
    // How long a sender node that hosts no member trusts a looked-up view.
    Duration lookup_ttl = Duration::seconds(1);
    // How long a receiving node remembers a message id to drop duplicates and re-answer
    // retransmissions; longer than any multicast timeout plus the packet lifetime.
    Duration seen_retention = Duration::seconds(30);
    // How long the server keeps an answer to repeat it for a retransmitted request.
    Duration answer_retention = Duration::seconds(10);
    // The engine's single timer runs at this period.
    Duration tick = Duration::milliseconds(50);
    std::uint32_t groups_max = 256;       // Groups on the server (create: queue_full).
    std::uint32_t members_max = 64;       // Members of one group (join: queue_full).
    std::uint32_t requests_max = 1024;    // Client requests outstanding on a node.
    std::uint32_t multicasts_max = 1024;  // Multicasts outstanding on a node.
    std::uint32_t answers_max = 4096;     // Remembered answers on the server.
    std::uint32_t seen_max = 65536;       // Remembered message ids on a receiving node.
    std::uint32_t lookups_max = 256;      // Looked-up views on a sender (soonest-expiring dropped).
    std::uint32_t history_max = 16;       // Views kept per group to bring nodes up to date.
    std::uint32_t name_bytes_max = 64;
    std::uint32_t body_bytes_max = 1 << 20;
    // G25: a local member's credit: its multicast deliveries not yet taken by its process.
    // At this many, multicast data to it is neither delivered nor answered until it takes some.
    std::uint32_t member_queue_max = 1024;
};

struct GroupCounters {
    std::uint64_t packets_sent = 0;
    std::uint64_t retransmits = 0;
    std::uint64_t duplicates_dropped = 0;
    std::uint64_t malformed_dropped = 0;
    std::uint64_t views_installed = 0;     // Views this node installed.
    std::uint64_t views_created = 0;       // Views the server made (joins, leaves, removals).
    std::uint64_t suspicions = 0;          // Nodes the failure detector gave up on (server).
    std::uint64_t delivered = 0;           // Multicast copies handed to local members.
    std::uint64_t not_member_dropped = 0;  // Copies for a pid not in this node's view.
    std::uint64_t seen_evicted = 0;        // Message ids forgotten early (seen_max).
    std::uint64_t storage_errors = 0;      // Durable writes that failed (retried).
    std::uint64_t bad_records = 0;         // Stored records that did not decode.
    std::uint64_t groups_dropped = 0;      // Deleted groups whose view this node forgot (G21).
    std::uint64_t address_sends = 0;       // group_data sent to a group address (G22).
    std::uint64_t not_addressed = 0;       // group_data to an address naming no member here.
    std::uint64_t credit_dropped = 0;      // Copies for a member out of credit (G25).
};

}  // namespace herald::proto::group

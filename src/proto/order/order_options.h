// Options (with their bounds) and counters of the ordering engine (docs/ordering.md).
// Layer: proto/order.
#pragma once

#include <cstdint>

#include "core/time.h"

namespace herald::proto::order {

// Deliberate bugs, for the simulator's checker tests only (herald-sim --mutate): each breaks
// one rule so that a checker must catch it (tests/sim/checker_mutation_test.cpp).
struct OrderMutations {
    bool flush_intersection = false;  // O31: the flush keeps only what every survivor holds.
    bool flush_next_view_id = false;  // O32: flush deliveries name the new view, not the old.
    bool no_relay = false;            // O36: ft-atomic receivers do not re-multicast.
};

struct OrderOptions {
    // A message not yet acknowledged (ABCAST: or proposed for) by a member is sent to it again
    // after this long; flush reports are repeated at the same interval.
    Duration retransmit_interval = Duration::milliseconds(100);
    // The engine's single timer runs at this period while it has work (retransmissions, absolute
    // null messages, flushes); an idle engine sets no timer.
    Duration tick = Duration::milliseconds(50);
    // Absolute ordering: the bound on the skew between any two members' clocks (O24). A message
    // whose timestamp is more than this ahead of the receiver's clock is counted as a skew
    // violation (OrderCounters::skew_violations).
    Duration skew_bound = Duration::milliseconds(10);
    // Absolute ordering: a member that receives a data message timestamped beyond its own
    // stream sends a null entry at once (O25), but at most one per this interval; one due
    // sooner is sent when the interval ends. Zero: a null after every such message.
    Duration null_interval_min = Duration::milliseconds(1);
    std::uint32_t groups_max = 256;  // Groups created on a node (on_create: queue_full).
    // Members of one view; a larger view is refused (counted in views_refused).
    std::uint32_t members_max = 64;
    // Own messages of one member not yet acknowledged by every member: a multicast beyond it
    // completes with would_block (O7).
    std::uint32_t send_window_max = 64;
    // Entries of its own stream a member retains (not yet known delivered by every member of
    // the view, O35): a multicast beyond it completes with would_block (O7) until stability
    // reports free some. Entries every member processed and delivered are discarded, so a group
    // streams for ever in one view with memory bounded by this and the windows.
    std::uint32_t retained_max = 4096;
    // Messages of a sender's stream more than this beyond the contiguous prefix are dropped
    // (the sender sends them again).
    std::uint32_t receive_window_max = 1024;
    std::uint32_t name_bytes_max = 64;
    std::uint32_t body_bytes_max = 1 << 20;
    // O37: a local member's credit: its deliveries not yet taken by its process. At this many
    // the member stops delivering and stops taking (and acknowledging) data until it takes some;
    // a flush's deliveries are not held back (a stalled member never holds up a view change).
    std::uint32_t member_queue_max = 1024;
    OrderMutations mutations;  // Simulator checker tests only; all off.
};

struct OrderCounters {
    std::uint64_t packets_sent = 0;
    std::uint64_t retransmits = 0;
    std::uint64_t duplicates_dropped = 0;
    std::uint64_t malformed_dropped = 0;
    std::uint64_t delivered = 0;         // Messages handed to local members.
    std::uint64_t stale_dropped = 0;     // Packets of another view or an unknown member.
    std::uint64_t window_dropped = 0;    // Beyond receive_window_max.
    std::uint64_t views_installed = 0;   // Views installed by local members.
    std::uint64_t views_refused = 0;     // Views over members_max or of unknown groups.
    std::uint64_t flushes = 0;           // Flushes this node coordinated to an outcome.
    std::uint64_t flush_discarded = 0;   // Messages a flush left out (a gap or lost cause).
    std::uint64_t skew_violations = 0;   // Absolute: timestamps beyond skew_bound.
    std::uint64_t stable_discarded = 0;  // Entries freed: delivered by every member (O35).
    std::uint64_t stability_probes = 0;  // order_acks sent asking for a done vector (O35).
    std::uint64_t relays_sent = 0;       // O36: copies of ft-atomic data re-multicast.
    std::uint64_t relayed_first = 0;     // O36: entries first received through a relay.
    std::uint64_t credit_dropped = 0;    // O37: data for a member out of credit, not taken.
    std::uint64_t credit_stalls = 0;     // O37: times a member ran out of credit.
    // O38: first transmissions sent as one order_data to the group's IP multicast or broadcast
    // address (else to the list of member nodes), and target-less order_data no local member
    // took (none of the group in that view here, or only its source).
    std::uint64_t address_sends = 0;
    std::uint64_t unclaimed_dropped = 0;
    // Gauge (set by OrderEngine::counters): stream entries local members hold, not yet stable
    // (O35): received and not delivered, or delivered and kept for a flush.
    std::uint64_t held = 0;
};

}  // namespace herald::proto::order

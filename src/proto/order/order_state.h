// The ordering engine's pure state: per group its mode and latest view, per local member of
// the group an endpoint (its streams of the current view, its own sending state, the
// hold-back queues of each mode, its flush), and the flush coordinator's reports.
// Layer: proto/order.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <span>
#include <tuple>
#include <utility>
#include <vector>

#include "core/bytes.h"
#include "core/time.h"
#include "proto/order/order_messages.h"
#include "proto/order/proposal_table.h"
#include "proto/order/stream_entries.h"

namespace herald::proto::order {

// O11, the lecture's CBCAST test: a message from member i with vector S is deliverable at a
// member with vector R when S[i] = R[i] + 1 and S[j] <= R[j] for every j != i.
[[nodiscard]] inline bool cbcast_deliverable(std::span<const std::uint64_t> s,
                                             std::span<const std::uint64_t> r, std::size_t i) {
    if (s.size() != r.size() || i >= s.size() || s[i] != r[i] + 1) return false;
    for (std::size_t j = 0; j < s.size(); ++j) {
        if (j != i && s[j] > r[j]) return false;
    }
    return true;
}

// O13, the lecture's ABCAST proposal max(Fmax, Pmax) + 1 + i/N, as (integer, i): `fmax` and
// `pmax` are the integer parts of the largest final number seen and of the member's largest
// proposal (DESIGN.md §3.10 (a): the fraction of Fmax is dropped, so numbers stay unique).
[[nodiscard]] inline Number abcast_proposal(std::uint64_t fmax, std::uint64_t pmax,
                                            std::uint32_t index) {
    return Number{std::max(fmax, pmax) + 1, index};
}

// One entry of a sender's stream as a member holds it.
struct Received {
    StreamEntry entry;
    bool delivered = false;  // Data: handed to the local member.
    bool proposed = false;   // ABCAST data: this member proposed `number`.
    bool committed = false;  // ABCAST data: `number` is final.
    Number number;           // ABCAST data: the proposal, then the final number.
};

// One sender's stream of the current view, as one member holds it.
struct Stream {
    // Every entry received in this view and not yet stable, by seq (a ring: no allocation per
    // entry).
    StreamEntries<Received> entries;
    std::uint64_t contiguous = 0;  // Entries 1..contiguous are all received.
    std::uint64_t processed = 0;   // Entries 1..processed went through FIFO processing (O6).
    std::uint64_t delivered = 0;   // CBCAST: R[j], the data messages delivered from it.
    // Entries 1..done are processed here and, if data, delivered (O35: the done vector).
    std::uint64_t done = 0;
    // Entries 1..stable are done at every member of the view, and discarded (O35).
    std::uint64_t stable = 0;
    std::int64_t horizon = std::numeric_limits<std::int64_t>::min();  // Absolute (O25).
};

// A member's own sending state in the current view.
struct Outgoing {
    std::uint64_t next_seq = 1;        // Seq of its next stream entry.
    std::vector<std::uint64_t> acked;  // Per member: cumulative ack of this stream.
    // O9: per member, how many entries the next retransmission round may send it, its
    // progress (its ack plus the ABCAST proposals taken from it) and that progress at the last
    // round: a round without progress halves the burst, one with progress doubles it, so that
    // a receiver that cannot take a full batch (e.g. its reassembly slots are full of
    // fragments) still gets some entries through.
    std::vector<std::uint32_t> burst;
    std::vector<std::uint64_t> proposals_taken;
    std::vector<std::uint64_t> progress_at_round;
    std::int64_t last_timestamp = 0;  // Absolute: the last timestamp of this stream.
    std::int64_t seen_timestamp = 0;  // Absolute: the largest data timestamp received.
    Time next_null;                   // Absolute: the earliest time for the next null (O25).
    // Absolute (O23a): the largest timestamp of the other members' first entries in this view;
    // a joiner's data is timestamped above it.
    std::int64_t start_floor = 0;
    // ABCAST: own data messages still collecting proposals (per member, none yet = nullopt).
    ProposalTable proposals;
    Time next_retransmit;
};

using MessageKey = std::pair<std::uint32_t, std::uint64_t>;                  // (sender index, seq).
using AbcastKey = std::tuple<Number, std::uint32_t, std::uint64_t>;          // O16.
using AbsoluteKey = std::tuple<std::int64_t, std::uint32_t, std::uint64_t>;  // O24.

// A local member of a group.
struct Endpoint {
    Member self;
    View view;  // The installed view (id 0: none yet).
    // Absolute (O23a): it installed this view without an old one, and has not yet received the
    // first entry of every other member's stream in it; its data waits (would_block).
    bool starting = false;
    std::uint32_t index = 0;      // Its place in view.members.
    std::vector<Stream> streams;  // Per member of the view, itself included.
    Outgoing out;
    // Data delivered in this view, in order, after the first delivered_base (whose entries
    // every member delivered: stable, discarded, O35).
    std::deque<MessageKey> delivered_order;
    std::uint64_t delivered_base = 0;
    // O35: per member of the view, its done vector as it last reported it (its own row: this
    // member's own done, per stream).
    std::vector<std::vector<std::uint64_t>> peer_done;
    // O35: per member, the done vector last sent to it (acks carry it only when it changed).
    std::vector<std::vector<std::uint64_t>> done_sent;
    std::vector<std::uint64_t> cbcast_received;  // CBCAST: R, refreshed before each test.
    // O6: per member, an ack of its stream is due at the end of the driver's batch (one
    // cumulative ack per stream per batch, not one per order_data).
    std::vector<std::uint8_t> ack_due;
    // O17: the sequencer's order entries of this batch, appended to its stream at the batch's
    // end (with the acks) rather than one by one as each data message is processed.
    std::vector<MessageKey> orders_due;
    // O15: the commits of this batch (own messages whose proposals all came), appended to its
    // stream at the batch's end as `commits` entries.
    std::vector<Commit> commits_due;
    // O13: per member, its data messages this member proposed for in this batch, sent to it at
    // the batch's end in one order_propose.
    std::vector<std::vector<std::pair<std::uint64_t, Number>>> proposals_due;
    bool batch_listed = false;  // In OrderEngine::batch_ (something above is due).
    // ABCAST (O12-O16).
    std::uint64_t fmax = 0;  // Integer part of the largest final number seen.
    std::uint64_t pmax = 0;  // Integer part of its largest proposal.
    // The hold-back queue by (number, sender, seq), smallest first: a heap in a vector (no
    // allocation per message). A commit pushes the message again under its final number; the
    // key under its proposal stays behind, is recognised as stale (its number is no longer the
    // message's) and dropped when it reaches the top, always before the message's live key
    // (a final number is at least the proposal, O16). So it holds at most two keys per
    // message held back.
    std::priority_queue<AbcastKey, std::vector<AbcastKey>, std::greater<>> abcast_queue;
    // Sequencer (O17-O18): the order entries received, not yet delivered.
    std::deque<MessageKey> order_queue;
    // Absolute (O23-O26): processed, undelivered data by (timestamp, sender, seq).
    std::priority_queue<AbsoluteKey, std::vector<AbsoluteKey>, std::greater<>> absolute_queue;
    // Flush (O27-O32).
    bool flushing = false;
    View pending;             // The view to install once the flush ends.
    std::deque<View> queued;  // Views that came during the flush, installed after it (O29).
    Bytes last_outcome;       // The outcome that installed `view` (O31a), or empty.
    Time next_report;
};

// The flush a node coordinates as the first member of a new view (O29).
struct Coordination {
    View view;  // The new view.
    std::map<Member, FlushReport> reports;
    bool decided = false;
    std::map<std::uint64_t, Bytes> outcomes;  // Per old view of the reporters, once decided.
    // O39: members that answered a query holding nothing of any view before `view` (they
    // installed it or a later one), not waited for; bounded by the view's members.
    std::set<Member> skipped;
    Time next_query;  // O39: when the members it still waits for are asked again.
};

struct GroupState {
    OrderMode mode = OrderMode::fifo;
    View view;                          // The latest view given (on_view).
    std::map<Pid, Endpoint> endpoints;  // Local members, by pid.
    // The flushes it coordinates or coordinated lately, by new view id (the last few).
    std::map<std::uint64_t, Coordination> coordinations;
    std::map<std::uint64_t, View> recent;  // The last views given, by id (the last few).
    // O30: the outcomes of coordinations no longer kept, by (new view id, old view id), oldest
    // first; only those whose new view id is within view_block_ids of the newest coordination,
    // and at most archived_bytes_max bytes of bodies (archive_outcomes).
    std::map<std::pair<std::uint64_t, std::uint64_t>, Bytes> archived;
    std::size_t archived_bytes = 0;
    // O39: the runs of view ids this node skipped (given a view more than one above the one
    // before: a group_reset), first and last id of each, the last few, oldest first.
    std::deque<std::pair<std::uint64_t, std::uint64_t>> skips;
};

// Entries sent again to one member per retransmission round at most (O9): a full send window
// and then some.
inline constexpr std::uint32_t retransmit_burst_max = 128;

// Views and coordinations a group remembers (a flush may end after later views came).
inline constexpr std::size_t recent_views_max = 8;

// O30: bytes of outcome bodies a group keeps from the coordinations it no longer keeps; the
// oldest (lowest new view id) go first when more would be kept, and a body larger than all of
// it is not kept.
inline constexpr std::size_t archived_bytes_max = std::size_t{1} << 20;

// View ids fall in blocks of this many (id / view_block_ids). A flushing member queues a view
// behind its pending view only in the pending view's block (so at most 63 queued); a view of a
// later block, although it keeps every member, redirects the flush (O29). The test reads ids
// only, not how many views this node queued: members whose nodes were given different views
// (a reset skipped some, O39) or whose outcomes came at different times redirect at the same
// ids.
inline constexpr std::uint64_t view_block_ids = 64;

}  // namespace herald::proto::order

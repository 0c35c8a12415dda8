// Checkers: properties every protocol promises, stated over a History. Reusable by every
// scenario; each returns the violations it found (empty = the property held). Layer: sim.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"
#include "sim/history.h"

namespace herald::sim {

struct Violation {
    std::string_view checker;  // "no_loss", "no_duplicates", ...; static storage.
    Time at;                   // When the violation became visible (for ordering reports).
    std::string description;
};

// No loss of what was promised:
// - an operation with Promise::delivered that completed ok has a delivery of its payload to
//   its peer at or before the completion;
// - one with Promise::accepted that completed ok is delivered to its peer, unless the peer's
//   node crashed after the operation started;
// - a must_succeed operation's payload is delivered (whatever its promise), unless it was
//   refused by back-pressure (queue_full, would_block: the workload retries), or it went to a
//   node that restarted before the actor's node heard from the new incarnation and it failed
//   with peer_restarted (or, non-blocking, completed ok before that was known).
[[nodiscard]] std::vector<Violation> check_no_loss(const History& history);

// Whether a must_succeed operation that failed, or was never delivered, is excused: refused
// by back-pressure (queue_full, would_block), or sent to a node that restarted before the
// actor's node heard from the new incarnation, failing with peer_restarted (or, non-blocking,
// dropped). Workloads use it to know which liveness sends still need to arrive.
[[nodiscard]] bool excused(const History& history, const OperationRecord& op);

// Integrity and no duplicate delivery: each payload is delivered at most once, only to the
// peer it was sent to, and only payloads that were sent.
[[nodiscard]] std::vector<Violation> check_no_duplicates(const History& history);

// Per-sender FIFO: among the payloads from one actor (one incarnation of its node) to one peer
// that were delivered within one incarnation of the peer's node, delivery order equals start
// order. A payload whose send failed may be missing; the order of the rest must hold.
[[nodiscard]] std::vector<Violation> check_fifo(const History& history);

// Exactly-once execution: each request id is executed at most once (across server restarts).
[[nodiscard]] std::vector<Violation> check_exactly_once(const History& history);

// Engine invariants (Engine::check_invariants after every input): each finding recorded.
[[nodiscard]] std::vector<Violation> check_invariants(const History& history);

// Well-formed operations: every completion names a started operation, and each operation
// completes at most once.
[[nodiscard]] std::vector<Violation> check_operations(const History& history);

// Liveness once faults stop: every operation that was not abandoned completes, those started
// before the liveness phase by liveness_start + bound, the others within `bound` of their
// start; must_succeed operations complete ok (with the excuses of check_no_loss).
// `end` is when the run stopped.
[[nodiscard]] std::vector<Violation> check_liveness(const History& history, Duration bound,
                                                    Time end);

// All of the above, in a stable order.
[[nodiscard]] std::vector<Violation> check_all(const History& history, Duration bound, Time end);

}  // namespace herald::sim

// Runs one system of one cell as a pair of separate processes (server, then client with the
// server's endpoint) and turns their result lines into figures. Layer: bench (driver).
#pragma once

#include <map>
#include <string>

#include "bench/common/peer.h"
#include "bench/herald-bench/plan.h"
#include "core/result.h"

namespace herald::bench {

// Named figures of one run: p50_us, p99_us, p999_us (latency); msgs_per_s, mb_per_s,
// delivered (stream); calls_per_s (window); rss_mib and per-item figures (memory).
using Figures = std::map<std::string, double>;

// Figures from the peers' result fields. Errc::malformed when an expected field is missing
// or not a number.
[[nodiscard]] Result<Figures> figures_from(Pattern pattern, const Fields& server,
                                           const Fields& client);

// Starts `run.binary` from `peer_dir` as server in a fresh temporary directory, waits for its
// ready line, starts the client, collects the results, and stops both, each step with a
// deadline. Errc::not_found when the binary is missing; Errc::timeout, Errc::closed (a peer
// exited early; its stderr says why) or Errc::malformed otherwise.
[[nodiscard]] Result<Figures> run_system(const std::string& peer_dir, const SystemRun& run);

}  // namespace herald::bench

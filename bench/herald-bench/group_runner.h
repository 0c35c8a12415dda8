// Runs one system of a group row (mcast, mcast-lat): N member processes, one per network
// namespace of the testbed when there is one (else on loopback), driven through their stdin
// ("peers ...", "go"), and turns their result lines into the row's figures. Layer: bench
// (driver).
#pragma once

#include <memory>
#include <string>

#include "bench/herald-bench/plan.h"
#include "bench/herald-bench/runner.h"
#include "bench/herald-bench/testbed.h"

namespace herald::bench {

// Where the group rows run, made once per herald-bench run.
class GroupSite {
public:
    // Makes the testbed for groups of up to `members_max` when it can; without it Herald's
    // members run on loopback and the cpg column is skipped (skip_reason says why).
    explicit GroupSite(std::uint32_t members_max);
    // Why `key` cannot run here ("" when it can): only "cpg" ever is, without namespaces.
    [[nodiscard]] std::string skip_reason(const std::string& key) const;
    [[nodiscard]] const Testbed* testbed() const { return testbed_.get(); }
    // The Corosync cluster of `members` daemons, started when the last one had another size.
    // Errors of CorosyncCluster::start, and Errc::closed when a daemon died.
    Result<CorosyncCluster*> cluster(std::uint32_t members);

private:
    std::unique_ptr<Testbed> testbed_;
    std::string testbed_error_;
    std::unique_ptr<CorosyncCluster> cluster_;
};

// One run: starts the members (rank 0 first: its node hosts the group server and creates the
// group; the others get its URL), tells each every member's endpoint, waits until each reports
// the full group ("joined"), says "go", collects every member's result, and stops them; each
// step with a deadline. Figures: msgs_per_s at the slowest member and lost (most lost at any
// member) for mcast; p50_us, p99_us over every member's samples for paced. Errc::not_found
// (binary missing), timeout (also: a member did not receive every sender's end marker),
// closed (a member exited: its stderr says why), malformed.
[[nodiscard]] Result<Figures> run_group_system(const std::string& peer_dir, const Cell& cell,
                                               const SystemRun& run, GroupSite& site);

}  // namespace herald::bench

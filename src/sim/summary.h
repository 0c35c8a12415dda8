// Summary of many runs (a seed range): totals, failing seeds with their replay lines, which
// buggify modes were on and which probes were reached. Shared by herald-sim and the tests.
// Layer: sim.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sim/scenario.h"

namespace herald::sim {

struct ProbeCount {
    std::uint64_t seeds = 0;  // Runs that reached it.
    std::uint64_t hits = 0;
};

struct FailedRun {
    std::uint64_t seed = 0;
    std::string replay;
    std::vector<Violation> violations;
};

class Summary {
public:
    void add(const RunReport& report);

    [[nodiscard]] std::uint64_t runs() const { return runs_; }
    [[nodiscard]] const RunStats& totals() const { return totals_; }
    [[nodiscard]] Duration virtual_time() const { return virtual_time_; }
    [[nodiscard]] const std::vector<FailedRun>& failed() const { return failed_; }
    [[nodiscard]] const std::map<std::string, std::uint64_t>& buggify() const { return buggify_; }
    [[nodiscard]] const std::map<std::string, ProbeCount>& probes() const { return probes_; }

    // Human-readable report: totals, buggify modes, probes, then every violation with the
    // line that replays it.
    [[nodiscard]] std::string text() const;

private:
    std::uint64_t runs_ = 0;
    RunStats totals_;
    Duration virtual_time_;
    std::vector<FailedRun> failed_;
    std::map<std::string, std::uint64_t> buggify_;  // mode -> seeds it was on
    std::map<std::string, ProbeCount> probes_;
};

}  // namespace herald::sim

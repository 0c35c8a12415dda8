// Summary aggregation and text. Layer: sim.
#include "sim/summary.h"

#include "sim/trace.h"

namespace herald::sim {

void Summary::add(const RunReport& r) {
    ++runs_;
    const RunStats& s = r.stats;
    RunStats& t = totals_;
    t.operations += s.operations;
    t.completed_ok += s.completed_ok;
    t.failed += s.failed;
    t.abandoned += s.abandoned;
    for (const auto& [name, n] : s.failures) t.failures[name] += n;
    t.deliveries += s.deliveries;
    t.packets_sent += s.packets_sent;
    t.packets_delivered += s.packets_delivered;
    t.packets_lost += s.packets_lost;
    t.packets_partitioned += s.packets_partitioned;
    t.packets_duplicated += s.packets_duplicated;
    t.retransmits += s.retransmits;
    t.duplicates_dropped += s.duplicates_dropped;
    t.malformed_dropped += s.malformed_dropped;
    t.crashes += s.crashes;
    t.events += s.events;
    virtual_time_ += s.virtual_end - Time::zero();
    for (const auto& mode : r.buggify) ++buggify_[mode];
    for (const auto& [name, hits] : r.probes) {
        auto& p = probes_[name];
        ++p.seeds;
        p.hits += hits;
    }
    if (!r.clean()) failed_.push_back({r.seed, r.replay, r.violations});
}

std::string Summary::text() const {
    const RunStats& t = totals_;
    std::string out =
        std::to_string(runs_) + " run(s), " + std::to_string(failed_.size()) + " with violations\n";
    out += "  operations " + std::to_string(t.operations) + ": ok " +
           std::to_string(t.completed_ok) + ", failed " + std::to_string(t.failed);
    std::string reasons;
    for (const auto& [name, n] : t.failures) {
        reasons += (reasons.empty() ? "" : ", ") + name + " " + std::to_string(n);
    }
    if (!reasons.empty()) out += " (" + reasons + ")";
    out += ", abandoned by a crash " + std::to_string(t.abandoned) + "\n";
    out += "  deliveries " + std::to_string(t.deliveries) + ", retransmits " +
           std::to_string(t.retransmits) + ", duplicates dropped " +
           std::to_string(t.duplicates_dropped) + ", malformed dropped " +
           std::to_string(t.malformed_dropped) + ", crashes " + std::to_string(t.crashes) + "\n";
    out += "  packets sent " + std::to_string(t.packets_sent) + ", delivered " +
           std::to_string(t.packets_delivered) + ", lost " + std::to_string(t.packets_lost) +
           ", partitioned " + std::to_string(t.packets_partitioned) + ", duplicated " +
           std::to_string(t.packets_duplicated) + "\n";
    out += "  virtual time " + format_time(Time::zero() + virtual_time_) + " s, events " +
           std::to_string(t.events) + "\n";
    out += "  buggify:";
    if (buggify_.empty()) out += " none";
    for (const auto& [mode, seeds] : buggify_)
        out += " " + mode + "(" + std::to_string(seeds) + ")";
    out += "\n  probes reached:";
    if (probes_.empty()) out += " none";
    for (const auto& [name, p] : probes_) {
        out += " " + name + "(" + std::to_string(p.seeds) + " seeds, " + std::to_string(p.hits) +
               " hits)";
    }
    out += "\n";
    for (const auto& f : failed_) {
        out += "seed " + std::to_string(f.seed) + ": " + std::to_string(f.violations.size()) +
               " violation(s)\n";
        for (const auto& v : f.violations) {
            out += "  [" + std::string(v.checker) + "] " + format_time(v.at) + " " + v.description +
                   "\n";
        }
        out += "  replay: " + f.replay + "\n";
    }
    return out;
}

}  // namespace herald::sim

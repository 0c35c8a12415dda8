// The "migrate" scenario as a ScenarioSpec: the direct engine (with buggify) on every node,
// the migrate workload, the planned partitions and clogs, and crashes chosen by the workload
// (never the mobile process's host: a process dies with its node, and then no promise to it
// holds). Layer: sim.
#include "sim/migrate_scenario.h"

#include <memory>

#include "sim/direct_scenario.h"
#include "sim/engines.h"
#include "sim/migrate_workload.h"
#include "sim/scenario_spec.h"
#include "sim/streams.h"

namespace herald::sim {

RunReport run_migrate_scenario(const ScenarioOptions& o, std::uint64_t seed) {
    Buggify buggify(seed, o.buggify);
    ScenarioSpec spec = base_spec("migrate", o, buggify);
    spec.engines = {direct_engine(direct_engine_options(o, buggify))};
    spec.faults.crashes = 0;  // The workload picks the victims (schedule_crashes).
    MigrateWorkload* workload = nullptr;
    MigrateWorkloadOptions w;
    w.messages = o.messages;
    w.liveness_messages = o.liveness_messages;
    w.safety = o.safety;
    spec.workloads = {[w, &workload](Simulation& sim, const std::vector<std::size_t>& slots,
                                     Random random) -> std::unique_ptr<ScenarioWorkload> {
        auto made = std::make_unique<MigrateWorkload>(sim, slots.at(0), w, std::move(random));
        workload = made.get();
        return made;
    }};
    const std::uint32_t crashes = o.crashes;
    spec.extra_faults = [&workload, crashes](Simulation&, Random& random) {
        workload->schedule_crashes(crashes, random);
    };
    return run_spec(o, seed, spec, buggify);
}

}  // namespace herald::sim

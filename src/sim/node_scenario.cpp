// The "node" scenario as a ScenarioSpec: the direct and RPC specs' engines and workloads on
// the same nodes. Layer: sim.
#include "sim/node_scenario.h"

#include "sim/buggify.h"
#include "sim/direct_scenario.h"
#include "sim/engines.h"
#include "sim/rpc_scenario.h"
#include "sim/scenario_spec.h"

namespace herald::sim {

RunReport run_node_scenario(const ScenarioOptions& o, std::uint64_t seed) {
    Buggify buggify(seed, o.buggify);
    ScenarioSpec spec = base_spec("node", o, buggify);
    spec.engines = {direct_engine(direct_engine_options(o, buggify)),
                    rpc_engine(rpc_engine_options(o, buggify))};
    spec.workloads = {direct_workload(o, buggify, 0), rpc_workload(o, buggify, 1)};
    spec.faults.wipe = 0.0;  // A wiped disk loses the reply cache: no promise holds then.
    return run_spec(o, seed, spec, buggify);
}

}  // namespace herald::sim

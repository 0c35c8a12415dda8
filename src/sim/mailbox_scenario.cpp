// The "mailbox" scenario as a ScenarioSpec: every node hosts the mailbox engine; the mailbox
// workload; partitions from the plan and crashes of the host node, never with a wiped disk
// (a persistent mailbox promises nothing once its disk is gone). Layer: sim.
#include "sim/mailbox_scenario.h"

#include "sim/board_workload.h"
#include "sim/buggify.h"
#include "sim/engines.h"
#include "sim/mailbox_workload.h"
#include "sim/scenario_spec.h"

namespace herald::sim {

RunReport run_mailbox_scenario(const ScenarioOptions& o, std::uint64_t seed) {
    Buggify buggify(seed, o.buggify);
    ScenarioSpec spec = base_spec(o.scenario, o, buggify);
    proto::mailbox::MailboxOptions m;
    // Short lease and timeouts so that redelivery and give-ups happen within a run.
    m.lease = Duration::milliseconds(800);
    m.request_timeout = Duration::seconds(2);
    m.answer_retention = Duration::seconds(4);
    m.retransmit_interval = Duration::milliseconds(100);
    for (const auto& mutation : o.mutations) {
        if (mutation == "board_cursor_stays") m.mutations.board_cursor_stays = true;
        if (mutation == "board_missed_unreported") m.mutations.board_missed_unreported = true;
    }
    spec.engines = {mailbox_engine(m)};
    MailboxWorkloadOptions w;
    w.senders = o.processes;
    w.messages = o.messages;
    w.liveness_messages = o.liveness_messages;
    BoardWorkloadOptions b;
    b.posters = o.processes;
    b.posts = o.messages;
    b.liveness_posts = o.liveness_messages;
    spec.workloads = {
        [w](Simulation& sim, const std::vector<std::size_t>& slots,
            Random random) -> std::unique_ptr<ScenarioWorkload> {
            return std::make_unique<MailboxWorkload>(sim, slots.at(0), w, std::move(random));
        },
        // Bulletin boards on the same host (docs/boards.md).
        [b](Simulation& sim, const std::vector<std::size_t>& slots,
            Random random) -> std::unique_ptr<ScenarioWorkload> {
            return std::make_unique<BoardWorkload>(sim, slots.at(0), b, std::move(random));
        }};
    spec.faults.crashes = 0;  // The host's crashes below, never with a wiped disk.
    spec.faults.wipe = 0.0;
    spec.extra_faults = [&o](Simulation& sim, Random& random) {
        schedule_node1_crashes(sim, o, random);
    };
    return run_spec(o, seed, spec, buggify);
}

}  // namespace herald::sim

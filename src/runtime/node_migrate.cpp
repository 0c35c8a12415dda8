// Node: process migration (docs/migration.md) — moving a hosted process away with its queue
// and state, and hosting one that arrives. Layer: runtime.
#include "core/assert.h"
#include "core/result.h"
#include "runtime/node.h"

namespace herald::runtime {

Status Node::migrate(const std::shared_ptr<ProcessState>& process, NodeId to, Bytes state) {
    if (!process) return fail(Errc::invalid_argument, "no process");
    if (!to.known()) return fail(Errc::invalid_argument, "invalid target node");
    const Pid pid = process->pid();
    auto moved = run_blocking<proto::direct::DirectEngine>(
        direct_slot_,
        [this, process, pid, to, state = std::move(state)](auto& direct, proto::OperationId op,
                                                           Time at, proto::Effects& out) mutable {
            // Its sends still in the ring go first: in flight, they make the move wait.
            if (SendRing* ring = process->send_ring_if_made()) {
                take_ring(*ring);
                feed_sends(direct, at, out);
            }
            // Taken on the loop, so nothing is delivered between the take and the freeze; what
            // the loop delivered and has not handed over yet goes with it.
            hand_deliveries();
            std::vector<Message> queued =
                hosted(pid) == process ? process->take_all() : std::vector<Message>{};
            direct.on_migrate(op, pid, to, std::move(queued), std::move(state), at, out);
        });
    if (!moved) return tl::make_unexpected(moved.error());
    // The process lives at `to` now: this handle ends here (receives return closed), without
    // telling the engine (it has forgotten the process already).
    return on_loop<Status>("migrate()", [this, process, pid]() -> Status {
        process->close();
        if (pid.node == id_) {
            processes_.erase(pid.local);
        } else {
            migrated_.erase(pid);
        }
        if (!process->name().empty()) {
            std::lock_guard lock(names_mutex_);
            names_.erase(process->name());
        }
        return {};
    });
}

void Node::set_arrival_handler(ArrivalHandler handler) {
    static_cast<void>(on_loop<Status>("set_arrival_handler()", [this, &handler]() -> Status {
        arrival_handler_ = std::move(handler);
        return {};
    }));
}

Status Node::locate(Pid pid, NodeId node) {
    if (!pid.valid() || !node.known()) return fail(Errc::invalid_argument, "invalid pid or node");
    HERALD_TRY(reserve_command());
    if (!loop_.post([this, pid, node] {
            release_command();
            if (shut_down_) return;
            run<proto::direct::DirectEngine>(direct_slot_, [&](auto& direct, proto::Effects& out) {
                direct.on_location(pid, node, now(), out);
            });
        })) {
        release_command();
        return fail(Errc::closed, "node stopped");
    }
    return {};
}

ProcessState* Node::hosted_pointer(Pid pid) const {
    if (pid.node == id_) {
        auto it = processes_.find(pid.local);
        return it == processes_.end() ? nullptr : it->second.get();
    }
    auto it = migrated_.find(pid);
    return it == migrated_.end() ? nullptr : it->second.get();
}

std::shared_ptr<ProcessState> Node::hosted(Pid pid) const {
    if (pid.node == id_) {
        auto it = processes_.find(pid.local);
        return it == processes_.end() ? nullptr : it->second;
    }
    auto it = migrated_.find(pid);
    return it == migrated_.end() ? nullptr : it->second;
}

void Node::arrive(Pid pid, Bytes state) {
    auto options = direct_->options_of(pid);
    HERALD_ASSERT(options.has_value());  // The engine installed it just before telling us.
    auto process = std::make_shared<ProcessState>(pid, std::string{}, *options);
    if (pid.node == id_) {
        processes_[pid.local] = process;  // Back home.
    } else {
        migrated_[pid] = process;
    }
    if (arrival_handler_) upcall(arrival_handler_, process, std::move(state));
}

}  // namespace herald::runtime

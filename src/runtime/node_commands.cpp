// Node: the application-thread side of processes, sends and receives, and the loop-thread
// commands they post. Layer: runtime.
#include <chrono>
#include <future>

#include "core/assert.h"
#include "runtime/name_backend.h"
#include "runtime/node.h"
#include "runtime/node_group_service.h"
#include "runtime/node_rpc.h"

namespace herald::runtime {

namespace {

constexpr std::uint32_t queue_limit_max = 1u << 20;
constexpr std::size_t name_bytes_max = 255;

}  // namespace

Result<std::shared_ptr<ProcessState>> Node::spawn(const ProcessConfig& config) {
    if (config.local_id >= local_id_dynamic_min) {
        return fail(Errc::invalid_argument, "well-known local id must be below 2^32");
    }
    if (config.engine.queue_limit == 0 || config.engine.queue_limit > queue_limit_max) {
        return fail(Errc::invalid_argument, "queue_limit must be in [1, 2^20]");
    }
    if (config.name.size() > name_bytes_max) {
        return fail(Errc::invalid_argument, "process name longer than 255 bytes");
    }
    using Spawned = Result<std::shared_ptr<ProcessState>>;
    return on_loop<Spawned>("spawn()", [this, config]() -> Spawned {
        if (shut_down_ || draining_) return fail(Errc::closed, "node stopped");
        return start_process(config);
    });
}

Result<std::shared_ptr<ProcessState>> Node::start_process(const ProcessConfig& config) {
    if (processes_.size() >= config_.processes_max) {
        return fail(Errc::queue_full, "processes_max processes are running");
    }
    std::uint64_t local = config.local_id;
    if (local == 0) {
        if (dynamic_next_ >= (std::uint64_t{1} << 32)) {
            return fail(Errc::queue_full, "dynamic local ids of this incarnation exhausted");
        }
        local = std::uint64_t{incarnation_} << 32 | dynamic_next_++;
    } else if (processes_.contains(local)) {
        return fail(Errc::already_exists, "local id " + std::to_string(local) + " is taken");
    }
    const Pid pid{id_, local};
    if (!config.name.empty()) {
        std::lock_guard lock(names_mutex_);
        if (!names_.try_emplace(config.name, pid).second) {
            return fail(Errc::already_exists, "name '" + config.name + "' is taken");
        }
    }
    auto process = std::make_shared<ProcessState>(pid, config.name, config.engine);
    processes_.emplace(local, process);
    const Time t = now();
    run<proto::direct::DirectEngine>(direct_slot_, [&](auto& direct, proto::Effects& out) {
        direct.on_spawn(pid, config.engine, t, out);
    });
    return process;
}

void Node::exit(const std::shared_ptr<ProcessState>& process) {
    process->close();  // Wakes a receiver of this process at once.
    if (!loop_.post([this, process] { end_process(process); })) return;
}

void Node::end_process(const std::shared_ptr<ProcessState>& process) {
    if (shut_down_) return;
    // Sends it made before it exited reach the engine first, as they would have (the loop may
    // not have taken its ring yet); its engine exit then completes those still pending.
    if (SendRing* ring = process->send_ring_if_made()) {
        take_ring(*ring);
        hand_sends();
    }
    if (process->pid().node != id_) {  // Migrated here.
        auto it = migrated_.find(process->pid());
        if (it == migrated_.end() || it->second != process) return;
        migrated_.erase(it);
    } else {
        auto it = processes_.find(process->pid().local);
        if (it == processes_.end() || it->second != process) return;
        processes_.erase(it);
    }
    if (!process->name().empty()) {
        std::lock_guard lock(names_mutex_);
        names_.erase(process->name());
    }
    if (process->async_receiver) {
        auto done = std::move(process->async_receiver);
        process->async_receiver = nullptr;
        upcall(done, fail(Errc::closed, "process exited"));
    }
    const Time t = now();
    HERALD_ASSERT(effects_.empty());
    engines_->on_process_exited(process->pid(), t, effects_);
    carry_out(t);
    rpc_->on_process_exited(process->pid(), t);
    naming_->on_process_exited(process->pid(), t);  // The etcd backend's held names.
    if (group_service_) group_service_->on_process_exited(process->pid(), t);
}

Result<Pid> Node::whereis(std::string_view name) const {
    std::lock_guard lock(names_mutex_);
    auto it = names_.find(std::string(name));
    if (it == names_.end()) {
        return fail(Errc::not_found, "no process named '" + std::string(name) + "'");
    }
    return it->second;
}

Result<bool> Node::is_local_peer(NodeId node) {
    return on_loop<Result<bool>>("is_local_peer()", [this, node]() -> Result<bool> {
        if (node == id_) return true;
        const Endpoint* endpoint = peers_.find(node);
        return endpoint != nullptr && is_local(*endpoint);
    });
}

Status Node::add_peer(NodeId node, const Endpoint& endpoint) {
    if (!node.known()) return fail(Errc::invalid_argument, "node id 0");
    HERALD_TRY(reserve_command());
    if (!loop_.post([this, node, endpoint] {
            release_command();
            if (!shut_down_) peers_.learn(node, endpoint, now());
        })) {
        release_command();
        return fail(Errc::closed, "node stopped");
    }
    return {};
}

}  // namespace herald::runtime

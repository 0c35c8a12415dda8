// Daemon: what heraldd runs — a Node built from the config, its data folder (locked), and the
// built-in services. start() brings it up; shutdown() drains and stops it. Layer: apps.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "admin_protocol.h"
#include "config.h"
#include "counter_service.h"
#include "herald/node.h"
#include "services.h"

namespace herald::daemon {

class Daemon {
public:
    // Creates and locks config.data_dir, starts the node on config.listen and the services.
    // Errc::invalid_argument (an option the node refuses), io_error (bind failed, data folder
    // not writable), already_exists (another heraldd holds the data folder).
    [[nodiscard]] static Result<std::unique_ptr<Daemon>> start(const DaemonConfig& config);
    ~Daemon();  // shutdown().
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    [[nodiscard]] NodeId id() const { return node_->id(); }
    [[nodiscard]] std::uint32_t incarnation() const { return node_->incarnation(); }
    [[nodiscard]] std::string listen_url() const { return node_->listen_url(); }

    // The answer to an admin status request. Any thread.
    [[nodiscard]] admin::Reply status() const;

    // Clean shutdown that loses no accepted message: the node stops acknowledging messages from
    // other nodes, each service handles what its inbox holds and ends, then the node waits up
    // to shutdown_drain_ms for in-flight replies to be acknowledged and closes.
    // Logs the final counters. Blocks. Idempotent. Call from the thread that called start().
    void shutdown();

private:
    Daemon(DaemonConfig config, int lock_fd);
    Status start_services();
    Status start_counter();
    Status add_service(const ServiceSpec& spec, std::function<ServiceHandler(Service&)> make);
    // The admin ops the daemon answers itself: spawn and migrate an echo worker.
    bool daemon_op(const admin::Request& request, admin::Reply& reply);
    Status spawn_worker(admin::Reply& reply);
    Status migrate_worker(const admin::Request& request, admin::Reply& reply);
    // A process that migrated here: an echo worker serves again; anything else exits.
    void on_arrival(Process process, Bytes state);
    Status adopt_worker(Process process);

    DaemonConfig config_;
    int lock_fd_ = -1;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::unique_ptr<Node> node_;
    mutable std::mutex services_mutex_;  // Guards the vector while services are added.
    std::vector<std::unique_ptr<Service>> services_;
    std::unique_ptr<CounterService> counter_;  // The RPC counter (counter_service.h).
    // Echo workers (admin op spawn, or arrived by migration): at most workers_max; guarded by
    // services_mutex_. None are added once shutdown has begun.
    std::vector<std::unique_ptr<Service>> workers_;
    bool workers_closed_ = false;
    bool shut_down_ = false;
};

}  // namespace herald::daemon

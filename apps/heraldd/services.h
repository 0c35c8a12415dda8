// heraldd's built-in services: each is a hosted process with a well-known local id and name,
// served by its own thread. `echo` returns every message's body to its sender; `node` (admin)
// answers status and whereis requests (admin_protocol.h). Layer: apps.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "admin_protocol.h"
#include "herald/node.h"
#include "herald/process.h"

namespace herald::daemon {

// Counters of one service, shared with its reply callbacks (which run on the node's loop
// thread and may outlive the service object until the node stops).
struct ServiceCounters {
    std::atomic<std::uint64_t> handled{0};
    std::atomic<std::uint64_t> replies_failed{0};
};

struct ServiceSpec {
    std::string kind;  // "admin", "echo": shown by status.
    std::string name;  // Registered on the node.
    std::uint64_t local_id = 0;
    std::uint32_t queue_limit = 1024;
};

// Handles one message on the service thread; `self` is the service's process (to reply).
using ServiceHandler = std::function<void(Process& self, Envelope&& message)>;

class Service {
public:
    // Spawns the process (errors of Node::spawn; Errc::io_error when no eventfd can be made)
    // and starts its thread, which hands each message to `handler`.
    [[nodiscard]] static Result<std::unique_ptr<Service>> start(
        Node& node, const ServiceSpec& spec, std::function<ServiceHandler(Service&)> make);
    // The same for a process that exists already (one that migrated here: Node::on_arrival).
    // Does not block on the node's loop, so it may run in the arrival handler.
    [[nodiscard]] static Result<std::unique_ptr<Service>> adopt(
        Process process, const ServiceSpec& spec, std::function<ServiceHandler(Service&)> make);
    ~Service();  // stop().
    Service(const Service&) = delete;
    Service& operator=(const Service&) = delete;

    // Tells the thread to handle what is queued (until the inbox is empty) and end; joins it.
    // Blocks. Idempotent. Call from the thread that started the service.
    void stop();

    // Moves the service's process to node `to` (Process::migrate) with `state`: the thread
    // stops without handling what is queued (the queue travels), and the move is tried again
    // while it is refused would_block (replies in flight) until `deadline`. On success the
    // service is over (its process lives at `to`); on failure the thread serves again and the
    // error is Process::migrate's. Blocks; call from a thread other than the service's.
    [[nodiscard]] Status move_to(NodeId to, ByteView state,
                                 std::chrono::steady_clock::time_point deadline);

    [[nodiscard]] Pid pid() const { return pid_; }
    [[nodiscard]] admin::ProcessInfo info() const;
    [[nodiscard]] const std::shared_ptr<ServiceCounters>& counters() const { return counters_; }

    // Makes the service's process also serve the RPC operation `operation` (herald/rpc.h). Its
    // handler runs on the node's handler threads, not on the service thread; serve() touches
    // only the process's identity, so it may be called while the service thread runs.
    // Errors of Process::serve.
    [[nodiscard]] Status serve(std::string operation, Handler handler,
                               const ServeOptions& options = {}) {
        return process_.serve(std::move(operation), std::move(handler), options);
    }

    // Sends `body` back to `to` without blocking the service thread; a failure (the sender has
    // gone, the node is stopping) is counted in replies_failed and logged at debug level.
    void reply(Process& self, Pid to, Bytes body);

private:
    Service(ServiceSpec spec, Process process, int stop_fd, int notify_fd);
    void run();
    void signal_stop();

    ServiceSpec spec_;
    Process process_;
    Pid pid_;
    int stop_fd_ = -1;                  // eventfd written by stop().
    int notify_fd_ = -1;                // The process's (not owned).
    std::atomic<bool> leaving_{false};  // Set by move_to before it stops the thread: no drain.
    std::shared_ptr<ServiceCounters> counters_ = std::make_shared<ServiceCounters>();
    ServiceHandler handler_;
    std::thread thread_;
};

// The echo handler: replies with the same body to the sender.
[[nodiscard]] ServiceHandler echo_handler(Service& service);

// Who the admin service answers (DaemonConfig::admin_access, docs/admin.md "Access").
enum class AdminAccess : std::uint8_t {
    local,        // Callers whose node is on this host (Node::is_local_peer).
    key_holders,  // Every caller: the node drops packets without the cluster key.
    anyone,
};

// The admin handler: `status` builds the answer to a status request (called on the admin
// service thread); whereis is answered from the node's name table. A caller `access` does not
// admit is answered access_denied and logged (event admin_refused).
// The ops the daemon answers itself (spawn, migrate: its echo workers); false when `request`
// is not one of them.
using DaemonOps = std::function<bool(const admin::Request& request, admin::Reply& reply)>;

[[nodiscard]] ServiceHandler admin_handler(Service& service, Node& node, AdminAccess access,
                                           std::function<admin::Reply()> status,
                                           DaemonOps daemon_ops);

}  // namespace herald::daemon

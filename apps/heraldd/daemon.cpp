// Daemon: start-up (data folder, node, services), status and clean shutdown. Layer: apps.
#include "daemon.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "core/result.h"  // HERALD_TRY
#include "log.h"

#ifndef HERALD_VERSION
#define HERALD_VERSION "unknown"
#endif

namespace herald::daemon {
namespace {

std::string system_error(std::string_view what, const std::string& path) {
    return std::string(what) + " '" + path + "': " + std::strerror(errno);
}

// Creates `dir` and takes an exclusive lock on dir/heraldd.lock for the daemon's life, so two
// daemons never share durable state. The lock file holds the owner's OS pid, for the message.
Result<int> lock_data_dir(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        return fail(Errc::io_error, "cannot create data_dir '" + dir + "': " + ec.message());
    }
    const std::string path = (std::filesystem::path(dir) / "heraldd.lock").string();
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return fail(Errc::io_error, system_error("cannot open", path));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char owner[32] = {};
        const auto n = ::pread(fd, owner, sizeof owner - 1, 0);
        ::close(fd);
        return fail(Errc::already_exists,
                    "data_dir '" + dir + "' is in use by another heraldd (OS pid " +
                        std::string(owner, n > 0 ? static_cast<std::size_t>(n) : 0) + ")");
    }
    const std::string pid = std::to_string(::getpid());
    if (::ftruncate(fd, 0) != 0 ||
        ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
        const auto error = system_error("cannot write", path);
        ::close(fd);
        return fail(Errc::io_error, error);
    }
    return fd;
}

NodeOptions node_options(const DaemonConfig& config) {
    NodeOptions options;
    options.listen = config.listen;
    if (!config.node_id.empty()) {
        if (auto id = parse_node_id(config.node_id)) options.id = *id;  // Validated before.
    }
    options.faults = config.faults;
    options.faults_from_env = false;  // The config file is the one place faults come from.
    options.message_bytes_max = config.message_bytes_max;
    options.datagram_bytes_max = config.datagram_bytes_max;
    options.durable_poll = std::chrono::microseconds(config.durable_poll_us);
    options.drain_timeout = std::chrono::milliseconds(config.shutdown_drain_ms);
    // The exactly-once reply cache and the counter's value live in data_dir/herald.db.
    options.data_dir = config.data_dir;
    options.key_file = config.key_file;
    options.encrypt = config.encrypt;
    options.rpc.durable = true;
    options.naming.server = config.naming_server;
    options.naming.server_url = config.naming_server_url;
    options.naming.dead_after = std::chrono::milliseconds(config.naming_dead_after_ms);
    options.naming.cache_ttl = std::chrono::milliseconds(config.naming_cache_ttl_ms);
    options.groups.server = config.groups_server;
    options.groups.server_url = config.groups_server_url;
    options.groups.broadcast = config.groups_broadcast;
    options.groups.heartbeat_interval = std::chrono::milliseconds(config.groups_heartbeat_ms);
    options.groups.suspicion_timeout = std::chrono::milliseconds(config.groups_suspicion_ms);
    options.groups.member_queue_max = config.groups_member_queue_max;
    if (config.coordination == "etcd") {  // Names and groups in etcd: no servers.
        auto& c = options.coordination;
        c.backend = Coordination::etcd;
        c.etcd_endpoints = config.etcd_endpoints;
        c.etcd_timeout = std::chrono::milliseconds(config.etcd_timeout_ms);
        c.etcd_lease_ttl = std::chrono::seconds(config.etcd_lease_ttl_s);
        c.etcd_prefix = config.etcd_prefix;
        c.etcd_ca_file = config.etcd_ca_file;
        c.etcd_cert_file = config.etcd_cert_file;
        c.etcd_key_file = config.etcd_key_file;
        options.naming.server = false;
        options.naming.server_url.clear();
        options.groups.server = false;
        options.groups.server_url.clear();
    }
    OrderNodeOptions& order = options.groups.order;
    order.retransmit_interval = std::chrono::milliseconds(config.order_retransmit_ms);
    order.tick = std::chrono::milliseconds(config.order_tick_ms);
    order.skew_bound = std::chrono::milliseconds(config.order_skew_bound_ms);
    order.null_interval_min = std::chrono::microseconds(config.order_null_interval_us);
    order.groups_max = config.order_groups_max;
    order.members_max = config.order_members_max;
    order.send_window_max = config.order_send_window_max;
    order.retained_max = config.order_retained_max;
    order.receive_window_max = config.order_receive_window_max;
    return options;
}

}  // namespace

Result<std::unique_ptr<Daemon>> Daemon::start(const DaemonConfig& config) {
    HERALD_TRY(int lock_fd, lock_data_dir(config.data_dir));
    std::unique_ptr<Daemon> daemon(new Daemon(config, lock_fd));
    HERALD_TRY(daemon->node_, Node::start(node_options(config)));
    Daemon* self = daemon.get();  // The node, and so its arrival handler, ends before it.
    daemon->node_->on_arrival(
        [self](Process process, Bytes state) { self->on_arrival(std::move(process), state); });
    HERALD_TRY(daemon->start_services());
    log_event(spdlog::level::info, "node_started",
              {{"node", daemon->id()},
               {"incarnation", daemon->incarnation()},
               {"listen", daemon->listen_url()},
               {"data_dir", config.data_dir},
               {"faults", config.faults.empty() ? "none" : config.faults},
               {"authenticated", config.key_file.empty() ? "no" : "yes"},
               {"encrypted", config.encrypt ? "yes" : "no"},
               {"version", HERALD_VERSION}});
    return daemon;
}

Daemon::Daemon(DaemonConfig config, int lock_fd) : config_(std::move(config)), lock_fd_(lock_fd) {}

Daemon::~Daemon() {
    shutdown();
    ::close(lock_fd_);  // Releases the data folder's lock.
}

Status Daemon::start_services() {
    Node& node = *node_;
    if (config_.echo) {
        HERALD_TRY(
            add_service({"echo", admin::echo_name, admin::echo_local_id, config_.queue_limit},
                        [](Service& s) { return echo_handler(s); }));
        HERALD_TRY(serve_echo_operation(*services_.back()));
    }
    HERALD_TRY(start_counter());
    return add_service({"admin", admin::admin_name, admin::admin_local_id, config_.queue_limit},
                       [this, &node](Service& s) {
                           const AdminAccess access =
                               config_.admin_access == "anyone"        ? AdminAccess::anyone
                               : config_.admin_access == "key_holders" ? AdminAccess::key_holders
                                                                       : AdminAccess::local;
                           return admin_handler(
                               s, node, access, [this] { return status(); },
                               [this](const admin::Request& request, admin::Reply& reply) {
                                   return daemon_op(request, reply);
                               });
                       });
}

Status Daemon::start_counter() {
    auto counter = CounterService::start(*node_);
    if (!counter) {
        return fail(counter.error().code,
                    "cannot start the counter service: " + counter.error().detail);
    }
    log_event(spdlog::level::info, "service_started",
              {{"service", "counter"}, {"pid", (*counter)->pid()}});
    std::lock_guard lock(services_mutex_);
    counter_ = std::move(*counter);
    return {};
}

Status Daemon::add_service(const ServiceSpec& spec, std::function<ServiceHandler(Service&)> make) {
    auto service = Service::start(*node_, spec, std::move(make));
    if (!service) {
        return fail(service.error().code,
                    "cannot start the " + spec.name + " service: " + service.error().detail);
    }
    log_event(spdlog::level::info, "service_started",
              {{"service", spec.name}, {"pid", (*service)->pid()}});
    std::lock_guard lock(services_mutex_);
    services_.push_back(std::move(*service));
    return {};
}

namespace {

// Echo workers a daemon hosts at most (spawned and arrived); beyond, spawn and arrivals are
// refused queue_full / exit at once.
constexpr std::size_t workers_max = 1024;

// The state an echo worker migrates with (docs/admin.md, "migrate"): the target daemon serves
// a process that arrives with it as an echo worker.
constexpr std::string_view worker_state = "herald echo worker v1";

// How long migrate waits for a worker's replies in flight to be acknowledged (the move is
// refused would_block until then), and how long it gives the target to answer the hello.
constexpr auto migrate_wait = std::chrono::seconds(3);
constexpr auto connect_wait = std::chrono::seconds(2);

ServiceSpec worker_spec(std::uint32_t queue_limit) {
    return {"echo", "", 0, queue_limit};
}

}  // namespace

bool Daemon::daemon_op(const admin::Request& request, admin::Reply& reply) {
    Status status;
    if (request.op == "spawn") {
        status = spawn_worker(reply);
    } else if (request.op == "migrate") {
        status = migrate_worker(request, reply);
    } else {
        return false;
    }
    if (!status) {
        reply.error = std::string(errc_name(status.error().code));
        reply.detail = status.error().detail;
    }
    return true;
}

Status Daemon::spawn_worker(admin::Reply& reply) {
    {
        std::lock_guard lock(services_mutex_);
        if (workers_closed_) return fail(Errc::closed, "the daemon is stopping");
        if (workers_.size() >= workers_max) {
            return fail(Errc::queue_full, std::to_string(workers_max) + " workers are running");
        }
    }
    HERALD_TRY(auto worker, Service::start(*node_, worker_spec(config_.queue_limit),
                                           [](Service& s) { return echo_handler(s); }));
    const Pid pid = worker->pid();
    std::lock_guard lock(services_mutex_);
    if (workers_closed_) return fail(Errc::closed, "the daemon is stopping");
    workers_.push_back(std::move(worker));
    reply.pid = to_string(pid);
    log_event(spdlog::level::info, "worker_spawned", {{"pid", pid}});
    return {};
}

Status Daemon::migrate_worker(const admin::Request& request, admin::Reply& reply) {
    HERALD_TRY(Pid pid, parse_pid(request.who));
    if (request.url.empty()) return fail(Errc::invalid_argument, "no target url");
    // The target first: a bad or silent URL is refused before the worker stops serving.
    HERALD_TRY(NodeId to, node_->connect(request.url, connect_wait));
    if (to == node_->id()) return fail(Errc::invalid_argument, request.url + " is this node");
    std::unique_ptr<Service> worker;
    {
        std::lock_guard lock(services_mutex_);
        auto it = std::find_if(workers_.begin(), workers_.end(),
                               [&](const auto& w) { return w->pid() == pid; });
        if (it == workers_.end()) {
            const bool builtin = std::any_of(services_.begin(), services_.end(),
                                             [&](const auto& s) { return s->pid() == pid; }) ||
                                 (counter_ && counter_->pid() == pid);
            if (builtin) {
                return fail(Errc::invalid_argument,
                            "built-in services do not migrate (they serve RPC and are "
                            "restarted with the daemon); spawn an echo worker to move");
            }
            return fail(Errc::not_found, "no echo worker " + request.who + " on this node");
        }
        worker = std::move(*it);
        workers_.erase(it);  // Not listed while it moves.
    }
    const Bytes state = to_bytes(worker_state);
    Status moved = worker->move_to(to, state, std::chrono::steady_clock::now() + migrate_wait);
    if (!moved) {
        std::lock_guard lock(services_mutex_);
        if (workers_closed_) {
            worker->stop();  // Shutdown has taken the list meanwhile.
        } else {
            workers_.push_back(std::move(worker));  // It stays, serving again.
        }
        return moved;
    }
    reply.pid = to_string(pid);
    reply.node = to_string(to);
    log_event(spdlog::level::info, "worker_migrated", {{"pid", pid}, {"to", to}});
    return {};
}

void Daemon::on_arrival(Process process, Bytes state) {
    const Pid pid = process.pid();
    if (std::string_view(reinterpret_cast<const char*>(state.data()), state.size()) !=
        worker_state) {
        // Not one of ours: nobody here would receive for it. It exits (the handle goes).
        log_event(spdlog::level::warn, "arrival_refused",
                  {{"pid", pid}, {"reason", "not an echo worker"}});
        return;
    }
    if (auto adopted = adopt_worker(std::move(process)); !adopted) {
        log_event(spdlog::level::warn, "arrival_refused",
                  {{"pid", pid}, {"reason", adopted.error().to_string()}});
        return;
    }
    log_event(spdlog::level::info, "worker_arrived", {{"pid", pid}});
}

Status Daemon::adopt_worker(Process process) {
    std::lock_guard lock(services_mutex_);
    if (workers_closed_) return fail(Errc::closed, "the daemon is stopping");
    if (workers_.size() >= workers_max) {
        return fail(Errc::queue_full, std::to_string(workers_max) + " workers are running");
    }
    HERALD_TRY(auto worker, Service::adopt(std::move(process), worker_spec(config_.queue_limit),
                                           [](Service& s) { return echo_handler(s); }));
    workers_.push_back(std::move(worker));
    return {};
}

namespace {

// The memory rows of the status counters (docs/admin.md; docs/security.md "Memory").
void add_memory_counters(const NodeStats& s, admin::Reply& reply) {
    reply.counters.insert({{"reassembly_bytes", s.reassembly_bytes},
                           {"reassembly_partials", s.reassembly_partials},
                           {"peer_state_entries", s.peer_state_entries},
                           {"peer_state_bytes", s.peer_state_bytes},
                           {"memory_trims", s.memory_trims}});
}

// The mailbox and RPC rows of the status counters (docs/admin.md).
void add_engine_counters(const Node& node, admin::Reply& reply) {
    if (const auto m = node.mailbox_counters()) {
        reply.counters.insert({{"mailbox_accepted", m->accepted},
                               {"mailbox_duplicate_sends", m->duplicate_sends},
                               {"mailbox_delivered", m->delivered},
                               {"mailbox_redelivered", m->redelivered},
                               {"mailbox_acknowledged", m->acknowledged},
                               {"mailbox_discarded", m->discarded},
                               {"mailbox_refused_full", m->refused_full},
                               {"mailbox_storage_errors", m->storage_errors},
                               {"mailbox_retransmits", m->retransmits},
                               {"mailbox_board_posts", m->board_posts},
                               {"mailbox_board_evicted", m->board_evicted},
                               {"mailbox_board_reads", m->board_reads}});
    }
    const RpcStats r = node.rpc_stats();
    reply.counters.insert({{"rpc_calls_succeeded", r.calls_succeeded},
                           {"rpc_calls_failed", r.calls_failed},
                           {"rpc_executions", r.executions},
                           {"rpc_duplicates_answered", r.duplicates_answered},
                           {"rpc_duplicates_discarded", r.duplicates_discarded},
                           {"rpc_response_retransmits", r.response_retransmits},
                           {"rpc_responses_abandoned", r.responses_abandoned},
                           {"rpc_cookies_sent", r.cookies_sent},
                           {"rpc_address_refusals", r.address_refusals},
                           {"rpc_clients", r.cache_clients},
                           {"rpc_crashed_reported", r.crashed_reported},
                           {"rpc_cache_entries", r.cache_entries},
                           {"rpc_store_commits", r.store_commits},
                           {"rpc_store_errors", r.store_errors}});
}

// The node's counters under their status names (docs/admin.md).
decltype(admin::Reply::counters) node_counters(const NodeStats& s) {
    return {{"messages_delivered", s.messages_delivered},
            {"retransmits", s.retransmits},
            {"duplicates_dropped", s.duplicates_dropped},
            {"malformed_dropped", s.malformed_dropped},
            {"datagrams_sent", s.datagrams_sent},
            {"datagrams_received", s.datagrams_received},
            {"faults_dropped", s.faults_dropped},
            {"faults_duplicated", s.faults_duplicated},
            {"unknown_peer_dropped", s.unknown_peer_dropped},
            {"peers_known", s.peers_known},
            {"processes", s.processes},
            {"callbacks_threw", s.callbacks_threw},
            {"store_errors", s.store_errors},
            {"store_healthy", s.store_healthy ? 1u : 0u},
            {"authenticated", s.authenticated ? 1u : 0u},
            {"encrypted", s.encrypted ? 1u : 0u},
            {"decrypted", s.decrypted},
            {"auth_failed", s.auth_failed},
            {"replays_dropped", s.replays_dropped},
            {"replay_floors_restored", s.replay_floors_restored},
            {"replay_record_bad", s.replay_record_bad ? 1u : 0u},
            {"address_checks", s.address_checks},
            {"address_moves", s.address_moves},
            {"address_refused", s.address_refused},
            {"address_dropped", s.address_dropped},
            {"reassembly_bytes", s.reassembly_bytes},
            {"reassembly_partials", s.reassembly_partials},
            {"name_requests", s.name_requests},
            {"name_cache_hits", s.name_cache_hits},
            {"name_retries", s.name_retries},
            {"names_held", s.names_held},
            {"names_served", s.names_served},
            {"name_watch_events", s.name_watch_events},
            {"name_watch_streams", s.name_watch_streams},
            {"name_holders_dead", s.name_holders_dead},
            {"names_dropped_dead", s.names_dropped_dead},
            {"migrations_out", s.migrations_out},
            {"migrations_in", s.migrations_in},
            {"migrations_failed", s.migrations_failed},
            {"messages_forwarded", s.messages_forwarded},
            {"received_forwarded", s.received_forwarded},
            {"received_direct", s.received_direct},
            {"location_updates", s.location_updates},
            {"forwards_live", s.forwards_live},
            {"group_views_installed", s.group_views_installed},
            {"group_multicasts_sent", s.group_multicasts_sent},
            {"group_answers_sent", s.group_answers_sent},
            {"group_answers_collected", s.group_answers_collected},
            {"group_answers_late", s.group_answers_late},
            {"group_delivered", s.group_delivered},
            {"group_retransmits", s.group_retransmits},
            {"group_suspicions", s.group_suspicions},
            {"group_etcd_changes", s.group_etcd_changes},
            {"group_etcd_conflicts", s.group_etcd_conflicts},
            {"group_etcd_pruned", s.group_etcd_pruned},
            {"group_etcd_skipped", s.group_etcd_skipped},
            {"group_watch_events", s.group_watch_events},
            {"group_watch_streams", s.group_watch_streams},
            {"ordered_delivered", s.ordered_delivered},
            {"ordered_retransmits", s.ordered_retransmits},
            {"ordered_flushes", s.ordered_flushes},
            {"ordered_flush_discarded", s.ordered_flush_discarded},
            {"ordered_relays_sent", s.ordered_relays_sent},
            {"ordered_relayed_first", s.ordered_relayed_first},
            {"ordered_held", s.ordered_held},
            {"group_credit_dropped", s.group_credit_dropped},
            {"ordered_credit_dropped", s.ordered_credit_dropped},
            {"ordered_credit_stalls", s.ordered_credit_stalls}};
}

// The durable store's group commit and the loop's poll after it (docs/config.md,
// node.durable_poll_us).
void add_store_counters(const NodeStats& s, admin::Reply& reply) {
    reply.counters.insert({{"store_commits", s.store_commits},
                           {"store_writes", s.store_writes},
                           {"loop_polls", s.loop_polls}});
}

// Two-level addressing (docs/groups.md G22).
void add_address_counters(const NodeStats& s, admin::Reply& reply) {
    reply.counters.insert({{"group_address_sends", s.group_address_sends},
                           {"group_datagrams", s.group_datagrams},
                           {"group_fan_outs", s.group_fan_outs},
                           {"group_joined", s.group_joined},
                           {"group_address_errors", s.group_address_errors},
                           {"group_received", s.group_received},
                           {"ordered_address_sends", s.ordered_address_sends},
                           {"ordered_unclaimed_dropped", s.ordered_unclaimed_dropped}});
}

}  // namespace

admin::Reply Daemon::status() const {
    admin::Reply reply;
    reply.node = to_string(node_->id());
    reply.incarnation = node_->incarnation();
    reply.listen = node_->listen_url();
    reply.version = HERALD_VERSION;
    reply.uptime_ms =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now() - started_)
                                       .count());
    reply.faults = config_.faults;
    {
        std::lock_guard lock(services_mutex_);
        for (const auto& service : services_) reply.processes.push_back(service->info());
        if (counter_) reply.processes.push_back(counter_->info());
        for (const auto& worker : workers_) reply.processes.push_back(worker->info());
    }
    const NodeStats s = node_->stats();
    reply.counters = node_counters(s);
    add_address_counters(s, reply);
    add_store_counters(s, reply);
    add_memory_counters(s, reply);
    add_engine_counters(*node_, reply);
    return reply;
}

void Daemon::shutdown() {
    if (shut_down_ || !node_) return;
    shut_down_ = true;
    log_event(spdlog::level::info, "shutdown_started", {{"drain_ms", config_.shutdown_drain_ms}});
    // No accepted message may be lost: first the node stops acknowledging messages from other
    // nodes, so the inboxes can only shrink; then each service handles everything its inbox
    // holds (its replies become pending sends); then the node waits for those replies to be
    // acknowledged (drain_timeout) and closes.
    if (auto refused = node_->refuse_incoming(); !refused) {
        log_event(spdlog::level::warn, "refuse_incoming_failed",
                  {{"error", refused.error().to_string()}});
    }
    std::vector<std::unique_ptr<Service>> workers;
    {
        std::lock_guard lock(services_mutex_);
        workers_closed_ = true;
        workers.swap(workers_);
    }
    for (auto& service : services_) service->stop();
    for (auto& worker : workers) worker->stop();
    // The node's stop also waits (drain_timeout) for running RPC handlers and their durable
    // writes; the counter's process ends after that, so no call is cut off mid-run.
    node_->stop();
    if (counter_) counter_->stop();
    const NodeStats s = node_->stats();
    std::uint64_t handled = 0, replies_failed = 0;
    for (const auto& service : services_) {
        handled += service->counters()->handled.load();
        replies_failed += service->counters()->replies_failed.load();
    }
    log_event(spdlog::level::info, "shutdown_complete",
              {{"messages_delivered", s.messages_delivered},
               {"handled", handled},
               {"replies_failed", replies_failed},
               {"retransmits", s.retransmits}});
}

}  // namespace herald::daemon

// herald::Node: the public face of runtime::Node. Layer: api.
#include "herald/node.h"

#include <algorithm>

#include "api/api_support.h"
#include "api/naming_support.h"
#include "api/rpc_options.h"
#include "herald/address.h"
#include "runtime/node.h"
#include "runtime/node_group_service.h"
#include "runtime/node_naming.h"
#include "runtime/node_order_service.h"
#include "runtime/udp_transport.h"

namespace herald {

namespace {

using api::to_duration;

runtime::NodeConfig to_config(const NodeOptions& options) {
    runtime::NodeConfig config;
    config.listen_url = options.listen;
    config.id = options.id;
    config.faults = options.faults;
    config.faults_from_env = options.faults_from_env;
    config.transport.datagram_bytes_max = options.datagram_bytes_max;
    config.direct.body_bytes_max = options.message_bytes_max;
    config.direct.retransmit_initial = to_duration(options.retransmit_initial);
    // The backoff's cap is not an option: it grows to a first wait set above it.
    config.direct.retransmit_max =
        std::max(config.direct.retransmit_max, config.direct.retransmit_initial);
    config.direct.peer_timeout = to_duration(options.peer_timeout);
    config.direct.window_messages = options.window_messages;
    config.direct.channel_buffer_max = options.sender_buffer_max;
    config.drain_max = to_duration(options.drain_timeout);
    config.receive_spin = to_duration(options.receive_spin);
    config.durable_poll = to_duration(options.durable_poll);
    config.data_dir = options.data_dir;
    config.key_file = options.key_file;
    config.encrypt = options.encrypt;
    config.rpc = api::to_rpc_config(options.rpc);
    config.naming.server = options.naming.server;
    config.naming_server_url = options.naming.server_url;
    config.naming.dead_after = to_duration(options.naming.dead_after);
    config.naming.probe_interval = config.naming.dead_after / 5;
    config.naming.cache_ttl = to_duration(options.naming.cache_ttl);
    if (auto broadcast = runtime::parse_endpoint(options.groups.broadcast)) {
        config.transport.groups.broadcast = *broadcast;  // Checked by validate, and at open.
    }
    const auto& coordination = options.coordination;
    config.coordination_etcd = coordination.backend == Coordination::etcd;
    config.etcd.endpoints = coordination.etcd_endpoints;
    config.etcd.timeout = Duration::milliseconds(coordination.etcd_timeout.count());
    config.etcd.lease_ttl = Duration::seconds(coordination.etcd_lease_ttl.count());
    config.etcd.prefix = coordination.etcd_prefix;
    config.etcd.ca_file = coordination.etcd_ca_file;
    config.etcd.cert_file = coordination.etcd_cert_file;
    config.etcd.key_file = coordination.etcd_key_file;
    // On etcd every node has the group service (docs/coordination.md C12): no server.
    config.group_enabled =
        options.groups.server || !options.groups.server_url.empty() || config.coordination_etcd;
    config.group_server = options.groups.server;
    config.group.server = NodeId{};  // Learned: this node, or a ping to server_url.
    if (!options.groups.server) config.group_server_url = options.groups.server_url;
    config.group.heartbeat_interval = to_duration(options.groups.heartbeat_interval);
    config.group.suspicion_timeout = to_duration(options.groups.suspicion_timeout);
    config.group.member_queue_max = options.groups.member_queue_max;  // G25.
    config.order.member_queue_max = options.groups.member_queue_max;  // O37.
    const OrderNodeOptions& order = options.groups.order;
    config.order.retransmit_interval = to_duration(order.retransmit_interval);
    config.order.tick = to_duration(order.tick);
    config.order.skew_bound = to_duration(order.skew_bound);
    config.order.null_interval_min = to_duration(order.null_interval_min);
    config.order.groups_max = order.groups_max;
    config.order.members_max = order.members_max;
    config.order.send_window_max = order.send_window_max;
    config.order.retained_max = order.retained_max;
    config.order.receive_window_max = order.receive_window_max;
    return config;
}

// GroupNodeOptions::order's rules (herald/group.h).
Status check_order(const OrderNodeOptions& o) {
    const auto zero = std::chrono::nanoseconds::zero();
    if (o.retransmit_interval <= zero || o.retransmit_interval == forever || o.tick <= zero ||
        o.tick > o.retransmit_interval) {
        return fail(Errc::invalid_argument,
                    "groups.order: retransmit_interval must be positive and finite, tick positive "
                    "and at most retransmit_interval");
    }
    if (o.skew_bound < zero || o.skew_bound == forever || o.null_interval_min < zero ||
        o.null_interval_min > o.tick) {
        return fail(Errc::invalid_argument,
                    "groups.order: skew_bound must be finite and not negative, null_interval_min "
                    "not negative and at most tick");
    }
    if (o.groups_max == 0 || o.members_max == 0 || o.send_window_max == 0 || o.retained_max == 0 ||
        o.receive_window_max == 0 || o.send_window_max > o.retained_max) {
        return fail(Errc::invalid_argument,
                    "groups.order: every count must be at least 1, send_window_max at most "
                    "retained_max");
    }
    return {};
}

Status check(const NodeOptions& options) {
    if (options.window_messages == 0 || options.sender_buffer_max == 0) {
        return fail(Errc::invalid_argument, "window_messages and sender_buffer_max must be > 0");
    }
    if (options.message_bytes_max == 0) {
        return fail(Errc::invalid_argument, "message_bytes_max must be > 0");
    }
    if (options.datagram_bytes_max != 0 &&
        options.datagram_bytes_max < runtime::udp_datagram_bytes_min) {
        return fail(Errc::invalid_argument,
                    "datagram_bytes_max must be 0 (the transport's default) or at least " +
                        std::to_string(runtime::udp_datagram_bytes_min));
    }
    if (options.retransmit_initial <= std::chrono::nanoseconds::zero() ||
        options.peer_timeout <= std::chrono::nanoseconds::zero() ||
        options.drain_timeout < std::chrono::nanoseconds::zero() ||
        options.receive_spin < std::chrono::nanoseconds::zero()) {
        return fail(Errc::invalid_argument, "durations must be positive");
    }
    if (options.durable_poll < std::chrono::nanoseconds::zero() ||
        options.durable_poll > std::chrono::milliseconds(100)) {
        return fail(Errc::invalid_argument, "durable_poll must be 0 to 100 ms");
    }
    if (options.naming.dead_after < std::chrono::milliseconds(100) ||
        options.naming.dead_after > std::chrono::hours(1)) {
        return fail(Errc::invalid_argument, "naming: dead_after must be 100 ms to 1 h");
    }
    if (options.naming.cache_ttl < std::chrono::milliseconds(0) ||
        options.naming.cache_ttl > std::chrono::hours(1)) {
        return fail(Errc::invalid_argument, "naming: cache_ttl must be 0 to 1 h");
    }
    const auto& g = options.groups;
    if (g.heartbeat_interval <= std::chrono::nanoseconds::zero() ||
        g.heartbeat_interval == forever || g.suspicion_timeout == forever ||
        g.suspicion_timeout < 2 * g.heartbeat_interval) {
        return fail(Errc::invalid_argument,
                    "groups: heartbeat_interval must be positive and finite, suspicion_timeout at "
                    "least twice it");
    }
    if (options.coordination.backend == Coordination::etcd &&
        (options.naming.server || !options.naming.server_url.empty())) {
        return fail(Errc::invalid_argument,
                    "coordination etcd: naming.server and naming.server_url must be unset (names "
                    "are in etcd)");
    }
    if (options.coordination.backend == Coordination::etcd && (g.server || !g.server_url.empty())) {
        return fail(Errc::invalid_argument,
                    "coordination etcd: groups.server and groups.server_url must be unset (groups "
                    "are in etcd)");
    }
    if (!g.broadcast.empty()) {
        auto broadcast = runtime::parse_endpoint(g.broadcast);
        if (!broadcast || broadcast->scheme != runtime::Endpoint::Scheme::udp) {
            return fail(Errc::invalid_argument,
                        "groups.broadcast '" + g.broadcast +
                            "': must be udp://IPv4:PORT (the link's broadcast address)" +
                            (broadcast ? "" : ": " + broadcast.error().detail));
        }
    }
    if (g.server && options.data_dir.empty()) {
        return fail(Errc::invalid_argument,
                    "groups.server needs data_dir (the groups are durable)");
    }
    if (g.member_queue_max == 0) return fail(Errc::invalid_argument, "groups.member_queue_max: 0");
    return check_order(g.order);
}

// Migration (docs/migration.md M13).
void add_migration_stats(const runtime::Node::Counters& c, NodeStats& s) {
    s.migrations_out = c.direct.migrations_out;
    s.migrations_in = c.direct.migrations_in;
    s.migrations_failed = c.direct.migrations_failed;
    s.messages_forwarded = c.direct.forwarded;
    s.received_forwarded = c.direct.received_forwarded;
    s.received_direct = c.direct.received_direct;
    s.location_updates = c.direct.location_updates;
    s.forwards_live = c.direct.forwards_live;
}

// The group engine's counters and the service's own (multicasts, answers, etcd).
void add_group_stats(runtime::NodeGroupService& groups, NodeStats& s) {
    if (auto g = groups.counters()) {
        s.group_views_installed = g->views_installed;
        s.group_delivered = g->delivered;
        s.group_retransmits = g->retransmits;
        s.group_suspicions = g->suspicions;
        s.group_address_sends = g->address_sends;
        s.group_credit_dropped = g->credit_dropped;
    }
    s.group_multicasts_sent = groups.multicasts_sent();
    s.group_answers_sent = groups.answers().sent.load();
    s.group_answers_collected = groups.answers().collected.load();
    s.group_answers_late = groups.answers().late.load();
    const auto e = groups.etcd_counters();
    s.group_etcd_changes = e.changes;
    s.group_etcd_conflicts = e.conflicts;
    s.group_etcd_pruned = e.pruned;
    s.group_etcd_skipped = e.skipped;
    s.group_watch_events = e.watch_events;
    s.group_watch_streams = e.watch_streams;
}

// Ordered and atomic multicast (docs/ordering.md, docs/groups.md G23).
void add_ordered_stats(runtime::NodeOrderService& order, NodeStats& s) {
    auto o = order.counters();
    if (!o) return;  // Fails only on the loop thread or once stopped.
    s.ordered_delivered = o->delivered;
    s.ordered_retransmits = o->retransmits;
    s.ordered_flushes = o->flushes;
    s.ordered_flush_discarded = o->flush_discarded;
    s.ordered_relays_sent = o->relays_sent;
    s.ordered_relayed_first = o->relayed_first;
    s.ordered_held = o->held;
    s.ordered_credit_dropped = o->credit_dropped;
    s.ordered_credit_stalls = o->credit_stalls;
    s.ordered_address_sends = o->address_sends;
    s.ordered_unclaimed_dropped = o->unclaimed_dropped;
}

// Two-level addressing (docs/groups.md G22): the Node's and its transport's group counters.
void add_address_stats(const runtime::Node::Counters& c, NodeStats& s) {
    s.group_datagrams = c.group_datagrams;
    s.group_fan_outs = c.group_fan_outs;
    s.group_joined = c.group_joined;
    s.group_address_errors = c.group_address_errors;
    s.group_received = c.transport.group_received;
}

}  // namespace

Result<std::unique_ptr<Node>> Node::start(const NodeOptions& options) {
    HERALD_TRY(check(options));
    HERALD_TRY(auto impl, runtime::Node::start(to_config(options)));
    return std::unique_ptr<Node>(new Node(std::move(impl)));
}

Node::Node(std::shared_ptr<runtime::Node> impl) : impl_(std::move(impl)) {}

Node::~Node() {
    impl_->stop();
}

NodeId Node::id() const {
    return impl_->id();
}
std::uint32_t Node::incarnation() const {
    return impl_->incarnation();
}
std::string Node::listen_url() const {
    return impl_->listen_url();
}

Result<PingReply> Node::ping(std::string_view url, std::chrono::nanoseconds timeout) {
    HERALD_TRY(runtime::Endpoint endpoint, runtime::parse_endpoint(url));
    HERALD_TRY(runtime::PingResult result, impl_->ping(endpoint, to_duration(timeout)));
    return PingReply{result.node, result.incarnation, std::chrono::nanoseconds(result.rtt.ns())};
}

Result<NodeId> Node::connect(std::string_view url, std::chrono::nanoseconds timeout) {
    HERALD_TRY(PingReply reply, ping(url, timeout));
    return reply.node;
}

Result<Pid> Node::resolve(std::string_view address, std::chrono::nanoseconds timeout) {
    HERALD_TRY(ProcessAddress parsed, parse_process_address(address));
    return api::resolve_address(*impl_, parsed, api::to_duration(timeout));
}

Result<Process> Node::spawn(const ProcessOptions& options) {
    runtime::ProcessConfig config;
    config.engine.buffering = static_cast<proto::direct::Buffering>(options.buffering);
    config.engine.queue_limit = options.queue_limit;
    config.local_id = options.local_id;
    config.name = options.name;
    HERALD_TRY(auto state, impl_->spawn(config));
    return Process(impl_, std::move(state));
}

void Node::on_arrival(ArrivalHandler handler) {
    std::weak_ptr<runtime::Node> weak = impl_;
    impl_->set_arrival_handler([weak, handler = std::move(handler)](
                                   std::shared_ptr<runtime::ProcessState> state, Bytes blob) {
        auto node = weak.lock();
        if (!node) return;
        handler(Process(std::move(node), std::move(state)), std::move(blob));
    });
}

Result<Pid> Node::whereis(std::string_view name) const {
    return impl_->whereis(name);
}

Result<bool> Node::is_local_peer(NodeId node) const {
    return impl_->is_local_peer(node);
}

void Node::stop() {
    impl_->stop();
}

Status Node::refuse_incoming() {
    return impl_->refuse_incoming();
}

NodeStats Node::stats() const {
    const auto c = impl_->counters();
    NodeStats s;
    s.messages_delivered = c.direct.delivered;
    add_migration_stats(c, s);
    s.retransmits = c.direct.retransmits;
    s.duplicates_dropped = c.direct.duplicates_dropped;
    s.malformed_dropped = c.direct.malformed_dropped + c.link.malformed_dropped +
                          c.packets_anonymous + c.transport.receive_malformed;
    s.datagrams_sent = c.transport.datagrams_sent;
    s.datagrams_received = c.transport.datagrams_received;
    s.faults_dropped = c.transport.faults_dropped;
    s.faults_duplicated = c.transport.faults_duplicated;
    s.unknown_peer_dropped = c.link.unknown_peer_dropped;
    s.peers_known = c.peers_known;
    s.peer_state_entries = c.peer_state_entries;
    s.peer_state_bytes = c.peer_state_bytes;
    s.memory_trims = c.memory_trims;
    s.processes = c.processes;
    s.callbacks_threw = c.callbacks_threw;
    s.store_errors = c.store_errors;
    s.store_commits = c.store_commits;
    s.store_writes = c.store_writes;
    s.loop_polls = c.loop_polls;
    s.store_healthy = c.store_healthy;
    s.authenticated = c.authenticated;
    s.auth_failed = c.link.auth_failed;
    s.replays_dropped = c.link.replays_dropped;
    s.replay_floors_restored = c.replay_floors_restored;
    s.replay_record_bad = c.replay_record_bad;
    s.address_checks = c.paths.started;
    s.address_moves = c.paths.moved;
    s.address_refused = c.paths.refused;
    s.address_dropped = c.paths.dropped;
    s.encrypted = c.encrypted;
    s.decrypted = c.link.decrypted;
    s.reassembly_bytes = c.link.reassembly_bytes;
    s.reassembly_partials = c.link.reassembly_partials;
    if (auto n = impl_->naming().counters()) {  // Fails only on the loop thread or once stopped.
        s.name_requests = n->naming.requests;
        s.name_cache_hits = n->naming.cache_hits;
        s.name_retries = n->retries;
        s.names_held = n->held;
        s.names_served = n->names;
        s.name_watch_events = n->watch_events;
        s.name_watch_streams = n->watch_streams;
        s.name_holders_dead = n->naming.holders_dead;
        s.names_dropped_dead = n->naming.holder_names_dropped;
    }
    if (auto* groups = impl_->groups_service()) add_group_stats(*groups, s);
    add_address_stats(c, s);
    if (auto* order = impl_->order_service()) add_ordered_stats(*order, s);
    return s;
}

}  // namespace herald

// Node: the runtime that drives the engines over real sockets. One event-loop thread owns the
// transport, the link (fragmentation), the peer table, the engines (a proto::EngineSet, as the
// simulator hosts them) with one timer set each, the node's durable store and the hosted
// processes; application threads call the public methods, which post commands to the loop and
// wait for their completion. Services (NodeRpc) reach the node through NodeContext.
// Layer: runtime (the public API wraps it).
#pragma once

#include <array>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/assert.h"
#include "core/clock.h"
#include "core/message.h"
#include "core/random.h"
#include "core/result.h"
#include "proto/direct/direct_engine.h"
#include "proto/effects.h"
#include "proto/engine_set.h"
#include "proto/rpc/rpc_state.h"
#include "runtime/group_table.h"
#include "runtime/link.h"
#include "runtime/loop.h"
#include "runtime/loop_timers.h"
#include "runtime/node_context.h"
#include "runtime/node_options.h"
#include "runtime/node_process.h"
#include "runtime/operation_table.h"
#include "runtime/path_checks.h"
#include "runtime/peer_table.h"
#include "runtime/store_writer.h"
#include "runtime/transport.h"
#include "wire/auth.h"

namespace herald::runtime {

class NodeMailbox;
class NodeGroupService;
class NodeOrderService;
class NameBackend;

class NodeRpc;

using ReceiveCallback = std::function<void(Result<Message>)>;
using PingCallback = std::function<void(Result<PingResult>)>;

class Node final : private NodeContext {
    struct Private {};

public:
    // Binds the listen URL, derives the identity and starts the loop thread.
    // Errc::invalid_argument: bad URL, bad fault spec (options or $HERALD_FAULTS), bad option.
    // Errc::io_error: the bind failed. Errc::already_exists: inproc name taken.
    [[nodiscard]] static Result<std::shared_ptr<Node>> start(NodeConfig config);

    Node(Private, NodeConfig config);
    ~Node();  // stop(). Must not run on the loop thread (do not drop the last handle there).
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    // Identity, fixed for the node's life. Any thread.
    [[nodiscard]] NodeId id() const override { return id_; }
    [[nodiscard]] std::uint32_t incarnation() const { return incarnation_; }
    [[nodiscard]] const Endpoint& listen_endpoint() const { return listen_; }
    // What the node's transport sends to many nodes in one datagram (none before start and
    // after stop). Any thread: set when the transport opens, never changed.
    [[nodiscard]] Transport::Capabilities transport_capabilities() const { return capabilities_; }
    [[nodiscard]] std::string listen_url() const override { return to_string(listen_); }

    // Sends hello to `to` (retrying with backoff) until a hello_reply arrives or `timeout`
    // passes; the answer teaches the peer table the node's id. Blocks. Any thread but the loop.
    // Errc::unreachable: no reply in time. Errc::closed: the node stopped.
    [[nodiscard]] Result<PingResult> ping(const Endpoint& to, Duration timeout);
    // Same without blocking: `done` runs on the loop thread. Errc::closed when stopped.
    [[nodiscard]] Status ping_async(const Endpoint& to, Duration timeout, PingCallback done);

    // Teaches the peer table that `node` answers at `endpoint` without a handshake.
    // Errc::invalid_argument (unknown node id), Errc::closed. Does not block. Any thread.
    [[nodiscard]] Status add_peer(NodeId node, const Endpoint& endpoint);

    // Group addresses (docs/wire.md, "Group and broadcast addresses"): registers IP multicast
    // group `group` (udp://239.1.2.3:7500) and returns the handle engines put in a
    // Kind::multicast Destination's `address`; with GroupRole::member the node also receives
    // the group's datagrams. On a transport without multicast (tcp, unix, inproc) the handle
    // is valid, and packets to it fan out to the destination's node list. Blocks for one loop
    // round trip. Any thread but the loop. Errors: those of GroupTable::add (invalid_argument,
    // queue_full when transport.groups.groups_max are registered, io_error), and
    // Errc::invalid_argument on the loop thread, Errc::closed once stopped.
    [[nodiscard]] Result<std::uint32_t> add_group_address(const Endpoint& group,
                                                          GroupRole role = GroupRole::member);
    // Forgets a group address (leaving the group). Errc::not_found, Errc::closed. Blocks for
    // one loop round trip. Any thread but the loop.
    [[nodiscard]] Status remove_group_address(std::uint32_t handle);

    // Starts a process. Blocks for one loop round trip. Any thread but the loop.
    // Errc::invalid_argument: local_id >= 2^32, queue_limit 0 or > 2^20, name > 255 bytes.
    // Errc::already_exists: local id or name taken. Errc::queue_full: processes_max reached.
    // Errc::closed: the node stopped.
    [[nodiscard]] Result<std::shared_ptr<ProcessState>> spawn(const ProcessConfig& config);
    // Ends a process: its queued messages are dropped, its pending sends complete with
    // Errc::closed, later messages to it are refused (no_such_process). Does not block.
    void exit(const std::shared_ptr<ProcessState>& process);
    // Moves `process` to node `to` with `state` (docs/migration.md): blocks until the move is
    // decided. On success the process lives at `to` (same pid) and `process` is closed here;
    // on failure it stays, its queue intact. Errors of DirectEngine::on_migrate, plus
    // invalid_argument on the loop thread, closed. Any other thread.
    [[nodiscard]] Status migrate(const std::shared_ptr<ProcessState>& process, NodeId to,
                                 Bytes state);
    // Runs on the loop thread when a process migrates to this node, with its state blob; it
    // must not block. Without one the process is hosted all the same (its queue fills up to
    // its limit). Set before processes may arrive; any thread but the loop.
    using ArrivalHandler = std::function<void(std::shared_ptr<ProcessState>, Bytes state)>;
    void set_arrival_handler(ArrivalHandler handler);
    // A location hint (docs/migration.md M11): this node's sends to `pid` go to node `node`
    // (which must be known: add_peer, connect) until an ack says otherwise. Does not block.
    // Errc::closed, queue_full (commands_max).
    [[nodiscard]] Status locate(Pid pid, NodeId node);
    // The pid registered under `name` on this node. Errc::not_found. Any thread.
    [[nodiscard]] Result<Pid> whereis(std::string_view name) const;
    // Whether `node` is this node, or its address (learned from its packets) is on this host
    // (is_local(Endpoint)); false for a node whose address is unknown. Blocks for one loop
    // round trip; any thread but the loop. Errc::closed, invalid_argument (on the loop).
    [[nodiscard]] Result<bool> is_local_peer(NodeId node);

    // Sends `body` from local process `source` to `to` and blocks until the mode's completion
    // point (SendConfig). Any thread but the loop. Errors: those of DirectEngine::on_send
    // (timeout, unreachable, no_such_process, queue_full, too_large, peer_restarted, closed),
    // plus Errc::invalid_argument (invalid pid, or called on the loop thread).
    [[nodiscard]] Status send(const std::shared_ptr<ProcessState>& source, Pid to, Bytes body,
                              const SendConfig& config);
    // Same without blocking: `done` runs once, on the loop thread, with the outcome; it must not
    // block. Returns an error (and never runs `done`) when the send cannot start:
    // invalid_argument, too_large, closed, or queue_full when the process's send ring is full
    // and commands_max commands are queued to the node. One thread at a time per `source`
    // (its ring has one producer; a second thread waits for the first's push, docs/api.md §3).
    [[nodiscard]] Status send_async(const std::shared_ptr<ProcessState>& source, Pid to, Bytes body,
                                    const SendConfig& config, SendCallback done);

    // Receives the oldest message from a source in `from` (any when empty) queued for `self`,
    // waiting up to `timeout` (spinning receive_spin first, then telling the engine the
    // process waits). Errc::timeout, Errc::closed, Errc::invalid_argument (loop thread).
    // The application thread of `self` only.
    [[nodiscard]] Result<Message> receive(ProcessState& self, std::span<const Pid> from,
                                          Duration timeout);
    // Returns at once: the message, or Errc::would_block when none matches, Errc::closed.
    [[nodiscard]] Result<Message> try_receive(ProcessState& self, std::span<const Pid> from);
    // Runs `done` once on the loop thread with the next message for `self` (any source), or
    // Errc::timeout / Errc::closed. One pending at a time per process: a second one completes
    // with Errc::invalid_argument. Returns Errc::closed (without running `done`) when stopped.
    [[nodiscard]] Status receive_async(const std::shared_ptr<ProcessState>& self,
                                       std::vector<Pid> from, Duration timeout,
                                       ReceiveCallback done);

    // Stops accepting sends (Errc::closed), waits up to drain_max for pending ones to complete,
    // then completes the rest with Errc::closed, closes every process and the transport, and
    // joins the loop thread. Blocks; idempotent. From a callback on the loop thread it only
    // starts the shutdown (the destructor, on another thread, joins).
    void stop();
    [[nodiscard]] bool stopped() const { return stopping_.load(std::memory_order_acquire); }

    // The first step of a shutdown that loses no accepted message: from now on, messages (data
    // and RPC requests) from other nodes are dropped unacknowledged, so no sender sees them
    // accepted (they retransmit, then see unreachable once the node stops); everything else
    // (acks, pings, local sends, receives) goes on, so processes can still drain their inboxes
    // and send replies. After it returns no inbox grows with remote messages. Blocks for one
    // loop round trip. Any thread but the loop; idempotent. Errc::closed once stopped.
    [[nodiscard]] Status refuse_incoming();

    struct Counters {
        proto::direct::DirectEngine::Counters direct;
        Transport::Counters transport;
        Link::Counters link;
        PeerTable::Counters peers;
        PathChecks::Counters paths;
        std::uint64_t packets_received = 0, packets_unhandled = 0, packets_anonymous = 0;
        std::uint64_t deliveries_dropped = 0, pings_answered = 0;
        std::uint64_t packets_unroutable = 0;  // Sent to an address handle nobody registered.
        std::uint64_t callbacks_threw = 0;     // Application callbacks that threw (upcall).
        std::uint64_t memory_trims = 0;        // Freed memory given back to the system.
        std::uint64_t incoming_refused = 0;    // Remote messages dropped after refuse_incoming.
        std::uint64_t acks_coalesced = 0;      // Direct acks superseded within a loop batch.
        std::uint64_t peers_known = 0, processes = 0, operations_pending = 0;
        // State kept per remote node (peer table, address checks, replay windows, the direct
        // engine's peer records, the RPC server's client records): entries and estimated bytes.
        std::uint64_t peer_state_entries = 0, peer_state_bytes = 0;
        std::uint64_t loopback_packets = 0;  // Packets the engines sent to this node itself.
        // Multicast and broadcast packets sent as one datagram to the group or broadcast
        // address, and those fanned out to their node list (no capability, unknown handle).
        std::uint64_t group_datagrams = 0, group_fan_outs = 0;
        // Engines' IP groups (by value) joined now, and joins or registrations refused (bad
        // address family, groups_max, the OS refused the join; docs/groups.md G22).
        std::uint64_t group_joined = 0, group_address_errors = 0;
        NodeRpcCounters rpc;
        // The node's durable store (data_dir): commits, writes, failed commits, batches not yet
        // committed, and whether every commit so far succeeded.
        std::uint64_t store_commits = 0, store_writes = 0, store_errors = 0;
        std::uint64_t durable_pending = 0;
        std::uint64_t loop_polls = 0;  // Loop::polls: passes polling instead of sleeping.
        bool store_open = false, store_healthy = true;
        bool authenticated = false;  // A cluster key is in use (link.auth_failed: drops).
        bool encrypted = false;      // Packets sent are encrypted (NodeConfig::encrypt).
        // Replay floors read from the store at open (senders), and whether the record was
        // there but did not decode (then ignored).
        std::uint64_t replay_floors_restored = 0;
        bool replay_record_bad = false;
    };
    // A snapshot. Blocks for one loop round trip (the last snapshot once stopped).
    [[nodiscard]] Counters counters() const;

    // The RPC engine's host: serve, call, durable state (node_rpc.h). Valid for the node's life.
    [[nodiscard]] NodeRpc& rpc() const { return *rpc_; }
    // The mailbox engine's host: create, send, receive, ack (node_mailbox.h). Node's life.
    [[nodiscard]] NodeMailbox& mailbox() const { return *mailbox_; }
    // The naming engine's host: register, lookup, unregister, list (node_naming.h). Node's life.
    [[nodiscard]] NameBackend& naming() const { return *naming_; }
    // The group engine's host (node_group_service.h), or nullptr unless group_enabled.
    [[nodiscard]] NodeGroupService* groups_service() const { return group_service_.get(); }
    // The ordering engine's host (node_order_service.h), or nullptr without a group engine.
    [[nodiscard]] NodeOrderService* order_service() const { return order_service_.get(); }

private:
    class Carrier;  // Carries the engines' effects out (EngineSet::apply's driver).
    struct AddressEntry {
        Endpoint endpoint;
        std::uint32_t users = 0;  // Pending pings of it; 0: the handle is free.
    };
    enum class NodeTimer : std::uint8_t {
        receive = 2,
        reassembly = 3,
        drain = 4,
        replay = 5,
        memory = 6
    };
    // How often the loop checks whether the allocator holds much freed memory, and how much
    // makes it give the memory back to the system (check_memory).
    static constexpr Duration memory_check_period = Duration::seconds(5);
    static constexpr std::size_t memory_trim_free_min = std::size_t{1} << 20;
    // A send that went to the shared queue because its process's ring was full.
    struct OverflowSend {
        SendCommand command;
        std::shared_ptr<ProcessState> source;
    };
    Status open(const NodeConfig& config);
    // Loop thread: polls for durable_poll instead of sleeping (a commit is on its way).
    void poll_for_durable();
    Status open_store(const NodeConfig& config);
    // Replay floors across restarts (docs/security.md "Replays"): read at open, written every
    // replay_persist_interval when they changed and at shutdown. Keys and a store only.
    void restore_replay_floors(store::Store& store);
    void persist_replay_floors();
    void start_loop();

    // NodeContext (for services).
    [[nodiscard]] Time now() const override { return clock_.now(); }
    [[nodiscard]] std::int64_t unix_ns() const override { return clock_.unix_ns(); }
    [[nodiscard]] bool in_loop_thread() const override { return loop_.in_loop_thread(); }
    [[nodiscard]] bool post(std::function<void()> task) override;
    void defer(std::function<void()> task) override { deferred_.push_back(std::move(task)); }
    [[nodiscard]] bool accepting() const override { return !shut_down_ && !draining_; }
    [[nodiscard]] bool shut_down() const override { return shut_down_; }
    [[nodiscard]] bool has_process(Pid pid) const override;
    [[nodiscard]] bool knows_node(NodeId node) const override;
    void learn_peer(NodeId node, std::string_view url) override;
    [[nodiscard]] Status reserve_command() override;
    void release_command() override;
    [[nodiscard]] proto::OperationId begin_operation(Completion done) override;
    [[nodiscard]] proto::OperationId begin_operation(Completion done,
                                                     DurableAnswer durable) override;
    [[nodiscard]] proto::OperationId begin_send(SendCallback sent) override;
    void answer(Completion& done, Result<Bytes> result) override {
        upcall(done, std::move(result));
    }
    void check_drained() override;
    [[nodiscard]] Result<std::vector<store::Record>> read_store(std::string prefix) override;
    [[nodiscard]] proto::EngineSet& engines() override { return *engines_; }
    [[nodiscard]] proto::Effects& effects() override { return effects_; }
    void carry_out(Time now_time) override;

    // Loop thread: inputs.
    void on_datagram(const Endpoint& from, ByteView datagram);
    void on_packet(const Endpoint& from, wire::Packet& packet, Time now);
    // Hands `packet` to its engine, which may take its body.
    // `address`: where it came from (nullptr for packets that did not come from a transport).
    void dispatch_packet(NodeId from, wire::Packet& packet, Time now,
                         const Endpoint* address = nullptr);
    // What the RPC engine's admission knows of a sender's address (docs/rpc.md, "Admission").
    [[nodiscard]] proto::rpc::Source rpc_source(const Endpoint& from) const;
    void on_wake();
    void on_node_timer(proto::TimerId id, Time now);
    // Every memory_check_period: when the allocator keeps memory_trim_free_min or more of
    // memory freed since the last trim (state that went: reassembly buffers, peer records after
    // a flood), malloc_trim gives it back to the system (docs/security.md, "Memory"); then
    // re-arms itself.
    void check_memory(Time now);
    void run_deferred();
    // A timer was set, moved or cancelled: the loop's wake-up is re-armed at the end of the
    // batch (flush), once for all of its inputs, so rearm itself is cheap. Loop thread.
    void rearm();
    // The batch's end: arms the loop's wake-up at the earliest deadline of all timer sets (the
    // engines', the node's, the link's reassembly), earlier or later than before; no system
    // call when that deadline did not change.
    void arm_wake(Time now);
    void schedule_flush();
    // Ends the loop batch: the engines send what they held back (on_batch_end), then the link
    // and the transport flush.
    void flush();
    void note_unreachable(NodeId node);

    // Runs an application callback on the loop thread. One that throws is counted
    // (callbacks_threw) and the node goes on: no exception crosses into the runtime
    // (STYLE.md, Errors), and the loop never stops on a user's bug.
    template <class F, class... Args>
    void upcall(F& callback, Args&&... args) noexcept {
        try {
            callback(std::forward<Args>(args)...);
        } catch (...) {
            ++counters_.callbacks_threw;
        }
    }

    // Loop thread: effects.
    void route(proto::SendEffect& send, const proto::Effects& out);
    // Forwarded data (docs/migration.md M8): the forwarder adds where it reaches the data's
    // sending node (extension forwarded_for); the node it goes to learns that address when it
    // knows none, so that its acks reach the sender.
    void add_forwarded_for(wire::Packet& packet) const;
    void learn_forwarded_sender(const wire::Packet& packet, Time t);
    // Whether a packet of `source` from `from` goes on, learning the address: always for an
    // unknown node, its known address, or with a key or tcp; otherwise after a path check
    // (path_checks.h, docs/security.md "Address changes").
    bool admit_address(NodeId source, const Endpoint& from, const wire::Packet& packet, Time t);
    // One datagram for a multicast or broadcast destination; false: fan out (node_groups.cpp).
    bool route_to_group(const proto::SendEffect& send);
    // An engine joins or leaves an IP multicast group it names by value (node_groups.cpp).
    void group_membership(const proto::MembershipEffect& m);
    // The GroupTable handle of an engine's group by value, registered (as sender) on first
    // use; 0 when the table refuses it (counted group_address_errors).
    std::uint32_t ip_group_handle(const proto::IpGroup& group, GroupRole role);
    // Deliveries (node_receive.cpp): an engine's delivery goes to a pending receive_async, or
    // joins the batch that hand_deliveries gives each process's inbox under one lock with at
    // most one wake-up: at the end of the loop batch (flush), when delivery_batch_max are
    // pending, and before anything on the loop looks into an inbox (receive_async, migration,
    // shutdown).
    void deliver(Message message, Time now);
    [[nodiscard]] ProcessState* delivery_target(Pid target);
    void queue_delivery(ProcessState& process, Message message);
    void hand_deliveries();
    void hand_grouped();  // hand_deliveries for deliveries to more than one process.
    void complete(proto::OperationId op, Result<Bytes> result);
    void persist(proto::EngineSlot slot, std::uint64_t token,
                 std::span<proto::PersistEffect> parts);
    // Loop task of the store writer's report: takes every commit it reported and tells the
    // engines (on_durable).
    void on_committed();
    void committed(std::span<const std::uint64_t> tokens, const Status& status);

    // Sends (node_send.cpp). Application threads: queue_send and overflow_send under the
    // ring's producer lock; list_ring from any thread. The rest on the loop thread.
    Status queue_send(const std::shared_ptr<ProcessState>& source, SendRing& ring,
                      SendCommand& command);
    Status overflow_send(const std::shared_ptr<ProcessState>& source, SendRing& ring,
                         SendCommand& command);
    // Puts an awake ring on the ready list (the first on an empty list posts drain_rings);
    // false once close_rings has run (the caller takes its command back).
    bool list_ring(SendRing& ring);
    void drain_rings();
    void drain_sends();              // The shared queue: overflowed sends.
    void take_ring(SendRing& ring);  // Appends its commands to sends_taken_.
    // Hands sends_taken_ to the direct engine (as one batch), or fails them closed when the
    // node no longer accepts sends.
    void hand_sends();
    void feed_sends(proto::direct::DirectEngine& direct, Time t, proto::Effects& out);
    void settle_ring(SendRing& ring);  // After a drain: sleep, or list again.
    void close_ring(SendRing& ring);   // Fails what it holds closed until it sleeps.
    void close_rings();                // At shutdown: the ready list is closed for good.
    // The ready list's "closed" mark: an address that is no ring (compared, never used).
    [[nodiscard]] SendRing* rings_closed() { return reinterpret_cast<SendRing*>(&rings_ready_); }

    // Loop thread: commands.
    Result<std::shared_ptr<ProcessState>> start_process(const ProcessConfig& config);
    void end_process(const std::shared_ptr<ProcessState>& process);
    void start_async_receive(const std::shared_ptr<ProcessState>& self, std::vector<Pid> from,
                             Duration timeout, ReceiveCallback done);
    void finish_async_receive(ProcessState& self, Result<Message> result, Time now);
    void receive_posted(Pid pid, std::vector<Pid> from);
    void receive_ended(Pid pid);
    // Consumption reports (ProcessState::add_consumed): post_report (any thread) queues
    // report_consumed; fold_consumed runs before the engine handles data for `target`.
    void post_report(Pid pid);
    void report_consumed(Pid pid);
    void fold_consumed(Pid target);
    void report_to_engine(Pid pid, std::uint32_t count);
    // The group or ordering engine in `slot`: `count` of its deliveries to `pid` were taken.
    void report_group_consumed(proto::EngineSlot slot, Pid pid, std::uint32_t count);

    // Receive helpers (node_receive.cpp): spin_receive on the application thread; accept
    // (posts the report a take asked for) on whichever thread took.
    std::optional<ProcessState::Taken> spin_receive(ProcessState& self, std::span<const Pid> from,
                                                    Time until);
    Message accept(ProcessState& self, ProcessState::Taken taken);

    // Loop thread: ping by URL and the address handles behind Destination::address
    // (node_ping.cpp).
    void start_ping(const Endpoint& to, Duration timeout, PingCallback done);
    // A handle for `endpoint` (shared by pings of one address); nullopt when addresses_max
    // handles are in use. Each claim needs one release.
    std::optional<std::uint32_t> claim_address(const Endpoint& endpoint);
    void release_address(std::uint32_t handle);
    [[nodiscard]] const Endpoint* address(std::uint32_t handle) const;

    // Loop thread: shutdown.
    void begin_drain(bool from_callback);
    void finish_shutdown();
    Counters snapshot() const;

    static proto::TimerId node_timer(NodeTimer kind, std::uint64_t id);

    // Fixed after start(); read by any thread.
    NodeConfig config_;
    Clock& clock_;
    Endpoint listen_;
    NodeId id_;
    std::uint32_t incarnation_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<std::uint32_t> commands_queued_{0};
    // Processes' send rings with commands for the loop: a lock-free stack that producers push
    // (list_ring) and drain_rings takes whole; rings_closed() after shutdown.
    std::atomic<SendRing*> rings_ready_{nullptr};
    // Sends whose ring was full, taken by one loop task (bounded by commands_max).
    std::mutex sends_mutex_;
    std::vector<OverflowSend> sends_;  // Guarded by sends_mutex_.
    bool sends_posted_ = false;        // Guarded by sends_mutex_: a drain_sends task is queued.

    // Loop thread only (below `loop_`, so they are destroyed before the io_context).
    mutable Loop loop_;  // Mutable: counters() const posts to it.
    std::unique_ptr<Transport> transport_;
    PeerTable peers_;
    PathChecks path_checks_;
    std::size_t trimmed_free_bytes_ = 0;  // Free heap bytes after the last trim (check_memory).
    // Key of the hash that names source addresses to the RPC engine (rpc_source).
    wire::HashKey address_key_ = wire::random_hash_key();
    std::vector<PathChecks::Challenge> challenges_;  // Scratch of admit_address.
    std::unique_ptr<Link> link_;
    GroupTable groups_;
    std::map<proto::IpGroup, std::uint32_t> ip_groups_;  // Engines' groups by value: handles.
    std::set<proto::IpGroup> ip_joined_;                 // Of them, joined at the transport.
    Transport::Capabilities capabilities_;               // transport_->capabilities() at open.
    Random random_;
    std::unique_ptr<proto::EngineSet> engines_;
    std::array<TimerSet, proto::EngineSet::engines_max> engine_timers_;  // By engine slot.
    proto::direct::DirectEngine* direct_ = nullptr;                      // In engines_.
    proto::EngineSlot direct_slot_ = 0;
    proto::EngineSlot rpc_slot_ = 0;
    std::unique_ptr<StoreWriter> store_;  // With data_dir: the node's durable store.
    // What on_committed took from the store writer (kept for their capacity). Loop thread.
    std::vector<StoreWriter::Commit> commits_taken_;
    std::vector<std::uint64_t> tokens_taken_;
    std::uint64_t replay_persisted_ = 0;  // Link::replay_changes() when last written.
    std::unique_ptr<NodeRpc> rpc_;
    std::unique_ptr<NodeMailbox> mailbox_;
    std::unique_ptr<NameBackend> naming_;
    std::unique_ptr<NodeGroupService> group_service_;
    std::unique_ptr<NodeOrderService> order_service_;
    TimerSet node_timers_;
    proto::Effects effects_;
    std::deque<std::function<void()>> deferred_;  // Inputs produced while applying effects.
    // Nodes that packets were routed to without a known address in this batch; flush() tells
    // the engines (Engine::on_unreachable). At most unreachable_max per batch.
    static constexpr std::size_t unreachable_max = 64;
    std::vector<NodeId> unreachable_;
    bool running_deferred_ = false;
    std::unique_ptr<asio::steady_timer> wake_timer_;
    WakeSchedule wake_;
    bool wake_dirty_ = false;  // A timer changed since the last arm_wake.
    bool flush_scheduled_ = false;
    bool flushing_ = false;                     // In flush(), which arms the wake-up at its end.
    std::vector<SendCommand> sends_taken_;      // The batch of sends for the engine.
    std::vector<OverflowSend> overflow_taken_;  // The batch drain_sends took.
    std::vector<SendRing*> rings_taken_;        // The rings drain_rings took.
    // Deliveries not yet handed to their inboxes (deliver), at most delivery_batch_max: the
    // messages, each one's index in delivered_to_, and the processes they go to, each once
    // (ProcessState::delivery_slot), kept alive until the hand-off.
    static constexpr std::size_t delivery_batch_max = 256;
    std::vector<Message> delivered_;
    std::vector<std::uint32_t> delivered_slots_;
    std::vector<std::shared_ptr<ProcessState>> delivered_to_;
    std::vector<std::size_t> delivery_ends_;  // Scratch of hand_grouped.
    std::vector<Message> delivery_grouped_;   // Scratch of hand_grouped.
    // The one operation table of the node: sends, pings, calls of every engine; its ids are the
    // operation ids. A send keeps its callback as it came (no wrapper to allocate on the hot
    // path); the others a Completion.
    struct Operation {
        SendCallback sent;
        Completion done;
        DurableAnswer durable{};  // Handed to the store writer with the write that decides it.
    };
    OperationTable<Operation> ops_;
    std::unordered_map<std::uint64_t, std::shared_ptr<ProcessState>> processes_;
    // Processes that migrated here from other nodes (their pid's node is another).
    std::unordered_map<Pid, std::shared_ptr<ProcessState>> migrated_;
    ArrivalHandler arrival_handler_;  // Loop thread (set before start of traffic).
    // A process migrated here: hosts it and tells the arrival handler. Loop thread.
    void arrive(Pid pid, Bytes state);
    [[nodiscard]] std::shared_ptr<ProcessState> hosted(Pid pid) const;
    // The same without a reference: valid until the loop next changes the tables.
    [[nodiscard]] ProcessState* hosted_pointer(Pid pid) const;
    std::uint64_t dynamic_next_ = 1;
    std::uint64_t timer_next_ = 1;
    std::unordered_map<std::uint64_t, Pid> receive_timers_;
    std::vector<AddressEntry> addresses_;  // By handle - 1.
    std::vector<std::uint32_t> free_addresses_;
    std::map<Endpoint, std::uint32_t> address_handles_;
    bool draining_ = false;
    bool refusing_ = false;  // refuse_incoming() was called.
    bool shut_down_ = false;
    Counters counters_;

    // Names: written on the loop thread, read by whereis() on any thread.
    mutable std::mutex names_mutex_;
    std::unordered_map<std::string, Pid> names_;
    // The counters at shutdown, for counters() after stop().
    mutable std::mutex final_mutex_;
    std::unique_ptr<Counters> final_counters_;
};

}  // namespace herald::runtime

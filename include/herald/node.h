// Node: the Herald runtime inside this OS process. It listens on one URL, hosts processes,
// and talks to other nodes. Start one per program (or several, for tests). Public API;
// docs/api.md describes every call, its blocking behaviour and its errors.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "herald/coordination.h"
#include "herald/errors.h"
#include "herald/export.h"
#include "herald/group.h"
#include "herald/ids.h"
#include "herald/naming.h"
#include "herald/process.h"
#include "herald/rpc.h"

namespace herald {

// NodeOptions::receive_spin's default: 2 µs with 2 hardware threads or fewer (or an unknown
// count), 20 µs with more. A spinning receiver holds a core; with only two, it holds the one
// the nodes' loop threads need to deliver what it waits for. herald-bench --quick on 2 cores,
// median of 24 repeats, 1 B udp round trip p50 / 64 B udp stream: spin 20 µs: 84 µs / 293k
// msg/s; 2 µs: 49 µs / 294k msg/s; none: 50 µs / 273k msg/s (docs/api.md §3).
[[nodiscard]] inline std::chrono::nanoseconds default_receive_spin() {
    static const std::chrono::nanoseconds spin = std::thread::hardware_concurrency() <= 2
                                                     ? std::chrono::microseconds(2)
                                                     : std::chrono::microseconds(20);
    return spin;
}

struct NodeOptions {
    // udp://IP:PORT (IPv4 or [IPv6]), unix:/path, tcp://IP:PORT, inproc://name. Port 0: any.
    std::string listen = "udp://127.0.0.1:0";
    // 0 (unknown): derived from the bound listen URL, so a node restarted on the same URL
    // keeps its id, and well-known pids on it stay valid.
    NodeId id;
    // Fault injection on outgoing datagrams: "loss=0.2,dup=0.05,reorder=0.1,delay_us=500,
    // seed=7". Empty: the HERALD_FAULTS environment variable (when faults_from_env).
    std::string faults;
    bool faults_from_env = true;
    // Largest datagram, 0 or at least 548 (invalid_argument below); larger packets are sent
    // as fragments, smaller ones packed up to it. 0: the transport's default, for udp the MTU
    // of the listen address's interface minus the IP and UDP headers (docs/wire.md).
    std::size_t datagram_bytes_max = 0;
    std::uint32_t message_bytes_max = 16u << 20;  // Larger bodies fail with too_large.
    // First wait before a resend; it doubles up to 1 s (or up to this value when larger).
    std::chrono::nanoseconds retransmit_initial = std::chrono::milliseconds(20);
    std::chrono::nanoseconds peer_timeout = std::chrono::seconds(5);  // Silence: unreachable.
    std::uint32_t window_messages = 256;     // Unacknowledged messages in flight per channel.
    std::uint32_t sender_buffer_max = 4096;  // OnFull::buffer slots per channel.
    std::chrono::nanoseconds drain_timeout = std::chrono::milliseconds(500);  // stop() waits.
    // How long a blocking receive that finds its inbox empty polls it before it sleeps (a reply
    // already on its way then costs no sleep and wake-up). The default depends on the machine
    // (default_receive_spin); any value set here is used as is, 0 never spins.
    std::chrono::nanoseconds receive_spin = default_receive_spin();
    // With data_dir: how long the node's loop thread polls for work instead of sleeping after it
    // hands a write to the store and after each commit, and one blocking mailbox send or ack at
    // a time polls for its answer before it sleeps (so that the commit's outcome and the
    // caller's next send cost no thread wake-up: docs/api.md §3). At most 100 ms (else
    // invalid_argument); 0 never polls. The cost: up to this much CPU of the loop thread per
    // commit and of the polling caller per call, yielded to any other thread that is ready.
    std::chrono::nanoseconds durable_poll = std::chrono::microseconds(200);
    // Folder of the node's durable store (created when missing; file herald.db, locked by one
    // node at a time): the durable RPC reply cache and handlers' state (serve_with_state).
    // Empty: nothing is kept on disk, and durable options are refused.
    std::string data_dir;
    // Cluster key file (docs/security.md; `herald keygen` writes one): every packet this node
    // sends is authenticated with its first key and every packet it receives must carry a tag
    // of one of its keys, or it is dropped (NodeStats::auth_failed). Empty: unauthenticated.
    // start() fails with invalid_argument when the file is unreadable, malformed or open to
    // group or others.
    std::string key_file;
    // With key_file: also encrypt everything after the fixed header of every packet this node
    // sends (XChaCha20 under the packets' MAC: docs/security.md, "Encryption"). A node with
    // a key reads encrypted packets whether or not it sets this. Without key_file, start()
    // fails with invalid_argument.
    bool encrypt = false;
    RpcNodeOptions rpc;        // Serving and calling (herald/rpc.h).
    NamingNodeOptions naming;  // The name service (herald/naming.h, docs/naming.md).
    GroupNodeOptions groups;   // The group service (herald/group.h, docs/groups.md).
    // Where the name service keeps names: the embedded name server (`naming`, the default) or
    // an etcd cluster (herald/coordination.h, docs/coordination.md). Groups stay embedded.
    CoordinationOptions coordination;
};

struct PingReply {
    NodeId node;
    std::uint32_t incarnation = 0;  // Changes every time that node restarts.
    std::chrono::nanoseconds rtt{0};
};

// Counters for tests and monitoring (a snapshot).
struct NodeStats {
    std::uint64_t messages_delivered = 0;  // Into this node's inboxes.
    std::uint64_t retransmits = 0, duplicates_dropped = 0, malformed_dropped = 0;
    std::uint64_t datagrams_sent = 0, datagrams_received = 0;
    std::uint64_t faults_dropped = 0, faults_duplicated = 0;  // By fault injection.
    std::uint64_t unknown_peer_dropped = 0;  // Sends to a node whose address is unknown.
    std::uint64_t peers_known = 0, processes = 0;
    // Application callbacks (send_async, receive_async, call_async, ...) that threw: the
    // exception is caught on the loop thread and counted; the node goes on.
    std::uint64_t callbacks_threw = 0;
    // The node's durable store (data_dir): failed commits, and false once one failed (its
    // waiting operations failed with storage_error).
    std::uint64_t store_errors = 0;
    bool store_healthy = true;
    // Commits of the durable store and the records they wrote or erased: writes per commit is
    // how many operations group commit gathered into one fsync.
    std::uint64_t store_commits = 0, store_writes = 0;
    // Passes the node's loop thread made polling for work instead of sleeping
    // (NodeOptions::durable_poll): 0 while it never polled.
    std::uint64_t loop_polls = 0;
    // Cluster key in use (NodeOptions::key_file), packets dropped for a missing or wrong
    // authentication tag, and authentic packets dropped as replays (a packet number seen before).
    bool authenticated = false;
    std::uint64_t auth_failed = 0;
    std::uint64_t replays_dropped = 0;
    // With a key and a data_dir: the senders whose replay floors the node read from its store at
    // start (docs/security.md "Replays"), and whether that record was unreadable (ignored).
    std::uint64_t replay_floors_restored = 0;
    bool replay_record_bad = false;
    // Without a key, a known node's packets from another address (docs/security.md "Address
    // changes"): checks begun, addresses changed after one, checks that found the node alive
    // where it was, and packets dropped from an address not (yet) accepted.
    std::uint64_t address_checks = 0, address_moves = 0, address_refused = 0;
    std::uint64_t address_dropped = 0;
    // NodeOptions::encrypt in use, and encrypted packets received and read.
    bool encrypted = false;
    std::uint64_t decrypted = 0;
    // Memory held now for fragmented messages still incomplete (bounded: docs/wire.md), and
    // how many such messages there are.
    std::uint64_t reassembly_bytes = 0, reassembly_partials = 0;
    // State held now per remote node: entries of the peer table, address checks, replay windows
    // (with a key), the direct protocol's peer records and the RPC server's client records, and
    // their estimated heap bytes (from the structures' sizes, not measured by the allocator).
    // Bounded: docs/security.md, "Memory".
    std::uint64_t peer_state_entries = 0, peer_state_bytes = 0;
    // Times the node gave freed memory back to the system (1 MiB or more freed since the last time
    // and kept by the allocator, checked every 5 s: docs/security.md, "Memory").
    std::uint64_t memory_trims = 0;
    // Names: requests sent to the name server, lookups answered from this node's cache, sends
    // and calls by name resolved again after the cached owner was gone (no_such_process),
    // names this node renews for its processes, and (on the server's node) names held.
    std::uint64_t name_requests = 0, name_cache_hits = 0, name_retries = 0;
    std::uint64_t names_held = 0, names_served = 0;
    // Names on etcd (docs/coordination.md "Watches"): name changes the watch reported (each
    // drops that name's cached owner) and watch streams opened (1 + reconnects); 0 embedded.
    std::uint64_t name_watch_events = 0, name_watch_streams = 0;
    // On the name server's node (docs/naming.md rule 14): holder nodes declared dead, and names
    // dropped because their holder was declared dead or restarted.
    std::uint64_t name_holders_dead = 0, names_dropped_dead = 0;
    // Migration (docs/migration.md M13): processes that left / arrived / failed to leave;
    // data packets this node forwarded for processes that left; data for processes that
    // arrived here that came forwarded / straight from the sender; sender channels that
    // learned a new location from an ack (later sends go direct); forwarding entries held.
    std::uint64_t migrations_out = 0, migrations_in = 0, migrations_failed = 0;
    std::uint64_t messages_forwarded = 0, received_forwarded = 0, received_direct = 0;
    std::uint64_t location_updates = 0, forwards_live = 0;
    // Groups (0 unless the group engine runs here): views this node installed, multicasts its
    // processes sent (Process::multicast calls), multicast copies delivered to its members,
    // group packets sent again (requests, views, data), and nodes the failure detector removed
    // (on the server's node).
    std::uint64_t group_views_installed = 0, group_multicasts_sent = 0;
    std::uint64_t group_delivered = 0, group_retransmits = 0, group_suspicions = 0;
    // Request multicasts (docs/groups.md G24): answers this node's processes sent
    // (Process::reply), answers its requests collected, and answers dropped late (after the
    // collection ended, twice from one member, or from a process not addressed).
    std::uint64_t group_answers_sent = 0, group_answers_collected = 0, group_answers_late = 0;
    // Groups on etcd (docs/coordination.md C12-C17; 0 embedded): views this node committed
    // (creates, joins, leaves, prunes), transactions that lost to a concurrent change and were
    // retried, members of ended nodes this node took out, and the group watch's events and
    // streams opened (1 + reconnects).
    std::uint64_t group_etcd_changes = 0, group_etcd_conflicts = 0, group_etcd_pruned = 0;
    std::uint64_t group_etcd_skipped = 0;  // Keys not followed: not views, beyond groups_max.
    std::uint64_t group_watch_events = 0, group_watch_streams = 0;
    // Two-level addressing (docs/groups.md G22): multicasts sent to a group's IP multicast or
    // broadcast address (one group_data for all other member nodes); packets sent to such an
    // address (a fragmented one counts once), and packets for one that were fanned out
    // instead (no capability); IP multicast groups joined now; joins or group addresses
    // refused; and datagrams (fragments too) received on a group or broadcast socket.
    std::uint64_t group_address_sends = 0, group_datagrams = 0, group_fan_outs = 0;
    std::uint64_t group_joined = 0, group_address_errors = 0, group_received = 0;
    // Ordered multicast (0 without a group engine): messages delivered to this node's
    // members, order packets sent again, view changes this node coordinated the flush of, and
    // messages a flush left out (no survivor had them all, docs/ordering.md O31).
    std::uint64_t ordered_delivered = 0, ordered_retransmits = 0;
    std::uint64_t ordered_flushes = 0, ordered_flush_discarded = 0;
    // Atomic multicast (docs/groups.md G23, docs/ordering.md O36): fault-tolerant atomic copies
    // this node's members re-multicast, messages they first got from such a relay (not from
    // their sender), and, a gauge, ordering entries they hold now (received and not yet
    // delivered, or delivered and kept until every member delivered them, for a flush).
    std::uint64_t ordered_relays_sent = 0, ordered_relayed_first = 0, ordered_held = 0;
    // Flow control toward slow members (docs/groups.md G25, docs/ordering.md O37): multicast
    // copies not delivered to a member out of credit (its inbox held member_queue_max of that
    // engine's deliveries; the sender resends, or a reliability-0 copy is lost), ordered
    // entries a member out of credit did not take (their senders resend), and times a member
    // ran out of ordered credit.
    std::uint64_t group_credit_dropped = 0, ordered_credit_dropped = 0;
    std::uint64_t ordered_credit_stalls = 0;
    // Ordered multicast's two-level addressing (docs/ordering.md O38): entries whose first
    // transmission went as one datagram to the group's IP multicast or broadcast address, and
    // such datagrams no member of this node took (none in that view here).
    std::uint64_t ordered_address_sends = 0, ordered_unclaimed_dropped = 0;
};

// Thread safety: every Node method may be called from any thread, except from the node's own
// callbacks (send_async / receive_async), where blocking calls return invalid_argument.
class HERALD_API Node {
public:
    // Binds `options.listen` and starts the node's loop thread. Errc::invalid_argument (bad URL,
    // fault spec or option), Errc::io_error (bind failed), Errc::already_exists (inproc name).
    [[nodiscard]] static Result<std::unique_ptr<Node>> start(const NodeOptions& options = {});
    ~Node();  // stop().
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    [[nodiscard]] NodeId id() const;
    [[nodiscard]] std::uint32_t incarnation() const;
    // The bound URL, with the port the system chose: give it to other nodes.
    [[nodiscard]] std::string listen_url() const;

    // Asks the node at `url` who it is (hello / hello_reply, retried until `timeout`) and
    // remembers its address, so processes can send to its pids. Blocks.
    // Errc::unreachable (no answer in time), invalid_argument (bad URL), closed.
    [[nodiscard]] Result<NodeId> connect(
        std::string_view url, std::chrono::nanoseconds timeout = std::chrono::seconds(2));
    // Same exchange, reporting identity, incarnation and round-trip time.
    [[nodiscard]] Result<PingReply> ping(
        std::string_view url, std::chrono::nanoseconds timeout = std::chrono::seconds(2));
    // Turns "<pid>@<url>" into a pid this node can send to (connecting to url; when another
    // node than the pid's answers there, the process is taken to live there now, having
    // migrated: this node's sends to it go there first, and fail no_such_process if it is not
    // there), "<pid>" into a pid as is, or a name into its owner (lookup_name). Errors of
    // parse_process_address, connect and lookup_name; Errc::not_found (no such name).
    [[nodiscard]] Result<Pid> resolve(std::string_view address,
                                      std::chrono::nanoseconds timeout = std::chrono::seconds(2));

    // --- Names (herald/naming.h; docs/api.md "Names"). Each blocks for a round trip to the
    // name server (up to ~2 s when it does not answer: then Errc::unreachable). Errors also:
    // invalid_argument (bad name: check_name; called from a callback), queue_full (too many
    // requests in flight), closed. Processes register names: Process::register_name.
    // The owner of `name`, from this node's cache when fresh (up to 1 s old), else from the
    // server. Errc::not_found.
    [[nodiscard]] Result<NameInfo> lookup_name(std::string_view name);
    // The names starting with `prefix` (empty: all), in name order, at most 256.
    [[nodiscard]] Result<std::vector<NameInfo>> list_names(std::string_view prefix = {});
    // Registers `name` for `owner`, any pid (the name server does not check that it lives).
    // When `owner` is a live process of this node, the node holds the name as
    // Process::register_name does (renewed while it lives, unregistered when it exits);
    // otherwise the name lives one `lease` unless registered again. Errors of
    // Process::register_name; invalid_argument also for an invalid pid.
    [[nodiscard]] Status register_name(std::string_view name, Pid owner,
                                       std::chrono::nanoseconds lease = default_name_lease);
    // Unregisters `name` on behalf of its owner, which must be a process of this node (the
    // node hosting it, e.g. heraldd for `herald name unregister`). Errc::not_found,
    // access_denied (the owner lives on another node), storage_error.
    [[nodiscard]] Status unregister_name(std::string_view name);

    // --- Groups (herald/group.h; docs/api.md "Groups"). Errors also: invalid_argument (bad
    // name: check_group_name; called from a callback), queue_full, unreachable (no group
    // server configured or answering), timeout (no answer in 5 s), closed.
    // Creates group `name` (view 1, or one above the final view of a deleted group of that
    // name; no members), open or closed. Errc::already_exists,
    // queue_full (256 groups on the server). Blocks for a round trip to the group server.
    // `order` (fixed at create; herald/group.h Order, docs/ordering.md) is how members'
    // ordered multicasts (Process::ordered_multicast) are delivered. `address` (fixed at
    // create; herald/group.h GroupAddress, docs/groups.md G22) is how multicasts reach the
    // member nodes: a host list (the default), an IP multicast group, or the broadcast
    // address. Errc::invalid_argument also for a multicast address that is not an IP
    // multicast group with a port or not of this node's address family, a multicast group on
    // a transport without IP multicast (only udp has it), broadcast without a broadcast
    // endpoint (NodeOptions cannot set one yet: only runtime::TransportOptions can).
    [[nodiscard]] Result<GroupView> create_group(std::string_view name, bool closed = false,
                                                 Order order = Order::fifo,
                                                 const GroupAddress& address = {});
    [[nodiscard]] Result<GroupView> create_group(std::string_view name, Order order) {
        return create_group(name, false, order);
    }
    // Deletes group `name` (docs/groups.md G21): every member receives a GroupMessage of kind
    // deleted, multicasts to it from member nodes fail not_found, and the name may be created
    // again. Returns once the group is gone everywhere it can be (member nodes that do not
    // answer for the failure detector's suspicion timeout are not waited for). Any node may
    // delete any group. Errc::not_found (no such group). Blocks (up to the request timeout).
    [[nodiscard]] Status delete_group(std::string_view name);
    // The current view of `name`: this node's own when it hosts members of the group or is the
    // group server, else asked of the server (Errc::not_found; access_denied for a closed
    // group). Blocks.
    [[nodiscard]] Result<GroupView> group_view(std::string_view name);
    // The groups the group server holds, in name order. Only on the server's node: elsewhere
    // Errc::unreachable (the server is another node; ask it: `herald group ls`). With groups
    // on etcd (docs/coordination.md C12), on every node.
    [[nodiscard]] Result<std::vector<std::string>> groups();

    // Starts a process on this node. Blocks briefly (one hop to the loop thread).
    // Errc::invalid_argument (local_id >= 2^32, queue_limit 0 or > 2^20, name > 255 bytes),
    // already_exists (local id or name taken), queue_full (too many processes), closed.
    [[nodiscard]] Result<Process> spawn(const ProcessOptions& options = {});
    // Called on this node's loop thread with each process that migrates here (Process::
    // migrate on another node) and the state its application gave; it must not block: move
    // the Process to a thread of yours, or store it. A handler that throws is counted
    // (callbacks_threw) and the process ends. Without a handler, arriving processes are
    // hosted but unserved. Set it once, before processes may arrive.
    using ArrivalHandler = std::function<void(Process process, Bytes state)>;
    void on_arrival(ArrivalHandler handler);
    // The pid of the live process registered under `name` here. Errc::not_found.
    [[nodiscard]] Result<Pid> whereis(std::string_view name) const;
    // Whether `node` runs on this host: it is this node, or the address its packets come from
    // is a unix or in-process address, a loopback address or an address of this host's
    // interfaces. False for a node this node has not heard from. Without a cluster key the
    // answer is as good as the sender's source address. Errc::closed (node stopped),
    // invalid_argument (called from one of this node's callbacks).
    [[nodiscard]] Result<bool> is_local_peer(NodeId node) const;

    // Stops accepting sends, lets pending ones finish for up to drain_timeout, then closes
    // every process (blocked calls return Errc::closed) and the socket. Blocks; idempotent.
    void stop();

    // For a shutdown that loses no accepted message: call refuse_incoming(), let every process
    // take what its inbox holds (and send its replies), then stop(). From the call on, messages
    // from other nodes are dropped unacknowledged (their senders never see them accepted; they
    // retransmit, then get unreachable once this node stops), while acks, pings, local sends
    // and receives go on. Blocks briefly (one hop to the loop thread); idempotent.
    // Errc::closed (the node stopped), invalid_argument (called from a node callback).
    [[nodiscard]] Status refuse_incoming();

    // --- Mailboxes hosted by this node (herald/mailbox.h, docs/mailboxes.md). Each blocks
    // until done (persistent: until durable); errors also: closed, invalid_argument (called
    // from a node callback).
    // Creates mailbox `name`, owned by `owner` (a process of this node, or no pid: the node
    // itself), who has every right and may grant. Errc::invalid_argument (name, capacity 0,
    // owner not of this node; persistent without data_dir), already_exists, queue_full (1024
    // mailboxes), storage_error.
    [[nodiscard]] Status create_mailbox(std::string_view name, const MailboxOptions& options = {},
                                        Pid owner = {});
    // Destroys it: queued messages are discarded, waiting receives fail with closed.
    // Errc::not_found, storage_error.
    [[nodiscard]] Status destroy_mailbox(std::string_view name);
    // Gives `who` the `rights` (mailbox_rights::*, none revokes) on mailbox `name`: `who` a
    // pid, a node (local id 0: all its processes), or no pid (everyone). Asked by `by` (the
    // owner, or no pid: the node). Errc::not_found, access_denied, queue_full (256 grants).
    [[nodiscard]] Status grant_mailbox(std::string_view name, Pid who, std::uint8_t rights,
                                       Pid by = {});
    // Creates bulletin board `name` (docs/boards.md) as create_mailbox does. Errors as
    // create_mailbox, and invalid_argument: keep 0 or over 1048576, retain over 30 days.
    [[nodiscard]] Status create_board(std::string_view name, const BoardOptions& options = {},
                                      Pid owner = {});
    [[nodiscard]] Result<std::vector<MailboxInfo>> mailboxes() const;
    [[nodiscard]] Result<MailboxCounters> mailbox_counters() const;

    [[nodiscard]] NodeStats stats() const;
    [[nodiscard]] RpcStats rpc_stats() const;

    // The durable state records whose key starts with `prefix` (written by handlers served
    // with serve_with_state), in key order: how a server finds its state after a restart.
    // Blocks until the writes queued before the call are on disk. Errc::invalid_argument (no
    // data_dir; called from a callback), storage_error (the store failed), closed.
    [[nodiscard]] Result<std::vector<StateRecord>> read_state(std::string_view prefix = {}) const;

private:
    explicit Node(std::shared_ptr<runtime::Node> impl);
    std::shared_ptr<runtime::Node> impl_;
};

}  // namespace herald

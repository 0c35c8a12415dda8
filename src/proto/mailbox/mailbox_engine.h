// MailboxEngine: indirect communication through named mailboxes (issue 14). Every node runs
// one: as a host it keeps the mailboxes created on it; as a client it sends to, receives from
// and acknowledges on mailboxes of any node (itself included) over unreliable datagrams.
// Layer: proto/mailbox. Sans-I/O, single-threaded. Rules: docs/mailboxes.md (README.md here).
#pragma once

#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/engine.h"
#include "proto/mailbox/mailbox_options.h"
#include "proto/mailbox/mailbox_state.h"

namespace herald::proto::mailbox {

struct MailboxSpec {
    std::string name;  // 1-64 bytes of [A-Za-z0-9._-].
    Durability durability = Durability::transient;
    std::uint32_t capacity_messages = 1024;  // >= 1.
    std::uint64_t capacity_bytes = 1 << 24;  // >= 1.
    // Restricted: only the owner and the pids or nodes granted rights may use it (open: every
    // pid may send and receive). The owner, a process of this node (invalid pid: the node
    // itself), has every right and may grant.
    bool restricted = false;
    Pid owner{};
    // A bulletin board (docs/boards.md): receives copy posts instead of taking them.
    // capacity_messages is the retention by count (keep the newest N, at most
    // board_retain_messages_max), capacity_bytes the byte capacity; both evict the oldest.
    bool board = false;
    std::uint64_t retain_ms = 0;  // Board: drop posts older than this; 0: no age limit.
};

// A selective or peeking receive (docs/mailboxes.md, M18-M20).
struct ReceiveFilter {
    Pid from{};               // Node known: only messages of this pid (local 0: of this node).
    bool peek = false;        // Answer a copy of the first message after `after`; take nothing.
    std::uint64_t after = 0;  // Peek: the seq to start after (0: the first message).
    std::uint64_t take = 0;   // Nonzero: take exactly the message at this seq, or not_found.
};

struct MailboxStats {
    std::string name;
    Durability durability = Durability::transient;
    std::uint32_t capacity_messages = 0;
    std::uint64_t capacity_bytes = 0;
    std::uint32_t messages = 0;  // Queued, leased and being written.
    std::uint64_t bytes = 0;
    std::uint32_t queued = 0;
    std::uint32_t leased = 0;
    std::uint32_t waiters = 0;
    bool restricted = false;
    Pid owner{};
    std::uint32_t grants = 0;
    bool board = false;
    std::uint64_t retain_ms = 0;
    std::uint32_t readers = 0;    // Board: reader cursors kept.
    std::uint64_t first_seq = 0;  // Board: the oldest retained post's seq (0: none).
    std::uint64_t next_seq = 0;   // Board: the seq the next post gets.
};

class MailboxEngine final : public Engine {
public:
    // `options` must outlive the engine.
    MailboxEngine(const EngineContext& context, const MailboxOptions& options);

    // Creates a mailbox hosted by this node. Completes `op` (persistent: once its definition
    // is durable) with an empty body, or: invalid_argument (name or capacity), already_exists,
    // queue_full (options.mailboxes_max), storage_error (the definition could not be written).
    void on_create(OperationId op, const MailboxSpec& spec, Time now, Effects& out);
    // Destroys a mailbox of this node: queued and leased messages are discarded (persistent:
    // erased), waiting receives are answered `closed`, later acks get `not_found`. Completes
    // `op` (persistent: once erased) or fails with not_found or storage_error.
    void on_destroy(OperationId op, std::string_view name, Time now, Effects& out);

    // Sends `body` to mailbox `name` on node `host`. Completes `op` with an empty body once the
    // host accepted it (persistent: durable), or: invalid_argument, too_large, queue_full
    // (mailbox full, or options.requests_max outstanding), not_found (no such mailbox),
    // storage_error (the host could not write it), closed (destroyed meanwhile), peer_restarted
    // (transient: the host restarted since the first transmission, M17), timeout (no
    // answer within options.request_timeout: the message may or may not be in the mailbox).
    void on_send(OperationId op, Pid sender, NodeId host, std::string_view name, Bytes body,
                 Time now, Effects& out);
    // Takes one message of mailbox `name` on `host`, waiting up to `wait` for one. Completes
    // `op` with encode_received(...) or: timeout (nothing came within `wait`), not_found,
    // closed (destroyed while waiting), queue_full (host or client tables full),
    // invalid_argument, unreachable (no answer from the host).
    void on_receive(OperationId op, Pid receiver, NodeId host, std::string_view name, Duration wait,
                    Time now, Effects& out, const ReceiveFilter& filter = {});
    // Reads board `name` on `host` (docs/boards.md, B6): up to `count` posts from seq `from`
    // (0: from `reader`'s cursor), waiting up to `wait` for one. Completes `op` with
    // encode_batch(...) or: timeout (no post within `wait`), not_found, invalid_argument (not
    // a board; count 0 or over board_count_max; wait), queue_full (board_readers_max cursors,
    // host or client tables), storage_error (the cursor could not be written), closed,
    // access_denied, unreachable.
    void on_read(OperationId op, Pid reader, NodeId host, std::string_view name, std::uint64_t from,
                 std::uint32_t count, Duration wait, Time now, Effects& out);
    // Grants `rights` (rights::*; none revokes) on mailbox `name` of this node to `who`
    // (Grantee: everyone, a node's processes, or a pid), asked by `by` (the owner, or an
    // invalid pid for the node itself). Completes `op` (persistent: once durable) or fails:
    // not_found, access_denied (`by` is not the owner), invalid_argument, queue_full
    // (grants_max), storage_error.
    void on_grant(OperationId op, std::string_view name, Pid by, Grantee who, std::uint8_t rights,
                  Time now, Effects& out);
    // Acknowledges delivery `tag`: the host forgets the message (persistent: once erased
    // durably). Completes `op` empty or: not_found (no such lease: it ended and the message
    // went back to the mailbox, or the mailbox is gone), storage_error, timeout.
    void on_ack(OperationId op, Pid receiver, NodeId host, std::string_view name, std::uint64_t tag,
                Time now, Effects& out);

    [[nodiscard]] std::vector<MailboxStats> stats() const;
    [[nodiscard]] MailboxCounters counters() const { return counters_; }

    // --- Engine ---
    [[nodiscard]] wire::Protocol protocol() const override { return wire::Protocol::mailbox; }
    [[nodiscard]] std::string_view store_prefix() const override { return "mailbox/"; }
    void on_restore(std::span<const StoredRecord> records) override;
    void on_packet(NodeId from, wire::Packet& packet, Time now, Effects& out) override;
    void on_timer(TimerId timer, Time now, Effects& out) override;
    void on_durable(std::uint64_t token, const Status& status, Time now, Effects& out) override;
    [[nodiscard]] EngineCounters totals() const override;

private:
    // Client side (mailbox_engine.cpp).
    void start_request(OperationId op, NodeId host, MailboxPacket request, Duration extra, Time now,
                       Effects& out);
    void on_answer(const MailboxPacket& answer, Effects& out);
    void client_tick(Time now, Effects& out);
    void arm(Time now, Effects& out);
    void transmit(NodeId to, const MailboxPacket& m, Effects& out);
    [[nodiscard]] std::uint64_t floor_of(NodeId host, Pid source) const;
    // An empty mailbox whose queued messages and leases take their nodes from the pools.
    [[nodiscard]] Mailbox new_mailbox();
    void forget(PooledMap<std::uint64_t, Outstanding>::iterator it);

    // Host side (mailbox_host.cpp).
    void on_send_request(NodeId from, MailboxPacket& m, Time now, Effects& out);
    void on_receive_request(NodeId from, const MailboxPacket& m, Time now, Effects& out);
    void on_ack_request(NodeId from, const MailboxPacket& m, Time now, Effects& out);
    [[nodiscard]] bool admit(NodeId from, const MailboxPacket& m, Time now);
    void store_message(const std::string& name, Mailbox& box, MailboxPacket& m, Time now,
                       Effects& out);
    [[nodiscard]] OperationId local_send(const MailboxPacket& m);
    void enqueue(const std::string& name, Mailbox& box, std::uint64_t seq, Entry entry, Time now,
                 Effects& out);
    [[nodiscard]] bool maybe_sent_before_start(const MailboxPacket& m, const Mailbox& box,
                                               Time now) const;
    void hand_out(const std::string& name, Mailbox& box, Time now, Effects& out);
    void give(const std::string& name, Mailbox& box, const Waiter& w, QueuedMap::iterator entry,
              Time now, Effects& out);
    [[nodiscard]] bool allowed(const Mailbox& box, Pid who, std::uint8_t right) const;
    [[nodiscard]] MailboxDefinition definition_of(const Mailbox& box) const;
    [[nodiscard]] MailboxPacket deliver_packet(const Waiter& w, std::uint64_t tag,
                                               const Entry& e) const;
    void answer(NodeId to, RequestKey key, MailboxPacket m, Time now, Effects& out);
    void host_tick(Time now, Effects& out);
    void durable_store(WriteStore& w, const Status& status, Time now, Effects& out);
    void durable_ack(WriteAck& w, const Status& status, Time now, Effects& out);
    void durable_control(WriteControl& w, const Status& status, Effects& out);
    void remember_seen(SeenKey key, Seen::State state, bool durable, Errc reason = Errc::ok);
    void evict_seen(Effects& out);
    [[nodiscard]] MailboxPacket answer_to(const MailboxPacket& request, wire::PacketKind kind,
                                          Errc reason) const;
    void discard(const std::string& name, Mailbox& box, Time now, Effects& out);
    void restore_record(const StoredRecord& record);

    // Bulletin boards (board_host.cpp; docs/boards.md).
    [[nodiscard]] Errc check_board_spec(const MailboxSpec& spec) const;
    void post(const std::string& name, Mailbox& box, MailboxPacket& m, Time now, Effects& out);
    void evict_post(const std::string& name, Mailbox& box, std::uint64_t token, Effects& out);
    void on_board_read(NodeId from, const std::string& name, Mailbox& box, const MailboxPacket& m,
                       Time now, Effects& out);
    [[nodiscard]] bool serve(const std::string& name, Mailbox& box, const Waiter& w, Time now,
                             Effects& out);
    void wake_readers(const std::string& name, Mailbox& box, Time now, Effects& out);
    void board_tick(const std::string& name, Mailbox& box, Time now, Effects& out);
    void durable_post(WritePost& w, const Status& status, Time now, Effects& out);
    void durable_cursor(WriteCursor& w, const Status& status, Time now, Effects& out);
    void erase_board(const std::string& name, const Mailbox& box, std::uint64_t token,
                     Effects& out);
    void restore_board_record(const StoredRecord& record);
    [[nodiscard]] std::int64_t wall_ns(Time now) const { return (now + wall_offset_).ns(); }
    [[nodiscard]] bool busy() const;

    NodeId self_;
    std::uint32_t incarnation_;
    Time started_;          // This incarnation's start (M17).
    Duration wall_offset_;  // Wall clock = now + wall_offset_ (board post times).
    const MailboxOptions& options_;
    MailboxCounters counters_;
    std::uint64_t next_id_;  // Request / message / tag ids: incarnation << 32 | count.
    std::uint64_t next_token_ = 1;
    std::uint64_t seen_order_ = 1;
    bool timer_armed_ = false;
    // Node pools of the per-message tables: declared before the tables, which return their
    // nodes to them when they are destroyed.
    NodePool seen_nodes_{node_pool_kept_max};
    NodePool tombstone_nodes_{node_pool_kept_max};
    NodePool write_nodes_{node_pool_kept_max};
    NodePool outstanding_nodes_{node_pool_kept_max};
    NodePool queued_nodes_{node_pool_kept_max};  // Every mailbox's queued messages.
    NodePool leased_nodes_{node_pool_kept_max};  // Every mailbox's leases.
    NodePool answer_nodes_{node_pool_kept_max};
    NodePool open_nodes_{node_pool_kept_max};
    std::map<std::string, Mailbox, std::less<>> boxes_;
    PooledMap<RequestKey, Answer> answers_{pooled<decltype(answers_)>(answer_nodes_)};
    std::map<ClientKey, ClientFloor> floors_;  // At most answers_max (M24).
    PooledMap<SeenKey, Seen> seen_{pooled<decltype(seen_)>(seen_nodes_)};
    // Acked message ids, oldest first.
    PooledMap<std::uint64_t, SeenKey> tombstones_{pooled<decltype(tombstones_)>(tombstone_nodes_)};
    // By durable token.
    PooledMap<std::uint64_t, PendingWrite> writes_{pooled<decltype(writes_)>(write_nodes_)};
    // By request id.
    PooledMap<std::uint64_t, Outstanding> outstanding_{
        pooled<decltype(outstanding_)>(outstanding_nodes_)};
    // Outstanding receives and acks by (host node, source local id, request id): floors (M24).
    using OpenKey = std::tuple<std::uint64_t, std::uint64_t, std::uint64_t>;
    std::set<OpenKey, std::less<OpenKey>, PoolAllocator<OpenKey>> open_{
        pooled<decltype(open_)>(open_nodes_)};
    // Hosts' incarnations as their answers showed them (M23); at most requests_max hosts.
    std::map<NodeId, std::uint32_t> host_incarnations_;
};

[[nodiscard]] bool valid_mailbox_name(std::string_view name, std::uint32_t bytes_max);

}  // namespace herald::proto::mailbox

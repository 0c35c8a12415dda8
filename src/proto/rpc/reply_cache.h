// ReplyCache: the server side's table of calls (in progress, answered, acknowledged) and of
// client nodes' request-id floors, with its entry and byte bounds and its durable record format.
// Layer: proto/rpc. Pure data: the protocol decisions are in rpc_server.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"
#include "proto/rpc/rpc_messages.h"
#include "proto/rpc/rpc_options.h"

namespace herald::proto::rpc {

// A call as the server knows it: the client node and its request id.
struct CallKey {
    NodeId client_node;
    std::uint32_t incarnation = 0;
    std::uint64_t seq = 0;
    constexpr auto operator<=>(const CallKey&) const = default;
};

enum class EntryState : std::uint8_t {
    starting = 1,   // Durable: the "executing" record is being written; the request is held.
    executing = 2,  // The handler runs.
    finishing = 3,  // The reply (and the handler's writes) are being written; response held.
    done = 4,       // Response held and sent, resent on duplicates until acknowledged.
    acked = 5,      // Tombstone: the client acknowledged the response; response dropped.
    forgotten = 6,  // Tombstone: the response was dropped after `retention`.
    crashed = 7,    // Restored "executing" record: a run began before a crash, outcome unknown.
};

struct Entry {
    Route route;
    EntryState state = EntryState::executing;
    bool durable = false;  // The entry has a record in the store (exactly-once, durable mode).
    std::uint64_t execution = 0;  // 0 when restored from the store (never runs again).
    std::string operation;
    Bytes request;                     // Held only while `starting`.
    Result<Bytes> response;            // Held while `finishing` and `done`.
    Time started;                      // When the handler was started.
    Time last_heard;                   // Last packet from the client about this call.
    std::uint32_t response_sends = 0;  // Times Resp was sent by the retransmission timer.
    Duration response_wait;            // Current response retransmission wait.
    bool long_ack_sent = false;        // RRA: the optional Ack went out.
    std::uint64_t bytes = 0;           // As counted in the cache's byte total.
};

// Per client node: the incarnation we know and the floor below which all its calls are over.
struct ClientRecord {
    std::uint32_t incarnation = 0;
    std::uint64_t floor = 0;                // In memory: requests below it are stale.
    std::uint32_t durable_incarnation = 0;  // On disk, with floor_durable: records below
    std::uint64_t floor_durable = 0;        // (durable_incarnation, floor_durable) may go.
    bool floor_writing = false;             // A floor record write is in flight.
    std::optional<Time> last_heard;         // Unset for records restored before any input.
    std::uint64_t address = 0;  // Source::address of the request that created it; 0: none.
};

class ReplyCache {
public:
    explicit ReplyCache(const RpcOptions& options) : options_(options) {
        spare_entries_.reserve(spare_max);
        spare_executions_.reserve(spare_max);
    }

    [[nodiscard]] Entry* find(const CallKey& key);
    [[nodiscard]] Entry* find_execution(std::uint64_t execution);
    // Precondition: `key` is absent. Returns the stored entry (in a spare node when one is kept).
    Entry& insert(const CallKey& key, Entry entry);
    // Keeps the entry's node (emptied) as a spare while fewer than spare_max are kept.
    void erase(const CallKey& key);
    // Call after changing an entry's request, response or operation: re-counts its bytes.
    void recount(Entry& entry);

    // No room for one more entry of about `request_bytes` (entries, bytes or clients bound).
    [[nodiscard]] bool full(std::uint64_t request_bytes, bool new_client) const;
    [[nodiscard]] std::size_t entries() const { return entries_.size(); }
    [[nodiscard]] std::uint64_t bytes() const { return bytes_; }
    [[nodiscard]] std::size_t clients() const { return clients_.size(); }
    // Estimated heap bytes of the client records and their per-address counts.
    [[nodiscard]] std::size_t client_bytes() const;

    [[nodiscard]] ClientRecord* client(NodeId node);
    // Precondition: `node` has no record. `address`: Source::address of its first request
    // (0: none, not counted per address).
    ClientRecord& add_client(NodeId node, std::uint32_t incarnation, std::uint64_t address = 0);
    void erase_client(NodeId node);
    // Client records created by requests from `address` (!= 0) that still exist.
    [[nodiscard]] std::uint32_t clients_at(std::uint64_t address) const;
    [[nodiscard]] std::map<NodeId, ClientRecord>& all_clients() { return clients_; }

    // Keys of `node`'s entries older than (incarnation, floor), in order.
    [[nodiscard]] std::vector<CallKey> below(NodeId node, std::uint32_t incarnation,
                                             std::uint64_t floor) const;
    // The same into `keys` (cleared first), so that a caller can keep its capacity.
    void below(NodeId node, std::uint32_t incarnation, std::uint64_t floor,
               std::vector<CallKey>& keys) const;
    // Keys of every entry of `node`.
    [[nodiscard]] std::vector<CallKey> of_client(NodeId node) const;
    [[nodiscard]] std::map<CallKey, Entry>& all_entries() { return entries_; }

    // Durable record format (docs/rpc.md, "Durable records"). Keys sort by client and seq.
    static constexpr std::string_view key_prefix = "rpc/";
    // The runtime's own records (the node's incarnation: runtime/incarnation.h).
    static constexpr std::string_view node_key_prefix = "node/";
    // Keys under key_prefix or node_key_prefix: handlers may neither write nor read them.
    [[nodiscard]] static constexpr bool reserved_key(std::string_view key) {
        return key.starts_with(key_prefix) || key.starts_with(node_key_prefix);
    }
    [[nodiscard]] static std::string entry_key(const CallKey& key);
    [[nodiscard]] static std::string floor_key(NodeId node);
    // `stored` is executing, done, acked or forgotten: what the record says about the call.
    [[nodiscard]] static Bytes encode_entry(const Entry& entry, EntryState stored);
    [[nodiscard]] static Bytes encode_floor(const ClientRecord& client);

    // Loads records written by encode_entry / encode_floor (other keys are ignored). Entries in
    // `starting`, `executing` or `finishing` on disk come back as `crashed`. Returns the number
    // of records under key_prefix that failed to decode (they are skipped).
    std::uint64_t restore(std::span<const std::pair<std::string, Bytes>> records);

    // Nodes of erased entries kept for the next inserts, so that a busy server's calls cost no
    // allocation for their entry and its execution index (as the client's spare call nodes).
    // At most spare_max of each, emptied (no request, response or operation held): about
    // 256 * 300 bytes beyond the byte bound; nodes erased beyond it are freed.
    static constexpr std::size_t spare_max = 256;
    [[nodiscard]] std::size_t spares() const { return spare_entries_.size(); }

private:
    using Entries = std::map<CallKey, Entry>;
    using ByExecution = std::unordered_map<std::uint64_t, CallKey>;

    bool restore_entry(std::string_view key, ByteView value);
    bool restore_floor(std::string_view key, ByteView value);

    const RpcOptions& options_;
    Entries entries_;
    ByExecution by_execution_;
    std::vector<Entries::node_type> spare_entries_;
    std::vector<ByExecution::node_type> spare_executions_;
    std::map<NodeId, ClientRecord> clients_;
    std::unordered_map<std::uint64_t, std::uint32_t> per_address_;  // Address -> records.
    std::uint64_t bytes_ = 0;
};

}  // namespace herald::proto::rpc

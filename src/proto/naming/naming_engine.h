// NamingEngine: the lecture's name server over unreliable datagrams, as an engine on the seam.
// Every node has the client role; a node whose options say so also hosts the server role.
// Layer: proto/naming. Sans-I/O, single-threaded. The numbered rules: docs/naming.md.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>

#include "core/time.h"
#include "proto/engine.h"
#include "proto/naming/naming_messages.h"

namespace herald::proto::naming {

struct NamingOptions {
    bool server = false;  // This node hosts the name server role.
    NodeId server_node;   // Where clients send requests (may be this node).
    Duration retransmit = Duration::milliseconds(200);  // Rule 2: resend interval.
    std::uint32_t attempts = 10;                        // Sends before Errc::unreachable.
    std::size_t names_max = 4096;                       // Rule 9: server table bound.
    std::size_t name_bytes_max = 255;                   // Longer names: Errc::invalid_argument.
    std::size_t replies_max = 1024;                     // Rule 4: server reply cache bound.
    std::size_t pending_max = 256;  // Client requests in flight; more: Errc::queue_full.
    std::size_t cache_max = 256;    // Rule 7: client lookup cache bound.
    Duration cache_ttl = Duration::seconds(1);     // Rule 7: a cached lookup's longest life.
    Duration lease_max = Duration::seconds(3600);  // Rule 5: longer leases are cut to this.
    std::size_t list_max = 256;                    // Rule 8: entries in one list reply.
};

struct NamingCounters {
    std::uint64_t requests = 0;     // Client requests started.
    std::uint64_t cache_hits = 0;   // Lookups answered from the cache.
    std::uint64_t expired = 0;      // Names the server dropped at lease end.
    std::uint64_t bad_records = 0;  // Durable records that did not decode.
};

class NamingEngine final : public Engine {
public:
    // `context.random` and `options` outlive the engine.
    NamingEngine(const EngineContext& context, const NamingOptions& options);

    // Application commands; each completes `op` once (docs/naming.md, "Operations").
    // register: ok (empty body) or already_exists / invalid_argument / queue_full / ...
    void on_register(OperationId op, std::string name, Pid owner, Duration lease, Time now,
                     Effects& out);
    // lookup: ok with a NameEntry body, or not_found.
    void on_lookup(OperationId op, std::string name, Time now, Effects& out);
    // unregister: ok, not_found, or access_denied (not the owner's node).
    void on_unregister(OperationId op, std::string name, Pid owner, Time now, Effects& out);
    // list: ok with an array of NameEntry whose names start with `prefix`.
    void on_list(OperationId op, std::string prefix, Time now, Effects& out);
    // The caller found `name`'s cached owner gone: forget the cached entry.
    void invalidate(const std::string& name) { cache_.erase(name); }

    // --- Engine ---
    [[nodiscard]] wire::Protocol protocol() const override { return wire::Protocol::naming; }
    [[nodiscard]] std::string_view store_prefix() const override { return "naming/"; }
    void on_restore(std::span<const StoredRecord> records) override;
    void on_packet(NodeId from, wire::Packet& packet, Time now, Effects& out) override;
    void on_timer(TimerId timer, Time now, Effects& out) override;
    void on_durable(std::uint64_t token, const Status& status, Time now, Effects& out) override;
    [[nodiscard]] EngineCounters totals() const override { return totals_; }
    [[nodiscard]] NamingCounters counters() const { return counters_; }
    // Server table size (tests, status).
    [[nodiscard]] std::size_t names() const { return table_.size(); }
    // Server role: the table's invariants (one owner per name, leases within lease_max, bounds).
    void check_invariants(std::vector<std::string>& findings) const override;
    // Server role: arms the lease sweep for names restored from the store (rule 10).
    void on_batch_end(Time now, Effects& out) override;

private:
    struct Pending {
        OperationId op = 0;
        Op kind = Op::lookup;
        std::string name;
        wire::Packet request;
        std::uint32_t sent = 0;
    };
    struct Entry {
        Pid owner;
        Duration lease;
        Time expires;
    };
    struct Cached {
        NameEntry entry;
        Time until;
    };
    struct Waiting {  // A server reply held until its write is durable (rule 6).
        NodeId to;
        wire::Packet request;
        Bytes body;
        std::string name;             // The name the write changed,
        std::optional<Entry> before;  // and its entry before (none: absent); put back on failure.
    };

    void start(OperationId op, Op kind, std::string name, RequestBody body, Time now, Effects& out);
    void transmit(std::uint64_t seq, Time now, Effects& out);
    void on_reply(wire::Packet& packet, Time now, Effects& out);
    void on_request(NodeId from, wire::Packet& packet, Time now, Effects& out);
    [[nodiscard]] Result<Bytes> serve(NodeId from, Op op, const RequestBody& body, Time now,
                                      Effects& out, bool& wrote);
    [[nodiscard]] Result<Bytes> serve_register(const RequestBody& body, Time now, Effects& out);
    [[nodiscard]] Result<Bytes> serve_unregister(NodeId from, const RequestBody& body,
                                                 Effects& out);
    [[nodiscard]] Result<Bytes> serve_list(const std::string& prefix, Time now) const;
    void reply(NodeId to, const wire::Packet& request, Result<Bytes> result, Effects& out);
    void remember(const RequestKey& key, const wire::Packet& reply);
    void expire(Time now, Effects& out);
    void cache_put(const NameEntry& entry, Time now);
    [[nodiscard]] NameEntry entry_of(const std::string& name, const Entry& e, Time now) const;

    NodeId self_;
    std::uint32_t incarnation_;
    const NamingOptions& options_;
    Time started_;
    EngineCounters totals_;
    NamingCounters counters_;
    // Client role.
    std::uint64_t next_seq_ = 1;
    std::map<std::uint64_t, Pending> pending_;  // By request seq (= timer id).
    std::map<std::string, Cached> cache_;
    // Server role.
    std::map<std::string, Entry> table_;
    std::map<RequestKey, wire::Packet> replies_;  // Rule 4: answers to recent requests.
    std::deque<RequestKey> reply_order_;
    std::set<RequestKey> in_progress_;  // Waiting on a durable write.
    std::map<std::uint64_t, std::pair<RequestKey, Waiting>> waiting_;  // By write token.
    std::uint64_t next_token_ = 1;
    bool sweep_armed_ = false;  // The sweep timer is set for the earliest lease end.
};

// Timer ids: client requests use their seq (>= 1); the server's lease sweep uses this one.
inline constexpr TimerId sweep_timer{~std::uint64_t{0}};

}  // namespace herald::proto::naming

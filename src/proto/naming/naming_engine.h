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
    std::size_t held_max = 1024;  // Rule 13: names this node renews for its processes.
    // Rule 14: the server asks a holder node it has not heard from for `probe_interval`
    // whether it lives, and declares it dead (its names go) after `dead_after` of silence.
    Duration probe_interval = Duration::seconds(1);
    Duration dead_after = Duration::seconds(5);
};

struct NamingCounters {
    std::uint64_t requests = 0;      // Client requests started.
    std::uint64_t cache_hits = 0;    // Lookups answered from the cache.
    std::uint64_t expired = 0;       // Names the server dropped at lease end.
    std::uint64_t bad_records = 0;   // Durable records that did not decode.
    std::uint64_t renewals = 0;      // Rule 13: renewals sent for held names.
    std::uint64_t names_lost = 0;    // Held names whose renewal was refused (taken, invalid).
    std::uint64_t probes = 0;        // Rule 14: probes the server sent to silent holders.
    std::uint64_t holders_dead = 0;  // Holder nodes declared dead.
    std::uint64_t holder_names_dropped = 0;  // Names dropped with a dead or restarted holder.
};

class NamingEngine final : public Engine {
public:
    // `context.random` and `options` outlive the engine.
    NamingEngine(const EngineContext& context, const NamingOptions& options);

    // Application commands; each completes `op` once (docs/naming.md, "Operations").
    // register: ok (empty body) or already_exists / invalid_argument / queue_full / ...
    void on_register(OperationId op, std::string name, Pid owner, Duration lease, Time now,
                     Effects& out);
    // register, and on success keep renewing the lease every lease / 3 from this node until
    // on_unregister of the name by `owner` or on_process_exited(owner) (rule 13). Errors of
    // register, and queue_full when held_max names are held.
    void on_hold(OperationId op, std::string name, Pid owner, Duration lease, Time now,
                 Effects& out);
    // The local process `pid` ended: stop renewing its names and unregister them (no
    // completion; a lost unregister leaves the name until its lease ends).
    void on_process_exited(Pid pid, Time now, Effects& out) override;
    // lookup: ok with a NameEntry body, or not_found.
    void on_lookup(OperationId op, std::string name, Time now, Effects& out);
    // unregister: ok, not_found, or access_denied (`owner` is not the name's owner, or the
    // request does not come from its node). Stops renewing the name if `owner` holds it.
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
    // Client role: names this node renews for its processes (rule 13).
    [[nodiscard]] std::size_t held() const { return held_.size(); }
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
        bool hold = false;  // A register by on_hold, or a renewal (op 0): keep renewing.
        Pid owner;
        Duration lease;
    };
    struct Held {  // Rule 13: a name this node renews for a local process.
        Pid owner;
        Duration lease;
        Time renew_at;
        bool renewing = false;  // A renewal is in flight.
    };
    struct Entry {
        Pid owner;
        Duration lease;
        Time expires;
        NodeId holder;                         // Rule 14: the node that registered it last,
        std::uint32_t holder_incarnation = 0;  // in this incarnation (0: not known).
    };
    struct Holder {  // Rule 14: what the server knows of a node whose names it holds.
        std::uint32_t incarnation = 0;  // The newest seen.
        Time heard;                     // Its last request or probe answer.
        bool contacted = false;  // Heard from in this server incarnation (restored: not yet).
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

    // The new request, or nullptr when refused (op completed, unless 0: internal).
    Pending* start(OperationId op, Op kind, std::string name, RequestBody body, Time now,
                   Effects& out);
    void finish(Pending& p, Result<Bytes> result, Time now, Effects& out);
    void complete(OperationId op, Result<Bytes> result, Effects& out);
    void renew(Time now, Effects& out);
    void arm_renewal(Effects& out);
    void transmit(std::uint64_t seq, Time now, Effects& out);
    void on_reply(wire::Packet& packet, Time now, Effects& out);
    void on_request(NodeId from, wire::Packet& packet, Time now, Effects& out);
    [[nodiscard]] Result<Bytes> serve(NodeId from, std::uint32_t incarnation, Op op,
                                      const RequestBody& body, Time now, Effects& out, bool& wrote);
    [[nodiscard]] Result<Bytes> serve_register(NodeId from, std::uint32_t incarnation,
                                               const RequestBody& body, Time now, Effects& out);
    [[nodiscard]] Result<Bytes> serve_unregister(NodeId from, const RequestBody& body,
                                                 Effects& out);
    [[nodiscard]] Result<Bytes> serve_list(const std::string& prefix, Time now) const;
    void reply(NodeId to, const wire::Packet& request, Result<Bytes> result, Effects& out);
    void remember(const RequestKey& key, const wire::Packet& reply);
    void expire(Time now, Effects& out);
    // Rule 14.
    [[nodiscard]] bool touch(NodeId node, std::uint32_t incarnation, Time now, Effects& out);
    void drop_holder_names(NodeId node, std::uint32_t below, Time now, Effects& out);
    void probe_holders(Time now, Effects& out);
    void prune_holders();
    void arm_probe(Time now, Effects& out);
    void answer_probe(NodeId from, const wire::Packet& probe, Effects& out);
    void on_probe_reply(NodeId from, const wire::Packet& reply, Time now, Effects& out);
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
    std::map<std::string, Held> held_;
    // Server role.
    std::map<std::string, Entry> table_;
    std::map<RequestKey, wire::Packet> replies_;  // Rule 4: answers to recent requests.
    std::deque<RequestKey> reply_order_;
    std::set<RequestKey> in_progress_;  // Waiting on a durable write.
    std::map<std::uint64_t, std::pair<RequestKey, Waiting>> waiting_;  // By write token.
    std::uint64_t next_token_ = 1;
    bool sweep_armed_ = false;          // The sweep timer is set for the earliest lease end.
    std::map<NodeId, Holder> holders_;  // Rule 14: nodes named as holders in table_.
    std::uint64_t next_probe_ = 1;      // Probe seqs (their own space, operation 5).
    bool probe_armed_ = false;
};

// Timer ids: client requests use their seq (>= 1); the server's lease sweep uses this one.
inline constexpr TimerId sweep_timer{~std::uint64_t{0}};
// The client's renewal of held names (rule 13).
inline constexpr TimerId renew_timer{~std::uint64_t{0} - 1};
// The server's probes of silent holder nodes (rule 14).
inline constexpr TimerId probe_timer{~std::uint64_t{0} - 2};

}  // namespace herald::proto::naming

// RpcServer: the server half of the RPC engine. It admits requests, discards or answers
// duplicates from the reply cache, starts handlers, sends and resends Resp, writes the durable
// records and frees entries (README.md rules 4-8, 13-17). Layer: proto/rpc. Loop thread only.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "proto/rpc/reply_cache.h"
#include "proto/rpc/rpc_messages.h"
#include "proto/rpc/rpc_state.h"

namespace herald::proto::rpc {

class RpcServer {
public:
    explicit RpcServer(Context& context) : ctx_(context), cache_(context.options) {}

    [[nodiscard]] Status on_serve(Pid server, std::string operation, bool idempotent);
    void on_unserve(Pid server, Time now, Effects& out);
    // `source`: where it came from (Source{} when the driver names no address). A new call
    // takes the request's body (to its handler, or held while its start is written).
    void on_request(Request& request, const Source& source, Time now, Effects& out);
    void on_response_ack(const ResponseAck& ack, Time now, Effects& out);
    // No address is known for client node `node`: its done responses are not resent any more
    // (as after response_retransmit_limit sends: at-least-once frees them, exactly-once keeps
    // them for the client's probes).
    void on_unreachable(NodeId node, Time now, Effects& out);
    void on_result(std::uint64_t execution, Result<Bytes> response,
                   std::vector<HandlerWrite> writes, Time now, Effects& out);
    void on_timer(std::uint64_t execution, Time now, Effects& out);
    void on_sweep(Time now, Effects& out);
    void on_durable(std::uint64_t token, const Status& status, Time now, Effects& out);
    // Whether `server` serves `operation` now.
    [[nodiscard]] bool serves(Pid server, std::string_view operation) const;
    void on_restore(std::span<const std::pair<std::string, Bytes>> records);
    // Arms the periodic sweep when there is something to sweep and it is not armed.
    void arm_sweep(Time now, Effects& out);

    [[nodiscard]] const ReplyCache& cache() const { return cache_; }
    [[nodiscard]] std::uint32_t executing() const { return executing_; }

private:
    struct Service {
        // Name -> idempotent. std::less<> finds by string_view without a copy.
        std::map<std::string, bool, std::less<>> operations;
    };
    // What to do when a durable write completes.
    struct Pending {
        enum class Kind : std::uint8_t { start, respond, floor };
        Kind kind = Kind::start;
        CallKey key;  // start, respond: the call; floor: node, incarnation and floor value.
    };

    [[nodiscard]] bool admit_client(const Request& request, const Source& source, Time now,
                                    Effects& out);
    // A new client node: false (answered: a cookie, or busy) when it may not get a record.
    [[nodiscard]] bool admit_new_client(const Request& request, const Source& source, Time now,
                                        Effects& out);
    // The cookie of (client node, its incarnation, address) in time bucket `bucket`.
    [[nodiscard]] std::uint64_t cookie(const Request& request, std::uint64_t address,
                                       std::int64_t bucket) const;
    void on_duplicate(Entry& entry, const Request& request, Time now, Effects& out);
    void on_new(const CallKey& key, Request& request, Time now, Effects& out);
    void start(Entry& entry, Bytes request, Time now, Effects& out);
    void finish(Entry& entry, Result<Bytes> response, std::vector<HandlerWrite> writes, Time now,
                Effects& out);
    void respond(const CallKey& key, Entry& entry, Time now, Effects& out);
    void on_write_failed(const Pending& pending, const Error& error, Time now, Effects& out);
    void refuse(const Route& route, Errc reason, std::string_view text, Effects& out);
    void release(NodeId node, ClientRecord& client, Effects& out);
    void write_floor(NodeId node, ClientRecord& client, Effects& out);
    void sweep_client(NodeId node, ClientRecord& client, Time now, Effects& out);
    void forget(const CallKey& key, Entry& entry, Effects& out);
    void free(const CallKey& key, Effects& out);
    void persist(const CallKey& key, const Entry& entry, EntryState stored, std::uint64_t token,
                 Effects& out);
    [[nodiscard]] static bool running(const Entry& entry);

    Context& ctx_;
    ReplyCache cache_;
    std::unordered_map<Pid, Service> services_;
    std::unordered_map<std::uint64_t, Pending> pending_;
    std::uint64_t next_execution_ = 1;
    std::uint32_t executing_ = 0;
    bool sweep_armed_ = false;
    // release()'s list of keys below a floor, kept for its capacity (no allocation per call).
    std::vector<CallKey> release_keys_;
};

}  // namespace herald::proto::rpc

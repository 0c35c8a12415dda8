// RpcEngine: the lecture's client-server protocols (RR, RRA, RARA) with at-least-once and
// exactly-once semantics, and the (optionally durable) reply cache, for one node.
// Layer: proto/rpc. Sans-I/O: every input carries `now`; outputs go to Effects. The protocol's
// numbered rules are in proto/rpc/README.md; what a caller sees is in docs/rpc.md.
// Single-threaded: the driver (runtime Node loop, SimNode, tests) calls it from one thread.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/random.h"
#include "proto/effects.h"
#include "proto/engine.h"
#include "proto/rpc/rpc_options.h"
#include "proto/rpc/rpc_state.h"

namespace herald::proto::rpc {

class RpcClient;
class RpcServer;

class RpcEngine final : public Engine {
public:
    // `self` and `incarnation` identify this node; the incarnation must be >= 1 and grow with
    // every restart (the server's crash detection and request ids depend on it). `options` and
    // `random` must outlive the engine.
    RpcEngine(NodeId self, std::uint32_t incarnation, const RpcOptions& options, Random& random);
    // The same, with the start time for options.startup_grace (docs/rpc.md, "Start-up grace").
    RpcEngine(const EngineContext& context, const RpcOptions& options);
    ~RpcEngine() override;
    RpcEngine(const RpcEngine&) = delete;
    RpcEngine& operator=(const RpcEngine&) = delete;

    // Local process `server` serves `operation`; an idempotent one gets at-least-once service
    // even when the client asks for exactly-once (no reply cache is needed).
    // Errc::invalid_argument: server not a valid pid of this node, operation empty or longer
    // than options.operation_bytes_max. Errc::already_exists: already served by that process.
    [[nodiscard]] Status on_serve(Pid server, std::string operation, bool idempotent);
    // The process exited: new requests get rpc_nack(no_such_process); its running calls finish
    // with server_crashed (their on_result, if it still comes, is ignored).
    void on_unserve(Pid server, Time now, Effects& out);

    // Application command: `client` (a local process) calls `operation` of `server`. Completes
    // `op` exactly once with the response body, or with:
    //   invalid_argument (bad pid, operation name or options), too_large (request over
    //   options.request_bytes_max), queue_full (options.calls_max calls outstanding, or the
    //   server kept refusing: its reply cache is full), timeout (options.deadline),
    //   request_lost (retries exhausted and never a sign of the server), response_lost (the
    //   server acknowledged or answered, then went silent; or it dropped the reply after its
    //   retention time), server_crashed (the server restarted and cannot tell whether the call
    //   ran), no_such_process, no_such_operation, too_large (response over the server's
    //   bound), application_error (the handler failed; detail carries its error text).
    void on_call(OperationId op, Pid client, Pid server, std::string operation, Bytes request,
                 const CallOptions& options, Time now, Effects& out);

    // The handler of ExecuteEffect `execution` returned. `writes` (may be empty) are durable
    // state changes of the handler, committed atomically with the reply: the response is sent
    // only once they are on disk (on_durable). Unknown or finished executions are ignored.
    void on_result(std::uint64_t execution, Result<Bytes> response, Time now, Effects& out);
    void on_result(std::uint64_t execution, Result<Bytes> response,
                   std::vector<HandlerWrite> writes, Time now, Effects& out);

    // A packet of kind rpc_* arrived from node `from`. Bad packets are counted and dropped.
    void on_packet(NodeId from, const wire::Packet& packet, Time now, Effects& out);
    // The same, from the address the driver names in `source` (docs/rpc.md, "Admission": new
    // client nodes must prove it with a cookie, and each address has a bound of client nodes).
    void on_packet(NodeId from, const wire::Packet& packet, const Source& source, Time now,
                   Effects& out);
    // The same, taking a request's body out of `packet` instead of copying it.
    void on_packet(NodeId from, wire::Packet& packet, const Source& source, Time now, Effects& out);
    void on_timer(TimerId timer, Time now, Effects& out) override;
    // Every PersistEffect with this token is on disk.
    void on_durable(std::uint64_t token, Time now, Effects& out);
    // The write with this token ended with `status`. A failed write fails what waited on it:
    // a call whose execution marker or reply could not be stored is answered with
    // Errc::storage_error; a floor that could not be stored is written again later.
    void on_durable(std::uint64_t token, const Status& status, Time now, Effects& out) override;
    // The records found in the durable store at start (all of them, or those under "rpc/"),
    // before any other input. Records that fail to decode are counted (bad_records), skipped.
    void on_restore(std::span<const std::pair<std::string, Bytes>> records) override;

    // --- Engine (the inputs both drivers share) ---
    [[nodiscard]] wire::Protocol protocol() const override { return wire::Protocol::rpc; }
    [[nodiscard]] std::string_view store_prefix() const override;
    void on_packet(NodeId from, wire::Packet& packet, Time now, Effects& out) override {
        on_packet(from, packet, Source{}, now, out);
    }
    void on_process_exited(Pid pid, Time now, Effects& out) override { on_unserve(pid, now, out); }
    // The server stops resending responses to `node` (rpc.md rule on unreachable clients).
    void on_unreachable(NodeId node, Time now, Effects& out) override;
    [[nodiscard]] EngineCounters totals() const override;

    [[nodiscard]] RpcCounters counters() const;

private:
    [[nodiscard]] bool too_early(const wire::Packet& packet, Time now) const;
    void dispatch(NodeId from, wire::Packet& packet, const Source& source, Time now, Effects& out);

    std::unique_ptr<Context> ctx_;
    std::unique_ptr<RpcClient> client_;
    std::unique_ptr<RpcServer> server_;
    Time started_;  // For options.startup_grace.
};

}  // namespace herald::proto::rpc

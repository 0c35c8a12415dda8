// RPC, the lecture's client-server model: a process serves named operations (Process::serve)
// and other processes call them (Process::call) over RR, RRA or RARA, with at-least-once or
// exactly-once semantics. Public API; docs/api.md ("RPC") describes every call, its blocking
// behaviour and its errors; docs/rpc.md the protocols and what is guaranteed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "herald/errors.h"
#include "herald/export.h"
#include "herald/ids.h"

namespace herald {

namespace runtime {
class CallQueueState;
}  // namespace runtime

// The lecture's three protocols. Packets per call without loss: RR 2, RRA 3, RARA 4.
enum class RpcProtocol : std::uint8_t {
    rr,    // Req, Resp. The client resends Req until Resp; the server may run it again.
    rra,   // Req, Resp, Ack(Resp); the server acks Req when it runs longer than a threshold.
    rara,  // Req, Ack(Req), Resp, Ack(Resp).
};

enum class RpcSemantics : std::uint8_t {
    at_least_once,  // "Last-one": a resent request may run again.
    exactly_once,   // Request ids and a reply cache: a request runs once, duplicates get its reply.
};

struct CallOptions {
    RpcProtocol protocol = RpcProtocol::rra;
    RpcSemantics semantics = RpcSemantics::exactly_once;
    // First wait for an answer before the request is sent again; each later wait is the
    // previous one times backoff_percent / 100 (100..1000), capped at retransmit_max.
    std::chrono::nanoseconds retransmit_timeout = std::chrono::milliseconds(50);
    std::uint32_t backoff_percent = 200;
    std::chrono::nanoseconds retransmit_max = std::chrono::seconds(1);
    // Transmissions in a row without any answer before the call fails (request_lost, or
    // response_lost once the server was heard from). Any packet from the server resets it.
    std::uint32_t retry_limit = 8;
    // Once the server acknowledged the request, the client only probes it this often.
    std::chrono::nanoseconds probe_interval = std::chrono::milliseconds(500);
    // The whole call; Errc::timeout after it. `forever` (herald/process.h) never expires.
    std::chrono::nanoseconds timeout = std::chrono::seconds(10);
};

// What a handler gets.
struct Request {
    Pid client;             // The calling process.
    Pid server;             // The serving process (the one that called serve).
    std::string operation;  // The operation's name.
    Bytes body;

    [[nodiscard]] std::string_view text() const {
        return {reinterpret_cast<const char*>(body.data()), body.size()};
    }
};

// One durable change a handler asks for.
struct StateChange {
    std::string key;
    Bytes value;
    bool erase = false;
};

// The durable changes of one handler run (Process::serve_with_state). They are written to the
// node's store in ONE transaction together with the call's reply: after a crash either both
// are on disk or neither is (and then the call reads as server_crashed, never as run twice).
// Keys starting with "rpc/" or "node/" are the node's own (the call fails with
// application_error, and Node::read_state never returns them).
class HERALD_API StateWrites {
public:
    void put(std::string key, Bytes value) {
        changes_.push_back({std::move(key), std::move(value)});
    }
    void put(std::string key, std::string_view text) {
        put(std::move(key), Bytes(text.begin(), text.end()));
    }
    void erase(std::string key) { changes_.push_back({std::move(key), {}, true}); }
    [[nodiscard]] const std::vector<StateChange>& changes() const { return changes_; }
    [[nodiscard]] std::vector<StateChange> take() { return std::move(changes_); }

private:
    std::vector<StateChange> changes_;
};

// A handler runs on one of the node's handler threads (never the caller's, never the loop's),
// possibly on several threads at once for different requests (see ServeOptions::concurrency).
// It returns the response body, or an error that the caller receives as application_error with
// the error's text. It may block (a slow handler delays only its own calls) and may call other
// servers. An exception it throws is caught and reported as application_error.
using Handler = std::function<Result<Bytes>(const Request&)>;
using StatefulHandler = std::function<Result<Bytes>(const Request&, StateWrites&)>;

struct ServeOptions {
    // Running it twice is harmless: it gets at-least-once service even when a caller asks for
    // exactly-once (no reply cache entry).
    bool idempotent = false;
    // Runs of this operation at once; 0: as many as the node has handler threads. With 1 the
    // runs are serial, in arrival order, each seeing the previous one's effects.
    std::uint32_t concurrency = 0;
};

// Called once with the call's outcome, on the node's loop thread: it must not block.
using CallDone = std::function<void(Result<Bytes>)>;

// A call completed into a CallQueue: the tag it was started with, and its outcome (the
// response body or the error, as Process::call returns them).
struct CallCompletion {
    std::uint64_t tag = 0;
    Result<Bytes> result;
};

// Where many asynchronous calls complete (Process::call_async with a queue): the fast path for a
// window of calls. The node's loop hands the completions of one loop turn over together, at its
// end, with one lock and at most one wake-up of the thread waiting in take(); no future and no
// allocation per call. Bounded: at most `capacity` calls started on it and not yet taken;
// starting one more fails with Errc::queue_full (no completion is ever dropped). take() from one
// thread at a time; calls may be started on it from any thread, by processes of any node.
// Destroying it with calls outstanding is allowed: their completions are dropped.
class HERALD_API CallQueue {
public:
    static constexpr std::uint32_t capacity_max = 1U << 20;
    // `capacity`: 1..capacity_max (clamped into it).
    explicit CallQueue(std::uint32_t capacity = 1024);
    ~CallQueue();
    CallQueue(const CallQueue&) = delete;
    CallQueue& operator=(const CallQueue&) = delete;

    // Appends every completion handed over so far to `out`, oldest first per loop turn, and
    // returns how many; sleeps up to `timeout` for at least one (0: does not wait;
    // std::chrono::nanoseconds::max(): forever). 0: none came in time.
    // Their slots become free.
    std::size_t take(std::vector<CallCompletion>& out,
                     std::chrono::nanoseconds timeout = std::chrono::nanoseconds::max());
    // Calls started on the queue whose completion was not taken yet.
    [[nodiscard]] std::uint32_t outstanding() const;
    [[nodiscard]] std::uint32_t capacity() const;

private:
    friend class Process;
    std::shared_ptr<runtime::CallQueueState> state_;
};

// How each commit of the node's durable store waits for the disk.
enum class DurableSync : std::uint8_t {
    full,    // fsync every commit: survives a crash of the process and of the machine.
    normal,  // fsync at checkpoints: survives kill -9; a power loss may undo the last commits.
};

// NodeOptions::rpc.
struct RpcNodeOptions {
    // Keep the exactly-once reply cache in the node's store (NodeOptions::data_dir, required):
    // a server that crashes and restarts still never runs a request twice.
    bool durable = false;
    DurableSync sync = DurableSync::full;
    std::uint32_t handler_threads = 4;  // 1..256, shared by every process of the node.
    // Requests running or waiting for a handler thread at once; beyond it new requests are
    // refused (the caller retries with backoff, and fails with queue_full after retry_limit).
    std::uint32_t executions_max = 10'000;
    // Reply cache entries kept at once (running, answered, acknowledged); beyond it new
    // requests are refused as above. No unacknowledged reply is dropped to make room.
    std::uint32_t cache_entries_max = 100'000;
    // Client nodes the server keeps a record of at once (their request-id floors), in all and
    // per source address (ip:port, unix path); beyond either, a new client node is refused as
    // above. Without a cluster key a new client node must also prove that it receives at its
    // address first (a cookie round trip, docs/rpc.md "Admission"). Both >= 1.
    std::uint32_t clients_max = 10'000;
    std::uint32_t clients_per_address_max = 4;
    // An answer not fetched (RR) or a client not heard from for this long is forgotten.
    std::chrono::nanoseconds retention = std::chrono::seconds(60);
    // RRA: a request still running after this long gets the optional Ack(Req).
    std::chrono::nanoseconds long_request_threshold = std::chrono::milliseconds(20);
    // RRA, RARA: the first wait before the server resends a response that was not
    // acknowledged (doubling up to 1 s, at most 8 times; then the client's probes fetch it).
    std::chrono::nanoseconds response_retransmit_timeout = std::chrono::milliseconds(50);
    // For this long after the node starts, a request for a well-known pid (ProcessOptions::
    // local_id) that does not serve the operation yet is dropped, not refused, so that callers
    // of a restarting server retry instead of failing with no_such_process/no_such_operation.
    std::chrono::nanoseconds startup_grace = std::chrono::seconds(2);
};

// RPC counters of a node (Node::rpc_stats), a snapshot.
struct RpcStats {
    std::uint64_t packets_sent = 0, packets_received = 0, malformed_dropped = 0;
    std::uint64_t stale_dropped = 0;  // Duplicates of finished calls, old incarnations.
    // Client side.
    std::uint64_t calls_started = 0, calls_succeeded = 0, calls_failed = 0;
    std::uint64_t calls_outstanding = 0, request_retransmits = 0, probes = 0;
    std::uint64_t unreachable_calls = 0;  // Refused at once: no address known for the server.
    std::uint64_t startup_dropped = 0;    // Requests dropped during the startup grace.
    // Server side.
    std::uint64_t executions = 0;            // Handler runs started.
    std::uint64_t duplicates_discarded = 0;  // Duplicates of a request in progress.
    std::uint64_t duplicates_answered = 0;   // Duplicates answered from the reply cache.
    std::uint64_t busy_refusals = 0;         // Requests refused: cache or executions full.
    std::uint64_t crashed_reported = 0;      // Requests answered with server_crashed.
    std::uint64_t response_retransmits = 0;
    // Responses no longer resent because this node knew no address for the client's node
    // (a client that never proved its address, or that another node displaced).
    std::uint64_t responses_abandoned = 0;
    // Admission (docs/rpc.md): requests of unknown client nodes answered with a cookie instead
    // of being run, new client nodes refused for their address's bound, and (client side)
    // requests resent with a server's cookie.
    std::uint64_t cookies_sent = 0, address_refusals = 0, cookie_retries = 0;
    std::uint64_t cache_clients = 0;  // Client nodes the server keeps a record of.
    std::uint64_t executing = 0, cache_entries = 0, cache_bytes = 0;
    std::uint64_t handler_exceptions = 0;
    // Durable store.
    std::uint64_t store_commits = 0, store_writes = 0, store_errors = 0;
};

// A record of the node's durable state (Node::read_state).
struct StateRecord {
    std::string key;
    Bytes value;
};

[[nodiscard]] HERALD_API std::string_view protocol_name(RpcProtocol protocol);
[[nodiscard]] HERALD_API std::string_view semantics_name(RpcSemantics semantics);

}  // namespace herald

// Options of the RPC engine (per node) and of each call (per request). Layer: proto/rpc.
// Defaults suit a LAN; docs/rpc.md explains each knob and how they must relate.
#pragma once

#include <array>
#include <cstdint>

#include "core/time.h"

namespace herald::proto::rpc {

// The lecture's three client-server protocols (proto/rpc/README.md, rules 1-3).
enum class Protocol : std::uint8_t {
    rr,    // Req, Resp. No acks; the client resends Req until Resp.
    rra,   // Req, Resp, Ack(Resp). Optional Ack(Req) when the request runs long.
    rara,  // Req, Ack(Req), Resp, Ack(Resp).
};

enum class Semantics : std::uint8_t {
    at_least_once,  // "Last-one": a resent Req may run again once its response was sent.
    exactly_once,   // Request ids + reply cache: a Req runs once; duplicates get the cached reply.
};

struct CallOptions {
    Protocol protocol = Protocol::rra;
    Semantics semantics = Semantics::exactly_once;
    // First wait for an answer before the Req is sent again; each later wait is the previous
    // one times backoff_percent / 100, capped at retransmit_max.
    Duration retransmit_timeout = Duration::milliseconds(50);
    std::uint32_t backoff_percent = 200;  // 100..1000.
    Duration retransmit_max = Duration::seconds(1);
    // Transmissions in a row without any answer before the call fails (request_lost, or
    // response_lost once the server was heard from). Any packet from the server resets it.
    std::uint32_t retry_limit = 8;
    // After the server's Ack the client stops resending and waits; every probe_interval it sends
    // the Req once more as a probe, so that it can tell a slow server (it answers the probe)
    // from a crashed or unreachable one. Unanswered probes count against retry_limit.
    Duration probe_interval = Duration::milliseconds(500);
    Time deadline = Time::max();  // The call fails with Errc::timeout at this time.
};

// Deliberate bugs, for proving that the simulator's checkers catch a broken engine.
// Only tests set these; every field defaults to the correct behaviour.
struct Mutations {
    bool ignore_reply_cache = false;      // Run duplicates of exactly-once requests again.
    bool skip_execution_marker = false;   // Durable: run before the "executing" record is on disk.
    bool respond_before_durable = false;  // Durable: send Resp before the reply is on disk.
};

struct RpcOptions {
    // RRA: a request still running after this long gets the optional Ack (rule 2).
    Duration long_request_threshold = Duration::milliseconds(20);
    // RRA, RARA: the server resends Resp until the client's Ack, with backoff, at most
    // response_retransmit_limit times; after that the client's probes fetch it.
    Duration response_retransmit_timeout = Duration::milliseconds(50);
    Duration response_retransmit_max = Duration::seconds(1);
    std::uint32_t response_retransmit_limit = 8;
    // Reply cache bounds (server side; entries of every state, bytes of bodies held). A new
    // request that finds the cache full is refused with rpc_nack(queue_full); the client
    // retries it with backoff. No unacknowledged reply is ever dropped to make room.
    std::uint32_t cache_entries_max = 100'000;
    std::uint64_t cache_bytes_max = std::uint64_t{64} << 20;
    std::uint32_t clients_max = 10'000;     // Client nodes whose request-id floor is tracked.
    std::uint32_t executions_max = 10'000;  // Requests running at once on this node.
    // A reply not fetched for this long is dropped (RR has no Ack to free it); a client node not
    // heard from for this long is forgotten. Also the assumed maximum packet lifetime: a
    // duplicate older than this may run again (like TCP's MSL).
    Duration retention = Duration::seconds(60);
    // Exactly-once replies are written to the durable store (PersistEffect): a request runs
    // only once its "executing" record is on disk, and its Resp is sent only once its reply is.
    bool durable = false;
    std::uint32_t calls_max = 100'000;  // Outstanding calls of this node's clients.
    std::uint32_t operation_bytes_max = 255;
    std::uint32_t request_bytes_max = 16u << 20;
    std::uint32_t response_bytes_max = 16u << 20;
    // Each retransmission wait is stretched by a random factor in [1, 1 + jitter] so that many
    // clients that lost packets together do not resend together.
    double jitter = 0.1;
    // For this long after the node starts (EngineContext::started), a request to a well-known
    // pid (local id below local_id_dynamic_min) for an operation not served yet is dropped, not
    // refused: its service is still starting, and the client's retransmission finds it served
    // (docs/rpc.md, "Start-up grace"). Zero turns it off.
    Duration startup_grace = Duration::zero();
    // Admission of new client nodes (docs/rpc.md, "Admission"; issue 21). With
    // admission_cookies, a request from a client node the server keeps no record of, arriving
    // from an address the driver names (RpcEngine::on_packet with a Source), is run only when
    // it carries the cookie the server gave that node at that address; otherwise it is answered
    // rpc_nack(access_denied) with a fresh cookie and nothing is kept. A cookie is a keyed hash
    // (cookie_key, secret) of the client node, its incarnation, the address and the time bucket
    // (cookie_period): valid in its bucket and the next one. The runtime turns this on for
    // nodes without a cluster key, with a random key per node incarnation.
    bool admission_cookies = false;
    std::array<std::uint8_t, 16> cookie_key{};
    Duration cookie_period = Duration::seconds(30);
    // Client nodes with a record at once whose first request came from one address (beside
    // clients_max for all). One more from that address is refused with rpc_nack(queue_full).
    std::uint32_t clients_per_address_max = 4;
    Mutations mutations;
};

}  // namespace herald::proto::rpc

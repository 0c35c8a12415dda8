// The RPC packets (rpc_request, rpc_ack, rpc_response, rpc_response_ack, rpc_nack): how the
// engine builds them and how it validates the ones that arrive. Layer: proto/rpc.
// Field use per packet kind is tabled in docs/rpc.md ("Wire").
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"
#include "proto/fields.h"
#include "proto/rpc/rpc_options.h"
#include "wire/packet.h"

namespace herald::proto::rpc {

// A request id, unique for the life of the client node: its incarnation and a sequence number
// counted per client node from 1 (a restart changes the incarnation, so ids never repeat).
// On the wire: the call_id extension, u32 incarnation then u64 seq, little-endian.
struct CallId {
    std::uint32_t incarnation = 0;
    std::uint64_t seq = 0;
    constexpr auto operator<=>(const CallId&) const = default;
};
inline constexpr std::size_t call_id_bytes = 12;

struct Mode {
    Protocol protocol = Protocol::rra;
    Semantics semantics = Semantics::exactly_once;
    constexpr bool operator==(const Mode&) const = default;
};

// Header flags (wire::flag::rpc_*) that carry a call's mode, and back.
[[nodiscard]] std::uint16_t mode_flags(Mode mode);
[[nodiscard]] Mode mode_of(std::uint16_t flags);  // ack_request alone reads as RARA.
[[nodiscard]] bool acks_request(Mode mode);       // RARA.
[[nodiscard]] bool acks_response(Mode mode);      // RRA, RARA.

// Who and which call a packet is about, common to every RPC packet.
struct Route {
    Pid client;
    Pid server;
    CallId id;
    Mode mode;
    std::uint32_t attempt = 1;  // Header epoch: the Req transmission count (echoed by the server).
};

// A validated rpc_request.
struct Request {
    Route route;
    std::uint32_t target_incarnation = 0;  // Server incarnation that answered this call; 0: none.
    std::uint64_t floor = 0;               // Header ack: every seq below it is finished.
    Duration age;  // Header timestamp_ns: time since the call's first transmission (client clock).
    std::string operation;
    Bytes body;
    std::optional<std::uint64_t> cookie;  // Extension rpc_cookie: the server's address proof.
};

// A validated rpc_ack, rpc_response or rpc_nack (server to client).
struct Reply {
    wire::PacketKind kind = wire::PacketKind::rpc_ack;
    Route route;
    std::uint32_t server_incarnation = 0;
    Result<Bytes> result;  // Response body; a failed response or a nack: reason and text.
    std::optional<std::uint64_t> cookie;  // rpc_nack only: resend the Req with this cookie.
};

// A validated rpc_response_ack (client to server).
struct ResponseAck {
    Route route;
    std::uint32_t server_incarnation = 0;  // The incarnation whose response is acknowledged.
    std::uint64_t floor = 0;               // Header ack: the client's floor, as on Req.
};

// Builders. `self_incarnation` is the sending node's incarnation.
[[nodiscard]] wire::Packet request_packet(Request request, std::uint32_t self_incarnation);
[[nodiscard]] wire::Packet ack_packet(const Route& route, std::uint32_t self_incarnation);
// A failed result travels as reason (u8 Errc) and text (its detail) with an empty body.
[[nodiscard]] wire::Packet response_packet(const Route& route, std::uint32_t self_incarnation,
                                           const Result<Bytes>& result);
[[nodiscard]] wire::Packet nack_packet(const Route& route, std::uint32_t self_incarnation,
                                       Errc reason, std::string_view text);
// rpc_nack(access_denied) with extension rpc_cookie and no text: "prove your address".
[[nodiscard]] wire::Packet cookie_packet(const Route& route, std::uint32_t self_incarnation,
                                         std::uint64_t cookie);
[[nodiscard]] wire::Packet response_ack_packet(const Route& route, std::uint32_t self_incarnation,
                                               std::uint32_t server_incarnation,
                                               std::uint64_t floor);

// Parsers: Errc::malformed (detail names the rule) when the packet came from another node than
// its source pid names, a pid is invalid, call_id is missing or not 12 bytes or has seq 0, the
// operation is missing, empty or longer than `operation_bytes_max`, the floor is above the
// seq, the age is negative, an rpc_cookie is not 8 bytes, a reason is missing (nack) or not a known
// Errc, or the kind does not match.
[[nodiscard]] Result<Request> parse_request(NodeId from, const wire::Packet& packet,
                                            std::uint32_t operation_bytes_max);
// parse_request that takes the packet's body instead of copying it (the packet's body is left
// empty when it succeeds; the engine's input packets are its to take, docs/engines.md).
[[nodiscard]] Result<Request> take_request(NodeId from, wire::Packet& packet,
                                           std::uint32_t operation_bytes_max);
[[nodiscard]] Result<Reply> parse_reply(NodeId from, const wire::Packet& packet);
[[nodiscard]] Result<ResponseAck> parse_response_ack(NodeId from, const wire::Packet& packet);

}  // namespace herald::proto::rpc

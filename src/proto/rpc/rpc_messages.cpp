// Building and validating RPC packets. Layer: proto/rpc.
#include "proto/rpc/rpc_messages.h"

namespace herald::proto::rpc {
namespace {

using wire::ExtensionType;
using wire::PacketKind;

Bytes call_id_value(CallId id) {
    Bytes out;
    out.reserve(call_id_bytes);
    put_u32(out, id.incarnation);
    put_u64(out, id.seq);
    return out;
}

wire::Packet base_packet(PacketKind kind, const Route& route, bool from_client,
                         std::uint32_t self_incarnation) {
    wire::Packet p;
    p.header.kind = kind;
    p.header.flags = mode_flags(route.mode);
    p.header.source = from_client ? route.client : route.server;
    p.header.target = from_client ? route.server : route.client;
    p.header.source_incarnation = self_incarnation;
    p.header.target_incarnation = from_client ? 0 : route.id.incarnation;
    p.header.epoch = route.attempt;
    p.header.seq = route.id.seq;
    // Room for a request's call_id, operation and cookie: one allocation, not one per growth.
    p.extensions.reserve(3);
    p.extensions.push_back({ExtensionType::call_id, call_id_value(route.id)});
    return p;
}

void add_cookie(wire::Packet& p, std::uint64_t cookie) {
    Bytes value;
    value.reserve(8);
    put_u64(value, cookie);
    p.extensions.push_back({ExtensionType::rpc_cookie, std::move(value)});
}

// The rpc_cookie extension: absent (nullopt), or exactly 8 bytes (else malformed).
Result<std::optional<std::uint64_t>> parse_cookie(const wire::Packet& p) {
    const auto* ext = p.find(ExtensionType::rpc_cookie);
    if (ext == nullptr) return std::optional<std::uint64_t>{};
    std::uint64_t cookie = 0;
    std::size_t offset = 0;
    if (ext->value.size() != 8 || !get_u64(ext->value, offset, cookie)) {
        return fail(Errc::malformed, "rpc_cookie length");
    }
    return std::optional<std::uint64_t>{cookie};
}

void add_error(wire::Packet& p, const Error& error) {
    p.extensions.push_back({ExtensionType::reason, Bytes{static_cast<std::uint8_t>(error.code)}});
    if (!error.detail.empty()) {
        p.extensions.push_back({ExtensionType::text, to_bytes(error.detail)});
    }
}

// The route common to every RPC packet; `from_client` says which pid is the source.
Result<Route> parse_route(NodeId from, const wire::Packet& p, bool from_client) {
    const auto& h = p.header;
    if (!h.source.valid() || !h.target.valid()) return fail(Errc::malformed, "invalid pid");
    if (h.source.node != from) return fail(Errc::malformed, "source pid is not on sender node");
    const auto* ext = p.find(ExtensionType::call_id);
    if (ext == nullptr) return fail(Errc::malformed, "no call_id");
    if (ext->value.size() != call_id_bytes) return fail(Errc::malformed, "call_id length");
    Route route;
    std::size_t offset = 0;
    const bool ok = get_u32(ext->value, offset, route.id.incarnation) &&
                    get_u64(ext->value, offset, route.id.seq);
    if (!ok || route.id.seq == 0) return fail(Errc::malformed, "call_id seq 0");
    route.client = from_client ? h.source : h.target;
    route.server = from_client ? h.target : h.source;
    route.mode = mode_of(h.flags);
    route.attempt = h.epoch;
    return route;
}

Result<Error> parse_error(const wire::Packet& p) {
    const auto* reason = p.find(ExtensionType::reason);
    if (reason->value.size() != 1 || !is_error_code(reason->value[0])) {
        return fail(Errc::malformed, "bad reason");
    }
    Error error{static_cast<Errc>(reason->value[0]), {}};
    if (const auto* text = p.find(ExtensionType::text)) {
        error.detail = std::string(as_text(text->value));
    }
    return error;
}

// Every field of a request but its body: the checks of parse_request.
Result<Request> parse_request_head(NodeId from, const wire::Packet& packet,
                                   std::uint32_t operation_bytes_max) {
    if (packet.header.kind != PacketKind::rpc_request) return fail(Errc::malformed, "kind");
    HERALD_TRY(Route route, parse_route(from, packet, true));
    if (route.id.incarnation != packet.header.source_incarnation) {
        return fail(Errc::malformed, "call_id incarnation is not the sender's");
    }
    if (route.attempt == 0) return fail(Errc::malformed, "attempt 0");
    const auto* operation = packet.find(ExtensionType::operation);
    if (operation == nullptr || operation->value.empty() ||
        operation->value.size() > operation_bytes_max) {
        return fail(Errc::malformed, "operation missing, empty or too long");
    }
    if (packet.header.ack > route.id.seq) return fail(Errc::malformed, "floor above seq");
    if (packet.header.timestamp_ns < 0) return fail(Errc::malformed, "negative age");
    HERALD_TRY(auto cookie, parse_cookie(packet));
    Request request;
    request.cookie = cookie;
    request.route = route;
    request.target_incarnation = packet.header.target_incarnation;
    request.floor = packet.header.ack;
    request.age = Duration::nanoseconds(packet.header.timestamp_ns);
    request.operation = std::string(as_text(operation->value));
    return request;
}

}  // namespace

std::uint16_t mode_flags(Mode mode) {
    std::uint16_t flags = 0;
    if (mode.semantics == Semantics::exactly_once) flags |= wire::flag::rpc_exactly_once;
    if (acks_request(mode)) flags |= wire::flag::rpc_ack_request;
    if (acks_response(mode)) flags |= wire::flag::rpc_ack_response;
    return flags;
}

Mode mode_of(std::uint16_t flags) {
    Mode mode;
    mode.semantics = (flags & wire::flag::rpc_exactly_once) != 0 ? Semantics::exactly_once
                                                                 : Semantics::at_least_once;
    const bool ack_request = (flags & wire::flag::rpc_ack_request) != 0;
    const bool ack_response = (flags & wire::flag::rpc_ack_response) != 0;
    if (ack_request) {
        mode.protocol = Protocol::rara;
    } else if (ack_response) {
        mode.protocol = Protocol::rra;
    } else {
        mode.protocol = Protocol::rr;
    }
    return mode;
}

bool acks_request(Mode mode) {
    return mode.protocol == Protocol::rara;
}
bool acks_response(Mode mode) {
    return mode.protocol != Protocol::rr;
}

wire::Packet request_packet(Request request, std::uint32_t self_incarnation) {
    auto p = base_packet(PacketKind::rpc_request, request.route, true, self_incarnation);
    p.header.target_incarnation = request.target_incarnation;
    p.header.ack = request.floor;
    p.header.timestamp_ns = request.age.ns();
    p.extensions.push_back({ExtensionType::operation, to_bytes(request.operation)});
    if (request.cookie) add_cookie(p, *request.cookie);
    p.body = std::move(request.body);
    return p;
}

wire::Packet ack_packet(const Route& route, std::uint32_t self_incarnation) {
    return base_packet(PacketKind::rpc_ack, route, false, self_incarnation);
}

wire::Packet response_packet(const Route& route, std::uint32_t self_incarnation,
                             const Result<Bytes>& result) {
    auto p = base_packet(PacketKind::rpc_response, route, false, self_incarnation);
    if (result) {
        p.body = *result;
    } else {
        add_error(p, result.error());
    }
    return p;
}

wire::Packet nack_packet(const Route& route, std::uint32_t self_incarnation, Errc reason,
                         std::string_view text) {
    auto p = base_packet(PacketKind::rpc_nack, route, false, self_incarnation);
    add_error(p, Error{reason, std::string(text)});
    return p;
}

wire::Packet cookie_packet(const Route& route, std::uint32_t self_incarnation,
                           std::uint64_t cookie) {
    auto p = nack_packet(route, self_incarnation, Errc::access_denied, {});
    add_cookie(p, cookie);
    return p;
}

wire::Packet response_ack_packet(const Route& route, std::uint32_t self_incarnation,
                                 std::uint32_t server_incarnation, std::uint64_t floor) {
    auto p = base_packet(PacketKind::rpc_response_ack, route, true, self_incarnation);
    p.header.target_incarnation = server_incarnation;
    p.header.ack = floor;
    return p;
}

Result<Request> parse_request(NodeId from, const wire::Packet& packet,
                              std::uint32_t operation_bytes_max) {
    HERALD_TRY(Request request, parse_request_head(from, packet, operation_bytes_max));
    request.body = packet.body;
    return request;
}

Result<Request> take_request(NodeId from, wire::Packet& packet, std::uint32_t operation_bytes_max) {
    HERALD_TRY(Request request, parse_request_head(from, packet, operation_bytes_max));
    request.body = std::move(packet.body);
    packet.body = Bytes{};
    return request;
}

Result<Reply> parse_reply(NodeId from, const wire::Packet& packet) {
    const auto kind = packet.header.kind;
    if (kind != PacketKind::rpc_ack && kind != PacketKind::rpc_response &&
        kind != PacketKind::rpc_nack) {
        return fail(Errc::malformed, "kind");
    }
    HERALD_TRY(Route route, parse_route(from, packet, false));
    Reply reply;
    reply.kind = kind;
    reply.route = route;
    reply.server_incarnation = packet.header.source_incarnation;
    const bool has_reason = packet.find(ExtensionType::reason) != nullptr;
    if (kind == PacketKind::rpc_nack && !has_reason) return fail(Errc::malformed, "no reason");
    if (kind == PacketKind::rpc_nack) {
        HERALD_TRY(reply.cookie, parse_cookie(packet));
    }
    if (has_reason && kind != PacketKind::rpc_ack) {
        HERALD_TRY(Error error, parse_error(packet));
        reply.result = tl::make_unexpected(std::move(error));
    } else {
        reply.result = packet.body;
    }
    return reply;
}

Result<ResponseAck> parse_response_ack(NodeId from, const wire::Packet& packet) {
    if (packet.header.kind != PacketKind::rpc_response_ack) return fail(Errc::malformed, "kind");
    HERALD_TRY(Route route, parse_route(from, packet, true));
    if (route.id.incarnation != packet.header.source_incarnation) {
        return fail(Errc::malformed, "call_id incarnation is not the sender's");
    }
    return ResponseAck{route, packet.header.target_incarnation, packet.header.ack};
}

}  // namespace herald::proto::rpc

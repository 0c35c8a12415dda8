// RpcEngine: dispatch of inputs to the client and server halves. Layer: proto/rpc.
#include "proto/rpc/rpc_engine.h"

#include "proto/rpc/rpc_client.h"
#include "proto/rpc/rpc_server.h"

namespace herald::proto::rpc {

RpcEngine::RpcEngine(NodeId self, std::uint32_t incarnation, const RpcOptions& options,
                     Random& random)
    : ctx_(std::make_unique<Context>(self, incarnation, options, random)),
      client_(std::make_unique<RpcClient>(*ctx_)),
      server_(std::make_unique<RpcServer>(*ctx_)) {
    HERALD_ASSERT(self.known());
    HERALD_ASSERT(incarnation != 0);
}

RpcEngine::RpcEngine(const EngineContext& context, const RpcOptions& options)
    : RpcEngine(context.self, context.incarnation, options, context.random) {
    started_ = context.started;
}

RpcEngine::~RpcEngine() = default;

std::string_view RpcEngine::store_prefix() const {
    return ReplyCache::key_prefix;
}

void RpcEngine::on_unreachable(NodeId node, Time now, Effects& out) {
    server_->on_unreachable(node, now, out);
}

EngineCounters RpcEngine::totals() const {
    const auto c = counters();
    return {c.packets_sent, c.request_retransmits + c.probes + c.response_retransmits,
            c.duplicates_discarded + c.duplicates_answered + c.stale_dropped, c.malformed_dropped};
}

Status RpcEngine::on_serve(Pid server, std::string operation, bool idempotent) {
    return server_->on_serve(server, std::move(operation), idempotent);
}

void RpcEngine::on_unserve(Pid server, Time now, Effects& out) {
    server_->on_unserve(server, now, out);
}

void RpcEngine::on_call(OperationId op, Pid client, Pid server, std::string operation,
                        Bytes request, const CallOptions& options, Time now, Effects& out) {
    client_->on_call(op, client, server, std::move(operation), std::move(request), options, now,
                     out);
}

void RpcEngine::on_result(std::uint64_t execution, Result<Bytes> response, Time now, Effects& out) {
    on_result(execution, std::move(response), {}, now, out);
}

void RpcEngine::on_result(std::uint64_t execution, Result<Bytes> response,
                          std::vector<HandlerWrite> writes, Time now, Effects& out) {
    server_->on_result(execution, std::move(response), std::move(writes), now, out);
}

void RpcEngine::on_packet(NodeId from, const wire::Packet& packet, Time now, Effects& out) {
    on_packet(from, packet, Source{}, now, out);
}

void RpcEngine::on_packet(NodeId from, const wire::Packet& packet, const Source& source, Time now,
                          Effects& out) {
    wire::Packet copy = packet;
    on_packet(from, copy, source, now, out);
}

void RpcEngine::on_packet(NodeId from, wire::Packet& packet, const Source& source, Time now,
                          Effects& out) {
    if (too_early(packet, now)) {
        ++ctx_->counters.startup_dropped;  // Not refused: the caller resends, and finds it served.
        return;
    }
    dispatch(from, packet, source, now, out);
}

bool RpcEngine::too_early(const wire::Packet& packet, Time now) const {
    if (packet.header.kind != wire::PacketKind::rpc_request) return false;
    if (now - started_ >= ctx_->options.startup_grace) return false;
    const Pid target = packet.header.target;
    if (target.node != ctx_->self || target.local >= local_id_dynamic_min) return false;
    const wire::Extension* operation = packet.find(wire::ExtensionType::operation);
    if (operation == nullptr) return false;  // Malformed: dispatch counts it.
    const std::string_view name(reinterpret_cast<const char*>(operation->value.data()),
                                operation->value.size());
    return !server_->serves(target, name);
}

void RpcEngine::dispatch(NodeId from, wire::Packet& packet, const Source& source, Time now,
                         Effects& out) {
    auto& counters = ctx_->counters;
    ++counters.packets_received;
    if (packet.header.target.node != ctx_->self) {
        ++counters.malformed_dropped;  // Misrouted: not for a process of this node.
        return;
    }
    using wire::PacketKind;
    switch (packet.header.kind) {
        case PacketKind::rpc_request: {
            auto request = take_request(from, packet, ctx_->options.operation_bytes_max);
            if (!request) break;
            server_->on_request(*request, source, now, out);
            server_->arm_sweep(now, out);
            return;
        }
        case PacketKind::rpc_response_ack: {
            auto ack = parse_response_ack(from, packet);
            if (!ack) break;
            server_->on_response_ack(*ack, now, out);
            return;
        }
        case PacketKind::rpc_ack:
        case PacketKind::rpc_response:
        case PacketKind::rpc_nack: {
            auto reply = parse_reply(from, packet);
            if (!reply) break;
            client_->on_reply(*reply, now, out);
            return;
        }
        default:
            break;
    }
    ++counters.malformed_dropped;
}

void RpcEngine::on_timer(TimerId timer, Time now, Effects& out) {
    const auto tag = timer.value & ~timer_tag::mask;
    const auto id = timer.value & timer_tag::mask;
    if (tag == timer_tag::client) {
        client_->on_timer(id, now, out);
    } else if (tag == timer_tag::server) {
        server_->on_timer(id, now, out);
    } else if (tag == timer_tag::sweep) {
        server_->on_sweep(now, out);
    }
}

void RpcEngine::on_durable(std::uint64_t token, Time now, Effects& out) {
    server_->on_durable(token, Status{}, now, out);
}

void RpcEngine::on_durable(std::uint64_t token, const Status& status, Time now, Effects& out) {
    server_->on_durable(token, status, now, out);
}

void RpcEngine::on_restore(std::span<const std::pair<std::string, Bytes>> records) {
    server_->on_restore(records);
}

RpcCounters RpcEngine::counters() const {
    RpcCounters counters = ctx_->counters;
    counters.calls_outstanding = client_->outstanding();
    counters.executing = server_->executing();
    counters.cache_entries = server_->cache().entries();
    counters.cache_bytes = server_->cache().bytes();
    counters.cache_clients = server_->cache().clients();
    counters.client_bytes = server_->cache().client_bytes();
    return counters;
}

}  // namespace herald::proto::rpc

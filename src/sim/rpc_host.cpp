// RpcHost implementation. Layer: sim.
#include "sim/rpc_host.h"

#include <string>
#include <utility>
#include <vector>

#include "proto/rpc/reply_cache.h"

namespace herald::sim {

RpcHost::RpcHost(const EngineContext& context, const proto::rpc::RpcOptions& options)
    : options_(options), engine_(context.node, context.incarnation, options_, context.random) {
    const std::string_view prefix = proto::rpc::ReplyCache::key_prefix;
    std::vector<std::pair<std::string, Bytes>> records;
    for (auto it = context.disk.lower_bound(prefix);
         it != context.disk.end() && it->first.starts_with(prefix); ++it) {
        records.emplace_back(it->first, it->second);
    }
    engine_.on_restore(records);
}

EngineFactory RpcHost::factory(const proto::rpc::RpcOptions& options) {
    return [options](const EngineContext& context) -> std::unique_ptr<HostedEngine> {
        return std::make_unique<RpcHost>(context, options);
    };
}

bool RpcHost::handles(wire::PacketKind kind) const {
    using wire::PacketKind;
    switch (kind) {
        case PacketKind::rpc_request:
        case PacketKind::rpc_ack:
        case PacketKind::rpc_response:
        case PacketKind::rpc_response_ack:
        case PacketKind::rpc_nack:
            return true;
        default:
            return false;
    }
}

EngineStats RpcHost::stats() const {
    const auto c = engine_.counters();
    return {c.packets_sent, c.request_retransmits + c.probes + c.response_retransmits,
            c.duplicates_discarded + c.duplicates_answered + c.stale_dropped, c.malformed_dropped};
}

}  // namespace herald::sim

// DirectHost implementation. Layer: sim.
#include "sim/direct_host.h"

namespace herald::sim {

EngineFactory DirectHost::factory(const proto::direct::DirectOptions& options) {
    return [options](const EngineContext& context) -> std::unique_ptr<HostedEngine> {
        return std::make_unique<DirectHost>(context, options);
    };
}

bool DirectHost::handles(wire::PacketKind kind) const {
    using wire::PacketKind;
    switch (kind) {
        case PacketKind::hello:
        case PacketKind::hello_reply:
        case PacketKind::data:
        case PacketKind::ack:
        case PacketKind::nack:
        case PacketKind::ready:
            return true;
        default:
            return false;
    }
}

EngineStats DirectHost::stats() const {
    const auto c = engine_.counters();
    return {c.packets_sent, c.retransmits, c.duplicates_dropped, c.malformed_dropped};
}

}  // namespace herald::sim

// DirectHost: hosts a proto::direct::DirectEngine in a SimNode (packet kinds hello,
// hello_reply, data, ack, nack, ready). Layer: sim.
#pragma once

#include "proto/direct/direct_engine.h"
#include "sim/hosted_engine.h"

namespace herald::sim {

class DirectHost final : public HostedEngine {
public:
    DirectHost(const EngineContext& context, const proto::direct::DirectOptions& options)
        : engine_(context.node, context.incarnation, options, context.random) {}

    // A factory for SimNode::add_engine with fixed options.
    static EngineFactory factory(const proto::direct::DirectOptions& options);

    [[nodiscard]] std::string_view name() const override { return "direct"; }
    [[nodiscard]] bool handles(wire::PacketKind kind) const override;
    void on_packet(NodeId from, const wire::Packet& packet, Time now,
                   proto::Effects& out) override {
        engine_.on_packet(from, packet, now, out);
    }
    void on_timer(proto::TimerId timer, Time now, proto::Effects& out) override {
        engine_.on_timer(timer, now, out);
    }
    void on_consumed(Pid receiver, std::uint32_t count, Time now, proto::Effects& out) override {
        engine_.on_consumed(receiver, count, now, out);
    }
    [[nodiscard]] EngineStats stats() const override;

    [[nodiscard]] proto::direct::DirectEngine& engine() { return engine_; }

private:
    proto::direct::DirectEngine engine_;
};

}  // namespace herald::sim

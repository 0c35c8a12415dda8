// RpcHost: hosts a proto::rpc::RpcEngine in a SimNode (packet kinds rpc_request, rpc_ack,
// rpc_response, rpc_response_ack, rpc_nack). At each start the engine restores its reply cache
// from the node's disk (records under "rpc/"). Layer: sim.
#pragma once

#include "proto/rpc/rpc_engine.h"
#include "sim/hosted_engine.h"

namespace herald::sim {

class RpcHost final : public HostedEngine {
public:
    RpcHost(const EngineContext& context, const proto::rpc::RpcOptions& options);

    // A factory for SimNode::add_engine with fixed options (copied into the factory).
    static EngineFactory factory(const proto::rpc::RpcOptions& options);

    [[nodiscard]] std::string_view name() const override { return "rpc"; }
    [[nodiscard]] bool handles(wire::PacketKind kind) const override;
    void on_packet(NodeId from, const wire::Packet& packet, Time now,
                   proto::Effects& out) override {
        engine_.on_packet(from, packet, now, out);
    }
    void on_timer(proto::TimerId timer, Time now, proto::Effects& out) override {
        engine_.on_timer(timer, now, out);
    }
    void on_durable(std::uint64_t token, Time now, proto::Effects& out) override {
        engine_.on_durable(token, now, out);
    }
    [[nodiscard]] EngineStats stats() const override;

    [[nodiscard]] proto::rpc::RpcEngine& engine() { return engine_; }

private:
    proto::rpc::RpcOptions options_;  // The engine keeps a reference: must be declared first.
    proto::rpc::RpcEngine engine_;
};

}  // namespace herald::sim

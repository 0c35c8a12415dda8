// HostedEngine: how the Node drives one sans-I/O engine generically (packets by kind, timers,
// process lifecycle, RPC executions and durable writes). Adding an engine to the Node means
// one adapter here plus its application commands in the Node. Layer: runtime. Loop thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <utility>
#include <vector>

#include "core/assert.h"
#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"
#include "proto/direct/direct_engine.h"
#include "proto/effects.h"
#include "wire/packet.h"

namespace herald::runtime {

class HostedEngine {
public:
    virtual ~HostedEngine() = default;

    [[nodiscard]] virtual std::string_view name() const = 0;
    // The packet kinds this engine receives; each kind belongs to exactly one engine.
    [[nodiscard]] virtual std::vector<wire::PacketKind> kinds() const = 0;

    // The engine may take the packet's body (its buffers are the caller's no longer).
    virtual void on_packet(NodeId from, wire::Packet& packet, Time now, proto::Effects& out) = 0;
    virtual void on_timer(proto::TimerId timer, Time now, proto::Effects& out) = 0;

    // A local process started / exited (engines that do not care ignore it).
    virtual void on_spawn(Pid, const proto::direct::ProcessOptions&, Time, proto::Effects&) {}
    virtual void on_exit(Pid, Time, proto::Effects&) {}

    // The handler of an ExecuteEffect finished. Only engines that emit executions get this.
    virtual void on_result(std::uint64_t execution, Result<Bytes> result, Time now,
                           proto::Effects& out) {
        (void)execution, (void)result, (void)now, (void)out;
        const bool engine_takes_results = false;  // Yet it emitted an execution: a bug.
        HERALD_ASSERT(engine_takes_results);
    }
    // The PersistEffect with `token` is durable. Only engines that emit persists get this.
    virtual void on_durable(std::uint64_t token, Time now, proto::Effects& out) {
        (void)token, (void)now, (void)out;
        const bool engine_takes_durable = false;  // Yet it emitted a persist: a bug.
        HERALD_ASSERT(engine_takes_durable);
    }
};

// The direct engine (reliable process-to-process messages, hello / ping).
class DirectHost final : public HostedEngine {
public:
    explicit DirectHost(proto::direct::DirectEngine& engine) : engine_(engine) {}

    [[nodiscard]] std::string_view name() const override { return "direct"; }
    [[nodiscard]] std::vector<wire::PacketKind> kinds() const override {
        using wire::PacketKind;
        return {PacketKind::hello, PacketKind::hello_reply, PacketKind::data,
                PacketKind::ack,   PacketKind::nack,        PacketKind::ready};
    }
    void on_packet(NodeId from, wire::Packet& packet, Time now, proto::Effects& out) override {
        engine_.on_packet(from, std::move(packet), now, out);
    }
    void on_timer(proto::TimerId timer, Time now, proto::Effects& out) override {
        engine_.on_timer(timer, now, out);
    }
    void on_spawn(Pid pid, const proto::direct::ProcessOptions& options, Time now,
                  proto::Effects& out) override {
        engine_.on_spawn(pid, options, now, out);
    }
    void on_exit(Pid pid, Time now, proto::Effects& out) override {
        engine_.on_exit(pid, now, out);
    }

private:
    proto::direct::DirectEngine& engine_;
};

}  // namespace herald::runtime

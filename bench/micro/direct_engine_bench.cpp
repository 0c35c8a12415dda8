// Micro-benchmark of the direct engine (proto/direct): one message's whole protocol cycle,
// send -> data -> deliver -> ack -> complete, between two engines driven by hand through their
// Effects, with and without encoding and decoding each packet. No sockets, no clock.
// Layer: bench.
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "proto/direct/direct_engine.h"
#include "wire/codec.h"

namespace herald::proto::direct {
namespace {

// Two engines wired back to back. pump() carries every packet across (optionally through the
// codec) until both are quiet, and consumes deliveries so the receiver keeps granting credit.
class Pair {
public:
    explicit Pair(bool through_codec)
        : codec_(through_codec),
          a_(NodeId{1}, 11, DirectOptions{}, random_a_),
          b_(NodeId{2}, 22, DirectOptions{}, random_b_) {
        a_.on_spawn(p_, ProcessOptions{}, now_, out_a_);
        b_.on_spawn(q_, ProcessOptions{}, now_, out_b_);
        send(Bytes(1, 0));  // The first message also runs the hello handshake.
    }

    // Sends one message of `body` from p to q and runs the protocol to its completion.
    // Returns false when the operation did not complete successfully.
    bool send(Bytes body) {
        now_ += Duration::microseconds(1);
        const OperationId op = ++op_;
        a_.on_send(op, Message{p_, q_, 0, 0, std::move(body)}, SendOptions{}, now_, out_a_);
        bool done = false;
        while (!out_a_.sends.empty() || !out_b_.sends.empty()) {
            carry(out_a_, b_, NodeId{1}, out_b_);
            carry(out_b_, a_, NodeId{2}, out_a_);
        }
        for (const auto& completion : out_a_.completions) {
            done = done || (completion.op == op && completion.result.has_value());
        }
        out_a_.clear();
        out_b_.clear();
        return done;
    }

private:
    void carry(Effects& from_out, DirectEngine& to, NodeId from, Effects& to_out) {
        std::vector<SendEffect> sends = std::move(from_out.sends);
        from_out.sends.clear();
        for (auto& send : sends) {
            if (codec_) {
                Bytes datagram(wire::encoded_size(send.parts()));
                if (!wire::encode_into(send.parts(), datagram)) std::abort();
                auto decoded = wire::decode(datagram);
                to.on_packet(from, *decoded, now_, to_out);
            } else {
                to.on_packet(from, std::move(send).take(), now_, to_out);
            }
        }
        if (!to_out.deliveries.empty()) {
            auto count = static_cast<std::uint32_t>(to_out.deliveries.size());
            to_out.deliveries.clear();
            to.on_consumed(&to == &b_ ? q_ : p_, count, now_, to_out);
        }
    }

    bool codec_;
    Random random_a_{1}, random_b_{2};
    DirectEngine a_, b_;
    Effects out_a_, out_b_;
    Pid p_{NodeId{1}, local_id_dynamic_min + 5};
    Pid q_{NodeId{2}, local_id_dynamic_min + 6};
    Time now_ = Time::from_ns(1'000'000);
    OperationId op_ = 0;
};

void run_cycles(benchmark::State& state, bool through_codec) {
    Pair pair(through_codec);
    const Bytes body(static_cast<std::size_t>(state.range(0)), 0x5a);
    for (auto _ : state) {
        if (!pair.send(body)) {
            state.SkipWithError("send did not complete");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations());
}

void BM_DirectSendAckCycle(benchmark::State& state) {
    run_cycles(state, false);
}
BENCHMARK(BM_DirectSendAckCycle)->Arg(64)->Arg(1024);

void BM_DirectSendAckCycleWithCodec(benchmark::State& state) {
    run_cycles(state, true);
}
BENCHMARK(BM_DirectSendAckCycleWithCodec)->Arg(64)->Arg(1024);

}  // namespace
}  // namespace herald::proto::direct

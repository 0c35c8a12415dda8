// Micro-benchmarks of the packet codec (wire/codec.h): encode into a pool-sized buffer, decode
// (with checksum), peek at the header, fragmenting a 64 KiB message, and CRC-32C. Layer: bench.
#include <benchmark/benchmark.h>

#include <optional>
#include <vector>

#include "wire/codec.h"
#include "wire/crc32c.h"
#include "wire/fragment.h"

namespace herald::wire {
namespace {

Packet data_packet(std::size_t body_bytes) {
    Packet packet;
    packet.header.kind = PacketKind::data;
    packet.header.source = Pid{NodeId{0x1234}, local_id_dynamic_min + 1};
    packet.header.target = Pid{NodeId{0x5678}, local_id_dynamic_min + 2};
    packet.header.source_incarnation = 3;
    packet.header.epoch = 1;
    packet.header.seq = 42;
    packet.body.assign(body_bytes, 0x5a);
    return packet;
}

void BM_EncodeInto(benchmark::State& state) {
    const Packet packet = data_packet(static_cast<std::size_t>(state.range(0)));
    std::vector<std::uint8_t> out(encoded_size(packet));
    for (auto _ : state) {
        auto written = encode_into(packet, out);
        benchmark::DoNotOptimize(written);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(out.size()));
}
BENCHMARK(BM_EncodeInto)->Arg(0)->Arg(64)->Arg(1024)->Arg(8192);

void BM_Decode(benchmark::State& state) {
    const Bytes datagram = encode(data_packet(static_cast<std::size_t>(state.range(0))));
    for (auto _ : state) {
        auto packet = decode(datagram);
        benchmark::DoNotOptimize(packet);
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(datagram.size()));
}
BENCHMARK(BM_Decode)->Arg(0)->Arg(64)->Arg(1024)->Arg(8192);

void BM_PeekHeader(benchmark::State& state) {
    const Bytes datagram = encode(data_packet(64));
    for (auto _ : state) {
        auto header = peek_header(datagram);
        benchmark::DoNotOptimize(header);
    }
}
BENCHMARK(BM_PeekHeader);

// A 64 KiB message cut into datagrams of range(0) bytes, each decoded and reassembled: the
// whole wire-level cost of one large message (no sockets).
void BM_FragmentAndReassemble(benchmark::State& state) {
    const Packet packet = data_packet(64 * 1024);
    const auto datagram_bytes_max = static_cast<std::size_t>(state.range(0));
    Reassembler reassembler;
    std::uint32_t fragment_id = 0;
    for (auto _ : state) {
        auto datagrams = fragment(packet, datagram_bytes_max, ++fragment_id);
        if (!datagrams) state.SkipWithError("fragment failed");
        std::optional<Packet> whole;
        for (const Bytes& datagram : *datagrams) {
            auto piece = decode(datagram);
            if (!piece) state.SkipWithError("decode failed");
            auto done = reassembler.on_fragment(std::move(*piece), Time::zero());
            if (done && *done) whole = std::move(**done);
        }
        if (!whole) state.SkipWithError("message not reassembled");
        benchmark::DoNotOptimize(whole);
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(packet.body.size()));
}
BENCHMARK(BM_FragmentAndReassemble)->Arg(1472)->Arg(8192)->Arg(65000);

// CRC-32C of range(0) bytes with the path this CPU uses (crc32c_hardware() says which; the
// label shows it) and with the portable software path, to see what the hardware path buys.
void BM_Crc32c(benchmark::State& state) {
    const Bytes data(static_cast<std::size_t>(state.range(0)), 0x5a);
    for (auto _ : state) {
        auto crc = crc32c(data);
        benchmark::DoNotOptimize(crc);
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(data.size()));
    state.SetLabel(crc32c_hardware() ? "sse4.2" : "portable");
}
BENCHMARK(BM_Crc32c)->Arg(64)->Arg(1024)->Arg(64 * 1024);

void BM_Crc32cPortable(benchmark::State& state) {
    const Bytes data(static_cast<std::size_t>(state.range(0)), 0x5a);
    for (auto _ : state) {
        auto crc = crc32c_extend_portable(0, data);
        benchmark::DoNotOptimize(crc);
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(data.size()));
}
BENCHMARK(BM_Crc32cPortable)->Arg(64)->Arg(1024)->Arg(64 * 1024);

}  // namespace
}  // namespace herald::wire

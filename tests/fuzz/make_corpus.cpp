// Writes the seed corpora of the wire fuzz targets: valid packets of every kind (plus fragments),
// MessagePack bodies of every type, and seed byte strings for the Reassembler target.
// Layer: wire (test tool). Usage: wire_fuzz_corpus <dir>, normally tests/fuzz/corpus.
// Deterministic: the same build writes the same files.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "core/random.h"
#include "wire/body.h"
#include "wire/fragment.h"

namespace {

namespace fs = std::filesystem;
namespace wire = herald::wire;
using herald::Bytes;

bool write_file(const fs::path& path, const Bytes& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<long>(bytes.size()));
    return out.good();
}

wire::Packet base_packet(wire::PacketKind kind) {
    wire::Packet p;
    p.header.kind = kind;
    p.header.source = herald::Pid{herald::NodeId{0x7f3a9c21}, 42};
    p.header.target = herald::Pid{herald::NodeId{0x1b2c}, herald::local_id_dynamic_min + 1};
    p.header.source_incarnation = 3;
    p.header.target_incarnation = 1;
    p.header.epoch = 1;
    p.header.seq = 17;
    p.header.ack = 16;
    p.header.timestamp_ns = 1'700'000'000'000'000'000;
    return p;
}

struct Call {
    std::string op;
    std::vector<double> args;
    MSGPACK_DEFINE_MAP(op, args)
};

std::map<std::string, wire::Packet> packets() {
    using K = wire::PacketKind;
    using E = wire::ExtensionType;
    std::map<std::string, wire::Packet> out;
    out["hello"] = base_packet(K::hello);
    out["hello"].header.target = {};
    out["hello_reply"] = base_packet(K::hello_reply);
    out["data"] = base_packet(K::data);
    out["data"].header.flags = wire::flag::want_delivered;
    out["data"].body = herald::to_bytes("hello, herald");
    out["data_offer"] = base_packet(K::data);
    out["data_offer"].header.flags = wire::flag::offer;
    out["ack"] = base_packet(K::ack);
    out["ack"].header.flags = wire::flag::delivered;
    out["ack"].extensions = {{E::credit, Bytes{8, 0, 0, 0}}};
    out["nack"] = base_packet(K::nack);
    out["nack"].extensions = {{E::reason, Bytes{7}}, {E::text, herald::to_bytes("queue full")}};
    out["ready"] = base_packet(K::ready);
    out["rpc_request"] = base_packet(K::rpc_request);
    out["rpc_request"].extensions = {{E::operation, herald::to_bytes("add")},
                                     {E::call_id, Bytes{3, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0}}};
    out["rpc_request"].body = *wire::pack(Call{"add", {1.5, 2.5}});
    out["rpc_ack"] = base_packet(K::rpc_ack);
    out["rpc_response"] = base_packet(K::rpc_response);
    out["rpc_response"].body = *wire::pack(4.0);
    out["rpc_response_ack"] = base_packet(K::rpc_response_ack);
    out["rpc_nack"] = base_packet(K::rpc_nack);
    out["rpc_nack"].extensions = {{E::reason, Bytes{4}}};
    out["unknown_extension"] = base_packet(K::data);
    out["unknown_extension"].extensions = {{static_cast<E>(200), Bytes{1, 2, 3}}};
    return out;
}

bool write_packets(const fs::path& dir) {
    bool ok = true;
    for (const auto& [name, packet] : packets()) {
        ok = write_file(dir / (name + ".bin"), wire::encode(packet)) && ok;
    }
    wire::Packet big = base_packet(wire::PacketKind::data);
    big.extensions = {{wire::ExtensionType::text, herald::to_bytes("big")}};
    big.body.resize(700);
    for (std::size_t i = 0; i < big.body.size(); ++i) big.body[i] = static_cast<std::uint8_t>(i);
    auto parts = wire::fragment(big, 300, 5);
    if (!parts) return false;
    for (std::size_t i = 0; i < parts->size(); ++i) {
        ok = write_file(dir / ("fragment_" + std::to_string(i) + ".bin"), (*parts)[i]) && ok;
    }
    return ok;
}

bool write_bodies(const fs::path& dir) {
    std::map<std::string, Bytes> bodies;
    bodies["call_map"] = *wire::pack(Call{"add", {1.5, -2.0}});
    bodies["nested"] = *wire::pack(std::vector<std::vector<int>>{{1, 2}, {}, {-3}});
    bodies["string"] = *wire::pack(std::string("h\xC3\xA9raut"));
    bodies["binary"] = *wire::pack(std::vector<std::uint8_t>{0, 1, 255});
    bodies["map_int_keys"] = *wire::pack(std::map<int, bool>{{1, true}, {-2, false}});
    bodies["float32"] = *wire::pack(0.25f);
    bodies["int64_min"] = *wire::pack(std::int64_t{-9'223'372'036'854'775'807 - 1});
    bodies["nil"] = *wire::pack(msgpack::type::nil_t{});
    bodies["ext"] = Bytes{0xD4, 0x05, 0xAB};
    // Maps keyed by maps, 40 deep: rendered as 2^40 bytes before body_key_depth_max.
    Bytes keys_in_keys(40, 0x81);
    keys_in_keys.insert(keys_in_keys.end(), 41, 0xC0);
    bodies["keys_in_keys"] = keys_in_keys;
    bool ok = true;
    for (const auto& [name, bytes] : bodies)
        ok = write_file(dir / (name + ".msgpack"), bytes) && ok;
    return ok;
}

bool write_reassembler_seeds(const fs::path& dir) {
    herald::Random random(2);
    bool ok = true;
    for (std::size_t size : {16u, 64u, 256u, 1024u, 4096u}) {
        Bytes bytes(size);
        for (auto& b : bytes) b = static_cast<std::uint8_t>(random.next_u64());
        ok = write_file(dir / ("seed_" + std::to_string(size) + ".bin"), bytes) && ok;
    }
    return ok;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: wire_fuzz_corpus <corpus dir>\n");
        return 2;
    }
    const fs::path root = argv[1];
    for (const char* sub : {"packet_decode", "body_decode", "reassembler"}) {
        fs::create_directories(root / sub);
    }
    const bool ok = write_packets(root / "packet_decode") && write_bodies(root / "body_decode") &&
                    write_reassembler_seeds(root / "reassembler");
    if (!ok) std::fprintf(stderr, "wire_fuzz_corpus: could not write every file\n");
    return ok ? 0 : 1;
}

// Keeps the committed fuzz seed corpus meaningful: every seed packet must still decode and every
// seed body must still parse, so a wire format change cannot silently turn the seeds into noise
// (regenerate them with `wire_fuzz_corpus tests/fuzz/corpus`). Layer: wire.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "wire/body.h"
#include "wire/codec.h"

namespace herald::wire {
namespace {

namespace fs = std::filesystem;

Bytes read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<fs::path> files_in(const char* target) {
    std::vector<fs::path> out;
    for (const auto& entry : fs::directory_iterator(fs::path(HERALD_FUZZ_CORPUS_DIR) / target)) {
        out.push_back(entry.path());
    }
    return out;
}

TEST(FuzzCorpus, EverySeedPacketDecodesAndReencodes) {
    const auto files = files_in("packet_decode");
    std::set<PacketKind> kinds;
    for (const auto& path : files) {
        const Bytes bytes = read_file(path);
        auto packet = decode(bytes);
        ASSERT_TRUE(packet.has_value()) << path << ": " << packet.error().to_string();
        EXPECT_EQ(encode(*packet), bytes) << path;
        kinds.insert(packet->header.kind);
    }
    // At least one packet of every kind.
    for (const PacketKind kind :
         {PacketKind::hello, PacketKind::hello_reply, PacketKind::data, PacketKind::ack,
          PacketKind::nack, PacketKind::ready, PacketKind::rpc_request, PacketKind::rpc_ack,
          PacketKind::rpc_response, PacketKind::rpc_response_ack, PacketKind::rpc_nack}) {
        EXPECT_TRUE(kinds.contains(kind)) << "no seed of kind " << static_cast<int>(kind);
    }
}

TEST(FuzzCorpus, EverySeedBodyParses) {
    const auto files = files_in("body_decode");
    EXPECT_FALSE(files.empty());
    for (const auto& path : files) {
        auto json = body_to_json(read_file(path));
        EXPECT_TRUE(json.has_value()) << path << ": " << json.error().to_string();
    }
}

}  // namespace
}  // namespace herald::wire

// libFuzzer target for wire::decode and wire::peek_header. Layer: wire (fuzz tier).
// Checks, beyond "no crash and no sanitizer report": a packet that decodes re-encodes to exactly
// the input bytes, and peek_header agrees with decode. Each input is also tried with its checksum
// recomputed, so mutations reach the rules behind the checksum.
#include <cstdint>
#include <cstdlib>

#include "wire/codec.h"
#include "wire/crc32c.h"

namespace {

using herald::Bytes;
using herald::ByteView;
namespace wire = herald::wire;

void require(bool condition) {
    if (!condition) std::abort();
}

void check(ByteView bytes) {
    auto packet = wire::decode(bytes);
    auto header = wire::peek_header(bytes);
    if (!packet) {
        require(packet.error().code == herald::Errc::malformed);
        return;
    }
    require(header.has_value());
    require(header->seq == packet->header.seq);
    require(wire::encoded_size(*packet) == bytes.size());
    require(wire::encode(*packet) == Bytes(bytes.begin(), bytes.end()));
}

void reseal(Bytes& bytes) {
    for (std::size_t i = 0; i < 4; ++i) bytes[wire::checksum_offset + i] = 0;
    const std::uint32_t crc = wire::crc32c(bytes);
    for (std::size_t i = 0; i < 4; ++i) {
        bytes[wire::checksum_offset + i] = static_cast<std::uint8_t>(crc >> (8 * i));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteView input(data, size);
    check(input);
    if (size >= wire::header_bytes) {
        Bytes sealed(input.begin(), input.end());
        reseal(sealed);
        check(sealed);
    }
    return 0;
}

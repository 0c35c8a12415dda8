// libFuzzer target for typed-body decoding: wire::parse_body, wire::unpack<T> for a few shapes,
// and wire::body_to_json. Layer: wire (fuzz tier). Checks that nothing throws out, crashes or
// allocates without bound, and that a document that parses also renders as JSON.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "wire/body.h"

namespace {

void require(bool condition) {
    if (!condition) std::abort();
}

struct Sample {
    std::string name;
    std::int64_t count = 0;
    std::vector<double> values;
    std::vector<std::uint8_t> blob;
    MSGPACK_DEFINE_MAP(name, count, values, blob)
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace wire = herald::wire;
    const herald::ByteView input(data, size);
    const bool parses = wire::parse_body(input).has_value();
    auto json = wire::body_to_json(input);
    require(json.has_value() == parses);
    if (json) require(!json->empty());
    auto sample = wire::unpack<Sample>(input);
    if (sample) require(parses);
    (void)wire::unpack<std::map<std::string, std::vector<std::int64_t>>>(input);
    (void)wire::unpack<std::vector<std::string>>(input);
    (void)wire::unpack<double>(input);
    return 0;
}

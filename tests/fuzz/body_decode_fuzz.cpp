// libFuzzer target for typed-body decoding: wire::parse_body, wire::unpack<T> for a few shapes,
// and wire::body_to_json. Layer: wire (fuzz tier). Checks that nothing throws out, crashes or
// allocates without bound; that a document that parses renders as valid JSON; and round trips:
// a parsed document packs again into one that parses and renders valid JSON, and packing is
// then a fixed point; a struct that unpacks packs and unpacks again to the same encoding.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "wire/body.h"

namespace {

namespace wire = herald::wire;

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

// Packs the parsed document again (P1), parses that and packs it again (P2): both parse and
// render valid JSON, and P1 == P2 with the same JSON (a fixed point). P1 itself may differ from
// the input: the input may use longer encodings, and msgpack-cxx packs a float with an integral
// value as an integer. Values are compared through their encoding, so a NaN equals itself.
void check_document_round_trip(const msgpack::object& parsed) {
    auto packed = wire::pack(parsed);
    require(packed.has_value());
    auto again = wire::parse_body(*packed);
    require(again.has_value());
    auto json = wire::body_to_json(*packed);
    require(json.has_value() && nlohmann::json::accept(*json));
    auto packed_again = wire::pack(again->get());
    require(packed_again.has_value() && *packed_again == *packed);
    auto json_again = wire::body_to_json(*packed_again);
    require(json_again.has_value() && *json_again == *json);
}

// A Sample that unpacked packs, and unpacks again to the same encoding (compared as bytes, so
// that a NaN among the values compares equal to itself).
void check_struct_round_trip(const Sample& sample) {
    auto packed = wire::pack(sample);
    require(packed.has_value());
    auto back = wire::unpack<Sample>(*packed);
    require(back.has_value());
    auto repacked = wire::pack(*back);
    require(repacked.has_value() && *repacked == *packed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const herald::ByteView input(data, size);
    auto parsed = wire::parse_body(input);
    auto json = wire::body_to_json(input);
    require(json.has_value() == parsed.has_value());
    if (json) {
        require(!json->empty());
        require(nlohmann::json::accept(*json));  // Valid JSON (and valid UTF-8).
        check_document_round_trip(parsed->get());
    }
    auto sample = wire::unpack<Sample>(input);
    if (sample) {
        require(parsed.has_value());
        check_struct_round_trip(*sample);
    }
    (void)wire::unpack<std::map<std::string, std::vector<std::int64_t>>>(input);
    (void)wire::unpack<std::vector<std::string>>(input);
    (void)wire::unpack<double>(input);
    return 0;
}

// Interop helper for body_interop.py: writes a typed Herald body to a file, or reads one written
// by Python's `msgpack` module and checks every value. Layer: wire (test program, not GoogleTest).
// Usage: body_interop write <file> | body_interop read <file>. Exit 0 when all is well.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "wire/body.h"

namespace {

struct Sample {
    std::string name;
    std::int64_t count = 0;
    std::vector<double> values;
    std::vector<std::uint8_t> blob;  // MessagePack bin: bytes in Python.
    MSGPACK_DEFINE_MAP(name, count, values, blob)
};

// The values both sides agree on (body_interop.py has the same ones).
Sample expected_sample() {
    return Sample{"h\xC3\xA9raut \xE2\x9C\x93",
                  -1234567890123,
                  {0.5, -2.25, 1e300},
                  {0x00, 0x01, 0x7F, 0x80, 0xFF}};
}

int write_body(const char* path) {
    auto bytes = herald::wire::pack(expected_sample());
    if (!bytes) {
        std::fprintf(stderr, "pack failed: %s\n", bytes.error().to_string().c_str());
        return 1;
    }
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes->data()), static_cast<long>(bytes->size()));
    return out.good() ? 0 : 1;
}

int read_body(const char* path) {
    std::ifstream in(path, std::ios::binary);
    const herald::Bytes bytes((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
    auto sample = herald::wire::unpack<Sample>(bytes);
    if (!sample) {
        std::fprintf(stderr, "unpack failed: %s\n", sample.error().to_string().c_str());
        return 1;
    }
    const Sample want = expected_sample();
    const bool same = sample->name == want.name && sample->count == want.count &&
                      sample->values == want.values && sample->blob == want.blob;
    if (!same) std::fprintf(stderr, "values differ from the expected sample\n");
    return same ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: body_interop write|read <file>\n");
        return 2;
    }
    const std::string mode = argv[1];
    if (mode == "write") return write_body(argv[2]);
    if (mode == "read") return read_body(argv[2]);
    std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
}

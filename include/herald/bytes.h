// Byte buffers of the public API, used across the layers too. Public API.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace herald {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline Bytes to_bytes(std::string_view text) {
    return Bytes(text.begin(), text.end());
}
inline std::string_view as_text(ByteView bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace herald

// CRC-32C (Castagnoli), the integrity check of every Herald packet (docs/wire.md).
// Layer: wire. Pure function, portable software implementation (slicing-by-8).
#pragma once

#include <cstdint>

#include "core/bytes.h"

namespace herald::wire {

// CRC-32C of `bytes` (reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF),
// as in iSCSI and ext4: crc32c("123456789") == 0xE3069283. Any thread; never fails.
[[nodiscard]] std::uint32_t crc32c(ByteView bytes) noexcept;

// Continues a CRC over a further piece: crc32c_extend(crc32c(a), b) == crc32c(a ++ b).
[[nodiscard]] std::uint32_t crc32c_extend(std::uint32_t crc, ByteView bytes) noexcept;

}  // namespace herald::wire

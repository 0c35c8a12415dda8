// CRC-32C (Castagnoli), the integrity check of every Herald packet (docs/wire.md).
// Layer: wire. Pure functions: the SSE4.2 crc32 instruction where the CPU has it (chosen once at
// run time), else a portable software implementation (slicing-by-8); both give the same bits.
#pragma once

#include <cstdint>

#include "core/bytes.h"

namespace herald::wire {

// CRC-32C of `bytes` (reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF),
// as in iSCSI and ext4: crc32c("123456789") == 0xE3069283. Any thread; never fails.
[[nodiscard]] std::uint32_t crc32c(ByteView bytes) noexcept;

// Continues a CRC over a further piece: crc32c_extend(crc32c(a), b) == crc32c(a ++ b).
// Uses the fastest path this CPU supports (see crc32c_hardware). Any thread; never fails.
[[nodiscard]] std::uint32_t crc32c_extend(std::uint32_t crc, ByteView bytes) noexcept;

// The software path of crc32c_extend (slicing-by-8, any CPU), bit for bit the same result.
// For tests and benchmarks that compare the two paths; production code calls crc32c_extend.
[[nodiscard]] std::uint32_t crc32c_extend_portable(std::uint32_t crc, ByteView bytes) noexcept;

// True when crc32c and crc32c_extend use the SSE4.2 crc32 instruction: on x86-64 CPUs that
// report SSE4.2 (the choice is made once, on first use); false elsewhere. Any thread.
[[nodiscard]] bool crc32c_hardware() noexcept;

}  // namespace herald::wire

// CRC-32C two ways: the SSE4.2 crc32 instruction on x86-64 CPUs that have it, chosen once at run
// time, and portable slicing-by-8 (eight table lookups per 8 input bytes) everywhere else.
// Layer: wire. All tables are built at compile time; the only state is the cached choice.
#include "wire/crc32c.h"

#include <array>
#include <cstddef>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace herald::wire {
namespace {

constexpr std::uint32_t polynomial_reflected = 0x82F63B78u;

using Tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr Tables make_tables() {
    Tables t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t crc = i;
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc & 1u) ? (crc >> 1) ^ polynomial_reflected : crc >> 1;
        }
        t[0][i] = crc;
    }
    for (std::size_t k = 1; k < 8; ++k) {
        for (std::size_t i = 0; i < 256; ++i) {
            t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFFu];
        }
    }
    return t;
}

constexpr Tables tables = make_tables();

std::uint32_t load_le32(const std::uint8_t* p) {
    return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
           std::uint32_t{p[3]} << 24;
}

#if defined(__x86_64__)

// Three interleaved streams (the "crc32c 3-way" technique): the crc32 instruction has a latency
// of 3 cycles but a throughput of 1 per cycle, so one dependent chain uses a third of the unit.
// A stretch of 3 * L bytes is split into three streams of L bytes, each CRC'd from its own
// register, and the three registers are combined at the end. The raw CRC register (no
// pre/post inversion) is linear: reg(A ++ B) = reg(A) * x^(8|B|) mod P  xor  reg_from_zero(B).
// So combining needs one multiplication by the constant x^(8L) mod P per stream, done with 8
// lookups in 16-entry tables (one per 4-bit nibble of the register), also built at compile time.

// a * b mod P, both polynomials in the reflected representation (bit 31 is x^0).
constexpr std::uint32_t multiply_mod_p(std::uint32_t a, std::uint32_t b) {
    std::uint32_t product = 0;
    for (std::uint32_t m = 1u << 31; m != 0; m >>= 1) {
        if ((a & m) != 0) product ^= b;
        b = (b & 1u) ? (b >> 1) ^ polynomial_reflected : b >> 1;
    }
    return product;
}

// x^(8 * bytes) mod P: the factor that shifts a register past `bytes` zero bytes.
constexpr std::uint32_t x_pow_8n_mod_p(std::size_t bytes) {
    std::uint32_t result = 1u << 31;  // x^0
    std::uint32_t power = 1u << 23;   // x^8
    for (; bytes != 0; bytes >>= 1) {
        if ((bytes & 1u) != 0) result = multiply_mod_p(power, result);
        power = multiply_mod_p(power, power);
    }
    return result;
}

using ShiftTable = std::array<std::array<std::uint32_t, 16>, 8>;

constexpr ShiftTable make_shift_table(std::size_t bytes) {
    const std::uint32_t factor = x_pow_8n_mod_p(bytes);
    ShiftTable t{};
    for (std::size_t nibble = 0; nibble < 8; ++nibble) {
        for (std::uint32_t v = 0; v < 16; ++v) {
            t[nibble][v] = multiply_mod_p(factor, v << (4 * nibble));
        }
    }
    return t;
}

// reg * x^(8L) mod P for the L of `t`.
std::uint32_t shift(const ShiftTable& t, std::uint32_t reg) {
    std::uint32_t out = 0;
    for (std::size_t nibble = 0; nibble < 8; ++nibble) {
        out ^= t[nibble][(reg >> (4 * nibble)) & 0xFu];
    }
    return out;
}

// Stream lengths: the long one amortises the combine over 64 KiB messages (5 stretches of
// 12 KiB), the short one still pays for 1 KiB packets; both multiples of 8 for the u64 loop.
constexpr std::size_t stream_bytes_long = 4096;
constexpr std::size_t stream_bytes_short = 256;
constexpr ShiftTable shift_long = make_shift_table(stream_bytes_long);
constexpr ShiftTable shift_short = make_shift_table(stream_bytes_short);

std::uint64_t load_u64(const std::uint8_t* p) {
    std::uint64_t word;
    std::memcpy(&word, p, sizeof word);  // Unaligned is fine on x86-64 and cheaper than aligning.
    return word;
}

// Runs reg over as many stretches of 3 * stream_bytes as `rest` holds, consuming them.
__attribute__((target("sse4.2"))) std::uint32_t extend_three_way(std::uint32_t reg, ByteView& rest,
                                                                 std::size_t stream_bytes,
                                                                 const ShiftTable& table) {
    while (rest.size() >= 3 * stream_bytes) {
        const std::uint8_t* p = rest.data();
        const std::uint8_t* const end = p + stream_bytes;
        std::uint64_t r0 = reg;
        std::uint64_t r1 = 0;
        std::uint64_t r2 = 0;
        for (; p != end; p += 8) {
            r0 = _mm_crc32_u64(r0, load_u64(p));
            r1 = _mm_crc32_u64(r1, load_u64(p + stream_bytes));
            r2 = _mm_crc32_u64(r2, load_u64(p + 2 * stream_bytes));
        }
        reg = shift(table, static_cast<std::uint32_t>(r0)) ^ static_cast<std::uint32_t>(r1);
        reg = shift(table, reg) ^ static_cast<std::uint32_t>(r2);
        rest = rest.subspan(3 * stream_bytes);
    }
    return reg;
}

__attribute__((target("sse4.2"))) std::uint32_t crc32c_extend_sse42(std::uint32_t crc,
                                                                    ByteView bytes) noexcept {
    std::uint32_t reg = ~crc;
    reg = extend_three_way(reg, bytes, stream_bytes_long, shift_long);
    reg = extend_three_way(reg, bytes, stream_bytes_short, shift_short);
    const std::uint8_t* p = bytes.data();
    std::size_t n = bytes.size();
    std::uint64_t wide = reg;
    for (; n >= 8; n -= 8, p += 8) wide = _mm_crc32_u64(wide, load_u64(p));
    reg = static_cast<std::uint32_t>(wide);
    for (; n > 0; --n, ++p) reg = _mm_crc32_u8(reg, *p);
    return ~reg;
}

#endif  // __x86_64__

using ExtendFunction = std::uint32_t (*)(std::uint32_t, ByteView) noexcept;

ExtendFunction choose_extend() noexcept {
#if defined(__x86_64__)
    __builtin_cpu_init();  // Needed if the first CRC runs in a static constructor.
    if (__builtin_cpu_supports("sse4.2")) return crc32c_extend_sse42;
#endif
    return crc32c_extend_portable;
}

// Chosen once; C++ guarantees the initialisation of a function-local static is thread-safe.
ExtendFunction chosen_extend() noexcept {
    static const ExtendFunction chosen = choose_extend();
    return chosen;
}

}  // namespace

std::uint32_t crc32c_extend_portable(std::uint32_t crc, ByteView bytes) noexcept {
    std::uint32_t c = ~crc;
    const std::uint8_t* p = bytes.data();
    std::size_t n = bytes.size();
    while (n >= 8) {
        const std::uint32_t lo = load_le32(p) ^ c;
        const std::uint32_t hi = load_le32(p + 4);
        c = tables[7][lo & 0xFFu] ^ tables[6][(lo >> 8) & 0xFFu] ^ tables[5][(lo >> 16) & 0xFFu] ^
            tables[4][lo >> 24] ^ tables[3][hi & 0xFFu] ^ tables[2][(hi >> 8) & 0xFFu] ^
            tables[1][(hi >> 16) & 0xFFu] ^ tables[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n > 0) {
        c = (c >> 8) ^ tables[0][(c ^ *p) & 0xFFu];
        ++p;
        --n;
    }
    return ~c;
}

std::uint32_t crc32c_extend(std::uint32_t crc, ByteView bytes) noexcept {
    return chosen_extend()(crc, bytes);
}

std::uint32_t crc32c(ByteView bytes) noexcept {
    return crc32c_extend(0, bytes);
}

bool crc32c_hardware() noexcept {
    return chosen_extend() != crc32c_extend_portable;
}

}  // namespace herald::wire

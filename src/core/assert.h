// HERALD_ASSERT: always-on invariant checks for programmer errors (STYLE.md, Errors 1).
// Layer: core. Logs file and line to stderr, then aborts.
#pragma once

namespace herald::detail {
[[noreturn]] void assert_fail(const char* condition, const char* file, int line) noexcept;
}  // namespace herald::detail

#define HERALD_ASSERT(cond)                                           \
    do {                                                              \
        if (!(cond)) [[unlikely]] {                                   \
            ::herald::detail::assert_fail(#cond, __FILE__, __LINE__); \
        }                                                             \
    } while (false)

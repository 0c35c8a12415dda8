// Operating errors as values (STYLE.md, Errors 2): the public types of herald/errors.h (Errc,
// Error, Result, Status, fail), plus HERALD_TRY for early returns inside Herald.
// Layer: core. Every layer above returns Result; nothing throws across a layer boundary.
#pragma once

#include "herald/errors.h"  // IWYU pragma: export

#define HERALD_CONCAT_INNER(a, b) a##b
#define HERALD_CONCAT(a, b) HERALD_CONCAT_INNER(a, b)

// HERALD_TRY(auto x, expr) or HERALD_TRY(expr) for Result<void>: returns the error early.
#define HERALD_TRY_2(decl, expr)                                                               \
    auto HERALD_CONCAT(herald_try_, __LINE__) = (expr);                                        \
    if (!HERALD_CONCAT(herald_try_, __LINE__)) [[unlikely]] {                                  \
        return ::tl::make_unexpected(std::move(HERALD_CONCAT(herald_try_, __LINE__)).error()); \
    }                                                                                          \
    decl = std::move(*HERALD_CONCAT(herald_try_, __LINE__))
#define HERALD_TRY_1(expr)                                                  \
    if (auto herald_try_status = (expr); !herald_try_status) [[unlikely]] { \
        return ::tl::make_unexpected(std::move(herald_try_status).error()); \
    }
#define HERALD_TRY_PICK(_1, _2, name, ...) name
#define HERALD_TRY(...) \
    HERALD_TRY_PICK(__VA_ARGS__, HERALD_TRY_2, HERALD_TRY_1, unused)(__VA_ARGS__)

namespace herald {

// The outcome of `r` without its value.
template <class T>
[[nodiscard]] Status as_status(const Result<T>& r) {
    if (!r) return fail(r.error());
    return {};
}

}  // namespace herald

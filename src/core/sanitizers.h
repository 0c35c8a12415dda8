// Whether this translation unit is built with AddressSanitizer or ThreadSanitizer. Layer: core.
// g++ defines __SANITIZE_ADDRESS__ / __SANITIZE_THREAD__; clang spells them as features.
// Tests use it to scale their work (sanitizers slow a run several times) or to skip a bound
// that a sanitizer's own memory breaks (ASan's quarantine).
#pragma once

#if defined(__has_feature)
#define HERALD_HAS_FEATURE(x) __has_feature(x)
#else
#define HERALD_HAS_FEATURE(x) 0
#endif

namespace herald {

#if defined(__SANITIZE_ADDRESS__) || HERALD_HAS_FEATURE(address_sanitizer)
inline constexpr bool built_with_address_sanitizer = true;
#else
inline constexpr bool built_with_address_sanitizer = false;
#endif

#if defined(__SANITIZE_THREAD__) || HERALD_HAS_FEATURE(thread_sanitizer)
inline constexpr bool built_with_thread_sanitizer = true;
#else
inline constexpr bool built_with_thread_sanitizer = false;
#endif

inline constexpr bool built_with_sanitizer =
    built_with_address_sanitizer || built_with_thread_sanitizer;

}  // namespace herald

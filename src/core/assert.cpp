// Always-on assertion failure handler. Layer: core.
#include "core/assert.h"

#include <cstdio>
#include <cstdlib>

namespace herald::detail {

void assert_fail(const char* condition, const char* file, int line) noexcept {
    std::fprintf(stderr, "herald: assertion failed: %s at %s:%d\n", condition, file, line);
    std::fflush(stderr);
    std::abort();
}

}  // namespace herald::detail

// SystemClock: the OS steady and real-time clocks. Layer: core (never used by proto or wire).
#include "core/clock.h"

#include <chrono>

namespace herald {

Time SystemClock::now() const {
    const auto since = std::chrono::steady_clock::now().time_since_epoch();
    return Time::from_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(since).count());
}

std::int64_t SystemClock::unix_ns() const {
    const auto since = std::chrono::system_clock::now().time_since_epoch();
    return std::chrono::duration_cast<std::chrono::nanoseconds>(since).count();
}

SystemClock& SystemClock::instance() {
    static SystemClock clock;
    return clock;
}

}  // namespace herald

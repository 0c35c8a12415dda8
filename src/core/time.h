// Time and Duration: strong types for nanoseconds of virtual or real time.
// Layer: core. Engines see time only as these values, passed in by their driver.
#pragma once

#include <compare>
#include <cstdint>
#include <limits>

namespace herald {

class Duration {
public:
    constexpr Duration() = default;
    static constexpr Duration nanoseconds(std::int64_t n) { return Duration(n); }
    static constexpr Duration microseconds(std::int64_t n) { return Duration(n * 1'000); }
    static constexpr Duration milliseconds(std::int64_t n) { return Duration(n * 1'000'000); }
    static constexpr Duration seconds(std::int64_t n) { return Duration(n * 1'000'000'000); }
    static constexpr Duration zero() { return Duration(0); }
    static constexpr Duration max() { return Duration(std::numeric_limits<std::int64_t>::max()); }

    [[nodiscard]] constexpr std::int64_t ns() const { return ns_; }
    [[nodiscard]] constexpr std::int64_t us() const { return ns_ / 1'000; }
    [[nodiscard]] constexpr std::int64_t ms() const { return ns_ / 1'000'000; }
    [[nodiscard]] constexpr double seconds_double() const { return double(ns_) / 1e9; }

    constexpr auto operator<=>(const Duration&) const = default;
    constexpr Duration operator+(Duration d) const { return Duration(ns_ + d.ns_); }
    constexpr Duration operator-(Duration d) const { return Duration(ns_ - d.ns_); }
    constexpr Duration operator*(std::int64_t k) const { return Duration(ns_ * k); }
    constexpr Duration operator/(std::int64_t k) const { return Duration(ns_ / k); }
    constexpr Duration& operator+=(Duration d) {
        ns_ += d.ns_;
        return *this;
    }
    constexpr Duration& operator-=(Duration d) {
        ns_ -= d.ns_;
        return *this;
    }

private:
    constexpr explicit Duration(std::int64_t ns) : ns_(ns) {}
    std::int64_t ns_ = 0;
};

// A point in time: nanoseconds since the clock's epoch (virtual start, or steady clock start).
class Time {
public:
    constexpr Time() = default;
    static constexpr Time from_ns(std::int64_t ns) { return Time(ns); }
    static constexpr Time zero() { return Time(0); }
    static constexpr Time max() { return Time(std::numeric_limits<std::int64_t>::max()); }

    [[nodiscard]] constexpr std::int64_t ns() const { return ns_; }

    constexpr auto operator<=>(const Time&) const = default;
    constexpr Time operator+(Duration d) const { return Time(saturating_add(ns_, d.ns())); }
    constexpr Time operator-(Duration d) const { return Time(ns_ - d.ns()); }
    constexpr Duration operator-(Time t) const { return Duration::nanoseconds(ns_ - t.ns_); }
    constexpr Time& operator+=(Duration d) {
        ns_ = saturating_add(ns_, d.ns());
        return *this;
    }

private:
    constexpr explicit Time(std::int64_t ns) : ns_(ns) {}
    static constexpr std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
        if (b > 0 && a > std::numeric_limits<std::int64_t>::max() - b) {
            return std::numeric_limits<std::int64_t>::max();
        }
        return a + b;
    }
    std::int64_t ns_ = 0;
};

// The instant `timeout` after `now`: Time::max() for Duration::max() (no deadline), `now` for a
// negative timeout.
constexpr Time deadline_after(Time now, Duration timeout) {
    if (timeout == Duration::max()) return Time::max();
    return now + (timeout < Duration::zero() ? Duration::zero() : timeout);
}

}  // namespace herald

// Clock: where drivers (runtime, simulator, tests) get the current Time. Engines never call it;
// they receive `now` as an argument. Layer: core.
#pragma once

#include <cstdint>

#include "core/time.h"

namespace herald {

class Clock {
public:
    virtual ~Clock() = default;
    // Monotonic time, for timers and deadlines. Any thread.
    [[nodiscard]] virtual Time now() const = 0;
    // Wall-clock nanoseconds since the Unix epoch, for message timestamps. Any thread.
    [[nodiscard]] virtual std::int64_t unix_ns() const = 0;
};

// The operating system's steady and real-time clocks.
class SystemClock final : public Clock {
public:
    [[nodiscard]] Time now() const override;
    [[nodiscard]] std::int64_t unix_ns() const override;
    static SystemClock& instance();
};

// A clock that moves only when told to: unit tests and the simulator. Not thread-safe.
class ManualClock final : public Clock {
public:
    explicit ManualClock(Time start = Time::zero(), std::int64_t unix_ns_start = 0)
        : now_(start), unix_start_ns_(unix_ns_start - start.ns()) {}
    [[nodiscard]] Time now() const override { return now_; }
    [[nodiscard]] std::int64_t unix_ns() const override { return unix_start_ns_ + now_.ns(); }
    void advance(Duration d) { now_ += d; }
    void set(Time t) { now_ = t; }

private:
    Time now_;
    std::int64_t unix_start_ns_;
};

}  // namespace herald

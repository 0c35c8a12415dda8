// Trace: one compact line per simulator event (VOPR style: virtual time, node, event, fields),
// an FNV-1a hash of all lines (the same seed must give the same hash), and probe counts.
// Layer: sim.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "core/time.h"

namespace herald::sim {

// "12.345678": seconds and microseconds of virtual time.
[[nodiscard]] std::string format_time(Time at);

// Builds "key=value key=value" without iostreams. Used only when the trace is enabled.
class Fields {
public:
    Fields& add(std::string_view key, std::string_view value);
    Fields& add(std::string_view key, const char* value) {
        return add(key, std::string_view(value));
    }
    Fields& add(std::string_view key, std::uint64_t value);
    Fields& add(std::string_view key, std::int64_t value);
    Fields& add(std::string_view key, std::uint32_t value) {
        return add(key, std::uint64_t{value});
    }
    Fields& add(std::string_view key, int value) { return add(key, std::int64_t{value}); }
    Fields& add(std::string_view key, bool value) { return add(key, value ? "1" : "0"); }
    Fields& add(std::string_view key, Pid value);
    Fields& add(std::string_view key, Time value) { return add(key, format_time(value)); }
    Fields& add(std::string_view key, Duration value);
    [[nodiscard]] std::string take() { return std::move(text_); }
    [[nodiscard]] const std::string& text() const { return text_; }

private:
    void key(std::string_view key);
    std::string text_;
};

class Trace {
public:
    // When `enabled` is false no line is formatted (fast runs); probes are still counted.
    explicit Trace(bool enabled) : enabled_(enabled) {}

    [[nodiscard]] bool enabled() const { return enabled_; }

    // Appends one line: "<time> <node> <event> <fields>". `node` is e.g. "n2" or "--".
    void line(Time at, std::string_view node, std::string_view event, std::string_view fields);

    // Counts one probe hit (an engine trace event named "probe_*").
    void probe(std::string_view name);

    [[nodiscard]] std::uint64_t hash() const { return hash_; }
    [[nodiscard]] const std::vector<std::string>& lines() const { return lines_; }
    [[nodiscard]] const std::map<std::string, std::uint64_t, std::less<>>& probes() const {
        return probes_;
    }

private:
    bool enabled_;
    std::uint64_t hash_ = 0xcbf29ce484222325ULL;  // FNV-1a offset basis.
    std::vector<std::string> lines_;
    std::map<std::string, std::uint64_t, std::less<>> probes_;
};

}  // namespace herald::sim

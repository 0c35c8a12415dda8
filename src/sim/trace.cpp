// Trace formatting and hashing. Layer: sim.
#include "sim/trace.h"

#include <charconv>

namespace herald::sim {

namespace {

void append_uint(std::string& out, std::uint64_t value, int width = 0) {
    char buffer[24];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    const auto digits = static_cast<int>(end - buffer);
    for (int i = digits; i < width; ++i) out.push_back('0');
    out.append(buffer, end);
}

}  // namespace

std::string format_time(Time at) {
    std::string out;
    std::int64_t us = at.ns() / 1'000;
    if (us < 0) {
        out.push_back('-');
        us = -us;
    }
    const auto total = static_cast<std::uint64_t>(us);
    append_uint(out, total / 1'000'000);
    out.push_back('.');
    append_uint(out, total % 1'000'000, 6);
    return out;
}

void Fields::key(std::string_view key) {
    if (!text_.empty()) text_.push_back(' ');
    text_.append(key);
    text_.push_back('=');
}

Fields& Fields::add(std::string_view k, std::string_view value) {
    key(k);
    text_.append(value);
    return *this;
}

Fields& Fields::add(std::string_view k, std::uint64_t value) {
    key(k);
    append_uint(text_, value);
    return *this;
}

Fields& Fields::add(std::string_view k, std::int64_t value) {
    key(k);
    if (value < 0) {
        text_.push_back('-');
        append_uint(text_, static_cast<std::uint64_t>(-(value + 1)) + 1);
    } else {
        append_uint(text_, static_cast<std::uint64_t>(value));
    }
    return *this;
}

Fields& Fields::add(std::string_view k, Pid value) {
    return add(k, to_string(value));
}

Fields& Fields::add(std::string_view k, Duration value) {
    key(k);
    append_uint(text_, static_cast<std::uint64_t>(value.us() < 0 ? 0 : value.us()));
    text_.append("us");
    return *this;
}

void Trace::line(Time at, std::string_view node, std::string_view event, std::string_view fields) {
    if (!enabled_) return;
    std::string text = format_time(at);
    text.push_back(' ');
    text.append(node);
    text.push_back(' ');
    text.append(event);
    if (!fields.empty()) {
        text.push_back(' ');
        text.append(fields);
    }
    for (const char c : text) {
        hash_ ^= static_cast<unsigned char>(c);
        hash_ *= 0x100000001b3ULL;  // FNV-1a prime.
    }
    hash_ ^= '\n';
    hash_ *= 0x100000001b3ULL;
    lines_.push_back(std::move(text));
}

void Trace::probe(std::string_view name) {
    auto it = probes_.find(name);
    if (it == probes_.end()) {
        probes_.emplace(std::string(name), 1);
    } else {
        ++it->second;
    }
}

}  // namespace herald::sim

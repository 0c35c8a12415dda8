// herald CLI output: text or JSON lines, error lines, durations and message bodies.
// Layer: apps.
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdio>

#include "cli.h"
#include "wire/body.h"

namespace herald::cli {

int exit_code_for(Errc code) {
    switch (code) {
        case Errc::invalid_argument:
            return exit_usage;
        case Errc::io_error:
            return exit_internal;
        default:
            return exit_failed;
    }
}

void Output::result(const std::string& text, const nlohmann::json& object) const {
    const std::string line = json_ ? object.dump() : text;
    std::fprintf(stdout, "%s\n", line.c_str());
    std::fflush(stdout);  // Line by line even into a pipe: scripts react as messages come.
}

void Output::note(const std::string& text, const nlohmann::json& object) const {
    const std::string line = json_ ? object.dump() : text;
    std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
}

int Output::error(const Error& error) const {
    const int code = exit_code_for(error.code);
    nlohmann::json object = {{"command", command_},
                             {"error", std::string(errc_name(error.code))},
                             {"detail", error.detail},
                             {"exit_code", code}};
    note(fmt::format("herald {}: {}", command_, error.to_string()), object);
    return code;
}

Result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
    using namespace std::chrono;
    if (text == "forever" || text == "0") return forever;
    double value = 0;
    const char* end = text.data() + text.size();
    auto [rest, ec] = std::from_chars(text.data(), end, value);
    const std::string_view unit(rest, static_cast<std::size_t>(end - rest));
    double scale = unit == "ms" ? 1e6 : unit == "s" || unit.empty() ? 1e9 : unit == "m" ? 60e9 : 0;
    // Up to one day: long enough for any wait, far from the nanosecond counter's limit.
    if (ec != std::errc() || scale == 0 || !std::isfinite(value) || value <= 0 ||
        value * scale > 86400e9) {
        return fail(
            Errc::invalid_argument,
            fmt::format("bad duration '{}' (examples: 250ms, 2s, 1.5s, 1m, forever)", text));
    }
    return nanoseconds(static_cast<std::int64_t>(value * scale));
}

std::string describe(std::chrono::nanoseconds duration) {
    if (duration == forever) return "forever";
    const double ms = static_cast<double>(duration.count()) / 1e6;
    if (ms >= 1000) return fmt::format("{:g} s", ms / 1000);
    // Whole milliseconds (timeouts people typed) without decimals, measured times with three.
    return duration.count() % 1'000'000 == 0 ? fmt::format("{:g} ms", ms)
                                             : fmt::format("{:.3f} ms", ms);
}

std::string describe_waited(std::chrono::nanoseconds duration) {
    if (duration < std::chrono::seconds(1)) return describe(duration);
    return describe(std::chrono::duration_cast<std::chrono::milliseconds>(duration));
}

Deadline::Deadline(std::chrono::nanoseconds timeout)
    : timeout_(timeout),
      start_(std::chrono::steady_clock::now()),
      end_(timeout == forever ? std::chrono::steady_clock::time_point::max() : start_ + timeout) {}

std::chrono::nanoseconds Deadline::elapsed() const {
    return std::chrono::steady_clock::now() - start_;
}

std::chrono::nanoseconds Deadline::remaining() const {
    if (timeout_ == forever) return forever;
    const auto left = end_ - std::chrono::steady_clock::now();
    return left.count() > 0 ? std::chrono::duration_cast<std::chrono::nanoseconds>(left)
                            : std::chrono::nanoseconds::zero();
}

namespace {

// Valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF), and no control
// characters other than tab, newline and carriage return: safe to print as it is.
bool printable_utf8(ByteView bytes) {
    std::size_t i = 0;
    while (i < bytes.size()) {
        const std::uint8_t c = bytes[i];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) return false;
            ++i;
            continue;
        }
        const std::size_t n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : 0;
        if (n == 0 || c > 0xf4 || i + n >= bytes.size()) return false;
        std::uint32_t cp = c & (0x3fu >> n);
        for (std::size_t k = 1; k <= n; ++k) {
            if ((bytes[i + k] & 0xc0) != 0x80) return false;
            cp = cp << 6 | (bytes[i + k] & 0x3fu);
        }
        const std::uint32_t min = n == 1 ? 0x80 : n == 2 ? 0x800 : 0x10000;
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += n + 1;
    }
    return true;
}

std::string base64(ByteView bytes) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
        std::uint32_t v = std::uint32_t{bytes[i]} << 16;
        if (n > 1) v |= std::uint32_t{bytes[i + 1]} << 8;
        if (n > 2) v |= bytes[i + 2];
        for (std::size_t k = 0; k < 4; ++k) {
            out += k <= n ? alphabet[(v >> (18 - 6 * k)) & 0x3f] : '=';
        }
    }
    return out;
}

}  // namespace

RenderedBody render_body(ByteView body) {
    if (printable_utf8(body)) {  // The empty body too: it prints as "".
        std::string text(reinterpret_cast<const char*>(body.data()), body.size());
        return {"text", text, text};
    }
    if (auto json_text = wire::body_to_json(body)) {
        // body_to_json writes valid JSON; parse it so that --json output embeds the value.
        auto value = nlohmann::json::parse(*json_text, nullptr, false);
        if (!value.is_discarded()) return {"msgpack", *json_text, std::move(value)};
    }
    const std::string encoded = base64(body);
    return {"binary", "base64:" + encoded, encoded};
}

nlohmann::json message_json(const Envelope& message) {
    RenderedBody body = render_body(message.body);
    return {{"event", "message"},
            {"source", to_string(message.source)},
            {"target", to_string(message.target)},
            {"seq", message.seq},
            {"sent_unix_ns", message.sent_unix_ns},
            {"bytes", message.body.size()},
            {"format", body.format},
            {"body", std::move(body.value)}};
}

std::string message_text(const Envelope& message) {
    const RenderedBody body = render_body(message.body);
    return fmt::format("message from {} (seq {}, {} bytes{}): {}", to_string(message.source),
                       message.seq, message.body.size(),
                       body.format == "text" ? "" : ", " + body.format, body.text);
}

}  // namespace herald::cli

// heraldd structured logging on spdlog. Layer: apps.
#include "log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>

namespace herald::daemon {
namespace {

std::atomic<bool> json_format{false};

// JSON string body (without the quotes): escapes what RFC 8259 requires.
void append_json_escaped(std::string& out, std::string_view text) {
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (byte < 0x20) {
            constexpr std::string_view hex = "0123456789abcdef";
            out += "\\u00";
            out += hex[byte >> 4];
            out += hex[byte & 0xf];
        } else {
            out += c;
        }
    }
}

bool needs_quotes(std::string_view text) {
    if (text.empty()) return true;
    for (char c : text) {
        if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) return true;
    }
    return false;
}

}  // namespace

std::string format_event(std::string_view event, std::initializer_list<LogField> fields,
                         bool json) {
    std::string out;
    if (json) {
        // The "ts" and "level" members come from the spdlog pattern; this is the rest.
        out += "\"event\":\"";
        append_json_escaped(out, event);
        out += '"';
        for (const LogField& f : fields) {
            out += ",\"";
            append_json_escaped(out, f.key);
            out += "\":";
            if (f.number) {
                out += f.value;
            } else {
                out += '"';
                append_json_escaped(out, f.value);
                out += '"';
            }
        }
        return out;
    }
    out += event;
    for (const LogField& f : fields) {
        out += ' ';
        out += f.key;
        out += '=';
        if (needs_quotes(f.value)) {
            out += '"';
            append_json_escaped(out, f.value);
            out += '"';
        } else {
            out += f.value;
        }
    }
    return out;
}

void setup_logging(std::string_view level, std::string_view format) {
    auto logger = std::make_shared<spdlog::logger>(
        "heraldd", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    json_format = format == "json";
    logger->set_pattern(json_format ? R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})"
                                    : "%Y-%m-%dT%H:%M:%S.%eZ %l %v",
                        spdlog::pattern_time_type::utc);
    logger->set_level(spdlog::level::from_str(std::string(level)));
    // Warnings and errors must reach the terminal before a crash or exit.
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(std::move(logger));
}

void log_event(spdlog::level::level_enum level, std::string_view event,
               std::initializer_list<LogField> fields) {
    if (!spdlog::default_logger_raw()->should_log(level)) return;
    spdlog::default_logger_raw()->log(level, "{}", format_event(event, fields, json_format));
}

}  // namespace herald::daemon

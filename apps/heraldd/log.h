// Structured logging for heraldd (STYLE.md, Logging): a stable snake_case event name plus
// key=value fields, on top of spdlog, written to stderr as text or as one JSON object a line.
// Layer: apps. Nothing is logged per message at info level.
#pragma once

#include <spdlog/common.h>

#include <concepts>
#include <initializer_list>
#include <string>
#include <string_view>

#include "core/ids.h"

namespace herald::daemon {

// One key=value field. Values are kept as text; numbers are written unquoted in JSON.
struct LogField {
    std::string_view key;
    std::string value;
    bool number = false;

    LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
    LogField(std::string_view k, const char* v) : key(k), value(v) {}
    LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
    template <std::integral T>
    LogField(std::string_view k, T v)
        : key(k),
          value(std::is_same_v<T, bool> ? (v ? "true" : "false") : std::to_string(v)),
          number(true) {}
    LogField(std::string_view k, Pid v) : key(k), value(to_string(v)) {}
    LogField(std::string_view k, NodeId v) : key(k), value(to_string(v)) {}
};

// Installs the stderr logger. `level` is one of trace, debug, info, warn, error, off and
// `format` is text or json (validated by the config beforehand; unknown values mean info and
// text). Call once at start-up, before other threads log.
void setup_logging(std::string_view level, std::string_view format);

// Writes one event, e.g. log_event(spdlog::level::info, "node_started", {{"listen", url}}):
//   text: 2026-11-28T15:12:07.123Z info node_started listen=udp://127.0.0.1:7400
//   json: {"ts":"2026-11-28T15:12:07.123Z","level":"info","event":"node_started",
//          "listen":"udp://127.0.0.1:7400"}
// Text values with spaces, quotes or '=' are quoted. Any thread.
void log_event(spdlog::level::level_enum level, std::string_view event,
               std::initializer_list<LogField> fields = {});

// Formats an event without writing it (for tests): the part after time and level.
[[nodiscard]] std::string format_event(std::string_view event,
                                       std::initializer_list<LogField> fields, bool json);

}  // namespace herald::daemon

// Results and errors of the public API: herald::Result<T>, herald::Status, herald::Error and
// herald::Errc (see docs/api.md, "Errors"). Every call that can fail returns one of these;
// nothing throws. The whole of Herald shares them (src/core/result.h adds the internal
// HERALD_TRY on top). Public API: includes only the standard library and tl::expected.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "herald/export.h"

namespace herald {

// Add a value only when a caller can react to it differently (FoundationDB's rule).
enum class [[nodiscard]] Errc : std::uint8_t{
    ok = 0,
    timeout,            // The deadline passed before the operation completed.
    unreachable,        // No answer from the destination node (request lost, node down).
    no_such_process,    // The destination node answered: the process does not exist.
    no_such_operation,  // The server process does not serve that operation.
    closed,             // The process, node or channel was closed locally.
    queue_full,         // A bounded queue is full; retry later (back-pressure).
    would_block,        // Non-blocking call: nothing available or no room right now.
    too_large,          // The message exceeds the configured maximum size.
    invalid_argument,   // The caller passed a malformed value (pid text, option, URL).
    malformed,          // Bytes from outside failed to decode (packet, body, file).
    peer_restarted,     // The destination node restarted; fate of in-flight data unknown.
    request_lost,       // RPC: no sign that the server ever received the request.
    response_lost,      // RPC: the server acknowledged the request but no response came.
    server_crashed,     // RPC: the server restarted while executing the request.
    application_error,  // RPC: the handler returned an error (detail carries its text).
    access_denied,      // Authentication or access control refused the operation.
    io_error,           // The operating system refused an I/O operation.
    storage_error,      // The durable store failed (disk full, corrupt file).
    already_exists,     // A name, id or resource is already taken.
    not_found,          // A named thing (name, mailbox, config file) does not exist.
};

// Stable snake_case name of a code, used in logs, JSON output and docs.
[[nodiscard]] HERALD_API std::string_view errc_name(Errc code) noexcept;

struct HERALD_API Error {
    Errc code = Errc::ok;
    std::string detail;  // Filled on cold paths only.

    // "timeout: no reply from 1a2b.7 after 3 attempts"
    [[nodiscard]] std::string to_string() const;
};

template <class T>
using Result = tl::expected<T, Error>;

using Status = Result<void>;

// Builds the unexpected side of a Result: `return fail(Errc::timeout, "...");`.
[[nodiscard]] inline tl::unexpected<Error> fail(Errc code, std::string detail = {}) {
    return tl::make_unexpected(Error{code, std::move(detail)});
}
[[nodiscard]] inline tl::unexpected<Error> fail(Error error) {
    return tl::make_unexpected(std::move(error));
}

}  // namespace herald

// Small conversions shared by the api layer's files (herald::Node, Process, rpc, groups, names).
// Layer: api.
#pragma once

#include <chrono>

#include "core/result.h"
#include "core/time.h"
#include "herald/process.h"

namespace herald::api {

// A public timeout as the runtime's Duration: `forever` is Duration::max().
inline Duration to_duration(std::chrono::nanoseconds d) {
    return d == forever ? Duration::max() : Duration::nanoseconds(d.count());
}

// The error of an operation on a Process that has exited.
inline tl::unexpected<Error> closed_process() {
    return fail(Errc::closed, "process has exited");
}

// A first ping to a server's URL (names, groups) waits at most this long, as Node::connect's
// default.
inline constexpr Duration server_ping_max = Duration::seconds(2);

}  // namespace herald::api

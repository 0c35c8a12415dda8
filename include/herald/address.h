// Process addresses as text: "<pid>@<node url>", e.g. "7f3a9c21.42@udp://127.0.0.1:7400".
// A pid alone names a process but not where its node listens; the "@url" part lets a program
// reach a process on a node it has not connected to yet (Node::resolve). Public API.
#pragma once

#include <string>
#include <string_view>

#include "herald/errors.h"
#include "herald/export.h"
#include "herald/ids.h"

namespace herald {

struct ProcessAddress {
    Pid pid;
    std::string url;  // Empty when the text was a bare pid.
};

// Parses "<pid>" or "<pid>@<url>" (the URL is checked only for being non-empty here; Node
// checks its scheme when it connects). Errc::invalid_argument names what is wrong.
[[nodiscard]] HERALD_API Result<ProcessAddress> parse_process_address(std::string_view text);

// "<pid>@<url>", or "<pid>" when url is empty.
[[nodiscard]] HERALD_API std::string to_string(const ProcessAddress& address);

}  // namespace herald

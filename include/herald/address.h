// Process addresses as text: "<pid>@<node url>", e.g. "7f3a9c21.42@udp://127.0.0.1:7400", a
// bare "<pid>", or a name registered with the name service ("billing/api"; check_name in
// herald/naming.h). A pid alone names a process but not where its node listens; the "@url"
// part lets a program reach a process on a node it has not connected to yet (Node::resolve);
// a name is resolved through the name server. Public API.
#pragma once

#include <string>
#include <string_view>

#include "herald/errors.h"
#include "herald/export.h"
#include "herald/ids.h"

namespace herald {

struct ProcessAddress {
    Pid pid;           // Invalid (no pid) when the text was a name.
    std::string url;   // Empty when the text was a bare pid or a name.
    std::string name;  // The name, when the text was one; empty otherwise.
};

// Parses "<pid>", "<pid>@<url>" (the URL is checked only for being non-empty here; Node
// checks its scheme when it connects) or a name: a text that parses as a pid is a pid; any
// other is a name and must pass check_name. Errc::invalid_argument names what is wrong.
[[nodiscard]] HERALD_API Result<ProcessAddress> parse_process_address(std::string_view text);

// "<pid>@<url>", or "<pid>" when url is empty, or the name.
[[nodiscard]] HERALD_API std::string to_string(const ProcessAddress& address);

}  // namespace herald

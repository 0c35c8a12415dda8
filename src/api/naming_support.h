// The api layer's naming helpers shared by herald::Node and herald::Process: learning the name
// server's node, and turning a text address (pid, pid@url, name) into a pid, with the one
// re-resolution after a miss at a cached owner. Layer: api. Rules: docs/naming.md, docs/api.md.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "api/api_support.h"
#include "core/result.h"
#include "herald/address.h"
#include "herald/naming.h"
#include "runtime/node.h"
#include "runtime/node_naming.h"

namespace herald::api {

// Makes sure the node knows the name server's id: pings NamingNodeOptions::server_url on the
// first call (up to 2 s). Errc::unreachable (no answer; no server configured), closed.
[[nodiscard]] Status ensure_name_server(runtime::Node& node);

// The owner of `name` (cached when fresh). check_name's errors, not_found, ... Blocks.
[[nodiscard]] Result<NameInfo> lookup_name(runtime::Node& node, std::string_view name);

// The pid a text address stands for: a pid as is; pid@url after connecting to url (waiting up
// to `timeout` for its answer; when another node than the pid's answers, the process is taken
// to live there now: a location hint, docs/migration.md M11); a name through lookup_name.
[[nodiscard]] Result<Pid> resolve_address(runtime::Node& node, const ProcessAddress& address,
                                          Duration timeout = server_ping_max);

// Runs `attempt(pid)` for the pid `to` stands for. When `to` is a name and the attempt fails
// no_such_process (the cached owner is gone), drops the cached entry, looks the name up again
// and, if it now names another pid, runs `attempt` once more with that one.
template <class F>
auto with_address(runtime::Node& node, std::string_view to, F&& attempt)
    -> decltype(attempt(Pid{})) {
    HERALD_TRY(ProcessAddress address, parse_process_address(to));
    HERALD_TRY(Pid pid, resolve_address(node, address));
    auto result = attempt(pid);
    if (result || address.name.empty() || result.error().code != Errc::no_such_process) {
        return result;
    }
    (void)node.naming().invalidate(address.name);
    auto again = lookup_name(node, address.name);
    if (!again || again->owner == pid) return result;
    node.naming().note_retry();
    return attempt(again->owner);
}

}  // namespace herald::api

// Names: text names for pids, kept by the name service (docs/naming.md, docs/api.md "Names").
// A process registers names for itself (Process::register_name); any process looks them up
// (Node::lookup_name) or sends to and calls them by name (Process::send, Process::call with a
// text address). Public API; includes only herald/ headers and the standard library.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "herald/errors.h"
#include "herald/export.h"
#include "herald/ids.h"

namespace herald {

// NodeOptions::naming: where this node's name requests go.
struct NamingNodeOptions {
    // This node hosts the name server, its table in the node's store (NodeOptions::data_dir is
    // required: Node::start fails invalid_argument without one).
    bool server = false;
    // The URL of the node hosting the name server (its id is learned by a ping on the first
    // naming call). Empty: this node when `server`, otherwise none (every naming call fails
    // unreachable).
    std::string server_url;
    // On the server's node (docs/naming.md rule 14): a node holding names that has not been
    // heard from for this long (it is probed every fifth of it) is declared dead and its names
    // go, however long their leases. 100 ms to 1 h; longer than a pause you expect between
    // live nodes (a partition this long drops names; held ones come back at their renewal).
    std::chrono::milliseconds dead_after{5000};
    // How long a looked-up name is cached on this node (docs/naming.md rule 7; never beyond
    // the lease left). 0 (not cached) to 1 h. On etcd a change made elsewhere also drops it as
    // soon as the node's watch reports it (docs/coordination.md C11).
    std::chrono::milliseconds cache_ttl{1000};
};

// One name as the name server holds it.
struct NameInfo {
    std::string name;
    Pid owner;
    std::chrono::milliseconds lease_left{0};  // Until the name expires unless renewed.
};

// The lease Process::register_name gives a name unless told otherwise; the node renews it
// every third of it while the process lives.
inline constexpr std::chrono::milliseconds default_name_lease{30'000};

// Name text: 1 to 255 bytes; the first a letter (A-Z, a-z), the others letters, digits, '.',
// '_', '-' or '/'; and not a text that parses as a pid ("cafe.1" is a pid: node cafe, local
// 1). Errc::invalid_argument naming what is wrong.
[[nodiscard]] HERALD_API Status check_name(std::string_view text);

}  // namespace herald

// NameBackend: the coordination backend under the name service, as the api layer and the
// node see it. Two implementations: NodeNaming (embedded: the naming engine and a name server
// hosted by one node, docs/naming.md) and coord::EtcdNaming (names in an etcd cluster,
// docs/coordination.md). NodeConfig::coordination chooses. Layer: runtime.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"
#include "proto/engine.h"
#include "proto/naming/naming_engine.h"
#include "runtime/node_context.h"

namespace herald::runtime {

class NameBackend : public Service {
public:
    // --- Application threads (any thread but the loop). Each blocks until the backend
    // answers (bounded: the embedded backend's attempts x retransmit, etcd's timeout).
    // Errors as documented in docs/naming.md ("Operations") and docs/coordination.md, plus:
    // invalid_argument (called on the loop thread), queue_full, closed (the node stopped). ---

    // Registers `name` for `owner`, or renews the lease when `owner` holds it already.
    // Errc::already_exists: another pid holds it (issue 13's name_taken).
    [[nodiscard]] virtual Status register_name(const std::string& name, Pid owner,
                                               Duration lease) = 0;
    // register_name, then kept by this node until `owner` unregisters it or exits (then it is
    // unregistered): docs/naming.md rule 13. Also queue_full (held_max).
    [[nodiscard]] virtual Status hold(const std::string& name, Pid owner, Duration lease) = 0;
    // hold when `owner` is a live process of this node (checked on the loop, so it cannot
    // exit in between), otherwise register_name: one lease, not renewed.
    [[nodiscard]] virtual Status register_for(const std::string& name, Pid owner,
                                              Duration lease) = 0;
    // The owner of `name` (from the cache when fresh, rule 7). Errc::not_found.
    [[nodiscard]] virtual Result<proto::naming::NameEntry> lookup(const std::string& name) = 0;
    // Errc::not_found; Errc::access_denied when this node does not host the owner (rule 8).
    [[nodiscard]] virtual Status unregister(const std::string& name, Pid owner) = 0;
    // Names starting with `prefix`, in name order, at most list_max.
    [[nodiscard]] virtual Result<std::vector<proto::naming::NameEntry>> list(
        const std::string& prefix) = 0;
    // Drops `name`'s cached owner (the caller found it gone).
    [[nodiscard]] virtual Status invalidate(const std::string& name) = 0;
    // Counters, and the table size where this node serves it (0 elsewhere).
    struct Counters {
        proto::naming::NamingCounters naming;
        proto::EngineCounters totals;
        std::uint64_t names = 0;
        std::uint64_t held = 0;     // Names this node keeps for its processes (rule 13).
        std::uint64_t retries = 0;  // note_retry calls.
        // etcd: name changes the watch reported (each drops the name's cached owner), and the
        // watch streams opened (1 + reconnects). 0 on the embedded backend.
        std::uint64_t watch_events = 0, watch_streams = 0;
    };
    [[nodiscard]] virtual Result<Counters> counters() = 0;

    // Requests can go somewhere without first learning a server's id. Any thread.
    [[nodiscard]] virtual bool server_known() const = 0;
    // Where the server's node listens, when it must be learned (may be empty). Any thread.
    [[nodiscard]] virtual const std::string& server_url() const = 0;
    // Sends requests to `server` from now on (embedded). Errc::closed, invalid_argument.
    [[nodiscard]] virtual Status set_server(NodeId server) = 0;
    // A send or call by name was resolved again after a miss at its cached owner (api layer;
    // Counters::retries). Any thread.
    virtual void note_retry() = 0;
};

}  // namespace herald::runtime

// NodeNaming: the runtime service of the naming engine (proto::naming::NamingEngine). The
// engine lives in the node's EngineSet: name_* packets, its timers, its durable writes (the
// node's store) and its restore at start reach it as they reach every engine. This service
// offers the engine's commands to application threads as blocking calls. It reaches the node
// only through NodeContext. Layer: runtime. Rules: docs/naming.md.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"
#include "proto/engine_set.h"
#include "proto/naming/naming_engine.h"
#include "runtime/node_context.h"
#include "runtime/node_options.h"

namespace herald::runtime {

class NodeNaming final : public Service {
public:
    NodeNaming(NodeContext& node, const proto::naming::NamingOptions& options);

    // Node::open's one line: the service, with its engine added to `engines`. The server role
    // (config.naming.server) keeps the table in the node's store, so it needs data_dir:
    // Errc::invalid_argument without one. A server with no server_node serves itself.
    [[nodiscard]] static Result<std::unique_ptr<NodeNaming>> host(
        NodeContext& node, proto::EngineSet& engines, const proto::EngineContext& context,
        const NodeConfig& config);

    // --- Application threads (any thread but the loop). Each blocks until the engine
    // completes the command (at most attempts x retransmit when the server does not answer).
    // Errors as documented in docs/naming.md ("Operations"), plus: invalid_argument (called on
    // the loop thread), queue_full (commands_max queued), closed (the node stopped). ---

    // Registers `name` for `owner`, or renews the lease when `owner` holds it already.
    // Errc::already_exists: another pid holds it (issue 13's name_taken).
    [[nodiscard]] Status register_name(const std::string& name, Pid owner, Duration lease);
    // The owner of `name` (from the cache when fresh, rule 7). Errc::not_found.
    [[nodiscard]] Result<proto::naming::NameEntry> lookup(const std::string& name);
    // Errc::not_found; Errc::access_denied when this node does not host the owner (rule 8).
    [[nodiscard]] Status unregister(const std::string& name, Pid owner);
    // Names starting with `prefix`, in name order, at most list_max.
    [[nodiscard]] Result<std::vector<proto::naming::NameEntry>> list(const std::string& prefix);
    // Drops `name`'s cached owner (the caller found it gone).
    [[nodiscard]] Status invalidate(const std::string& name);
    // The engine's counters, and the server's table size (0 on a client-only node).
    struct Counters {
        proto::naming::NamingCounters naming;
        proto::EngineCounters totals;
        std::uint64_t names = 0;
    };
    [[nodiscard]] Result<Counters> counters();

private:
    [[nodiscard]] std::unique_ptr<proto::Engine> make_engine(const proto::EngineContext& context);
    // Runs `start(engine, op, now, out)` on the loop and waits for op's completion.
    template <class F>
    [[nodiscard]] Result<Bytes> run_blocking(F&& start);

    NodeContext& node_;
    proto::naming::NamingOptions options_;  // The engine holds a reference: kept here.
    proto::EngineSlot slot_ = 0;
};

}  // namespace herald::runtime

// NodeNaming: the runtime service of the naming engine (proto::naming::NamingEngine). The
// engine lives in the node's EngineSet: name_* packets, its timers, its durable writes (the
// node's store) and its restore at start reach it as they reach every engine. This service
// offers the engine's commands to application threads as blocking calls. It reaches the node
// only through NodeContext. Layer: runtime. Rules: docs/naming.md.
#pragma once

#include <atomic>
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
    // register_name, then renewed by this node every lease / 3 until `owner` unregisters it or
    // exits (then it is unregistered): docs/naming.md rule 13. Also queue_full (held_max).
    [[nodiscard]] Status hold(const std::string& name, Pid owner, Duration lease);
    // hold when `owner` is a live process of this node (checked on the loop, so it cannot
    // exit in between), otherwise register_name: one lease, not renewed.
    [[nodiscard]] Status register_for(const std::string& name, Pid owner, Duration lease);
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
        std::uint64_t held = 0;     // Names this node renews for its processes (rule 13).
        std::uint64_t retries = 0;  // note_retry calls.
    };
    [[nodiscard]] Result<Counters> counters();

    // The name server's node is known (configured, or learned by set_server). Any thread.
    [[nodiscard]] bool server_known() const { return server_.load() != 0; }
    // Where the server's node listens (NodeConfig::naming_server_url; may be empty).
    [[nodiscard]] const std::string& server_url() const { return server_url_; }
    // Sends requests to `server` from now on. Blocks for one hop to the loop. Errc::closed,
    // invalid_argument (on the loop thread, or an unknown id).
    [[nodiscard]] Status set_server(NodeId server);
    // A send or call by name was resolved again after a miss at its cached owner (api layer;
    // Counters::retries). Any thread.
    void note_retry() { retries_.fetch_add(1, std::memory_order_relaxed); }

private:
    [[nodiscard]] std::unique_ptr<proto::Engine> make_engine(const proto::EngineContext& context);

    NodeContext& node_;
    proto::naming::NamingOptions options_;  // The engine holds a reference: kept here.
    proto::EngineSlot slot_ = 0;
    std::string server_url_;
    std::atomic<std::uint64_t> server_{0};
    std::atomic<std::uint64_t> retries_{0};  // options_.server_node, readable by any thread.
};

}  // namespace herald::runtime

// NodeNaming: the embedded NameBackend, the runtime service of the naming engine
// (proto::naming::NamingEngine). The engine lives in the node's EngineSet: name_* packets, its
// timers, its durable writes (the node's store) and its restore at start reach it as they reach
// every engine. This service offers the engine's commands to application threads as blocking calls.
// It reaches the node only through NodeContext. Layer: runtime. Rules: docs/naming.md.
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
#include "runtime/name_backend.h"
#include "runtime/node_context.h"
#include "runtime/node_options.h"

namespace herald::runtime {

class NodeNaming final : public NameBackend {
public:
    NodeNaming(NodeContext& node, const proto::naming::NamingOptions& options);

    // Node::open's one line: the service, with its engine added to `engines`. The server role
    // (config.naming.server) keeps the table in the node's store, so it needs data_dir:
    // Errc::invalid_argument without one. A server with no server_node serves itself.
    [[nodiscard]] static Result<std::unique_ptr<NodeNaming>> host(
        NodeContext& node, proto::EngineSet& engines, const proto::EngineContext& context,
        const NodeConfig& config);

    // --- NameBackend (contracts there). ---
    [[nodiscard]] Status register_name(const std::string& name, Pid owner, Duration lease) override;
    [[nodiscard]] Status hold(const std::string& name, Pid owner, Duration lease) override;
    [[nodiscard]] Status register_for(const std::string& name, Pid owner, Duration lease) override;
    [[nodiscard]] Result<proto::naming::NameEntry> lookup(const std::string& name) override;
    [[nodiscard]] Status unregister(const std::string& name, Pid owner) override;
    [[nodiscard]] Result<std::vector<proto::naming::NameEntry>> list(
        const std::string& prefix) override;
    [[nodiscard]] Status invalidate(const std::string& name) override;
    [[nodiscard]] Result<Counters> counters() override;
    // The name server's node is known (configured, or learned by set_server).
    [[nodiscard]] bool server_known() const override { return server_.load() != 0; }
    // Where the server's node listens (NodeConfig::naming_server_url; may be empty).
    [[nodiscard]] const std::string& server_url() const override { return server_url_; }
    // Sends requests to `server` from now on. Blocks for one hop to the loop. Errc::closed,
    // invalid_argument (on the loop thread, or an unknown id).
    [[nodiscard]] Status set_server(NodeId server) override;
    void note_retry() override { retries_.fetch_add(1, std::memory_order_relaxed); }

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

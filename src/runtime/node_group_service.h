// NodeGroupService: the runtime service of the group engine (proto::group::GroupEngine; not
// node_groups.h, which is about UDP multicast destinations). The engine lives in the node's
// EngineSet: group packets, its timer, its durable writes and its restore reach it as they
// reach every engine; views and multicasts reach member processes' queues as envelopes
// (proto::group::decode_envelope). This service offers the engine's commands to application
// threads as blocking calls, through NodeContext only. Layer: runtime. Rules: docs/groups.md.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"
#include "proto/engine_set.h"
#include "proto/group/group_engine.h"
#include "runtime/coord/etcd_groups.h"
#include "runtime/group_backend.h"
#include "runtime/node_context.h"
#include "runtime/node_options.h"

namespace herald::runtime {

class NodeGroupService final : public Service {
public:
    NodeGroupService(NodeContext& node, const proto::group::GroupOptions& options);

    // Node::open's one line: the service, with its engine added to `engines`, when
    // config.group_enabled (else nullptr). The node named by config.group.server keeps the
    // groups in its store, so it needs data_dir: Errc::invalid_argument without one. An
    // unknown group.server needs group_server_url (set_server learns it later).
    [[nodiscard]] static Result<std::unique_ptr<NodeGroupService>> host(
        NodeContext& node, proto::EngineSet& engines, const proto::EngineContext& context,
        const NodeConfig& config);

    // --- Application threads (any thread but the loop). Each blocks until the engine
    // completes the command (at most request_timeout, or the multicast's timeout). Errors as
    // in docs/groups.md ("Operations"), plus: invalid_argument (called on the loop thread),
    // queue_full (commands_max queued), closed (the node stopped). ---

    // Creates group `name` (view 1, no members) with ordering mode `order` (1..5,
    // docs/ordering.md; invalid_argument otherwise); `requester` is a process of this node.
    // `address`: the group's low-level address (G22; hosts by default). The caller checked
    // that this node's transport can send to it.
    [[nodiscard]] Result<proto::group::View> create(const std::string& name, bool closed,
                                                    Pid requester,
                                                    std::uint8_t order = proto::group::order_fifo,
                                                    const proto::group::GroupAddress& address = {});
    // Adds `member` (a process of this node): the view that holds it. (`join` is taken:
    // Service::join waits for threads at stop.)
    [[nodiscard]] Result<proto::group::View> join_group(const std::string& name, Pid member);
    // Removes `member`: the view without it.
    [[nodiscard]] Result<proto::group::View> leave_group(const std::string& name, Pid member);
    // Deletes group `name` (G21) for `requester` (a process of this node): returns once the
    // group is gone (every member node dropped it, or was taken for crashed). Local processes
    // that joined it are no longer counted as joined.
    [[nodiscard]] Status delete_group(const std::string& name, Pid requester);
    // Multicasts `body` from `sender` (a process of this node) with `reliability` (0, k, or
    // proto::group::reliability_all): the members that responded.
    // `reply_to` valid: a request multicast (G24), whose members answer to that pid.
    [[nodiscard]] Result<proto::group::Responders> multicast(const std::string& name, Pid sender,
                                                             Bytes body, std::uint32_t reliability,
                                                             Duration timeout, Pid reply_to = {});
    // A local process exited: it leaves every group it joined through this service (a leave
    // request each, completed unobserved), unless the node drains or stops (then the server's
    // failure detector removes it). Loop thread.
    void on_process_exited(Pid pid, Time now) override;

    // The current view of `name`: this node's installed view when it hosts members of it, the
    // server's when this node is the server, else looked up at the server for `requester` (a
    // process of this node; closed group: access_denied unless it is a member).
    [[nodiscard]] Result<proto::group::View> view(const std::string& name, Pid requester);
    // The view of `name` this node knows without asking: the server's when this node is the
    // server, else the installed one while this node hosts members of it. Errc::not_found
    // when it knows none.
    [[nodiscard]] Result<proto::group::View> known_view(const std::string& name);
    // Whether `member` joined `name` through this service and has not left it since (a join
    // that timed out counts: it may have joined). Any thread.
    [[nodiscard]] bool joined(Pid member, const std::string& name);
    // The groups the server holds (only on the server's node; empty elsewhere), name order.
    [[nodiscard]] Result<std::vector<std::string>> server_groups();
    [[nodiscard]] Result<proto::group::GroupCounters> counters();

    // The group server's node is known (configured, or learned by set_server), or groups are
    // on etcd (no server to learn). Any thread.
    [[nodiscard]] bool server_known() const { return etcd_ != nullptr || server_.load() != 0; }
    // This node is the group server. Any thread.
    [[nodiscard]] bool is_server() const { return server_.load() == node_.id().value; }
    // Groups are on etcd (docs/coordination.md "Groups on etcd"): every node lists them.
    [[nodiscard]] bool on_etcd() const { return etcd_ != nullptr; }
    // etcd's counters (zeros on the embedded backend).
    [[nodiscard]] coord::EtcdGroups::Counters etcd_counters() const;
    // The node stops: the etcd backend's watch and lease (no-op embedded).
    void shutdown() override;
    void join() override;
    // Where the server's node listens (NodeConfig::group_server_url; may be empty).
    [[nodiscard]] const std::string& server_url() const { return server_url_; }
    // Sends requests to `server` from now on. Blocks for one hop to the loop. Errc::closed,
    // invalid_argument (on the loop thread, or an unknown id).
    [[nodiscard]] Status set_server(NodeId server);
    // multicast calls made (ok or not). Any thread.
    [[nodiscard]] std::uint64_t multicasts_sent() const {
        return multicasts_.load(std::memory_order_relaxed);
    }
    // Request multicasts (docs/groups.md G24), counted by the api layer. Any thread.
    struct AnswerCounters {
        std::atomic<std::uint64_t> sent{0};       // Answers this node's members sent (reply).
        std::atomic<std::uint64_t> collected{0};  // Answers its requests counted.
        // Answers its requests dropped: after the collection ended, a second one from a member,
        // or from a process the request did not address; and replies refused because the
        // collection had ended (no_such_process at the replier).
        std::atomic<std::uint64_t> late{0};
    };
    [[nodiscard]] AnswerCounters& answers() { return answers_; }
    // The engine's slot: the node marks what it delivers as group messages (Message::group).
    [[nodiscard]] proto::EngineSlot slot() const { return slot_; }

private:
    void forget(Pid member, const std::string& name);
    // etcd: a view (or a deletion) from the backend's watch, handed to the engine. Loop.
    void apply(const std::string& name, const std::optional<proto::group::View>& view, bool fresh);

    NodeContext& node_;
    proto::group::GroupOptions options_;  // The engine holds a reference: kept here.
    proto::EngineSlot slot_ = 0;
    std::string server_url_;
    std::atomic<std::uint64_t> server_{0};  // options_.server, readable by any thread.
    std::atomic<std::uint64_t> multicasts_{0};
    AnswerCounters answers_;
    // The groups each local process joined (or may have: a join that timed out), for
    // on_process_exited. Bounded by the server's groups_max x members_max.
    std::mutex joined_mutex_;
    std::map<Pid, std::set<std::string>> joined_;
    std::unique_ptr<GroupBackend> backend_;  // Embedded (the server protocol) or etcd.
    coord::EtcdGroups* etcd_ = nullptr;      // backend_ when groups are on etcd, else null.
};

}  // namespace herald::runtime

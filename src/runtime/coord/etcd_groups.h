// EtcdGroups: the group service on etcd (docs/coordination.md "Groups on etcd", C12-C17). A
// group is the key PREFIX/groups/v/<name> whose value is its current view (docs/groups.md's
// binary view encoding); every change is one transaction on the key's mod_revision, so views
// of a group follow each other in etcd's revision order, one id apart. A node that hosts
// members keeps PREFIX/groups/n/<node> (its incarnation) on a lease of its own: when the lease
// ends (a crash) or the incarnation changes (a restart), the survivors take its members out.
// One watch on PREFIX/groups/ brings every change to every node, in revision order; the loop
// keeps every group's current view and hands each new one to the group engine (`Apply`).
// etcd calls run on EtcdClient's worker. Layer: runtime/coord.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "proto/group/group_messages.h"
#include "proto/group/group_options.h"
#include "runtime/coord/etcd_client.h"
#include "runtime/coord/etcd_watch.h"
#include "runtime/group_backend.h"
#include "runtime/node_context.h"
#include "runtime/node_options.h"

namespace herald::runtime::coord {

class EtcdGroups final : public GroupBackend {
public:
    // Loop thread: the group's new current view, or nullopt when it was deleted. `fresh`: the
    // group was created again since the view given last for this name.
    using Apply =
        std::function<void(const std::string& name, const std::optional<View>& view, bool fresh)>;

    struct Counters {
        std::uint64_t changes = 0;    // Views this node committed (create, join, leave, prune).
        std::uint64_t conflicts = 0;  // Transactions lost to a concurrent change, retried.
        std::uint64_t pruned = 0;     // Members of ended nodes this node took out.
        // Keys under the prefix not followed: values that are not views or node keys, and
        // groups beyond groups_max.
        std::uint64_t skipped = 0;
        std::uint64_t watch_events = 0, watch_streams = 0;
    };

    // Errc::invalid_argument (options), io_error (libcurl). Starts the watch; the first call
    // reaches etcd.
    [[nodiscard]] static Result<std::unique_ptr<EtcdGroups>> open(NodeContext& node,
                                                                  const NodeConfig& config,
                                                                  std::uint32_t incarnation,
                                                                  Apply apply);
    EtcdGroups(NodeContext& node, const proto::group::GroupOptions& options,
               std::uint32_t incarnation, std::unique_ptr<EtcdClient> client, Apply apply);
    ~EtcdGroups() override;
    EtcdGroups(const EtcdGroups&) = delete;
    EtcdGroups& operator=(const EtcdGroups&) = delete;

    // --- GroupBackend. Application threads: each blocks until etcd answered (at most a few
    // etcd_timeout), and a change until this node's watch has applied it (at most
    // etcd_timeout more). Errors as docs/groups.md "Operations" and docs/coordination.md C17.
    [[nodiscard]] Result<View> create(const std::string& name, bool closed, Pid requester,
                                      std::uint8_t order,
                                      const proto::group::GroupAddress& address) override;
    [[nodiscard]] Result<View> join(const std::string& name, Pid member) override;
    [[nodiscard]] Result<View> leave(const std::string& name, Pid member) override;
    [[nodiscard]] Status remove(const std::string& name, Pid requester) override;
    // The current view: from the watch's copy once it is loaded, else read from etcd.
    // access_denied: a closed group and `requester` is not a member.
    [[nodiscard]] Result<View> view(const std::string& name, Pid requester) override;
    // The view the watch reported last, without asking etcd. Errc::not_found.
    [[nodiscard]] Result<View> known(const std::string& name) override;
    // Group names in name order, at most groups_max.
    [[nodiscard]] Result<std::vector<std::string>> list() override;
    [[nodiscard]] Result<Counters> counters();

    // --- Loop thread ---
    // `member` exited: it leaves `name` (queued, nobody waits).
    void leave_later(const std::string& name, Pid member, Time now) override;
    // The node stops: the watch ends, queued calls fail closed, the lease is revoked (this
    // node's members go from every view at once, C15).
    void shutdown() override;
    void join_threads() override;

private:
    struct Stored {  // A group's key: as read (worker), or as the watch reported it (loop).
        View view;
        std::int64_t mod_revision = 0;
        std::int64_t create_revision = 0;
    };
    struct Change {        // One event of the watch, decoded.
        std::string name;  // A group (view key), or empty for a node key.
        NodeId node;       // A node key.
        std::uint32_t incarnation = 0;
        std::string url;  // A node key: where the node listens.
        bool deleted = false;
        std::optional<View> view;
        std::int64_t revision = 0, create_revision = 0;
    };
    // What a change function decided: keep the stored view (an answer now), or write `next`.
    using Edit = std::function<Result<std::optional<View>>(const std::optional<Stored>&)>;

    template <class R>
    [[nodiscard]] R ask(std::function<R(EtcdClient&)> work);
    [[nodiscard]] Result<View> change(const std::string& name, Edit fn, bool own_node = true);
    void wait_applied(std::int64_t revision);
    [[nodiscard]] Status check_local(Pid pid) const;

    // --- Worker thread ---
    [[nodiscard]] std::string group_key(const std::string& name) const;
    [[nodiscard]] std::string node_key(NodeId node) const;
    [[nodiscard]] std::string node_value() const;  // "<incarnation> <listen url>" (C14).
    [[nodiscard]] Result<std::optional<Stored>> read(EtcdClient& etcd, const std::string& name);
    [[nodiscard]] Result<std::map<NodeId, std::uint32_t>> alive(EtcdClient& etcd);
    // Runs `edit` on the group's stored view and commits its result if the key did not change
    // meanwhile (else again, a few times). The view and the revision it was committed at (0:
    // no write).
    [[nodiscard]] Result<std::pair<View, std::int64_t>> edit(EtcdClient& etcd,
                                                             const std::string& name,
                                                             const Edit& fn, bool own_node);
    [[nodiscard]] Result<std::int64_t> lease(EtcdClient& etcd);
    void keep_alive(EtcdClient& etcd);
    void prune(EtcdClient& etcd, const std::string& name);
    void load(EtcdClient& etcd);

    // --- Watch thread ---
    [[nodiscard]] std::optional<Change> decode(const WatchEvent& e);
    void on_watch(const std::vector<WatchEvent>& events, bool reset, std::int64_t revision);

    // --- Loop thread ---
    void apply(std::vector<Change> changes, std::int64_t revision);
    void apply_snapshot(std::vector<Change> changes, std::int64_t at);
    void apply_view(const std::string& name, const View& v, std::int64_t mod_revision,
                    std::int64_t create_revision);
    void apply_delete(const std::string& name, std::int64_t revision);
    void note_node(NodeId node, std::optional<std::uint32_t> incarnation);
    void schedule_prune(const std::string& name);

    NodeContext& node_;
    proto::group::GroupOptions options_;
    std::uint32_t incarnation_;
    Apply apply_;
    Duration lease_ttl_;
    std::string prefix_;  // PREFIX + "groups/".
    // Loop thread.
    std::map<std::string, Stored> known_;
    std::map<std::string, std::int64_t> gone_;  // Deleted names -> revision (at most 4096).
    std::map<NodeId, std::uint32_t> alive_;     // Node keys: node -> incarnation.
    bool loaded_ = false;  // A full read (after the watch's reset) was applied.
    // Worker thread.
    std::int64_t lease_ = 0;
    bool reload_ = false;             // A load failed: again at the next tick.
    std::set<std::string> to_prune_;  // Groups whose prune failed: again at the next tick.
    // Any thread.
    std::mutex applied_mutex_;
    std::condition_variable applied_changed_;
    std::int64_t applied_revision_ = 0;  // Guarded: the newest revision the loop applied.
    std::atomic<std::uint64_t> changes_{0}, conflicts_{0}, pruned_{0}, skipped_{0};
    std::unique_ptr<EtcdClient> client_;
    std::unique_ptr<EtcdWatch> watch_;  // Last: stopped first (it posts to the loop).
};

}  // namespace herald::runtime::coord

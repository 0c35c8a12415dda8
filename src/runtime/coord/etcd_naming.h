// EtcdNaming: the etcd NameBackend (docs/coordination.md "Names on etcd"). A name is the key
// PREFIX/names/<name> holding the owner's pid text, bound to a lease: names this node keeps for
// its live processes share the node's lease, which the worker keeps alive every TTL / 3; a
// registration for a pid that is not a live local process gets a lease of its own, not renewed.
// etcd calls run on EtcdClient's worker; their results come back to the loop thread as posted
// tasks, where the lookup cache lives (so cached names answer while etcd is away). Layer:
// runtime/coord.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/coord/etcd_client.h"
#include "runtime/coord/etcd_watch.h"
#include "runtime/name_backend.h"
#include "runtime/node_context.h"
#include "runtime/node_options.h"

namespace herald::runtime::coord {

class EtcdNaming final : public NameBackend {
public:
    // The backend of a node whose config chooses etcd. Errc::invalid_argument (options),
    // io_error (libcurl). Does not reach etcd: the first call does.
    [[nodiscard]] static Result<std::unique_ptr<EtcdNaming>> host(NodeContext& node,
                                                                  const NodeConfig& config);
    EtcdNaming(NodeContext& node, const proto::naming::NamingOptions& options,
               std::unique_ptr<EtcdClient> client);
    ~EtcdNaming() override;

    // --- NameBackend (contracts there; etcd's differences in docs/coordination.md). ---
    [[nodiscard]] Status register_name(const std::string& name, Pid owner, Duration lease) override;
    [[nodiscard]] Status hold(const std::string& name, Pid owner, Duration lease) override;
    [[nodiscard]] Status register_for(const std::string& name, Pid owner, Duration lease) override;
    [[nodiscard]] Result<proto::naming::NameEntry> lookup(const std::string& name) override;
    [[nodiscard]] Status unregister(const std::string& name, Pid owner) override;
    [[nodiscard]] Result<std::vector<proto::naming::NameEntry>> list(
        const std::string& prefix) override;
    [[nodiscard]] Status invalidate(const std::string& name) override;
    [[nodiscard]] Result<Counters> counters() override;
    [[nodiscard]] bool server_known() const override { return true; }  // No server to learn.
    [[nodiscard]] const std::string& server_url() const override { return no_url_; }
    [[nodiscard]] Status set_server(NodeId server) override;
    void note_retry() override { retries_.fetch_add(1, std::memory_order_relaxed); }

    // --- Service (loop thread) ---
    // Releases the names `pid` held (deletes them if still its own).
    void on_process_exited(Pid pid, Time now) override;
    // The node stops: revoke the node lease (its names go at once), then stop the worker.
    void shutdown() override;
    void join() override;

private:
    struct Cached {
        proto::naming::NameEntry entry;
        Time until;
    };
    // Runs `prepare` on the loop (an early answer, or none), then `work` on the worker, then
    // `after` on the loop with the result, which it returns. Blocks; any thread but the loop.
    template <class R>
    [[nodiscard]] R ask(std::function<std::optional<R>()> prepare,
                        std::function<R(EtcdClient&)> work, std::function<void(const R&)> after);

    // --- Worker thread ---
    [[nodiscard]] std::string key(const std::string& name) const;
    [[nodiscard]] Result<std::int64_t> node_lease(EtcdClient& etcd);
    [[nodiscard]] Status put_if_free(EtcdClient& etcd, const std::string& name, Pid owner,
                                     std::int64_t lease);
    [[nodiscard]] Status claim(EtcdClient& etcd, const std::string& name, Pid owner, bool held,
                               Duration lease);
    [[nodiscard]] Status erase_if_owner(EtcdClient& etcd, const std::string& name, Pid owner);
    // `revision`, when given, gets the store revision the read was made at.
    [[nodiscard]] Result<proto::naming::NameEntry> get(EtcdClient& etcd, const std::string& name,
                                                       std::int64_t* revision = nullptr);
    [[nodiscard]] Result<std::vector<proto::naming::NameEntry>> range(EtcdClient& etcd,
                                                                      const std::string& prefix);
    void keep_alive(EtcdClient& etcd);
    void recover_lease(EtcdClient& etcd);
    void release(EtcdClient& etcd, Pid pid);
    void retry_orphans(EtcdClient& etcd);

    // --- Watch thread ---
    // Changes under PREFIX/names/ (docs/coordination.md "Watches"): their cached owners go.
    void on_watch(const std::vector<WatchEvent>& events, bool reset, std::int64_t revision);

    // --- Loop thread ---
    void cache_put(const proto::naming::NameEntry& entry);
    // Drops the cached owners of the names changed at these revisions, or all when `all`
    // (changes up to `revision` may have been missed).
    void drop_cached(const std::vector<std::pair<std::string, std::int64_t>>& changes, bool all,
                     std::int64_t revision);
    // The revision a read of `name` must be at to be cached: the last change the watch
    // reported for it (or for all names).
    [[nodiscard]] std::int64_t changed_at(const std::string& name) const;

    NodeContext& node_;
    proto::naming::NamingOptions options_;  // Bounds and cache policy, as the engine's.
    Duration lease_ttl_;
    std::string no_url_;
    // Loop thread.
    std::map<std::string, Cached> cache_;
    // Revisions of the changes the watch reported, by name (a lookup caches what it read only
    // when its read is at least as new), at most changes_max; beyond, all_changed_at_ takes
    // the largest and the map starts again.
    std::map<std::string, std::int64_t> changed_at_;
    std::int64_t all_changed_at_ = 0;
    proto::naming::NamingCounters counters_;
    // Worker thread.
    std::int64_t lease_ = 0;           // The node lease (0: none yet, or lost).
    std::map<std::string, Pid> held_;  // Names kept on the node lease, by name.
    // Names of exited processes whose delete failed (etcd away): still on the node lease,
    // deleted again at each renewal. At most held_max (they come from held_).
    std::map<std::string, Pid> orphans_;
    // Any thread.
    std::atomic<std::uint64_t> held_count_{0};
    std::atomic<std::uint64_t> requests_{0};
    std::atomic<std::uint64_t> renewals_{0};
    std::atomic<std::uint64_t> lost_{0};
    std::atomic<std::uint64_t> retries_{0};
    // A watch batch that could not be posted to the loop (its queue full): the loop drops the
    // whole cache at its next lookup.
    std::atomic<bool> watch_missed_{false};
    std::atomic<std::int64_t> missed_at_{0};  // The newest revision of a batch not posted.
    std::unique_ptr<EtcdClient> client_;      // Its worker stops before the rest goes.
    std::unique_ptr<EtcdWatch> watch_;        // Last: stopped first (it posts to the loop).
};

}  // namespace herald::runtime::coord

// EtcdNaming implementation: names as leased keys changed in etcd transactions. Layer:
// runtime/coord. Rules: docs/coordination.md "Names on etcd".
#include "runtime/coord/etcd_naming.h"

#include <future>
#include <utility>

namespace herald::runtime::coord {

using proto::naming::NameEntry;

namespace {

// The range response inside a txn answer's first response (its failure branch here).
Json txn_range(const Json& answer) {
    const Json* responses = json_field(answer, "responses");
    if (responses == nullptr || !responses->is_array() || responses->empty()) return Json();
    const Json* range = json_field((*responses)[0], "response_range");
    return range != nullptr ? *range : Json();
}

// The value (decoded) of the first kv of a range response; none when there is no kv.
Result<std::optional<std::string>> first_value(const Json& range) {
    const Json kvs = json_kvs(range);
    if (kvs.empty()) return std::optional<std::string>();
    auto value = json_text(kvs[0], "value");
    if (!value) return std::optional<std::string>(std::string());  // etcd omits "" values.
    HERALD_TRY(std::string decoded, base64_decode(*value));
    return std::optional<std::string>(std::move(decoded));
}

Json compare(const std::string& key, std::string_view target, Json against) {
    Json c{{"key", base64_encode(key)}, {"result", "EQUAL"}, {"target", target}};
    c[target == "CREATE" ? "create_revision" : "value"] = std::move(against);
    return c;
}

}  // namespace

// A blocking call's answer, set once; Errc::closed when every holder is gone unanswered.
template <class R>
struct EtcdAnswer {
    std::promise<R> promise;
    bool answered = false;
    void set(R value) {
        if (answered) return;
        answered = true;
        promise.set_value(std::move(value));
    }
    ~EtcdAnswer() {
        if (!answered) promise.set_value(fail(Errc::closed, "node stopped"));
    }
};

Result<std::unique_ptr<EtcdNaming>> EtcdNaming::host(NodeContext& node, const NodeConfig& config) {
    HERALD_TRY(auto client, EtcdClient::open(config.etcd));
    auto naming = std::make_unique<EtcdNaming>(node, config.naming, std::move(client));
    naming->client_->set_tick(naming->lease_ttl_ / 3,
                              [n = naming.get()](EtcdClient& etcd) { n->keep_alive(etcd); });
    auto on_watch = [n = naming.get()](const std::vector<WatchEvent>& events, bool reset,
                                       std::int64_t revision) {
        n->on_watch(events, reset, revision);
    };
    auto watch = EtcdWatch::open(config.etcd, config.etcd.prefix + "names/", on_watch);
    if (!watch) return tl::make_unexpected(watch.error());
    naming->watch_ = std::move(*watch);
    return naming;
}

EtcdNaming::EtcdNaming(NodeContext& node, const proto::naming::NamingOptions& options,
                       std::unique_ptr<EtcdClient> client)
    : node_(node),
      options_(options),
      lease_ttl_(client->options().lease_ttl),
      client_(std::move(client)) {}

EtcdNaming::~EtcdNaming() {
    watch_.reset();  // Joins the watch thread, which calls into this object.
    client_->stop();
    client_->join();
}

template <class R>
R EtcdNaming::ask(std::function<std::optional<R>()> prepare, std::function<R(EtcdClient&)> work,
                  std::function<void(const R&)> after) {
    if (node_.in_loop_thread()) return fail(Errc::invalid_argument, "on the node's loop thread");
    auto answer = std::make_shared<EtcdAnswer<R>>();
    auto future = answer->promise.get_future();
    const bool posted = node_.post([this, answer, prepare, work, after] {
        if (auto early = prepare()) return answer->set(std::move(*early));
        requests_.fetch_add(1, std::memory_order_relaxed);
        auto submitted = client_->submit([this, answer, work, after](EtcdClient& etcd) {
            auto result = std::make_shared<R>(work(etcd));
            // Back to the loop, which owns the cache; a closed loop answers closed.
            if (!node_.post([answer, result, after] {
                    after(*result);
                    answer->set(std::move(*result));
                })) {
                answer->set(fail(Errc::closed, "node stopped"));
            }
        });
        if (!submitted) answer->set(fail(submitted.error()));
    });
    if (!posted) return fail(Errc::closed, "node stopped");
    answer.reset();  // The loop's copies answer, or drop it unrun: closed.
    return future.get();
}

// --- Application threads ---

Status EtcdNaming::register_name(const std::string& name, Pid owner, Duration lease) {
    if (!owner.valid() || lease <= Duration::zero()) {
        return fail(Errc::invalid_argument, "register: bad owner or lease");
    }
    return ask<Status>([] { return std::optional<Status>(); },
                       [=, this](EtcdClient& e) { return claim(e, name, owner, false, lease); },
                       [=, this](const Status&) { cache_.erase(name); });
}

Status EtcdNaming::hold(const std::string& name, Pid owner, Duration lease) {
    if (!owner.valid() || lease <= Duration::zero()) {
        return fail(Errc::invalid_argument, "register: bad owner or lease");
    }
    // Checked and queued on the loop: an exit after it queues its release behind this claim.
    return ask<Status>(
        [=, this]() -> std::optional<Status> {
            if (owner.node == node_.id() && !node_.has_process(owner)) {
                return fail(Errc::closed, "process has exited");
            }
            return std::nullopt;
        },
        [=, this](EtcdClient& e) { return claim(e, name, owner, true, lease); },
        [=, this](const Status&) { cache_.erase(name); });
}

Status EtcdNaming::register_for(const std::string& name, Pid owner, Duration lease) {
    if (!owner.valid() || lease <= Duration::zero()) {
        return fail(Errc::invalid_argument, "register: bad owner or lease");
    }
    auto held = std::make_shared<bool>(false);
    return ask<Status>(
        [=, this] {
            *held = owner.node == node_.id() && node_.has_process(owner);
            return std::optional<Status>();
        },
        [=, this](EtcdClient& e) { return claim(e, name, owner, *held, lease); },
        [=, this](const Status&) { cache_.erase(name); });
}

Result<NameEntry> EtcdNaming::lookup(const std::string& name) {
    using R = Result<NameEntry>;
    auto read_at = std::make_shared<std::int64_t>(0);  // The revision the worker read at.
    return ask<R>(
        [=, this]() -> std::optional<R> {
            if (watch_missed_.exchange(false)) drop_cached({}, true, missed_at_.load());
            auto it = cache_.find(name);
            if (it == cache_.end()) return std::nullopt;
            if (it->second.until <= node_.now()) {
                cache_.erase(it);
                return std::nullopt;
            }
            ++counters_.cache_hits;
            return R(it->second.entry);
        },
        [=, this](EtcdClient& e) { return get(e, name, read_at.get()); },
        [=, this](const R& r) {
            if (r) {
                // A change the watch reported may be newer than what the read saw (C11).
                if (*read_at >= changed_at(name)) cache_put(*r);
            } else if (r.error().code == Errc::not_found) {
                cache_.erase(name);  // Rule 7: a miss invalidates.
            }
        });
}

Status EtcdNaming::unregister(const std::string& name, Pid owner) {
    if (owner.node != node_.id()) {  // Rule 8: only the owner's node.
        return fail(Errc::access_denied, to_string(owner) + " is not a process of this node");
    }
    return ask<Status>([] { return std::optional<Status>(); },
                       [=, this](EtcdClient& e) { return erase_if_owner(e, name, owner); },
                       [=, this](const Status&) { cache_.erase(name); });
}

Result<std::vector<NameEntry>> EtcdNaming::list(const std::string& prefix) {
    using R = Result<std::vector<NameEntry>>;
    return ask<R>([] { return std::optional<R>(); },
                  [=, this](EtcdClient& e) { return range(e, prefix); }, [](const R&) {});
}

Status EtcdNaming::invalidate(const std::string& name) {
    return node_.on_loop<Status>("naming invalidate", [this, name]() -> Status {
        cache_.erase(name);
        return {};
    });
}

Result<NameBackend::Counters> EtcdNaming::counters() {
    return node_.on_loop<Result<Counters>>("naming counters", [this]() -> Result<Counters> {
        Counters c;
        c.naming = counters_;
        c.naming.requests = requests_.load(std::memory_order_relaxed);
        c.naming.renewals = renewals_.load(std::memory_order_relaxed);
        c.naming.names_lost = lost_.load(std::memory_order_relaxed);
        c.held = held_count_.load(std::memory_order_relaxed);
        c.retries = retries_.load(std::memory_order_relaxed);
        c.watch_events = watch_ ? watch_->events() : 0;
        c.watch_streams = watch_ ? watch_->streams() : 0;
        return c;
    });
}

Status EtcdNaming::set_server(NodeId server) {
    (void)server;
    return fail(Errc::invalid_argument, "names are on etcd: there is no name server to set");
}

// --- Watch thread ---

void EtcdNaming::on_watch(const std::vector<WatchEvent>& events, bool reset,
                          std::int64_t revision) {
    const std::string prefix = client_->options().prefix + "names/";
    std::vector<std::pair<std::string, std::int64_t>> changes;
    changes.reserve(events.size());
    for (const auto& e : events) {
        if (e.key.starts_with(prefix))
            changes.emplace_back(e.key.substr(prefix.size()), e.revision);
    }
    const bool posted = node_.post([this, changes = std::move(changes), reset, revision] {
        drop_cached(changes, reset, revision);
    });
    if (!posted) {  // The loop's queue is full (or it stopped): its next lookup drops all.
        std::int64_t seen = missed_at_.load();
        while (seen < revision && !missed_at_.compare_exchange_weak(seen, revision)) {
        }
        watch_missed_.store(true);
    }
}

// --- Loop thread ---

void EtcdNaming::drop_cached(const std::vector<std::pair<std::string, std::int64_t>>& changes,
                             bool all, std::int64_t revision) {
    constexpr std::size_t changes_max = 4096;
    if (all) {
        cache_.clear();
        all_changed_at_ = std::max(all_changed_at_, revision);  // Missed changes are up to it.
    }
    for (const auto& [name, at] : changes) {
        cache_.erase(name);
        if (changed_at_.size() >= changes_max && !changed_at_.contains(name)) {
            for (const auto& [n, r] : changed_at_) all_changed_at_ = std::max(all_changed_at_, r);
            changed_at_.clear();
        }
        auto& r = changed_at_[name];
        r = std::max(r, at);
    }
}

std::int64_t EtcdNaming::changed_at(const std::string& name) const {
    auto it = changed_at_.find(name);
    return std::max(all_changed_at_, it == changed_at_.end() ? 0 : it->second);
}

void EtcdNaming::cache_put(const NameEntry& entry) {
    if (options_.cache_max == 0 || options_.cache_ttl <= Duration::zero()) return;
    if (cache_.size() >= options_.cache_max && !cache_.contains(entry.name)) {
        auto oldest = cache_.begin();  // Drop the entry that ends first.
        for (auto it = cache_.begin(); it != cache_.end(); ++it) {
            if (it->second.until < oldest->second.until) oldest = it;
        }
        cache_.erase(oldest);
    }
    cache_[entry.name] = Cached{entry, node_.now() + options_.cache_ttl};
}

void EtcdNaming::on_process_exited(Pid pid, Time now) {
    (void)now;
    (void)client_->submit([this, pid](EtcdClient& etcd) { release(etcd, pid); });
}

void EtcdNaming::shutdown() {
    if (watch_) watch_->stop();  // Its stream ends at once; no more cache drops posted.
    // Calls still queued fail closed; then the lease is revoked (its names go at once), at
    // most etcd_timeout: a stop never waits longer for etcd than that and one call.
    client_->stop([this](EtcdClient& etcd) { revoke_lease(etcd, lease_); });
}

void EtcdNaming::join() {
    client_->join();
}

// --- Worker thread ---

std::string EtcdNaming::key(const std::string& name) const {
    return client_->options().prefix + "names/" + name;
}

Result<std::int64_t> EtcdNaming::node_lease(EtcdClient& etcd) {
    if (lease_ == 0) {
        HERALD_TRY(lease_, grant_lease(etcd, lease_ttl_));
    }
    return lease_;
}

Status EtcdNaming::put_if_free(EtcdClient& etcd, const std::string& name, Pid owner,
                               std::int64_t lease) {
    const std::string k = key(name);
    const std::string pid = base64_encode(to_string(owner));
    const Json put{{"request_put",
                    {{"key", base64_encode(k)}, {"value", pid}, {"lease", std::to_string(lease)}}}};
    const Json get{{"request_range", {{"key", base64_encode(k)}}}};
    // One winner: create only when absent; when the owner holds it already, rebind it to this
    // lease (a renewal). Another round only when the holder changes in between.
    for (int round = 0; round < 3; ++round) {
        Json txn{{"compare", {compare(k, "CREATE", "0")}}, {"success", {put}}, {"failure", {get}}};
        HERALD_TRY(Json answer, etcd.call("/v3/kv/txn", txn));
        if (json_true(answer, "succeeded")) return {};
        HERALD_TRY(auto holder, first_value(txn_range(answer)));
        if (!holder) continue;  // Gone meanwhile: try to create it again.
        if (*holder != to_string(owner)) return fail(Errc::already_exists, *holder);
        txn = Json{{"compare", {compare(k, "VALUE", pid)}}, {"success", {put}}, {"failure", {get}}};
        HERALD_TRY(answer, etcd.call("/v3/kv/txn", txn));
        if (json_true(answer, "succeeded")) return {};
    }
    return fail(Errc::unreachable, "name '" + name + "' changed owner during every attempt");
}

Status EtcdNaming::claim(EtcdClient& etcd, const std::string& name, Pid owner, bool held,
                         Duration lease) {
    if (!held) {
        HERALD_TRY(std::int64_t own, grant_lease(etcd, lease));
        auto put = put_if_free(etcd, name, owner, own);
        if (!put) (void)etcd.call("/v3/lease/revoke", Json{{"ID", std::to_string(own)}});
        return put;
    }
    if (held_.size() + orphans_.size() >= options_.held_max && !held_.contains(name)) {
        return fail(Errc::queue_full, "too many names held by this node's processes");
    }
    HERALD_TRY(std::int64_t lease_id, node_lease(etcd));
    HERALD_TRY(put_if_free(etcd, name, owner, lease_id));
    held_[name] = owner;
    held_count_.store(held_.size(), std::memory_order_relaxed);
    return {};
}

Status EtcdNaming::erase_if_owner(EtcdClient& etcd, const std::string& name, Pid owner) {
    if (auto it = held_.find(name); it != held_.end() && it->second == owner) {
        held_.erase(it);
        held_count_.store(held_.size(), std::memory_order_relaxed);
    }
    const std::string k = key(name);
    const Json txn{{"compare", {compare(k, "VALUE", base64_encode(to_string(owner)))}},
                   {"success", {{{"request_delete_range", {{"key", base64_encode(k)}}}}}},
                   {"failure", {{{"request_range", {{"key", base64_encode(k)}}}}}}};
    HERALD_TRY(Json answer, etcd.call("/v3/kv/txn", txn));
    if (json_true(answer, "succeeded")) return {};
    HERALD_TRY(auto holder, first_value(txn_range(answer)));
    if (!holder) return fail(Errc::not_found, "no name '" + name + "'");
    return fail(Errc::access_denied, "'" + name + "' is held by " + *holder);
}

Result<NameEntry> EtcdNaming::get(EtcdClient& etcd, const std::string& name,
                                  std::int64_t* revision) {
    HERALD_TRY(Json answer, etcd.call("/v3/kv/range", Json{{"key", base64_encode(key(name))}}));
    if (revision != nullptr) {
        const Json* header = json_field(answer, "header");
        *revision = header != nullptr ? json_int(*header, "revision").value_or(0) : 0;
    }
    HERALD_TRY(auto holder, first_value(answer));
    if (!holder) return fail(Errc::not_found, "no name '" + name + "'");
    auto pid = parse_pid(*holder);
    if (!pid) return fail(Errc::malformed, "etcd holds '" + *holder + "' for '" + name + "'");
    return NameEntry{name, pid->node.value, pid->local, lease_ttl_.ms()};
}

Result<std::vector<NameEntry>> EtcdNaming::range(EtcdClient& etcd, const std::string& prefix) {
    const std::string names = key("");
    const std::string from = key(prefix);
    const Json request{{"key", base64_encode(from)},
                       {"range_end", base64_encode(prefix_end(from))},
                       {"limit", std::to_string(options_.list_max)}};
    HERALD_TRY(Json answer, etcd.call("/v3/kv/range", request));
    std::vector<NameEntry> out;
    for (const Json& kv : json_kvs(answer)) {
        auto k = json_text(kv, "key");
        auto v = json_text(kv, "value");
        if (!k || !v) continue;
        auto name = base64_decode(*k);
        auto holder = base64_decode(*v);
        if (!name || !holder || !name->starts_with(names)) continue;
        auto pid = parse_pid(*holder);
        if (!pid) continue;  // Not ours to interpret: left out of the list.
        out.push_back(
            NameEntry{name->substr(names.size()), pid->node.value, pid->local, lease_ttl_.ms()});
    }
    return out;
}

void EtcdNaming::keep_alive(EtcdClient& etcd) {
    retry_orphans(etcd);
    if (lease_ == 0) {
        if (!held_.empty()) recover_lease(etcd);  // Lost earlier and not yet rebuilt.
        return;
    }
    auto answer = etcd.call("/v3/lease/keepalive", Json{{"ID", std::to_string(lease_)}});
    if (!answer) {
        if (answer.error().code == Errc::not_found) recover_lease(etcd);
        return;  // Unreachable: the next tick tries again, within the TTL.
    }
    const Json* result = json_field(*answer, "result");
    const auto ttl = result != nullptr ? json_int(*result, "TTL") : std::nullopt;
    if (ttl && *ttl > 0) {
        renewals_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    recover_lease(etcd);  // TTL 0 or absent: the lease ended (etcd away too long).
}

void EtcdNaming::recover_lease(EtcdClient& etcd) {
    lease_ = 0;
    auto lease = node_lease(etcd);
    if (!lease) return;  // Next tick.
    for (auto it = held_.begin(); it != held_.end();) {
        auto put = put_if_free(etcd, it->first, it->second, *lease);
        if (!put && put.error().code == Errc::already_exists) {
            lost_.fetch_add(1, std::memory_order_relaxed);  // Taken while our lease was gone.
            it = held_.erase(it);
            continue;
        }
        if (!put) {
            lease_ = 0;  // Try the whole set again at the next tick.
            break;
        }
        ++it;
    }
    held_count_.store(held_.size(), std::memory_order_relaxed);
}

void EtcdNaming::release(EtcdClient& etcd, Pid pid) {
    std::vector<std::string> names;
    for (const auto& [name, owner] : held_) {
        if (owner == pid) names.push_back(name);
    }
    for (const auto& name : names) {
        auto erased = erase_if_owner(etcd, name, pid);
        if (!erased && erased.error().code != Errc::not_found &&
            erased.error().code != Errc::access_denied) {
            orphans_[name] = pid;  // Still on the node lease: deleted again at each renewal.
        }
    }
}

void EtcdNaming::retry_orphans(EtcdClient& etcd) {
    for (auto it = orphans_.begin(); it != orphans_.end();) {
        auto erased = erase_if_owner(etcd, it->first, it->second);
        if (!erased && erased.error().code == Errc::unreachable) return;  // Next renewal.
        it = orphans_.erase(it);  // Deleted, or no longer its (gone, or another's).
    }
}

}  // namespace herald::runtime::coord

// EtcdGroups implementation: views as one key per group, changed in transactions on its
// mod_revision; node keys on a lease for failure detection. Layer: runtime/coord. Rules:
// docs/coordination.md "Groups on etcd".
#include "runtime/coord/etcd_groups.h"

#include <algorithm>
#include <charconv>
#include <future>
#include <utility>

#include "proto/group/group_engine.h"

namespace herald::runtime::coord {

using proto::IpGroup;
using proto::group::GroupAddress;
using proto::group::Member;
using proto::group::View;

namespace {

constexpr int edit_rounds = 8;           // Attempts of one change against concurrent ones.
constexpr std::size_t gone_max = 4096;   // Deleted names remembered (late events dropped).
constexpr std::size_t prune_max = 1024;  // Groups waiting for a prune retry.

std::int64_t revision_of(const Json& answer) {
    const Json* header = json_field(answer, "header");
    return header != nullptr ? json_int(*header, "revision").value_or(0) : 0;
}

// A node key's value (C14): "<incarnation> <url>".
struct NodeValue {
    std::uint32_t incarnation = 0;
    std::string url;
};

std::optional<NodeValue> parse_node_value(std::string_view text) {
    const auto space = text.find(' ');
    if (space == std::string_view::npos || space + 1 == text.size()) return std::nullopt;
    std::uint32_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + space, value);
    if (ec != std::errc() || end != text.data() + space || value == 0) return std::nullopt;
    return NodeValue{value, std::string(text.substr(space + 1))};
}

// The kvs of a range answer as events (keys and values decoded; kvs that do not decode are
// left out).
std::vector<WatchEvent> events_of(const Json& range) {
    std::vector<WatchEvent> events;
    for (const Json& kv : json_kvs(range)) {
        auto key = base64_decode(json_text(kv, "key").value_or(""));
        auto value = base64_decode(json_text(kv, "value").value_or(""));
        if (!key || !value) continue;
        WatchEvent e;
        e.key = std::move(*key);
        e.value = std::move(*value);
        e.revision = json_int(kv, "mod_revision").value_or(0);
        e.create_revision = json_int(kv, "create_revision").value_or(0);
        events.push_back(std::move(e));
    }
    return events;
}

void sort_members(View& v) {
    std::sort(v.members.begin(), v.members.end(), [](const Member& a, const Member& b) {
        return std::tie(a.pid.node.value, a.pid.local, a.incarnation) <
               std::tie(b.pid.node.value, b.pid.local, b.incarnation);
    });
}

}  // namespace

Result<std::unique_ptr<EtcdGroups>> EtcdGroups::open(NodeContext& node, const NodeConfig& config,
                                                     std::uint32_t incarnation, Apply apply) {
    HERALD_TRY(auto client, EtcdClient::open(config.etcd));
    auto groups = std::make_unique<EtcdGroups>(node, config.group, incarnation, std::move(client),
                                               std::move(apply));
    groups->client_->set_tick(groups->lease_ttl_ / 3,
                              [g = groups.get()](EtcdClient& etcd) { g->keep_alive(etcd); });
    auto on_watch = [g = groups.get()](const std::vector<WatchEvent>& events, bool reset,
                                       std::int64_t revision) {
        g->on_watch(events, reset, revision);
    };
    HERALD_TRY(groups->watch_, EtcdWatch::open(config.etcd, groups->prefix_, on_watch));
    return groups;
}

EtcdGroups::EtcdGroups(NodeContext& node, const proto::group::GroupOptions& options,
                       std::uint32_t incarnation, std::unique_ptr<EtcdClient> client, Apply apply)
    : node_(node),
      options_(options),
      incarnation_(incarnation),
      apply_(std::move(apply)),
      lease_ttl_(client->options().lease_ttl),
      prefix_(client->options().prefix + "groups/"),
      client_(std::move(client)) {}

EtcdGroups::~EtcdGroups() {
    watch_.reset();  // Joins the watch thread, which calls into this object.
    client_->stop();
    client_->join();
}

template <class R>
R EtcdGroups::ask(std::function<R(EtcdClient&)> work) {
    if (node_.in_loop_thread()) return fail(Errc::invalid_argument, "on the node's loop thread");
    auto answer = std::make_shared<std::promise<R>>();
    auto future = answer->get_future();
    auto submitted = client_->submit(
        [answer, work = std::move(work)](EtcdClient& etcd) { answer->set_value(work(etcd)); });
    if (!submitted) return fail(submitted.error());
    return future.get();
}

Result<View> EtcdGroups::change(const std::string& name, Edit fn, bool own_node) {
    using Committed = Result<std::pair<View, std::int64_t>>;
    HERALD_TRY(auto done, ask<Committed>([=, this](EtcdClient& etcd) {
                   return edit(etcd, name, fn, own_node);
               }));
    if (done.second != 0) wait_applied(done.second);
    return done.first;
}

// C13: a change returns once this node's watch applied it (or etcd_timeout passed), so the
// caller's next multicast is addressed with a view at least as new.
void EtcdGroups::wait_applied(std::int64_t revision) {
    std::unique_lock lock(applied_mutex_);
    const auto limit = std::chrono::nanoseconds(client_->options().timeout.ns());
    applied_changed_.wait_for(lock, limit, [&] { return applied_revision_ >= revision; });
}

// --- Application threads ---

Status EtcdGroups::check_local(Pid pid) const {
    if (pid.node != node_.id() || !pid.valid()) {
        return fail(Errc::invalid_argument, "group request for a pid not of this node");
    }
    return {};
}

Result<View> EtcdGroups::create(const std::string& name, bool closed, Pid requester,
                                std::uint8_t order, const GroupAddress& address) {
    HERALD_TRY(check_local(requester));
    if (order == 0 || order > proto::group::order_max) {
        return fail(Errc::invalid_argument, "group order mode");
    }
    Bytes encoded;  // The engine's check (G22): a group with a port, or all zero.
    proto::group::put_group_address(encoded, address);
    GroupAddress checked;
    std::size_t offset = 0;
    if (!proto::group::get_group_address(encoded, offset, checked, false) || checked != address) {
        return fail(Errc::invalid_argument, "group address: not an IP multicast group and port");
    }
    GroupAddress picked = address;
    if (address.kind == proto::group::AddressKind::multicast && !address.ip.valid()) {
        // G22's pick, from the groups this node knows (two racing creates may pick the same
        // address: harmless, as every datagram names its members).
        HERALD_TRY(picked, node_.on_loop<Result<GroupAddress>>("group pick", [&] {
            std::set<IpGroup> used;
            for (const auto& [n, k] : known_) used.insert(k.view.address.ip);
            return Result<GroupAddress>(proto::group::pick_address(address, used));
        }));
    }
    return change(
        name,
        [=](const std::optional<Stored>& cur) -> Result<std::optional<View>> {
            if (cur) return fail(Errc::already_exists, "group " + name);
            return std::optional<View>(View{1, closed, {}, order, picked});
        },
        false);
}

Result<View> EtcdGroups::join(const std::string& name, Pid member) {
    HERALD_TRY(check_local(member));
    const std::uint32_t incarnation = incarnation_;
    const std::uint32_t members_max = options_.members_max;
    return change(name, [=](const std::optional<Stored>& cur) -> Result<std::optional<View>> {
        if (!cur) return fail(Errc::not_found, "no group " + name);
        const Member m{member, incarnation};
        if (cur->view.contains(m)) return std::optional<View>();
        View next = cur->view;
        // A member of this node's earlier incarnation (a restart) is gone.
        std::erase_if(next.members, [&](const Member& x) {
            return x.pid.node == member.node && x.incarnation != incarnation;
        });
        if (next.members.size() >= members_max) {
            return fail(Errc::queue_full, "group " + name + " has members_max members");
        }
        next.members.push_back(m);
        sort_members(next);
        ++next.id;
        return std::optional<View>(std::move(next));
    });
}

Result<View> EtcdGroups::leave(const std::string& name, Pid member) {
    HERALD_TRY(check_local(member));
    const std::uint32_t incarnation = incarnation_;
    return change(
        name,
        [=](const std::optional<Stored>& cur) -> Result<std::optional<View>> {
            if (!cur) return fail(Errc::not_found, "no group " + name);
            if (!cur->view.contains(Member{member, incarnation})) {
                return fail(Errc::not_found, to_string(member) + " is not a member of " + name);
            }
            View next = cur->view;
            std::erase(next.members, Member{member, incarnation});
            ++next.id;
            return std::optional<View>(std::move(next));
        },
        false);
}

Status EtcdGroups::remove(const std::string& name, Pid requester) {
    HERALD_TRY(check_local(requester));
    const std::string key = group_key(name);
    HERALD_TRY(Json answer, ask<Result<Json>>([key](EtcdClient& etcd) {
                   return etcd.call("/v3/kv/deleterange", Json{{"key", base64_encode(key)}});
               }));
    if (json_int(answer, "deleted").value_or(0) == 0)
        return fail(Errc::not_found, "no group " + name);
    changes_.fetch_add(1, std::memory_order_relaxed);
    wait_applied(revision_of(answer));
    return {};
}

Result<View> EtcdGroups::view(const std::string& name, Pid requester) {
    auto local = node_.on_loop<Result<std::optional<View>>>(
        "group view", [&]() -> Result<std::optional<View>> {
            if (!loaded_) return std::optional<View>();  // Not yet: read etcd.
            auto it = known_.find(name);
            if (it == known_.end()) return fail(Errc::not_found, "no group " + name);
            return std::optional<View>(it->second.view);
        });
    if (!local) return fail(local.error());
    std::optional<View> v = std::move(*local);
    if (!v) {
        HERALD_TRY(auto stored, ask<Result<std::optional<Stored>>>(
                                    [=, this](EtcdClient& etcd) { return read(etcd, name); }));
        if (!stored) return fail(Errc::not_found, "no group " + name);
        v = stored->view;
    }
    // As the embedded service answers (docs/groups.md G8): a node that hosts members of a
    // closed group shows its view; elsewhere only a member may see it.
    const NodeId self = node_.id();
    const bool hosts = std::any_of(v->members.begin(), v->members.end(),
                                   [&](const Member& m) { return m.pid.node == self; });
    if (v->closed && !hosts && !v->contains_pid(requester)) {
        return fail(Errc::access_denied, "closed group " + name);
    }
    return *v;
}

Result<View> EtcdGroups::known(const std::string& name) {
    return node_.on_loop<Result<View>>("group view", [&]() -> Result<View> {
        auto it = known_.find(name);
        if (it == known_.end()) return fail(Errc::not_found, "no view of group " + name + " here");
        return it->second.view;
    });
}

// Names of the keys that hold views (C12: others are not Herald's), in key order.
Result<std::vector<std::string>> EtcdGroups::list() {
    const std::string from = prefix_ + "v/";
    const std::size_t max = options_.groups_max;
    HERALD_TRY(Json answer, ask<Result<Json>>([=](EtcdClient& etcd) {
                   return etcd.call("/v3/kv/range",
                                    Json{{"key", base64_encode(from)},
                                         {"range_end", base64_encode(prefix_end(from))},
                                         {"limit", std::to_string(max)}});
               }));
    std::vector<std::string> names;
    for (const WatchEvent& e : events_of(answer)) {
        const ByteView value(reinterpret_cast<const std::uint8_t*>(e.value.data()), e.value.size());
        if (proto::group::decode_view(value)) names.push_back(e.key.substr(from.size()));
    }
    return names;
}

Result<EtcdGroups::Counters> EtcdGroups::counters() {
    Counters c;
    c.changes = changes_.load(std::memory_order_relaxed);
    c.conflicts = conflicts_.load(std::memory_order_relaxed);
    c.pruned = pruned_.load(std::memory_order_relaxed);
    c.skipped = skipped_.load(std::memory_order_relaxed);
    c.watch_events = watch_ ? watch_->events() : 0;
    c.watch_streams = watch_ ? watch_->streams() : 0;
    return c;
}

// --- Loop thread ---

void EtcdGroups::leave_later(const std::string& name, Pid member, Time now) {
    (void)now;
    const std::uint32_t incarnation = incarnation_;
    Edit edit = [=](const std::optional<Stored>& cur) -> Result<std::optional<View>> {
        if (!cur || !cur->view.contains(Member{member, incarnation})) {
            return std::optional<View>();
        }
        View next = cur->view;
        std::erase(next.members, Member{member, incarnation});
        ++next.id;
        return std::optional<View>(std::move(next));
    };
    // Queue full or stopped: the member stays until this node's lease ends (C15).
    (void)client_->submit(
        [=, this](EtcdClient& etcd) { (void)this->edit(etcd, name, edit, false); });
}

void EtcdGroups::shutdown() {
    if (watch_) watch_->stop();
    client_->stop([this](EtcdClient& etcd) { revoke_lease(etcd, lease_); });
}

void EtcdGroups::join_threads() {
    client_->join();
}

// --- Worker thread ---

std::string EtcdGroups::group_key(const std::string& name) const {
    return prefix_ + "v/" + name;
}

std::string EtcdGroups::node_key(NodeId node) const {
    return prefix_ + "n/" + to_string(node);
}

std::string EtcdGroups::node_value() const {
    return std::to_string(incarnation_) + " " + node_.listen_url();
}

Result<std::optional<EtcdGroups::Stored>> EtcdGroups::read(EtcdClient& etcd,
                                                           const std::string& name) {
    HERALD_TRY(Json answer,
               etcd.call("/v3/kv/range", Json{{"key", base64_encode(group_key(name))}}));
    const Json kvs = json_kvs(answer);
    if (kvs.empty()) return std::optional<Stored>();
    const Json& kv = kvs[0];
    HERALD_TRY(std::string bytes, base64_decode(json_text(kv, "value").value_or("")));
    auto v = proto::group::decode_view(
        ByteView(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
    if (!v) return fail(Errc::malformed, "etcd holds no group view for '" + name + "'");
    return std::optional<Stored>(Stored{std::move(*v), json_int(kv, "mod_revision").value_or(0),
                                        json_int(kv, "create_revision").value_or(0)});
}

Result<std::map<NodeId, std::uint32_t>> EtcdGroups::alive(EtcdClient& etcd) {
    const std::string from = prefix_ + "n/";
    HERALD_TRY(Json answer,
               etcd.call("/v3/kv/range", Json{{"key", base64_encode(from)},
                                              {"range_end", base64_encode(prefix_end(from))}}));
    std::map<NodeId, std::uint32_t> nodes;
    for (const WatchEvent& e : events_of(answer)) {
        auto node = parse_node_id(std::string_view(e.key).substr(from.size()));
        auto parsed = parse_node_value(e.value);
        if (node && parsed) nodes[*node] = parsed->incarnation;
    }
    return nodes;
}

Result<std::int64_t> EtcdGroups::lease(EtcdClient& etcd) {
    if (lease_ == 0) {
        HERALD_TRY(lease_, grant_lease(etcd, lease_ttl_));
    }
    return lease_;
}

// C13: read, edit, commit if the key is as read; a lost race reads again.
Result<std::pair<View, std::int64_t>> EtcdGroups::edit(EtcdClient& etcd, const std::string& name,
                                                       const Edit& fn, bool own_node) {
    const std::string key = group_key(name);
    for (int round = 0; round < edit_rounds; ++round) {
        HERALD_TRY(auto cur, read(etcd, name));
        HERALD_TRY(auto next, fn(cur));
        if (!next) return std::pair<View, std::int64_t>(cur ? cur->view : View{}, 0);
        const Bytes bytes = proto::group::encode_view(*next);
        const std::string value(bytes.begin(), bytes.end());
        Json success = Json::array();
        success.push_back(
            {{"request_put", {{"key", base64_encode(key)}, {"value", base64_encode(value)}}}});
        if (own_node) {  // The member's node key, on the lease, in the same transaction.
            HERALD_TRY(std::int64_t id, lease(etcd));
            success.push_back({{"request_put",
                                {{"key", base64_encode(node_key(node_.id()))},
                                 {"value", base64_encode(node_value())},
                                 {"lease", std::to_string(id)}}}});
        }
        Json compare{{"key", base64_encode(key)}, {"result", "EQUAL"}};
        if (cur) {
            compare["target"] = "MOD";
            compare["mod_revision"] = std::to_string(cur->mod_revision);
        } else {
            compare["target"] = "CREATE";
            compare["create_revision"] = "0";
        }
        auto answer = etcd.call("/v3/kv/txn", Json{{"compare", {compare}}, {"success", success}});
        if (!answer && answer.error().code == Errc::not_found && own_node) {
            lease_ = 0;  // The lease ended (etcd away longer than its TTL): a new one.
            continue;
        }
        if (!answer) return fail(answer.error());
        if (json_true(*answer, "succeeded")) {
            changes_.fetch_add(1, std::memory_order_relaxed);
            return std::pair<View, std::int64_t>(std::move(*next), revision_of(*answer));
        }
        conflicts_.fetch_add(1, std::memory_order_relaxed);
    }
    return fail(Errc::unreachable, "group '" + name + "' changed during every attempt");
}

void EtcdGroups::keep_alive(EtcdClient& etcd) {
    if (reload_) load(etcd);
    for (auto it = to_prune_.begin(); it != to_prune_.end();) {
        const std::string name = *it;
        it = to_prune_.erase(it);
        prune(etcd, name);
    }
    if (lease_ == 0) return;
    auto answer = etcd.call("/v3/lease/keepalive", Json{{"ID", std::to_string(lease_)}});
    if (!answer && answer.error().code != Errc::not_found) return;  // Next tick.
    const Json* result = answer ? json_field(*answer, "result") : nullptr;
    if (result != nullptr && json_int(*result, "TTL").value_or(0) > 0) return;
    // C15: the lease ended (etcd away longer than its TTL): the survivors took this node's
    // members out; a new lease and node key for the members that join again.
    lease_ = 0;
    auto id = lease(etcd);
    if (!id) return;
    (void)etcd.call("/v3/kv/put", Json{{"key", base64_encode(node_key(node_.id()))},
                                       {"value", base64_encode(node_value())},
                                       {"lease", std::to_string(*id)}});
}

// C15: members whose node key is gone, or holds another incarnation, leave the view.
void EtcdGroups::prune(EtcdClient& etcd, const std::string& name) {
    auto nodes = alive(etcd);
    if (!nodes) {
        if (to_prune_.size() < prune_max) to_prune_.insert(name);
        return;
    }
    std::size_t removed = 0;
    Edit edit = [&](const std::optional<Stored>& cur) -> Result<std::optional<View>> {
        if (!cur) return std::optional<View>();
        View next = cur->view;
        removed = std::erase_if(next.members, [&](const Member& m) {
            auto it = nodes->find(m.pid.node);
            return it == nodes->end() || it->second != m.incarnation;
        });
        if (removed == 0) return std::optional<View>();
        ++next.id;
        return std::optional<View>(std::move(next));
    };
    auto done = this->edit(etcd, name, edit, false);
    if (!done) {
        if (done.error().code == Errc::unreachable && to_prune_.size() < prune_max) {
            to_prune_.insert(name);
        }
        return;
    }
    if (done->second != 0) pruned_.fetch_add(removed, std::memory_order_relaxed);
}

// After a watch reset: every group and node key, read at one revision, to the loop.
void EtcdGroups::load(EtcdClient& etcd) {
    auto answer = etcd.call(
        "/v3/kv/range",
        Json{{"key", base64_encode(prefix_)}, {"range_end", base64_encode(prefix_end(prefix_))}});
    reload_ = !answer;  // Failed: again at the next tick; nothing is reliable until then.
    if (!answer) return;
    std::vector<Change> changes;
    for (const WatchEvent& e : events_of(*answer)) {
        if (auto c = decode(e)) changes.push_back(std::move(*c));
    }
    const std::int64_t at = revision_of(*answer);
    // A stopped loop needs nothing.
    (void)node_.post([this, changes = std::move(changes), at]() mutable {
        apply_snapshot(std::move(changes), at);
    });
}

// --- Watch thread (and the worker's load) ---

std::optional<EtcdGroups::Change> EtcdGroups::decode(const WatchEvent& e) {
    Change c;
    c.deleted = e.deleted;
    c.revision = e.revision;
    c.create_revision = e.create_revision;
    if (e.key.starts_with(prefix_ + "v/")) {
        c.name = e.key.substr(prefix_.size() + 2);
        if (e.deleted) return c;
        auto v = proto::group::decode_view(
            ByteView(reinterpret_cast<const std::uint8_t*>(e.value.data()), e.value.size()));
        if (!v) {  // Not a view: not Herald's (C12).
            skipped_.fetch_add(1, std::memory_order_relaxed);
            return std::nullopt;
        }
        c.view = std::move(*v);
        return c;
    }
    if (!e.key.starts_with(prefix_ + "n/")) return std::nullopt;
    auto node = parse_node_id(std::string_view(e.key).substr(prefix_.size() + 2));
    if (!node) return std::nullopt;
    c.node = *node;
    if (e.deleted) return c;
    auto parsed = parse_node_value(e.value);
    if (!parsed) {
        skipped_.fetch_add(1, std::memory_order_relaxed);
        return std::nullopt;
    }
    c.incarnation = parsed->incarnation;
    c.url = std::move(parsed->url);
    return c;
}

void EtcdGroups::on_watch(const std::vector<WatchEvent>& events, bool reset,
                          std::int64_t revision) {
    std::vector<Change> changes;
    for (const auto& e : events) {
        if (auto c = decode(e)) changes.push_back(std::move(*c));
    }
    const bool posted = node_.post([this, changes = std::move(changes), revision]() mutable {
        apply(std::move(changes), revision);
    });
    // A reset (the first stream, or changes compacted away), or a batch the loop could not
    // take: read everything again.
    if (reset || !posted) (void)client_->submit([this](EtcdClient& etcd) { load(etcd); });
}

// --- Loop thread ---

void EtcdGroups::apply(std::vector<Change> changes, std::int64_t revision) {
    // Node keys first: a join's node key comes in the same transaction as its view.
    for (const auto& c : changes) {
        if (!c.node.known()) continue;
        if (c.deleted) {
            alive_.erase(c.node);
            note_node(c.node, std::nullopt);
        } else {
            alive_[c.node] = c.incarnation;
            if (c.node != node_.id()) node_.learn_peer(c.node, c.url);  // C14: its address.
            note_node(c.node, c.incarnation);
        }
    }
    for (const auto& c : changes) {
        if (c.name.empty()) continue;
        if (c.deleted) {
            apply_delete(c.name, c.revision);
        } else {
            apply_view(c.name, *c.view, c.revision, c.create_revision);
        }
    }
    {
        std::lock_guard lock(applied_mutex_);
        applied_revision_ = std::max(applied_revision_, revision);
    }
    applied_changed_.notify_all();
}

// A load's snapshot at revision `at`: what it lacks and is older than it is gone.
void EtcdGroups::apply_snapshot(std::vector<Change> changes, std::int64_t at) {
    std::set<std::string> present;
    std::set<NodeId> nodes;
    for (const auto& c : changes) {
        if (!c.name.empty()) present.insert(c.name);
        if (c.node.known()) nodes.insert(c.node);
    }
    for (auto it = alive_.begin(); it != alive_.end();) {
        if (nodes.contains(it->first)) {
            ++it;
            continue;
        }
        const NodeId dead = it->first;
        it = alive_.erase(it);
        note_node(dead, std::nullopt);
    }
    std::vector<std::string> gone;
    for (const auto& [name, k] : known_) {
        if (!present.contains(name) && k.mod_revision < at) gone.push_back(name);
    }
    for (const auto& name : gone) apply_delete(name, at);
    loaded_ = true;
    apply(std::move(changes), at);
}

void EtcdGroups::apply_view(const std::string& name, const View& v, std::int64_t mod_revision,
                            std::int64_t create_revision) {
    auto it = known_.find(name);
    if (it != known_.end() && mod_revision <= it->second.mod_revision) return;
    auto gone = gone_.find(name);
    if (gone != gone_.end() && mod_revision <= gone->second) return;  // Older than its delete.
    if (it == known_.end() && known_.size() >= options_.groups_max) {
        skipped_.fetch_add(1, std::memory_order_relaxed);  // Beyond groups_max: not followed.
        return;
    }
    const bool fresh = (it != known_.end() && it->second.create_revision != create_revision) ||
                       (it == known_.end() && gone != gone_.end());
    if (gone != gone_.end()) gone_.erase(gone);
    known_[name] = Stored{v, mod_revision, create_revision};
    apply_(name, v, fresh);
    // A member whose node is known to be gone (a join racing a prune): prune again.
    if (!loaded_) return;
    for (const auto& m : v.members) {
        auto node = alive_.find(m.pid.node);
        if (node == alive_.end() || node->second != m.incarnation) return schedule_prune(name);
    }
}

void EtcdGroups::apply_delete(const std::string& name, std::int64_t revision) {
    auto it = known_.find(name);
    if (it != known_.end() && it->second.mod_revision >= revision) return;
    if (gone_.size() >= gone_max && !gone_.contains(name)) {
        auto oldest =
            std::min_element(gone_.begin(), gone_.end(),
                             [](const auto& a, const auto& b) { return a.second < b.second; });
        gone_.erase(oldest);
    }
    gone_[name] = std::max(gone_[name], revision);
    if (it == known_.end()) return;
    known_.erase(it);
    apply_(name, std::nullopt, false);
}

// C15: a node key deleted (its lease ended: a crash) or put with another incarnation (a
// restart): the groups with members of its other incarnations are pruned.
void EtcdGroups::note_node(NodeId node, std::optional<std::uint32_t> incarnation) {
    for (const auto& [name, k] : known_) {
        const bool stale =
            std::any_of(k.view.members.begin(), k.view.members.end(), [&](const Member& m) {
                return m.pid.node == node && (!incarnation || m.incarnation != *incarnation);
            });
        if (stale) schedule_prune(name);
    }
}

void EtcdGroups::schedule_prune(const std::string& name) {
    // Queue full or stopped: another node's prune, or this node's next event, covers it.
    (void)client_->submit([this, name](EtcdClient& etcd) { prune(etcd, name); });
}

}  // namespace herald::runtime::coord

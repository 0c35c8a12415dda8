// NamingEngine, server role: the table, leases, durable writes and the reply cache
// (docs/naming.md, rules 4-6, 8-10). Layer: proto/naming.
#include <algorithm>
#include <utility>

#include "proto/naming/naming_engine.h"
#include "wire/body.h"

namespace herald::proto::naming {

namespace {
std::string key_of(const std::string& name) {
    return std::string(name_prefix) + name;
}
}  // namespace

void NamingEngine::on_request(NodeId from, wire::Packet& packet, Time now, Effects& out) {
    const RequestKey key{from.value, packet.header.source_incarnation, packet.header.seq};
    if (auto it = replies_.find(key); it != replies_.end()) {
        ++totals_.duplicates_dropped;  // Rule 4: answer a duplicate from the cache.
        ++totals_.packets_sent;
        out.send(from, it->second);
        return;
    }
    if (in_progress_.contains(key)) {
        ++totals_.duplicates_dropped;  // Its write is not durable yet; the reply will come.
        return;
    }
    const std::uint32_t incarnation = packet.header.source_incarnation;
    if (!touch(from, incarnation, now, out)) {
        // Rule 14: a late request of an incarnation of the node that is gone: nobody waits.
        ++totals_.duplicates_dropped;
        out.trace(now, "probe_naming_stale_request", "node=" + to_string(from));
        return;
    }
    const auto op = static_cast<Op>(packet.header.epoch);
    auto body = wire::unpack<RequestBody>(packet.body);
    if (!body || packet.header.epoch < 1 || packet.header.epoch > 4) {
        ++totals_.malformed_dropped;
        reply(from, packet, fail(Errc::malformed, "name_request: bad body or operation"), out);
        return;
    }
    expire(now, out);
    bool wrote = false;
    const std::uint64_t token = next_token_;
    std::optional<Entry> before;
    if (auto it = table_.find(body->name); it != table_.end()) before = it->second;
    auto result = serve(from, incarnation, op, *body, now, out, wrote);
    if (!wrote) {
        reply(from, packet, std::move(result), out);
        return;
    }
    // Rule 6: answer only once the change is on disk.
    in_progress_.insert(key);
    waiting_[token] = {
        key, Waiting{from, std::move(packet), result ? *result : Bytes{}, body->name, before}};
}

Result<Bytes> NamingEngine::serve(NodeId from, std::uint32_t incarnation, Op op,
                                  const RequestBody& body, Time now, Effects& out, bool& wrote) {
    const std::uint64_t before = next_token_;
    Result<Bytes> result;
    switch (op) {
        case Op::register_name:
            result = serve_register(from, incarnation, body, now, out);
            break;
        case Op::unregister:
            result = serve_unregister(from, body, out);
            break;
        case Op::lookup: {
            auto it = table_.find(body.name);
            if (it == table_.end()) return fail(Errc::not_found, body.name);
            return wire::pack(entry_of(it->first, it->second, now));
        }
        case Op::list:
            return serve_list(body.name, now);
        case Op::probe:
            break;  // Answered before (on_packet).
    }
    wrote = next_token_ != before;
    return result;
}

Result<Bytes> NamingEngine::serve_register(NodeId from, std::uint32_t incarnation,
                                           const RequestBody& body, Time now, Effects& out) {
    const Pid owner{NodeId{body.node}, body.local};
    if (body.name.empty() || body.name.size() > options_.name_bytes_max || !owner.valid() ||
        body.lease_ms <= 0) {
        return fail(Errc::invalid_argument, "register: bad name, owner or lease");
    }
    auto it = table_.find(body.name);
    if (it != table_.end() && it->second.owner != owner) {
        return fail(Errc::already_exists, to_string(it->second.owner));  // Rule 3: one winner.
    }
    if (it == table_.end() && table_.size() >= options_.names_max) {
        return fail(Errc::queue_full, "name table full");  // Rule 9.
    }
    const Duration lease = std::min(Duration::milliseconds(body.lease_ms), options_.lease_max);
    table_[body.name] = Entry{owner, lease, now + lease, from, incarnation};
    if (from != self_ && !holders_.contains(from)) {
        if (holders_.size() >= options_.names_max) prune_holders();  // Keeps it <= names_max.
        holders_[from] = Holder{incarnation, now, true};
    }
    arm_probe(now, out);
    auto value =
        wire::pack(StoredName{owner.node.value, owner.local, lease.ms(), from.value, incarnation});
    if (!value) return fail(value.error());
    out.persist(next_token_++, key_of(body.name), std::move(*value));
    out.set_timer(sweep_timer, std::min_element(table_.begin(), table_.end(), [](auto& a, auto& b) {
                                   return a.second.expires < b.second.expires;
                               })->second.expires);
    return Bytes{};
}

Result<Bytes> NamingEngine::serve_unregister(NodeId from, const RequestBody& body, Effects& out) {
    auto it = table_.find(body.name);
    if (it == table_.end()) return fail(Errc::not_found, body.name);
    // Rule 8: the request must name the owner and come from its node (the owner itself, or
    // that node on its behalf).
    if (from != it->second.owner.node || Pid{NodeId{body.node}, body.local} != it->second.owner) {
        return fail(Errc::access_denied, "only the owner (or its node) may unregister; owner " +
                                             to_string(it->second.owner));
    }
    table_.erase(it);
    out.erase(next_token_++, key_of(body.name));
    return Bytes{};
}

Result<Bytes> NamingEngine::serve_list(const std::string& prefix, Time now) const {
    std::vector<NameEntry> entries;
    for (auto it = table_.lower_bound(prefix);
         it != table_.end() && it->first.starts_with(prefix) && entries.size() < options_.list_max;
         ++it) {
        entries.push_back(entry_of(it->first, it->second, now));
    }
    return wire::pack(entries);
}

NameEntry NamingEngine::entry_of(const std::string& name, const Entry& e, Time now) const {
    return NameEntry{name, e.owner.node.value, e.owner.local,
                     std::max<std::int64_t>(0, (e.expires - now).ms())};
}

void NamingEngine::reply(NodeId to, const wire::Packet& request, Result<Bytes> result,
                         Effects& out) {
    const RequestKey key{to.value, request.header.source_incarnation, request.header.seq};
    auto packet = make_reply(request, self_, incarnation_, result);
    remember(key, packet);
    ++totals_.packets_sent;
    out.send(to, std::move(packet));
}

void NamingEngine::remember(const RequestKey& key, const wire::Packet& reply) {
    if (options_.replies_max == 0) return;
    if (replies_.size() >= options_.replies_max) {
        replies_.erase(reply_order_.front());
        reply_order_.pop_front();
    }
    replies_.emplace(key, reply);
    reply_order_.push_back(key);
}

void NamingEngine::on_durable(std::uint64_t token, const Status& status, Time now, Effects& out) {
    (void)now;
    auto it = waiting_.find(token);
    if (it == waiting_.end()) return;
    auto [key, w] = std::move(it->second);
    waiting_.erase(it);
    in_progress_.erase(key);
    Result<Bytes> result = std::move(w.body);
    if (!status) {
        // Rule 6: a change that is not durable did not happen. When a later write to the same
        // name is still pending, the table shows that write (a full record, so the disk will
        // match it if it succeeds): leave the table alone and hand it the entry from before
        // this one, which is what to put back should it fail too. Otherwise put it back now.
        // (clang 14 cannot capture a structured binding: name it first.)
        const std::string& name = w.name;
        auto later = std::find_if(waiting_.upper_bound(token), waiting_.end(),
                                  [&](const auto& kv) { return kv.second.second.name == name; });
        if (later != waiting_.end()) {
            later->second.second.before = w.before;
        } else if (w.before) {
            table_[w.name] = *w.before;
        } else {
            table_.erase(w.name);
        }
        result = fail(Errc::storage_error, status.error().to_string());
    }
    reply(w.to, w.request, std::move(result), out);
}

void NamingEngine::expire(Time now, Effects& out) {
    Time next = Time::max();
    for (auto it = table_.begin(); it != table_.end();) {
        if (it->second.expires <= now) {
            out.trace(now, "naming_expired", "name=" + it->first);
            out.erase(next_token_++, key_of(it->first));
            ++counters_.expired;
            it = table_.erase(it);
        } else {
            next = std::min(next, it->second.expires);
            ++it;
        }
    }
    if (next != Time::max()) out.set_timer(sweep_timer, next);
    sweep_armed_ = true;
}

void NamingEngine::on_batch_end(Time now, Effects& out) {
    if (!options_.server) return;
    arm_probe(now, out);  // Rule 14 (a no-op while armed or without holders).
    if (sweep_armed_) return;
    expire(now, out);  // The first input after a restart: restored names' leases start ticking.
}

void NamingEngine::check_invariants(std::vector<std::string>& findings) const {
    if (held_.size() > options_.held_max) findings.push_back("naming: held names over held_max");
    if (pending_.size() > options_.pending_max) {
        findings.push_back("naming: requests in flight over pending_max");
    }
    if (!options_.server) {
        if (!table_.empty()) findings.push_back("naming: a client-only node holds names");
        return;
    }
    if (table_.size() > options_.names_max) findings.push_back("naming: table over names_max");
    if (replies_.size() > options_.replies_max || replies_.size() != reply_order_.size()) {
        findings.push_back("naming: reply cache over replies_max or out of step");
    }
    for (const auto& [name, e] : table_) {
        // A std::map holds one entry per name: uniqueness as the server sees it is that entry
        // having one valid owner and a lease the rules allow.
        if (name.empty() || name.size() > options_.name_bytes_max || !e.owner.valid() ||
            e.lease <= Duration::zero() || e.lease > options_.lease_max) {
            findings.push_back("naming: bad entry for " + name);
        }
    }
    if (in_progress_.size() != waiting_.size()) {
        findings.push_back("naming: requests in progress and writes waited on differ");
    }
    for (const auto& [name, e] : table_) {
        if (!e.holder.known()) findings.push_back("naming: no holder node for " + name);
    }
    if (holders_.size() > options_.names_max) findings.push_back("naming: holders over names_max");
}

void NamingEngine::on_restore(std::span<const StoredRecord> records) {
    for (const auto& [key, value] : records) {
        if (!key.starts_with(name_prefix)) continue;
        auto stored = wire::unpack<StoredName>(value);
        const Pid owner{NodeId{stored ? stored->node : 0}, stored ? stored->local : 0};
        if (!stored || !owner.valid() || stored->lease_ms <= 0) {
            ++counters_.bad_records;
            continue;
        }
        // Rule 10: a restored name gets a full lease from the start of this incarnation.
        const Duration lease =
            std::min(Duration::milliseconds(stored->lease_ms), options_.lease_max);
        const NodeId holder = stored->holder != 0 ? NodeId{stored->holder} : owner.node;
        table_[key.substr(name_prefix.size())] =
            Entry{owner, lease, started_ + lease, holder, stored->holder_incarnation};
        // Rule 14: a restored holder is not tracked until it speaks (contacted = false).
        if (holder != self_) {
            Holder& h = holders_[holder];
            h.incarnation = std::max(h.incarnation, stored->holder_incarnation);
            h.heard = started_;
        }
    }
}

// Rule 14. False: `incarnation` is older than the one `node` is known to run now.
bool NamingEngine::touch(NodeId node, std::uint32_t incarnation, Time now, Effects& out) {
    auto it = holders_.find(node);
    if (it == holders_.end()) return true;
    Holder& h = it->second;
    if (incarnation < h.incarnation) return false;
    h.heard = now;
    h.contacted = true;
    if (incarnation > h.incarnation) {
        h.incarnation = incarnation;
        drop_holder_names(node, incarnation, now, out);  // It restarted: its processes died.
    }
    return true;
}

// Drops the names `node` holds: all of them (below == 0, the node is dead), or those it
// registered in an incarnation older than `below` (it restarted).
void NamingEngine::drop_holder_names(NodeId node, std::uint32_t below, Time now, Effects& out) {
    for (auto it = table_.begin(); it != table_.end();) {
        const Entry& e = it->second;
        const bool stale =
            below == 0 || (e.holder_incarnation != 0 && e.holder_incarnation < below);
        if (e.holder != node || !stale) {
            ++it;
            continue;
        }
        out.trace(now, below == 0 ? "naming_holder_dead" : "probe_naming_holder_restarted",
                  "name=" + it->first + " node=" + to_string(node));
        out.erase(next_token_++, key_of(it->first));
        ++counters_.holder_names_dropped;
        it = table_.erase(it);
    }
}

void NamingEngine::arm_probe(Time now, Effects& out) {
    if (probe_armed_ || holders_.empty()) return;
    probe_armed_ = true;
    out.set_timer(probe_timer, now + options_.probe_interval);
}

// Forgets the holders that hold no name any more: each one left holds one at least, so there
// are no more of them than names (names_max).
void NamingEngine::prune_holders() {
    std::set<NodeId> named;
    for (const auto& [name, e] : table_) named.insert(e.holder);
    std::erase_if(holders_, [&](const auto& kv) { return !named.contains(kv.first); });
}

void NamingEngine::probe_holders(Time now, Effects& out) {
    probe_armed_ = false;
    prune_holders();
    for (auto it = holders_.begin(); it != holders_.end();) {
        const NodeId node = it->first;
        Holder& h = it->second;
        // A restored holder that has not spoken since: its names live out their lease
        // (rule 10), as the server cannot tell where to ask.
        if (!h.contacted) {
            ++it;
            continue;
        }
        if (now - h.heard >= options_.dead_after) {
            ++counters_.holders_dead;
            out.trace(now, "probe_naming_holder_dead", "node=" + to_string(node));
            drop_holder_names(node, 0, now, out);
            it = holders_.erase(it);
            continue;
        }
        if (now - h.heard >= options_.probe_interval) {
            ++counters_.probes;
            ++totals_.packets_sent;
            out.send(node, make_request(Op::probe, self_, node, incarnation_, next_probe_++, {}));
        }
        ++it;
    }
    arm_probe(now, out);
}

// Any node answers a probe at once, with its incarnation; there is nothing to remember.
void NamingEngine::answer_probe(NodeId from, const wire::Packet& probe, Effects& out) {
    ++totals_.packets_sent;
    out.send(from, make_reply(probe, self_, incarnation_, Bytes{}));
}

void NamingEngine::on_probe_reply(NodeId from, const wire::Packet& reply, Time now, Effects& out) {
    if (!options_.server || reply.header.target_incarnation != incarnation_ ||
        reply.header.seq == 0 || reply.header.seq >= next_probe_) {
        ++totals_.duplicates_dropped;
        return;
    }
    (void)touch(from, reply.header.source_incarnation, now, out);
}

}  // namespace herald::proto::naming

// NamingWorkload's checks (docs/naming.md), from the clients' view only: the server applies a
// request somewhere between its start and its end, so each check allows that much.
// Layer: sim.
#include <algorithm>

#include "sim/naming_workload.h"

namespace herald::sim {

using Kind = NamingWorkload::Op::Kind;

namespace {

constexpr Duration in_flight_max = Duration::seconds(2);
constexpr Duration expiry_slack = Duration::milliseconds(500);

std::string describe(const NamingWorkload::Op& op, std::uint64_t id) {
    const std::string_view kind = op.kind == Kind::reg      ? "register"
                                  : op.kind == Kind::lookup ? "lookup"
                                                            : "unregister";
    return std::string(kind) + " #" + std::to_string(id) + " of " + op.name + " at " +
           std::to_string(op.start.ns() / 1'000'000) + "ms";
}

bool ok(const NamingWorkload::Op& op) {
    return op.outcome && *op.outcome == Errc::ok;
}

}  // namespace

// Whether a process of `node` asked to unregister `name` before `before` (any outcome: an
// unknown one may have been applied).
bool NamingWorkload::unregister_from(NodeId node, const std::string& name, Time before) const {
    return std::any_of(ops_.begin(), ops_.end(), [&](const auto& kv) {
        const Op& u = kv.second;
        return u.kind == Kind::unreg && u.name == name && u.start < before &&
               clients_[u.client].pid.node == node;
    });
}

// Uniqueness and no lost registration: P's registration `a` completed ok before `b` started;
// until a's start + lease, unless P's node asked to unregister, the server must still give the
// name to P. `b` is another client's ok registration or a lookup answered by the server.
// A name may also go earlier when P's node restarts, or is silent towards the server for
// dead_after (rule 14): a's server heard P's node when it served a, so not before a.start +
// dead_after unless the node crashed meanwhile.
void NamingWorkload::check_pair(const Op& a, const Op& b, std::vector<Violation>& out) const {
    const Pid p = clients_[a.client].pid;
    const Duration window = std::min(options_.lease, options_.dead_after);
    if (!b.end || !(*a.end < b.start) || !(*b.end < a.start + window)) return;
    if (unregister_from(p.node, a.name, *b.end)) return;
    if (crashed_between(p.node, a.start, *b.end)) return;
    if (b.kind == Kind::reg && ok(b) && clients_[b.client].pid != p) {
        out.push_back({"naming_unique", *b.end,
                       "two owners: " + to_string(clients_[b.client].pid) + " got " + b.name +
                           " while " + to_string(p) + " held it"});
    } else if (b.kind == Kind::lookup && !b.cached && b.outcome &&
               (*b.outcome == Errc::not_found || (ok(b) && b.owner != p))) {
        out.push_back({"naming_lost", *b.end,
                       "lookup of " + b.name + " did not show " + to_string(p) +
                           ", which registered it and did not unregister"});
    }
}

// Lease expiry: a lookup answered by the server that names P, started after every request of
// P for the name (and the last restart of the server before the lookup ended) plus the lease,
// is a name that outlived it.
void NamingWorkload::check_lookup(const Op& l, std::vector<Violation>& out) const {
    if (l.kind != Kind::lookup || l.cached || !ok(l)) return;
    Time last = Time::zero();
    for (const Time s : server_starts_) {
        if (s < *l.end) last = std::max(last, s);  // It may have served l right after that start.
    }
    for (const auto& [id, r] : ops_) {
        if (r.kind != Kind::reg || r.name != l.name || clients_[r.client].pid != l.owner) continue;
        // Unanswered (crash) or given up (unreachable): a copy may still reach the server.
        const bool answered = r.end && r.outcome && *r.outcome != Errc::unreachable;
        last = std::max(last, answered ? *r.end : (r.end ? *r.end : r.start) + in_flight_max);
    }
    if (l.start > last + options_.lease + expiry_slack) {
        out.push_back({"naming_lease", l.start,
                       "lookup of " + l.name + " still showed " + to_string(l.owner) + " " +
                           std::to_string((l.start - last).ms()) + "ms after its last renewal"});
    }
}

bool NamingWorkload::crashed_between(NodeId node, Time from, Time to) const {
    const auto it = crashes_.find(node);
    if (it == crashes_.end()) return false;
    return std::any_of(it->second.begin(), it->second.end(),
                       [&](Time c) { return from <= c && c <= to; });
}

// Rule 14: a lookup answered by the server that names P, although P's node crashed at c after
// registering the name with this server incarnation and P did not register it again since,
// and started more than dead_after + probe_interval (+ packets in flight) after c: the name
// outlived its holder. (A restored holder is exempt: rule 10 keeps its names one lease.)
void NamingWorkload::check_dead_holder(const Op& l, std::vector<Violation>& out) const {
    if (l.kind != Kind::lookup || l.cached || !ok(l)) return;
    const auto crashes = crashes_.find(l.owner.node);
    if (crashes == crashes_.end()) return;
    Time server_start = Time::zero();
    for (const Time s : server_starts_) {
        if (s < *l.end) server_start = std::max(server_start, s);
    }
    std::optional<Time> crash;
    for (const Time c : crashes->second) {
        if (c < l.start) crash = c;
    }
    if (!crash || *crash < server_start) return;
    bool registered_before = false;
    for (const auto& [id, r] : ops_) {
        if (r.kind != Kind::reg || r.name != l.name || clients_[r.client].pid != l.owner) continue;
        if (r.start >= *crash) return;  // Registered again after the crash.
        if (r.start > server_start && ok(r)) registered_before = true;
    }
    if (!registered_before) return;
    const Time deadline = *crash + options_.dead_after + options_.probe_interval + in_flight_max;
    if (l.start > deadline) {
        out.push_back({"naming_dead_holder", l.start,
                       "lookup of " + l.name + " still showed " + to_string(l.owner) + " " +
                           std::to_string((l.start - *crash).ms()) + "ms after its node crashed"});
    }
}

std::vector<Violation> NamingWorkload::check() const {
    std::vector<Violation> out;
    for (const auto& [ida, a] : ops_) {
        check_lookup(a, out);
        check_dead_holder(a, out);
        if (a.kind != Kind::reg || !ok(a)) continue;
        for (const auto& [idb, b] : ops_) {
            if (b.name == a.name && idb != ida) check_pair(a, b, out);
        }
    }
    for (const auto& [id, op] : ops_) {
        if (!op.liveness || !op.outcome) continue;
        const Errc e = *op.outcome;
        if (e != Errc::ok && e != Errc::not_found && e != Errc::already_exists &&
            e != Errc::access_denied && e != Errc::queue_full) {
            out.push_back({"naming_liveness", *op.end,
                           describe(op, id) +
                               " failed after the faults healed: " + std::string(errc_name(e))});
        }
    }
    return out;
}

std::map<std::string, std::uint64_t> NamingWorkload::numbers() const {
    std::map<std::string, std::uint64_t> n;
    for (const auto& [id, op] : ops_) {
        if (!op.outcome) continue;
        ++n[std::string(op.kind == Kind::reg      ? "naming_register_"
                        : op.kind == Kind::lookup ? "naming_lookup_"
                                                  : "naming_unregister_") +
            std::string(errc_name(*op.outcome))];
        if (op.cached) ++n["naming_cache_hits"];
    }
    return n;
}

}  // namespace herald::sim

// PathChecks: return routability before a known node's address changes, without a key.
// Layer: runtime (path_checks.h).
#include "runtime/path_checks.h"

#include "core/memory.h"

namespace herald::runtime {

void PathChecks::challenge(NodeId node, const Check& check, std::vector<Challenge>& out) {
    if (!check.new_confirmed) out.push_back({node, check.claimed, check.cookie_new});
    out.push_back({node, check.known, check.cookie_old});
}

bool PathChecks::on_reply(NodeId node, const Endpoint& from, std::uint64_t seq, Time now) {
    if ((seq & cookie_bit) == 0) return false;
    auto it = checks_.find(node);
    if (it == checks_.end()) return false;
    Check& check = it->second;
    if (seq == check.cookie_new && from == check.claimed) {
        check.new_confirmed = true;
        return true;
    }
    if (seq == check.cookie_old && from == check.known) {
        if (!check.old_alive) {
            check.old_alive = true;  // It lives where it was: the claimant is not it.
            check.refused_at = now;
            ++counters_.refused;
        }
        return true;
    }
    return false;
}

void PathChecks::sweep(Time now) {
    swept_ = now;
    std::erase_if(checks_, [&](const auto& entry) {
        const Check& c = entry.second;
        const Time since = c.old_alive ? c.refused_at : c.started;
        return now - since >= options_.refuse_for;
    });
}

std::size_t PathChecks::memory_bytes() const {
    std::size_t bytes = 0;
    for (const auto& [node, check] : checks_) {
        bytes += memory::map_node(sizeof(std::pair<const NodeId, Check>)) +
                 memory::heap(check.claimed.host) + memory::heap(check.known.host) +
                 memory::heap(check.claimed.path) + memory::heap(check.known.path);
    }
    return bytes;
}

}  // namespace herald::runtime

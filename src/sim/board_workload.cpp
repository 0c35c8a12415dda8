// BoardWorkload implementation. Layer: sim.
#include "sim/board_workload.h"

#include <algorithm>

#include "core/assert.h"
#include "proto/mailbox/mailbox_engine.h"
#include "sim/rpc_workload.h"

namespace herald::sim {

using proto::mailbox::Durability;
using proto::mailbox::MailboxEngine;

namespace {
constexpr std::string_view board_names[2] = {"bp", "bt"};
}  // namespace

BoardWorkload::BoardWorkload(Simulation& sim, std::size_t slot, const BoardWorkloadOptions& options,
                             Random random)
    : sim_(sim), slot_(slot), options_(options), random_(random) {
    const std::size_t nodes = sim.node_count();
    for (std::uint32_t i = 0; i < options.posters; ++i) {
        const std::uint64_t node = nodes == 1 ? 1 : 2 + i % (nodes - 1);
        processes_.push_back(Process{Pid{NodeId{node}, 200 + i}, true});
    }
    for (std::uint32_t i = 0; i < options.readers; ++i) {
        processes_.push_back(Process{Pid{NodeId{1 + i % nodes}, 300 + i}, false});
    }
}

std::uint64_t BoardWorkload::record(OpKind kind, std::size_t index) {
    const Pid actor = kind == OpKind::create ? Pid{host_, 2} : processes_[index].pid;
    const OperationRecord r = sim_.new_operation("board", actor, Pid{host_, 1});
    ops_[r.id] = Op{kind, index, 0, 0, host_life_, 0};
    sim_.history().start(r);
    return r.id;
}

void BoardWorkload::create_boards(SimNode& node) {
    // The persistent board comes back from disk after a restart (already_exists then).
    for (const int board : {0, 1}) {
        const auto op = record(OpKind::create, 0);
        proto::mailbox::MailboxSpec spec;
        spec.name = std::string(board_names[board]);
        spec.durability = board == 0 ? Durability::persistent : Durability::transient;
        spec.capacity_messages = options_.keep;
        spec.board = true;
        spec.retain_ms = board == 0 ? 0 : options_.transient_retain_ms;
        node.command<MailboxEngine>(
            slot_, [&](auto& e, proto::Effects& out) { e.on_create(op, spec, sim_.now(), out); });
    }
}

void BoardWorkload::on_node_started(SimNode& node) {
    if (node.id() == host_) {
        ++host_life_;
        sim_.queue().schedule(sim_.now(), [this, &node] {
            if (node.up()) create_boards(node);
        });
    }
    for (std::size_t i = 0; i < processes_.size(); ++i) {
        Process& p = processes_[i];
        if (p.pid.node != node.id()) continue;
        ++p.life;
        p.alive = true;
        p.busy = false;
        schedule(i, uniform(Duration::zero(), Duration::milliseconds(100)));
    }
}

void BoardWorkload::on_node_crashed(SimNode& node) {
    if (node.id() == host_) {
        ++host_life_;
        // The transient board is gone: a new one starts at seq 1 for every reader.
        for (auto& p : processes_) {
            p.last[1] = 0;
            p.named[1] = true;
        }
    }
    for (auto& p : processes_) {
        if (p.pid.node != node.id()) continue;
        ++p.life;
        p.alive = false;
        p.busy = false;
        p.named[0] = p.named[1] = true;  // Its reads in flight may have moved the cursors.
    }
    for (auto it = ops_.begin(); it != ops_.end();) {
        const bool gone = it->second.kind == OpKind::create
                              ? node.id() == host_
                              : processes_[it->second.process].pid.node == node.id();
        if (gone && it->second.kind == OpKind::post) --posts_unfinished_;
        it = gone ? ops_.erase(it) : std::next(it);
    }
}

void BoardWorkload::on_delivered(SimNode& /*node*/, const Message& /*message*/) {
    HERALD_ASSERT(false);  // Boards deliver nothing to processes: reads complete operations.
}

Duration BoardWorkload::uniform(Duration low, Duration high) {
    if (high <= low) return low;
    return low + Duration::nanoseconds(static_cast<std::int64_t>(
                     random_.below(static_cast<std::uint64_t>((high - low).ns()))));
}

void BoardWorkload::schedule(std::size_t index, Duration delay) {
    sim_.queue().schedule(sim_.now() + delay,
                          [this, index, life = processes_[index].life] { step(index, life); });
}

void BoardWorkload::step(std::size_t index, std::uint64_t life) {
    Process& p = processes_[index];
    if (!p.alive || p.life != life || p.busy) return;
    if (!p.poster) {
        if (liveness_ && done()) return;  // Fall quiet (checker "quiet").
        return start_read(index);
    }
    const bool more =
        liveness_ ? p.posted_liveness < options_.liveness_posts : p.posted < options_.posts;
    if (!more) return;
    ++(liveness_ ? p.posted_liveness : p.posted);
    start_post(index);
}

void BoardWorkload::start_post(std::size_t index) {
    Process& p = processes_[index];
    const auto op = record(OpKind::post, index);
    Op& o = ops_[op];
    o.payload = next_payload_++;
    o.board = random_.chance(0.6) ? 0 : 1;
    ++posts_unfinished_;
    p.busy = true;
    sim_.node(p.pid.node).command<MailboxEngine>(slot_, [&](auto& e, proto::Effects& out) {
        e.on_send(op, p.pid, host_, board_names[o.board], tag_body(o.payload), sim_.now(), out);
    });
}

// Reads at the cursor, or from the last seq + 1 when the host's cursor may be ahead of what
// this reader saw (its first read, or after a failed one: B8).
void BoardWorkload::start_read(std::size_t index) {
    Process& p = processes_[index];
    const int board = liveness_ || random_.chance(0.6) ? 0 : 1;
    const auto op = record(OpKind::read, index);
    Op& o = ops_[op];
    o.board = board;
    o.from = p.named[board] ? p.last[board] + 1 : 0;
    const auto count = static_cast<std::uint32_t>(1 + random_.below(4));
    const auto wait = uniform(Duration::zero(), Duration::milliseconds(400));
    p.busy = true;
    sim_.node(p.pid.node).command<MailboxEngine>(slot_, [&](auto& e, proto::Effects& out) {
        e.on_read(op, p.pid, host_, board_names[board], o.from, count, wait, sim_.now(), out);
    });
}

void BoardWorkload::on_completed(SimNode& /*node*/, const proto::CompleteEffect& c) {
    const Errc outcome = c.result ? Errc::ok : c.result.error().code;
    sim_.history().complete(c.op, sim_.now(), outcome);
    const auto it = ops_.find(c.op);
    if (it == ops_.end()) return;
    const Op op = it->second;
    ops_.erase(it);
    if (op.kind == OpKind::create) return;
    processes_[op.process].busy = false;
    if (op.kind == OpKind::post) on_posted(op, c.result);
    if (op.kind == OpKind::read) on_read(op, c.result);
    schedule(op.process,
             uniform(Duration::zero(), Duration::milliseconds(op.kind == OpKind::read ? 120 : 60)));
}

void BoardWorkload::on_posted(const Op& op, const Result<Bytes>& result) {
    --posts_unfinished_;
    if (!result) return;  // Refused, or outcome unknown: either way never counted as acked.
    std::uint64_t seq = 0;
    std::size_t offset = 0;
    if (!proto::get_u64(*result, offset, seq) || seq == 0) {
        ++bad_results_;
        return;
    }
    // A transient post answered by a host life that has ended since is not checked.
    if (op.board == 1 && op.host_life != host_life_) return;
    ++posts_ok_;
    const SeqKey key{op.board, life_of(op.board), seq};
    auto [at, fresh] = acked_.emplace(key, op.payload);
    if (!fresh && at->second != op.payload) ++mismatched_;  // Two posts with one seq.
}

void BoardWorkload::on_read(const Op& op, const Result<Bytes>& result) {
    Process& p = processes_[op.process];
    const int b = op.board;
    if (!result) {
        if (result.error().code == Errc::peer_restarted) ++peer_restarted_;
        if (result.error().code != Errc::timeout) p.named[b] = true;
        return;
    }
    // A transient read that a host life ended during: its seqs are of another board.
    if (b == 1 && op.host_life != host_life_) return;
    auto batch = proto::mailbox::decode_batch(*result);
    if (!batch || batch->posts.empty()) {
        ++bad_results_;
        return;
    }
    ++reads_ok_;
    missed_total_ += batch->missed;
    const std::uint64_t life = life_of(b);
    std::uint64_t low = p.last[b];
    std::uint64_t missed = batch->missed;
    for (const auto& post : batch->posts) {
        if (post.seq <= low) ++not_increasing_;
        if (post.seq > low + 1) gaps_.push_back(Gap{{b, life, low}, post.seq, missed});
        missed = 0;  // Only the gap before the first post may be covered by `missed`.
        low = std::max(low, post.seq);
        const auto payload = tag_of(post.body);
        if (++seen_[{op.process, payload}] > 1) ++twice_;
        auto [at, fresh] = read_.emplace(SeqKey{b, life, post.seq}, payload);
        if (!fresh && at->second != payload) ++mismatched_;
    }
    if (batch->cursor != low + 1) ++wrong_cursor_;
    p.last[b] = low;
    p.named[b] = false;
}

void BoardWorkload::begin_liveness() {
    liveness_ = true;
    for (std::size_t i = 0; i < processes_.size(); ++i) schedule(i, Duration::zero());
}

std::uint64_t BoardWorkload::max_acked_persistent() const {
    std::uint64_t top = 0;
    for (const auto& [key, payload] : acked_) {
        if (std::get<0>(key) == 0) top = std::max(top, std::get<2>(key));
    }
    return top;
}

bool BoardWorkload::done() const {
    for (const auto& p : processes_) {
        if (p.poster && (p.busy || p.posted_liveness < options_.liveness_posts)) return false;
    }
    if (posts_unfinished_ > 0) return false;
    const auto top = max_acked_persistent();
    return std::all_of(processes_.begin(), processes_.end(),
                       [top](const Process& p) { return p.poster || p.last[0] >= top; });
}

std::string BoardWorkload::outstanding() const {
    std::string text;
    const auto top = max_acked_persistent();
    for (const auto& p : processes_) {
        if (!p.poster && p.last[0] < top) {
            text += " reader " + to_string(p.pid) + " at " + std::to_string(p.last[0]) + " of " +
                    std::to_string(top);
        }
    }
    if (posts_unfinished_ > 0) text += " posts unfinished: " + std::to_string(posts_unfinished_);
    return text;
}

// An acknowledged persistent post is still on the host's disk, or at or below its eviction
// frontier there (B7, B9).
bool BoardWorkload::retained_or_evicted(std::uint64_t seq) const {
    const auto& disk = sim_.node(host_).disk();
    if (disk.contains(proto::mailbox::post_key(board_names[0], seq))) return true;
    auto frontier = disk.find(proto::mailbox::evicted_key(board_names[0]));
    std::uint64_t evicted = 0;
    std::size_t offset = 0;
    return frontier != disk.end() && proto::get_u64(frontier->second, offset, evicted) &&
           seq <= evicted;
}

std::vector<Violation> BoardWorkload::check() const {
    std::vector<Violation> out;
    const auto at = sim_.now();
    auto add = [&](std::uint64_t n, const std::string& what) {
        if (n > 0) out.push_back({"board", at, std::to_string(n) + " x " + what});
    };
    add(not_increasing_, "a reader got a seq not above the last one it saw");
    add(twice_, "a reader got the same post twice");
    add(mismatched_, "one seq carried two different posts");
    add(bad_results_, "a post or read result that does not decode");
    add(wrong_cursor_, "a read result's cursor is not the seq after its last post");
    std::uint64_t uncovered = 0;
    for (const auto& g : gaps_) {
        const auto [board, life, low] = g.low;
        auto first = acked_.upper_bound({board, life, low});
        const auto last = acked_.lower_bound({board, life, g.high});
        const auto acked = static_cast<std::uint64_t>(std::distance(first, last));
        if (acked > g.missed) ++uncovered;
    }
    add(uncovered, "a reader skipped acknowledged posts it was not told it missed");
    std::uint64_t lost = 0;
    for (const auto& [key, payload] : acked_) {
        if (std::get<0>(key) != 0 || read_.contains(key)) continue;
        if (!retained_or_evicted(std::get<2>(key))) ++lost;
    }
    add(lost, "an acknowledged persistent post was lost");
    return out;
}

std::map<std::string, std::uint64_t> BoardWorkload::numbers() const {
    return {{"board_posts_ok", posts_ok_},
            {"board_reads_ok", reads_ok_},
            {"board_missed", missed_total_},
            {"board_gaps", gaps_.size()},
            {"board_peer_restarted", peer_restarted_}};
}

}  // namespace herald::sim

// BoardWorkload: the bulletin-board part of the "mailbox" scenario (docs/boards.md). Node 1
// hosts a persistent board "bp" and a transient board "bt" (re-created at every start), both
// small so that retention evicts; posters on the other nodes post unique payloads; readers on
// every node read at their cursors (or from their last seq + 1 after a failed read). check()
// states the board promises: per reader, seqs strictly increase, no post twice, every gap is
// covered by the reported `missed`, and no acknowledged persistent post is lost. Layer: sim.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "core/random.h"
#include "sim/checkers.h"
#include "sim/scenario_spec.h"
#include "sim/simulation.h"

namespace herald::sim {

struct BoardWorkloadOptions {
    std::uint32_t posters = 4;                 // Round-robin over nodes 2..N.
    std::uint32_t readers = 3;                 // Round-robin over nodes 1..N.
    std::uint32_t posts = 5;                   // Per poster, safety phase.
    std::uint32_t liveness_posts = 2;          // Per poster, after the faults heal.
    std::uint32_t keep = 6;                    // Retention by count of both boards.
    std::uint64_t transient_retain_ms = 1500;  // The transient board's retention by age.
};

class BoardWorkload final : public ScenarioWorkload {
public:
    BoardWorkload(Simulation& sim, std::size_t slot, const BoardWorkloadOptions& options,
                  Random random);

    void on_node_started(SimNode& node) override;
    void on_node_crashed(SimNode& node) override;
    void on_delivered(SimNode& node, const Message& message) override;
    void on_completed(SimNode& node, const proto::CompleteEffect& completion) override;

    [[nodiscard]] std::string_view operation_kind() const override { return "board"; }
    void begin_liveness() override;
    // Every post finished and every reader has read up to the highest acknowledged
    // persistent post.
    [[nodiscard]] bool done() const override;
    [[nodiscard]] std::string outstanding() const override;
    [[nodiscard]] std::vector<Violation> check() const override;
    [[nodiscard]] std::map<std::string, std::uint64_t> numbers() const override;

private:
    enum class OpKind : std::uint8_t { create, post, read };
    struct Process {
        Pid pid;
        bool poster = false;
        std::uint64_t life = 0;
        bool alive = false;
        bool busy = false;
        std::uint32_t posted = 0, posted_liveness = 0;
        // Reader, per board (0: persistent, 1: transient): the last seq seen, and whether the
        // next read names its start (after a failed read the host cursor may be ahead).
        std::uint64_t last[2] = {0, 0};
        bool named[2] = {true, true};
    };
    struct Op {
        OpKind kind = OpKind::post;
        std::size_t process = 0;
        std::uint64_t payload = 0;
        int board = 0;
        std::uint64_t host_life = 0;  // The host's life when it started.
        std::uint64_t from = 0;       // Read: the seq it named (0: the cursor).
    };
    // A board's posts as one host life saw them (the persistent board's life is always 0).
    using SeqKey = std::tuple<int, std::uint64_t, std::uint64_t>;  // (board, life, seq).
    struct Gap {  // Seqs in (low, high) a reader skipped, and what the host said it missed.
        SeqKey low;
        std::uint64_t high = 0;
        std::uint64_t missed = 0;
    };

    void schedule(std::size_t index, Duration delay);
    void step(std::size_t index, std::uint64_t life);
    void start_post(std::size_t index);
    void start_read(std::size_t index);
    std::uint64_t record(OpKind kind, std::size_t index);
    void on_posted(const Op& op, const Result<Bytes>& result);
    void on_read(const Op& op, const Result<Bytes>& result);
    void create_boards(SimNode& node);
    [[nodiscard]] std::uint64_t life_of(int board) const { return board == 0 ? 0 : host_life_; }
    [[nodiscard]] Duration uniform(Duration low, Duration high);
    [[nodiscard]] std::uint64_t max_acked_persistent() const;
    [[nodiscard]] bool retained_or_evicted(std::uint64_t seq) const;

    Simulation& sim_;
    std::size_t slot_;
    BoardWorkloadOptions options_;
    Random random_;
    NodeId host_{1};
    std::uint64_t host_life_ = 0;  // Changes when the host starts or crashes.
    std::vector<Process> processes_;
    std::map<std::uint64_t, Op> ops_;
    std::uint64_t next_payload_ = 1;
    std::uint32_t posts_unfinished_ = 0;
    std::map<SeqKey, std::uint64_t> acked_;                      // Seq -> payload, from accepts.
    std::map<SeqKey, std::uint64_t> read_;                       // Seq -> payload, from reads.
    std::map<std::pair<std::size_t, std::uint64_t>, int> seen_;  // (reader, payload) -> count.
    std::vector<Gap> gaps_;
    std::uint64_t not_increasing_ = 0, twice_ = 0, mismatched_ = 0, bad_results_ = 0;
    std::uint64_t wrong_cursor_ = 0;
    std::uint64_t reads_ok_ = 0, missed_total_ = 0, posts_ok_ = 0, peer_restarted_ = 0;
    bool liveness_ = false;
};

}  // namespace herald::sim

// StoreWriter: a Node's durable store (store::Store, SQLite) on a thread of its own, so that
// commits (an fsync each with Sync::full) never stall the node's loop thread. Batches queued
// while a commit runs are merged into the next one (group commit): one transaction, all or
// none, in queue order. Layer: runtime.
// Bound: the queue is not bounded here; what fills it is bounded upstream (the RPC engine writes
// a few records per reply-cache entry, and the cache has cache_entries_max entries).
// Buffers: the writer keeps the key and value buffers of committed writes (at most
// store_kept_writes slots, each buffer at most store_kept_bytes) and a queued write swaps its
// buffers with a kept slot's, so the buffers a queuer allocates are freed or reused on the
// queuer's thread (the loop's, which keeps them for the engines' next records:
// proto::Effects::record_key), not on the writer's: no block crosses threads in steady state.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "store/store.h"

namespace herald::runtime {

// How long the writer thread polls for the next batch after a commit before it sleeps. At one
// blocking sender the next batch comes one round trip (loop, sender thread, loop) after the
// commit, 30-80 us here; waking a sleeping writer from the loop costs a futex call there and
// an idle vCPU's wake-up here (docs/performance.md, "Persistent mailboxes"). Under load the
// next batch is queued before the commit ends and the poll ends at once. The cost: up to this
// much CPU per commit when no batch follows.
inline constexpr std::chrono::microseconds store_poll{100};

// The kept write slots (see above): a commit's slots beyond this many are freed on the writer
// thread, and so is a kept buffer whose capacity exceeds store_kept_bytes (a large value is not
// held once written). At most store_kept_writes * 2 * store_kept_bytes (8 MiB) held per writer
// side (the queue's and the committing one's).
inline constexpr std::size_t store_kept_writes = 1024;
inline constexpr std::size_t store_kept_bytes = 4096;

// A blocking caller that the store writer answers itself, with an empty body, once the batch
// that decides its outcome is durable (docs/mailboxes.md "Completion of a persistent send"):
// one hop from the writer to the caller instead of two through the loop. `ticket` names the
// call: answer_durable completes the call only if it is still waiting for that ticket (the loop
// may have answered it first, e.g. `closed` at a stop), and the loop's own completion of it
// then finds it answered. Implementations outlive the writer's thread.
class DurableWaiter {
public:
    virtual void answer_durable(std::uint64_t ticket) = 0;

protected:
    ~DurableWaiter() = default;
};
struct DurableAnswer {
    DurableWaiter* waiter = nullptr;  // None: the loop answers (on_committed).
    std::uint64_t ticket = 0;
};

class StoreWriter {
public:
    // Runs on the writer thread when a commit ended and no call of it is waiting for the loop
    // yet: the loop is to call take_committed(), which takes every commit reported until then
    // (one loop task for many commits; no allocation for the report).
    using Committed = std::function<void()>;
    // A commit's outcome for the batches it held (Errc::storage_error when it failed: none of
    // them is on disk): `batches` tokens of take_committed's list, in queue order.
    struct Commit {
        std::size_t batches = 0;
        Status status;
    };

    // Takes an open store; starts the writer thread, which polls for `poll` after each commit
    // before it sleeps (0: sleeps at once).
    StoreWriter(store::Store store, Committed committed,
                std::chrono::microseconds poll = store_poll);
    ~StoreWriter();  // stop() and join().
    StoreWriter(const StoreWriter&) = delete;
    StoreWriter& operator=(const StoreWriter&) = delete;

    // Queues one atomic batch (the writes of `token`), taking each from `writes`
    // (an element is left empty or with a kept slot's old buffers, see below). Any thread.
    // Dropped once stopped. When the commit that holds it succeeds, the writer reports it
    // (Committed) and only then answers `answer` (so a loop task that `committed` posts is
    // queued before the caller wakes); a failed commit answers nothing (the loop does, from
    // what it takes).
    void write(std::span<store::Write> writes, std::uint64_t token, DurableAnswer answer = {});
    void write(std::vector<store::Write> writes, std::uint64_t token, DurableAnswer answer = {}) {
        write(std::span<store::Write>(writes), token, answer);
    }
    // The same, each write made by `to_write(part)` from an element of `parts` (no vector of
    // writes in between); `to_write` may return a store::Write, or a reference to one or to
    // anything with its members `key`, `value` and `erase` (proto::PersistEffect). A write
    // that fills a kept slot gets that slot's old buffers in exchange (the span's elements, or
    // `to_write`'s result: a part returned by reference holds them after the call), freed or
    // reused on the caller's thread.
    template <class Parts, class ToWrite>
    void write(Parts&& parts, ToWrite&& to_write, std::uint64_t token, DurableAnswer answer) {
        std::unique_lock lock(mutex_);
        if (stopped_) return;
        const std::size_t first = queued_writes_;
        for (auto& part : parts) {
            auto&& write = to_write(part);  // A write, or a reference to one (see above).
            enqueue(write.key, write.value, write.erase);
        }
        queued(lock, first, token, answer);
    }

    // The commits reported since the last call: swaps `commits` and `tokens` (which must be
    // empty; their capacity is kept for the next report) with the writer's. Any thread (the
    // loop's).
    void take_committed(std::vector<Commit>& commits, std::vector<std::uint64_t>& tokens);

    // Every record under `prefix`, read on the writer thread after the writes queued before the
    // call. Blocks. Errc::storage_error (from the store), Errc::closed (stopped). Not on the
    // writer thread.
    [[nodiscard]] Result<std::vector<store::Record>> read(std::string prefix);

    // Commits what is queued, then ends the thread. Any thread; idempotent.
    void stop();
    // Waits for the thread to end, then closes the store file (releasing its lock). Idempotent.
    void join();

    struct Counters {
        std::uint64_t commits = 0, batches = 0, writes = 0, errors = 0;
        std::uint64_t polled = 0;  // Commits whose batches the poll found (no sleep, no wake).
        std::uint64_t reused = 0;  // Writes queued into a kept slot (their buffers swapped).
    };
    [[nodiscard]] Counters counters() const;
    [[nodiscard]] const std::string& path() const { return path_; }

private:
    struct Batch {
        std::size_t writes = 0;  // The next this many of the queued writes.
        std::uint64_t token = 0;
        DurableAnswer answer;
    };
    struct Read {
        std::string prefix;
        std::promise<Result<std::vector<store::Record>>> done;
    };
    // With mutex_ held: queues a write into the next kept slot (swapping buffers: the slot's old
    // ones leave in `key` and `value`, on the caller's thread) or a new one.
    void enqueue(std::string& key, Bytes& value, bool erase);
    // With mutex_ held: the writes from `first` on form the batch of `token`.
    void queued(std::unique_lock<std::mutex>& lock, std::size_t first, std::uint64_t token,
                DurableAnswer answer);
    void run();
    // After a commit: true when work came within poll_, false when the time ran out.
    [[nodiscard]] bool poll() const;
    void commit(bool polled);
    // After a commit: trims the taken slots to the bounds (store_kept_writes, store_kept_bytes).
    void keep_slots();

    store::Store store_;  // Writer thread only (after the constructor).
    const std::string path_;
    Committed committed_;
    const std::chrono::microseconds poll_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    // Guarded by mutex_: what is queued (every batch's writes in one vector, in queue order: the
    // first queued_writes_ slots; the rest are kept slots), the reads, and the commits reported
    // that the loop has not taken.
    std::vector<store::Write> writes_;
    std::size_t queued_writes_ = 0;
    std::vector<Batch> batches_;
    std::deque<std::unique_ptr<Read>> reads_;
    std::vector<Commit> commits_;
    std::vector<std::uint64_t> tokens_;
    bool reported_ = false;  // Committed ran; the loop has not taken since.
    bool stopped_ = false;
    bool sleeping_ = false;             // The writer waits on wake_: a queuer must notify.
    std::atomic<bool> pending_{false};  // Work queued (batches, reads or stop): what poll() reads.
    Counters counters_;
    // Writer thread only: what run() took to commit (the first taken_count_ slots), swapped
    // with the queue (capacity and kept slots kept).
    std::vector<store::Write> taken_writes_;
    std::size_t taken_count_ = 0;
    std::vector<Batch> taken_batches_;
    std::thread thread_;
};

}  // namespace herald::runtime

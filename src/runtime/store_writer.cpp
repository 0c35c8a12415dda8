// StoreWriter: group commits of durable batches on a writer thread. Layer: runtime.
#include "runtime/store_writer.h"

#include <algorithm>
#include <utility>

namespace herald::runtime {

StoreWriter::StoreWriter(store::Store store, Committed committed, std::chrono::microseconds poll)
    : store_(std::move(store)),
      path_(store_.path()),
      committed_(std::move(committed)),
      poll_(poll) {
    thread_ = std::thread([this] { run(); });
}

StoreWriter::~StoreWriter() {
    stop();
    join();
}

void StoreWriter::write(std::span<store::Write> writes, std::uint64_t token, DurableAnswer answer) {
    write(
        writes, [](store::Write& write) -> store::Write& { return write; }, token, answer);
}

void StoreWriter::enqueue(std::string& key, Bytes& value, bool erase) {
    if (queued_writes_ < writes_.size()) {
        store::Write& slot = writes_[queued_writes_];
        slot.key.swap(key);
        slot.value.swap(value);
        slot.erase = erase;
        ++counters_.reused;
    } else {
        writes_.push_back(store::Write{std::move(key), std::move(value), erase});
    }
    ++queued_writes_;
}

void StoreWriter::queued(std::unique_lock<std::mutex>& lock, std::size_t first, std::uint64_t token,
                         DurableAnswer answer) {
    batches_.push_back({queued_writes_ - first, token, answer});
    pending_.store(true, std::memory_order_release);
    const bool sleeping = sleeping_;
    lock.unlock();
    if (sleeping) wake_.notify_one();  // A polling writer sees pending_ without a system call.
}

void StoreWriter::take_committed(std::vector<Commit>& commits, std::vector<std::uint64_t>& tokens) {
    commits.clear();
    tokens.clear();
    std::lock_guard lock(mutex_);
    commits.swap(commits_);
    tokens.swap(tokens_);
    reported_ = false;
}

Result<std::vector<store::Record>> StoreWriter::read(std::string prefix) {
    auto request = std::make_unique<Read>();
    request->prefix = std::move(prefix);
    auto future = request->done.get_future();
    {
        std::lock_guard lock(mutex_);
        if (stopped_) return fail(Errc::closed, "the node's store is closed");
        reads_.push_back(std::move(request));
        pending_.store(true, std::memory_order_release);
    }
    wake_.notify_one();
    return future.get();
}

void StoreWriter::stop() {
    {
        std::lock_guard lock(mutex_);
        stopped_ = true;
        pending_.store(true, std::memory_order_release);
    }
    wake_.notify_one();
}

void StoreWriter::join() {
    if (!thread_.joinable()) return;
    thread_.join();
    // Close the file now, not when the last holder of the node lets go: a node stopped while
    // Process handles still hold it must release its data_dir's lock, so that it can restart.
    [[maybe_unused]] store::Store closed = std::move(store_);
}

StoreWriter::Counters StoreWriter::counters() const {
    std::lock_guard lock(mutex_);
    return counters_;
}

void StoreWriter::run() {
    bool committed = false;  // Poll only after a commit: the next batch often follows it.
    std::deque<std::unique_ptr<Read>> reads;
    for (;;) {
        const bool polled = committed && poll_.count() > 0 && poll();
        bool stopping = false;
        {
            std::unique_lock lock(mutex_);
            sleeping_ = true;
            wake_.wait(lock, [this] { return stopped_ || !batches_.empty() || !reads_.empty(); });
            sleeping_ = false;
            pending_.store(false, std::memory_order_relaxed);
            // Swapped, not moved: both sides keep their capacity (no allocation per commit).
            taken_writes_.swap(writes_);
            taken_count_ = std::exchange(queued_writes_, 0);
            taken_batches_.swap(batches_);
            if (!reads_.empty()) reads.swap(reads_);
            stopping = stopped_;
        }
        committed = !taken_batches_.empty();
        if (committed) commit(polled);
        for (auto& request : reads) request->done.set_value(store_.scan(request->prefix));
        reads.clear();
        if (stopping) return;  // Writes queued before stop() were committed above.
    }
}

void StoreWriter::keep_slots() {
    // The slots stay for the next queue (their buffers go back to the queuer by swap); only what
    // exceeds the bounds is freed here.
    if (taken_writes_.size() > store_kept_writes) taken_writes_.resize(store_kept_writes);
    const std::size_t used = std::min(taken_count_, taken_writes_.size());
    for (std::size_t i = 0; i < used; ++i) {
        store::Write& slot = taken_writes_[i];
        if (slot.key.capacity() > store_kept_bytes) std::string().swap(slot.key);
        if (slot.value.capacity() > store_kept_bytes) Bytes().swap(slot.value);
    }
    taken_count_ = 0;
}

bool StoreWriter::poll() const {
    const auto end = std::chrono::steady_clock::now() + poll_;
    for (unsigned i = 0; !pending_.load(std::memory_order_acquire); ++i) {
        // Yield, not spin: on a machine with as many threads ready as cores, the loop and the
        // sender threads this writer waits for get the core; on an idle one yield returns at
        // once and the core does not go idle (an idle vCPU's wake-up is what the poll saves).
        std::this_thread::yield();
        if (i % 8 == 7 && std::chrono::steady_clock::now() >= end) return false;
    }
    return true;
}

void StoreWriter::commit(bool polled) {
    // One transaction for every batch: each batch stays atomic, and their order is kept.
    const std::span<const store::Write> writes(taken_writes_.data(), taken_count_);
    Status status = store_.apply(writes);
    const bool durable = status.has_value();
    bool report = false;
    {
        std::lock_guard lock(mutex_);
        ++counters_.commits;
        counters_.batches += taken_batches_.size();
        counters_.writes += taken_count_;
        if (!durable) ++counters_.errors;
        if (polled) ++counters_.polled;
        for (const Batch& batch : taken_batches_) tokens_.push_back(batch.token);
        commits_.push_back({taken_batches_.size(), std::move(status)});
        report = !reported_;
        reported_ = true;
    }
    keep_slots();
    // A loop task that takes this commit is queued by now (this report, or one before it that
    // the loop has not taken yet): whatever a caller does next runs after it.
    if (report) committed_();
    if (durable) {  // M6: after a failed commit the loop answers storage_error (the engine).
        for (const Batch& batch : taken_batches_) {
            if (batch.answer.waiter != nullptr) {
                batch.answer.waiter->answer_durable(batch.answer.ticket);
            }
        }
    }
    taken_batches_.clear();
}

}  // namespace herald::runtime

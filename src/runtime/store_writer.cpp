// StoreWriter: group commits of durable batches on a writer thread. Layer: runtime.
#include "runtime/store_writer.h"

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

void StoreWriter::write(std::vector<store::Write> writes, std::uint64_t token,
                        DurableAnswer answer) {
    bool sleeping = false;
    {
        std::lock_guard lock(mutex_);
        if (stopped_) return;
        batches_.push_back({std::move(writes), token, answer});
        pending_.store(true, std::memory_order_release);
        sleeping = sleeping_;
    }
    if (sleeping) wake_.notify_one();  // A polling writer sees pending_ without a system call.
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
    for (;;) {
        const bool polled = committed && poll_.count() > 0 && poll();
        std::deque<Batch> batches;
        std::deque<std::unique_ptr<Read>> reads;
        bool stopping = false;
        {
            std::unique_lock lock(mutex_);
            sleeping_ = true;
            wake_.wait(lock, [this] { return stopped_ || !batches_.empty() || !reads_.empty(); });
            sleeping_ = false;
            pending_.store(false, std::memory_order_relaxed);
            batches.swap(batches_);
            reads.swap(reads_);
            stopping = stopped_;
        }
        committed = !batches.empty();
        if (committed) commit(std::move(batches), polled);
        for (auto& request : reads) request->done.set_value(store_.scan(request->prefix));
        if (stopping) return;  // Writes queued before stop() were committed above.
    }
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

void StoreWriter::commit(std::deque<Batch> batches, bool polled) {
    std::vector<store::Write> writes;
    std::vector<std::uint64_t> tokens;
    tokens.reserve(batches.size());
    for (auto& batch : batches) {
        for (auto& write : batch.writes) writes.push_back(std::move(write));
        tokens.push_back(batch.token);
    }
    // One transaction for every batch: each batch stays atomic, and their order is kept.
    Status status = store_.apply(writes);
    {
        std::lock_guard lock(mutex_);
        ++counters_.commits;
        counters_.batches += tokens.size();
        counters_.writes += writes.size();
        if (!status) ++counters_.errors;
        if (polled) ++counters_.polled;
    }
    const bool durable = status.has_value();
    committed_(std::move(tokens), std::move(status));
    if (!durable) return;  // M6: the loop answers storage_error through the engine.
    // After committed_ posted the loop's task: whatever a caller does next runs after it.
    for (const auto& batch : batches) {
        if (batch.answer.waiter != nullptr)
            batch.answer.waiter->answer_durable(batch.answer.ticket);
    }
}

}  // namespace herald::runtime

// HandlerPool: worker threads with a bounded FIFO of jobs. Layer: runtime.
#include "runtime/handler_pool.h"

#include <algorithm>

#include "core/assert.h"

namespace herald::runtime {

HandlerPool::HandlerPool(std::uint32_t threads, std::size_t jobs_max) : jobs_max_(jobs_max) {
    HERALD_ASSERT(threads >= 1);
    threads_.reserve(threads);
    for (std::uint32_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
    for (const auto& thread : threads_) ids_.push_back(thread.get_id());
}

HandlerPool::~HandlerPool() {
    stop();
    join();
}

bool HandlerPool::submit(std::function<void()> job) {
    {
        std::lock_guard lock(mutex_);
        if (stopped_ || jobs_.size() >= jobs_max_) return false;
        jobs_.push_back(std::move(job));
    }
    wake_.notify_one();
    return true;
}

void HandlerPool::stop() {
    std::deque<std::function<void()>> dropped;
    {
        std::lock_guard lock(mutex_);
        stopped_ = true;
        dropped.swap(jobs_);
    }
    wake_.notify_all();
    // `dropped` is destroyed here, outside the lock: a job's captures may take locks of their own.
}

void HandlerPool::join() {
    const auto self = std::this_thread::get_id();
    for (auto& thread : threads_) {
        if (!thread.joinable()) continue;
        if (thread.get_id() == self) {
            thread.detach();  // A handler stopped its own node: it ends after returning.
        } else {
            thread.join();
        }
    }
}

bool HandlerPool::in_worker_thread() const {
    const auto self = std::this_thread::get_id();
    return std::find(ids_.begin(), ids_.end(), self) != ids_.end();
}

std::size_t HandlerPool::queued() const {
    std::lock_guard lock(mutex_);
    return jobs_.size();
}

void HandlerPool::run() {
    for (;;) {
        std::function<void()> job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopped_ || !jobs_.empty(); });
            if (stopped_) return;
            job = std::move(jobs_.front());
            jobs_.pop_front();
        }
        job();
    }
}

}  // namespace herald::runtime

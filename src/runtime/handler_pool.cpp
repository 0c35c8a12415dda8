// HandlerPool: worker threads with a bounded FIFO of jobs. Layer: runtime.
#include "runtime/handler_pool.h"

#include <algorithm>

#include "core/assert.h"

namespace herald::runtime {

HandlerPool::HandlerPool(std::uint32_t threads, std::size_t jobs_max)
    : shared_(std::make_shared<Shared>(jobs_max)) {
    HERALD_ASSERT(threads >= 1);
    threads_.reserve(threads);
    for (std::uint32_t i = 0; i < threads; ++i) {
        threads_.emplace_back([shared = shared_] { run(shared); });
    }
    for (const auto& thread : threads_) ids_.push_back(thread.get_id());
}

HandlerPool::~HandlerPool() {
    stop();
    join();
}

bool HandlerPool::submit(std::function<void()> job) {
    {
        std::lock_guard lock(shared_->mutex);
        if (shared_->stopped || shared_->jobs.size() >= shared_->jobs_max) return false;
        shared_->jobs.push_back(std::move(job));
    }
    shared_->wake.notify_one();
    return true;
}

bool HandlerPool::submit_held(std::function<void()> job) {
    std::lock_guard lock(shared_->mutex);
    if (shared_->stopped || shared_->jobs.size() >= shared_->jobs_max) return false;
    shared_->jobs.push_back(std::move(job));
    return true;
}

void HandlerPool::release() {
    std::size_t wakes = 0;
    {
        std::lock_guard lock(shared_->mutex);
        wakes = std::min(shared_->sleeping, shared_->jobs.size());
    }
    // A worker woken but not yet running still counts as sleeping: a second release() before
    // it runs may wake one more than needed, never fewer.
    for (std::size_t i = 0; i < wakes; ++i) shared_->wake.notify_one();
}

void HandlerPool::stop() {
    std::deque<std::function<void()>> dropped;
    {
        std::lock_guard lock(shared_->mutex);
        shared_->stopped = true;
        dropped.swap(shared_->jobs);
    }
    shared_->wake.notify_all();
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
    std::lock_guard lock(shared_->mutex);
    return shared_->jobs.size();
}

std::size_t HandlerPool::sleeping() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->sleeping;
}

void HandlerPool::run(const std::shared_ptr<Shared>& shared) {
    for (;;) {
        std::function<void()> job;
        {
            std::unique_lock lock(shared->mutex);
            while (!shared->stopped && shared->jobs.empty()) {
                ++shared->sleeping;
                shared->wake.wait(lock);
                --shared->sleeping;
            }
            if (shared->stopped) return;
            job = std::move(shared->jobs.front());
            shared->jobs.pop_front();
        }
        job();
    }
}

}  // namespace herald::runtime

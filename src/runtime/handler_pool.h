// HandlerPool: the threads that run RPC handlers for a Node, so that a slow handler never
// stalls the node's loop thread and a server can run many requests at once. Layer: runtime.
// Bound: at most `jobs_max` jobs queued (not yet started); submit() refuses beyond it. The Node
// sizes it to the RPC engine's executions_max, which already refuses requests beyond that
// (rpc_nack queue_full, retried by the client), so a refusal here cannot happen in practice.
// Wake-ups: submit() wakes a sleeping worker per job; submit_held() queues without waking, and
// release() then wakes as many sleeping workers as jobs wait (at most), so a loop batch of
// requests costs a few futex wake-ups instead of one per request.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace herald::runtime {

class HandlerPool {
public:
    // Starts `threads` (>= 1) worker threads.
    HandlerPool(std::uint32_t threads, std::size_t jobs_max);
    ~HandlerPool();  // stop() and join().
    HandlerPool(const HandlerPool&) = delete;
    HandlerPool& operator=(const HandlerPool&) = delete;

    // Queues `job` for a worker thread. False (and `job` is dropped) when jobs_max jobs are
    // queued or the pool is stopped. Any thread.
    [[nodiscard]] bool submit(std::function<void()> job);
    // As submit(), but wakes no worker: the caller calls release() before it waits for
    // anything (a worker already awake may take the job meanwhile). Any thread.
    [[nodiscard]] bool submit_held(std::function<void()> job);
    // Wakes min(sleeping workers, queued jobs) workers. Any thread; cheap when nothing waits.
    void release();

    // Refuses further jobs and drops the queued ones; running jobs finish. Any thread;
    // idempotent.
    void stop();
    // Waits for the worker threads to end (after stop()). A worker that calls it (a handler
    // that stops its own node) is detached instead of joined. Idempotent.
    void join();

    // True on one of this pool's worker threads.
    [[nodiscard]] bool in_worker_thread() const;

    [[nodiscard]] std::size_t queued() const;
    // Workers waiting for a job now (a snapshot). Any thread.
    [[nodiscard]] std::size_t sleeping() const;

private:
    // Shared with the worker threads, so that a worker detached by join() (a handler that
    // stopped its own node) may outlive the pool object.
    struct Shared {
        explicit Shared(std::size_t max) : jobs_max(max) {}
        const std::size_t jobs_max;
        std::mutex mutex;
        std::condition_variable wake;
        std::deque<std::function<void()>> jobs;
        std::size_t sleeping = 0;  // Workers waiting on `wake`.
        bool stopped = false;
    };
    static void run(const std::shared_ptr<Shared>& shared);

    std::shared_ptr<Shared> shared_;
    std::vector<std::thread> threads_;
    std::vector<std::thread::id> ids_;  // Fixed after the constructor: read by any thread.
};

}  // namespace herald::runtime

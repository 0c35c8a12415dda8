// ProcessState: a hosted process's inbox shared by the loop thread and its application thread.
// Layer: runtime.
#include "runtime/node_process.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

namespace herald::runtime {

namespace {

bool matches(const Message& message, std::span<const Pid> from) {
    return from.empty() || std::find(from.begin(), from.end(), message.source) != from.end();
}

void signal_fd(int fd) {
    const std::uint64_t one = 1;
    // The only failure is a counter overflow, impossible with writes of 1 that are each
    // followed by a reset before the next.
    [[maybe_unused]] auto n = ::write(fd, &one, sizeof one);
}

void reset_fd(int fd) {
    std::uint64_t value = 0;
    [[maybe_unused]] auto n = ::read(fd, &value, sizeof value);  // EAGAIN when already 0.
}

}  // namespace

ProcessState::ProcessState(Pid pid, std::string name, const proto::direct::ProcessOptions& options)
    : pid_(pid),
      name_(name.empty() ? nullptr : std::make_unique<const std::string>(std::move(name))),
      unbuffered_(options.buffering == proto::direct::Buffering::send_after_receive ||
                  options.buffering == proto::direct::Buffering::send_discard_retry),
      queue_limit_(options.buffering == proto::direct::Buffering::single ? 1
                                                                         : options.queue_limit) {}

ProcessState::~ProcessState() {
    if (event_fd_ >= 0) ::close(event_fd_);
    delete send_ring_.load(std::memory_order_acquire);
}

const std::string& ProcessState::name() const {
    static const std::string none;
    return name_ ? *name_ : none;
}

SendRing& ProcessState::send_ring() {
    SendRing* ring = send_ring_.load(std::memory_order_acquire);
    if (ring != nullptr) return *ring;
    // Two threads may race here only when a program breaks the one-thread rule; one wins.
    auto made = std::make_unique<SendRing>(send_ring_slots_first, send_ring_slots);
    if (send_ring_.compare_exchange_strong(ring, made.get(), std::memory_order_acq_rel)) {
        return *made.release();
    }
    return *ring;
}

bool ProcessState::push(Message message) {
    bool wake = false;
    {
        std::lock_guard lock(mutex_);
        if (closed_.load(std::memory_order_relaxed)) return false;
        if (!queue_) queue_ = std::make_unique<std::deque<Message>>();
        queue_->push_back(std::move(message));
        size_.store(queue_->size(), std::memory_order_release);
        if (queue_->size() == 1 && event_fd_ >= 0) signal_fd(event_fd_);
        wake = waiting_;
    }
    // Notify only a sleeping receiver: a futex wake per message would cost a system call.
    if (wake) ready_.notify_one();
    return true;
}

void ProcessState::close() {
    {
        std::lock_guard lock(mutex_);
        closed_.store(true, std::memory_order_release);
        ++removals_;
        queue_.reset();  // Frees the inbox too: a closed process takes no more messages.
        size_.store(0, std::memory_order_release);
        if (event_fd_ >= 0) signal_fd(event_fd_);  // Wake event loops so they see `closed`.
    }
    ready_.notify_all();
}

auto ProcessState::take_locked(std::span<const Pid> from, std::size_t start)
    -> std::optional<Taken> {
    if (!queue_) return std::nullopt;
    std::deque<Message>& queue = *queue_;
    for (auto it = queue.begin() + static_cast<std::ptrdiff_t>(start); it != queue.end(); ++it) {
        if (!matches(*it, from)) continue;
        Taken taken{std::move(*it), false};
        queue.erase(it);
        after_remove_locked();
        taken.report =
            taken.message.group ? add_group_consumed(taken.message) : add_consumed(1, queue.size());
        return taken;
    }
    return std::nullopt;
}

void ProcessState::after_remove_locked() {
    ++removals_;
    size_.store(queued_locked(), std::memory_order_release);
    if (queued_locked() == 0 && event_fd_ >= 0) reset_fd(event_fd_);
}

std::vector<Message> ProcessState::take_all() {
    std::lock_guard lock(mutex_);
    std::vector<Message> taken;
    if (queue_) {
        taken.assign(std::make_move_iterator(queue_->begin()),
                     std::make_move_iterator(queue_->end()));
        queue_->clear();
    }
    after_remove_locked();
    return taken;
}

auto ProcessState::take(std::span<const Pid> from) -> std::optional<Taken> {
    if (size() == 0) return std::nullopt;  // Fast path for polling loops: no lock.
    std::lock_guard lock(mutex_);
    return take_locked(from, 0);
}

auto ProcessState::take_wait(std::span<const Pid> from, Time deadline,
                             const std::function<void()>& before_sleep) -> Result<Taken> {
    using namespace std::chrono;
    const steady_clock::time_point until{nanoseconds(deadline.ns())};
    std::unique_lock lock(mutex_);
    // Messages already looked at (and not wanted): while the lock was released only appends
    // happened, unless another taker (the loop's receive_async, a try_receive) or close()
    // removed some meanwhile, which shifts the rest: then everything is looked at again.
    std::size_t scanned = 0;
    std::uint64_t removals_seen = removals_;
    for (;;) {
        if (closed_.load(std::memory_order_relaxed)) return fail(Errc::closed, "process closed");
        if (removals_ != removals_seen) scanned = 0;
        if (auto taken = take_locked(from, scanned)) return std::move(*taken);
        scanned = queued_locked();
        removals_seen = removals_;
        // Checked again after every wake-up: messages this receive does not want may fill the
        // queue meanwhile, and a sender the engine stopped on stale counts must be let go.
        if (report_due_idle()) {
            lock.unlock();  // Posting takes the loop's lock: never nest it inside ours.
            before_sleep();
            lock.lock();
            continue;
        }
        waiting_ = true;
        if (deadline == Time::max()) {
            ready_.wait(lock);
        } else if (ready_.wait_until(lock, until) == std::cv_status::timeout) {
            waiting_ = false;
            if (removals_ != removals_seen) scanned = 0;
            if (auto taken = take_locked(from, scanned)) return std::move(*taken);
            return fail(Errc::timeout, "no matching message before the deadline");
        }
        waiting_ = false;
    }
}

Result<int> ProcessState::notify_fd() {
    std::lock_guard lock(mutex_);
    if (event_fd_ < 0) {
        event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (event_fd_ < 0) return fail(Errc::io_error, std::string("eventfd: ") + strerror(errno));
        if (queued_locked() > 0 || closed_.load(std::memory_order_relaxed)) signal_fd(event_fd_);
    }
    return event_fd_;
}

bool ProcessState::add_consumed(std::uint32_t count, std::size_t queued_now) {
    const std::uint32_t unreported = consumed_.fetch_add(count) + count;
    const bool due = unbuffered_ || 2 * (queued_now + unreported) >= queue_limit_;
    return due && !report_posted_.exchange(true);
}

bool ProcessState::add_group_consumed(const Message& message) {
    auto& counter = message.ordered ? ordered_consumed_ : group_consumed_;
    const std::uint32_t unreported = counter.fetch_add(1) + 1;
    return unreported % group_report_batch == 0 && !report_posted_.exchange(true);
}

bool ProcessState::report_due_idle() {
    if (group_consumed_.load() != 0 || ordered_consumed_.load() != 0) {
        return !report_posted_.exchange(true);
    }
    if (unbuffered_) return false;  // Their takes posted already.
    const std::uint32_t unreported = consumed_.load();
    if (unreported == 0 || 2 * (size() + unreported) < queue_limit_) return false;
    return !report_posted_.exchange(true);
}

}  // namespace herald::runtime

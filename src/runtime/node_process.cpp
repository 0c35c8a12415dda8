// ProcessState: a hosted process's inbox shared by the loop thread and its application thread.
// Layer: runtime.
#include "runtime/node_process.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

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

ProcessState::ProcessState(Pid pid, std::string name) : pid_(pid), name_(std::move(name)) {}

ProcessState::~ProcessState() {
    if (event_fd_ >= 0) ::close(event_fd_);
}

bool ProcessState::push(Message message) {
    bool wake = false;
    {
        std::lock_guard lock(mutex_);
        if (closed_.load(std::memory_order_relaxed)) return false;
        queue_.push_back(std::move(message));
        size_.store(queue_.size(), std::memory_order_release);
        if (queue_.size() == 1 && event_fd_ >= 0) signal_fd(event_fd_);
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
        queue_.clear();
        size_.store(0, std::memory_order_release);
        if (event_fd_ >= 0) signal_fd(event_fd_);  // Wake event loops so they see `closed`.
    }
    ready_.notify_all();
}

std::optional<Message> ProcessState::take_locked(std::span<const Pid> from, std::size_t start) {
    for (auto it = queue_.begin() + static_cast<std::ptrdiff_t>(start); it != queue_.end(); ++it) {
        if (!matches(*it, from)) continue;
        Message message = std::move(*it);
        queue_.erase(it);
        after_remove_locked();
        return message;
    }
    return std::nullopt;
}

void ProcessState::after_remove_locked() {
    size_.store(queue_.size(), std::memory_order_release);
    if (queue_.empty() && event_fd_ >= 0) reset_fd(event_fd_);
}

std::optional<Message> ProcessState::take(std::span<const Pid> from) {
    if (size() == 0) return std::nullopt;  // Fast path for polling loops: no lock.
    std::lock_guard lock(mutex_);
    return take_locked(from, 0);
}

Result<Message> ProcessState::take_wait(std::span<const Pid> from, Time deadline) {
    using namespace std::chrono;
    const steady_clock::time_point until{nanoseconds(deadline.ns())};
    std::unique_lock lock(mutex_);
    std::size_t scanned = 0;  // Messages only get appended meanwhile: rescan just the new ones.
    for (;;) {
        if (closed_.load(std::memory_order_relaxed)) return fail(Errc::closed, "process closed");
        if (auto message = take_locked(from, scanned)) return std::move(*message);
        scanned = queue_.size();
        if (deadline == Time::max()) {
            waiting_ = true;
            ready_.wait(lock);
        } else {
            waiting_ = true;
            if (ready_.wait_until(lock, until) == std::cv_status::timeout) {
                waiting_ = false;
                if (auto message = take_locked(from, scanned)) return std::move(*message);
                return fail(Errc::timeout, "no matching message before the deadline");
            }
        }
        waiting_ = false;
    }
}

Result<int> ProcessState::notify_fd() {
    std::lock_guard lock(mutex_);
    if (event_fd_ < 0) {
        event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (event_fd_ < 0) return fail(Errc::io_error, std::string("eventfd: ") + strerror(errno));
        if (!queue_.empty() || closed_.load(std::memory_order_relaxed)) signal_fd(event_fd_);
    }
    return event_fd_;
}

bool ProcessState::add_consumed(std::uint32_t count) {
    return consumed_.fetch_add(count, std::memory_order_acq_rel) == 0;
}

}  // namespace herald::runtime

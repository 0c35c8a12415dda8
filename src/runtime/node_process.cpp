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
#include <thread>

namespace herald::runtime {

namespace {

bool from_one_of(const Message& message, std::span<const Pid> from) {
    return from.empty() || std::find(from.begin(), from.end(), message.source) != from.end();
}

// A batch whose messages were all taken: emptied, and freed when a burst made it larger than
// an inbox keeps (ProcessState::inbox_capacity_kept), so an idle process holds little.
void forget_taken(std::vector<Message>& batch, std::size_t& head) {
    if (batch.capacity() > ProcessState::inbox_capacity_kept) {
        std::vector<Message>().swap(batch);
    } else {
        batch.clear();
    }
    head = 0;
}

// The takers' lock over ProcessState::taking_ (a spin lock that yields; see node_process.h).
class TakeLock {
public:
    explicit TakeLock(std::atomic<bool>& flag) : flag_(flag) { lock(); }
    ~TakeLock() {
        if (held_) unlock();
    }
    TakeLock(const TakeLock&) = delete;
    TakeLock& operator=(const TakeLock&) = delete;
    void lock() {
        while (flag_.exchange(true, std::memory_order_acquire)) {
            while (flag_.load(std::memory_order_relaxed)) std::this_thread::yield();
        }
        held_ = true;
    }
    void unlock() {
        held_ = false;
        flag_.store(false, std::memory_order_release);
    }

private:
    std::atomic<bool>& flag_;
    bool held_ = false;
};

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
    if (const int fd = event_fd_.load(std::memory_order_acquire); fd >= 0) ::close(fd);
    delete inbox_.load(std::memory_order_acquire);
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

bool ProcessState::push_batch(std::span<Message> messages) {
    bool wake = false;
    int signal = -1;
    {
        std::lock_guard lock(mutex_);
        if (closed_.load(std::memory_order_relaxed)) return false;
        if (messages.empty()) return true;
        Inbox* inbox = inbox_.load(std::memory_order_relaxed);
        if (inbox == nullptr) {
            inbox = new Inbox;
            inbox_.store(inbox, std::memory_order_release);
        }
        inbox->arrived.insert(inbox->arrived.end(), std::make_move_iterator(messages.begin()),
                              std::make_move_iterator(messages.end()));
        const std::size_t before = size_.fetch_add(messages.size(), std::memory_order_acq_rel);
        const int fd = event_fd_.load(std::memory_order_relaxed);
        if (before == 0) signal = fd;
        wake = waiting_;
    }
    // Both after the unlock: a receiver woken while the lock is still held (on the same core, it
    // preempts the loop at once) would only block on it, two more context switches per delivery.
    // The fd lives as long as this state (~ProcessState). A take that emptied the inbox in
    // between reset the fd before this signal: reset it again, as that take's on_emptied would
    // have, or an event loop polling the fd would find it ready with nothing to take.
    if (signal >= 0) {
        signal_fd(signal);
        if (size_.load(std::memory_order_acquire) == 0) on_emptied();
    }
    // Notify only a sleeping receiver, and once per batch: a futex wake costs a system call.
    if (wake) ready_.notify_one();
    return true;
}

void ProcessState::discard_locked() {
    if (Inbox* inbox = this->inbox()) {
        // Frees what they hold: a closed process takes no more messages.
        std::vector<Message>().swap(inbox->arrived);
        std::vector<Message>().swap(inbox->taking);
        inbox->head = 0;
        ++inbox->removals;
    }
    size_.store(0, std::memory_order_release);
}

void ProcessState::close() {
    {
        TakeLock take(taking_);
        std::lock_guard lock(mutex_);
        closed_.store(true, std::memory_order_release);
        discard_locked();
        const int fd = event_fd_.load(std::memory_order_relaxed);
        if (fd >= 0) signal_fd(fd);  // Wake event loops so they see `closed`.
    }
    ready_.notify_all();
}

auto ProcessState::take_taking(Inbox& inbox, std::span<const Pid> from, std::size_t start)
    -> std::optional<Taken> {
    std::vector<Message>& batch = inbox.taking;
    for (std::size_t i = inbox.head + start; i < batch.size(); ++i) {
        if (!from_one_of(batch[i], from)) continue;
        Taken taken{std::move(batch[i]), false};
        if (i == inbox.head) {
            ++inbox.head;  // The common case: the oldest, without moving the others.
        } else {
            batch.erase(batch.begin() + static_cast<std::ptrdiff_t>(i));
        }
        if (inbox.head == batch.size()) forget_taken(batch, inbox.head);
        ++inbox.removals;
        const std::size_t queued = size_.fetch_sub(1, std::memory_order_acq_rel) - 1;
        if (queued == 0) on_emptied();
        taken.report =
            taken.message.group ? add_group_consumed(taken.message) : add_consumed(1, queued);
        return taken;
    }
    return std::nullopt;
}

bool ProcessState::refill_locked(Inbox& inbox) {
    if (inbox.arrived.empty()) return false;
    std::vector<Message>& batch = inbox.taking;
    if (inbox.head == batch.size()) {
        // All taken (and forgotten): the vectors trade places (no message moves), the emptied
        // one is kept for the loop's next batch unless a burst made it large.
        forget_taken(batch, inbox.head);
        std::swap(batch, inbox.arrived);
        if (inbox.arrived.capacity() > inbox_capacity_kept)
            std::vector<Message>().swap(inbox.arrived);
        return true;
    }
    // Messages left in the batch (a selective receive skipped them) stay first, in order.
    batch.erase(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(inbox.head));
    inbox.head = 0;
    batch.insert(batch.end(), std::make_move_iterator(inbox.arrived.begin()),
                 std::make_move_iterator(inbox.arrived.end()));
    inbox.arrived.clear();
    return true;
}

void ProcessState::on_emptied() {
    const int fd = event_fd_.load(std::memory_order_acquire);
    if (fd < 0) return;
    // Under the lock pushes count under: a push that came since the take has raised the size and
    // signals the fd once it unlocks, which must not be undone; nor close()'s signal, which
    // leaves the fd readable for good so that an event loop sees the process closed.
    std::lock_guard lock(mutex_);
    if (size_.load(std::memory_order_acquire) == 0 && !closed_.load(std::memory_order_relaxed)) {
        reset_fd(fd);
    }
}

std::vector<Message> ProcessState::take_all() {
    TakeLock take(taking_);
    std::lock_guard lock(mutex_);
    std::vector<Message> taken;
    if (Inbox* inbox = this->inbox()) {
        refill_locked(*inbox);
        std::vector<Message>& batch = inbox->taking;
        taken.assign(
            std::make_move_iterator(batch.begin() + static_cast<std::ptrdiff_t>(inbox->head)),
            std::make_move_iterator(batch.end()));
        batch.clear();
        inbox->head = 0;
        ++inbox->removals;
    }
    size_.store(0, std::memory_order_release);
    const int fd = event_fd_.load(std::memory_order_relaxed);
    if (fd >= 0) reset_fd(fd);
    return taken;
}

auto ProcessState::take(std::span<const Pid> from) -> std::optional<Taken> {
    if (size() == 0) return std::nullopt;  // Fast path for polling loops: no lock.
    TakeLock take(taking_);
    Inbox* inbox = this->inbox();
    if (inbox == nullptr) return std::nullopt;
    std::size_t start = 0;
    for (;;) {
        if (auto taken = take_taking(*inbox, from, start)) return taken;
        start = inbox->taking.size() - inbox->head;  // Looked at: none matched.
        std::lock_guard lock(mutex_);
        // The batch's rest (looked at) moves to its front, the arrivals after it: `start` holds.
        if (!refill_locked(*inbox)) return std::nullopt;
    }
}

auto ProcessState::take_wait(std::span<const Pid> from, Time deadline,
                             const std::function<void()>& before_sleep) -> Result<Taken> {
    using namespace std::chrono;
    const steady_clock::time_point until{nanoseconds(deadline.ns())};
    TakeLock take(taking_);
    // Messages of the batch already looked at (and not wanted): while the takers' lock was
    // released only pushes happened, unless another taker (the loop's receive_async, a
    // try_receive) or close() removed some meanwhile: then everything is looked at again.
    std::size_t scanned = 0;
    std::uint64_t removals_seen = 0;
    for (;;) {
        if (closed_.load(std::memory_order_acquire)) return fail(Errc::closed, "process closed");
        Inbox* inbox = this->inbox();
        if (inbox != nullptr) {
            if (inbox->removals != removals_seen) scanned = 0;
            if (auto taken = take_taking(*inbox, from, scanned)) return std::move(*taken);
            scanned = inbox->taking.size() - inbox->head;
            removals_seen = inbox->removals;
        }
        std::unique_lock lock(mutex_);
        if (inbox == nullptr) inbox = this->inbox();
        if (inbox != nullptr && refill_locked(*inbox)) continue;  // `scanned` holds (take()).
        // Nothing queued that this receive wants. Checked again after every wake-up: messages
        // it does not want may fill the inbox meanwhile, and a sender the engine stopped on
        // stale counts must be let go.
        if (report_due_idle()) {
            lock.unlock();  // Posting takes the loop's lock: never nest it inside ours.
            take.unlock();
            before_sleep();
            take.lock();
            continue;
        }
        if (deadline != Time::max() && steady_clock::now() >= until) {
            return fail(Errc::timeout, "no matching message before the deadline");
        }
        // Asleep only with nothing arrived, checked under mutex_ with the takers' lock held (no
        // other taker moved arrivals unseen): every later push sees waiting_ and wakes us.
        waiting_ = true;
        take.unlock();
        if (deadline == Time::max()) {
            ready_.wait(lock);
        } else {
            static_cast<void>(ready_.wait_until(lock, until));
        }
        waiting_ = false;
        lock.unlock();
        take.lock();
    }
}

Result<int> ProcessState::notify_fd() {
    std::lock_guard lock(mutex_);
    int fd = event_fd_.load(std::memory_order_relaxed);
    if (fd < 0) {
        fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (fd < 0) return fail(Errc::io_error, std::string("eventfd: ") + strerror(errno));
        event_fd_.store(fd, std::memory_order_release);
        if (size() > 0 || closed_.load(std::memory_order_relaxed)) signal_fd(fd);
    }
    return fd;
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

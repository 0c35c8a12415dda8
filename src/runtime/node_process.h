// ProcessState: one hosted process's inbox, the runtime's queue of delivered messages, shared
// by the loop thread (which appends what the engine delivers) and the one application thread
// that uses the process (which takes). Layer: runtime.
// Bound: the direct engine delivers at most the process's queue_limit messages that have not
// been reported consumed (credit-based flow control), so the inbox never grows past it.
// Consumption reaches the engine lazily (see add_consumed), so its count of queued messages
// may run ahead of the inbox by what was taken and not yet reported. Group and ordered
// deliveries have their own credit in their engines (docs/groups.md G25, docs/ordering.md
// O37): their takes are counted apart and reported to those engines, not to the direct one.
// Hand-off in batches: the loop appends a whole batch of deliveries under one lock with at most
// one wake-up (push_batch), and a taker moves everything that arrived into the takers' batch
// under one lock, then takes from it message by message under the takers' own lock, which the
// loop's appends never touch (docs/performance.md, "Item 2, continued: the receive side").
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/message.h"
#include "core/result.h"
#include "core/time.h"
#include "proto/direct/direct_options.h"
#include "runtime/send_ring.h"

namespace herald::runtime {

class ProcessState {
public:
    // `options` are the engine's for this process (fixed for its life: read by any thread).
    ProcessState(Pid pid, std::string name, const proto::direct::ProcessOptions& options = {});
    ~ProcessState();
    ProcessState(const ProcessState&) = delete;
    ProcessState& operator=(const ProcessState&) = delete;

    [[nodiscard]] Pid pid() const { return pid_; }
    // The name it was spawned with; empty when none.
    [[nodiscard]] const std::string& name() const;
    // The no-buffer strategies move data only while the process is blocked in a receive, so
    // only they need the engine told when a receive waits and ends (docs/direct.md rules
    // 11-12); the buffered ones ignore it. Any thread.
    [[nodiscard]] bool needs_receive_posts() const { return unbuffered_; }

    // Loop thread: appends delivered messages, in order, under one lock, and wakes a sleeping
    // receiver once. Returns false (and drops them) once the process is closed; `messages` are
    // left moved from either way.
    bool push_batch(std::span<Message> messages);
    // push_batch of one message.
    bool push(Message message) { return push_batch(std::span<Message>(&message, 1)); }

    // Any thread: wakes a waiting receiver with Errc::closed; later pushes are dropped and
    // queued messages are discarded. Idempotent.
    void close();
    // Whether a receiver sleeps in take_wait now. Any thread.
    [[nodiscard]] bool receiver_waiting() const {
        std::lock_guard lock(mutex_);
        return waiting_;
    }
    [[nodiscard]] bool closed() const { return closed_.load(std::memory_order_acquire); }

    // What a take removed, and whether the taker must post a consumption report to the loop
    // (add_consumed returned true for it).
    struct Taken {
        Message message;
        bool report = false;
    };

    // Application thread: removes and returns the oldest queued message whose source is in
    // `from` (any source when `from` is empty), and counts it consumed (add_consumed).
    // Messages that do not match stay queued, in order (Erlang-style selective receive).
    [[nodiscard]] std::optional<Taken> take(std::span<const Pid> from);
    // Takes every queued message, in order, without counting them as consumed (a process
    // that migrates hands them to the engine). Loop thread.
    [[nodiscard]] std::vector<Message> take_all();

    // Application thread: like take(), waiting until `deadline` (monotonic, SystemClock).
    // Before each sleep it calls `before_sleep` (without the lock) when report_due_idle()
    // says the engine may wait for a consumption report. Errc::timeout when the deadline
    // passes first, Errc::closed when the process closes.
    [[nodiscard]] Result<Taken> take_wait(std::span<const Pid> from, Time deadline,
                                          const std::function<void()>& before_sleep);

    // Messages queued now. Any thread (a snapshot; used to spin without taking the lock).
    [[nodiscard]] std::size_t size() const { return size_.load(std::memory_order_acquire); }

    // An eventfd that is readable exactly while at least one message is queued (level
    // triggered: it is reset when the queue becomes empty). Created on first call; owned by the
    // process. Errc::io_error when the system refuses an eventfd. Any thread.
    [[nodiscard]] Result<int> notify_fd();

    // Consumption reports (docs/direct.md rules 5, 6, 10). The taker counts what it took; the
    // loop thread folds the count into the engine right before the engine handles a data
    // packet for this process (so acks carry current credit: take_consumed), or in a report
    // task that the taker posts only when the engine may be waiting for one: always for the
    // no-buffer strategies (their receive_posted must find the count current), otherwise when
    // the engine's view of the queue (`queued_now` + what is unreported) is at least half of
    // queue_limit. A sender stops only at credit 0, i.e. a view of a full queue, so every take
    // or idle check after that posts; below half there is credit to spare. At most one report
    // task is outstanding. Returns true when the caller must post one that calls
    // begin_report() and then take_consumed(). Any thread (the loop's receive_async too).
    bool add_consumed(std::uint32_t count, std::size_t queued_now);
    // The taker found nothing to take (and may sleep or poll): true when it must post a report
    // task as above, because the unreported count keeps the engine's view at half or more.
    // Covers senders stopped while this process waits for someone else (selective receive),
    // and local senders, whose data the engine handles without the loop folding first.
    bool report_due_idle();
    // Loop thread: a report task starts; a later add_consumed may post another.
    void begin_report() { report_posted_.store(false); }
    // Loop thread: the count taken and not yet reported, reset to zero. A load first: the loop
    // folds before every data packet, and no read-modify-write is needed when nothing was taken.
    std::uint32_t take_consumed() { return consumed_.load() == 0 ? 0 : consumed_.exchange(0); }

    // Group and ordered deliveries (Message::group, Message::ordered) taken: the same report
    // task carries them to the group and ordering engines (their credit, G25 and O37). A take
    // posts one every group_report_batch of them, and report_due_idle whenever any is
    // unreported, so an engine that stopped at its limit learns before the receiver sleeps.
    // Returns true when the caller must post a report. Any thread.
    bool add_group_consumed(const Message& message);
    // Loop thread: the counts taken and not yet reported, reset to zero.
    std::uint32_t take_group_consumed() { return group_consumed_.exchange(0); }
    std::uint32_t take_ordered_consumed() { return ordered_consumed_.exchange(0); }
    static constexpr std::uint32_t group_report_batch = 32;

    // Loop thread only: the pending receive_async() callback (at most one), and its timer.
    std::function<void(Result<Message>)> async_receiver;
    std::vector<Pid> async_from;  // Its accepted senders; empty = any.
    std::uint64_t async_timer = 0;

    // The ring that carries this process's sends to the loop (send_ring.h), made at its first
    // send (an idle process pays a pointer). Any thread.
    SendRing& send_ring();
    // The ring, or nullptr before the first send. Any thread.
    [[nodiscard]] SendRing* send_ring_if_made() const {
        return send_ring_.load(std::memory_order_acquire);
    }
    // Slots of each ring: room for a batch of a fast sender between two loop wake-ups
    // (docs/api.md, "Limits"); at 128 bytes a slot, 32 KiB per process that sends fast. A ring
    // starts with send_ring_slots_first (2 KiB) and grows to send_ring_slots the first time
    // its process overruns it (SendRing::grow_if_wanted): most processes send a few messages.
    static constexpr std::size_t send_ring_slots = 256;
    static constexpr std::size_t send_ring_slots_first = 16;

    // Loop thread only: this process's place in the node's list of processes with deliveries
    // not yet handed over (Node::queue_delivery): 0 when not listed, else index + 1.
    std::uint32_t delivery_slot = 0;

    // The queued messages of a process that received at least once: made at the first delivery
    // and kept until the process ends (close() frees what the vectors hold). The two vectors
    // trade places when the takers have used up theirs (no message moves), so the inbox
    // allocates at most once per hand-off larger than inbox_capacity_kept, never per message.
    struct Inbox {
        std::vector<Message> arrived;  // Appended by the loop; guarded by mutex_.
        std::vector<Message> taking;   // The takers' batch; guarded by taking_.
        std::size_t head = 0;          // taking[head..] are queued; the rest were taken.
        std::uint64_t removals = 0;    // Times messages left `taking` (take_wait); taking_.
    };
    // Capacity a vector of the inbox keeps once emptied (messages); a larger one is freed when
    // emptied, so an idle process that once took a burst holds at most 2 x 64 x
    // sizeof(Message) = 10 KiB.
    static constexpr std::size_t inbox_capacity_kept = 64;

private:
    // taking_ held: the first message of taking[head + start..] that matches, removed.
    std::optional<Taken> take_taking(Inbox& inbox, std::span<const Pid> from, std::size_t start);
    // taking_ and mutex_ held: moves what arrived into the takers' batch; false when nothing had.
    static bool refill_locked(Inbox& inbox);
    // A take left nothing queued: resets the notify fd unless a push came meanwhile.
    void on_emptied();
    void discard_locked();  // taking_ and mutex_ held: drops every queued message.
    [[nodiscard]] Inbox* inbox() const { return inbox_.load(std::memory_order_acquire); }

    const Pid pid_;
    // Made only for a named process: most are not, and a std::string is 32 bytes (issue 17
    // item 4: the cost of an idle process).
    const std::unique_ptr<const std::string> name_;
    const bool unbuffered_;          // send_after_receive or send_discard_retry.
    const std::size_t queue_limit_;  // Slots the engine grants (1 for `single`).
    mutable std::mutex mutex_;
    std::condition_variable ready_;
    // The inbox, made at the first delivery (an idle process pays a pointer: issue 17 item 4),
    // under mutex_, and deleted with the process.
    std::atomic<Inbox*> inbox_{nullptr};
    bool waiting_ = false;  // A receiver sleeps on ready_; push must notify. Guarded by mutex_.
    // The takers' lock (a spin lock: held for a scan of the batch and at most one refill, never
    // across a sleep; contended only when the loop's receive_async, migration or close meets
    // the process's own thread). Order: taking_ before mutex_.
    std::atomic<bool> taking_{false};
    std::atomic<bool> closed_{false};
    std::atomic<int> event_fd_{-1};  // Made under mutex_; read without it to skip the lock.
    // Queued messages (arrived + taking[head..]): push_batch adds under mutex_, takes subtract.
    std::atomic<std::size_t> size_{0};
    // Sequentially consistent (the default order): an add that sees a report posted must be
    // seen by that report's take_consumed, which runs after begin_report().
    std::atomic<std::uint32_t> consumed_{0};
    std::atomic<std::uint32_t> group_consumed_{0};    // Group engine deliveries taken (G25).
    std::atomic<std::uint32_t> ordered_consumed_{0};  // Ordering engine deliveries (O37).
    std::atomic<bool> report_posted_{false};
    std::atomic<SendRing*> send_ring_{nullptr};  // Owned; deleted with the process.
};

}  // namespace herald::runtime

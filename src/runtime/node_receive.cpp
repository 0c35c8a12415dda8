// Node: deliveries into processes' inboxes (in batches), receives (blocking, non-blocking,
// asynchronous) from them, and what they tell the direct engine (waiting receivers, consumed
// messages). Layer: runtime.
#include <algorithm>
#include <cstdint>
#include <numeric>

#include "core/assert.h"
#include "runtime/node.h"
#include "runtime/node_group_service.h"
#include "runtime/node_order_service.h"

namespace herald::runtime {

namespace {

// Tells the CPU this is a spin-wait: saves power and yields the core's pipeline to a sibling
// hyper-thread (which may be the loop thread we wait for).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

// Reading the clock costs ~20 ns even through the vDSO (a quarter of a receiver's CPU when it
// was read on every iteration); a pause costs ~40-140 ns, so 64 of them overshoot the spin by
// a few microseconds at most.
constexpr std::uint32_t spin_clock_every = 64;

}  // namespace

void Node::deliver(Message message, Time now_time) {
    ProcessState* process = delivery_target(message.target);
    if (process == nullptr) {
        ++counters_.deliveries_dropped;  // The process exited after the engine took it.
        return;
    }
    // A pending receive_async takes it at once. None of the batch's earlier deliveries to the
    // process can match it: start_async_receive hands them over before it looks.
    const auto& from = process->async_from;
    if (process->async_receiver &&
        (from.empty() || std::find(from.begin(), from.end(), message.source) != from.end())) {
        finish_async_receive(*process, std::move(message), now_time);
        return;
    }
    queue_delivery(*process, std::move(message));
}

ProcessState* Node::delivery_target(Pid target) {
    // A batch's deliveries mostly go to one process: the last one listed is looked at first (no
    // table lookup, no reference count).
    if (!delivered_to_.empty() && delivered_to_.back()->pid() == target) {
        return delivered_to_.back().get();
    }
    std::shared_ptr<ProcessState> found = hosted(target);
    if (!found) return nullptr;
    ProcessState* process = found.get();
    if (process->delivery_slot == 0) {
        delivered_to_.push_back(std::move(found));
        process->delivery_slot = static_cast<std::uint32_t>(delivered_to_.size());
    }
    return process;
}

void Node::queue_delivery(ProcessState& process, Message message) {
    HERALD_ASSERT(process.delivery_slot != 0);
    if (delivered_.empty()) schedule_flush();  // The loop batch's end hands them over.
    delivered_.push_back(std::move(message));
    delivered_slots_.push_back(process.delivery_slot - 1);
    if (delivered_.size() >= delivery_batch_max) hand_deliveries();
}

void Node::hand_deliveries() {
    if (delivered_to_.size() == 1) {
        if (!delivered_.empty() && !delivered_to_.front()->push_batch(delivered_)) {
            counters_.deliveries_dropped += delivered_.size();  // It closed meanwhile.
        }
    } else if (!delivered_.empty()) {
        hand_grouped();
    }
    delivered_.clear();
    delivered_slots_.clear();
    for (const auto& process : delivered_to_) process->delivery_slot = 0;
    delivered_to_.clear();
}

void Node::hand_grouped() {
    // A stable counting sort by process: each process's messages in delivery order, then one
    // push_batch each.
    const std::size_t processes = delivered_to_.size();
    delivery_ends_.assign(processes + 1, 0);
    for (const std::uint32_t slot : delivered_slots_) ++delivery_ends_[slot + 1];
    std::partial_sum(delivery_ends_.begin(), delivery_ends_.end(), delivery_ends_.begin());
    delivery_grouped_.resize(delivered_.size());
    for (std::size_t i = 0; i < delivered_.size(); ++i) {
        delivery_grouped_[delivery_ends_[delivered_slots_[i]]++] = std::move(delivered_[i]);
    }
    // delivery_ends_[k] is now the end of process k's messages, and the start of k + 1's.
    std::size_t begin = 0;
    for (std::size_t k = 0; k < processes; ++k) {
        const std::size_t end = delivery_ends_[k];
        const std::span<Message> mine(delivery_grouped_.data() + begin, end - begin);
        if (!mine.empty() && !delivered_to_[k]->push_batch(mine)) {
            counters_.deliveries_dropped += mine.size();
        }
        begin = end;
    }
    delivery_grouped_.clear();
}

Result<Message> Node::try_receive(ProcessState& self, std::span<const Pid> from) {
    if (auto taken = self.take(from)) return accept(self, std::move(*taken));
    if (self.closed()) return fail(Errc::closed, "process closed");
    if (self.report_due_idle()) post_report(self.pid());
    // No detail: an empty poll is the hot path of a polling receiver, and it allocates nothing.
    return fail(Errc::would_block);
}

Result<Message> Node::receive(ProcessState& self, std::span<const Pid> from, Duration timeout) {
    if (loop_.in_loop_thread()) {
        return fail(Errc::invalid_argument, "blocking receive on the node's loop thread");
    }
    auto quick = try_receive(self, from);
    if (quick || quick.error().code != Errc::would_block) return quick;
    if (timeout <= Duration::zero()) return fail(Errc::timeout, "no message queued");
    const Time start = now();
    const Time deadline = timeout == Duration::max() ? Time::max() : start + timeout;
    if (config_.receive_spin > Duration::zero()) {
        const Time spin_until = std::min(deadline, start + config_.receive_spin);
        if (auto spun = spin_receive(self, from, spin_until)) return accept(self, std::move(*spun));
    }
    // Only the no-buffer strategies need the engine to know that a receive waits.
    const bool posts = self.needs_receive_posts();
    const Pid pid = self.pid();
    if (posts) {
        std::vector<Pid> senders(from.begin(), from.end());
        if (!loop_.post([this, pid, senders = std::move(senders)]() mutable {
                receive_posted(pid, std::move(senders));
            })) {
            return fail(Errc::closed, "node stopped");
        }
    }
    auto result = self.take_wait(from, deadline, [this, pid] { post_report(pid); });
    if (posts) static_cast<void>(loop_.post([this, pid] { receive_ended(pid); }));
    if (!result) return fail(std::move(result.error()));
    return accept(self, std::move(*result));
}

std::optional<ProcessState::Taken> Node::spin_receive(ProcessState& self, std::span<const Pid> from,
                                                      Time until) {
    // Spin briefly first: a reply that is already on its way arrives without the cost of
    // sleeping and waking (DESIGN.md). Only a change in queue length warrants a look, and the
    // clock is read only every spin_clock_every rounds.
    std::size_t seen = self.size();
    for (std::uint32_t round = 1;; ++round) {
        if (const std::size_t size = self.size(); size != seen) {
            seen = size;
            if (auto taken = self.take(from)) return taken;
            seen = self.size();
        }
        if (round % spin_clock_every == 0 && now() >= until) return std::nullopt;
        cpu_relax();
    }
}

Message Node::accept(ProcessState& self, ProcessState::Taken taken) {
    if (taken.report) post_report(self.pid());
    return std::move(taken.message);
}

void Node::receive_posted(Pid pid, std::vector<Pid> from) {
    if (shut_down_ || !hosted(pid)) return;
    const Time t = now();
    run<proto::direct::DirectEngine>(direct_slot_, [&](auto& direct, proto::Effects& out) {
        direct.on_receive_posted(pid, from, t, out);
    });
}

void Node::receive_ended(Pid pid) {
    if (shut_down_ || !hosted(pid)) return;
    const Time t = now();
    run<proto::direct::DirectEngine>(direct_slot_, [&](auto& direct, proto::Effects& out) {
        direct.on_receive_cancelled(pid, t, out);
    });
}

void Node::post_report(Pid pid) {
    static_cast<void>(loop_.post([this, pid] { report_consumed(pid); }));
}

void Node::report_consumed(Pid pid) {
    if (shut_down_) return;
    const auto process = hosted(pid);  // Migrated here too.
    if (!process) return;
    process->begin_report();
    report_to_engine(pid, process->take_consumed());
    // Group and ordered deliveries have their engines' credit (G25, O37).
    if (group_service_)
        report_group_consumed(group_service_->slot(), pid, process->take_group_consumed());
    if (order_service_)
        report_group_consumed(order_service_->slot(), pid, process->take_ordered_consumed());
}

void Node::report_group_consumed(proto::EngineSlot slot, Pid pid, std::uint32_t count) {
    if (count == 0 || shut_down_) return;
    const Time t = now();
    engines_->on_consumed(slot, pid, count, t, effects_);
    carry_out(t);
}

void Node::fold_consumed(Pid target) {
    if (shut_down_) return;
    // Runs for every data packet: the process the batch delivers to is looked at first, and
    // the table's lookup takes no reference (the loop thread owns the table).
    ProcessState* process = nullptr;
    if (!delivered_to_.empty() && delivered_to_.back()->pid() == target) {
        process = delivered_to_.back().get();
    } else {
        process = hosted_pointer(target);  // Migrated here too.
    }
    if (process == nullptr) return;
    report_to_engine(target, process->take_consumed());
}

void Node::report_to_engine(Pid pid, std::uint32_t count) {
    if (count == 0) return;
    const Time t = now();
    run<proto::direct::DirectEngine>(direct_slot_, [&](auto& direct, proto::Effects& out) {
        direct.on_consumed(pid, count, t, out);
    });
}

Status Node::receive_async(const std::shared_ptr<ProcessState>& self, std::vector<Pid> from,
                           Duration timeout, ReceiveCallback done) {
    HERALD_TRY(reserve_command());
    if (!loop_.post(
            [this, self, from = std::move(from), timeout, done = std::move(done)]() mutable {
                release_command();
                start_async_receive(self, std::move(from), timeout, std::move(done));
            })) {
        release_command();
        return fail(Errc::closed, "node stopped");
    }
    return {};
}

void Node::start_async_receive(const std::shared_ptr<ProcessState>& self, std::vector<Pid> from,
                               Duration timeout, ReceiveCallback done) {
    if (shut_down_ || self->closed()) {
        upcall(done, fail(Errc::closed, "process closed"));
        return;
    }
    if (self->async_receiver) {
        upcall(done, fail(Errc::invalid_argument, "a receive_async is already pending"));
        return;
    }
    hand_deliveries();  // The oldest matching message may still be in the loop's batch.
    if (auto taken = self->take(from)) {
        upcall(done, accept(*self, std::move(*taken)));
        return;
    }
    if (timeout <= Duration::zero()) {
        upcall(done, fail(Errc::timeout, "no message queued"));
        return;
    }
    self->async_receiver = std::move(done);
    self->async_from = std::move(from);
    const Time t = now();
    if (timeout != Duration::max()) {
        const std::uint64_t timer = timer_next_++;
        self->async_timer = timer;
        receive_timers_.emplace(timer, self->pid());
        node_timers_.set(node_timer(NodeTimer::receive, timer), t + timeout);
        rearm();  // An idle loop has nothing else that would arm its wake-up for this timer.
    }
    if (self->needs_receive_posts()) receive_posted(self->pid(), self->async_from);
}

void Node::finish_async_receive(ProcessState& self, Result<Message> result, Time now_time) {
    (void)now_time;
    HERALD_ASSERT(self.async_receiver != nullptr);
    auto done = std::move(self.async_receiver);
    self.async_receiver = nullptr;
    self.async_from.clear();
    if (self.async_timer != 0) {
        node_timers_.cancel(node_timer(NodeTimer::receive, self.async_timer));
        receive_timers_.erase(self.async_timer);
        self.async_timer = 0;
    }
    // Delivered straight to the callback: it never sat in the inbox, but the engine counted it
    // as queued, so it is reported consumed like any other (to the engine that delivered it).
    if (result) {
        const bool due =
            result->group ? self.add_group_consumed(*result) : self.add_consumed(1, self.size());
        if (due || (result->group && self.report_due_idle())) post_report(self.pid());
    }
    if (self.needs_receive_posts()) {
        const Pid pid = self.pid();
        deferred_.push_back([this, pid] { receive_ended(pid); });
    }
    upcall(done, std::move(result));
}

}  // namespace herald::runtime

// Node: receives (blocking, non-blocking, asynchronous) from a process's inbox, and what they
// tell the direct engine (waiting receivers, consumed messages). Layer: runtime.
#include "core/assert.h"
#include "runtime/node.h"

namespace herald::runtime {

Result<Message> Node::try_receive(ProcessState& self, std::span<const Pid> from) {
    if (auto message = self.take(from)) {
        note_consumed(self, 1);
        return std::move(*message);
    }
    if (self.closed()) return fail(Errc::closed, "process closed");
    return fail(Errc::would_block, "no message queued");
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
    // Spin briefly first: a reply that is already on its way arrives without the cost of
    // sleeping and waking (DESIGN.md). Only a change in queue length warrants a look.
    const Time spin_until = std::min(deadline, start + config_.receive_spin);
    std::size_t seen = self.size();
    while (now() < spin_until) {
        if (self.size() == seen) continue;
        seen = self.size();
        if (auto message = self.take(from)) {
            note_consumed(self, 1);
            return std::move(*message);
        }
    }
    const Pid pid = self.pid();
    std::vector<Pid> senders(from.begin(), from.end());
    if (!loop_.post([this, pid, senders = std::move(senders)]() mutable {
            receive_posted(pid, std::move(senders));
        })) {
        return fail(Errc::closed, "node stopped");
    }
    auto result = self.take_wait(from, deadline);
    static_cast<void>(loop_.post([this, pid] { receive_ended(pid); }));
    if (result) note_consumed(self, 1);
    return result;
}

void Node::receive_posted(Pid pid, std::vector<Pid> from) {
    if (shut_down_ || !processes_.contains(pid.local)) return;
    const Time t = now();
    run_engine(direct_slot_, t,
               [&](proto::Effects& out) { direct_->on_receive_posted(pid, from, t, out); });
}

void Node::receive_ended(Pid pid) {
    if (shut_down_ || !processes_.contains(pid.local)) return;
    const Time t = now();
    run_engine(direct_slot_, t,
               [&](proto::Effects& out) { direct_->on_receive_cancelled(pid, t, out); });
}

void Node::note_consumed(ProcessState& self, std::uint32_t count) {
    // One loop task per burst, not per message: only the call that finds nothing pending posts.
    if (!self.add_consumed(count)) return;
    const Pid pid = self.pid();
    static_cast<void>(loop_.post([this, pid] { report_consumed(pid); }));
}

void Node::report_consumed(Pid pid) {
    if (shut_down_) return;
    auto it = processes_.find(pid.local);
    if (it == processes_.end()) return;
    const std::uint32_t count = it->second->take_consumed();
    if (count == 0) return;
    const Time t = now();
    run_engine(direct_slot_, t,
               [&](proto::Effects& out) { direct_->on_consumed(pid, count, t, out); });
}

Status Node::receive_async(const std::shared_ptr<ProcessState>& self, Duration timeout,
                           ReceiveCallback done) {
    if (!loop_.post([this, self, timeout, done = std::move(done)]() mutable {
            start_async_receive(self, timeout, std::move(done));
        })) {
        return fail(Errc::closed, "node stopped");
    }
    return {};
}

void Node::start_async_receive(const std::shared_ptr<ProcessState>& self, Duration timeout,
                               ReceiveCallback done) {
    if (shut_down_ || self->closed()) {
        done(fail(Errc::closed, "process closed"));
        return;
    }
    if (self->async_receiver) {
        done(fail(Errc::invalid_argument, "a receive_async is already pending"));
        return;
    }
    if (auto message = self->take({})) {
        note_consumed(*self, 1);
        done(std::move(*message));
        return;
    }
    if (timeout <= Duration::zero()) {
        done(fail(Errc::timeout, "no message queued"));
        return;
    }
    self->async_receiver = std::move(done);
    const Time t = now();
    if (timeout != Duration::max()) {
        const std::uint64_t timer = timer_next_++;
        self->async_timer = timer;
        receive_timers_.emplace(timer, self->pid());
        node_timers_.set(node_timer(NodeTimer::receive, timer), t + timeout);
    }
    receive_posted(self->pid(), {});
}

void Node::finish_async_receive(ProcessState& self, Result<Message> result, Time now_time) {
    (void)now_time;
    HERALD_ASSERT(self.async_receiver != nullptr);
    auto done = std::move(self.async_receiver);
    self.async_receiver = nullptr;
    if (self.async_timer != 0) {
        node_timers_.cancel(node_timer(NodeTimer::receive, self.async_timer));
        receive_timers_.erase(self.async_timer);
        self.async_timer = 0;
    }
    if (result) {
        // Delivered straight to the callback: it never sat in the inbox, but the engine counted
        // it as queued, so it is reported consumed like any other.
        note_consumed(self, 1);
    }
    const Pid pid = self.pid();
    deferred_.push_back([this, pid] { receive_ended(pid); });
    done(std::move(result));
}

}  // namespace herald::runtime

// Node: sends (blocking and asynchronous) from the application threads to the direct engine.
// Layer: runtime.
#include <chrono>
#include <future>

#include "core/assert.h"
#include "runtime/node.h"

namespace herald::runtime {

namespace {

// See node_commands.cpp: a guard against a lost completion, not a protocol timeout.
constexpr Duration completion_grace = Duration::seconds(2);

Time deadline_after(Time now, Duration timeout) {
    if (timeout == Duration::max()) return Time::max();
    return now + (timeout < Duration::zero() ? Duration::zero() : timeout);
}

}  // namespace

Status Node::send(Pid source, Pid to, Bytes body, const SendConfig& config) {
    if (loop_.in_loop_thread()) {
        return fail(Errc::invalid_argument, "blocking send on the node's loop thread");
    }
    auto promise = std::make_shared<std::promise<Status>>();
    auto future = promise->get_future();
    const Time deadline = deadline_after(now(), config.timeout);
    HERALD_TRY(send_async(source, to, std::move(body), config,
                          [promise](Status status) { promise->set_value(std::move(status)); }));
    if (deadline == Time::max()) return future.get();
    const std::chrono::steady_clock::time_point until{
        std::chrono::nanoseconds((deadline + completion_grace).ns())};
    if (future.wait_until(until) == std::future_status::timeout) {
        return fail(Errc::timeout, "no completion from the node loop");
    }
    return future.get();
}

Status Node::send_async(Pid source, Pid to, Bytes body, const SendConfig& config,
                        SendCallback done) {
    if (!to.valid()) return fail(Errc::invalid_argument, "invalid destination pid");
    if (!source.valid() || source.node != id_) {
        return fail(Errc::invalid_argument, "source is not a process of this node");
    }
    if (body.size() > config_.direct.body_bytes_max) {
        return fail(Errc::too_large, std::to_string(body.size()) + " bytes exceed the " +
                                         std::to_string(config_.direct.body_bytes_max) +
                                         "-byte message limit");
    }
    if (stopped()) return fail(Errc::closed, "node stopped");
    if (commands_queued_.fetch_add(1, std::memory_order_acq_rel) >= config_.commands_max) {
        commands_queued_.fetch_sub(1, std::memory_order_acq_rel);
        return fail(Errc::queue_full, "commands_max sends are queued to the node loop");
    }
    const Time t = now();
    Message message{source, to, 0, clock_.unix_ns(), std::move(body)};
    const Time deadline = deadline_after(t, config.timeout);
    const bool posted = loop_.post(
        [this, message = std::move(message), config, deadline, done = std::move(done)]() mutable {
            commands_queued_.fetch_sub(1, std::memory_order_acq_rel);
            start_send(std::move(message), config, deadline, std::move(done));
        });
    if (!posted) {
        commands_queued_.fetch_sub(1, std::memory_order_acq_rel);
        return fail(Errc::closed, "node stopped");
    }
    return {};
}

void Node::start_send(Message message, const SendConfig& config, Time deadline, SendCallback done) {
    if (shut_down_ || draining_) {
        done(fail(Errc::closed, "node stopped"));
        return;
    }
    const proto::OperationId op = op_next_++;
    ops_.emplace(op, std::move(done));
    const proto::direct::SendOptions options{config.mode, config.on_full, deadline};
    const Time t = now();
    run_engine(direct_slot_, t, [&](proto::Effects& out) {
        direct_->on_send(op, std::move(message), options, t, out);
    });
}

}  // namespace herald::runtime

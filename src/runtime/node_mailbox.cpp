// NodeMailbox implementation. Layer: runtime.
#include "runtime/node_mailbox.h"

#include <iterator>
#include <utility>

#include "core/assert.h"

namespace herald::runtime {

using proto::mailbox::MailboxEngine;

NodeMailbox::NodeMailbox(NodeContext& node, const proto::mailbox::MailboxOptions& options,
                         Duration caller_poll)
    : node_(node), options_(options), caller_poll_(caller_poll) {}

std::unique_ptr<proto::Engine> NodeMailbox::make_engine(const proto::EngineContext& context) {
    return std::make_unique<MailboxEngine>(context, options_);
}

NodeMailbox::~NodeMailbox() {
    // The node is being destroyed: its command count is no longer kept.
    close_intake(false);
}

std::uint64_t NodeMailbox::Waiter::arm() {
    // The previous call's answer was taken: no one touches it any more (the second claimant
    // of a ticket reads armed_ only).
    answer_.emplace();
    const std::uint64_t ticket = ++tickets_;
    armed_.store(ticket, std::memory_order_release);
    return ticket;
}

void NodeMailbox::Waiter::complete(std::uint64_t ticket, Result<Bytes> result) {
    if (!armed_.compare_exchange_strong(ticket, 0, std::memory_order_acq_rel)) return;
    answer_->complete(std::move(result));
}

void NodeMailbox::Waiter::answer_durable(std::uint64_t ticket) {
    // The caller's next command must run after the commit's loop task, posted already: it must
    // not join an intake task posted before that one.
    service_.seal_intake();
    complete(ticket, Bytes{});
}

Result<Bytes> NodeMailbox::Waiter::wait(Duration poll) {
    constexpr auto forever = std::chrono::steady_clock::time_point::max();
    if (poll > Duration::zero() &&
        !service_.caller_polling_.exchange(true, std::memory_order_acquire)) {
        auto answer = answer_->wait(forever, std::chrono::microseconds(poll.us()));
        service_.caller_polling_.store(false, std::memory_order_release);
        return std::move(*answer);
    }
    return std::move(*answer_->wait(forever, std::chrono::microseconds(0)));
}

NodeMailbox::Waiter& NodeMailbox::take_waiter() {
    std::lock_guard lock(pool_mutex_);
    if (idle_.empty()) return waiters_.emplace_back(*this);
    Waiter* waiter = idle_.back();
    idle_.pop_back();
    return *waiter;
}

void NodeMailbox::give_back(Waiter& waiter) {
    std::lock_guard lock(pool_mutex_);
    idle_.push_back(&waiter);
}

void NodeMailbox::finish(Command& command, Result<Bytes> result) {
    if (command.waiter != nullptr)
        return command.waiter->complete(command.ticket, std::move(result));
    try {
        if (command.sent) {
            auto sent = std::move(command.sent);
            sent(as_status(result));
        } else {
            auto done = std::move(command.done);
            done(std::move(result));
        }
    } catch (...) {  // An application callback, run where no one can take its exception.
    }
}

Status NodeMailbox::push(Command&& command) {
    HERALD_TRY(node_.reserve_command());
    bool first = false;
    {
        std::lock_guard lock(intake_mutex_);
        if (intake_closed_ || intake_.size() >= mailbox_intake_max) {
            node_.release_command();
            if (intake_closed_) return fail(Errc::closed, "node stopped");
            return fail(Errc::queue_full, "mailbox_intake_max commands are queued to the loop");
        }
        first = !joinable_;
        joinable_ = true;
        intake_.push_back(std::move(command));
    }
    // Only the push that opens a segment posts: one task takes all that join it.
    if (first && !node_.post([this] { drain_intake(); })) close_intake();
    return {};
}

Result<Bytes> NodeMailbox::call(Command&& command) {
    if (node_.in_loop_thread()) return fail(Errc::invalid_argument, "on the node's loop thread");
    Waiter& waiter = take_waiter();
    command.waiter = &waiter;
    command.ticket = waiter.arm();
    const bool polls = command.kind != Command::Kind::receive;  // A receive may wait long.
    Status pushed = push(std::move(command));
    Result<Bytes> result = pushed ? waiter.wait(polls ? caller_poll_ : Duration::zero())
                                  : fail(std::move(pushed.error()));
    give_back(waiter);
    return result;
}

void NodeMailbox::close_intake(bool release) {
    std::vector<Command> left;
    {
        std::lock_guard lock(intake_mutex_);
        intake_closed_ = true;
        left.swap(intake_);
        sealed_.clear();
        joinable_ = false;
    }
    for (Command& command : left) {
        if (release) node_.release_command();
        finish(command, fail(Errc::closed, "node stopped"));
    }
}

void NodeMailbox::drain_intake() {
    HERALD_ASSERT(batch_.empty());
    {
        std::lock_guard lock(intake_mutex_);
        if (sealed_.empty()) {
            batch_.swap(intake_);  // The intake is empty again: the next push posts a new task.
            joinable_ = false;
        } else {  // This task's segment is the oldest sealed one.
            const auto end = intake_.begin() + static_cast<std::ptrdiff_t>(sealed_.front());
            sealed_.pop_front();
            batch_.assign(std::make_move_iterator(intake_.begin()), std::make_move_iterator(end));
            intake_.erase(intake_.begin(), end);
        }
    }
    for (std::size_t i = 0; i < batch_.size(); ++i) node_.release_command();
    if (!node_.accepting()) {
        for (Command& command : batch_) finish(command, fail(Errc::closed, "node stopped"));
    } else {
        // One input for the whole batch: its persists reach the store writer together.
        const Time now = node_.now();
        node_.run<MailboxEngine>(slot_, now, [&](MailboxEngine& engine, proto::Effects& out) {
            for (Command& command : batch_) start(engine, command, now, out);
        });
    }
    batch_.clear();
}

void NodeMailbox::seal_intake() {
    std::lock_guard lock(intake_mutex_);
    if (!joinable_) return;
    std::size_t older = 0;
    for (const std::size_t size : sealed_) older += size;
    sealed_.push_back(intake_.size() - older);
    joinable_ = false;
}

void NodeMailbox::start(MailboxEngine& engine, Command& command, Time now, proto::Effects& out) {
    // A blocking caller's completion is two words (no allocation in the std::function); the
    // store writer may answer the caller first (DurableAnswer), and this one then does nothing.
    Waiter* const waiter = command.waiter;
    const std::uint64_t ticket = command.ticket;
    const auto op = waiter != nullptr ? node_.begin_operation(
                                            [waiter, ticket](Result<Bytes> result) {
                                                waiter->complete(ticket, std::move(result));
                                            },
                                            DurableAnswer{waiter, ticket})
                    : command.sent ? node_.begin_send(std::move(command.sent))
                                   : node_.begin_operation(std::move(command.done));
    switch (command.kind) {
        case Command::Kind::send:
            return engine.on_send(op, command.process, command.host, command.name,
                                  std::move(command.body), now, out);
        case Command::Kind::receive:
            return engine.on_receive(op, command.process, command.host, command.name, command.wait,
                                     now, out, command.filter);
        case Command::Kind::ack:
            return engine.on_ack(op, command.process, command.host, command.name, command.tag, now,
                                 out);
    }
}

Status NodeMailbox::create(const proto::mailbox::MailboxSpec& spec) {
    return as_status(node_.run_blocking<MailboxEngine>(
        slot_, [spec](MailboxEngine& e, auto op, Time now, auto& out) {
            e.on_create(op, spec, now, out);
        }));
}

Status NodeMailbox::destroy(const std::string& name) {
    return as_status(node_.run_blocking<MailboxEngine>(
        slot_, [name](MailboxEngine& e, auto op, Time now, auto& out) {
            e.on_destroy(op, name, now, out);
        }));
}

Status NodeMailbox::send(Pid sender, NodeId host, const std::string& name, Bytes body) {
    return as_status(call({.kind = Command::Kind::send,
                           .process = sender,
                           .host = host,
                           .name = name,
                           .body = std::move(body)}));
}

Result<proto::mailbox::Received> NodeMailbox::receive(Pid receiver, NodeId host,
                                                      const std::string& name, Duration wait,
                                                      const proto::mailbox::ReceiveFilter& filter) {
    HERALD_TRY(auto bytes, call({.kind = Command::Kind::receive,
                                 .process = receiver,
                                 .host = host,
                                 .wait = wait,
                                 .filter = filter,
                                 .name = name}));
    return proto::mailbox::decode_received(bytes);
}

Status NodeMailbox::receive_async(Pid receiver, NodeId host, const std::string& name, Duration wait,
                                  const proto::mailbox::ReceiveFilter& filter, ReceiveDone done) {
    return push({.kind = Command::Kind::receive,
                 .process = receiver,
                 .host = host,
                 .wait = wait,
                 .filter = filter,
                 .name = name,
                 .done = [done = std::move(done)](Result<Bytes> r) {
                     if (!r) return done(fail(r.error()));
                     done(proto::mailbox::decode_received(*r));
                 }});
}

Status NodeMailbox::send_async(Pid sender, NodeId host, const std::string& name, Bytes body,
                               std::function<void(Status)> done) {
    return push({.kind = Command::Kind::send,
                 .process = sender,
                 .host = host,
                 .name = name,
                 .body = std::move(body),
                 .sent = std::move(done)});
}

Status NodeMailbox::grant(const std::string& name, Pid by, proto::mailbox::Grantee who,
                          std::uint8_t rights) {
    return as_status(node_.run_blocking<MailboxEngine>(
        slot_, [=](MailboxEngine& e, auto op, Time now, auto& out) {
            e.on_grant(op, name, by, who, rights, now, out);
        }));
}

Status NodeMailbox::ack(Pid receiver, NodeId host, const std::string& name, std::uint64_t tag) {
    return as_status(call(
        {.kind = Command::Kind::ack, .process = receiver, .host = host, .tag = tag, .name = name}));
}

Result<std::uint64_t> NodeMailbox::post(Pid sender, NodeId host, const std::string& name,
                                        Bytes body) {
    HERALD_TRY(auto bytes, call({.kind = Command::Kind::send,
                                 .process = sender,
                                 .host = host,
                                 .name = name,
                                 .body = std::move(body)}));
    std::uint64_t seq = 0;
    std::size_t offset = 0;
    if (!proto::get_u64(bytes, offset, seq)) {
        return fail(Errc::invalid_argument, "not a board: the host gave the post no seq");
    }
    return seq;
}

Result<proto::mailbox::BoardBatch> NodeMailbox::read(Pid reader, NodeId host,
                                                     const std::string& name, std::uint64_t from,
                                                     std::uint32_t count, Duration wait) {
    HERALD_TRY(auto bytes, node_.run_blocking<MailboxEngine>(
                               slot_, [=](MailboxEngine& e, auto op, Time now, auto& out) {
                                   e.on_read(op, reader, host, name, from, count, wait, now, out);
                               }));
    return proto::mailbox::decode_batch(bytes);
}

Result<proto::mailbox::MailboxCounters> NodeMailbox::counters() {
    return node_.on_loop<Result<proto::mailbox::MailboxCounters>>(
        "mailbox counters", [this]() -> Result<proto::mailbox::MailboxCounters> {
            proto::mailbox::MailboxCounters c;
            node_.run<MailboxEngine>(slot_,
                                     [&](MailboxEngine& e, proto::Effects&) { c = e.counters(); });
            return c;
        });
}

Result<std::vector<proto::mailbox::MailboxStats>> NodeMailbox::stats() {
    return node_.on_loop<Result<std::vector<proto::mailbox::MailboxStats>>>(
        "mailbox stats", [this]() -> Result<std::vector<proto::mailbox::MailboxStats>> {
            std::vector<proto::mailbox::MailboxStats> all;
            node_.run<MailboxEngine>(slot_,
                                     [&](MailboxEngine& e, proto::Effects&) { all = e.stats(); });
            return all;
        });
}

}  // namespace herald::runtime

// NodeMailbox implementation. Layer: runtime.
#include "runtime/node_mailbox.h"

#include <utility>

#include "core/assert.h"

namespace herald::runtime {

using proto::mailbox::MailboxEngine;

NodeMailbox::NodeMailbox(NodeContext& node, const proto::mailbox::MailboxOptions& options)
    : node_(node), options_(options) {}

std::unique_ptr<proto::Engine> NodeMailbox::make_engine(const proto::EngineContext& context) {
    return std::make_unique<MailboxEngine>(context, options_);
}

NodeMailbox::~NodeMailbox() {
    // The node is being destroyed: its command count is no longer kept.
    close_intake(false);
}

void NodeMailbox::finish(Command& command, Result<Bytes> result) {
    if (command.waiter != nullptr) return command.waiter->complete(std::move(result));
    auto done = std::move(command.done);
    try {
        done(std::move(result));
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
        first = intake_.empty();
        intake_.push_back(std::move(command));
    }
    // Only the push that found the intake empty posts: one task takes all that follow it.
    if (first && !node_.post([this] { drain_intake(); })) close_intake();
    return {};
}

Result<Bytes> NodeMailbox::call(Command&& command) {
    if (node_.in_loop_thread()) return fail(Errc::invalid_argument, "on the node's loop thread");
    Waiter waiter;
    command.waiter = &waiter;
    HERALD_TRY(push(std::move(command)));
    return std::move(
        *waiter.wait(std::chrono::steady_clock::time_point::max(), std::chrono::microseconds(0)));
}

void NodeMailbox::close_intake(bool release) {
    std::vector<Command> left;
    {
        std::lock_guard lock(intake_mutex_);
        intake_closed_ = true;
        left.swap(intake_);
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
        batch_.swap(intake_);  // The intake is empty again: the next push posts a new task.
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

void NodeMailbox::start(MailboxEngine& engine, Command& command, Time now, proto::Effects& out) {
    const auto op = command.waiter != nullptr
                        ? node_.begin_operation([waiter = command.waiter](Result<Bytes> result) {
                              waiter->complete(std::move(result));
                          })
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
                 .done = [done = std::move(done)](Result<Bytes> r) { done(as_status(r)); }});
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

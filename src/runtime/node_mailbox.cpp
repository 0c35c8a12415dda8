// NodeMailbox implementation. Layer: runtime.
#include "runtime/node_mailbox.h"

#include <utility>

namespace herald::runtime {

using proto::mailbox::MailboxEngine;

NodeMailbox::NodeMailbox(NodeContext& node, const proto::mailbox::MailboxOptions& options)
    : node_(node), options_(options) {}

std::unique_ptr<proto::Engine> NodeMailbox::make_engine(const proto::EngineContext& context) {
    return std::make_unique<MailboxEngine>(context, options_);
}

template <class F>
Status NodeMailbox::run_async(F&& start, std::function<void(Result<Bytes>)> done) {
    HERALD_TRY(node_.reserve_command());
    // The callback runs exactly once: with the completion, or `closed` if the task never runs.
    struct Once {
        std::function<void(Result<Bytes>)> done;
        ~Once() {
            if (!done) return;
            try {
                done(fail(Errc::closed, "node stopped"));
            } catch (...) {  // An application callback; nothing may leave a destructor.
            }
        }
        void run(Result<Bytes> r) {
            auto f = std::move(done);
            done = nullptr;
            f(std::move(r));
        }
    };
    auto once = std::make_shared<Once>();
    once->done = std::move(done);
    const bool posted = node_.post([this, once, start = std::forward<F>(start)]() mutable {
        node_.release_command();
        if (!node_.accepting()) return once->run(fail(Errc::closed, "node stopped"));
        const auto op =
            node_.begin_operation([once](Result<Bytes> result) { once->run(std::move(result)); });
        const Time now = node_.now();
        node_.run<MailboxEngine>(slot_, [&](MailboxEngine& engine, proto::Effects& out) {
            start(engine, op, now, out);
        });
    });
    if (!posted) {
        node_.release_command();
        once->done = nullptr;
        return fail(Errc::closed, "node stopped");
    }
    return {};
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
    return as_status(node_.run_blocking<MailboxEngine>(
        slot_, [=, body = std::move(body)](MailboxEngine& e, auto op, Time now, auto& out) mutable {
            e.on_send(op, sender, host, name, std::move(body), now, out);
        }));
}

Result<proto::mailbox::Received> NodeMailbox::receive(Pid receiver, NodeId host,
                                                      const std::string& name, Duration wait,
                                                      const proto::mailbox::ReceiveFilter& filter) {
    HERALD_TRY(auto bytes, node_.run_blocking<MailboxEngine>(
                               slot_, [=](MailboxEngine& e, auto op, Time now, auto& out) {
                                   e.on_receive(op, receiver, host, name, wait, now, out, filter);
                               }));
    return proto::mailbox::decode_received(bytes);
}

Status NodeMailbox::receive_async(Pid receiver, NodeId host, const std::string& name, Duration wait,
                                  const proto::mailbox::ReceiveFilter& filter, ReceiveDone done) {
    return run_async(
        [=](MailboxEngine& e, auto op, Time now, auto& out) {
            e.on_receive(op, receiver, host, name, wait, now, out, filter);
        },
        [done = std::move(done)](Result<Bytes> r) {
            if (!r) return done(fail(r.error()));
            done(proto::mailbox::decode_received(*r));
        });
}

Status NodeMailbox::send_async(Pid sender, NodeId host, const std::string& name, Bytes body,
                               std::function<void(Status)> done) {
    return run_async(
        [=, body = std::move(body)](MailboxEngine& e, auto op, Time now, auto& out) mutable {
            e.on_send(op, sender, host, name, std::move(body), now, out);
        },
        [done = std::move(done)](Result<Bytes> r) { done(as_status(r)); });
}

Status NodeMailbox::grant(const std::string& name, Pid by, proto::mailbox::Grantee who,
                          std::uint8_t rights) {
    return as_status(node_.run_blocking<MailboxEngine>(
        slot_, [=](MailboxEngine& e, auto op, Time now, auto& out) {
            e.on_grant(op, name, by, who, rights, now, out);
        }));
}

Status NodeMailbox::ack(Pid receiver, NodeId host, const std::string& name, std::uint64_t tag) {
    return as_status(node_.run_blocking<MailboxEngine>(
        slot_, [=](MailboxEngine& e, auto op, Time now, auto& out) {
            e.on_ack(op, receiver, host, name, tag, now, out);
        }));
}

Result<std::uint64_t> NodeMailbox::post(Pid sender, NodeId host, const std::string& name,
                                        Bytes body) {
    HERALD_TRY(auto bytes, node_.run_blocking<MailboxEngine>(
                               slot_, [=, body = std::move(body)](MailboxEngine& e, auto op,
                                                                  Time now, auto& out) mutable {
                                   e.on_send(op, sender, host, name, std::move(body), now, out);
                               }));
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

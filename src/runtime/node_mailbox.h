// NodeMailbox: the runtime service of the mailbox engine (proto::mailbox::MailboxEngine). The
// engine lives in the node's EngineSet: mailbox_* packets, its timer, its durable writes (the
// node's store, group commit) and its restore at start reach it as they reach every engine.
// This service offers the engine's commands to application threads as blocking calls. It
// reaches the node only through NodeContext. Layer: runtime. Rules: docs/mailboxes.md.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"
#include "proto/mailbox/mailbox_engine.h"
#include "runtime/node_context.h"

namespace herald::runtime {

class NodeMailbox final : public Service {
public:
    explicit NodeMailbox(NodeContext& node, const proto::mailbox::MailboxOptions& options = {});

    // Before the loop: the engine for the node's EngineSet, then the slot it got.
    [[nodiscard]] std::unique_ptr<proto::Engine> make_engine(const proto::EngineContext& context);
    void attach(proto::EngineSlot slot) { slot_ = slot; }

    // --- Application threads (any thread but the loop). Each blocks until the engine
    // completes the command (bounded by its request timeout or wait). Errors as documented on
    // MailboxEngine, plus: invalid_argument (called on the loop thread), queue_full
    // (commands_max queued), closed (the node stopped). ---

    // A mailbox hosted by this node. Persistent mailboxes need the node's data_dir.
    [[nodiscard]] Status create(const proto::mailbox::MailboxSpec& spec);
    [[nodiscard]] Status destroy(const std::string& name);
    [[nodiscard]] Status send(Pid sender, NodeId host, const std::string& name, Bytes body);
    [[nodiscard]] Result<proto::mailbox::Received> receive(
        Pid receiver, NodeId host, const std::string& name, Duration wait,
        const proto::mailbox::ReceiveFilter& filter = {});
    // The same, without blocking: `done` runs once on the loop thread with the outcome (closed
    // when the node stops first). Errc::queue_full (commands_max queued) or closed at once.
    using ReceiveDone = std::function<void(Result<proto::mailbox::Received>)>;
    [[nodiscard]] Status receive_async(Pid receiver, NodeId host, const std::string& name,
                                       Duration wait, const proto::mailbox::ReceiveFilter& filter,
                                       ReceiveDone done);
    // A send that does not block: `done` runs once on the loop thread with send's outcome.
    [[nodiscard]] Status send_async(Pid sender, NodeId host, const std::string& name, Bytes body,
                                    std::function<void(Status)> done);
    [[nodiscard]] Status grant(const std::string& name, Pid by, proto::mailbox::Grantee who,
                               std::uint8_t rights);
    [[nodiscard]] Status ack(Pid receiver, NodeId host, const std::string& name, std::uint64_t tag);
    // Bulletin boards (docs/boards.md): a post (a send to a board) completes with its seq; a
    // read copies up to `count` posts from `from` (0: the reader's cursor).
    [[nodiscard]] Result<std::uint64_t> post(Pid sender, NodeId host, const std::string& name,
                                             Bytes body);
    [[nodiscard]] Result<proto::mailbox::BoardBatch> read(Pid reader, NodeId host,
                                                          const std::string& name,
                                                          std::uint64_t from, std::uint32_t count,
                                                          Duration wait);
    [[nodiscard]] Result<std::vector<proto::mailbox::MailboxStats>> stats();
    [[nodiscard]] Result<proto::mailbox::MailboxCounters> counters();

private:
    // Runs `start(engine, op, now, out)` on the loop; `done` gets op's completion there.
    template <class F>
    [[nodiscard]] Status run_async(F&& start, std::function<void(Result<Bytes>)> done);

    NodeContext& node_;
    proto::mailbox::MailboxOptions options_;
    proto::EngineSlot slot_ = 0;
};

}  // namespace herald::runtime

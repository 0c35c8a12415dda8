// NodeMailbox: the runtime service of the mailbox engine (proto::mailbox::MailboxEngine). The
// engine lives in the node's EngineSet: mailbox_* packets, its timer, its durable writes (the
// node's store, group commit) and its restore at start reach it as they reach every engine.
// This service offers the engine's commands to application threads as blocking calls. It
// reaches the node only through NodeContext. Layer: runtime. Rules: docs/mailboxes.md.
#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"
#include "proto/mailbox/mailbox_engine.h"
#include "runtime/node_context.h"
#include "runtime/spin_waiter.h"
#include "runtime/store_writer.h"

namespace herald::runtime {

// How many send, receive and ack commands the intake holds for the loop (each also counts
// against the node's commands_max): one more is refused with Errc::queue_full. 1024 is four
// windows of 256 in flight, and 64 KiB of records at most.
inline constexpr std::size_t mailbox_intake_max = 1024;

class NodeMailbox final : public Service {
public:
    // `caller_poll`: how long one blocking send or ack at a time polls for its answer, yielding,
    // before it sleeps (the node's durable_poll with a store; zero: callers sleep at once).
    explicit NodeMailbox(NodeContext& node, const proto::mailbox::MailboxOptions& options = {},
                         Duration caller_poll = Duration::zero());
    // Completes every command still in the intake with Errc::closed (the loop never ran it).
    ~NodeMailbox() override;
    NodeMailbox(const NodeMailbox&) = delete;
    NodeMailbox& operator=(const NodeMailbox&) = delete;

    // Before the loop: the engine for the node's EngineSet, then the slot it got.
    [[nodiscard]] std::unique_ptr<proto::Engine> make_engine(const proto::EngineContext& context);
    void attach(proto::EngineSlot slot) { slot_ = slot; }

    // --- Application threads (any thread but the loop). Each blocks until the engine
    // completes the command (bounded by its request timeout or wait). Errors as documented on
    // MailboxEngine, plus: invalid_argument (called on the loop thread), queue_full
    // (commands_max queued, or for send, receive, ack and post mailbox_intake_max in the
    // intake), closed (the node stopped). Send, receive, ack and post (and the _async forms)
    // go through the intake: a bounded queue that one loop task empties, running the engine
    // on all its commands in one input (docs/mailboxes.md "Command intake"). ---

    // A mailbox hosted by this node. Persistent mailboxes need the node's data_dir.
    [[nodiscard]] Status create(const proto::mailbox::MailboxSpec& spec);
    [[nodiscard]] Status destroy(const std::string& name);
    [[nodiscard]] Status send(Pid sender, NodeId host, const std::string& name, Bytes body);
    [[nodiscard]] Result<proto::mailbox::Received> receive(
        Pid receiver, NodeId host, const std::string& name, Duration wait,
        const proto::mailbox::ReceiveFilter& filter = {});
    // The same, without blocking: `done` runs once on the loop thread with the outcome (closed
    // when the node stops first). Errc::queue_full (commands_max or mailbox_intake_max queued)
    // or closed at once, and then `done` never runs; closed through `done` when the loop closed
    // with the command queued. Any thread, the loop's too.
    using ReceiveDone = std::function<void(Result<proto::mailbox::Received>)>;
    [[nodiscard]] Status receive_async(Pid receiver, NodeId host, const std::string& name,
                                       Duration wait, const proto::mailbox::ReceiveFilter& filter,
                                       ReceiveDone done);
    // A send that does not block: `done` runs once on the loop thread with send's outcome
    // (closed when the node stops first); errors at once as receive_async's.
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
    // A blocking caller's answer. The loop completes it, or for a persistent send to this node
    // the store writer once the write is durable (docs/mailboxes.md "Completion of a persistent
    // send"); whichever claims the call's ticket first completes it, the other leaves it alone.
    // It lives in the service's pool, not on the caller's stack, so that the one that comes
    // second may still look at it. A send or ack polls for its answer for caller_poll first,
    // yielding its core between looks, if no other caller of the service polls then (one at a
    // time: 256 blocked senders must not all take cores from the loop and the store writer);
    // a busy spin never pays here (a persistent answer comes after a whole commit:
    // docs/performance.md, "The loop's poll").
    class Waiter final : public DurableWaiter {
    public:
        explicit Waiter(NodeMailbox& service) : service_(service) {}
        // Caller thread: readies it for a new call and returns that call's ticket.
        std::uint64_t arm();
        // Any thread: completes call `ticket` with `result` unless it was completed already.
        void complete(std::uint64_t ticket, Result<Bytes> result);
        // Store writer thread, after the commit's loop task was posted (StoreWriter::write).
        void answer_durable(std::uint64_t ticket) override;
        // Caller thread: the outcome of the call armed last, polled for up to `poll` first.
        [[nodiscard]] Result<Bytes> wait(Duration poll);

    private:
        NodeMailbox& service_;
        std::atomic<std::uint64_t> armed_{0};  // The waiting call's ticket; 0 once completed.
        std::uint64_t tickets_ = 0;            // Caller thread (the pool hands it over).
        std::optional<SpinWaiter<Result<Bytes>>> answer_;
    };
    // One queued send, receive or ack; its outcome goes to `waiter` or, if null, to `done` or
    // `sent`.
    struct Command {
        enum class Kind : std::uint8_t { send, receive, ack };
        Kind kind = Kind::send;
        Pid process{};
        NodeId host{};
        std::uint64_t tag = 0;
        Duration wait = Duration::zero();
        proto::mailbox::ReceiveFilter filter{};
        std::string name{};
        Bytes body{};
        Waiter* waiter = nullptr;
        std::uint64_t ticket = 0;  // The call's ticket on `waiter`.
        Completion done{};
        std::function<void(Status)> sent{};  // send_async's `done` (then `done` is empty).
    };
    // A waiter from the pool (a new one when none is idle) and back.
    [[nodiscard]] Waiter& take_waiter();
    void give_back(Waiter& waiter);

    // Queues `command` for the loop, posting the drain task if the intake was empty.
    // Errc::queue_full, closed (then `command` was not queued and nothing completes it).
    [[nodiscard]] Status push(Command&& command);
    // push() and wait for the outcome. Not on the loop thread.
    [[nodiscard]] Result<Bytes> call(Command&& command);
    // The loop task: takes the oldest segment of queued commands (all of them, unless the
    // intake was sealed since) and runs the engine on all of them at once.
    void drain_intake();
    // Closes the intake's newest segment to later pushes: the next push posts a task of its
    // own, behind the loop tasks posted so far. Any thread.
    void seal_intake();
    void start(proto::mailbox::MailboxEngine& engine, Command& command, Time now,
               proto::Effects& out);
    // Refuses later pushes and completes every queued command with Errc::closed, releasing
    // their commands_max reservations if `release`.
    void close_intake(bool release = true);
    static void finish(Command& command, Result<Bytes> result);

    NodeContext& node_;
    proto::mailbox::MailboxOptions options_;
    const Duration caller_poll_;
    std::atomic<bool> caller_polling_{false};  // A caller polls for its answer now.
    proto::EngineSlot slot_ = 0;
    std::mutex intake_mutex_;
    // Guarded by intake_mutex_: at most mailbox_intake_max commands, in push order, in
    // segments that one posted task each takes: the sizes of the sealed ones, oldest first,
    // then (if `joinable_`) one whose task is posted and that takes pushes.
    std::vector<Command> intake_;
    std::deque<std::size_t> sealed_;
    bool joinable_ = false;
    bool intake_closed_ = false;  // Guarded by intake_mutex_.
    std::vector<Command> batch_;  // The commands being run. Loop thread.
    // Every waiter ever taken (as many as callers blocked at once at most), kept until the
    // service is destroyed, after the node's loop and store writer ended; the idle ones.
    std::mutex pool_mutex_;
    std::deque<Waiter> waiters_;  // Guarded by pool_mutex_ (growth; elements never move).
    std::vector<Waiter*> idle_;   // Guarded by pool_mutex_.
};

}  // namespace herald::runtime

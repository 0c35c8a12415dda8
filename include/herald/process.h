// Process: a lightweight communicating entity hosted by a Node, with a Pid, an inbox and the
// lecture's send and receive primitives (blocking, non-blocking, asynchronous, selective).
// Public API; docs/api.md describes every call, its blocking behaviour and its errors.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "herald/errors.h"
#include "herald/export.h"
#include "herald/group.h"
#include "herald/ids.h"
#include "herald/mailbox.h"
#include "herald/naming.h"
#include "herald/rpc.h"
#include "herald/send_options.h"

namespace herald {

namespace runtime {
class Node;
class ProcessState;
}  // namespace runtime

// The lecture's buffering strategies, chosen by each receiving process.
enum class Buffering : std::uint8_t {
    send_after_receive,  // No buffer: data moves once the receiver executes receive.
    send_discard_retry,  // No buffer: a receiver not waiting discards; the sender retransmits.
    single,              // One slot: the sender blocks while it is full.
    multiple,            // queue_limit slots, credit-based flow control.
};

struct ProcessOptions {
    Buffering buffering = Buffering::multiple;
    std::uint32_t queue_limit = 1024;  // Inbox slots for `multiple` (1..2^20); `single` uses 1.
    // 0: a fresh id. Otherwise a well-known id in [1, 2^32) that the process keeps across node
    // restarts (services); Errc::already_exists when taken.
    std::uint64_t local_id = 0;
    std::string name;  // Registered on the node (Node::whereis) while the process lives.
};

// A received message: who sent it, when (sender's wall clock), its sequence number on the
// (source, target) channel (1, 2, 3, ... in send order), and the body.
struct Envelope {
    Pid source;
    Pid target;
    std::uint64_t seq = 0;
    std::int64_t sent_unix_ns = 0;
    Bytes body;
    // The group engine delivered it (a multicast to, or a new view of, a group this process
    // joined): decode_group_message (herald/group.h) reads the body. False: a direct message.
    bool group = false;
    // The ordering engine delivered it (an ordered multicast, Process::ordered_multicast; also
    // `group`): decode_group_message reads it too, with GroupMessage::ordered set.
    bool ordered = false;

    [[nodiscard]] std::string_view text() const {
        return {reinterpret_cast<const char*>(body.data()), body.size()};
    }
};

using SendDone = std::function<void(Status)>;
using ReceiveDone = std::function<void(Result<Envelope>)>;

// Thread safety: a Process may be used by one thread at a time (move it between threads
// freely). Its callbacks (send_async, receive_async) run on the node's loop thread and must
// not block. Moving a Process is cheap; copying is not allowed. Destroying it ends the process.
class HERALD_API Process {
public:
    Process(Process&&) noexcept;
    Process& operator=(Process&&) noexcept;
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    ~Process();

    [[nodiscard]] Pid pid() const;

    // Sends `body` to `to` and blocks until options.mode's completion point. Errors:
    // timeout (options.timeout passed), unreachable (the destination node does not answer),
    // no_such_process (it answered: no such process), queue_full (on_full fail/buffer and no
    // room), too_large (body over the node's message limit), peer_restarted (the destination
    // node restarted while the message was in flight), closed (this process or node ended),
    // invalid_argument (invalid pid; called from a callback on the loop thread).
    [[nodiscard]] Status send(Pid to, ByteView body, const SendOptions& options = {});
    [[nodiscard]] Status send(Pid to, Bytes&& body, const SendOptions& options = {});
    [[nodiscard]] Status send(Pid to, std::string_view text, const SendOptions& options = {});

    // The same, to a text address (herald/address.h): "<pid>", "<pid>@<url>" (its node is
    // connected first) or a name, resolved through the name server and cached (Node::
    // lookup_name). When the send to a cached owner fails no_such_process, the name is
    // looked up again at the server once and, if its owner changed, sent to the new one.
    // Errors of send, plus: invalid_argument (malformed address), not_found (no such name),
    // and the errors of Node::lookup_name. The owner's node must be reachable (connect()).
    [[nodiscard]] Status send(std::string_view to, Bytes body, const SendOptions& options = {});
    [[nodiscard]] Status send(std::string_view to, std::string_view text,
                              const SendOptions& options = {});

    // --- Migration (docs/migration.md, docs/api.md "Migration") ---
    // Moves this process to node `to` (which this node must know: connect()) with its queued
    // messages and the application's `state`; the pid stays the same, and messages sent to it
    // keep arriving, in order, once each. Blocks until the move is decided (at most ~5 s).
    // On success this handle is empty (pid() is invalid, receive returns closed): the target
    // node's arrival handler (Node::on_arrival) gets the process and `state`. On failure the
    // process stays here with its queue. Errc::invalid_argument (`to` is this node or 0; the
    // buffering is send_after_receive or send_discard_retry; called from a callback),
    // would_block (this process has sends in flight, or is migrating), queue_full (too many
    // forwarding entries here, or arrivals at the target), too_large (queue and state over
    // the message limit), unreachable (the target did not answer), already_exists (the target
    // hosts this pid already), closed. A process that migrated sends from its new node, in
    // order with what it sent before (docs/migration.md M15); its calls, mailbox operations
    // and multicasts are refused (invalid_argument) until it is back on its pid's node.
    [[nodiscard]] Status migrate(NodeId to, ByteView state = {});

    // --- Names (herald/naming.h, docs/naming.md) ---
    // Registers `name` for this process (or renews it when this process holds it already).
    // This node renews the lease every third of `lease` while the process lives, and
    // unregisters the name when the process exits. Blocks for a round trip to the name server.
    // Errc::already_exists (another process holds it; detail names the owner),
    // invalid_argument (bad name: check_name; lease <= 0), queue_full (1024 names held by
    // this node's processes, or too many requests in flight), storage_error (the server could
    // not make it durable), unreachable (no name server answered), closed.
    [[nodiscard]] Status register_name(std::string_view name,
                                       std::chrono::nanoseconds lease = default_name_lease);
    // Unregisters `name`, which this process must hold. Errc::not_found, access_denied
    // (another process holds it), invalid_argument, unreachable, closed.
    [[nodiscard]] Status unregister_name(std::string_view name);

    // --- Groups (herald/group.h, docs/groups.md). Each blocks for a round trip to the group
    // server (up to 5 s when it does not answer: then Errc::timeout, and the change may have
    // happened). Errors also: invalid_argument (bad name: check_group_name; called from a
    // callback), queue_full (too many requests in flight), unreachable (no group server
    // configured or answering its URL), closed.
    // Adds this process to group `name`: the view that holds it (the current one if it was a
    // member). From then on it receives the group's views and multicasts (Envelope::group).
    // Errc::not_found (no such group), queue_full (64 members).
    [[nodiscard]] Result<GroupView> join_group(std::string_view name);
    // Removes this process from `name`: the view without it. Errc::not_found (no such group,
    // or not a member).
    [[nodiscard]] Result<GroupView> leave_group(std::string_view name);
    // Multicasts `body` to the members of `name` (this process need not be one, unless the
    // group is closed) and blocks until `reliability` is met or `timeout` passes. Errc::
    // timeout (detail: responses=r of k and who), access_denied (closed group, not a member),
    // not_found, invalid_argument (reliability above the view's size; timeout <= 0),
    // too_large (over 1 MiB), would_block (1024 multicasts outstanding on this node),
    // unreachable (the view could not be looked up).
    // `atomicity` atomic or fault_tolerant_atomic (docs/groups.md G23): sent through the
    // group's ordering streams as ordered_multicast does (this process must be a member; the
    // members get it as an Envelope with `ordered` set, its view id the view it was sent and
    // delivered in); `reliability` must be none (else invalid_argument). Returns once the
    // message is accepted (the view id, no responders), waiting while the engine pushes back,
    // with ordered_multicast's errors (not_found: not a member; timeout: still pushed back).
    [[nodiscard]] Result<MulticastResult> multicast(
        std::string_view name, ByteView body, Reliability reliability = Reliability::all(),
        std::chrono::nanoseconds timeout = std::chrono::seconds(5),
        Atomicity atomicity = Atomicity::none);
    [[nodiscard]] Result<MulticastResult> multicast(
        std::string_view name, std::string_view text, Reliability reliability = Reliability::all(),
        std::chrono::nanoseconds timeout = std::chrono::seconds(5),
        Atomicity atomicity = Atomicity::none);

    // Request multicast (docs/groups.md G24; the many-to-one collection of answers): multicasts
    // `body` to the members of `name` as a request (their GroupMessage::request() is true) and
    // blocks until `collect` is met: its count of answers (Process::reply) from any addressed
    // member, or from those in collect.from only. A member that leaves the view (or is removed
    // as crashed) while the call waits is not waited for (CollectResult::departed): "all" is
    // then every addressed member still in the view. When `timeout` passes first the result
    // is ok with timed_out set and the answers received (a partial result). Answers arriving
    // after the call returned are discarded and counted (NodeStats::group_answers_late).
    // This process is never addressed (it waits here; its node does not deliver it the
    // request). Errors (nothing was sent): invalid_argument (bad name; timeout <= 0 or forever;
    // count 0; count above the members addressed; collect.from naming a pid twice, this
    // process or a pid not in the view; no member but this process), not_found,
    // access_denied, unreachable, queue_full, closed; those of multicast (too_large,
    // would_block). The request is resent to the addressed members that have not got it
    // until each has or the timeout ends (the call waits for answers, not for receipt).
    [[nodiscard]] Result<CollectResult> multicast_request(
        std::string_view name, ByteView body, const Collect& collect = Collect::all(),
        std::chrono::nanoseconds timeout = std::chrono::seconds(5));
    [[nodiscard]] Result<CollectResult> multicast_request(
        std::string_view name, std::string_view text, const Collect& collect = Collect::all(),
        std::chrono::nanoseconds timeout = std::chrono::seconds(5));
    // Answers `request` (a GroupMessage this process received with request() true) with
    // `body`: a direct message to its reply_to, with the direct protocol's reliability. Blocks
    // until the requester's node accepted it. Errc::invalid_argument (not a request: a view,
    // or a multicast that asked for no answer), no_such_process (the collection already
    // ended: counted late), and the errors of send.
    [[nodiscard]] Status reply(const GroupMessage& request, ByteView body);
    [[nodiscard]] Status reply(const GroupMessage& request, std::string_view text);

    // Ordered multicast (docs/ordering.md; docs/api.md "Ordered groups"): sends `body` from
    // this process, a member of `name`, to its ordering view of the group. Every member of that
    // view that survives it receives it once, in the group's order (GroupView::order), as an
    // Envelope with `ordered` set. Returns once the message is accepted, not delivered. Waits,
    // up to `timeout`, while the ordering engine pushes back (a view change being flushed, 64
    // own messages not yet acknowledged by every member, 4096 sent in this view) or has not
    // installed the view that holds this process yet (just after join_group). Errc::not_found
    // (no such group on this node, or this process is not a member of it), too_large (over
    // 1 MiB), timeout (still pushed back, or no ordering view, after `timeout`),
    // invalid_argument (bad name; timeout <= 0 or forever), queue_full, unreachable (no group
    // engine on this node), closed.
    [[nodiscard]] Status ordered_multicast(
        std::string_view name, ByteView body,
        std::chrono::nanoseconds timeout = std::chrono::seconds(5));
    [[nodiscard]] Status ordered_multicast(
        std::string_view name, std::string_view text,
        std::chrono::nanoseconds timeout = std::chrono::seconds(5));
    // Several ordered multicasts in one hop to the node (one wake-up of its loop for the batch
    // instead of one per message; for a sender that has many messages ready): `bodies` in
    // order, each as ordered_multicast would send it, until the ordering engine pushes one
    // back. Returns how many were accepted (the first ones, at least 1); the caller sends the
    // rest later. Waits, up to `timeout`, only while the first is pushed back. Errors as
    // ordered_multicast (when the first is refused), and invalid_argument when `bodies` is
    // empty or holds more than ordered_batch_max.
    static constexpr std::size_t ordered_batch_max = 1024;
    [[nodiscard]] Result<std::size_t> ordered_multicast_many(
        std::string_view name, std::span<const ByteView> bodies,
        std::chrono::nanoseconds timeout = std::chrono::seconds(5));
    // The view this process's ordered multicasts go to now: the group engine's view once the
    // ordering engine installed it (after flushing the one before, O29-O32). Errc::not_found
    // (not a member, or the view that holds it is not installed yet), invalid_argument,
    // unreachable (no group engine), closed. Blocks for one hop to the node's loop.
    [[nodiscard]] Result<GroupView> ordered_view(std::string_view name);

    // Starts a send and returns at once; the outcome (errors as send) arrives later.
    // The future form never blocks the caller; the callback runs on the loop thread.
    // Returns/reports Errc::queue_full at once when too many sends are queued to the node.
    [[nodiscard]] std::future<Status> send_async(Pid to, Bytes body,
                                                 const SendOptions& options = {});
    [[nodiscard]] Status send_async(Pid to, Bytes body, const SendOptions& options, SendDone done);

    // Blocking receives, each up to `timeout` (Errc::timeout; Errc::closed when the process or
    // node ends). receive: the oldest message from any sender (asymmetric addressing).
    // receive_from: only from `from` (symmetric). receive_any_of: from any sender in `from`
    // (selective receive from a set). Messages that do not match stay queued, in order.
    [[nodiscard]] Result<Envelope> receive(std::chrono::nanoseconds timeout = forever);
    [[nodiscard]] Result<Envelope> receive_from(Pid from,
                                                std::chrono::nanoseconds timeout = forever);
    [[nodiscard]] Result<Envelope> receive_any_of(std::span<const Pid> from,
                                                  std::chrono::nanoseconds timeout = forever);
    // receive_from a text address (herald/address.h): "<pid>", "<pid>@<url>" or a name, turned
    // into a pid first as Node::resolve does (a name: its owner now, through the name server
    // or the node's cache), then only that pid's messages. Errors of Node::resolve
    // (invalid_argument, not_found, unreachable), then those of receive_from.
    [[nodiscard]] Result<Envelope> receive_from(std::string_view from,
                                                std::chrono::nanoseconds timeout = forever);

    // Non-blocking receive: a message, or Errc::would_block when none (matching) is queued.
    [[nodiscard]] Result<Envelope> try_receive();

    // A handle through which this process sends to and receives from mailbox `name` hosted by
    // node `host` (this node's id for a local one; connect() to a remote node first).
    // Blocks for one round trip to the host. Errc::invalid_argument (bad name: 1-64 bytes of
    // [A-Za-z0-9._-]; unknown host id), not_found (no such mailbox), unreachable (no answer
    // from the host), closed (this process ended). See herald/mailbox.h.
    [[nodiscard]] Result<Mailbox> open_mailbox(NodeId host, std::string_view name);
    // A handle on bulletin board `name` of node `host` (docs/boards.md). Blocks for one round
    // trip. Errors as open_mailbox, and invalid_argument when `name` is a mailbox, not a board.
    [[nodiscard]] Result<Board> open_board(NodeId host, std::string_view name);
    [[nodiscard]] Result<Envelope> try_receive_any_of(std::span<const Pid> from);

    // Asynchronous receive: `done` runs once on the loop thread with the next message (any
    // sender), or Errc::timeout / Errc::closed. One pending at a time (a second gets
    // Errc::invalid_argument). Returns Errc::closed without running `done` if the node stopped.
    [[nodiscard]] Status receive_async(ReceiveDone done,
                                       std::chrono::nanoseconds timeout = forever);
    // The same, for the next message from a sender in `from` (selective receive); messages
    // from others stay queued, in order, for later receives.
    [[nodiscard]] Status receive_async_any_of(std::span<const Pid> from, ReceiveDone done,
                                              std::chrono::nanoseconds timeout = forever);

    // For programs with their own event loop: a file descriptor that is readable while messages
    // are queued (poll/epoll it for POLLIN; do not read it yourself; rarely it wakes a poll for
    // a message another thread took meanwhile, and dispatch() returns 0), and dispatch(),
    // which hands up to `max` queued messages to `handler` on the calling thread and returns
    // how many. Errc::io_error when the system refuses an eventfd.
    [[nodiscard]] Result<int> notify_fd();
    // Messages in this process's inbox now, received and not yet taken (a snapshot, for
    // monitoring: `herald status` shows it). Any thread; 0 once the process has exited.
    [[nodiscard]] std::size_t queued() const;
    std::size_t dispatch(const std::function<void(Envelope&&)>& handler,
                         std::size_t max = std::numeric_limits<std::size_t>::max());

    // --- RPC (herald/rpc.h; docs/api.md, "RPC") ---

    // This process serves `operation`: each request runs `handler` on one of the node's handler
    // threads. Blocks briefly (one hop to the loop thread). Errc::invalid_argument (operation
    // empty or over 255 bytes, empty handler, called from a callback), already_exists (this
    // process already serves it), closed. Serving ends when the process exits.
    [[nodiscard]] Status serve(std::string operation, Handler handler,
                               const ServeOptions& options = {});
    // Same, for a handler that changes durable state (StateWrites), committed atomically with
    // its reply. Needs the node's data_dir (else Errc::invalid_argument).
    [[nodiscard]] Status serve_with_state(std::string operation, StatefulHandler handler,
                                          const ServeOptions& options = {});

    // Calls `operation` of `server` and blocks until its outcome: the response body, or
    // timeout (options.timeout), request_lost (retries exhausted, no sign of the server),
    // response_lost (the server acknowledged or answered, then went silent), server_crashed
    // (the server restarted and the call may or may not have run), no_such_process,
    // no_such_operation, application_error (the handler failed; detail has its text),
    // unreachable (no address known for the server's node: connect or resolve first),
    // queue_full (the server stayed busy; too many calls outstanding), too_large,
    // invalid_argument (bad pid, operation or options; called from a callback), closed.
    [[nodiscard]] Result<Bytes> call(Pid server, std::string_view operation, ByteView request,
                                     const CallOptions& options = {});
    [[nodiscard]] Result<Bytes> call(Pid server, std::string_view operation, std::string_view text,
                                     const CallOptions& options = {});
    // The same, to a text address (pid, pid@url or name) resolved as send(std::string_view)
    // does, with the same one retry after no_such_process at a cached owner.
    [[nodiscard]] Result<Bytes> call(std::string_view server, std::string_view operation,
                                     ByteView request, const CallOptions& options = {});
    [[nodiscard]] Result<Bytes> call(std::string_view server, std::string_view operation,
                                     std::string_view text, const CallOptions& options = {});
    // Starts a call and returns at once; many may be outstanding. The outcome (errors as call)
    // completes the future, or runs `done` once on the loop thread. Errors that stop the call
    // from starting are returned (callback form) or complete the future at once.
    [[nodiscard]] std::future<Result<Bytes>> call_async(Pid server, std::string_view operation,
                                                        Bytes request,
                                                        const CallOptions& options = {});
    [[nodiscard]] Status call_async(Pid server, std::string_view operation, Bytes request,
                                    const CallOptions& options, CallDone done);
    // The same, completing into `queue` as CallCompletion{tag, outcome} (the fast path for many
    // calls in flight: calls reach the loop in batches, completions come back in batches).
    // Errc::queue_full also when `queue` holds capacity() calls not taken yet; an error
    // returned here means the call did not start and takes no slot.
    [[nodiscard]] Status call_async(Pid server, std::string_view operation, Bytes request,
                                    const CallOptions& options, CallQueue& queue,
                                    std::uint64_t tag);

    // Ends the process now (the destructor does the same): queued messages are dropped, later
    // messages to its pid fail with no_such_process, blocked calls return Errc::closed. A
    // process that serves RPC operations stops serving and first waits for its running
    // handlers to return (not for its own, when a handler calls exit).
    void exit();

private:
    friend class Node;
    Process(std::shared_ptr<runtime::Node> node, std::shared_ptr<runtime::ProcessState> state);
    // ordered_multicast and atomic multicast: the view id the message was accepted in.
    [[nodiscard]] Result<std::uint64_t> ordered_send(std::string_view name, ByteView body,
                                                     std::chrono::nanoseconds timeout, bool relay);

    std::shared_ptr<runtime::Node> node_;
    std::shared_ptr<runtime::ProcessState> state_;
};

}  // namespace herald

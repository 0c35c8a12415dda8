// Mailboxes: indirect communication through named queues hosted by a node (the lecture's
// mailboxes / ports), transient (memory) or persistent (durable until acknowledged), shared by
// any number of senders and competing receivers, with access rights and selective receive.
// Public API; docs/api.md ("Mailboxes") and docs/mailboxes.md (the protocol and its rules).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "herald/bytes.h"
#include "herald/errors.h"
#include "herald/export.h"
#include "herald/ids.h"
#include "herald/send_options.h"

namespace herald {

namespace runtime {
class Node;
class ProcessState;
}  // namespace runtime

enum class Durability : std::uint8_t {
    transient,   // In memory: lost with the host; a message handed out is gone.
    persistent,  // On the host's disk before a send returns; kept until acknowledged.
};

// Rights on a mailbox, ored (docs/mailboxes.md M21).
namespace mailbox_rights {
inline constexpr std::uint8_t none = 0;
inline constexpr std::uint8_t send = 1;
inline constexpr std::uint8_t receive = 2;  // Receive, peek, take and acknowledge.
inline constexpr std::uint8_t all = send | receive;
}  // namespace mailbox_rights

struct MailboxOptions {
    Durability durability = Durability::transient;
    std::uint32_t capacity_messages = 1024;  // A send beyond it: Errc::queue_full.
    std::uint64_t capacity_bytes = 16u << 20;
    // Only the owner and the pids or nodes granted rights may use it (else everyone may).
    bool restricted = false;
};

// A message taken from a mailbox. Persistent: acknowledge it (Mailbox::ack) within the lease
// (5 s) or it goes back to the mailbox and is handed out again with `redelivery` set.
struct MailboxMessage {
    std::uint64_t tag = 0;         // What ack takes; unique per host incarnation.
    std::uint64_t message_id = 0;  // The sender's id for it (duplicate suppression).
    std::uint32_t deliveries = 0;  // Hand-outs by this host incarnation, 1 = the first.
    bool redelivery = false;       // It may have been handed out before (lease ended, restart).
    Pid sender;
    std::uint64_t seq = 0;  // Its place in the mailbox.
    Bytes body;

    [[nodiscard]] std::string_view text() const {
        return {reinterpret_cast<const char*>(body.data()), body.size()};
    }
};

struct MailboxInfo {
    std::string name;
    Durability durability = Durability::transient;
    std::uint32_t capacity_messages = 0;
    std::uint64_t capacity_bytes = 0;
    std::uint32_t messages = 0;  // Queued, leased and being written.
    std::uint64_t bytes = 0;
    std::uint32_t queued = 0, leased = 0, waiters = 0;
    bool restricted = false;
    Pid owner;  // Invalid: the host node itself.
    std::uint32_t grants = 0;
    // Bulletin boards (docs/boards.md); capacity_messages is then the retention by count.
    bool board = false;
    std::uint64_t retain_ms = 0;  // Retention by age (0: none).
    std::uint32_t readers = 0;    // Reader cursors kept.
    std::uint64_t first_seq = 0;  // The oldest retained post (0: none).
    std::uint64_t next_seq = 0;   // The seq the next post gets.
};

// The node's mailbox counters (a snapshot): as host of its mailboxes, and as a client.
struct MailboxCounters {
    std::uint64_t accepted = 0;         // Messages stored in this node's mailboxes.
    std::uint64_t duplicate_sends = 0;  // Resent sends answered without storing again.
    std::uint64_t delivered = 0;        // Hand-outs to receivers.
    std::uint64_t redelivered = 0;      // Leases that ended without an ack (message back).
    std::uint64_t acknowledged = 0;     // Persistent messages acknowledged.
    std::uint64_t discarded = 0;        // Transient messages lost (destroyed unreceived).
    std::uint64_t refused_full = 0;     // Sends refused because the mailbox was full.
    std::uint64_t storage_errors = 0;   // Durable writes that failed.
    std::uint64_t retransmits = 0;      // Client requests sent again (no answer yet).
    std::uint64_t board_posts = 0;      // Posts accepted by this node's boards.
    std::uint64_t board_evicted = 0;    // Posts dropped by a board's retention.
    std::uint64_t board_reads = 0;      // Board reads answered with posts.
};

using MailboxReceiveDone = std::function<void(Result<MailboxMessage>)>;
using MailboxSendDone = std::function<void(Status)>;
class MailboxReady;  // The fd form's state (library-internal).
using MailboxPredicate = std::function<bool(const MailboxMessage&)>;

// A process's handle on mailbox `name` of node `host` (Process::open_mailbox). Opening costs
// one round trip (a peek that takes nothing): it fails when the mailbox does not exist, and
// tells this node the host's incarnation. A missing right shows at the first send or receive
// (access_denied). Calls fail with Errc::closed once the process or node ended.
// Thread safety: like its Process, one thread at a time; callbacks run on the loop thread.
class HERALD_API Mailbox {
public:
    Mailbox(Mailbox&&) noexcept;
    Mailbox& operator=(Mailbox&&) noexcept;
    Mailbox(const Mailbox&) = delete;
    Mailbox& operator=(const Mailbox&) = delete;
    ~Mailbox();

    [[nodiscard]] NodeId host() const { return host_; }
    [[nodiscard]] const std::string& name() const { return name_; }

    // Puts `body` in the mailbox. options.mode: `accepted` (and `delivered`: the mailbox is
    // the destination's buffer) returns once the host has it (persistent: on its disk);
    // `nonblocking` returns once this node has taken it (the outcome is not reported: use
    // send_async to learn it). options.on_full when the mailbox is full: `block` tries again
    // (a new message each time, 10 ms doubling to 200 ms apart) until options.timeout, then
    // Errc::timeout; `fail` returns queue_full at once; `buffer` is invalid_argument (the
    // mailbox is the buffer). Errors: not_found, access_denied, queue_full, too_large (over
    // 1 MiB), storage_error, closed (destroyed meanwhile, or this process ended), timeout /
    // peer_restarted (no answer within 5 s / the host restarted: the message may or may not
    // be in the mailbox; sending it again may duplicate it).
    [[nodiscard]] Status send(ByteView body, const SendOptions& options = {});
    [[nodiscard]] Status send(std::string_view text, const SendOptions& options = {});
    // Starts a send and returns at once; `done` runs once on the loop thread with what an
    // `accepted` send with on_full `fail` would return (on_full `block` or `buffer` here:
    // invalid_argument). Errc::queue_full / closed at once when the node cannot take it.
    [[nodiscard]] Status send_async(Bytes body, MailboxSendDone done);
    [[nodiscard]] std::future<Status> send_async(Bytes body);

    // Takes the oldest message, waiting up to `timeout` (forever: std::chrono::nanoseconds::max())
    // for one. Errc::timeout (none came), not_found, access_denied, closed (destroyed while
    // waiting, or this process ended), unreachable (the host does not answer).
    [[nodiscard]] Result<MailboxMessage> receive(std::chrono::nanoseconds timeout);
    // Errc::would_block when the mailbox holds no message now (one round trip to the host).
    [[nodiscard]] Result<MailboxMessage> try_receive();
    // Only messages of `sender` (a pid; local id 0: any process of that node); the others stay
    // queued, in order.
    [[nodiscard]] Result<MailboxMessage> receive_from(Pid sender, std::chrono::nanoseconds timeout);
    // The oldest message for which `predicate` holds (run here, on each candidate's copy, in
    // order; peek then take, docs/mailboxes.md M19-M20). Errors as receive.
    [[nodiscard]] Result<MailboxMessage> receive_if(const MailboxPredicate& predicate,
                                                    std::chrono::nanoseconds timeout);
    // Asynchronous: `done` runs once on the node's loop thread (must not block), with what
    // receive would return (timeout at most 60 s here). Errc::queue_full / closed at once.
    [[nodiscard]] Status receive_async(std::chrono::nanoseconds timeout, MailboxReceiveDone done);
    [[nodiscard]] std::future<Result<MailboxMessage>> receive_async(
        std::chrono::nanoseconds timeout);

    // The fd form, for an event loop of one's own: start_receive begins one receive (errors
    // as receive_async; Errc::queue_full while one started is not yet taken), receive_fd is
    // readable (POLLIN; do not read it) once its outcome is in, take_received returns that
    // outcome (Errc::would_block before). The fd lives as long as the handle.
    [[nodiscard]] Status start_receive(std::chrono::nanoseconds timeout);
    [[nodiscard]] Result<int> receive_fd();
    [[nodiscard]] Result<MailboxMessage> take_received();

    // Acknowledges a persistent message: the host forgets it (once erased on disk). A
    // transient one needs none (ok). Errc::not_found: its lease ended and it went back to the
    // mailbox (it will come again, marked redelivery), or the host restarted.
    [[nodiscard]] Status ack(const MailboxMessage& message);
    [[nodiscard]] Status ack(std::uint64_t tag);

private:
    friend class Process;
    Mailbox(std::shared_ptr<runtime::Node> node, std::shared_ptr<runtime::ProcessState> state,
            NodeId host, std::string name);
    [[nodiscard]] Result<MailboxMessage> receive_filtered(Pid from,
                                                          std::chrono::nanoseconds timeout);

    std::shared_ptr<runtime::Node> node_;
    std::shared_ptr<runtime::ProcessState> state_;
    NodeId host_;
    std::string name_;
    std::shared_ptr<MailboxReady> ready_;  // Made by the first start_receive / receive_fd.
};

// --- Bulletin boards (docs/boards.md): a mailbox kind whose reads copy posts instead of
// taking them; each reader has its own cursor; retention evicts the oldest posts. A board is
// destroyed and granted as a mailbox (Node::destroy_mailbox, grant_mailbox; rights: send to
// post, receive to read) and listed by Node::mailboxes (MailboxInfo::board). ---

struct BoardOptions {
    Durability durability = Durability::transient;  // Persistent: posts and cursors on disk.
    std::uint32_t keep = 1024;                      // Keep the newest N posts (1..1048576).
    std::uint64_t capacity_bytes = 16u << 20;       // Bodies beyond it evict the oldest.
    std::chrono::milliseconds retain{0};            // Drop older posts (0: none; <= 30 days).
    bool restricted = false;                        // As MailboxOptions::restricted.
};

struct BoardPost {
    std::uint64_t seq = 0;       // 1, 2, 3... on its board, never reused.
    std::int64_t posted_ns = 0;  // When the host took it: ns since the Unix epoch (its clock).
    Pid sender;
    std::uint64_t message_id = 0;
    Bytes body;

    [[nodiscard]] std::string_view text() const {
        return {reinterpret_cast<const char*>(body.data()), body.size()};
    }
};

struct BoardRead {
    std::uint64_t missed = 0;  // Posts evicted before this reader read them (never silent).
    std::uint64_t cursor = 0;  // The next seq this reader reads.
    std::vector<BoardPost> posts;
};

// A process's handle on board `name` of node `host` (Process::open_board). The host keeps
// this process's cursor (durable on a persistent board); the handle also remembers the last
// seq it returned, and reads on from there when the host may have moved the cursor without
// telling it (its host restarted, or an answer was lost: docs/boards.md B8).
// Thread safety: like its Process, one thread at a time.
class HERALD_API Board {
public:
    Board(Board&&) noexcept;
    Board& operator=(Board&&) noexcept;
    Board(const Board&) = delete;
    Board& operator=(const Board&) = delete;
    ~Board();

    [[nodiscard]] NodeId host() const { return host_; }
    [[nodiscard]] const std::string& name() const { return name_; }

    // Posts `body`; returns its seq once the host has it (persistent: on disk). A full board
    // evicts its oldest posts. Errors: not_found, access_denied, too_large (over the board's
    // capacity_bytes or 1 MiB), storage_error, closed, queue_full (the posts in the way are
    // still being written), timeout / peer_restarted (no answer / the host restarted: the
    // post may or may not be on the board; posting again may duplicate it).
    [[nodiscard]] Result<std::uint64_t> post(ByteView body);
    [[nodiscard]] Result<std::uint64_t> post(std::string_view text);
    // Up to `max_posts` (1..1024) posts from this reader's cursor, waiting up to `timeout`
    // (forever: std::chrono::nanoseconds::max()) for one. Errc::timeout (none came),
    // invalid_argument (max_posts), not_found, access_denied, closed, storage_error (the host
    // could not write the cursor), unreachable (the host does not answer).
    [[nodiscard]] Result<BoardRead> read(std::chrono::nanoseconds timeout,
                                         std::uint32_t max_posts = 64);
    // Errc::would_block when there is nothing new now (one round trip).
    [[nodiscard]] Result<BoardRead> try_read(std::uint32_t max_posts = 64);
    // From seq `from` (>= 1) instead of the cursor; the cursor then follows.
    [[nodiscard]] Result<BoardRead> read_from(std::uint64_t from, std::chrono::nanoseconds timeout,
                                              std::uint32_t max_posts = 64);

private:
    friend class Process;
    Board(std::shared_ptr<runtime::Node> node, std::shared_ptr<runtime::ProcessState> state,
          NodeId host, std::string name);
    [[nodiscard]] Result<BoardRead> read_at(std::uint64_t from, std::chrono::nanoseconds timeout,
                                            std::uint32_t max_posts);

    std::shared_ptr<runtime::Node> node_;
    std::shared_ptr<runtime::ProcessState> state_;
    NodeId host_;
    std::string name_;
    std::uint64_t last_ = 0;  // The last seq returned.
    bool resume_ = false;     // The next cursor read names its start: last_ + 1.
};

}  // namespace herald

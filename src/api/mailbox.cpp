// herald::Mailbox and the Node's mailbox calls: the public face of the mailbox engine, over
// runtime::NodeMailbox. Layer: api. Rules: docs/mailboxes.md.
#include "herald/mailbox.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "herald/node.h"
#include "proto/mailbox/mailbox_engine.h"
#include "runtime/node.h"
#include "runtime/node_mailbox.h"
#include "runtime/node_process.h"

namespace herald {

static_assert(int(Durability::persistent) == int(proto::mailbox::Durability::persistent));
static_assert(mailbox_rights::all == proto::mailbox::rights::all);

namespace {

// The engine waits at most wait_ms_max per request; longer receives ask again.
constexpr std::chrono::milliseconds wait_step{60'000};
// receive_if rescans from the oldest message after a peek waited this long in vain: a message
// that came back behind its cursor (a lease ended) is seen then.
constexpr std::chrono::milliseconds rescan_step{1'000};

MailboxMessage to_message(proto::mailbox::Received r) {
    return {r.tag, r.message_id, r.deliveries, r.redelivery, r.sender, r.seq, std::move(r.body)};
}

Result<MailboxMessage> to_result(Result<proto::mailbox::Received> r) {
    if (!r) return fail(std::move(r.error()));
    return to_message(std::move(*r));
}

// When a wait of `timeout` (forever: never) that starts now ends.
std::chrono::steady_clock::time_point deadline_of(std::chrono::nanoseconds timeout) {
    return timeout == forever ? std::chrono::steady_clock::time_point::max()
                              : std::chrono::steady_clock::now() + timeout;
}

Duration step_of(std::chrono::nanoseconds left) {
    const auto step = std::min<std::chrono::nanoseconds>(left, wait_step);
    return Duration::nanoseconds(std::max<std::int64_t>(step.count(), 0));
}

}  // namespace

// The fd form's state: one outcome at most, and an eventfd readable while it waits.
class MailboxReady {
public:
    MailboxReady() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
    ~MailboxReady() {
        if (fd_ >= 0) ::close(fd_);
    }
    MailboxReady(const MailboxReady&) = delete;
    MailboxReady& operator=(const MailboxReady&) = delete;
    [[nodiscard]] int fd() const { return fd_; }
    // Reserves the slot for one receive; false while one is pending or not taken.
    bool begin() {
        std::lock_guard lock(mutex_);
        if (busy_) return false;
        busy_ = true;
        return true;
    }
    void cancel() {
        std::lock_guard lock(mutex_);
        busy_ = false;
    }
    void put(Result<MailboxMessage> r) {
        std::lock_guard lock(mutex_);
        result_.emplace(std::move(r));
        const std::uint64_t one = 1;
        (void)!::write(fd_, &one, sizeof one);
    }
    Result<MailboxMessage> take() {
        std::lock_guard lock(mutex_);
        if (!result_) return fail(Errc::would_block, "no receive outcome yet");
        std::uint64_t count = 0;
        (void)!::read(fd_, &count, sizeof count);
        auto r = std::move(*result_);
        result_.reset();
        busy_ = false;
        return r;
    }

private:
    std::mutex mutex_;
    int fd_;
    bool busy_ = false;
    std::optional<Result<MailboxMessage>> result_;
};

Mailbox::Mailbox(std::shared_ptr<runtime::Node> node, std::shared_ptr<runtime::ProcessState> state,
                 NodeId host, std::string name)
    : node_(std::move(node)), state_(std::move(state)), host_(host), name_(std::move(name)) {}

Mailbox::Mailbox(Mailbox&&) noexcept = default;
Mailbox& Mailbox::operator=(Mailbox&&) noexcept = default;
Mailbox::~Mailbox() = default;

Status Mailbox::send(ByteView body, const SendOptions& options) {
    if (state_->closed()) return fail(Errc::closed, "process has exited");
    if (options.on_full == OnFull::buffer) {
        return fail(Errc::invalid_argument, "on_full buffer: the mailbox is the buffer");
    }
    if (options.mode == SendMode::nonblocking) {
        return node_->mailbox().send_async(state_->pid(), host_, name_,
                                           Bytes(body.begin(), body.end()), [](Status) {});
    }
    const auto deadline = deadline_of(options.timeout);
    auto pause = std::chrono::milliseconds(10);
    for (;;) {
        auto sent =
            node_->mailbox().send(state_->pid(), host_, name_, Bytes(body.begin(), body.end()));
        if (sent || sent.error().code != Errc::queue_full || options.on_full == OnFull::fail) {
            return sent;
        }
        if (std::chrono::steady_clock::now() + pause >= deadline) {
            return fail(Errc::timeout, "the mailbox stayed full");
        }
        std::this_thread::sleep_for(pause);
        pause = std::min<std::chrono::milliseconds>(pause * 2, std::chrono::milliseconds(200));
        if (state_->closed()) return fail(Errc::closed, "process has exited");
    }
}

Status Mailbox::send(std::string_view text, const SendOptions& options) {
    const auto* data = reinterpret_cast<const std::uint8_t*>(text.data());
    return send(ByteView(data, text.size()), options);
}

Status Mailbox::send_async(Bytes body, MailboxSendDone done) {
    if (!done) return fail(Errc::invalid_argument, "no callback");
    if (state_->closed()) return fail(Errc::closed, "process has exited");
    return node_->mailbox().send_async(state_->pid(), host_, name_, std::move(body),
                                       std::move(done));
}

std::future<Status> Mailbox::send_async(Bytes body) {
    auto promise = std::make_shared<std::promise<Status>>();
    auto future = promise->get_future();
    auto started = send_async(std::move(body), [promise](Status s) { promise->set_value(s); });
    if (!started) promise->set_value(fail(std::move(started.error())));
    return future;
}

Status Mailbox::start_receive(std::chrono::nanoseconds timeout) {
    HERALD_TRY(receive_fd());
    if (!ready_->begin()) return fail(Errc::queue_full, "a receive is already started");
    auto started = receive_async(
        timeout, [ready = ready_](Result<MailboxMessage> r) { ready->put(std::move(r)); });
    if (!started) ready_->cancel();
    return started;
}

Result<int> Mailbox::receive_fd() {
    if (!ready_) {
        auto ready = std::make_shared<MailboxReady>();
        if (ready->fd() < 0) return fail(Errc::io_error, "eventfd refused");
        ready_ = std::move(ready);
    }
    return ready_->fd();
}

Result<MailboxMessage> Mailbox::take_received() {
    if (!ready_) return fail(Errc::would_block, "no receive started");
    return ready_->take();
}

Result<MailboxMessage> Mailbox::receive_filtered(Pid from, std::chrono::nanoseconds timeout) {
    proto::mailbox::ReceiveFilter filter;
    filter.from = from;
    const auto deadline = deadline_of(timeout);
    for (;;) {
        if (state_->closed()) return fail(Errc::closed, "process has exited");
        const auto left = deadline - std::chrono::steady_clock::now();
        auto r = node_->mailbox().receive(state_->pid(), host_, name_, step_of(left), filter);
        const bool again =
            !r && r.error().code == Errc::timeout && std::chrono::steady_clock::now() < deadline;
        if (!again) return to_result(std::move(r));
    }
}

Result<MailboxMessage> Mailbox::receive(std::chrono::nanoseconds timeout) {
    return receive_filtered(Pid{}, timeout);
}

Result<MailboxMessage> Mailbox::receive_from(Pid sender, std::chrono::nanoseconds timeout) {
    if (!sender.node.known()) return fail(Errc::invalid_argument, "sender pid");
    return receive_filtered(sender, timeout);
}

Result<MailboxMessage> Mailbox::try_receive() {
    auto r = receive_filtered(Pid{}, std::chrono::nanoseconds::zero());
    if (!r && r.error().code == Errc::timeout) return fail(Errc::would_block, "mailbox empty");
    return r;
}

// Peek after a cursor, test, take the one that matches (docs/mailboxes.md M19, M20); rescan
// from the start after a quiet rescan_step.
Result<MailboxMessage> Mailbox::receive_if(const MailboxPredicate& predicate,
                                           std::chrono::nanoseconds timeout) {
    if (!predicate) return fail(Errc::invalid_argument, "no predicate");
    const auto deadline = deadline_of(timeout);
    proto::mailbox::ReceiveFilter peek;
    peek.peek = true;
    for (;;) {
        if (state_->closed()) return fail(Errc::closed, "process has exited");
        const auto left = std::min<std::chrono::nanoseconds>(
            deadline - std::chrono::steady_clock::now(), rescan_step);
        auto seen = node_->mailbox().receive(state_->pid(), host_, name_, step_of(left), peek);
        if (!seen) {
            if (seen.error().code == Errc::timeout && std::chrono::steady_clock::now() < deadline) {
                peek.after = 0;
                continue;
            }
            return fail(std::move(seen.error()));
        }
        peek.after = seen->seq;
        if (!predicate(to_message(std::move(*seen)))) continue;
        proto::mailbox::ReceiveFilter take;
        take.take = peek.after;
        auto taken = node_->mailbox().receive(state_->pid(), host_, name_, Duration::zero(), take);
        if (taken || taken.error().code != Errc::not_found) return to_result(std::move(taken));
        // Another receiver took it first: go on after it.
    }
}

Status Mailbox::receive_async(std::chrono::nanoseconds timeout, MailboxReceiveDone done) {
    if (!done) return fail(Errc::invalid_argument, "no callback");
    if (state_->closed()) return fail(Errc::closed, "process has exited");
    return node_->mailbox().receive_async(
        state_->pid(), host_, name_, step_of(timeout), {},
        [done = std::move(done)](Result<proto::mailbox::Received> r) {
            done(to_result(std::move(r)));
        });
}

std::future<Result<MailboxMessage>> Mailbox::receive_async(std::chrono::nanoseconds timeout) {
    auto promise = std::make_shared<std::promise<Result<MailboxMessage>>>();
    auto future = promise->get_future();
    auto started = receive_async(
        timeout, [promise](Result<MailboxMessage> r) { promise->set_value(std::move(r)); });
    if (!started) promise->set_value(fail(std::move(started.error())));
    return future;
}

Status Mailbox::ack(const MailboxMessage& message) {
    return ack(message.tag);
}

Status Mailbox::ack(std::uint64_t tag) {
    if (state_->closed()) return fail(Errc::closed, "process has exited");
    if (tag == 0) return fail(Errc::invalid_argument, "tag 0 (a peeked message)");
    return node_->mailbox().ack(state_->pid(), host_, name_, tag);
}

Result<Mailbox> Process::open_mailbox(NodeId host, std::string_view name) {
    if (!state_ || state_->closed()) return fail(Errc::closed, "process has exited");
    if (!host.known() || !proto::mailbox::valid_mailbox_name(
                             name, proto::mailbox::MailboxOptions{}.name_bytes_max)) {
        return fail(Errc::invalid_argument, "mailbox host or name");
    }
    // One peek (wait 0, takes nothing): the mailbox exists, and the host's incarnation is
    // known before the first send (docs/mailboxes.md M23). A send-only handle may not peek.
    proto::mailbox::ReceiveFilter peek;
    peek.peek = true;
    auto probe =
        node_->mailbox().receive(state_->pid(), host, std::string(name), Duration::zero(), peek);
    if (!probe && probe.error().code != Errc::timeout && probe.error().code != Errc::access_denied)
        return fail(std::move(probe.error()));
    return Mailbox(node_, state_, host, std::string(name));
}

Status Node::create_mailbox(std::string_view name, const MailboxOptions& options, Pid owner) {
    proto::mailbox::MailboxSpec spec;
    spec.name = std::string(name);
    spec.durability = static_cast<proto::mailbox::Durability>(options.durability);
    spec.capacity_messages = options.capacity_messages;
    spec.capacity_bytes = options.capacity_bytes;
    spec.restricted = options.restricted;
    spec.owner = owner;
    return impl_->mailbox().create(spec);
}

Status Node::destroy_mailbox(std::string_view name) {
    return impl_->mailbox().destroy(std::string(name));
}

Status Node::grant_mailbox(std::string_view name, Pid who, std::uint8_t rights, Pid by) {
    return impl_->mailbox().grant(std::string(name), by, who, rights);
}

Result<MailboxCounters> Node::mailbox_counters() const {
    HERALD_TRY(auto c, impl_->mailbox().counters());
    return MailboxCounters{c.accepted,     c.duplicate_sends, c.delivered,     c.redelivered,
                           c.acknowledged, c.discarded,       c.refused_full,  c.storage_errors,
                           c.retransmits,  c.board_posts,     c.board_evicted, c.board_reads};
}

Result<std::vector<MailboxInfo>> Node::mailboxes() const {
    HERALD_TRY(auto all, impl_->mailbox().stats());
    std::vector<MailboxInfo> out;
    out.reserve(all.size());
    for (auto& s : all) {
        out.push_back({std::move(s.name), static_cast<Durability>(s.durability),
                       s.capacity_messages, s.capacity_bytes, s.messages, s.bytes, s.queued,
                       s.leased, s.waiters, s.restricted, s.owner, s.grants, s.board, s.retain_ms,
                       s.readers, s.first_seq, s.next_seq});
    }
    return out;
}

}  // namespace herald

// herald::Process: the public face of a hosted process. Layer: api.
#include "herald/process.h"

#include "api/api_support.h"
#include "runtime/node.h"
#include "runtime/node_rpc.h"

namespace herald {

static_assert(int(SendMode::delivered) == int(proto::direct::SendMode::delivered));
static_assert(int(OnFull::buffer) == int(proto::direct::OnFull::buffer));
static_assert(int(Buffering::multiple) == int(proto::direct::Buffering::multiple));
static_assert(int(Buffering::send_discard_retry) ==
              int(proto::direct::Buffering::send_discard_retry));

namespace {

using api::closed_process;
using api::to_duration;

runtime::SendConfig to_config(const SendOptions& options) {
    return {static_cast<proto::direct::SendMode>(options.mode),
            static_cast<proto::direct::OnFull>(options.on_full), to_duration(options.timeout)};
}

Result<Envelope> to_envelope(Result<Message> message) {
    if (!message) return fail(std::move(message.error()));
    return Envelope{message->source,       message->target,          message->seq,
                    message->sent_unix_ns, std::move(message->body), message->group,
                    message->ordered};
}

}  // namespace

Process::Process(std::shared_ptr<runtime::Node> node, std::shared_ptr<runtime::ProcessState> state)
    : node_(std::move(node)), state_(std::move(state)) {}

Process::Process(Process&&) noexcept = default;

Process& Process::operator=(Process&& other) noexcept {
    if (this != &other) {
        exit();
        node_ = std::move(other.node_);
        state_ = std::move(other.state_);
    }
    return *this;
}

Process::~Process() {
    exit();
}

void Process::exit() {
    if (!state_) return;
    node_->rpc().unserve_and_wait(state_->pid());  // Its handlers may use what its owner owns.
    node_->exit(state_);
    state_.reset();
}

Status Process::migrate(NodeId to, ByteView state) {
    if (!state_) return fail(Errc::closed, "process ended");
    HERALD_TRY(node_->migrate(state_, to, Bytes(state.begin(), state.end())));
    node_->rpc().unserve_and_wait(state_->pid());
    state_.reset();  // It lives at `to` now; nothing to end here.
    return {};
}

Pid Process::pid() const {
    return state_ ? state_->pid() : Pid{};
}

Status Process::send(Pid to, ByteView body, const SendOptions& options) {
    return send(to, Bytes(body.begin(), body.end()), options);
}

Status Process::send(Pid to, std::string_view text, const SendOptions& options) {
    return send(to, to_bytes(text), options);
}

Status Process::send(Pid to, Bytes&& body, const SendOptions& options) {
    if (!state_) return closed_process();
    return node_->send(state_, to, std::move(body), to_config(options));
}

std::future<Status> Process::send_async(Pid to, Bytes body, const SendOptions& options) {
    auto promise = std::make_shared<std::promise<Status>>();
    auto future = promise->get_future();
    auto started = send_async(to, std::move(body), options,
                              [promise](Status status) { promise->set_value(std::move(status)); });
    if (!started) promise->set_value(std::move(started));
    return future;
}

Status Process::send_async(Pid to, Bytes body, const SendOptions& options, SendDone done) {
    if (!state_) return closed_process();
    return node_->send_async(state_, to, std::move(body), to_config(options), std::move(done));
}

Result<Envelope> Process::receive(std::chrono::nanoseconds timeout) {
    return receive_any_of({}, timeout);
}

Result<Envelope> Process::receive_from(Pid from, std::chrono::nanoseconds timeout) {
    return receive_any_of(std::span<const Pid>(&from, 1), timeout);
}

Result<Envelope> Process::receive_any_of(std::span<const Pid> from,
                                         std::chrono::nanoseconds timeout) {
    if (!state_) return closed_process();
    return to_envelope(node_->receive(*state_, from, to_duration(timeout)));
}

Result<Envelope> Process::try_receive() {
    return try_receive_any_of({});
}

Result<Envelope> Process::try_receive_any_of(std::span<const Pid> from) {
    if (!state_) return closed_process();
    return to_envelope(node_->try_receive(*state_, from));
}

Status Process::receive_async(ReceiveDone done, std::chrono::nanoseconds timeout) {
    return receive_async_any_of({}, std::move(done), timeout);
}

Status Process::receive_async_any_of(std::span<const Pid> from, ReceiveDone done,
                                     std::chrono::nanoseconds timeout) {
    if (!state_) return closed_process();
    return node_->receive_async(state_, std::vector<Pid>(from.begin(), from.end()),
                                to_duration(timeout),
                                [done = std::move(done)](Result<Message> message) {
                                    done(to_envelope(std::move(message)));
                                });
}

std::size_t Process::queued() const {
    return state_ ? state_->size() : 0;
}

Result<int> Process::notify_fd() {
    if (!state_) return closed_process();
    return state_->notify_fd();
}

std::size_t Process::dispatch(const std::function<void(Envelope&&)>& handler, std::size_t max) {
    std::size_t count = 0;
    while (state_ && count < max) {
        auto envelope = to_envelope(node_->try_receive(*state_, {}));
        if (!envelope) break;
        handler(std::move(*envelope));
        ++count;
    }
    return count;
}

}  // namespace herald

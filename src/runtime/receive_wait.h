// ReceiveSocket::wait_readable: waits until a drained datagram socket is readable again, without
// the epoll_ctl system call that asio's async_wait makes every time. Layer: runtime (internal to
// DatagramSocketTransport).
//
// Why: asio's reactor registers a socket once, edge-triggered, but async_wait is a
// "non-speculative" operation, and for those the reactor re-registers the descriptor
// (EPOLL_CTL_MOD) on every call so that readiness signalled while no operation waited is not
// lost. A node under a flood wakes for every few datagrams, and that call was a quarter of its
// receive path's system calls (docs/security.md, "Capacity under flood"). This wait queues its
// operation speculatively instead: the reactor asks the operation whether it is already done
// (no: the caller has just read the socket until it was empty) and queues it without the call.
//
// Precondition for not losing a datagram (why the re-registration is not needed here): the
// caller arms the wait only right after a receive found the queue empty, on the one thread that
// runs the io_context. Every datagram that arrives later raises the edge-triggered registration
// again, and no epoll_wait can consume that event before the wait is queued (the same thread
// would run it). Herald's loop is one thread (Loop). It uses asio's internal reactor interface,
// checked in asio 1.22.1 (used here) and 1.18 (Boost 1.75's, the same start_op); with another
// asio, or another reactor than epoll, the wait falls back to async_wait.
#pragma once

#include <asio/generic/datagram_protocol.hpp>
#include <asio/io_context.hpp>
#include <asio/version.hpp>
#include <memory>
#include <system_error>
#include <utility>

#if defined(__linux__) && ASIO_VERSION >= 101800 && ASIO_VERSION < 102300 && \
    !defined(ASIO_HAS_IO_URING) && !defined(ASIO_DISABLE_EPOLL)
#include <asio/detail/reactor.hpp>
#include <asio/detail/reactor_op.hpp>
#define HERALD_RECEIVE_WAIT_WITHOUT_REARM 1
#else
#define HERALD_RECEIVE_WAIT_WITHOUT_REARM 0
#endif

namespace herald::runtime {

#if HERALD_RECEIVE_WAIT_WITHOUT_REARM
// The reactor operation: not done while it is being queued (the socket was just found empty),
// done when the reactor reports readiness; then calls the handler once and frees itself.
template <class Handler>
class ReadableOperation final : public asio::detail::reactor_op {
public:
    explicit ReadableOperation(Handler handler)
        : reactor_op(std::error_code(), &ReadableOperation::perform, &ReadableOperation::complete),
          handler_(std::move(handler)) {}
    bool queueing = true;  // Set while the reactor's start_op runs.

private:
    static status perform(reactor_op* base) {
        return static_cast<ReadableOperation*>(base)->queueing ? not_done : done;
    }
    // `owner` is null when the io_context is destroyed with the operation still queued: free
    // it without calling the handler. ec_ is operation_aborted when the socket was closed.
    static void complete(void* owner, asio::detail::operation* base, const std::error_code&,
                         std::size_t) {
        std::unique_ptr<ReadableOperation> self(static_cast<ReadableOperation*>(base));
        Handler handler = std::move(self->handler_);
        const std::error_code code = self->ec_;
        self.reset();
        if (owner != nullptr) handler(code);
    }
    Handler handler_;
};
#endif

// The datagram socket, with a readable wait that does not re-register it.
class ReceiveSocket : public asio::generic::datagram_protocol::socket {
public:
    explicit ReceiveSocket(asio::io_context& io) : asio::generic::datagram_protocol::socket(io) {}

    // Calls `done(ec)` on the io_context's thread once the socket is readable, or with
    // asio::error::operation_aborted once it is closed (possibly after the caller is gone:
    // `done` must check). Precondition (above): the socket was read until empty just before,
    // on the thread that runs the io_context. One wait at a time.
    template <class Handler>
    void wait_readable(Handler done) {
#if HERALD_RECEIVE_WAIT_WITHOUT_REARM
        auto& reactor = asio::use_service<asio::detail::reactor>(
            asio::query(get_executor(), asio::execution::context));
        auto* operation = new ReadableOperation<Handler>(std::move(done));
        auto& registered = impl_.get_implementation();
        // Speculative: the reactor calls perform() (not done) and queues the operation
        // without EPOLL_CTL_MOD; on a closed socket it completes it with an error.
        reactor.start_op(asio::detail::reactor::read_op, registered.socket_,
                         registered.reactor_data_, operation, false, true);
        operation->queueing = false;
#else
        async_wait(asio::socket_base::wait_read, std::move(done));
#endif
    }
};

}  // namespace herald::runtime

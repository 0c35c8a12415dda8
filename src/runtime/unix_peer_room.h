// UnixPeerRoom: tells when a unix datagram peer whose receive queue was full has room again.
// Layer: runtime (internal to DatagramSocketTransport). Loop thread.
//
// Why: a unix datagram socket that sends with sendto (not connected, as a node's socket must
// be: it talks to many peers) gets EAGAIN while the peer's receive queue holds
// net.unix.max_dgram_qlen datagrams, yet it polls writable all along. Linux withholds POLLOUT,
// and wakes the poller when the peer takes a datagram, only for a socket *connected* to that
// peer. The kernel's default queue is 10 datagrams (distributions often raise it to 512), so a
// stream of 64 KiB messages fills it every ten messages, and a sender that guessed with a
// backing-off timer (16 us to 1 ms) spent most of its time asleep (issue 17: 1.2 GB/s -> 170
// MB/s on a machine with the default). This class keeps one extra socket, unbound and never
// used to send, connected to the peer being waited for, and waits for it to become writable.
#pragma once

#include <asio/generic/datagram_protocol.hpp>
#include <asio/io_context.hpp>
#include <cstdint>
#include <system_error>
#include <utility>

#include "runtime/endpoint_socket.h"

namespace herald::runtime {

class UnixPeerRoom {
public:
    enum class State : std::uint8_t {
        full,     // The peer's queue is full: wait() completes once it has room.
        room,     // The peer has room now (an EAGAIN came from our own send buffer, or it
                  // drained meanwhile).
        unknown,  // No watch: the socket could not be made, or connect failed (peer gone,
                  // no permission). The caller falls back to its timer.
    };

    explicit UnixPeerRoom(asio::io_context& io) : socket_(io) {}

    // Connects the watch socket to `peer` (a unix address) and polls it. The socket is made on
    // first use, so a transport that never meets a full peer holds no second descriptor.
    [[nodiscard]] State watch(const SocketAddress& peer);

    // Calls handler(error_code) once the watched peer has room (also when the peer closes: its
    // queue is gone). asio::error::operation_aborted after cancel() or close().
    template <class Handler>
    void wait(Handler&& handler) {
        socket_.async_wait(asio::socket_base::wait_write, std::forward<Handler>(handler));
    }
    void cancel();
    void close();

private:
    asio::generic::datagram_protocol::socket socket_;
};

}  // namespace herald::runtime

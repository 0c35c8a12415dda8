// UnixPeerRoom: a socket connected to a full unix datagram peer, polled for room. Layer: runtime.
#include "runtime/unix_peer_room.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace herald::runtime {

UnixPeerRoom::State UnixPeerRoom::watch(const SocketAddress& peer) {
    if (!socket_.is_open()) {
        const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) return State::unknown;
        asio::error_code ec;
        socket_.assign(asio::generic::datagram_protocol(AF_UNIX, 0), fd, ec);
        if (ec) {
            ::close(fd);
            return State::unknown;
        }
    }
    // Connected anew each time: the peer may differ, or be a new socket on the same path.
    if (::connect(socket_.native_handle(), peer.get(), peer.length) != 0) return State::unknown;
    // The poll both reads the peer's queue and, when it is full, registers this socket to be
    // woken when the peer takes a datagram (unix_dgram_poll): no room can be missed between it
    // and wait(), whose epoll registration polls again.
    pollfd writable{socket_.native_handle(), POLLOUT, 0};
    if (::poll(&writable, 1, 0) < 0) return State::unknown;
    return (writable.revents & POLLOUT) != 0 ? State::room : State::full;
}

void UnixPeerRoom::cancel() {
    asio::error_code ignored;
    socket_.cancel(ignored);
}

void UnixPeerRoom::close() {
    asio::error_code ignored;
    socket_.close(ignored);
}

}  // namespace herald::runtime

// open_unix_transport: socket, stale-file handling, bind. Layer: runtime.
#include "runtime/unix_transport.h"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>

#include "runtime/transport_datagram.h"

namespace herald::runtime {
namespace {

// EADDRINUSE at bind: remove the file only if it is a socket that nobody serves any more.
Status remove_stale_socket(const Endpoint& listen, const SocketAddress& address) {
    struct stat info {};
    if (::lstat(listen.path.c_str(), &info) != 0)
        return fail(os_error("stat " + listen.path, errno));
    if (!S_ISSOCK(info.st_mode)) {
        return fail(Errc::io_error, listen.path + " exists and is not a socket");
    }
    UniqueFd probe(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (probe.get() < 0) return fail(os_error("socket", errno));
    if (::connect(probe.get(), address.get(), address.length) == 0) {
        return fail(Errc::io_error, "bind " + to_string(listen) + ": in use by a running node");
    }
    const int error = errno;
    if (error != ECONNREFUSED) return fail(os_error("probe " + to_string(listen), error));
    if (::unlink(listen.path.c_str()) != 0 && errno != ENOENT) {
        return fail(os_error("unlink stale " + listen.path, errno));
    }
    return {};
}

Status bind_path(int fd, const Endpoint& listen, const SocketAddress& address) {
    if (::bind(fd, address.get(), address.length) == 0) return {};
    if (errno != EADDRINUSE) return fail(os_error("bind " + to_string(listen), errno));
    HERALD_TRY(remove_stale_socket(listen, address));
    if (::bind(fd, address.get(), address.length) != 0) {
        return fail(os_error("bind " + to_string(listen), errno));
    }
    return {};
}

Result<std::size_t> granted_send_buffer(int fd) {
    int value = 0;
    socklen_t length = sizeof value;
    if (::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &value, &length) != 0) {
        return fail(os_error("getsockopt SO_SNDBUF", errno));
    }
    return static_cast<std::size_t>(std::max(value, 0));
}

}  // namespace

Result<std::unique_ptr<Transport>> open_unix_transport(asio::io_context& io, const Endpoint& listen,
                                                       const TransportOptions& options) {
    if (listen.scheme != Endpoint::Scheme::unix_socket) {
        return fail(Errc::invalid_argument, "not a unix endpoint: " + to_string(listen));
    }
    if (options.batch_max == 0) return fail(Errc::invalid_argument, "batch_max must be > 0");
    HERALD_TRY(const SocketAddress address, to_socket_address(listen));
    UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) return fail(os_error("socket", errno));
    HERALD_TRY(set_socket_buffers(fd.get(), options.socket_buffer_bytes));
    HERALD_TRY(bind_path(fd.get(), listen, address));
    DatagramSocketConfig config;
    config.local = listen;
    config.unlink_path = listen.path;
    struct stat info {};
    if (::lstat(listen.path.c_str(), &info) == 0) {
        config.unlink_device = info.st_dev;
        config.unlink_inode = info.st_ino;
    }
    HERALD_TRY(const std::size_t send_buffer, granted_send_buffer(fd.get()));
    const std::size_t wanted =
        options.datagram_bytes_max == 0 ? unix_datagram_bytes_default : options.datagram_bytes_max;
    config.datagram_bytes_max = std::max<std::size_t>(1, std::min(wanted, send_buffer / 2));
    config.receive_buffer_bytes = config.datagram_bytes_max;
    config.retry_by_timer = true;
    config.join_queued = options.join_queued;
    return DatagramSocketTransport::adopt(io, fd.release(), options, std::move(config));
}

}  // namespace herald::runtime

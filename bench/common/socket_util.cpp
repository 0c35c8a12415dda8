// Plain POSIX socket helpers (see socket_util.h). Layer: bench.
#include "bench/common/socket_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace herald::bench {

Fd& Fd::operator=(Fd&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = other.release();
    }
    return *this;
}

Fd::~Fd() {
    if (fd_ >= 0) ::close(fd_);
}

Error errno_error(std::string_view what) {
    return Error{Errc::io_error, std::string(what) + ": " + std::strerror(errno)};
}

Result<SocketAddress> ipv4_address(std::string_view host_port) {
    auto colon = host_port.rfind(':');
    if (colon == std::string_view::npos) {
        return fail(Errc::invalid_argument, "want host:port, got '" + std::string(host_port) + "'");
    }
    std::string host(host_port.substr(0, colon));
    std::string_view port_text = host_port.substr(colon + 1);
    std::uint16_t port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    SocketAddress out;
    auto* in = reinterpret_cast<sockaddr_in*>(&out.storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() ||
        ::inet_pton(AF_INET, host.c_str(), &in->sin_addr) != 1) {
        return fail(Errc::invalid_argument, "bad IPv4 endpoint '" + std::string(host_port) + "'");
    }
    out.length = sizeof(sockaddr_in);
    return out;
}

Result<SocketAddress> unix_address(std::string_view path) {
    SocketAddress out;
    auto* un = reinterpret_cast<sockaddr_un*>(&out.storage);
    if (path.empty() || path.size() >= sizeof(un->sun_path)) {
        return fail(Errc::invalid_argument, "bad Unix socket path '" + std::string(path) + "'");
    }
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, path.data(), path.size());
    out.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    return out;
}

Result<Fd> bound_datagram_socket(const SocketAddress& local, std::uint32_t buffer_bytes) {
    Fd fd(::socket(local.storage.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) return fail(errno_error("socket"));
    int bytes = static_cast<int>(buffer_bytes);
    // Same request as Herald's transports (TransportOptions::socket_buffer_bytes).
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes) != 0 ||
        ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) != 0) {
        return fail(errno_error("setsockopt buffer"));
    }
    if (::bind(fd.get(), local.get(), local.length) != 0) return fail(errno_error("bind"));
    return fd;
}

Result<std::uint16_t> local_port(int fd) {
    sockaddr_in in{};
    socklen_t length = sizeof in;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&in), &length) != 0) {
        return fail(errno_error("getsockname"));
    }
    return ntohs(in.sin_port);
}

Status set_receive_timeout(int fd, std::int64_t timeout_ms) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout_ms / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout_ms % 1000) * 1000);
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
        return fail(errno_error("setsockopt SO_RCVTIMEO"));
    }
    return {};
}

}  // namespace herald::bench

// Plain POSIX socket helpers for the raw-floor peers and tests: an owning fd, UDP on
// 127.0.0.1 and Unix datagram addresses, endpoint text. Layer: bench.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace herald::bench {

// Owns one file descriptor; closes it on destruction.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(other.release()) {}
    Fd& operator=(Fd&& other) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd();

    [[nodiscard]] int get() const { return fd_; }
    int release() {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }

private:
    int fd_ = -1;
};

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;
    [[nodiscard]] const sockaddr* get() const {
        return reinterpret_cast<const sockaddr*>(&storage);
    }
    [[nodiscard]] sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
};

// "127.0.0.1:7400" -> IPv4 address; a path -> Unix address. Errc::invalid_argument.
[[nodiscard]] Result<SocketAddress> ipv4_address(std::string_view host_port);
[[nodiscard]] Result<SocketAddress> unix_address(std::string_view path);

// Errc::io_error with the errno text, naming `what`.
[[nodiscard]] Error errno_error(std::string_view what);

// A datagram socket bound to `local`, with send and receive buffers of `buffer_bytes`
// (clamped by the kernel to net.core.{r,w}mem_max). Errc::io_error when a call fails.
[[nodiscard]] Result<Fd> bound_datagram_socket(const SocketAddress& local,
                                               std::uint32_t buffer_bytes);

// The port a bound IPv4 socket got (after binding port 0).
[[nodiscard]] Result<std::uint16_t> local_port(int fd);

// Sets SO_RCVTIMEO; a blocking receive then fails with EAGAIN after `timeout_ms`.
[[nodiscard]] Status set_receive_timeout(int fd, std::int64_t timeout_ms);

}  // namespace herald::bench

// The unix transport: a DatagramSocketTransport on a SOCK_DGRAM unix domain socket bound to a
// path. Every node binds its own path, so a receiver can always reply. Layer: runtime.
#pragma once

#include "runtime/transport.h"

namespace herald::runtime {

// Default largest datagram. Unix datagrams are limited by the sender's SO_SNDBUF (minus
// ~32 bytes), not by an IP header; 200 KiB fits in the doubled default wmem_max (2 x 208 KiB)
// with room for a second one in flight. The transport lowers it to half the SO_SNDBUF the
// kernel granted when that is smaller.
constexpr std::size_t unix_datagram_bytes_default = 200u << 10;

// Binds a unix datagram socket to `listen.path` (scheme unix_socket). A socket file left by a
// dead node is removed first (probe: connect fails with ECONNREFUSED); a live one is not.
// The file is removed again on close. Errc::invalid_argument (bad endpoint), Errc::io_error
// (path in use by a running node, path exists and is not a socket, directory missing, ...).
// Loop thread, or before the loop runs.
[[nodiscard]] Result<std::unique_ptr<Transport>> open_unix_transport(
    asio::io_context& io, const Endpoint& listen, const TransportOptions& options);

}  // namespace herald::runtime

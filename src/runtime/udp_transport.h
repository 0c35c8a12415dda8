// The udp transport (IPv4 and IPv6): a DatagramSocketTransport on a UDP socket. Layer: runtime.
#pragma once

#include "runtime/transport.h"

namespace herald::runtime {

// Largest UDP payloads: 65,535 minus the IP and UDP headers (IPv6 counts 40 + 8 bytes).
constexpr std::size_t udp4_datagram_bytes_max = 65'507;
constexpr std::size_t udp6_datagram_bytes_max = 65'487;
// UDP datagrams are at most 65,535 bytes on the wire, so one buffer size fits every sender.
constexpr std::size_t udp_receive_buffer_bytes = 65'535;

// Binds a UDP socket to `listen` (scheme udp). Errc::invalid_argument for a bad endpoint,
// Errc::io_error when the OS refuses (address in use, no such local address) with errno text.
// Loop thread, or before the loop runs.
[[nodiscard]] Result<std::unique_ptr<Transport>> open_udp_transport(
    asio::io_context& io, const Endpoint& listen, const TransportOptions& options);

}  // namespace herald::runtime

// The udp transport (IPv4 and IPv6): a DatagramSocketTransport on a UDP socket. Layer: runtime.
#pragma once

#include "runtime/transport.h"

namespace herald::runtime {

// Largest UDP payloads: 65,535 minus the IP and UDP headers (IPv6 counts 40 + 8 bytes).
constexpr std::size_t udp4_datagram_bytes_max = 65'507;
constexpr std::size_t udp6_datagram_bytes_max = 65'487;
// UDP datagrams are at most 65,535 bytes on the wire, so one buffer size fits every sender.
constexpr std::size_t udp_receive_buffer_bytes = 65'535;

// IP and UDP headers in front of a UDP payload: IPv4 20 + 8, IPv6 40 + 8 bytes.
constexpr std::size_t udp4_header_bytes = 28;
constexpr std::size_t udp6_header_bytes = 48;
// Smallest datagram size a udp transport is given: 576 (the least every IPv4 host must
// reassemble) minus the IPv4 and UDP headers.
constexpr std::size_t udp_datagram_bytes_min = 548;

// The MTU of the network interface that holds the unicast address `address` (IPv4 or IPv6,
// port ignored): getifaddrs, then SIOCGIFMTU. 0 when no interface holds it (a wildcard
// address such as 0.0.0.0 or ::) or the OS does not say.
[[nodiscard]] std::size_t interface_mtu(const sockaddr* address);

// Binds a UDP socket to `listen` (scheme udp). Errc::invalid_argument for a bad endpoint,
// Errc::io_error when the OS refuses (address in use, no such local address) with errno text.
// Its datagram size: options.datagram_bytes_max when set (lowered to what UDP carries), else
// the MTU of the listen address's interface minus the IP and UDP headers, so that packed
// datagrams and fragments are never cut by IP fragmentation (loopback: the UDP limit; a
// wildcard listen address, whose interface is not known: the UDP limit too).
// Loop thread, or before the loop runs.
[[nodiscard]] Result<std::unique_ptr<Transport>> open_udp_transport(
    asio::io_context& io, const Endpoint& listen, const TransportOptions& options);

}  // namespace herald::runtime

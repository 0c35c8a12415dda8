// The tcp transport: datagrams framed on TCP connections (4-byte little-endian length, then
// the datagram). Connections open on the first send to a peer; the connecting side first sends
// a hello frame naming its listen endpoint, so the accepting side replies over the same
// connection and attributes frames to that endpoint. Layer: runtime.
#pragma once

#include "runtime/transport.h"

namespace herald::runtime {

// Large enough for a whole 16 MiB message plus headers: tcp needs no fragmentation.
constexpr std::size_t tcp_datagram_bytes_default = (16u << 20) + (64u << 10);

// Listens on `listen` (scheme tcp). Errc::invalid_argument for a bad endpoint, Errc::io_error
// when the OS refuses (address in use, not a local address) with its text.
// Behaviour: a connect failure makes sends to that peer fail (send_errors) for a back-off that
// doubles from 10 ms to 1 s; a broken connection is dropped with its queued frames (counted in
// send_dropped) and the next send reconnects. Frames over datagram_bytes_max, or a bad hello,
// close that connection (receive_malformed). At most 1,024 connections; more are refused.
// Loop thread, or before the loop runs.
[[nodiscard]] Result<std::unique_ptr<Transport>> open_tcp_transport(
    asio::io_context& io, const Endpoint& listen, const TransportOptions& options);

}  // namespace herald::runtime

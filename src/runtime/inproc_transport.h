// The inproc transport: nodes in one OS process exchange datagrams without sockets. Each
// transport registers its name in a process-wide registry; a send copies the datagram and
// posts it to the receiver's io_context. Layer: runtime.
#pragma once

#include "runtime/transport.h"

namespace herald::runtime {

// No wire limit applies; the default matches tcp so both need the same (few) fragments.
constexpr std::size_t inproc_datagram_bytes_default = (16u << 20) + (64u << 10);

// Registers `listen.host` (scheme inproc). Errc::already_exists while another open transport
// holds the name (it is freed by close()); Errc::invalid_argument for another scheme.
// Datagrams in flight to this transport (sent, not yet handled by its loop) are bounded by
// its send_queue_max and send_queue_bytes_max; beyond them senders drop and count.
[[nodiscard]] Result<std::unique_ptr<Transport>> open_inproc_transport(
    asio::io_context& io, const Endpoint& listen, const TransportOptions& options);

}  // namespace herald::runtime

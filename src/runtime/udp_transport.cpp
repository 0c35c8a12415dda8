// open_udp_transport: socket, buffer sizes, bind. Layer: runtime.
#include "runtime/udp_transport.h"

#include <netinet/in.h>

#include <algorithm>

#include "runtime/transport_datagram.h"

namespace herald::runtime {

Result<std::unique_ptr<Transport>> open_udp_transport(asio::io_context& io, const Endpoint& listen,
                                                      const TransportOptions& options) {
    if (listen.scheme != Endpoint::Scheme::udp) {
        return fail(Errc::invalid_argument, "not a udp endpoint: " + to_string(listen));
    }
    if (options.batch_max == 0) return fail(Errc::invalid_argument, "batch_max must be > 0");
    HERALD_TRY(const SocketAddress address, to_socket_address(listen));
    UniqueFd fd(::socket(address.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) return fail(os_error("socket", errno));
    HERALD_TRY(set_socket_buffers(fd.get(), options.socket_buffer_bytes));
    if (::bind(fd.get(), address.get(), address.length) != 0) {
        return fail(os_error("bind " + to_string(listen), errno));
    }
    DatagramSocketConfig config;
    HERALD_TRY(config.local, local_endpoint_of(fd.get(), Endpoint::Scheme::udp));
    const std::size_t limit =
        address.family() == AF_INET6 ? udp6_datagram_bytes_max : udp4_datagram_bytes_max;
    config.datagram_bytes_max =
        options.datagram_bytes_max == 0 ? limit : std::min(options.datagram_bytes_max, limit);
    config.receive_buffer_bytes = udp_receive_buffer_bytes;
    config.groups = true;
    return DatagramSocketTransport::adopt(io, fd.release(), options, std::move(config));
}

}  // namespace herald::runtime

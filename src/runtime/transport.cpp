// open_transport: picks the transport for an endpoint's scheme. Layer: runtime.
#include "runtime/transport.h"

#include "runtime/inproc_transport.h"
#include "runtime/tcp_transport.h"
#include "runtime/udp_transport.h"
#include "runtime/unix_transport.h"

namespace herald::runtime {

Result<std::unique_ptr<Transport>> open_transport(asio::io_context& io, const Endpoint& listen,
                                                  const TransportOptions& options) {
    if (options.batch_max == 0 || options.send_queue_max == 0 ||
        options.send_queue_bytes_max == 0) {
        return fail(Errc::invalid_argument,
                    "transport options: batch_max, send_queue_max and send_queue_bytes_max must "
                    "be > 0");
    }
    switch (listen.scheme) {
        case Endpoint::Scheme::udp:
            return open_udp_transport(io, listen, options);
        case Endpoint::Scheme::unix_socket:
            return open_unix_transport(io, listen, options);
        case Endpoint::Scheme::tcp:
            return open_tcp_transport(io, listen, options);
        case Endpoint::Scheme::inproc:
            return open_inproc_transport(io, listen, options);
    }
    return fail(Errc::invalid_argument, "unknown endpoint scheme");
}

}  // namespace herald::runtime

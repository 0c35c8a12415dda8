// open_transport: picks the transport for an endpoint's scheme. Layer: runtime.
#include "runtime/transport.h"

#include "runtime/udp_transport.h"
#include "runtime/unix_transport.h"

namespace herald::runtime {

Result<std::unique_ptr<Transport>> open_transport(asio::io_context& io, const Endpoint& listen,
                                                  const TransportOptions& options) {
    switch (listen.scheme) {
        case Endpoint::Scheme::udp:
            return open_udp_transport(io, listen, options);
        case Endpoint::Scheme::unix_socket:
            return open_unix_transport(io, listen, options);
        case Endpoint::Scheme::tcp:
        case Endpoint::Scheme::inproc:
            break;
    }
    return fail(Errc::invalid_argument, "transport not available yet: " + to_string(listen));
}

}  // namespace herald::runtime

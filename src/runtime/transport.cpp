// open_transport: picks the transport for an endpoint's scheme. Layer: runtime.
#include "runtime/transport.h"

#include "runtime/inproc_transport.h"
#include "runtime/tcp_transport.h"
#include "runtime/udp_transport.h"
#include "runtime/unix_transport.h"

namespace herald::runtime {

// Without multicast (tcp, unix, inproc): the Node fans out instead (capabilities()).
Result<Transport::GroupHandle> Transport::add_group(const Endpoint& group, GroupRole) {
    HERALD_TRY(check_group_endpoint(group));
    return fail(Errc::invalid_argument,
                "this transport cannot send to IP multicast groups (udp only): " +
                    to_string(local_endpoint()));
}

void Transport::send_gather(const Endpoint& to, ByteView head, ByteView body) {
    gather_.assign(head.begin(), head.end());
    gather_.insert(gather_.end(), body.begin(), body.end());
    send(to, gather_);
}

Status Transport::remove_group(GroupHandle group) {
    return fail(Errc::not_found, "no group with handle " + std::to_string(group));
}

const Endpoint* Transport::group_endpoint(GroupHandle) const {
    return nullptr;
}

Result<std::unique_ptr<Transport>> open_transport(asio::io_context& io, const Endpoint& listen,
                                                  const TransportOptions& options) {
    if (options.batch_max == 0 || options.send_queue_max == 0 ||
        options.send_queue_bytes_max == 0) {
        return fail(Errc::invalid_argument,
                    "transport options: batch_max, send_queue_max and send_queue_bytes_max must "
                    "be > 0");
    }
    if (options.groups.groups_max > groups_max_limit || options.groups.group_batch_max == 0) {
        return fail(Errc::invalid_argument,
                    "transport options: groups_max must be <= " + std::to_string(groups_max_limit) +
                        " and group_batch_max > 0");
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

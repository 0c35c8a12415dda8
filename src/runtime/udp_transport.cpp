// open_udp_transport: socket, buffer sizes, bind. Layer: runtime.
#include "runtime/udp_transport.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cstring>

#include "runtime/transport_datagram.h"

namespace herald::runtime {
namespace {

bool same_address(const sockaddr* a, const sockaddr* b) {
    if (a == nullptr || b == nullptr || a->sa_family != b->sa_family) return false;
    if (a->sa_family == AF_INET) {
        return reinterpret_cast<const sockaddr_in*>(a)->sin_addr.s_addr ==
               reinterpret_cast<const sockaddr_in*>(b)->sin_addr.s_addr;
    }
    if (a->sa_family == AF_INET6) {
        return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr,
                           &reinterpret_cast<const sockaddr_in6*>(b)->sin6_addr,
                           sizeof(in6_addr)) == 0;
    }
    return false;
}

std::size_t mtu_of(const char* interface) {
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) return 0;
    ifreq request{};
    std::strncpy(request.ifr_name, interface, IFNAMSIZ - 1);
    if (::ioctl(fd.get(), SIOCGIFMTU, &request) != 0 || request.ifr_mtu <= 0) return 0;
    return static_cast<std::size_t>(request.ifr_mtu);
}

}  // namespace

std::size_t interface_mtu(const sockaddr* address) {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return 0;
    std::size_t mtu = 0;
    for (const ifaddrs* entry = list; entry != nullptr && mtu == 0; entry = entry->ifa_next) {
        if (same_address(entry->ifa_addr, address)) mtu = mtu_of(entry->ifa_name);
    }
    ::freeifaddrs(list);
    return mtu;
}

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
    const bool ipv6 = address.family() == AF_INET6;
    const std::size_t limit = ipv6 ? udp6_datagram_bytes_max : udp4_datagram_bytes_max;
    std::size_t size = options.datagram_bytes_max;
    if (size == 0) {  // The path's MTU where the interface says it: no IP fragments.
        const std::size_t headers = ipv6 ? udp6_header_bytes : udp4_header_bytes;
        const std::size_t mtu = interface_mtu(address.get());
        size = mtu > headers ? mtu - headers : limit;
    }
    config.datagram_bytes_max = std::clamp(size, udp_datagram_bytes_min, limit);
    config.receive_buffer_bytes = udp_receive_buffer_bytes;
    config.groups = true;
    return DatagramSocketTransport::adopt(io, fd.release(), options, std::move(config));
}

}  // namespace herald::runtime

// UdpGroups: IP multicast groups and the broadcast address on the udp transport. Layer: runtime.
// Linux hands a group's (or the broadcast address's) datagrams only to sockets bound to that
// address or to the wildcard address, so each joined group gets a socket bound to the group
// address and port (SO_REUSEADDR: every node of a host binds the same one), never the listen
// socket: a node's listen address stays the specific address its id derives from.
#include "runtime/udp_groups.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <asio/post.hpp>
#include <cerrno>

#include "core/assert.h"
#include "runtime/endpoint_socket.h"
#include "runtime/transport_datagram.h"
#include "runtime/udp_transport.h"

namespace herald::runtime {
namespace {

template <class T>
Status set_option(int fd, int level, int name, const T& value, std::string_view what) {
    if (::setsockopt(fd, level, name, &value, sizeof value) != 0) {
        return fail(os_error(std::string("setsockopt ") + std::string(what), errno));
    }
    return {};
}

bool is_v6(const Endpoint& endpoint) {
    return endpoint.host.find(':') != std::string::npos;
}

// The text of an interface address as inet_ntop writes it (as the Endpoints we receive carry).
std::string address_text(const sockaddr* address) {
    char text[INET6_ADDRSTRLEN] = {};
    if (address->sa_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, text,
                  sizeof text);
    } else if (address->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, text,
                  sizeof text);
    }
    return text;
}

// This host's addresses of one family, and the interface index of `wanted` (0 when absent).
struct HostAddresses {
    std::vector<std::string> texts;
    unsigned wanted_index = 0;
};

Result<HostAddresses> host_addresses(int family, const std::string& wanted) {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return fail(os_error("getifaddrs", errno));
    HostAddresses out;
    for (const ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
        if (entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != family) continue;
        std::string text = address_text(entry->ifa_addr);
        if (text == wanted) out.wanted_index = ::if_nametoindex(entry->ifa_name);
        out.texts.push_back(std::move(text));
    }
    ::freeifaddrs(list);
    return out;
}

}  // namespace

UdpGroups::UdpGroups(asio::io_context& io, int listen_fd, const Endpoint& local,
                     const TransportOptions& options, AtomicCounters& counters)
    : io_(io),
      listen_fd_(listen_fd),
      local_(local),
      options_(options),
      counters_(counters),
      ipv6_(is_v6(local)),
      wildcard_(local.host == "0.0.0.0" || local.host == "::") {
    HERALD_ASSERT(listen_fd_ >= 0);
}

UdpGroups::~UdpGroups() {
    close();
}

Status UdpGroups::open_broadcast() {
    if (!options_.groups.broadcast) return {};
    const Endpoint& broadcast = *options_.groups.broadcast;
    if (broadcast.scheme != Endpoint::Scheme::udp || is_v6(broadcast) || ipv6_ ||
        broadcast.port == 0 || check_group_endpoint(broadcast)) {
        return fail(Errc::invalid_argument,
                    "broadcast endpoint " + to_string(broadcast) +
                        ": must be an IPv4 udp endpoint with a port, not a multicast address, "
                        "on an IPv4 listen address");
    }
    const int on = 1;
    HERALD_TRY(set_option(listen_fd_, SOL_SOCKET, SO_BROADCAST, on, "SO_BROADCAST"));
    if (wildcard_ && host_addresses_.empty()) HERALD_TRY(find_interface());
    HERALD_TRY(broadcast_, open_receiver(broadcast, false));
    return {};
}

void UdpGroups::start(Transport::ReceiveHandler handler) {
    HERALD_ASSERT(!handler_);
    handler_ = std::move(handler);
    for (Slot& slot : slots_) {
        if (slot.receiver) start_receiver(*slot.receiver);
    }
    if (broadcast_) start_receiver(*broadcast_);
}

void UdpGroups::start_receiver(Transport& receiver) {
    if (!handler_ || closed_) return;
    receiver.start([this](const Endpoint& from, ByteView datagram) {
        counters_.group_received.add();
        if (is_echo(from)) {
            counters_.group_echoes.add();  // Our own, looped back by the kernel: drop.
            return;
        }
        handler_(from, datagram);
    });
}

// The listen socket sends every datagram, so our own echo comes from its address. With a
// wildcard listen address the source is one of this host's addresses on the listen port, which
// no other socket of this host can send from.
bool UdpGroups::is_echo(const Endpoint& from) const {
    if (from.port != local_.port) return false;
    if (!wildcard_) return from.host == local_.host;
    return std::find(host_addresses_.begin(), host_addresses_.end(), from.host) !=
           host_addresses_.end();
}

Status UdpGroups::find_interface() {
    const std::string& name = options_.groups.multicast_interface;
    if (!name.empty()) {
        interface_index_ = ::if_nametoindex(name.c_str());
        if (interface_index_ == 0) {
            return fail(Errc::invalid_argument, "multicast_interface '" + name +
                                                    "': no such "
                                                    "interface");
        }
    }
    if (!wildcard_ && !ipv6_) return {};  // IPv4 picks the interface by the listen address.
    HERALD_TRY(HostAddresses host, host_addresses(ipv6_ ? AF_INET6 : AF_INET, local_.host));
    if (name.empty() && !wildcard_) interface_index_ = host.wanted_index;
    host_addresses_ = std::move(host.texts);
    return {};
}

Status UdpGroups::configure_sending() {
    if (configured_) return {};
    HERALD_TRY(find_interface());
    const int ttl = options_.groups.multicast_ttl;
    const int loop = options_.groups.multicast_loop ? 1 : 0;
    if (ipv6_) {
        const int index = static_cast<int>(interface_index_);
        HERALD_TRY(
            set_option(listen_fd_, IPPROTO_IPV6, IPV6_MULTICAST_IF, index, "IPV6_MULTICAST_IF"));
        HERALD_TRY(
            set_option(listen_fd_, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, ttl, "IPV6_MULTICAST_HOPS"));
        HERALD_TRY(
            set_option(listen_fd_, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, loop, "IPV6_MULTICAST_LOOP"));
    } else {
        ip_mreqn request{};
        request.imr_ifindex = static_cast<int>(interface_index_);
        if (!wildcard_ && interface_index_ == 0) {
            inet_pton(AF_INET, local_.host.c_str(), &request.imr_address);
        }
        HERALD_TRY(set_option(listen_fd_, IPPROTO_IP, IP_MULTICAST_IF, request, "IP_MULTICAST_IF"));
        HERALD_TRY(set_option(listen_fd_, IPPROTO_IP, IP_MULTICAST_TTL, ttl, "IP_MULTICAST_TTL"));
        HERALD_TRY(
            set_option(listen_fd_, IPPROTO_IP, IP_MULTICAST_LOOP, loop, "IP_MULTICAST_LOOP"));
    }
    configured_ = true;
    return {};
}

Result<Transport::GroupHandle> UdpGroups::add(const Endpoint& group, GroupRole role) {
    HERALD_TRY(check_group_endpoint(group));
    if (is_v6(group) != ipv6_) {
        return fail(Errc::invalid_argument,
                    "group " + to_string(group) +
                        " is not of the listen address's family: " + to_string(local_));
    }
    if (closed_) return fail(Errc::closed, "transport closed");
    HERALD_TRY(configure_sending());
    std::size_t open_slot = slots_.size();
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        Slot& slot = slots_[i];
        if (!slot.used) {
            open_slot = std::min(open_slot, i);
            continue;
        }
        if (slot.group != group) continue;
        if (role == GroupRole::member && !slot.receiver) {
            HERALD_TRY(slot.receiver, open_receiver(group, true));
            start_receiver(*slot.receiver);
        }
        return static_cast<Transport::GroupHandle>(i + 1);
    }
    if (open_slot == slots_.size() && slots_.size() >= options_.groups.groups_max) {
        return fail(Errc::queue_full, "groups_max (" + std::to_string(options_.groups.groups_max) +
                                          ") groups are registered");
    }
    std::unique_ptr<Transport> receiver;
    if (role == GroupRole::member) {
        HERALD_TRY(receiver, open_receiver(group, true));
    }
    if (open_slot == slots_.size()) slots_.emplace_back();
    slots_[open_slot] = Slot{true, group, std::move(receiver)};
    if (slots_[open_slot].receiver) start_receiver(*slots_[open_slot].receiver);
    return static_cast<Transport::GroupHandle>(open_slot + 1);
}

Status UdpGroups::remove(Transport::GroupHandle group) {
    if (group == 0 || group > slots_.size() || !slots_[group - 1].used) {
        return fail(Errc::not_found, "no group with handle " + std::to_string(group));
    }
    Slot& slot = slots_[group - 1];
    slot.used = false;
    if (slot.receiver) {
        slot.receiver->close();  // Closing the socket leaves the group.
        retired_.push_back(std::move(slot.receiver));
        asio::post(io_, [this, alive = life_.watch()] {
            if (!alive.expired()) retired_.clear();
        });
    }
    return {};
}

const Endpoint* UdpGroups::endpoint(Transport::GroupHandle group) const {
    if (group == 0 || group > slots_.size() || !slots_[group - 1].used) return nullptr;
    return &slots_[group - 1].group;
}

Result<std::unique_ptr<Transport>> UdpGroups::open_receiver(const Endpoint& bound, bool join) {
    HERALD_TRY(SocketAddress address, to_socket_address(bound));
    if (ipv6_) {
        // Link-local scope groups (ff02::/16, ff12::/16) need the interface to bind.
        reinterpret_cast<sockaddr_in6*>(&address.storage)->sin6_scope_id = interface_index_;
    }
    UniqueFd fd(::socket(address.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) return fail(os_error("socket", errno));
    const int on = 1;
    HERALD_TRY(set_option(fd.get(), SOL_SOCKET, SO_REUSEADDR, on, "SO_REUSEADDR"));
    HERALD_TRY(set_socket_buffers(fd.get(), options_.socket_buffer_bytes));
    if (::bind(fd.get(), address.get(), address.length) != 0) {
        return fail(os_error("bind " + to_string(bound), errno));
    }
    if (join) HERALD_TRY(this->join(fd.get(), bound));
    TransportOptions receive_options = options_;
    receive_options.batch_max = std::min(options_.groups.group_batch_max, options_.batch_max);
    receive_options.groups = GroupOptions{};
    DatagramSocketConfig config;
    config.local = bound;
    config.datagram_bytes_max = ipv6_ ? udp6_datagram_bytes_max : udp4_datagram_bytes_max;
    config.receive_buffer_bytes = udp_receive_buffer_bytes;
    config.counters = &counters_;
    return DatagramSocketTransport::adopt(io_, fd.release(), receive_options, std::move(config));
}

Status UdpGroups::join(int fd, const Endpoint& group) const {
    if (ipv6_) {
        ipv6_mreq request{};
        inet_pton(AF_INET6, group.host.c_str(), &request.ipv6mr_multiaddr);
        request.ipv6mr_interface = interface_index_;
        if (::setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &request, sizeof request) != 0) {
            return fail(os_error("join " + to_string(group), errno));
        }
        return {};
    }
    ip_mreqn request{};
    inet_pton(AF_INET, group.host.c_str(), &request.imr_multiaddr);
    request.imr_ifindex = static_cast<int>(interface_index_);
    if (!wildcard_ && interface_index_ == 0) {
        inet_pton(AF_INET, local_.host.c_str(), &request.imr_address);
    }
    if (::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &request, sizeof request) != 0) {
        return fail(os_error("join " + to_string(group), errno));
    }
    return {};
}

void UdpGroups::close() {
    if (closed_) return;
    closed_ = true;
    for (Slot& slot : slots_) {
        if (slot.receiver) slot.receiver->close();
    }
    if (broadcast_) broadcast_->close();
}

}  // namespace herald::runtime

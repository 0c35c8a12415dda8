// Endpoint <-> sockaddr conversions and their caches. Layer: runtime.
#include "runtime/endpoint_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>

namespace herald::runtime {

Error os_error(std::string_view what, int error) {
    std::string detail(what);
    detail.append(": ").append(std::strerror(error));
    return Error{Errc::io_error, std::move(detail)};
}

namespace {

Result<SocketAddress> ip_socket_address(const Endpoint& endpoint) {
    SocketAddress out;
    if (endpoint.host.find(':') == std::string::npos) {
        auto* in4 = reinterpret_cast<sockaddr_in*>(&out.storage);
        in4->sin_family = AF_INET;
        in4->sin_port = htons(endpoint.port);
        if (inet_pton(AF_INET, endpoint.host.c_str(), &in4->sin_addr) != 1) {
            return fail(Errc::invalid_argument, "not an IPv4 address: " + endpoint.host);
        }
        out.length = sizeof(sockaddr_in);
        return out;
    }
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(endpoint.port);
    if (inet_pton(AF_INET6, endpoint.host.c_str(), &in6->sin6_addr) != 1) {
        return fail(Errc::invalid_argument, "not an IPv6 address: " + endpoint.host);
    }
    out.length = sizeof(sockaddr_in6);
    return out;
}

}  // namespace

Result<SocketAddress> to_socket_address(const Endpoint& endpoint) {
    switch (endpoint.scheme) {
        case Endpoint::Scheme::udp:
        case Endpoint::Scheme::tcp:
            return ip_socket_address(endpoint);
        case Endpoint::Scheme::unix_socket: {
            SocketAddress out;
            auto* un = reinterpret_cast<sockaddr_un*>(&out.storage);
            if (endpoint.path.empty() || endpoint.path.size() >= sizeof(un->sun_path)) {
                return fail(Errc::invalid_argument, "bad unix socket path: " + endpoint.path);
            }
            un->sun_family = AF_UNIX;
            std::memcpy(un->sun_path, endpoint.path.data(), endpoint.path.size());
            out.length =
                static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + endpoint.path.size() + 1);
            return out;
        }
        case Endpoint::Scheme::inproc:
            break;
    }
    return fail(Errc::invalid_argument, "no socket address for " + to_string(endpoint));
}

Result<Endpoint> from_socket_address(Endpoint::Scheme scheme, const sockaddr* address,
                                     socklen_t length) {
    Endpoint endpoint;
    endpoint.scheme = scheme;
    char text[INET6_ADDRSTRLEN] = {};
    if (address->sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
        const auto* in4 = reinterpret_cast<const sockaddr_in*>(address);
        inet_ntop(AF_INET, &in4->sin_addr, text, sizeof text);
        endpoint.host = text;
        endpoint.port = ntohs(in4->sin_port);
        return endpoint;
    }
    if (address->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
        inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
        endpoint.host = text;
        endpoint.port = ntohs(in6->sin6_port);
        return endpoint;
    }
    constexpr auto path_offset = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path));
    if (address->sa_family == AF_UNIX && length > path_offset) {
        const auto* un = reinterpret_cast<const sockaddr_un*>(address);
        const std::size_t size_max = length - path_offset;
        // Abstract names (leading NUL) are not paths; a bound sender has a path.
        if (un->sun_path[0] != '\0') {
            endpoint.path.assign(un->sun_path, strnlen(un->sun_path, size_max));
            return endpoint;
        }
    }
    return fail(Errc::invalid_argument, "sender address has no endpoint (unbound or unknown)");
}

Result<Endpoint> local_endpoint_of(int fd, Endpoint::Scheme scheme) {
    SocketAddress address;
    address.length = sizeof(address.storage);
    if (getsockname(fd, address.get(), &address.length) != 0) {
        return fail(os_error("getsockname", errno));
    }
    return from_socket_address(scheme, address.get(), address.length);
}

bool EndpointCache::Key::operator==(const Key& other) const {
    return length == other.length && std::memcmp(bytes.data(), other.bytes.data(), length) == 0;
}

std::size_t EndpointCache::KeyHash::operator()(const Key& key) const {
    std::uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a: short keys, no adversarial reuse.
    for (socklen_t i = 0; i < key.length; ++i) {
        hash = (hash ^ key.bytes[i]) * 0x100000001b3ULL;
    }
    return static_cast<std::size_t>(hash);
}

const Endpoint* EndpointCache::find(const sockaddr* address, socklen_t length) {
    if (length == 0 || length > sizeof(sockaddr_storage)) return nullptr;
    if (last_ != nullptr && last_key_.length == length &&
        std::memcmp(last_key_.bytes.data(), address, length) == 0) {
        return last_;
    }
    Key key;
    key.length = length;
    std::memcpy(key.bytes.data(), address, length);
    auto found = entries_.find(key);
    if (found == entries_.end()) {
        auto endpoint = from_socket_address(scheme_, address, length);
        if (!endpoint) return nullptr;
        if (entries_.size() >= entries_max_) entries_.clear();
        found = entries_.emplace(key, std::move(*endpoint)).first;
    }
    last_key_ = key;
    last_ = &found->second;  // unordered_map nodes are stable until erased.
    return last_;
}

Result<const SocketAddress*> SocketAddressCache::find(const Endpoint& endpoint) {
    if (valid_ && endpoint == last_endpoint_) return &last_address_;
    HERALD_TRY(last_address_, to_socket_address(endpoint));
    last_endpoint_ = endpoint;
    valid_ = true;
    return &last_address_;
}

}  // namespace herald::runtime

// Endpoint <-> sockaddr conversions and the small caches that keep them off the hot path.
// Layer: runtime (internal to the socket transports; not part of the public contract).
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <string>
#include <unordered_map>

#include "runtime/transport.h"

namespace herald::runtime {

// A socket address of any family, as the kernel reads and writes it.
struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;

    [[nodiscard]] const sockaddr* get() const {
        return reinterpret_cast<const sockaddr*>(&storage);
    }
    [[nodiscard]] sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
    [[nodiscard]] int family() const { return storage.ss_family; }
};

// udp/tcp: the IP literal and port; unix: the path. Errc::invalid_argument for inproc, a host
// that is not an IP literal, or a path that does not fit sun_path.
[[nodiscard]] Result<SocketAddress> to_socket_address(const Endpoint& endpoint);

// The Endpoint of a kernel-reported address. Errc::invalid_argument for an unknown family or
// an unnamed unix socket (a sender that did not bind: there is no way to reply).
[[nodiscard]] Result<Endpoint> from_socket_address(Endpoint::Scheme scheme, const sockaddr* address,
                                                   socklen_t length);

// The local address of a bound socket. Errc::io_error with errno text.
[[nodiscard]] Result<Endpoint> local_endpoint_of(int fd, Endpoint::Scheme scheme);

// "what: strerror(error)" as Errc::io_error.
[[nodiscard]] Error os_error(std::string_view what, int error);

// Maps raw sender addresses to Endpoints so each peer is formatted once, not per datagram.
// Bounded: when entries_max distinct senders are cached it starts over. Loop thread only.
class EndpointCache {
public:
    explicit EndpointCache(Endpoint::Scheme scheme, std::size_t entries_max = 4096)
        : scheme_(scheme), entries_max_(entries_max) {}

    // nullptr when the address has no Endpoint (see from_socket_address).
    [[nodiscard]] const Endpoint* find(const sockaddr* address, socklen_t length);

private:
    struct Key {
        socklen_t length = 0;
        std::array<unsigned char, sizeof(sockaddr_storage)> bytes{};
        bool operator==(const Key& other) const;
    };
    struct KeyHash {
        std::size_t operator()(const Key& key) const;
    };

    Endpoint::Scheme scheme_;
    std::size_t entries_max_;
    std::unordered_map<Key, Endpoint, KeyHash> entries_;
    Key last_key_;
    const Endpoint* last_ = nullptr;
};

// Remembers the last destination's SocketAddress: engines send bursts to one peer.
class SocketAddressCache {
public:
    [[nodiscard]] Result<const SocketAddress*> find(const Endpoint& endpoint);

private:
    Endpoint last_endpoint_;
    SocketAddress last_address_;
    bool valid_ = false;
};

}  // namespace herald::runtime

// UdpGroups: the udp transport's group addresses (IP multicast groups and the broadcast
// address). Sends leave from the listen socket, so receivers see the sender's own address as
// `from`; each joined group, and the broadcast address, has a receive socket of its own.
// Layer: runtime (internal to the udp transport; docs/wire.md, "Group and broadcast addresses").
#pragma once

#include <asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/transport.h"
#include "runtime/transport_support.h"

namespace herald::runtime {

class UdpGroups {
public:
    // `listen_fd` is the transport's bound listen socket (not owned); `counters` are the
    // transport's, where the receive sockets count too. Both outlive this object.
    UdpGroups(asio::io_context& io, int listen_fd, const Endpoint& local,
              const TransportOptions& options, AtomicCounters& counters);
    ~UdpGroups();
    UdpGroups(const UdpGroups&) = delete;
    UdpGroups& operator=(const UdpGroups&) = delete;

    // With groups.broadcast: SO_BROADCAST on the listen socket and the broadcast receive
    // socket. Errc::invalid_argument (not IPv4, not udp, port 0, a multicast address),
    // Errc::io_error (errno text). Called once, at open.
    [[nodiscard]] Status open_broadcast();

    // Starts the receive sockets (those joined later start at once). Loop thread only.
    void start(Transport::ReceiveHandler handler);

    [[nodiscard]] Transport::Capabilities capabilities() const {
        return {true, broadcast_ != nullptr};
    }
    // Transport's contracts (transport.h).
    [[nodiscard]] Result<Transport::GroupHandle> add(const Endpoint& group, GroupRole role);
    [[nodiscard]] Status remove(Transport::GroupHandle group);
    [[nodiscard]] const Endpoint* endpoint(Transport::GroupHandle group) const;
    [[nodiscard]] const Endpoint* broadcast_endpoint() const {
        return broadcast_ ? &options_.groups.broadcast.value() : nullptr;
    }

    // Closes every receive socket. Idempotent.
    void close();

private:
    struct Slot {
        bool used = false;
        Endpoint group;
        std::unique_ptr<Transport> receiver;  // Joined (GroupRole::member) only.
    };

    Status configure_sending();
    Status find_interface();
    Result<std::unique_ptr<Transport>> open_receiver(const Endpoint& bound, bool join);
    Status join(int fd, const Endpoint& group) const;
    void start_receiver(Transport& receiver);
    [[nodiscard]] bool is_echo(const Endpoint& from) const;

    asio::io_context& io_;
    int listen_fd_;
    Endpoint local_;
    TransportOptions options_;
    AtomicCounters& counters_;
    bool ipv6_ = false;
    bool wildcard_ = false;                    // The listen address is 0.0.0.0 or ::.
    bool configured_ = false;                  // The listen socket has its multicast options.
    unsigned interface_index_ = 0;             // 0: by address (IPv4) or the kernel's choice.
    std::vector<std::string> host_addresses_;  // Wildcard listen: this host's, for is_echo.
    std::vector<Slot> slots_;                  // Handle h is slots_[h - 1].
    std::unique_ptr<Transport> broadcast_;     // The broadcast receive socket.
    Transport::ReceiveHandler handler_;        // Set by start().
    // Receivers of removed groups, closed; destroyed by a posted task, because remove() may
    // run inside their own receive handler.
    std::vector<std::unique_ptr<Transport>> retired_;
    bool closed_ = false;
    LifeToken life_;
};

}  // namespace herald::runtime

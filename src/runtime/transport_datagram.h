// DatagramSocketTransport: the udp and unix transports, one non-blocking SOCK_DGRAM socket
// driven by Asio readiness and batched with recvmmsg / sendmmsg. Layer: runtime (internal;
// open it through open_transport).
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <asio/generic/datagram_protocol.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/endpoint_socket.h"
#include "runtime/receive_wait.h"
#include "runtime/transport_support.h"
#include "runtime/unix_peer_room.h"

namespace herald::runtime {

// Closes a descriptor unless released: the open paths return early on every error.
class UniqueFd {
public:
    explicit UniqueFd(int fd) : fd_(fd) {}
    ~UniqueFd();
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    [[nodiscard]] int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }

private:
    int fd_;
};

// SO_RCVBUF and SO_SNDBUF requests (the kernel caps them at rmem_max / wmem_max).
// Errc::io_error with errno text.
[[nodiscard]] Status set_socket_buffers(int fd, std::uint32_t bytes);

struct DatagramSocketConfig {
    Endpoint local;                        // Bound address, port filled in.
    int family = 0;                        // AF_INET, AF_INET6, AF_UNIX; filled by adopt().
    std::size_t datagram_bytes_max = 0;    // Sends above it are refused and counted.
    std::size_t receive_buffer_bytes = 0;  // Each of the preallocated receive buffers.
    // Unix datagram sockets: a peer whose receive queue is full makes sendmsg fail with EAGAIN,
    // yet the socket still polls writable, so waiting for writable would spin. Wait for that
    // peer to have room (UnixPeerRoom), with a timer as the fallback; when the peer has room
    // (our own send buffer was full) or cannot be watched, retry on a backing-off timer.
    bool retry_by_timer = false;
    // While the socket waits for room, a datagram to the address of the last queued one is
    // appended to it when both fit in datagram_bytes_max (a Herald datagram is packets back to
    // back, docs/wire.md "Datagrams", so the join is one valid datagram). Unix: a peer's queue
    // holds a number of datagrams (net.unix.max_dgram_qlen), not of bytes, so fewer and larger
    // datagrams get through where many small ones (a receiver's acks) would wait. Udp counts
    // bytes: it gains nothing there. Set for unix from TransportOptions::join_queued.
    bool join_queued = false;
    std::string unlink_path;  // Unix: the bound path, removed on close.
    dev_t unlink_device = 0;  // ... only if it is still our socket file.
    ino_t unlink_inode = 0;
    bool groups = false;  // Udp: multicast groups and broadcast (UdpGroups).
    // Where to count; null: the transport's own counters. A group's receive socket counts
    // into its udp transport's.
    AtomicCounters* counters = nullptr;
};

class UdpGroups;

class DatagramSocketTransport final : public Transport {
public:
    // Takes ownership of `fd` (bound, non-blocking) and closes it on failure.
    // Errc::io_error when Asio cannot register the descriptor; with config.groups, also the
    // errors of UdpGroups::open_broadcast.
    static Result<std::unique_ptr<Transport>> adopt(asio::io_context& io, int fd,
                                                    const TransportOptions& options,
                                                    DatagramSocketConfig config);

    DatagramSocketTransport(asio::io_context& io, const TransportOptions& options,
                            DatagramSocketConfig config);
    ~DatagramSocketTransport() override;
    DatagramSocketTransport(const DatagramSocketTransport&) = delete;
    DatagramSocketTransport& operator=(const DatagramSocketTransport&) = delete;

    void start(ReceiveHandler handler) override;
    void send(const Endpoint& to, ByteView datagram) override;
    void send_gather(const Endpoint& to, ByteView head, ByteView body) override;
    void flush() override;
    [[nodiscard]] Endpoint local_endpoint() const override { return config_.local; }
    [[nodiscard]] std::size_t datagram_bytes_max() const override {
        return config_.datagram_bytes_max;
    }
    void close() override;
    [[nodiscard]] Counters counters() const override { return counters_.snapshot(); }
    [[nodiscard]] Capabilities capabilities() const override;
    [[nodiscard]] Result<GroupHandle> add_group(const Endpoint& group, GroupRole role) override;
    [[nodiscard]] Status remove_group(GroupHandle group) override;
    [[nodiscard]] const Endpoint* group_endpoint(GroupHandle group) const override;
    [[nodiscard]] const Endpoint* broadcast_endpoint() const override;

private:
    struct Outgoing {
        SocketAddress to;
        Bytes data;
    };

    void prepare_receive_buffers();
    void drain_receive();
    int receive_batch();
    void arm_receive_wait(bool drained);
    void schedule_flush();
    bool send_now(const SocketAddress& to, ByteView head, ByteView body);
    bool join_queued(const SocketAddress& to, ByteView head, ByteView body);
    bool send_batch();
    void pop_sent(std::size_t count);
    void arm_write_wait();
    void arm_retry_timer(std::chrono::microseconds delay, std::uint64_t wait);
    bool end_write_wait(std::uint64_t wait);
    void on_retry_timer();

    asio::io_context& io_;
    TransportOptions options_;
    DatagramSocketConfig config_;
    ReceiveSocket socket_;
    asio::steady_timer retry_timer_;
    UnixPeerRoom peer_room_;  // Unix (retry_by_timer) only; its socket is made on first use.
    ReceiveHandler handler_;

    // Receive side: batch buffers allocated once; nothing is allocated per datagram.
    std::vector<unsigned char> receive_storage_;
    std::vector<mmsghdr> receive_headers_;
    std::vector<iovec> receive_iovecs_;
    std::vector<sockaddr_storage> receive_addresses_;
    EndpointCache senders_;

    // Send side: a bounded queue; data buffers are recycled through spares_.
    std::deque<Outgoing> queue_;
    std::size_t queue_bytes_ = 0;
    std::vector<Bytes> spares_;
    std::vector<mmsghdr> send_headers_;
    std::vector<iovec> send_iovecs_;
    SocketAddressCache destinations_;
    std::chrono::microseconds retry_delay_;
    std::uint32_t head_retries_ = 0;
    std::uint64_t write_wait_id_ = 0;  // Which wait a timer or peer-room completion belongs to.

    bool started_ = false, closed_ = false, receive_waiting_ = false;
    bool write_waiting_ = false, flush_posted_ = false;
    AtomicCounters own_counters_;
    AtomicCounters& counters_;           // own_counters_ or config_.counters.
    std::unique_ptr<UdpGroups> groups_;  // Udp only; after the counters it counts into.
    LifeToken life_;
};

}  // namespace herald::runtime

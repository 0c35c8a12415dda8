// DatagramSocketTransport: recvmmsg / sendmmsg over one non-blocking SOCK_DGRAM socket.
// Layer: runtime. Asio only reports readiness; the system calls are made here directly.
#include "runtime/transport_datagram.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <asio/post.hpp>
#include <cerrno>
#include <cstring>

#include "core/assert.h"
#include "runtime/udp_groups.h"

namespace herald::runtime {
namespace {

// Receive buffers take at most this much memory per transport (batch x buffer size).
constexpr std::size_t receive_storage_bytes_max = 4u << 20;
// ... and a batch of datagrams of the transport's own size at most this much, so that a batch
// of large datagrams stays in the L2 cache (1-2 MiB per core) between the kernel's copy into it
// and the checksum and copy out of it: with 64 of 64 KiB (loopback) the first were evicted
// before they were read (issue 17: kernel copy ~8.9 -> ~7 us, user copy ~7.4 -> ~5 us per
// 64 KiB message, docs/performance.md). Datagrams sized to a 1,500-byte MTU keep 64 a batch.
constexpr std::size_t receive_batch_bytes_max = 1u << 20;
// recvmmsg rounds per readiness event before yielding the loop to timers and other sockets.
constexpr int receive_rounds_max = 16;
// receive_batch() results other than a count.
constexpr int receive_drained = -1;
constexpr int receive_broken = -2;
// Unix retry timer: from the first delay, doubling to the last; after this many retries on
// the same head datagram it is dropped, so one stuck peer cannot block the others for long.
constexpr std::chrono::microseconds retry_delay_first{16};
constexpr std::chrono::microseconds retry_delay_last{1024};
constexpr std::uint32_t head_retries_max = 100;
// Recycled send buffers kept for reuse; more would only hold memory.
constexpr std::size_t spares_factor = 2;
// A datagram at least this large, with nothing queued before it, is sent at once from the
// caller's buffer: batching saves nothing at this size, and the copy into the queue is skipped.
constexpr std::size_t direct_send_bytes_min = 8192;

bool same_address(const SocketAddress& a, const SocketAddress& b) {
    return a.length == b.length && std::memcmp(&a.storage, &b.storage, a.length) == 0;
}

}  // namespace

UniqueFd::~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
}

Status set_socket_buffers(int fd, std::uint32_t bytes) {
    const int value = static_cast<int>(std::min<std::uint32_t>(bytes, 1u << 30));
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, sizeof value) != 0) {
        return fail(os_error("setsockopt SO_RCVBUF", errno));
    }
    if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &value, sizeof value) != 0) {
        return fail(os_error("setsockopt SO_SNDBUF", errno));
    }
    return {};
}

Result<std::unique_ptr<Transport>> DatagramSocketTransport::adopt(asio::io_context& io, int fd,
                                                                  const TransportOptions& options,
                                                                  DatagramSocketConfig config) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        const int error = errno;
        ::close(fd);
        return fail(os_error("getsockname", error));
    }
    config.family = address.ss_family;
    const bool groups = config.groups;
    auto transport = std::make_unique<DatagramSocketTransport>(io, options, std::move(config));
    asio::error_code ec;
    transport->socket_.assign(asio::generic::datagram_protocol(address.ss_family, 0), fd, ec);
    if (ec) {
        ::close(fd);  // The transport's destructor still removes a unix socket file.
        return fail(Errc::io_error, "registering the socket with the loop: " + ec.message());
    }
    if (groups) {
        transport->groups_ = std::make_unique<UdpGroups>(io, fd, transport->config_.local, options,
                                                         transport->counters_);
        HERALD_TRY(transport->groups_->open_broadcast());
    }
    return std::unique_ptr<Transport>(std::move(transport));
}

DatagramSocketTransport::DatagramSocketTransport(asio::io_context& io,
                                                 const TransportOptions& options,
                                                 DatagramSocketConfig config)
    : io_(io),
      options_(options),
      config_(std::move(config)),
      socket_(io),
      retry_timer_(io),
      peer_room_(io),
      senders_(config_.local.scheme),
      retry_delay_(retry_delay_first),
      counters_(config_.counters != nullptr ? *config_.counters : own_counters_) {
    HERALD_ASSERT(options_.batch_max > 0);
    HERALD_ASSERT(config_.receive_buffer_bytes > 0);
    HERALD_ASSERT(config_.datagram_bytes_max > 0);
    prepare_receive_buffers();
    send_headers_.resize(options_.batch_max);
    send_iovecs_.resize(options_.batch_max);
}

DatagramSocketTransport::~DatagramSocketTransport() {
    close();
}

void DatagramSocketTransport::prepare_receive_buffers() {
    const std::size_t fit = std::min(receive_storage_bytes_max / config_.receive_buffer_bytes,
                                     receive_batch_bytes_max / config_.datagram_bytes_max);
    const std::size_t batch = std::clamp<std::size_t>(fit, 1, options_.batch_max);
    receive_storage_.resize(batch * config_.receive_buffer_bytes);
    receive_headers_.resize(batch);
    receive_iovecs_.resize(batch);
    receive_addresses_.resize(batch);
    for (std::size_t i = 0; i < batch; ++i) {
        receive_iovecs_[i].iov_base = receive_storage_.data() + i * config_.receive_buffer_bytes;
        receive_iovecs_[i].iov_len = config_.receive_buffer_bytes;
        msghdr& header = receive_headers_[i].msg_hdr;
        header = msghdr{};
        header.msg_iov = &receive_iovecs_[i];
        header.msg_iovlen = 1;
        header.msg_name = &receive_addresses_[i];
    }
}

void DatagramSocketTransport::start(ReceiveHandler handler) {
    HERALD_ASSERT(!started_);
    HERALD_ASSERT(handler);
    handler_ = std::move(handler);
    started_ = true;
    if (closed_) return;
    if (groups_) groups_->start(handler_);
    // Datagrams that arrived before start() raised their readiness edge already: drain first.
    asio::post(io_, [this, alive = life_.watch()] {
        if (!alive.expired() && !closed_) drain_receive();
    });
}

// Reads until a batch comes back shorter than the buffers (recvmmsg returns fewer only when the
// queue ran dry, or before an error that the next readiness reports) or EAGAIN, then waits.
// Not asking again for the EAGAIN that follows a short batch saves a system call per wake-up,
// and ReceiveSocket::wait_readable saves asio's EPOLL_CTL_MOD: under a flood of small batches
// a wake-up costs epoll_wait and recvmmsg instead of those two and two more. No datagram is
// missed: one that arrives after the last read raises the edge-triggered registration, and the
// loop's one thread queues the wait before it polls again (receive_wait.h). Bounded work: at
// most receive_rounds_max batches per wake-up, then the rest after the other handlers.
void DatagramSocketTransport::drain_receive() {
    const auto batch = static_cast<int>(receive_headers_.size());
    for (int round = 0; round < receive_rounds_max; ++round) {
        const int received = receive_batch();
        if (closed_) return;
        if (received < 0 || (received > 0 && received < batch)) {
            arm_receive_wait(received != receive_broken);
            return;
        }
    }
    // Still more to read: yield to other handlers, then continue.
    asio::post(io_, [this, alive = life_.watch()] {
        if (!alive.expired() && !closed_) drain_receive();
    });
}

// Returns the datagrams handled, receive_drained (EAGAIN) or receive_broken (an error other
// than EINTR and ECONNREFUSED, counted: wait, with the socket re-registered).
int DatagramSocketTransport::receive_batch() {
    const auto batch = static_cast<unsigned>(receive_headers_.size());
    for (auto& entry : receive_headers_) {
        entry.msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        entry.msg_hdr.msg_flags = 0;
    }
    const int count =
        ::recvmmsg(socket_.native_handle(), receive_headers_.data(), batch, MSG_DONTWAIT, nullptr);
    if (count < 0) {
        const int error = errno;
        if (error == EAGAIN || error == EWOULDBLOCK) return receive_drained;
        // ECONNREFUSED is an ICMP port-unreachable for an earlier send: count it, read on.
        if (error == EINTR) return 0;
        counters_.receive_errors.add();
        return error == ECONNREFUSED ? 0 : receive_broken;
    }
    for (int i = 0; i < count; ++i) {
        const msghdr& header = receive_headers_[static_cast<std::size_t>(i)].msg_hdr;
        const Endpoint* from =
            senders_.find(static_cast<const sockaddr*>(header.msg_name), header.msg_namelen);
        if ((header.msg_flags & MSG_TRUNC) != 0 || from == nullptr) {
            counters_.receive_errors.add();  // Larger than our buffers, or an unbound sender.
            continue;
        }
        counters_.datagrams_received.add();
        const auto* data = static_cast<const std::uint8_t*>(header.msg_iov->iov_base);
        handler_(*from, ByteView(data, receive_headers_[static_cast<std::size_t>(i)].msg_len));
        if (closed_) break;
    }
    return count;
}

// `drained`: the last read found the socket empty, so the wait need not re-register it
// (ReceiveSocket::wait_readable); after an error, asio's async_wait does, and reports at once
// what is still queued.
void DatagramSocketTransport::arm_receive_wait(bool drained) {
    if (receive_waiting_) return;
    receive_waiting_ = true;
    auto on_readable = [this, alive = life_.watch()](const asio::error_code& ec) {
        if (alive.expired()) return;
        receive_waiting_ = false;
        if (!ec && !closed_) drain_receive();
    };
    if (drained) {
        socket_.wait_readable(std::move(on_readable));
    } else {
        socket_.async_wait(asio::socket_base::wait_read, std::move(on_readable));
    }
}

void DatagramSocketTransport::send(const Endpoint& to, ByteView datagram) {
    send_gather(to, datagram, ByteView());
}

void DatagramSocketTransport::send_gather(const Endpoint& to, ByteView head, ByteView body) {
    const std::size_t size = head.size() + body.size();
    if (closed_ || size > config_.datagram_bytes_max || to.scheme != config_.local.scheme) {
        counters_.send_errors.add();
        return;
    }
    auto address = destinations_.find(to);
    if (!address || (*address)->family() != config_.family) {
        counters_.send_errors.add();
        return;
    }
    if (queue_.empty() && size >= direct_send_bytes_min && send_now(**address, head, body)) {
        return;
    }
    if (queue_bytes_ + size > options_.send_queue_bytes_max) {
        counters_.send_dropped.add();
        return;
    }
    if (join_queued(**address, head, body)) return;
    if (queue_.size() >= options_.send_queue_max) {
        counters_.send_dropped.add();
        return;
    }
    Bytes data;
    if (!spares_.empty()) {
        data = std::move(spares_.back());
        spares_.pop_back();
    }
    data.assign(head.begin(), head.end());
    data.insert(data.end(), body.begin(), body.end());
    queue_.push_back(Outgoing{**address, std::move(data)});
    queue_bytes_ += size;
    if (queue_.size() >= options_.batch_max) {
        flush();
    } else {
        schedule_flush();
    }
}

// While the socket waits (config_.join_queued), a datagram for the address of the queue's last
// one joins it when both fit in one datagram. A pending wait flushes the queue.
bool DatagramSocketTransport::join_queued(const SocketAddress& to, ByteView head, ByteView body) {
    if (!config_.join_queued || !write_waiting_ || queue_.empty()) return false;
    Outgoing& last = queue_.back();
    const std::size_t size = head.size() + body.size();
    if (last.data.size() + size > config_.datagram_bytes_max || !same_address(last.to, to)) {
        return false;
    }
    last.data.insert(last.data.end(), head.begin(), head.end());
    last.data.insert(last.data.end(), body.begin(), body.end());
    queue_bytes_ += size;
    return true;
}

// The Node flushes after each batch of effects; this post covers callers that do not.
void DatagramSocketTransport::schedule_flush() {
    if (flush_posted_) return;
    flush_posted_ = true;
    asio::post(io_, [this, alive = life_.watch()] {
        if (alive.expired()) return;
        flush_posted_ = false;
        flush();
    });
}

void DatagramSocketTransport::flush() {
    if (closed_ || write_waiting_) return;  // A pending wait flushes when it completes.
    while (!queue_.empty()) {
        if (!send_batch()) {
            arm_write_wait();
            return;
        }
    }
}

// One sendmsg of head then body (a gather write: neither is copied in user space), without
// queueing. Returns false when the socket is full (the caller queues it).
bool DatagramSocketTransport::send_now(const SocketAddress& to, ByteView head, ByteView body) {
    iovec pieces[2] = {{const_cast<std::uint8_t*>(head.data()), head.size()},
                       {const_cast<std::uint8_t*>(body.data()), body.size()}};
    msghdr message{};
    message.msg_name = const_cast<sockaddr*>(to.get());
    message.msg_namelen = to.length;
    message.msg_iov = pieces;
    message.msg_iovlen = body.empty() ? 1 : 2;
    const ssize_t sent = ::sendmsg(socket_.native_handle(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent >= 0) {
        counters_.datagrams_sent.add();
        return true;
    }
    const int error = errno;
    if (error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS || error == EINTR) return false;
    counters_.send_errors.add();  // Refused, as in send_batch: dropped; the engines retransmit.
    return true;
}

// One sendmmsg. Returns false when the socket is full (wait), true otherwise.
bool DatagramSocketTransport::send_batch() {
    const std::size_t batch = std::min<std::size_t>(queue_.size(), options_.batch_max);
    for (std::size_t i = 0; i < batch; ++i) {
        Outgoing& out = queue_[i];
        send_iovecs_[i].iov_base = out.data.data();
        send_iovecs_[i].iov_len = out.data.size();
        msghdr& header = send_headers_[i].msg_hdr;
        header = msghdr{};
        header.msg_name = out.to.get();
        header.msg_namelen = out.to.length;
        header.msg_iov = &send_iovecs_[i];
        header.msg_iovlen = 1;
    }
    const int sent = ::sendmmsg(socket_.native_handle(), send_headers_.data(),
                                static_cast<unsigned>(batch), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent > 0) {
        pop_sent(static_cast<std::size_t>(sent));
        counters_.datagrams_sent.add(static_cast<std::uint64_t>(sent));
        retry_delay_ = retry_delay_first;
        head_retries_ = 0;
        return true;
    }
    const int error = sent == 0 ? EAGAIN : errno;
    if (error == EINTR) return true;
    if (error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS) return false;
    // The head datagram was refused (EMSGSIZE, a unix peer that is gone: ENOENT or
    // ECONNREFUSED, EACCES...): drop it and go on; the engines retransmit.
    counters_.send_errors.add();
    pop_sent(1);
    return true;
}

void DatagramSocketTransport::pop_sent(std::size_t count) {
    const std::size_t spares_max = spares_factor * options_.batch_max;
    for (std::size_t i = 0; i < count; ++i) {
        Outgoing& out = queue_.front();
        queue_bytes_ -= out.data.size();
        if (spares_.size() < spares_max) spares_.push_back(std::move(out.data));
        queue_.pop_front();
    }
}

void DatagramSocketTransport::arm_write_wait() {
    write_waiting_ = true;
    const std::uint64_t wait = ++write_wait_id_;
    if (!config_.retry_by_timer) {
        socket_.async_wait(asio::socket_base::wait_write,
                           [this, alive = life_.watch(), wait](const asio::error_code& ec) {
                               if (alive.expired() || !end_write_wait(wait)) return;
                               if (!ec && !closed_) flush();
                           });
        return;
    }
    // Unix: the head's peer is full (wait until it takes a datagram; the timer only guards
    // against a wake-up that never comes), or our own buffer is (back off on the timer).
    if (peer_room_.watch(queue_.front().to) != UnixPeerRoom::State::full) {
        arm_retry_timer(retry_delay_, wait);
        retry_delay_ = std::min(retry_delay_ * 2, retry_delay_last);
        return;
    }
    peer_room_.wait([this, alive = life_.watch(), wait](const asio::error_code& ec) {
        if (alive.expired() || ec || !end_write_wait(wait)) return;
        if (!closed_) flush();
    });
    arm_retry_timer(retry_delay_last, wait);
}

void DatagramSocketTransport::arm_retry_timer(std::chrono::microseconds delay, std::uint64_t wait) {
    retry_timer_.expires_after(delay);
    retry_timer_.async_wait([this, alive = life_.watch(), wait](const asio::error_code& ec) {
        if (alive.expired() || ec || !end_write_wait(wait)) return;
        if (!closed_) on_retry_timer();
    });
}

// Ends write wait `wait` when it is still the current one (the other completion of the same
// wait, a timer or the peer's room, is then stale). Returns whether it was.
bool DatagramSocketTransport::end_write_wait(std::uint64_t wait) {
    if (!write_waiting_ || wait != write_wait_id_) return false;
    write_waiting_ = false;
    if (config_.retry_by_timer) {
        retry_timer_.cancel();
        peer_room_.cancel();
    }
    return true;
}

void DatagramSocketTransport::on_retry_timer() {
    if (++head_retries_ > head_retries_max && !queue_.empty()) {
        counters_.send_dropped.add();  // The head's peer has not drained for ~100 ms.
        pop_sent(1);
        head_retries_ = 0;
    }
    flush();
}

Transport::Capabilities DatagramSocketTransport::capabilities() const {
    return groups_ ? groups_->capabilities() : Capabilities{};
}

Result<Transport::GroupHandle> DatagramSocketTransport::add_group(const Endpoint& group,
                                                                  GroupRole role) {
    return groups_ ? groups_->add(group, role) : Transport::add_group(group, role);
}

Status DatagramSocketTransport::remove_group(GroupHandle group) {
    return groups_ ? groups_->remove(group) : Transport::remove_group(group);
}

const Endpoint* DatagramSocketTransport::group_endpoint(GroupHandle group) const {
    return groups_ ? groups_->endpoint(group) : nullptr;
}

const Endpoint* DatagramSocketTransport::broadcast_endpoint() const {
    return groups_ ? groups_->broadcast_endpoint() : nullptr;
}

void DatagramSocketTransport::close() {
    if (closed_) return;
    closed_ = true;
    if (groups_) groups_->close();
    asio::error_code ignored;
    socket_.close(ignored);
    retry_timer_.cancel();
    peer_room_.close();
    counters_.send_dropped.add(queue_.size());
    queue_.clear();
    queue_bytes_ = 0;
    if (!config_.unlink_path.empty()) {
        // Remove the socket file only while it is still ours (not replaced by a new node).
        struct stat info {};
        if (::lstat(config_.unlink_path.c_str(), &info) == 0 &&
            info.st_dev == config_.unlink_device && info.st_ino == config_.unlink_inode) {
            ::unlink(config_.unlink_path.c_str());
        }
    }
}

}  // namespace herald::runtime

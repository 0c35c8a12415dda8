// bench-raw: the raw floor. Blocking datagram sockets with no library and no protocol:
// UDP on 127.0.0.1 and Unix datagram sockets; ping-pong, windowed echo, and one-way streams
// with plain sendto/recvfrom or batched sendmmsg/recvmmsg (--variant mmsg). Layer: bench.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "bench/common/meter.h"
#include "bench/common/peer.h"
#include "bench/common/socket_util.h"
#include "core/result.h"  // HERALD_TRY

namespace herald::bench {
namespace {

constexpr std::uint32_t socket_buffer_bytes = 4u << 20;  // As Herald's TransportOptions.
constexpr std::size_t udp_payload_max = 65507;           // 65535 - IPv4 and UDP headers.
constexpr std::size_t unix_payload_max = 256u << 10;     // Well under the 4 MiB send buffer.
constexpr std::size_t batch_max = 64;                    // Datagrams per sendmmsg/recvmmsg.
constexpr std::int64_t reply_timeout_ms = 2000;          // A lost datagram fails the run.
constexpr std::int64_t stream_idle_ms = 300;             // Stream over when this quiet.
constexpr std::int64_t first_message_wait_ms = 10'000;

// One datagram socket and the address it talks to. Messages larger than one datagram are
// split into equal chunks, as an application over plain UDP would have to.
struct Link {
    Fd fd;
    SocketAddress peer;      // Server: the last sender. Client: unused (socket connected).
    bool connected = false;  // Client sockets are connected; servers answer with sendto.
    std::size_t chunk_bytes = 0;
    std::vector<std::uint8_t> buffer;
};

std::size_t chunk_bytes_for(std::size_t size, std::size_t payload_max) {
    std::size_t chunks = size == 0 ? 1 : (size + payload_max - 1) / payload_max;
    return (size + chunks - 1) / chunks;
}

Result<Link> open_link(const PeerArgs& args, std::string& endpoint) {
    const bool udp = args.transport == "udp";
    if (!udp && args.transport != "unix") {
        return fail(Errc::invalid_argument, "bench-raw: transport must be udp or unix");
    }
    Link link;
    link.chunk_bytes = chunk_bytes_for(args.size_bytes, udp ? udp_payload_max : unix_payload_max);
    link.buffer.assign(udp ? udp_payload_max : unix_payload_max, 0x5a);
    SocketAddress local;
    if (args.role == Role::server) {
        HERALD_TRY(local, udp ? ipv4_address("127.0.0.1:0") : unix_address(args.dir + "/raw.sock"));
    } else {
        // A Unix client needs its own name, or the server could not answer it.
        std::string self = args.endpoint + ".client." + std::to_string(::getpid());
        HERALD_TRY(local, udp ? ipv4_address("127.0.0.1:0") : unix_address(self));
    }
    HERALD_TRY(link.fd, bound_datagram_socket(local, socket_buffer_bytes));
    if (args.role == Role::server) {
        if (udp) {
            HERALD_TRY(auto port, local_port(link.fd.get()));
            endpoint = "127.0.0.1:" + std::to_string(port);
        } else {
            endpoint = args.dir + "/raw.sock";
        }
        return link;
    }
    HERALD_TRY(link.peer, udp ? ipv4_address(args.endpoint) : unix_address(args.endpoint));
    if (::connect(link.fd.get(), link.peer.get(), link.peer.length) != 0) {
        return fail(errno_error("connect"));
    }
    link.connected = true;
    return link;
}

Status send_datagram(Link& link, const std::uint8_t* data, std::size_t size) {
    for (;;) {
        ssize_t n = link.connected
                        ? ::send(link.fd.get(), data, size, 0)
                        : ::sendto(link.fd.get(), data, size, 0, link.peer.get(), link.peer.length);
        if (n >= 0) return {};
        if (errno != EINTR && errno != ENOBUFS) return fail(errno_error("send"));
    }
}

Status send_message(Link& link, std::size_t size) {
    std::size_t offset = 0;
    do {
        std::size_t chunk = std::min(link.chunk_bytes, size - offset);
        HERALD_TRY(send_datagram(link, link.buffer.data(), chunk));
        offset += chunk;
    } while (offset < size);
    return {};
}

// One datagram; its length, or Errc::timeout when SO_RCVTIMEO expired.
Result<std::size_t> receive_datagram(Link& link) {
    for (;;) {
        link.peer.length = sizeof(link.peer.storage);
        ssize_t n = ::recvfrom(link.fd.get(), link.buffer.data(), link.buffer.size(), 0,
                               link.connected ? nullptr : link.peer.get(),
                               link.connected ? nullptr : &link.peer.length);
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno == EAGAIN || errno == EWOULDBLOCK) return fail(Errc::timeout, "no datagram");
        if (errno != EINTR) return fail(errno_error("recvfrom"));
    }
}

Status receive_message(Link& link, std::size_t size) {
    std::size_t got = 0;
    do {
        HERALD_TRY(auto n, receive_datagram(link));
        got += n;
    } while (got < size);
    return {};
}

// Latency and window server: echoes every message until the driver stops the process.
Status serve_echo(Link& link, std::size_t size) {
    for (;;) {
        HERALD_TRY(receive_message(link, size));
        HERALD_TRY(send_message(link, size));
    }
}

Status run_latency_client(const PeerArgs& args, Link& link) {
    HERALD_TRY(set_receive_timeout(link.fd.get(), reply_timeout_ms));
    HERALD_TRY(auto summary, measure_latency(args, [&]() -> Status {
                   HERALD_TRY(send_message(link, args.size_bytes));
                   return receive_message(link, args.size_bytes);
               }));
    announce_result(to_fields(summary));
    return {};
}

Status run_window_client(const PeerArgs& args, Link& link) {
    if (args.size_bytes > link.chunk_bytes) {
        return fail(Errc::invalid_argument, "bench-raw: window messages must fit a datagram");
    }
    HERALD_TRY(set_receive_timeout(link.fd.get(), reply_timeout_ms));
    WindowMeter meter(args);
    for (std::uint32_t i = 0; i < args.window; ++i) HERALD_TRY(send_message(link, args.size_bytes));
    while (!meter.done(now_ns())) {
        HERALD_TRY(receive_message(link, args.size_bytes));
        meter.on_complete(now_ns());
        HERALD_TRY(send_message(link, args.size_bytes));
    }
    announce_result(meter.fields());
    return {};
}

// Headers and vectors for one sendmmsg/recvmmsg call.
struct Batch {
    std::vector<mmsghdr> headers;
    std::vector<iovec> vectors;
};

Batch make_batch(std::size_t datagrams) {
    Batch batch;
    batch.headers.resize(datagrams);
    batch.vectors.resize(datagrams);
    for (std::size_t i = 0; i < datagrams; ++i) {
        batch.headers[i] = {};
        batch.headers[i].msg_hdr.msg_iov = &batch.vectors[i];
        batch.headers[i].msg_hdr.msg_iovlen = 1;
    }
    return batch;
}

// Sending: whole messages, each split into its chunks, all pointing at the same payload.
Batch make_send_batch(Link& link, std::size_t size, std::size_t messages) {
    std::size_t per_message = (size + link.chunk_bytes - 1) / link.chunk_bytes;
    Batch batch = make_batch(messages * per_message);
    for (std::size_t i = 0; i < batch.vectors.size(); ++i) {
        std::size_t offset = (i % per_message) * link.chunk_bytes;
        batch.vectors[i] = {link.buffer.data(), std::min(link.chunk_bytes, size - offset)};
    }
    return batch;
}

// Receiving: one slot per datagram, as large as the datagrams of this run. Built and touched
// before the server says ready, so that page faults do not stall the first datagrams.
Batch make_receive_batch(Link& link) {
    const std::size_t slot = std::max<std::size_t>(link.chunk_bytes, 1);
    link.buffer.assign(batch_max * slot, 0);
    Batch batch = make_batch(batch_max);
    for (std::size_t i = 0; i < batch_max; ++i) {
        batch.vectors[i] = {link.buffer.data() + i * slot, slot};
    }
    return batch;
}

Status send_end(Link& link) {
    // Three zero-byte datagrams mark the end; the receiver's idle timeout covers their loss.
    // ECONNREFUSED / ENOTCONN: the receiver already ended (on the first one, or on its idle
    // timeout) and closed its socket.
    for (int i = 0; i < 3; ++i) {
        if (::send(link.fd.get(), link.buffer.data(), 0, 0) == 0) continue;
        if (errno == ECONNREFUSED || errno == ENOTCONN) return {};
        if (errno != EINTR && errno != ENOBUFS) return fail(errno_error("send end"));
    }
    return {};
}

Result<std::uint64_t> stream_plain(const PeerArgs& args, Link& link, std::int64_t stop) {
    std::uint64_t sent = 0;
    while (now_ns() < stop) {
        for (int i = 0; i < 16; ++i, ++sent) HERALD_TRY(send_message(link, args.size_bytes));
    }
    return sent;
}

Result<std::uint64_t> stream_batched(const PeerArgs& args, Link& link, std::int64_t stop) {
    std::size_t per_message = (args.size_bytes + link.chunk_bytes - 1) / link.chunk_bytes;
    std::size_t messages = std::max<std::size_t>(1, batch_max / per_message);
    Batch batch = make_send_batch(link, args.size_bytes, messages);
    auto count = static_cast<unsigned>(batch.headers.size());
    std::uint64_t datagrams = 0;
    while (now_ns() < stop) {
        for (unsigned done = 0; done < count;) {
            // Non-blocking, then poll for room: a blocking sendmmsg on a Unix datagram socket
            // whose receiver queue is full (net.unix.max_dgram_qlen) can stall for many
            // milliseconds; event loops (and Herald's transport) wait for POLLOUT instead.
            int n =
                ::sendmmsg(link.fd.get(), batch.headers.data() + done, count - done, MSG_DONTWAIT);
            if (n < 0 && errno == EAGAIN) {
                pollfd writable{link.fd.get(), POLLOUT, 0};
                ::poll(&writable, 1, 10);
            } else if (n < 0 && errno != EINTR && errno != ENOBUFS) {
                return fail(errno_error("sendmmsg"));
            }
            done += n > 0 ? static_cast<unsigned>(n) : 0;
        }
        datagrams += count;
    }
    return datagrams / per_message;
}

Status run_stream_client(const PeerArgs& args, Link& link) {
    const std::int64_t stop = now_ns() + (args.warmup_ms + args.duration_ms) * 1'000'000;
    HERALD_TRY(auto sent, args.variant == "mmsg" ? stream_batched(args, link, stop)
                                                 : stream_plain(args, link, stop));
    HERALD_TRY(send_end(link));
    announce_result({{"sent_msgs", std::to_string(sent)}});
    linger_until_stdin_closed(30'000);
    return {};
}

// Waits for the stream's first datagram; then a quiet spell of stream_idle_ms ends it.
bool keep_waiting(const StreamMeter& meter, std::int64_t started) {
    return meter.bytes() == 0 && now_ns() - started < first_message_wait_ms * 1'000'000;
}

Status receive_plain(Link& link, StreamMeter& meter) {
    const std::int64_t started = now_ns();
    for (;;) {
        auto n = receive_datagram(link);
        if (!n && n.error().code == Errc::timeout && keep_waiting(meter, started)) continue;
        if (!n && n.error().code == Errc::timeout) return {};
        HERALD_TRY(auto bytes, std::move(n));
        if (bytes == 0) return {};
        meter.on_bytes(bytes, 1, now_ns());
    }
}

Status receive_batched(Link& link, Batch& batch, StreamMeter& meter) {
    const std::int64_t started = now_ns();
    for (;;) {
        int n = ::recvmmsg(link.fd.get(), batch.headers.data(), unsigned{batch_max}, MSG_WAITFORONE,
                           nullptr);
        if (n < 0 && errno == EAGAIN && keep_waiting(meter, started)) continue;
        if (n < 0 && errno == EAGAIN) return {};
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(errno_error("recvmmsg"));
        std::uint64_t bytes = 0;
        bool end = false;
        for (int i = 0; i < n; ++i) {
            bytes += batch.headers[static_cast<std::size_t>(i)].msg_len;
            end = end || batch.headers[static_cast<std::size_t>(i)].msg_len == 0;
        }
        meter.on_bytes(bytes, static_cast<std::uint64_t>(n), now_ns());
        if (end) return {};
    }
}

Status run_stream_server(const PeerArgs& args, Link& link, const std::string& endpoint) {
    HERALD_TRY(set_receive_timeout(link.fd.get(), stream_idle_ms));
    Batch batch = args.variant == "mmsg" ? make_receive_batch(link) : Batch{};
    StreamMeter meter(args.warmup_ms * 1'000'000);
    announce_ready(endpoint);
    HERALD_TRY(args.variant == "mmsg" ? receive_batched(link, batch, meter)
                                      : receive_plain(link, meter));
    announce_result(meter.fields(args.size_bytes));
    return {};
}

Status run(const PeerArgs& args) {
    std::string endpoint;
    HERALD_TRY(auto link, open_link(args, endpoint));
    if (args.role == Role::server) {
        if (args.pattern == Pattern::stream) return run_stream_server(args, link, endpoint);
        announce_ready(endpoint);
        return serve_echo(link, args.size_bytes);
    }
    switch (args.pattern) {
        case Pattern::latency:
            return run_latency_client(args, link);
        case Pattern::window:
            return run_window_client(args, link);
        case Pattern::stream:
            return run_stream_client(args, link);
        case Pattern::memory:
        case Pattern::mcast:
        case Pattern::paced:
            break;
    }
    return fail(Errc::invalid_argument, "bench-raw: no memory or group patterns");
}

}  // namespace
}  // namespace herald::bench

int main(int argc, char** argv) {
    return herald::bench::peer_main("bench-raw", argc, argv, herald::bench::run);
}

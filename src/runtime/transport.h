// Transport: moves encoded datagrams between nodes over one kind of socket (udp, unix, tcp,
// inproc). Layer: runtime. The Node above it owns the loop thread; transports never block.
#pragma once

#include <asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/result.h"

namespace herald::runtime {

// A parsed node address: "udp://127.0.0.1:7400", "udp://[::1]:7400", "tcp://127.0.0.1:7400",
// "unix:/run/herald.sock" (or "unix:///abs/path"), "inproc://name". Port 0 = chosen by the OS.
struct Endpoint {
    enum class Scheme : std::uint8_t { udp, tcp, unix_socket, inproc };
    Scheme scheme = Scheme::udp;
    std::string host;  // IP literal (udp, tcp) or name (inproc); empty for unix.
    std::uint16_t port = 0;
    std::string path;  // unix only.

    auto operator<=>(const Endpoint&) const = default;
};

// Errc::invalid_argument with a detail naming what is wrong ("unknown scheme 'htp'").
[[nodiscard]] Result<Endpoint> parse_endpoint(std::string_view url);
[[nodiscard]] std::string to_string(const Endpoint& endpoint);

struct TransportOptions {
    std::uint32_t socket_buffer_bytes = 4u << 20;  // SO_RCVBUF / SO_SNDBUF request.
    std::uint32_t batch_max = 64;                  // Datagrams per sendmmsg / recvmmsg.
    std::uint32_t send_queue_max = 65536;          // Datagrams queued when the socket is full;
                                                   // beyond it sends are dropped and counted.
    // Bytes queued (same rule as send_queue_max): 65,536 datagrams of 64 KiB would be 4 GiB.
    std::size_t send_queue_bytes_max = 64u << 20;
    // Largest datagram; 0 = the transport's default (udp4 65,507, udp6 65,487, unix 200 KiB,
    // tcp and inproc 16 MiB + 64 KiB). Real networks want ~1,400 for UDP (no IP fragments).
    // Values above the transport's own limit are lowered to it.
    std::size_t datagram_bytes_max = 0;
};

class Transport {
public:
    // Called on the loop thread for every datagram that arrived. `from` and `datagram` are
    // valid only during the call (copy what you keep). The handler may call send(), flush()
    // and close() on this transport, but must not destroy it.
    using ReceiveHandler = std::function<void(const Endpoint& from, ByteView datagram)>;

    virtual ~Transport() = default;

    // Starts receiving. Loop thread only.
    virtual void start(ReceiveHandler handler) = 0;

    // Queues one datagram to `to` (datagram sockets send a large one with nothing queued before
    // it at once, without copying it). Never blocks; when the socket and the bounded send queue
    // are full the datagram is dropped and counted (the engines retransmit). Loop thread only.
    virtual void send(const Endpoint& to, ByteView datagram) = 0;

    // Pushes queued datagrams to the kernel (one sendmmsg where available). Loop thread only.
    virtual void flush() = 0;

    // The bound address (port filled in when 0 was asked for). Any thread after open.
    [[nodiscard]] virtual Endpoint local_endpoint() const = 0;

    // Largest datagram this transport carries in one piece; the Node fragments larger packets.
    [[nodiscard]] virtual std::size_t datagram_bytes_max() const = 0;

    // Stops receiving and closes the socket. Loop thread only; idempotent.
    virtual void close() = 0;

    // send_dropped: a bounded queue was full. send_errors: refused (oversize, wrong scheme,
    // peer unreachable, OS error). receive_errors: OS errors and truncated datagrams.
    // receive_malformed: bad input from outside (tcp frame over the limit, bad hello).
    // faults_*: what with_faults() did on purpose (zero for plain transports).
    struct Counters {
        std::uint64_t datagrams_sent = 0, datagrams_received = 0, send_dropped = 0;
        std::uint64_t send_errors = 0, receive_errors = 0;
        std::uint64_t receive_malformed = 0;
        std::uint64_t faults_dropped = 0, faults_duplicated = 0, faults_reordered = 0;
        std::uint64_t faults_delayed = 0;
    };
    // A snapshot. Any thread (the fields are read from relaxed atomics).
    [[nodiscard]] virtual Counters counters() const = 0;
};

// Opens a transport bound to `listen` on `io` (whose run() is the node's loop thread).
// Errc::invalid_argument (bad endpoint), Errc::io_error (bind failed: detail has errno text),
// Errc::already_exists (inproc name taken).
[[nodiscard]] Result<std::unique_ptr<Transport>> open_transport(asio::io_context& io,
                                                                const Endpoint& listen,
                                                                const TransportOptions& options);

// Fault injection (STYLE.md: Aeron's loss interceptors): wraps a transport and, with a seeded
// generator, drops, duplicates, reorders and delays outgoing datagrams.
struct FaultOptions {
    double loss = 0.0;               // Probability each outgoing datagram is dropped.
    double duplicate = 0.0;          // Probability it is sent twice.
    double reorder = 0.0;            // Probability it is held back and sent after later ones.
    std::uint32_t delay_us_max = 0;  // Uniform extra delay in [0, max] for each datagram.
    std::uint64_t seed = 1;
    [[nodiscard]] bool any() const {
        return loss > 0 || duplicate > 0 || reorder > 0 || delay_us_max > 0;
    }
};

// Parses "loss=0.2,dup=0.05,reorder=0.1,delay_us=500,seed=7" (the HERALD_FAULTS environment
// variable and the --faults option). Errc::invalid_argument names the bad key or value.
[[nodiscard]] Result<FaultOptions> parse_fault_options(std::string_view text);

[[nodiscard]] std::unique_ptr<Transport> with_faults(asio::io_context& io,
                                                     std::unique_ptr<Transport> inner,
                                                     const FaultOptions& faults);

}  // namespace herald::runtime

// Transport: moves encoded datagrams between nodes over one kind of socket (udp, unix, tcp,
// inproc). Layer: runtime. The Node above it owns the loop thread; transports never block.
#pragma once

#include <asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
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

// Whether `endpoint` is on this host: a unix socket or inproc endpoint, an IP loopback address
// (127.0.0.0/8, ::1), or an address of one of this host's interfaces (getifaddrs, looked up on
// every call). A wildcard or unparsable host is not local.
[[nodiscard]] bool is_local(const Endpoint& endpoint);

// Whether `endpoint` can name an IP multicast group: scheme udp, a multicast address (IPv4
// 224.0.0.0/4, IPv6 ff00::/8) and a port other than 0 (every member binds the same port).
// Errc::invalid_argument says which of the three is wrong.
[[nodiscard]] Status check_group_endpoint(const Endpoint& endpoint);

// The largest TransportOptions::groups.groups_max: each joined group costs a socket.
constexpr std::uint32_t groups_max_limit = 1024;

// Group addresses (docs/wire.md, "Group and broadcast addresses"): how the udp transport sends
// one datagram to many nodes. The other transports ignore these options.
struct GroupOptions {
    // Interface that sends and joins, by name ("eth0"). Empty: the interface of the listen
    // address (IPv4: by its address; IPv6: looked up with getifaddrs), or the kernel's choice
    // (the route to the group) when the node listens on a wildcard address.
    std::string multicast_interface;
    std::uint8_t multicast_ttl = 1;  // IP_MULTICAST_TTL / hops: 1 keeps groups on one link.
    // IP_MULTICAST_LOOP: other nodes on this host that joined the group hear it. A node never
    // hears its own group or broadcast datagrams (the transport drops them, counted).
    bool multicast_loop = true;
    // Groups registered at once (handles 1..groups_max, at most groups_max_limit); one more
    // fails with Errc::queue_full. Each joined group holds a socket and its receive buffers
    // (group_batch_max x 64 KiB).
    std::uint32_t groups_max = 64;
    std::uint32_t group_batch_max = 8;  // recvmmsg batch of each group socket (<= batch_max).
    // The broadcast endpoint (IPv4 only: udp://10.0.0.255:7600, udp://255.255.255.255:7600).
    // Set: the listen socket gets SO_BROADCAST, sends to this endpoint reach every node of the
    // link, and a second socket bound to it receives (every node of a link uses the same one).
    // Unset: the transport has no broadcast; the Node fans out to each node instead.
    std::optional<Endpoint> broadcast;
};

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
    // Unix: while the socket waits for a full peer, a datagram for the address of the last
    // queued one is appended to it when both fit in datagram_bytes_max. Only for datagrams
    // that are packets back to back (docs/wire.md, "Datagrams"): the Node sets it.
    bool join_queued = false;
    GroupOptions groups;
};

// How add_group treats a group: a sender only sends to it; a member also receives its
// datagrams (a socket bound to the group address and port, joined on the multicast interface).
enum class GroupRole : std::uint8_t { sender, member };

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
    // it at once, without copying it). `to` may be a group_endpoint() or the
    // broadcast_endpoint(): one datagram then reaches every member of the group or the link. Never
    // blocks; when the socket and the bounded send queue are full the datagram is dropped and
    // counted (the engines retransmit). Loop thread only.
    virtual void send(const Endpoint& to, ByteView datagram) = 0;

    // Sends one datagram made of two pieces, `head` then `body`, exactly as send() sends their
    // concatenation (same bounds, drops and counters). The datagram sockets hand both pieces to
    // the kernel in one gather write (sendmsg with two iovecs), so a large body is not copied
    // into a datagram buffer first; the others (and this default) join them in a buffer kept
    // for reuse and call send(). Loop thread only.
    virtual void send_gather(const Endpoint& to, ByteView head, ByteView body);

    // Pushes queued datagrams to the kernel (one sendmmsg where available). Loop thread only.
    virtual void flush() = 0;

    // The bound address (port filled in when 0 was asked for). Any thread after open.
    [[nodiscard]] virtual Endpoint local_endpoint() const = 0;

    // Largest datagram this transport carries in one piece; the Node fragments larger packets.
    [[nodiscard]] virtual std::size_t datagram_bytes_max() const = 0;

    // Stops receiving and closes the socket. Loop thread only; idempotent.
    virtual void close() = 0;

    // What the transport can send in one datagram to many nodes. The Node asks, and fans out
    // (one datagram per node) where the answer is no: tcp, unix and inproc have neither.
    struct Capabilities {
        bool multicast = false;  // add_group works; send() to a group's endpoint reaches it.
        bool broadcast = false;  // groups.broadcast is set; send() to it reaches the link.
    };
    [[nodiscard]] virtual Capabilities capabilities() const { return {}; }

    // 1..groups_max; 0 is never a handle (Destination's default names no group).
    using GroupHandle = std::uint32_t;
    // Registers IP multicast group `group` (check_group_endpoint) and, for GroupRole::member,
    // joins it: its datagrams then reach the receive handler with the sender's address as
    // `from`. Registering a group again returns the same handle (joining it if now asked).
    // Loop thread only; does not block. Errc::invalid_argument: a bad group endpoint, another
    // address family than the listen address, or a transport without multicast.
    // Errc::queue_full: groups_max groups are registered. Errc::io_error: the OS refused the
    // socket, bind or join (errno text). Errc::closed: the transport is closed.
    [[nodiscard]] virtual Result<GroupHandle> add_group(const Endpoint& group, GroupRole role);
    // Leaves and forgets a group; its handle may be handed out again. Errc::not_found for a
    // handle that is not registered. Loop thread only.
    [[nodiscard]] virtual Status remove_group(GroupHandle group);
    // The endpoint to send() a group's datagrams to; nullptr for an unknown handle. Valid until
    // remove_group. Loop thread only.
    [[nodiscard]] virtual const Endpoint* group_endpoint(GroupHandle group) const;
    // groups.broadcast when the transport has broadcast, else nullptr. Any thread after open.
    [[nodiscard]] virtual const Endpoint* broadcast_endpoint() const { return nullptr; }

    // send_dropped: a bounded queue was full. send_errors: refused (oversize, wrong scheme,
    // peer unreachable, OS error). receive_errors: OS errors and truncated datagrams.
    // receive_malformed: bad input from outside (tcp frame over the limit, bad hello).
    // group_received: datagrams that came on a group or broadcast socket (also counted in
    // datagrams_received); group_echoes: of them, this transport's own, dropped.
    // faults_*: what with_faults() did on purpose (zero for plain transports).
    struct Counters {
        std::uint64_t datagrams_sent = 0, datagrams_received = 0, send_dropped = 0;
        std::uint64_t send_errors = 0, receive_errors = 0;
        std::uint64_t receive_malformed = 0;
        std::uint64_t group_received = 0, group_echoes = 0;
        std::uint64_t faults_dropped = 0, faults_duplicated = 0, faults_reordered = 0;
        std::uint64_t faults_delayed = 0;
    };
    // A snapshot. Any thread (the fields are read from relaxed atomics).
    [[nodiscard]] virtual Counters counters() const = 0;

private:
    Bytes gather_;  // The default send_gather's joined datagram; keeps its capacity.
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

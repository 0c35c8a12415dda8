// TcpConnection: one TCP connection of the tcp transport: connect or accept, the hello frame,
// length-prefixed framing in both directions and a bounded write queue. Layer: runtime
// (internal to tcp_transport.cpp). Loop thread only.
#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "runtime/transport_support.h"

namespace herald::runtime {

class TcpConnection;

// What a connection reports to its transport. Never called after the transport is gone.
class TcpConnectionOwner {
public:
    virtual void on_connected(TcpConnection& connection) = 0;
    // Inbound only: the peer announced its listen endpoint. False refuses it (closes).
    virtual bool on_hello(TcpConnection& connection, const Endpoint& peer) = 0;
    virtual void on_frame(TcpConnection& connection, ByteView datagram) = 0;
    // The connection closed by itself (error, EOF, malformed input); never on close().
    virtual void on_closed(TcpConnection& connection, bool connect_failed) = 0;

protected:
    ~TcpConnectionOwner() = default;
};

struct TcpLimits {
    std::size_t frame_bytes_max = 0;  // Larger inbound frames are malformed.
    std::size_t queue_max = 0;        // Frames waiting to be written, per connection.
    std::size_t queue_bytes_max = 0;  // Bytes waiting, over all connections of the transport.
};

class TcpConnection : public std::enable_shared_from_this<TcpConnection> {
public:
    TcpConnection(asio::ip::tcp::socket socket, TcpConnectionOwner& owner,
                  std::weak_ptr<void> owner_alive, AtomicCounters& counters,
                  std::size_t& queued_bytes, const TcpLimits& limits);

    // Outbound: connects to `to` (the peer's listen endpoint `peer`), then sends `hello` first.
    void connect(const asio::ip::tcp::endpoint& to, const Endpoint& peer, ByteView hello);
    // Inbound: reads the peer's hello within the deadline, then frames.
    void accept(std::chrono::milliseconds hello_deadline);

    // Queues one frame. False (nothing queued) when the queue is full.
    bool enqueue(ByteView datagram);
    // Starts writing the queued frames if connected and idle.
    void flush();
    // Closes without telling the owner. Queued frames are counted as send_dropped.
    void close();

    [[nodiscard]] const Endpoint& peer() const { return peer_; }
    [[nodiscard]] bool inbound() const { return inbound_; }
    [[nodiscard]] bool closed() const { return closed_; }

private:
    struct Frame {
        Bytes bytes;          // Length prefix + datagram.
        bool counted = true;  // False for the hello: not a datagram.
    };

    bool push(ByteView datagram, bool counted);
    void read_more();
    void on_read(std::size_t bytes);
    bool handle_frames();
    bool handle_frame(ByteView frame);
    bool handle_hello(ByteView frame);
    void make_room(std::size_t frame_bytes);
    void on_written(std::size_t frames);
    void fail(bool malformed);
    [[nodiscard]] bool gone() const { return closed_ || owner_alive_.expired(); }

    asio::ip::tcp::socket socket_;
    asio::steady_timer hello_timer_;
    TcpConnectionOwner& owner_;
    std::weak_ptr<void> owner_alive_;
    AtomicCounters& counters_;
    std::size_t& transport_queued_bytes_;  // Shared by the transport's connections.
    TcpLimits limits_;
    Endpoint peer_;
    bool inbound_ = false, connected_ = false, hello_done_ = false;
    bool closed_ = false, writing_ = false;

    Bytes read_buffer_;
    std::size_t read_begin_ = 0, read_end_ = 0;

    std::deque<Frame> queue_;
    std::size_t queue_bytes_ = 0;
    std::vector<asio::const_buffer> write_buffers_;
};

// The hello frame's text: magic, then the sender's listen endpoint.
inline constexpr std::string_view tcp_hello_magic = "herald-tcp/1 ";

}  // namespace herald::runtime

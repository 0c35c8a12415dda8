// TcpTransport: the listening socket, the peer -> connection map, reconnect back-off.
// Layer: runtime. Framing and per-connection I/O live in tcp_connection.cpp.
#include "runtime/tcp_transport.h"

#include <algorithm>
#include <asio/post.hpp>
#include <chrono>
#include <map>
#include <set>

#include "core/assert.h"
#include "runtime/tcp_connection.h"

namespace herald::runtime {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t connections_max = 1024;
constexpr std::chrono::milliseconds hello_deadline{5000};
constexpr std::chrono::milliseconds backoff_first{10};
constexpr std::chrono::milliseconds backoff_last{1000};
// After accept fails (EMFILE, ENFILE) wait before trying again instead of spinning.
constexpr std::chrono::milliseconds accept_retry_delay{50};

class TcpTransport final : public Transport, private TcpConnectionOwner {
public:
    TcpTransport(asio::io_context& io, asio::ip::tcp::acceptor acceptor, Endpoint local,
                 const TransportOptions& options, std::size_t datagram_max);
    ~TcpTransport() override { close(); }
    TcpTransport(const TcpTransport&) = delete;
    TcpTransport& operator=(const TcpTransport&) = delete;

    void start(ReceiveHandler handler) override;
    void send(const Endpoint& to, ByteView datagram) override;
    void flush() override;
    [[nodiscard]] Endpoint local_endpoint() const override { return local_; }
    [[nodiscard]] std::size_t datagram_bytes_max() const override {
        return limits_.frame_bytes_max;
    }
    void close() override;
    [[nodiscard]] Counters counters() const override { return counters_.snapshot(); }

private:
    struct Backoff {
        Clock::time_point retry_at;
        std::chrono::milliseconds delay{0};
    };

    void accept_next();
    std::shared_ptr<TcpConnection> connect_to(const Endpoint& to);
    std::shared_ptr<TcpConnection> make_connection(asio::ip::tcp::socket socket);
    void schedule_flush();
    void forget(TcpConnection& connection);

    void on_connected(TcpConnection& connection) override;
    bool on_hello(TcpConnection& connection, const Endpoint& peer) override;
    void on_frame(TcpConnection& connection, ByteView datagram) override;
    void on_closed(TcpConnection& connection, bool connect_failed) override;

    asio::io_context& io_;
    asio::ip::tcp::acceptor acceptor_;
    asio::steady_timer accept_timer_;
    Endpoint local_;
    Bytes hello_;
    TcpLimits limits_;
    ReceiveHandler handler_;
    std::map<Endpoint, std::shared_ptr<TcpConnection>> peers_;  // Where sends to a peer go.
    std::set<std::shared_ptr<TcpConnection>> connections_;      // All, with inbound pending.
    std::map<Endpoint, Backoff> backoff_;
    std::vector<std::shared_ptr<TcpConnection>> dirty_;  // Have frames queued since flush().
    std::size_t queued_bytes_ = 0;  // Frames waiting in all connections (send_queue_bytes_max).
    bool closed_ = false, flush_posted_ = false;
    AtomicCounters counters_;
    LifeToken life_;
};

TcpTransport::TcpTransport(asio::io_context& io, asio::ip::tcp::acceptor acceptor, Endpoint local,
                           const TransportOptions& options, std::size_t datagram_max)
    : io_(io),
      acceptor_(std::move(acceptor)),
      accept_timer_(io),
      local_(std::move(local)),
      hello_(to_bytes(std::string(tcp_hello_magic) + to_string(local_))),
      limits_{datagram_max, options.send_queue_max, options.send_queue_bytes_max} {}

void TcpTransport::start(ReceiveHandler handler) {
    HERALD_ASSERT(handler);
    HERALD_ASSERT(!handler_);
    handler_ = std::move(handler);
    if (!closed_) accept_next();
}

void TcpTransport::accept_next() {
    acceptor_.async_accept([this, alive = life_.watch()](const asio::error_code& ec,
                                                         asio::ip::tcp::socket socket) {
        if (alive.expired() || closed_) return;
        if (ec) {
            counters_.receive_errors.add();
            accept_timer_.expires_after(accept_retry_delay);
            accept_timer_.async_wait([this, alive](const asio::error_code& timer_ec) {
                if (!alive.expired() && !timer_ec && !closed_) accept_next();
            });
            return;
        }
        if (connections_.size() >= connections_max) {
            counters_.receive_errors.add();  // Refused: the socket closes as it goes out of scope.
        } else {
            make_connection(std::move(socket))->accept(hello_deadline);
        }
        accept_next();
    });
}

void TcpTransport::send(const Endpoint& to, ByteView datagram) {
    if (closed_ || to.scheme != Endpoint::Scheme::tcp ||
        datagram.size() > limits_.frame_bytes_max) {
        counters_.send_errors.add();
        return;
    }
    std::shared_ptr<TcpConnection> connection;
    if (auto found = peers_.find(to); found != peers_.end()) {
        connection = found->second;
    } else {
        connection = connect_to(to);
        if (!connection) return;
    }
    if (!connection->enqueue(datagram)) {
        counters_.send_dropped.add();
        return;
    }
    dirty_.push_back(std::move(connection));
    schedule_flush();
}

// A new outbound connection, or nullptr (counted) while the peer is in back-off or when
// there are too many connections.
std::shared_ptr<TcpConnection> TcpTransport::connect_to(const Endpoint& to) {
    if (auto found = backoff_.find(to);
        found != backoff_.end() && Clock::now() < found->second.retry_at) {
        counters_.send_errors.add();
        return nullptr;
    }
    asio::error_code ec;
    const auto address = asio::ip::make_address(to.host, ec);
    if (ec || connections_.size() >= connections_max) {
        (ec ? counters_.send_errors : counters_.send_dropped).add();
        return nullptr;
    }
    auto connection = make_connection(asio::ip::tcp::socket(io_));
    peers_[to] = connection;
    connection->connect(asio::ip::tcp::endpoint(address, to.port), to, hello_);
    return connection;
}

std::shared_ptr<TcpConnection> TcpTransport::make_connection(asio::ip::tcp::socket socket) {
    TcpConnectionOwner& owner = *this;
    auto connection = std::make_shared<TcpConnection>(std::move(socket), owner, life_.watch(),
                                                      counters_, queued_bytes_, limits_);
    connections_.insert(connection);
    return connection;
}

void TcpTransport::schedule_flush() {
    if (flush_posted_) return;
    flush_posted_ = true;
    asio::post(io_, [this, alive = life_.watch()] {
        if (alive.expired()) return;
        flush_posted_ = false;
        flush();
    });
}

void TcpTransport::flush() {
    std::vector<std::shared_ptr<TcpConnection>> dirty;
    dirty.swap(dirty_);
    for (const auto& connection : dirty) connection->flush();
}

void TcpTransport::close() {
    if (closed_) return;
    closed_ = true;
    asio::error_code ignored;
    acceptor_.close(ignored);
    accept_timer_.cancel();
    for (const auto& connection : connections_) connection->close();
    connections_.clear();
    peers_.clear();
    dirty_.clear();
    handler_ = nullptr;
}

void TcpTransport::forget(TcpConnection& connection) {
    const auto self = connection.shared_from_this();
    connections_.erase(self);
    if (auto found = peers_.find(connection.peer());
        found != peers_.end() && found->second == self) {
        peers_.erase(found);
    }
}

void TcpTransport::on_connected(TcpConnection& connection) {
    backoff_.erase(connection.peer());
}

bool TcpTransport::on_hello(TcpConnection& connection, const Endpoint& peer) {
    // Replies go back over this connection unless one to that peer exists already
    // (both sides connected at once: each keeps sending on its own).
    auto [slot, inserted] = peers_.try_emplace(peer, connection.shared_from_this());
    if (!inserted && slot->second->closed()) slot->second = connection.shared_from_this();
    return true;
}

void TcpTransport::on_frame(TcpConnection& connection, ByteView datagram) {
    if (!handler_) {  // A reply on an outbound connection opened before start().
        counters_.receive_errors.add();
        return;
    }
    counters_.datagrams_received.add();
    handler_(connection.peer(), datagram);
}

void TcpTransport::on_closed(TcpConnection& connection, bool connect_failed) {
    forget(connection);
    if (!connect_failed) return;
    Backoff& backoff = backoff_[connection.peer()];
    backoff.delay =
        backoff.delay.count() == 0 ? backoff_first : std::min(backoff.delay * 2, backoff_last);
    backoff.retry_at = Clock::now() + backoff.delay;
    if (backoff_.size() > connections_max) backoff_.clear();  // Bounded; forgetting is safe.
}

Result<asio::ip::tcp::acceptor> listen_on(asio::io_context& io, const Endpoint& listen) {
    asio::error_code ec;
    const auto address = asio::ip::make_address(listen.host, ec);
    if (ec) return fail(Errc::invalid_argument, "not an IP address: " + listen.host);
    const asio::ip::tcp::endpoint where(address, listen.port);
    asio::ip::tcp::acceptor acceptor(io);
    const std::string what = "listen " + to_string(listen) + ": ";
    if (acceptor.open(where.protocol(), ec)) return fail(Errc::io_error, what + ec.message());
    // Lets a restarted node bind while old connections linger in TIME_WAIT; on Linux it does
    // not let two sockets listen on one port.
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (acceptor.bind(where, ec)) return fail(Errc::io_error, what + ec.message());
    if (acceptor.listen(asio::socket_base::max_listen_connections, ec)) {
        return fail(Errc::io_error, what + ec.message());
    }
    return acceptor;
}

}  // namespace

Result<std::unique_ptr<Transport>> open_tcp_transport(asio::io_context& io, const Endpoint& listen,
                                                      const TransportOptions& options) {
    if (listen.scheme != Endpoint::Scheme::tcp) {
        return fail(Errc::invalid_argument, "not a tcp endpoint: " + to_string(listen));
    }
    HERALD_TRY(auto acceptor, listen_on(io, listen));
    asio::error_code ec;
    const auto bound = acceptor.local_endpoint(ec);
    if (ec) return fail(Errc::io_error, "getsockname: " + ec.message());
    Endpoint local;
    local.scheme = Endpoint::Scheme::tcp;
    local.host = bound.address().to_string();
    local.port = bound.port();
    const std::size_t datagram_max =
        options.datagram_bytes_max == 0
            ? tcp_datagram_bytes_default
            : std::min(options.datagram_bytes_max, tcp_datagram_bytes_default);
    return std::unique_ptr<Transport>(std::make_unique<TcpTransport>(
        io, std::move(acceptor), std::move(local), options, datagram_max));
}

}  // namespace herald::runtime

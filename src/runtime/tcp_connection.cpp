// TcpConnection: framing, hello, reads and batched writes on one TCP connection.
// Layer: runtime. Every handler checks that the connection and its transport still exist.
#include "runtime/tcp_connection.h"

#include <asio/connect.hpp>
#include <asio/write.hpp>
#include <cstring>

#include "core/assert.h"

namespace herald::runtime {
namespace {

constexpr std::size_t length_bytes = 4;
// Read in chunks of this size; a larger frame grows the buffer to fit it exactly.
constexpr std::size_t read_chunk_bytes = 64u << 10;
// After a large frame the buffer shrinks back, so idle connections hold little memory.
constexpr std::size_t read_buffer_keep_bytes = 1u << 20;
// One gathered write carries at most this many frames (the rest follow at completion).
constexpr std::size_t write_frames_max = 256;
constexpr std::size_t hello_bytes_max = 512;

std::uint32_t read_length(const std::uint8_t* bytes) {
    return std::uint32_t{bytes[0]} | std::uint32_t{bytes[1]} << 8 | std::uint32_t{bytes[2]} << 16 |
           std::uint32_t{bytes[3]} << 24;
}

}  // namespace

TcpConnection::TcpConnection(asio::ip::tcp::socket socket, TcpConnectionOwner& owner,
                             std::weak_ptr<void> owner_alive, AtomicCounters& counters,
                             std::size_t& queued_bytes, const TcpLimits& limits)
    : socket_(std::move(socket)),
      hello_timer_(socket_.get_executor()),
      owner_(owner),
      owner_alive_(std::move(owner_alive)),
      counters_(counters),
      transport_queued_bytes_(queued_bytes),
      limits_(limits) {}

void TcpConnection::connect(const asio::ip::tcp::endpoint& to, const Endpoint& peer,
                            ByteView hello) {
    peer_ = peer;
    hello_done_ = true;  // Only the accepting side reads a hello.
    push(hello, false);
    socket_.async_connect(to, [self = shared_from_this()](const asio::error_code& ec) {
        if (self->gone()) return;
        if (ec) {
            self->fail(false);
            return;
        }
        asio::error_code ignored;
        self->socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
        self->connected_ = true;
        self->owner_.on_connected(*self);
        if (self->gone()) return;
        self->read_more();
        self->flush();
    });
}

void TcpConnection::accept(std::chrono::milliseconds hello_deadline) {
    inbound_ = true;
    connected_ = true;
    asio::error_code ignored;
    socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    hello_timer_.expires_after(hello_deadline);
    hello_timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
        if (ec || self->gone() || self->hello_done_) return;
        self->fail(true);  // A peer that never says who it is holds a slot: drop it.
    });
    read_more();
}

bool TcpConnection::enqueue(ByteView datagram) {
    return push(datagram, true);
}

bool TcpConnection::push(ByteView datagram, bool counted) {
    const std::size_t frame_bytes = length_bytes + datagram.size();
    if (closed_) return false;
    // The hello always fits (one small frame per connection, and connections are bounded):
    // without it the peer would take the first datagram for a malformed hello.
    if (counted && (queue_.size() >= limits_.queue_max ||
                    transport_queued_bytes_ + frame_bytes > limits_.queue_bytes_max)) {
        return false;
    }
    Frame frame{Bytes(frame_bytes), counted};
    const auto length = static_cast<std::uint32_t>(datagram.size());
    for (std::size_t i = 0; i < length_bytes; ++i) {
        frame.bytes[i] = static_cast<std::uint8_t>(length >> (8 * i));
    }
    if (!datagram.empty()) {
        std::memcpy(frame.bytes.data() + length_bytes, datagram.data(), datagram.size());
    }
    queue_bytes_ += frame_bytes;
    transport_queued_bytes_ += frame_bytes;
    queue_.push_back(std::move(frame));
    return true;
}

void TcpConnection::flush() {
    if (closed_ || !connected_ || writing_ || queue_.empty()) return;
    const std::size_t frames = std::min(queue_.size(), write_frames_max);
    write_buffers_.clear();
    for (std::size_t i = 0; i < frames; ++i)
        write_buffers_.push_back(asio::buffer(queue_[i].bytes));
    writing_ = true;
    asio::async_write(socket_, write_buffers_,
                      [self = shared_from_this(), frames](const asio::error_code& ec, std::size_t) {
                          if (self->gone()) return;
                          self->writing_ = false;
                          if (ec) {
                              self->fail(false);
                              return;
                          }
                          self->on_written(frames);
                      });
}

void TcpConnection::on_written(std::size_t frames) {
    std::uint64_t datagrams = 0;
    for (std::size_t i = 0; i < frames; ++i) {
        queue_bytes_ -= queue_.front().bytes.size();
        transport_queued_bytes_ -= queue_.front().bytes.size();
        datagrams += queue_.front().counted ? 1u : 0u;
        queue_.pop_front();
    }
    counters_.datagrams_sent.add(datagrams);
    flush();
}

void TcpConnection::read_more() {
    if (read_buffer_.size() - read_end_ < read_chunk_bytes / 4) make_room(read_chunk_bytes);
    socket_.async_read_some(
        asio::buffer(read_buffer_.data() + read_end_, read_buffer_.size() - read_end_),
        [self = shared_from_this()](const asio::error_code& ec, std::size_t bytes) {
            if (self->gone()) return;
            if (ec) {
                self->fail(false);  // EOF or reset: the peer is gone.
                return;
            }
            self->on_read(bytes);
        });
}

void TcpConnection::on_read(std::size_t bytes) {
    read_end_ += bytes;
    if (!handle_frames()) return;
    read_more();
}

// Handles every complete frame in the buffer. False when the connection closed meanwhile.
bool TcpConnection::handle_frames() {
    while (read_end_ - read_begin_ >= length_bytes) {
        const std::size_t length = read_length(read_buffer_.data() + read_begin_);
        const std::size_t limit = hello_done_ ? limits_.frame_bytes_max : hello_bytes_max;
        if (length > limit) {
            fail(true);
            return false;
        }
        if (read_end_ - read_begin_ < length_bytes + length) {
            make_room(length_bytes + length);
            return true;
        }
        const ByteView frame(read_buffer_.data() + read_begin_ + length_bytes, length);
        read_begin_ += length_bytes + length;
        if (!handle_frame(frame) || gone()) return false;
    }
    make_room(read_chunk_bytes);
    return true;
}

bool TcpConnection::handle_frame(ByteView frame) {
    if (!hello_done_) return handle_hello(frame);
    owner_.on_frame(*this, frame);
    return true;
}

bool TcpConnection::handle_hello(ByteView frame) {
    const std::string_view text = as_text(frame);
    if (text.substr(0, tcp_hello_magic.size()) != tcp_hello_magic) {
        fail(true);
        return false;
    }
    auto announced = parse_endpoint(text.substr(tcp_hello_magic.size()));
    if (!announced || announced->scheme != Endpoint::Scheme::tcp) {
        fail(true);
        return false;
    }
    // A node listening on 0.0.0.0 or :: announces that; reach it where it came from instead.
    asio::error_code ec;
    const auto host = asio::ip::make_address(announced->host, ec);
    const auto remote = socket_.remote_endpoint(ec);
    if (!ec && host.is_unspecified()) announced->host = remote.address().to_string();
    hello_done_ = true;
    hello_timer_.cancel();
    peer_ = std::move(*announced);
    if (!owner_.on_hello(*this, peer_)) {
        fail(true);
        return false;
    }
    return true;
}

// Ensures room for `bytes` after read_begin_: moves pending bytes to the front, grows to fit
// a large frame, and shrinks back once a large frame has been handled.
void TcpConnection::make_room(std::size_t bytes) {
    const std::size_t pending = read_end_ - read_begin_;
    if (pending == 0) {
        read_begin_ = read_end_ = 0;
        if (read_buffer_.size() > read_buffer_keep_bytes) Bytes().swap(read_buffer_);
    } else if (read_begin_ > 0 && read_buffer_.size() - read_begin_ < bytes + read_chunk_bytes) {
        std::memmove(read_buffer_.data(), read_buffer_.data() + read_begin_, pending);
        read_begin_ = 0;
        read_end_ = pending;
    }
    const std::size_t wanted = std::max(read_begin_ + bytes, read_chunk_bytes);
    if (read_buffer_.size() < wanted) read_buffer_.resize(wanted);
}

void TcpConnection::fail(bool malformed) {
    if (closed_) return;
    const bool connect_failed = !connected_;
    if (malformed) {
        counters_.receive_malformed.add();
    } else if (!connect_failed) {
        counters_.receive_errors.add();
    }
    close();
    owner_.on_closed(*this, connect_failed);
}

void TcpConnection::close() {
    if (closed_) return;
    closed_ = true;
    asio::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    hello_timer_.cancel();
    std::uint64_t dropped = 0;
    for (const Frame& frame : queue_) dropped += frame.counted ? 1u : 0u;
    counters_.send_dropped.add(dropped);
    queue_.clear();
    transport_queued_bytes_ -= queue_bytes_;
    queue_bytes_ = 0;
}

}  // namespace herald::runtime

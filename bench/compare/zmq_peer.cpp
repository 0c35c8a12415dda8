// bench-zmq: the same workloads over ZeroMQ (libzmq's public C API). REQ/REP ping-pong,
// PUSH/PULL one-way stream (from N PUSH sockets with --senders N), DEALER->REP with a window
// of requests in flight; tcp or ipc.
// Layer: bench (compare/ is the only place libzmq is linked).
#include <zmq.h>

#include <cerrno>
#include <string>
#include <vector>

#include "bench/common/meter.h"
#include "bench/common/peer.h"
#include "core/result.h"  // HERALD_TRY

namespace herald::bench {
namespace {

constexpr int reply_timeout_ms = 2000;  // A client waiting longer fails the run.
constexpr int stream_idle_ms = 2000;    // The stream's end marker is reliable here.

Error zmq_error(std::string_view what) {
    return Error{Errc::io_error, std::string(what) + ": " + zmq_strerror(zmq_errno())};
}

// Owns a context and its sockets (one, or a stream client's `senders`); closing the context
// waits for unsent messages (linger -1).
class ZmqPeer {
public:
    ZmqPeer() : context_(zmq_ctx_new()) {}
    ~ZmqPeer() {
        for (void* extra : extras_) zmq_close(extra);
        if (socket_ != nullptr) zmq_close(socket_);
        zmq_ctx_term(context_);
    }
    ZmqPeer(const ZmqPeer&) = delete;
    ZmqPeer& operator=(const ZmqPeer&) = delete;

    Status open(int type) {
        socket_ = zmq_socket(context_, type);
        if (socket_ == nullptr) return fail(zmq_error("zmq_socket"));
        return {};
    }
    Status set(int option, int value) {
        if (zmq_setsockopt(socket_, option, &value, sizeof value) != 0) {
            return fail(zmq_error("zmq_setsockopt"));
        }
        return {};
    }
    // Binds tcp://127.0.0.1:* or ipc://<dir>/zmq.sock; returns the endpoint bound.
    Result<std::string> bind(const PeerArgs& args) {
        std::string url =
            args.transport == "tcp" ? "tcp://127.0.0.1:*" : "ipc://" + args.dir + "/zmq.sock";
        if (zmq_bind(socket_, url.c_str()) != 0) return fail(zmq_error("zmq_bind " + url));
        char bound[256] = {};
        std::size_t length = sizeof bound;
        if (zmq_getsockopt(socket_, ZMQ_LAST_ENDPOINT, bound, &length) != 0) {
            return fail(zmq_error("ZMQ_LAST_ENDPOINT"));
        }
        return std::string(bound);
    }
    Status connect(const std::string& url) {
        if (zmq_connect(socket_, url.c_str()) != 0) return fail(zmq_error("zmq_connect " + url));
        return {};
    }
    void* socket() const { return socket_; }

    // `count` sockets in all connected to `url`: socket() and count - 1 more of `type`.
    Result<std::vector<void*>> connect_all(int type, const std::string& url, std::uint32_t count) {
        HERALD_TRY(connect(url));
        std::vector<void*> sockets{socket_};
        while (sockets.size() < count) {
            void* extra = zmq_socket(context_, type);
            if (extra == nullptr) return fail(zmq_error("zmq_socket"));
            extras_.push_back(extra);
            if (zmq_connect(extra, url.c_str()) != 0) return fail(zmq_error("zmq_connect " + url));
            sockets.push_back(extra);
        }
        return sockets;
    }

private:
    void* context_;
    void* socket_ = nullptr;
    std::vector<void*> extras_;
};

// A received message, released on destruction (zero-copy receive).
struct ZmqMessage {
    zmq_msg_t msg{};
    ZmqMessage() { zmq_msg_init(&msg); }
    ~ZmqMessage() { zmq_msg_close(&msg); }
    ZmqMessage(const ZmqMessage&) = delete;
    ZmqMessage& operator=(const ZmqMessage&) = delete;
};

Result<std::size_t> receive(void* socket, ZmqMessage& message) {
    for (;;) {
        int n = zmq_msg_recv(&message.msg, socket, 0);
        if (n >= 0) return static_cast<std::size_t>(n);
        if (zmq_errno() == EAGAIN) return fail(Errc::timeout, "zmq: no message");
        if (zmq_errno() != EINTR) return fail(zmq_error("zmq_msg_recv"));
    }
}

Status send(void* socket, const void* data, std::size_t size, int flags = 0) {
    for (;;) {
        if (zmq_send(socket, data, size, flags) >= 0) return {};
        if (zmq_errno() != EINTR) return fail(zmq_error("zmq_send"));
    }
}

// REP server (latency and window): echoes each request's message without copying it.
Status serve_echo(ZmqPeer& peer) {
    ZmqMessage message;
    for (;;) {
        HERALD_TRY(receive(peer.socket(), message));
        if (zmq_msg_send(&message.msg, peer.socket(), 0) < 0) {
            return fail(zmq_error("zmq_msg_send"));
        }
    }
}

Status run_stream_server(const PeerArgs& args, ZmqPeer& peer) {
    HERALD_TRY(peer.set(ZMQ_RCVTIMEO, stream_idle_ms));
    StreamMeter meter(args.warmup_ms * 1'000'000);
    ZmqMessage message;
    std::uint32_t ended = 0;
    for (;;) {
        auto n = receive(peer.socket(), message);
        if (!n && n.error().code == Errc::timeout && meter.bytes() == 0) continue;
        HERALD_TRY(auto bytes, std::move(n));
        if (bytes == 0) {  // An end marker: one from each sender.
            if (++ended == args.senders) break;
            continue;
        }
        meter.on_bytes(bytes, 1, now_ns());
    }
    announce_result(meter.fields(args.size_bytes));
    return {};
}

Status run_latency_client(const PeerArgs& args, ZmqPeer& peer) {
    HERALD_TRY(peer.set(ZMQ_RCVTIMEO, reply_timeout_ms));
    std::vector<std::uint8_t> body(args.size_bytes, 0x5a);
    ZmqMessage reply;
    HERALD_TRY(auto summary, measure_latency(args, [&]() -> Status {
                   HERALD_TRY(send(peer.socket(), body.data(), body.size()));
                   HERALD_TRY(receive(peer.socket(), reply));
                   return {};
               }));
    announce_result(to_fields(summary));
    return {};
}

// DEALER talking to REP: each request is [empty delimiter, body], as REQ would frame it.
Status send_request(ZmqPeer& peer, const std::vector<std::uint8_t>& body) {
    HERALD_TRY(send(peer.socket(), nullptr, 0, ZMQ_SNDMORE));
    return send(peer.socket(), body.data(), body.size());
}

Status run_window_client(const PeerArgs& args, ZmqPeer& peer) {
    HERALD_TRY(peer.set(ZMQ_RCVTIMEO, reply_timeout_ms));
    std::vector<std::uint8_t> body(args.size_bytes, 0x5a);
    WindowMeter meter(args);
    for (std::uint32_t i = 0; i < args.window; ++i) HERALD_TRY(send_request(peer, body));
    ZmqMessage part;
    while (!meter.done(now_ns())) {
        HERALD_TRY(receive(peer.socket(), part));  // Delimiter.
        HERALD_TRY(receive(peer.socket(), part));  // Body.
        meter.on_complete(now_ns());
        HERALD_TRY(send_request(peer, body));
    }
    announce_result(meter.fields());
    return {};
}

// With args.senders > 1, one thread sends from each PUSH socket in turn (as Herald's client
// sends from each of its processes).
Status run_stream_client(const PeerArgs& args, ZmqPeer& peer) {
    HERALD_TRY(auto sockets, peer.connect_all(ZMQ_PUSH, args.endpoint, args.senders));
    std::vector<std::uint8_t> body(args.size_bytes, 0x5a);
    const std::int64_t stop = now_ns() + (args.warmup_ms + args.duration_ms) * 1'000'000;
    std::uint64_t sent = 0;
    while (now_ns() < stop) {
        for (int i = 0; i < 16; ++i, ++sent) {
            HERALD_TRY(send(sockets[sent % sockets.size()], body.data(), body.size()));
        }
    }
    for (void* socket : sockets) HERALD_TRY(send(socket, nullptr, 0));  // End markers.
    announce_result({{"sent_msgs", std::to_string(sent)}});
    linger_until_stdin_closed(30'000);
    return {};
}

int socket_type(Role role, Pattern pattern) {
    if (pattern == Pattern::stream) return role == Role::server ? ZMQ_PULL : ZMQ_PUSH;
    if (role == Role::server) return ZMQ_REP;
    return pattern == Pattern::window ? ZMQ_DEALER : ZMQ_REQ;
}

Status run(const PeerArgs& args) {
    if (args.transport != "tcp" && args.transport != "ipc") {
        return fail(Errc::invalid_argument, "bench-zmq: transport must be tcp or ipc");
    }
    if (args.pattern == Pattern::memory) {
        return fail(Errc::invalid_argument, "bench-zmq: no memory pattern");
    }
    ZmqPeer peer;
    HERALD_TRY(peer.open(socket_type(args.role, args.pattern)));
    if (args.role == Role::server) {
        HERALD_TRY(auto endpoint, peer.bind(args));
        announce_ready(endpoint);
        if (args.pattern == Pattern::stream) return run_stream_server(args, peer);
        return serve_echo(peer);
    }
    if (args.pattern == Pattern::stream) return run_stream_client(args, peer);
    HERALD_TRY(peer.connect(args.endpoint));
    if (args.pattern == Pattern::latency) return run_latency_client(args, peer);
    return run_window_client(args, peer);
}

}  // namespace
}  // namespace herald::bench

int main(int argc, char** argv) {
    return herald::bench::peer_main("bench-zmq", argc, argv, herald::bench::run);
}

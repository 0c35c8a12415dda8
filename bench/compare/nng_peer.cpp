// bench-nng: the same workloads over NNG (its public C API). req/rep ping-pong, push/pull
// one-way stream, and req with one context per call in flight (asynchronous I/O) against a
// rep socket; tcp or ipc. Layer: bench (compare/ is the only place nng is linked).
#include <arpa/inet.h>
#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "bench/common/meter.h"
#include "bench/common/peer.h"
#include "core/result.h"  // HERALD_TRY

namespace herald::bench {
namespace {

constexpr nng_duration reply_timeout_ms = 2000;  // A client waiting longer fails the run.
constexpr nng_duration stream_idle_ms = 2000;    // The stream's end marker is reliable here.
constexpr int stream_buffer = 1000;              // Messages; see NngPeer::open.

Error nng_failure(std::string_view what, int rv) {
    return Error{Errc::io_error, std::string(what) + ": " + nng_strerror(rv)};
}

#define BENCH_NNG_CHECK(what, call) \
    if (int rv_ = (call); rv_ != 0) return fail(nng_failure(what, rv_))

// Owns one socket.
class NngPeer {
public:
    NngPeer() = default;
    ~NngPeer() {
        if (open_) nng_close(socket_);
    }
    NngPeer(const NngPeer&) = delete;
    NngPeer& operator=(const NngPeer&) = delete;

    Status open(Role role, Pattern pattern) {
        int rv = 0;
        if (pattern == Pattern::stream) {
            rv = role == Role::server ? nng_pull0_open(&socket_) : nng_push0_open(&socket_);
        } else {
            rv = role == Role::server ? nng_rep0_open(&socket_) : nng_req0_open(&socket_);
        }
        BENCH_NNG_CHECK("nng open", rv);
        open_ = true;
        if (pattern == Pattern::stream) {
            // Let the stream run ahead by as many messages as ZeroMQ's default high-water
            // mark (1000); nng's default buffer of 0 hands over one message at a time.
            const char* option = role == Role::server ? NNG_OPT_RECVBUF : NNG_OPT_SENDBUF;
            BENCH_NNG_CHECK("nng buffer", nng_socket_set_int(socket_, option, stream_buffer));
        }
        return {};
    }
    // Listens on tcp://127.0.0.1:0 or ipc://<dir>/nng.sock; returns the URL to dial.
    Result<std::string> listen(const PeerArgs& args) {
        const bool tcp = args.transport == "tcp";
        std::string url = tcp ? "tcp://127.0.0.1:0" : "ipc://" + args.dir + "/nng.sock";
        nng_listener listener;
        BENCH_NNG_CHECK("nng_listen " + url, nng_listen(socket_, url.c_str(), &listener, 0));
        if (!tcp) return url;
        nng_sockaddr address{};
        BENCH_NNG_CHECK("NNG_OPT_LOCADDR",
                        nng_listener_get_addr(listener, NNG_OPT_LOCADDR, &address));
        return "tcp://127.0.0.1:" + std::to_string(ntohs(address.s_in.sa_port));
    }
    Status dial(const std::string& url) {
        BENCH_NNG_CHECK("nng_dial " + url, nng_dial(socket_, url.c_str(), nullptr, 0));
        return {};
    }
    Status set_receive_timeout(nng_duration ms) {
        BENCH_NNG_CHECK("NNG_OPT_RECVTIMEO", nng_socket_set_ms(socket_, NNG_OPT_RECVTIMEO, ms));
        return {};
    }
    nng_socket socket() const { return socket_; }

private:
    nng_socket socket_ = NNG_SOCKET_INITIALIZER;
    bool open_ = false;
};

// One received message's length (zero-copy receive, then freed).
Result<std::size_t> receive(nng_socket socket) {
    nng_msg* message = nullptr;
    int rv = nng_recvmsg(socket, &message, 0);
    if (rv == NNG_ETIMEDOUT) return fail(Errc::timeout, "nng: no message");
    if (rv != 0) return fail(nng_failure("nng_recvmsg", rv));
    std::size_t length = nng_msg_len(message);
    nng_msg_free(message);
    return length;
}

Status send(nng_socket socket, std::vector<std::uint8_t>& body) {
    BENCH_NNG_CHECK("nng_send", nng_send(socket, body.data(), body.size(), 0));
    return {};
}

// rep server (latency and window): echoes each request's message without copying it.
Status serve_echo(NngPeer& peer) {
    for (;;) {
        nng_msg* message = nullptr;
        BENCH_NNG_CHECK("nng_recvmsg", nng_recvmsg(peer.socket(), &message, 0));
        if (int rv = nng_sendmsg(peer.socket(), message, 0); rv != 0) {
            nng_msg_free(message);
            return fail(nng_failure("nng_sendmsg", rv));
        }
    }
}

Status run_stream_server(const PeerArgs& args, NngPeer& peer) {
    HERALD_TRY(peer.set_receive_timeout(stream_idle_ms));
    StreamMeter meter(args.warmup_ms * 1'000'000);
    for (;;) {
        auto n = receive(peer.socket());
        if (!n && n.error().code == Errc::timeout && meter.bytes() == 0) continue;
        HERALD_TRY(auto bytes, std::move(n));
        if (bytes == 0) break;  // The end marker.
        meter.on_bytes(bytes, 1, now_ns());
    }
    announce_result(meter.fields(args.size_bytes));
    return {};
}

Status run_latency_client(const PeerArgs& args, NngPeer& peer) {
    HERALD_TRY(peer.set_receive_timeout(reply_timeout_ms));
    std::vector<std::uint8_t> body(args.size_bytes, 0x5a);
    HERALD_TRY(auto summary, measure_latency(args, [&]() -> Status {
                   HERALD_TRY(send(peer.socket(), body));
                   HERALD_TRY(receive(peer.socket()));
                   return {};
               }));
    announce_result(to_fields(summary));
    return {};
}

Status run_stream_client(const PeerArgs& args, NngPeer& peer) {
    std::vector<std::uint8_t> body(args.size_bytes, 0x5a);
    const std::int64_t stop = now_ns() + (args.warmup_ms + args.duration_ms) * 1'000'000;
    std::uint64_t sent = 0;
    while (now_ns() < stop) {
        for (int i = 0; i < 16; ++i, ++sent) HERALD_TRY(send(peer.socket(), body));
    }
    std::vector<std::uint8_t> end;
    HERALD_TRY(send(peer.socket(), end));
    announce_result({{"sent_msgs", std::to_string(sent)}});
    // nng_close may drop queued messages: stay until the driver has the receiver's figures.
    linger_until_stdin_closed(30'000);
    return {};
}

// req client with `window` calls in flight: one context and one aio per call, each
// callback sending the next request when its reply arrives (nng's own async pattern).
class WindowClient {
public:
    WindowClient(const PeerArgs& args, nng_socket socket)
        : meter_(args), size_bytes_(args.size_bytes), socket_(socket), slots_(args.window) {}
    ~WindowClient() {
        for (Slot& slot : slots_) {
            if (slot.aio != nullptr) nng_aio_free(slot.aio);  // Waits for its callback.
            if (slot.open) nng_ctx_close(slot.ctx);
        }
    }
    WindowClient(const WindowClient&) = delete;
    WindowClient& operator=(const WindowClient&) = delete;

    Status run() {
        for (Slot& slot : slots_) {
            slot.owner = this;
            BENCH_NNG_CHECK("nng_ctx_open", nng_ctx_open(&slot.ctx, socket_));
            slot.open = true;
            BENCH_NNG_CHECK("nng_aio_alloc", nng_aio_alloc(&slot.aio, &WindowClient::on_io, &slot));
            nng_aio_set_timeout(slot.aio, reply_timeout_ms);
        }
        active_ = slots_.size();
        for (Slot& slot : slots_) start_send(slot);
        std::unique_lock lock(mutex_);
        idle_.wait(lock, [&] { return active_ == 0; });
        if (error_.code != Errc::ok) return fail(error_);
        announce_result(meter_.fields());
        return {};
    }

private:
    struct Slot {
        WindowClient* owner = nullptr;
        nng_ctx ctx = NNG_CTX_INITIALIZER;
        nng_aio* aio = nullptr;
        bool open = false;
        bool sending = false;
    };

    static void on_io(void* arg) {
        auto& slot = *static_cast<Slot*>(arg);
        slot.owner->on_io(slot);
    }

    void on_io(Slot& slot) {
        if (int rv = nng_aio_result(slot.aio); rv != 0) {
            if (slot.sending) nng_msg_free(nng_aio_get_msg(slot.aio));
            return finish(nng_failure(slot.sending ? "nng_ctx_send" : "nng_ctx_recv", rv));
        }
        if (slot.sending) {
            slot.sending = false;
            nng_ctx_recv(slot.ctx, slot.aio);
            return;
        }
        nng_msg_free(nng_aio_get_msg(slot.aio));
        bool more = false;
        {
            std::lock_guard lock(mutex_);
            more = meter_.on_complete(now_ns());
        }
        if (!more) return finish({});
        start_send(slot);
    }

    void start_send(Slot& slot) {
        nng_msg* message = nullptr;
        if (int rv = nng_msg_alloc(&message, size_bytes_); rv != 0) {
            return finish(nng_failure("nng_msg_alloc", rv));
        }
        slot.sending = true;
        nng_aio_set_msg(slot.aio, message);
        nng_ctx_send(slot.ctx, slot.aio);
    }

    void finish(Error error) {
        std::lock_guard lock(mutex_);
        if (error.code != Errc::ok && error_.code == Errc::ok) error_ = std::move(error);
        if (--active_ == 0) idle_.notify_all();
    }

    WindowMeter meter_;
    std::size_t size_bytes_;
    nng_socket socket_;
    std::vector<Slot> slots_;
    std::mutex mutex_;
    std::condition_variable idle_;
    std::size_t active_ = 0;
    Error error_;
};

Status run(const PeerArgs& args) {
    if (args.transport != "tcp" && args.transport != "ipc") {
        return fail(Errc::invalid_argument, "bench-nng: transport must be tcp or ipc");
    }
    if (args.pattern == Pattern::memory) {
        return fail(Errc::invalid_argument, "bench-nng: no memory pattern");
    }
    NngPeer peer;
    HERALD_TRY(peer.open(args.role, args.pattern));
    if (args.role == Role::server) {
        HERALD_TRY(auto endpoint, peer.listen(args));
        announce_ready(endpoint);
        if (args.pattern == Pattern::stream) return run_stream_server(args, peer);
        return serve_echo(peer);
    }
    HERALD_TRY(peer.dial(args.endpoint));
    if (args.pattern == Pattern::latency) return run_latency_client(args, peer);
    if (args.pattern == Pattern::stream) return run_stream_client(args, peer);
    WindowClient client(args, peer.socket());
    return client.run();
}

}  // namespace
}  // namespace herald::bench

int main(int argc, char** argv) {
    return herald::bench::peer_main("bench-nng", argc, argv, herald::bench::run);
}

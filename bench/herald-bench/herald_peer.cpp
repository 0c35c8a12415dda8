// bench-herald: Herald's side of the workloads, through the public API only (herald/herald.h):
// a Node per peer process; direct send/receive ping-pong and one-way streams (--variant
// direct; --senders N streams from N processes to one), exactly-once RPC calls one at a time or
// N in flight (--variant rpc), and the memory of a node holding many idle processes, many
// processes that sent once, or many queued messages. Layer: bench.
#include <herald/herald.h>
#include <herald/rpc.h>
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench/common/meter.h"
#include "bench/common/peer.h"
#include "core/result.h"  // HERALD_TRY

namespace herald::bench {
namespace {

using namespace std::chrono_literals;

constexpr auto reply_timeout = 2s;    // A client waiting longer fails the run.
constexpr auto stream_timeout = 10s;  // Herald is reliable: the end marker always comes.
constexpr auto memory_fill_timeout = 60s;

// Sends return once the node has taken the message (it still retransmits until acked), as
// zmq_send and nng_send return once their library has it.
const SendOptions fire_and_forget{SendMode::nonblocking, OnFull::block, 10s};

struct Peer {
    std::unique_ptr<Node> node;
    std::optional<Process> process;
    Pid server;  // Client only.
};

std::string listen_url(const PeerArgs& args) {
    if (args.transport == "udp") return "udp://127.0.0.1:0";
    if (args.role == Role::server) return "unix:" + args.dir + "/herald.sock";
    // The client's socket goes next to the server's, in the run's private directory.
    auto at = args.endpoint.find("@unix:");
    std::string server_path = at == std::string::npos ? "" : args.endpoint.substr(at + 6);
    return "unix:" + server_path + ".client." + std::to_string(::getpid());
}

Result<Peer> open_peer(const PeerArgs& args, const ProcessOptions& process_options = {}) {
    if (args.transport != "udp" && args.transport != "unix") {
        return fail(Errc::invalid_argument, "bench-herald: transport must be udp or unix");
    }
    NodeOptions options;
    options.listen = listen_url(args);
    options.faults_from_env = false;
    Peer peer;
    HERALD_TRY(peer.node, Node::start(options));
    if (args.role == Role::client) {
        HERALD_TRY(peer.server, peer.node->resolve(args.endpoint));
    }
    HERALD_TRY(auto process, peer.node->spawn(process_options));
    peer.process.emplace(std::move(process));
    return peer;
}

void announce(const Peer& peer) {
    announce_ready(to_string(ProcessAddress{peer.process->pid(), peer.node->listen_url(), {}}));
}

Status serve_echo(Peer& peer) {
    for (;;) {
        HERALD_TRY(auto envelope, peer.process->receive());
        HERALD_TRY(peer.process->send(envelope.source, std::move(envelope.body), fire_and_forget));
    }
}

Status run_latency_client(const PeerArgs& args, Peer& peer) {
    std::vector<std::uint8_t> body(args.size_bytes, 0x5a);
    HERALD_TRY(auto summary, measure_latency(args, [&]() -> Status {
                   HERALD_TRY(peer.process->send(peer.server, ByteView(body), fire_and_forget));
                   HERALD_TRY(peer.process->receive_from(peer.server, reply_timeout));
                   return {};
               }));
    announce_result(to_fields(summary));
    return {};
}

Status run_stream_server(const PeerArgs& args, Peer& peer) {
    StreamMeter meter(args.warmup_ms * 1'000'000);
    std::uint32_t ended = 0;
    for (;;) {
        HERALD_TRY(auto envelope, peer.process->receive(stream_timeout));
        if (envelope.body.empty()) {  // An end marker: one from each sender.
            if (++ended == args.senders) break;
            continue;
        }
        meter.on_bytes(envelope.body.size(), 1, now_ns());
    }
    announce_result(meter.fields(args.size_bytes));
    return {};
}

// The stream's senders: the peer's process and args.senders - 1 more on the same node.
Result<std::vector<Process>> spawn_senders(const PeerArgs& args, Peer& peer) {
    std::vector<Process> senders;
    senders.reserve(args.senders);
    senders.push_back(std::move(*peer.process));
    peer.process.reset();
    while (senders.size() < args.senders) {
        HERALD_TRY(auto process, peer.node->spawn());
        senders.push_back(std::move(process));
    }
    return senders;
}

// Streams with send_async and a bounded number of sends in flight (well under the node's
// 65,536 queued asynchronous sends), as a program that wants throughput would: the thread
// does not wait for the loop thread to take each message, as zmq_send does not wait for
// libzmq's I/O thread. At the bound it sleeps until half of them completed (as zmq_send
// blocks at its high-water mark): spinning would take the CPU the node's threads need.
// With args.senders > 1 the one thread sends from each of the sender processes in turn.
Status run_stream_client(const PeerArgs& args, Peer& peer) {
    constexpr std::uint32_t in_flight_max = 4096;
    struct Shared {
        std::atomic<std::uint32_t> in_flight{0};
        std::atomic<bool> failed{false};
        std::mutex mutex;
        std::condition_variable drained;
    } shared;
    auto& [in_flight, failed, mutex, drained] = shared;
    HERALD_TRY(auto senders, spawn_senders(args, peer));
    const Bytes body(args.size_bytes, 0x5a);
    const std::int64_t stop = now_ns() + (args.warmup_ms + args.duration_ms) * 1'000'000;
    // One pointer captured: the callback fits in std::function without an allocation per send.
    auto done = [state = &shared](Status status) {
        if (!status) state->failed.store(true, std::memory_order_relaxed);
        if (state->in_flight.fetch_sub(1, std::memory_order_acq_rel) == in_flight_max / 2 + 1) {
            std::lock_guard lock(state->mutex);
            state->drained.notify_one();
        }
    };
    std::uint64_t sent = 0;
    while (now_ns() < stop && !failed.load(std::memory_order_relaxed)) {
        if (in_flight.load(std::memory_order_acquire) >= in_flight_max) {
            std::unique_lock lock(mutex);
            drained.wait_for(lock, std::chrono::milliseconds(10), [&] {
                return in_flight.load(std::memory_order_acquire) <= in_flight_max / 2;
            });
            continue;
        }
        in_flight.fetch_add(1, std::memory_order_acq_rel);
        Process& sender = senders[sent % senders.size()];
        Status started = sender.send_async(peer.server, body, fire_and_forget, done);
        if (!started) {
            in_flight.fetch_sub(1, std::memory_order_acq_rel);
            if (started.error().code != Errc::queue_full) return started;
            std::this_thread::yield();
            continue;
        }
        ++sent;
    }
    while (in_flight.load(std::memory_order_acquire) > 0) std::this_thread::yield();
    if (failed.load()) return fail(Errc::io_error, "an asynchronous send failed");
    for (Process& sender : senders) {  // End markers.
        HERALD_TRY(sender.send(peer.server, ByteView{}, fire_and_forget));
    }
    announce_result({{"sent_msgs", std::to_string(sent)}});
    linger_until_stdin_closed(30'000);  // The node retransmits until everything is acked.
    return {};
}

// --- RPC: the server echoes the request; calls are exactly-once over RRA (the defaults). ---

constexpr std::string_view echo_operation = "echo";

Status serve_rpc(Peer& peer) {
    HERALD_TRY(
        peer.process->serve(std::string(echo_operation),
                            [](const Request& request) -> Result<Bytes> { return request.body; }));
    announce(peer);
    for (;;) linger_until_stdin_closed(3'600'000);  // Until the driver stops the process.
}

CallOptions rpc_options() {
    CallOptions options;
    options.semantics = RpcSemantics::exactly_once;
    options.timeout = reply_timeout;
    return options;
}

Status run_rpc_latency_client(const PeerArgs& args, Peer& peer) {
    const Bytes body(args.size_bytes, 0x5a);
    const CallOptions options = rpc_options();
    HERALD_TRY(auto summary, measure_latency(args, [&]() -> Status {
                   HERALD_TRY(peer.process->call(peer.server, echo_operation, body, options));
                   return {};
               }));
    announce_result(to_fields(summary));
    return {};
}

// `window` calls in flight, completing into a call queue (the batched fast path, docs/api.md):
// take every completion the loop handed over, start a new call in each one's place.
Status run_rpc_window_client(const PeerArgs& args, Peer& peer) {
    const Bytes body(args.size_bytes, 0x5a);
    const CallOptions options = rpc_options();
    CallQueue queue(args.window);
    std::vector<CallCompletion> done;
    done.reserve(args.window);
    std::uint64_t tag = 0;
    for (std::uint32_t i = 0; i < args.window; ++i) {
        HERALD_TRY(
            peer.process->call_async(peer.server, echo_operation, body, options, queue, ++tag));
    }
    WindowMeter meter(args);
    while (!meter.done(now_ns())) {
        done.clear();
        if (queue.take(done, reply_timeout) == 0) return fail(Errc::timeout, "no completion");
        const std::int64_t t = now_ns();
        for (CallCompletion& completion : done) {
            HERALD_TRY(std::move(completion.result));
            meter.on_complete(t);
            HERALD_TRY(
                peer.process->call_async(peer.server, echo_operation, body, options, queue, ++tag));
        }
    }
    while (queue.outstanding() > 0) {
        done.clear();
        if (queue.take(done, reply_timeout) == 0) break;
    }
    announce_result(meter.fields());
    return {};
}

}  // namespace
}  // namespace herald::bench

namespace herald::bench {
namespace {

// What the node's process holds: resident pages, and bytes in use on the malloc heap
// (mallinfo2's uordblks: the chunks handed out, their headers included, summed over arenas).
struct Footprint {
    std::uint64_t rss = resident_bytes();
    std::uint64_t heap = ::mallinfo2().uordblks;
};

Fields memory_fields(std::uint64_t count, const Footprint& before, const Footprint& after) {
    auto per_item = [count](std::uint64_t from, std::uint64_t to) {
        return std::to_string(count == 0 || to < from ? 0 : (to - from) / count);
    };
    return {{"count", std::to_string(count)},
            {"rss_bytes", std::to_string(after.rss)},
            {"rss_base_bytes", std::to_string(before.rss)},
            {"bytes_per_item", per_item(before.rss, after.rss)},
            {"heap_bytes_per_item", per_item(before.heap, after.heap)}};
}

// Each of `processes` sends one 64 B message to `sink`, a process on the same node whose
// thread takes them all; returns once every message arrived.
Status send_once_each(std::vector<Process>& processes, Process& sink) {
    const Bytes body(64, 0x5a);
    std::atomic<std::uint64_t> received{0};
    std::atomic<bool> stop{false};
    const std::int64_t deadline = now_ns() + std::chrono::nanoseconds(memory_fill_timeout).count();
    std::thread taker([&] {
        while (received.load() < processes.size() && !stop.load() && now_ns() < deadline) {
            if (sink.receive(100ms)) received.fetch_add(1);
        }
    });
    Status status;
    for (Process& process : processes) {
        status = process.send(sink.pid(), body, fire_and_forget);
        if (!status) break;
    }
    if (!status) stop.store(true);
    taker.join();
    if (!status) return status;
    if (received.load() < processes.size()) return fail(Errc::timeout, "sends did not arrive");
    return {};
}

// A node hosting `count` processes (the handles are kept, as an application would): idle
// (spawned, never used), or with variant "sent" each has sent one message to a sink process
// on the same node (its send ring, and the channels of the pair, not yet swept as idle).
Status run_memory_idle(const PeerArgs& args) {
    NodeOptions options;
    options.listen = listen_url(args);
    options.faults_from_env = false;
    HERALD_TRY(auto node, Node::start(options));
    HERALD_TRY(auto sink, node->spawn());
    announce_ready(node->listen_url());
    const Footprint before;
    std::vector<Process> processes;
    processes.reserve(args.count);
    for (std::uint64_t i = 0; i < args.count; ++i) {
        HERALD_TRY(auto process, node->spawn());
        processes.push_back(std::move(process));
    }
    if (args.variant == "sent") HERALD_TRY(send_once_each(processes, sink));
    announce_result(memory_fields(args.count, before, Footprint{}));
    linger_until_stdin_closed(60'000);
    return {};
}

// A node whose one process holds `count` delivered, unread messages sent by the client.
Status run_memory_queued(const PeerArgs& args) {
    ProcessOptions receiver;
    receiver.queue_limit = static_cast<std::uint32_t>(args.count);
    HERALD_TRY(auto peer, open_peer(args, receiver));
    announce(peer);
    const Footprint before;
    const std::int64_t deadline = now_ns() + std::chrono::nanoseconds(memory_fill_timeout).count();
    while (peer.node->stats().messages_delivered < args.count) {
        if (now_ns() > deadline) return fail(Errc::timeout, "messages did not all arrive");
        std::this_thread::sleep_for(5ms);
    }
    announce_result(memory_fields(args.count, before, Footprint{}));
    linger_until_stdin_closed(60'000);
    return {};
}

Status run_memory_filler(const PeerArgs& args, Peer& peer) {
    std::vector<std::uint8_t> body(args.size_bytes, 0x5a);
    for (std::uint64_t i = 0; i < args.count; ++i) {
        HERALD_TRY(peer.process->send(peer.server, ByteView(body), fire_and_forget));
    }
    linger_until_stdin_closed(60'000);
    return {};
}

Status run(const PeerArgs& args) {
    if (args.pattern == Pattern::memory && args.role == Role::server) {
        return args.variant == "queued" ? run_memory_queued(args) : run_memory_idle(args);
    }
    const bool rpc = args.variant == "rpc";
    if (args.pattern == Pattern::window && !rpc) {
        return fail(Errc::invalid_argument, "bench-herald: the window pattern needs --variant rpc");
    }
    HERALD_TRY(auto peer, open_peer(args));
    if (rpc) {
        if (args.role == Role::server) return serve_rpc(peer);
        if (args.pattern == Pattern::latency) return run_rpc_latency_client(args, peer);
        if (args.pattern == Pattern::window) return run_rpc_window_client(args, peer);
        return fail(Errc::invalid_argument, "bench-herald: rpc runs latency or window");
    }
    if (args.role == Role::server) {
        announce(peer);
        if (args.pattern == Pattern::stream) return run_stream_server(args, peer);
        return serve_echo(peer);
    }
    if (args.pattern == Pattern::latency) return run_latency_client(args, peer);
    if (args.pattern == Pattern::stream) return run_stream_client(args, peer);
    return run_memory_filler(args, peer);
}

}  // namespace
}  // namespace herald::bench

int main(int argc, char** argv) {
    return herald::bench::peer_main("bench-herald", argc, argv, herald::bench::run);
}

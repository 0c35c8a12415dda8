// herald-demo: shows what the herald CLI cannot — the lecture's message-buffering strategies,
// non-blocking receive and the send/receive communication deadlock — with two nodes in this
// OS process talking over UDP on 127.0.0.1. `make demo` (scripts/demo) runs it. Layer: apps.
// Every time printed is measured, never assumed.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

#include "core/result.h"  // HERALD_TRY
#include "herald/herald.h"

namespace herald::demo {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Prints lines stamped with the time since the scenario began, from any thread.
class Transcript {
public:
    void begin(const std::string& title, const std::string& lecture) {
        start_ = Clock::now();
        std::printf("\n-- %s\n   (%s)\n", title.c_str(), lecture.c_str());
    }
    void say(const std::string& who, const std::string& what) {
        std::lock_guard lock(mutex_);
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start_).count();
        std::printf("   t=%6.1f ms  %-9s %s\n", ms, who.c_str(), what.c_str());
        std::fflush(stdout);
    }

private:
    std::mutex mutex_;
    Clock::time_point start_ = Clock::now();
};

struct Setup {
    std::unique_ptr<Node> sender_node, receiver_node;
    milliseconds pause{300};
    Transcript out;
};

std::string outcome(const Status& status) {
    return status ? "ok" : status.error().to_string();
}

SendOptions send_options(SendMode mode, OnFull on_full, milliseconds timeout) {
    SendOptions options;
    options.mode = mode;
    options.on_full = on_full;
    options.timeout = timeout;
    return options;
}

// The receiver is busy for `pause`, then takes `count` messages with blocking receives.
std::thread busy_then_receive(Setup& s, Process& receiver, int count) {
    return std::thread([&s, &receiver, count] {
        std::this_thread::sleep_for(s.pause);
        s.out.say("receiver", "executes receive()");
        for (int i = 0; i < count; ++i) {
            auto message = receiver.receive(std::chrono::seconds(5));
            s.out.say("receiver", message ? "took \"" + std::string(message->text()) + "\""
                                          : "receive: " + message.error().to_string());
        }
    });
}

Result<Process> spawn_receiver(Setup& s, Buffering buffering, std::uint32_t queue_limit) {
    ProcessOptions options;
    options.buffering = buffering;
    options.queue_limit = queue_limit;
    return s.receiver_node->spawn(options);
}

// A send from the sender thread, announced before and reported after.
void send_and_report(Setup& s, Process& sender, Pid to, const std::string& body,
                     const SendOptions& options, const std::string& how,
                     const std::string& who = "sender") {
    s.out.say(who, "send(\"" + body + "\", " + how + ") ...");
    const Status status = sender.send(to, body, options);
    s.out.say(who, "send(\"" + body + "\") returned: " + outcome(status));
}

Status multiple_buffers(Setup& s, Process& sender) {
    s.out.begin("Multiple buffers: queue_limit = 3, the receiver is busy for " +
                    std::to_string(s.pause.count()) + " ms",
                "non-blocking send + blocking receive; flow control stops the sender when the "
                "receiver's buffers are full");
    HERALD_TRY(Process receiver, spawn_receiver(s, Buffering::multiple, 3));
    std::thread thread = busy_then_receive(s, receiver, 5);
    const auto fail_fast = send_options(SendMode::accepted, OnFull::fail, milliseconds(2000));
    for (int i = 1; i <= 4; ++i) {
        send_and_report(s, sender, receiver.pid(), "m" + std::to_string(i), fail_fast,
                        "accepted, on_full=fail");
    }
    const auto keep = send_options(SendMode::nonblocking, OnFull::buffer, milliseconds(2000));
    for (int i = 5; i <= 6; ++i) {
        send_and_report(s, sender, receiver.pid(), "m" + std::to_string(i), keep,
                        "nonblocking, on_full=buffer: kept in the sender's buffer");
    }
    thread.join();
    return {};
}

Status single_buffer(Setup& s, Process& sender) {
    s.out.begin("Single buffer: one slot at the receiver, busy for " +
                    std::to_string(s.pause.count()) + " ms",
                "blocking send + blocking receive; the sender blocks while the buffer is full");
    HERALD_TRY(Process receiver, spawn_receiver(s, Buffering::single, 1));
    std::thread thread = busy_then_receive(s, receiver, 2);
    const auto block = send_options(SendMode::accepted, OnFull::block, milliseconds(3000));
    send_and_report(s, sender, receiver.pid(), "first", block, "accepted, on_full=block");
    send_and_report(s, sender, receiver.pid(), "second", block, "accepted, on_full=block");
    thread.join();
    return {};
}

Status no_buffering(Setup& s, Process& sender, Buffering buffering) {
    const bool after_receive = buffering == Buffering::send_after_receive;
    s.out.begin(std::string("No buffering, ") +
                    (after_receive ? "send-after-receive" : "send-discard-retry") +
                    ": the receiver is busy for " + std::to_string(s.pause.count()) + " ms",
                after_receive ? "the message stays with the sender until the receiver executes "
                                "receive; it is copied once"
                              : "a receiver that is not waiting discards the message; the sender "
                                "retransmits after a timeout");
    HERALD_TRY(Process receiver, spawn_receiver(s, buffering, 1));
    const std::uint64_t retransmits_before = s.sender_node->stats().retransmits;
    std::thread thread = busy_then_receive(s, receiver, 1);
    send_and_report(s, sender, receiver.pid(), "hello",
                    send_options(SendMode::delivered, OnFull::block, milliseconds(3000)),
                    "delivered");
    thread.join();
    s.out.say("sender", fmt::format("retransmissions meanwhile: {}",
                                    s.sender_node->stats().retransmits - retransmits_before));
    return {};
}

Status nonblocking_receive(Setup& s) {
    s.out.begin("Non-blocking receive", "returns at once: a message, or an error flag when none");
    HERALD_TRY(Process receiver, spawn_receiver(s, Buffering::multiple, 16));
    auto nothing = receiver.try_receive();
    s.out.say("receiver", "try_receive() on an empty inbox: " +
                              (nothing ? std::string("a message?!") : nothing.error().to_string()));
    return {};
}

// The lecture's P1/P2 example: both send to the other, then receive from the other. With no
// buffers each send waits for a receive that never comes; timeouts end it instead of a hang.
Status deadlock(Setup& s) {
    s.out.begin("Communication deadlock: P1 and P2 each send() to the other, then receive()",
                "blocking primitives without buffers; Herald's timeouts turn the hang into an "
                "error");
    HERALD_TRY(Process p1, spawn_receiver(s, Buffering::send_after_receive, 1));
    ProcessOptions options;
    options.buffering = Buffering::send_after_receive;
    HERALD_TRY(Process p2, s.sender_node->spawn(options));
    const auto wait = send_options(SendMode::delivered, OnFull::block, milliseconds(500));
    const Pid p1_pid = p1.pid(), p2_pid = p2.pid();
    std::thread other([&] {
        send_and_report(s, p2, p1_pid, "from P2", wait, "delivered, timeout 500 ms", "P2");
    });
    send_and_report(s, p1, p2_pid, "from P1", wait, "delivered, timeout 500 ms", "P1");
    other.join();
    return {};
}

Status run_buffering(Setup& s) {
    HERALD_TRY(s.receiver_node, Node::start());
    HERALD_TRY(s.sender_node, Node::start());
    HERALD_TRY(s.sender_node->connect(s.receiver_node->listen_url()));
    HERALD_TRY(s.receiver_node->connect(s.sender_node->listen_url()));
    std::printf("herald-demo: sender node %s, receiver node %s\n",
                s.sender_node->listen_url().c_str(), s.receiver_node->listen_url().c_str());
    HERALD_TRY(Process sender, s.sender_node->spawn());
    HERALD_TRY(multiple_buffers(s, sender));
    HERALD_TRY(single_buffer(s, sender));
    HERALD_TRY(no_buffering(s, sender, Buffering::send_after_receive));
    HERALD_TRY(no_buffering(s, sender, Buffering::send_discard_retry));
    HERALD_TRY(nonblocking_receive(s));
    return deadlock(s);
}

int run(int argc, char** argv) {
    CLI::App app{"herald-demo: the lecture's buffering strategies, live", "herald-demo"};
    app.require_subcommand(1, 1);
    int pause_ms = 300;
    CLI::App* buffering = app.add_subcommand(
        "buffering", "Multiple, single and no buffering; non-blocking receive; deadlock");
    buffering->add_option("--pause-ms", pause_ms, "How long each receiver stays busy")
        ->check(CLI::Range(10, 5000))
        ->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "herald-demo: %s (see herald-demo --help)\n", e.what());
        return 2;
    }
    Setup setup;
    setup.pause = milliseconds(pause_ms);
    if (auto done = run_buffering(setup); !done) {
        std::fprintf(stderr, "herald-demo: %s\n", done.error().to_string().c_str());
        return 1;
    }
    return 0;
}

}  // namespace
}  // namespace herald::demo

int main(int argc, char** argv) {
    try {
        return herald::demo::run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "herald-demo: internal error: %s\n", e.what());
        return 3;
    }
}

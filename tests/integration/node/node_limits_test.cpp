// The limits of docs/api.md §9, set through the public NodeOptions and reached over real
// sockets: the sender buffer (sender_buffer_max, OnFull::buffer) ends in queue_full, and a
// server at RPC executions_max refuses new requests until the caller fails with queue_full,
// while the call it runs completes.
#include <algorithm>
#include <future>
#include <mutex>

#include "node_test_support.h"

namespace herald {
namespace {

using namespace herald::testing;

TEST(NodeLimits, TheSenderBufferHoldsSenderBufferMaxThenSendsFailQueueFull) {
    NodeOptions options;
    options.window_messages = 2;
    options.sender_buffer_max = 3;
    auto a = start_node(options);
    auto b = start_node();
    ASSERT_TRUE(a->connect(b->listen_url(), 5s));
    Process sender = spawn(*a);
    ProcessOptions one;
    one.queue_limit = 1;
    Process full = spawn(*b, one);  // Never receives.
    SendOptions buffered;
    buffered.mode = SendMode::nonblocking;
    buffered.on_full = OnFull::buffer;
    int taken = 0;
    Status last;
    for (; taken < 100; ++taken) {
        last = sender.send(full.pid(), to_bytes(std::to_string(taken)), buffered);
        if (!last) break;
    }
    EXPECT_EQ(code(last), Errc::queue_full) << error_text(last);
    // The inbox's one slot, at most the window in flight, and the buffer: no more, and the
    // buffer was used (more than the inbox and the window take).
    EXPECT_LE(taken, 1 + 2 + 3);
    EXPECT_GT(taken, 1 + 2);
}

TEST(NodeLimits, AServerAtExecutionsMaxRefusesNewCallsUntilTheyFailQueueFull) {
    NodeOptions options;
    options.rpc.handler_threads = 1;
    options.rpc.executions_max = 1;
    auto server_node = start_node(options);
    auto client_node = start_node();
    ASSERT_TRUE(client_node->connect(server_node->listen_url(), 5s));
    Process server = spawn(*server_node);
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    ASSERT_TRUE(server.serve("hold", [released](const Request& r) -> Result<Bytes> {
        released.wait();
        return r.body;
    }));
    Process client = spawn(*client_node);
    auto first = client.call_async(server.pid(), "hold", to_bytes("first"));
    ASSERT_TRUE(eventually([&] { return server_node->rpc_stats().executions >= 1; }));
    CallOptions impatient;
    impatient.retransmit_timeout = 10ms;
    impatient.retransmit_max = 20ms;
    impatient.retry_limit = 3;
    auto second = client.call(server.pid(), "hold", to_bytes("second"), impatient);
    EXPECT_EQ(code(second), Errc::queue_full) << error_text(second);
    release.set_value();
    auto answered = first.get();
    ASSERT_TRUE(answered) << error_text(answered);
    EXPECT_EQ(as_text(*answered), "first");
}

// Memory held for incomplete fragmented messages shows in NodeStats and goes back to 0 when
// they time out (docs/wire.md: dropped after 5 s without progress).
TEST(NodeLimits, ReassemblyMemoryIsShownAndReturned) {
    NodeOptions lossy;
    lossy.faults = "loss=0.15,seed=11";  // Fragments get lost: partial messages stay behind.
    lossy.peer_timeout = 30s;
    auto sender_node = start_node(lossy);
    auto receiver_node = start_node();
    ASSERT_TRUE(sender_node->connect(receiver_node->listen_url(), 5s));
    Process sender = spawn(*sender_node);
    Process receiver = spawn(*receiver_node);
    const std::string big(300'000, 'x');  // About 5 datagrams over UDP.
    SendOptions options;
    options.timeout = 20s;
    std::uint64_t most = 0;
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(sender.send(receiver.pid(), big, options));
        ASSERT_TRUE(receiver.receive(20s));
        most = std::max(most, receiver_node->stats().reassembly_bytes);
    }
    // Some attempt lost a fragment, so some partial message was held...
    EXPECT_TRUE(eventually(
                    [&] {
                        const auto s = receiver_node->stats();
                        most = std::max(most, s.reassembly_bytes);
                        return most > 0 || s.reassembly_partials > 0;
                    },
                    100ms) ||
                most > 0);
    // ...and all of it is returned once the partials time out.
    EXPECT_TRUE(eventually(
        [&] {
            const auto s = receiver_node->stats();
            return s.reassembly_bytes == 0 && s.reassembly_partials == 0;
        },
        10s));
}

}  // namespace
}  // namespace herald

// The limits of docs/api.md §9, set through the public NodeOptions and reached over real
// sockets: the sender buffer (sender_buffer_max, OnFull::buffer) ends in queue_full, and a
// server at RPC executions_max refuses new requests until the caller fails with queue_full,
// while the call it runs completes.
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

}  // namespace
}  // namespace herald

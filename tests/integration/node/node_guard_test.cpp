// What keeps a node up and bounded whatever the application does: a callback that throws on
// the loop thread is counted and the node goes on; every command an application thread posts
// to the loop (sends, calls, pings, asynchronous receives, add_peer) counts against
// commands_max. (An empty poll allocating nothing: node_alloc_test.cpp.)
#include <atomic>
#include <future>
#include <stdexcept>

#include "node_test_support.h"
#include "runtime/node.h"

namespace herald {
namespace {

using namespace herald::testing;

TEST(NodeGuards, ACallbackThatThrowsIsCountedAndTheNodeGoesOn) {
    auto a = start_node();
    auto b = start_node();
    ASSERT_TRUE(a->connect(b->listen_url(), 5s));
    Process sender = spawn(*a);
    Process receiver = spawn(*b);
    ASSERT_TRUE(sender.send_async(receiver.pid(), to_bytes("one"), SendOptions{},
                                  [](Status) { throw std::runtime_error("application bug"); }));
    ASSERT_TRUE(eventually([&] { return a->stats().callbacks_threw == 1; }));
    // The node still works: a blocking send and a receive.
    ASSERT_TRUE(sender.send(receiver.pid(), to_bytes("two")));
    EXPECT_TRUE(receiver.receive(5s));
    EXPECT_TRUE(receiver.receive(5s));
}

TEST(NodeGuards, EveryPostedCommandCountsAgainstCommandsMax) {
    runtime::NodeConfig config;
    config.listen_url = "udp://127.0.0.1:0";
    config.faults_from_env = false;
    config.commands_max = 2;
    auto started = runtime::Node::start(config);
    ASSERT_TRUE(started) << started.error().to_string();
    auto node = std::move(*started);
    auto self = node->spawn(runtime::ProcessConfig{});
    ASSERT_TRUE(self);
    // Hold the loop thread inside a callback, so that posted commands stay queued.
    std::promise<void> entered, release;
    auto release_future = release.get_future().share();
    ASSERT_TRUE(
        node->receive_async(*self, {}, Duration::zero(), [&, release_future](Result<Message>) {
            entered.set_value();
            release_future.wait();
        }));
    entered.get_future().wait();
    const runtime::Endpoint somewhere = node->listen_endpoint();
    EXPECT_TRUE(node->add_peer(NodeId{77}, somewhere));
    EXPECT_TRUE(node->add_peer(NodeId{78}, somewhere));
    EXPECT_EQ(code(node->add_peer(NodeId{79}, somewhere)), Errc::queue_full);
    EXPECT_EQ(code(node->receive_async(*self, {}, Duration::zero(), [](Result<Message>) {})),
              Errc::queue_full);
    EXPECT_EQ(
        code(node->ping_async(somewhere, Duration::seconds(1), [](Result<runtime::PingResult>) {})),
        Errc::queue_full);
    release.set_value();
    ASSERT_TRUE(eventually([&] { return node->add_peer(NodeId{80}, somewhere).has_value(); }));
    node->stop();
}

}  // namespace
}  // namespace herald

// Node::stop()'s drain (docs/api.md, stop): sends still pending when stop() is called finish
// within drain_timeout when they can; those that cannot (the receiver's inbox stays full)
// complete with `closed` once drain_timeout has passed, and a blocked receive wakes with
// `closed`.
#include <atomic>
#include <future>
#include <thread>

#include "node_test_support.h"

namespace herald {
namespace {

using namespace herald::testing;

TEST(NodeStop, PendingSendsThatCanFinishDoFinishDuringTheDrain) {
    NodeOptions options;
    options.drain_timeout = 10s;  // Generous: the drain ends when the sends do, not at this.
    auto a = start_node(options);
    auto b = start_node();
    ASSERT_TRUE(a->connect(b->listen_url(), 5s));
    Process sender = spawn(*a);
    Process receiver = spawn(*b);
    constexpr int sends = 200;
    std::atomic<int> ok{0}, failed{0};
    for (int i = 0; i < sends; ++i) {
        ASSERT_TRUE(sender.send_async(receiver.pid(), to_bytes(std::to_string(i)), SendOptions{},
                                      [&](Status s) { ++(s ? ok : failed); }));
    }
    a->stop();  // Returns once every pending send finished (or drain_timeout passed).
    EXPECT_EQ(ok.load(), sends);
    EXPECT_EQ(failed.load(), 0);
    for (int i = 0; i < sends; ++i) {
        auto got = receiver.receive(5s);
        ASSERT_TRUE(got) << i << ": " << error_text(got);
        EXPECT_EQ(got->text(), std::to_string(i));
    }
}

TEST(NodeStop, SendsThatCannotFinishFailClosedAfterTheDrainTimeoutAndReceivesWake) {
    NodeOptions options;
    options.drain_timeout = 300ms;
    auto a = start_node(options);
    auto b = start_node();
    ASSERT_TRUE(a->connect(b->listen_url(), 5s));
    Process sender = spawn(*a);
    Process waiting = spawn(*a);
    ProcessOptions tiny;
    tiny.queue_limit = 1;
    Process full = spawn(*b, tiny);  // Never receives: one message fills its inbox.
    ASSERT_TRUE(sender.send(full.pid(), to_bytes("fills it")));
    std::promise<Status> second;
    ASSERT_TRUE(sender.send_async(full.pid(), to_bytes("waits for room"), SendOptions{},
                                  [&](Status s) { second.set_value(s); }));
    auto receive = std::async(std::launch::async, [&] { return waiting.receive(); });

    const auto before = std::chrono::steady_clock::now();
    a->stop();
    const auto took = std::chrono::steady_clock::now() - before;
    auto status = second.get_future().get();
    EXPECT_EQ(code(status), Errc::closed) << error_text(status);
    EXPECT_GE(took, 300ms) << "stop() did not wait drain_timeout for the pending send";
    EXPECT_EQ(code(receive.get()), Errc::closed);
    EXPECT_EQ(code(sender.send(full.pid(), to_bytes("after stop"))), Errc::closed);
}

// Sends a thread makes while the node stops: some are still in the process's send ring (or the
// shared queue behind it) when the loop shuts down. Every accepted send completes exactly once
// (delivered, or closed), the sender sees closed once the node is stopped, and nothing hangs.
// Rounds, because where the stop lands among the sends varies.
TEST(NodeStop, SendsStillInAProcessRingCompleteWhenTheNodeStops) {
    for (int round = 0; round < 20; ++round) {
        auto a = start_node();
        Process sender = spawn(*a);
        ProcessOptions roomy;
        roomy.queue_limit = 1 << 16;
        Process receiver = spawn(*a, roomy);
        std::atomic<int> accepted{0}, completed{0}, unexpected{0};
        std::atomic<bool> refused{false};
        std::thread producer([&] {
            for (int i = 0; !refused.load(); ++i) {
                auto started = sender.send_async(
                    receiver.pid(), to_bytes(std::to_string(i)), SendOptions{}, [&](Status s) {
                        // queue_full: the sender buffer is full.
                        if (!s && code(s) != Errc::closed && code(s) != Errc::queue_full) {
                            ++unexpected;
                        }
                        ++completed;
                    });
                if (started) {
                    ++accepted;
                } else {
                    EXPECT_TRUE(code(started) == Errc::closed || code(started) == Errc::queue_full)
                        << error_text(started);
                    if (code(started) == Errc::closed) refused = true;
                }
            }
        });
        std::this_thread::sleep_for(std::chrono::microseconds(200 * (round % 5)));
        a->stop();  // Joins the loop: every completion has run when it returns.
        producer.join();
        EXPECT_EQ(completed.load(), accepted.load()) << "round " << round;
        EXPECT_EQ(unexpected.load(), 0) << "round " << round;
    }
}

}  // namespace
}  // namespace herald

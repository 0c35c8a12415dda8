// Credit-based flow control with lazily reported consumption (runtime node_receive.cpp): a
// sender stopped by a full receiver queue resumes once the receiver drains it, long streams
// into a small queue never stall, and a selective receive that waits for one sender while
// another filled the queue still lets that sender through. Same node and over UDP.
#include <atomic>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "node_test_support.h"

namespace herald {
namespace {

using namespace herald::testing;

// Where the sender lives: on the receiver's node (the engine loops the data back itself, so
// only the receiver's own reports tell it about consumption), or on another node over UDP
// (the loop folds consumption in before each data packet).
enum class Placement { same_node, other_node };

class Flow : public ::testing::TestWithParam<Placement> {
protected:
    void SetUp() override {
        b = start_node();
        ASSERT_NE(b, nullptr);
        if (GetParam() == Placement::other_node) {
            a = start_node();
            ASSERT_NE(a, nullptr);
            ASSERT_TRUE(a->connect(b->listen_url()));
        }
    }
    Node& sender_node() { return a ? *a : *b; }
    Process spawn_receiver(std::uint32_t queue_limit) {
        ProcessOptions options;
        options.buffering = Buffering::multiple;
        options.queue_limit = queue_limit;
        return spawn(*b, options);
    }
    std::unique_ptr<Node> a, b;
};

SendOptions blocking(SendMode mode, std::chrono::milliseconds timeout = 20s) {
    SendOptions options;
    options.mode = mode;
    options.on_full = OnFull::block;
    options.timeout = timeout;
    return options;
}

// The receiver's queue fills (queue_limit 2), the sender blocks on the next message; the
// receiver then takes everything with blocking receives, and the blocked sender resumes.
TEST_P(Flow, BlockedSenderResumesWhenTheReceiverDrains) {
    constexpr int count = 12;
    constexpr std::uint32_t limit = 2;
    auto receiver = spawn_receiver(limit);
    auto sender = spawn(sender_node());
    std::atomic<int> sent{0};
    auto producer = std::async(std::launch::async, [&] {
        for (int i = 0; i < count; ++i) {
            auto status =
                sender.send(receiver.pid(), std::to_string(i), blocking(SendMode::delivered));
            if (!status) return status;
            ++sent;
        }
        return Status{};
    });
    // Full: the sender's third send waits for room (delivered mode completes only in the
    // inbox, and the inbox holds at most `limit`).
    ASSERT_TRUE(eventually([&] { return sent.load() == static_cast<int>(limit); }));
    EXPECT_EQ(producer.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
    EXPECT_EQ(sent.load(), static_cast<int>(limit));
    for (int i = 0; i < count; ++i) {
        auto got = receiver.receive(20s);
        ASSERT_TRUE(got) << i << ": " << error_text(got);
        EXPECT_EQ(got->text(), std::to_string(i));
    }
    auto status = producer.get();
    EXPECT_TRUE(status) << error_text(status);
    EXPECT_EQ(sent.load(), count);
    EXPECT_EQ(code(receiver.try_receive()), Errc::would_block);
}

// A long stream into queue_limit 4, taken as fast as it comes: every message arrives once, in
// order, and the stream completes (a lost consumption report would stall it until the
// timeout). Once by blocking receives, once by polling with try_receive.
TEST_P(Flow, LongStreamIntoASmallQueueCompletes) {
    constexpr int count = 3000;
    for (const bool polling : {false, true}) {
        auto receiver = spawn_receiver(4);
        auto sender = spawn(sender_node());
        auto producer = std::async(std::launch::async, [&] {
            for (int i = 0; i < count; ++i) {
                auto status =
                    sender.send(receiver.pid(), std::to_string(i), blocking(SendMode::nonblocking));
                if (!status) return status;
            }
            return Status{};
        });
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        for (int i = 0; i < count; ++i) {
            Result<Envelope> got = receiver.try_receive();
            while (polling && code(got) == Errc::would_block &&
                   std::chrono::steady_clock::now() < deadline) {
                std::this_thread::yield();  // A busy consumer: no blocking receive at all.
                got = receiver.try_receive();
            }
            if (!polling && !got) got = receiver.receive(20s);
            ASSERT_TRUE(got) << "polling=" << polling << " message " << i << ": "
                             << error_text(got);
            ASSERT_EQ(got->text(), std::to_string(i));
        }
        auto status = producer.get();
        EXPECT_TRUE(status) << error_text(status);
    }
}

// The receiver takes one message (its consumption is not reported yet: the queue is far from
// half full), then a first sender fills the queue, so the engine counts it full. A second
// sender must still get through to a selective receive that waits for it alone: the waiting
// receiver reports what it consumed.
TEST_P(Flow, SelectiveReceiveLetsAnotherSenderInPastAQueueOfOthers) {
    constexpr std::uint32_t limit = 8;
    auto receiver = spawn_receiver(limit);
    auto first = spawn(sender_node());
    auto second = spawn(sender_node());
    ASSERT_TRUE(
        first.send(receiver.pid(), std::string_view("taken"), blocking(SendMode::delivered)));
    auto taken = receiver.receive(5s);
    ASSERT_TRUE(taken) << error_text(taken);
    for (std::uint32_t i = 1; i < limit; ++i) {
        ASSERT_TRUE(first.send(receiver.pid(), std::to_string(i), blocking(SendMode::delivered)));
    }
    auto other = std::async(std::launch::async, [&] {
        return second.send(receiver.pid(), std::string_view("second"),
                           blocking(SendMode::delivered, 10s));
    });
    auto got = receiver.receive_from(second.pid(), 10s);
    ASSERT_TRUE(got) << error_text(got);
    EXPECT_EQ(got->text(), "second");
    EXPECT_TRUE(other.get());
    for (std::uint32_t i = 1; i < limit; ++i) {
        auto rest = receiver.receive(5s);
        ASSERT_TRUE(rest) << error_text(rest);
        EXPECT_EQ(rest->text(), std::to_string(i));
    }
}

// A burst of asynchronous sends outruns the loop: past the process's send ring (256 sends) they
// queue in the node's shared command queue, and the ring takes them again once the loop caught
// up (runtime SendRing, Node::queue_send). Whatever path each took, they arrive in call order.
TEST_P(Flow, AsyncSendsPastTheSendRingArriveInCallOrder) {
    constexpr int count = 20000;
    for (int round = 0; round < 8; ++round) {  // Where the ring overflows varies.
        auto receiver = spawn_receiver(1 << 15);
        auto sender = spawn(sender_node());
        std::atomic<int> completed{0}, failed{0};
        for (int i = 0; i < count; ++i) {
            ASSERT_TRUE(sender.send_async(receiver.pid(), to_bytes(std::to_string(i)),
                                          SendOptions{}, [&](Status s) {
                                              if (!s) ++failed;
                                              ++completed;
                                          }));
        }
        ASSERT_TRUE(eventually([&] { return completed.load() == count; }, 30s));
        int last = -1;
        for (int i = 0; i < count - failed.load(); ++i) {
            auto got = receiver.receive(5s);
            ASSERT_TRUE(got) << i << ": " << error_text(got);
            const int value = std::stoi(std::string(got->text()));
            ASSERT_GT(value, last) << "round " << round << ", message " << i;
            last = value;
        }
    }
}

// One thread streams to three processes of the receiving node in turn, so each loop batch
// holds deliveries to all three, which the loop sorts into one hand-off per inbox (runtime
// Node::hand_grouped); the receivers take concurrently with blocking receives. Each gets all
// of its messages, in order, and only its own. Fails when the hand-off mixes up the processes
// (checked: handing each process's messages to another fails every run).
TEST_P(Flow, InterleavedStreamsToProcessesOfOneNodeArriveWholeAndInOrder) {
    constexpr int count = 4000;
    constexpr int receivers_count = 3;
    std::vector<Process> receivers;
    for (int r = 0; r < receivers_count; ++r) receivers.push_back(spawn_receiver(1024));
    auto sender = spawn(sender_node());
    std::vector<std::future<std::string>> takers;
    for (auto& receiver : receivers) {
        takers.push_back(std::async(std::launch::async, [&receiver]() -> std::string {
            for (int i = 0; i < count; ++i) {
                auto got = receiver.receive(20s);
                if (!got) return "message " + std::to_string(i) + ": " + error_text(got);
                if (got->target != receiver.pid()) return "another process's message";
                if (got->text() != std::to_string(i)) {
                    return "got " + std::string(got->text()) + " for " + std::to_string(i);
                }
            }
            return {};
        }));
    }
    std::atomic<int> completed{0}, failed{0};
    for (int i = 0; i < count; ++i) {
        for (auto& receiver : receivers) {
            ASSERT_TRUE(sender.send_async(receiver.pid(), to_bytes(std::to_string(i)),
                                          blocking(SendMode::nonblocking), [&](Status s) {
                                              if (!s) ++failed;
                                              ++completed;
                                          }));
        }
    }
    for (auto& taker : takers) EXPECT_EQ(taker.get(), "");
    EXPECT_TRUE(eventually([&] { return completed.load() == count * receivers_count; }, 30s));
    EXPECT_EQ(failed.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Placements, Flow,
                         ::testing::Values(Placement::same_node, Placement::other_node),
                         [](const ::testing::TestParamInfo<Placement>& param) {
                             return param.param == Placement::same_node ? "same_node"
                                                                        : "other_node";
                         });

}  // namespace
}  // namespace herald

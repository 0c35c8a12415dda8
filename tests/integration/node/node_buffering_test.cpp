// The lecture's buffering strategies over real UDP sockets, each with a slow, an absent and a
// crashing receiver, and the lecture's communication deadlock (each of two processes sends,
// then receives, with blocking send in send-after-receive mode): it must end in timeouts.
#include <atomic>
#include <future>
#include <latch>
#include <thread>

#include "node_test_support.h"

namespace herald {
namespace {

using namespace herald::testing;

NodeOptions quick_failure() {
    NodeOptions options;
    options.peer_timeout = 400ms;  // Crashed peers are declared unreachable quickly.
    return options;
}

struct Strategy {
    Buffering buffering;
    const char* name;
};

class EveryStrategy : public ::testing::TestWithParam<Strategy> {
protected:
    void SetUp() override {
        a = start_node(quick_failure());
        b = start_node(quick_failure());
        ASSERT_TRUE(a->connect(b->listen_url()));
        sender.emplace(spawn(*a));
        ProcessOptions options;
        options.buffering = GetParam().buffering;
        options.queue_limit = 4;
        receiver.emplace(spawn(*b, options));
    }
    std::unique_ptr<Node> a, b;
    std::optional<Process> sender, receiver;
};

std::uint32_t capacity(Buffering buffering) {
    switch (buffering) {
        case Buffering::send_after_receive:
        case Buffering::send_discard_retry:
            return 0;
        case Buffering::single:
            return 1;
        case Buffering::multiple:
            return 4;
    }
    return 0;
}

// A slow receiver: it starts only once the sender has filled what the strategy buffers, then
// takes one message at a time with a pause after each (pacing the consumer is the workload
// here, not a wait for a condition). Everything arrives exactly once, in order.
TEST_P(EveryStrategy, SlowReceiverGetsEverythingInOrder) {
    constexpr int count = 30;
    std::atomic<std::uint32_t> sent_ok{0};
    std::thread producer([&] {
        SendOptions options;
        options.timeout = 20s;
        for (int i = 0; i < count; ++i) {
            auto sent = sender->send(receiver->pid(), std::to_string(i), options);
            ASSERT_TRUE(sent) << i << ": " << error_text(sent);
            ++sent_ok;
        }
    });
    ASSERT_TRUE(eventually([&] { return sent_ok >= capacity(GetParam().buffering); }));
    for (int i = 0; i < count; ++i) {
        auto got = receiver->receive(20s);
        ASSERT_TRUE(got) << error_text(got);
        EXPECT_EQ(got->text(), std::to_string(i));
        EXPECT_EQ(got->seq, std::uint64_t(i + 1));
        std::this_thread::sleep_for(1ms);
    }
    producer.join();
    EXPECT_EQ(code(receiver->try_receive()), Errc::would_block);
}

// An absent receiver: a pid that does not exist on a live node, and a node that is gone.
// Each fails with its own code and without waiting out the send's timeout (60 s): a pid that
// never existed and a process that exited (no_such_process: the node says so), then a node
// that is gone (unreachable after peer_timeout, 400 ms).
TEST_P(EveryStrategy, AbsentReceiverFailsFastAndDistinctly) {
    SendOptions options;
    options.timeout = 60s;
    const auto fails_with = [&](Pid target, Errc expected) {
        const auto start = std::chrono::steady_clock::now();
        const Status sent = sender->send(target, std::string_view("x"), options);
        EXPECT_EQ(code(sent), expected) << error_text(sent);
        EXPECT_LT(std::chrono::steady_clock::now() - start, options.timeout / 2);
    };
    fails_with(Pid{b->id(), 999}, Errc::no_such_process);
    const Pid exited = receiver->pid();
    receiver->exit();
    fails_with(exited, Errc::no_such_process);
    b->stop();  // No farewell: to the sender the node just goes silent.
    fails_with(exited, Errc::unreachable);
}

// A receiver whose node dies while the sender is blocked: the sender gets an error within a
// bounded time (no hang), and later sends fail too instead of wedging.
TEST_P(EveryStrategy, CrashingReceiverNeverWedgesTheSender) {
    SendOptions options;
    options.mode = SendMode::delivered;
    options.timeout = 3s;
    auto first = std::async(std::launch::async, [&] {
        Status last;
        for (int i = 0; i < 10 && last; ++i) {
            last = sender->send(receiver->pid(), std::to_string(i), options);
        }
        return last;
    });
    // stop() sends no farewell: to the sender this is a crash (the socket just goes silent).
    // Real SIGKILLs of a separate OS process are in node_process_test.
    b->stop();
    const auto start = std::chrono::steady_clock::now();
    auto status = first.get();
    const Errc why = code(status);
    EXPECT_TRUE(why == Errc::unreachable || why == Errc::timeout || why == Errc::ok)
        << error_text(status);
    auto later = sender->send(receiver->pid(), std::string_view("after"), options);
    EXPECT_TRUE(code(later) == Errc::unreachable || code(later) == Errc::timeout)
        << error_text(later);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 8s);
}

INSTANTIATE_TEST_SUITE_P(
    Buffering, EveryStrategy,
    ::testing::Values(Strategy{Buffering::send_after_receive, "send_after_receive"},
                      Strategy{Buffering::send_discard_retry, "send_discard_retry"},
                      Strategy{Buffering::single, "single"},
                      Strategy{Buffering::multiple, "multiple"}),
    [](const ::testing::TestParamInfo<Strategy>& param) { return param.param.name; });

struct OneStrategy {
    explicit OneStrategy(Buffering buffering, std::uint32_t queue_limit = 4) {
        a = start_node();
        b = start_node();
        EXPECT_TRUE(a->connect(b->listen_url()));
        sender.emplace(spawn(*a));
        ProcessOptions options;
        options.buffering = buffering;
        options.queue_limit = queue_limit;
        receiver.emplace(spawn(*b, options));
    }
    std::unique_ptr<Node> a, b;
    std::optional<Process> sender, receiver;
};

SendOptions delivered_within(std::chrono::milliseconds timeout, OnFull on_full = OnFull::block) {
    SendOptions options;
    options.mode = SendMode::delivered;
    options.on_full = on_full;
    options.timeout = timeout;
    return options;
}

TEST(Buffering, SendAfterReceiveKeepsTheMessageWithTheSenderUntilAReceive) {
    OneStrategy s(Buffering::send_after_receive);
    // Nobody receives: the send times out and nothing was copied to the receiver.
    EXPECT_EQ(
        code(s.sender->send(s.receiver->pid(), std::string_view("early"), delivered_within(200ms))),
        Errc::timeout);
    EXPECT_EQ(code(s.receiver->try_receive()), Errc::would_block);
    // A receive is executed: now the data moves and the send completes.
    auto got = std::async(std::launch::async, [&] { return s.receiver->receive(10s); });
    auto sent = s.sender->send(s.receiver->pid(), std::string_view("late"), delivered_within(10s));
    EXPECT_TRUE(sent) << error_text(sent);
    auto envelope = got.get();
    ASSERT_TRUE(envelope) << error_text(envelope);
    EXPECT_EQ(envelope->text(), "late");
}

TEST(Buffering, SendDiscardRetryResendsUntilTheReceiverIsReady) {
    OneStrategy s(Buffering::send_discard_retry);
    EXPECT_EQ(
        code(s.sender->send(s.receiver->pid(), std::string_view("early"), delivered_within(200ms))),
        Errc::timeout);
    auto sent = std::async(std::launch::async, [&] {
        return s.sender->send(s.receiver->pid(), std::string_view("retried"),
                              delivered_within(10s));
    });
    auto got = s.receiver->receive(10s);
    ASSERT_TRUE(got) << error_text(got);
    EXPECT_EQ(got->text(), "retried");
    EXPECT_TRUE(sent.get());
}

TEST(Buffering, SingleBufferHoldsOneMessageAndBlocksTheNext) {
    OneStrategy s(Buffering::single);
    ASSERT_TRUE(s.sender->send(s.receiver->pid(), std::string_view("one"), delivered_within(5s)));
    EXPECT_EQ(
        code(s.sender->send(s.receiver->pid(), std::string_view("two"), delivered_within(200ms))),
        Errc::timeout);  // Blocked while the slot is full, until the timeout.
    EXPECT_EQ(code(s.sender->send(s.receiver->pid(), std::string_view("three"),
                                  delivered_within(5s, OnFull::fail))),
              Errc::queue_full);
    EXPECT_EQ(s.receiver->receive(1s)->text(), "one");  // Frees the slot.
    auto sent = std::async(std::launch::async, [&] {
        return s.sender->send(s.receiver->pid(), std::string_view("four"), delivered_within(5s));
    });
    EXPECT_TRUE(sent.get());
    EXPECT_EQ(s.receiver->receive(1s)->text(), "four");
}

TEST(Buffering, MultipleBuffersFillThenBlockFailOrBufferAtTheSender) {
    OneStrategy s(Buffering::multiple, 4);
    for (int i = 0; i < 4; ++i) {
        ASSERT_TRUE(s.sender->send(s.receiver->pid(), std::to_string(i), delivered_within(5s)));
    }
    EXPECT_EQ(code(s.sender->send(s.receiver->pid(), std::string_view("blocked"),
                                  delivered_within(200ms))),
              Errc::timeout);
    EXPECT_EQ(code(s.sender->send(s.receiver->pid(), std::string_view("refused"),
                                  delivered_within(5s, OnFull::fail))),
              Errc::queue_full);
    // Non-blocking with on_full=buffer: kept in the sender's bounded buffer, sent later.
    SendOptions buffered;
    buffered.mode = SendMode::nonblocking;
    buffered.on_full = OnFull::buffer;
    ASSERT_TRUE(s.sender->send(s.receiver->pid(), std::string_view("kept"), buffered));
    for (int i = 0; i < 4; ++i) EXPECT_EQ(s.receiver->receive(1s)->text(), std::to_string(i));
    auto kept = s.receiver->receive(5s);
    ASSERT_TRUE(kept) << error_text(kept);
    EXPECT_EQ(kept->text(), "kept");
}

// The lecture's communication deadlock: P1 and P2 each send to the other, then receive, with
// blocking sends in send-after-receive mode. Neither receives while the sends wait, so neither
// send can complete: both must end in Errc::timeout instead of hanging, and the withdrawn
// messages never arrive afterwards.
TEST(Buffering, CommunicationDeadlockEndsInTimeoutsNotAHang) {
    auto a = start_node();
    auto b = start_node();
    ASSERT_TRUE(a->connect(b->listen_url()));
    ProcessOptions no_buffer;
    no_buffer.buffering = Buffering::send_after_receive;
    auto p1 = spawn(*a, no_buffer);
    auto p2 = spawn(*b, no_buffer);
    // Both sends are under way before either process receives: without this, on a slow run
    // one send may time out and its process start receiving while the other send still
    // waits, which lets that one through (the deadlock broken by the first timeout).
    std::latch sends_over(2);
    auto play = [&sends_over](Process& self, Pid other) {
        auto sent = self.send(other, std::string_view("hi"), delivered_within(300ms));
        sends_over.arrive_and_wait();
        auto got = self.receive_from(other, 300ms);
        return std::make_pair(code(sent), code(got));
    };
    const auto start = std::chrono::steady_clock::now();
    auto r1 = std::async(std::launch::async, play, std::ref(p1), p2.pid());
    auto r2 = std::async(std::launch::async, play, std::ref(p2), p1.pid());
    const auto [send1, receive1] = r1.get();
    const auto [send2, receive2] = r2.get();
    EXPECT_EQ(send1, Errc::timeout);
    EXPECT_EQ(send2, Errc::timeout);
    EXPECT_EQ(receive1, Errc::timeout);
    EXPECT_EQ(receive2, Errc::timeout);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

}  // namespace
}  // namespace herald

// inproc specifics: names are unique while open and free after close, sends to unknown names
// are counted, datagrams sent before start() wait for it, the in-flight bound holds when the
// receiver's loop is not running, and two nodes on two loop threads exchange a stream.
#include <thread>

#include "transport_test_support.h"

namespace herald::runtime::testing {
namespace {

TEST(InprocTransport, RefusesATakenNameAndFreesItOnClose) {
    asio::io_context io;
    PeerPtr first = open_peer(io, "inproc://taken");
    auto second = open_transport(io, endpoint("inproc://taken"), {});
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code, Errc::already_exists);
    first->transport->close();
    auto third = open_transport(io, endpoint("inproc://taken"), {});
    ASSERT_TRUE(third) << third.error().to_string();
    third->reset();
    EXPECT_TRUE(open_transport(io, endpoint("inproc://taken"), {}));  // Freed on destruction.
}

TEST(InprocTransport, CountsSendsToANameNobodyHolds) {
    asio::io_context io;
    PeerPtr a = open_peer(io, "inproc://lonely");
    a->transport->send(endpoint("inproc://nobody"), to_bytes("x"));
    EXPECT_EQ(a->transport->counters().send_errors, 1u);
}

TEST(InprocTransport, HoldsDatagramsThatArriveBeforeStart) {
    asio::io_context io;
    PeerPtr a = open_peer(io, "inproc://early-a");
    auto b = open_transport(io, endpoint("inproc://early-b"), {});
    ASSERT_TRUE(b);
    a->transport->send((*b)->local_endpoint(), to_bytes("early"));
    a->transport->flush();
    run_ready(io);  // Delivered to b's loop before b started.
    Peer late;
    late.transport = std::move(*b);
    late.start();
    ASSERT_TRUE(run_until(io, [&] { return late.received.size() == 1; }));
    EXPECT_EQ(as_text(late.received[0].data), "early");
    EXPECT_EQ(late.received[0].from, a->address());
}

TEST(InprocTransport, DropsAndCountsBeyondTheReceiversInFlightBound) {
    asio::io_context sender_io;
    asio::io_context receiver_io;  // Never run: the receiver is stuck.
    TransportOptions small;
    small.send_queue_max = 10;
    PeerPtr receiver = open_peer(receiver_io, "inproc://stuck", small);
    PeerPtr sender = open_peer(sender_io, "inproc://eager");
    for (int i = 0; i < 25; ++i) sender->transport->send(receiver->address(), to_bytes("x"));
    sender->transport->flush();
    EXPECT_EQ(sender->transport->counters().send_dropped, 15u);
    EXPECT_EQ(sender->transport->counters().datagrams_sent, 10u);
    ASSERT_TRUE(run_until(receiver_io, [&] { return receiver->received.size() == 10; }));
}

TEST(InprocTransport, TwoLoopThreadsExchangeAStream) {
    constexpr std::uint32_t count = 2000;
    asio::io_context io_a;
    asio::io_context io_b;
    PeerPtr a = open_peer(io_a, "inproc://thread-a");
    auto opened = open_transport(io_b, endpoint("inproc://thread-b"), {});
    ASSERT_TRUE(opened);
    std::unique_ptr<Transport> b = std::move(*opened);
    // b echoes every datagram back to its sender, on b's own loop thread.
    b->start([&](const Endpoint& from, ByteView data) { b->send(from, data); });
    std::atomic<bool> done{false};
    std::thread b_loop([&] {
        while (!done.load()) {
            io_b.restart();
            io_b.run_for(1ms);
        }
    });
    for (std::uint32_t i = 0; i < count; ++i)
        a->transport->send(b->local_endpoint(), numbered(i, 64));
    const bool all = run_until(io_a, [&] {
        return a->received.size() == count || b->counters().datagrams_received > count;
    });
    done.store(true);
    b_loop.join();
    ASSERT_TRUE(all);
    ASSERT_EQ(a->received.size(), count);
    for (std::uint32_t i = 0; i < count; ++i) EXPECT_EQ(index_of(a->received[i].data), i);
}

}  // namespace
}  // namespace herald::runtime::testing

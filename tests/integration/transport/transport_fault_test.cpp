// with_faults: the observed loss rate matches the option within a tolerance, the same seed
// drops exactly the same datagrams, duplicates and reordering show up as counted, delays hold
// datagrams back yet all arrive, and the wrapper also runs over a real UDP socket.
#include <set>

#include "runtime/fault_transport.h"
#include "transport_test_support.h"

namespace herald::runtime::testing {
namespace {

// Sends `count` numbered datagrams from a fault-wrapped inproc transport to a plain one and
// returns the indices received, in arrival order.
std::vector<std::uint32_t> run_stream(const FaultOptions& faults, std::uint32_t count,
                                      Transport::Counters* sender_counters = nullptr) {
    asio::io_context io;
    static int run = 0;
    const std::string prefix = "inproc://fault-" + std::to_string(run++);
    auto inner = open_transport(io, endpoint(prefix + "-a"), {});
    EXPECT_TRUE(inner);
    Peer sender;
    sender.transport = with_faults(io, std::move(*inner), faults);
    sender.start();
    PeerPtr receiver = open_peer(io, prefix + "-b");
    for (std::uint32_t i = 0; i < count; ++i) {
        sender.transport->send(receiver->address(), numbered(i, 16));
    }
    sender.transport->flush();
    const auto expected = [&] {
        const Transport::Counters c = sender.transport->counters();
        return count - c.faults_dropped + c.faults_duplicated;
    };
    EXPECT_TRUE(run_until(io, [&] { return receiver->received.size() >= expected(); }));
    run_ready(io);
    EXPECT_EQ(receiver->received.size(), expected());
    if (sender_counters != nullptr) *sender_counters = sender.transport->counters();
    std::vector<std::uint32_t> indices;
    for (const Received& got : receiver->received) indices.push_back(index_of(got.data));
    return indices;
}

FaultOptions faults(std::string_view text) {
    auto parsed = parse_fault_options(text);
    EXPECT_TRUE(parsed) << parsed.error().to_string();
    return *parsed;
}

TEST(FaultTransport, LosesAboutTheConfiguredShare) {
    constexpr std::uint32_t count = 10'000;
    Transport::Counters counters;
    const auto received = run_stream(faults("loss=0.2,seed=7"), count, &counters);
    // Binomial(10,000, 0.2): sd 40; 250 is over 6 sd, so this fails only if the wrapper is
    // wrong, never by chance.
    EXPECT_NEAR(static_cast<double>(received.size()), 8000.0, 250.0);
    EXPECT_EQ(counters.faults_dropped + received.size(), count);
    EXPECT_TRUE(std::is_sorted(received.begin(), received.end()));  // No other fault asked.
}

TEST(FaultTransport, DropsTheSameDatagramsForTheSameSeed) {
    const auto first = run_stream(faults("loss=0.3,dup=0.1,reorder=0.1,seed=42"), 2000);
    const auto again = run_stream(faults("loss=0.3,dup=0.1,reorder=0.1,seed=42"), 2000);
    const auto other = run_stream(faults("loss=0.3,dup=0.1,reorder=0.1,seed=43"), 2000);
    EXPECT_EQ(first, again);
    EXPECT_NE(first, other);
}

TEST(FaultTransport, DuplicatesAreDeliveredTwiceAndCounted) {
    Transport::Counters counters;
    const auto received = run_stream(faults("dup=0.1,seed=3"), 2000, &counters);
    EXPECT_NEAR(static_cast<double>(counters.faults_duplicated), 200.0, 80.0);
    EXPECT_EQ(received.size(), 2000 + counters.faults_duplicated);
    EXPECT_EQ(std::set<std::uint32_t>(received.begin(), received.end()).size(), 2000u);
}

TEST(FaultTransport, ReorderedDatagramsArriveAfterLaterOnes) {
    Transport::Counters counters;
    const auto received = run_stream(faults("reorder=0.1,seed=5"), 2000, &counters);
    EXPECT_GT(counters.faults_reordered, 100u);
    EXPECT_EQ(received.size(), 2000u);
    EXPECT_FALSE(std::is_sorted(received.begin(), received.end()));
    EXPECT_EQ(std::set<std::uint32_t>(received.begin(), received.end()).size(), 2000u);
}

TEST(FaultTransport, DelayedDatagramsAllArriveLater) {
    Transport::Counters counters;
    const auto received = run_stream(faults("delay_us=2000,seed=9"), 1000, &counters);
    EXPECT_GT(counters.faults_delayed, 990u);  // P(delay 0) = 1/2001 per datagram.
    EXPECT_EQ(received.size(), 1000u);
    EXPECT_FALSE(std::is_sorted(received.begin(), received.end()));  // Random delays reorder.
}

TEST(FaultTransport, WithoutFaultsPassesEverythingThroughInOrder) {
    Transport::Counters counters;
    const auto received = run_stream(FaultOptions{}, 1000, &counters);
    EXPECT_EQ(received.size(), 1000u);
    EXPECT_TRUE(std::is_sorted(received.begin(), received.end()));
    EXPECT_EQ(counters.faults_dropped + counters.faults_duplicated + counters.faults_reordered +
                  counters.faults_delayed,
              0u);
}

TEST(FaultTransport, WrapsARealUdpSocket) {
    asio::io_context io;
    auto inner = open_transport(io, endpoint("udp://127.0.0.1:0"), {});
    ASSERT_TRUE(inner);
    Peer sender;
    sender.transport = with_faults(io, std::move(*inner), faults("loss=0.5,seed=11"));
    sender.start();
    PeerPtr receiver = open_peer(io, "udp://127.0.0.1:0");
    for (std::uint32_t i = 0; i < 400; ++i) {
        sender.transport->send(receiver->address(), numbered(i, 100));
        if (i % 50 == 49) run_ready(io);  // Paced: loopback itself must not lose any.
    }
    const std::uint64_t kept = 400 - sender.transport->counters().faults_dropped;
    ASSERT_TRUE(run_until(io, [&] { return receiver->received.size() == kept; }));
    EXPECT_NEAR(static_cast<double>(kept), 200.0, 60.0);
    EXPECT_EQ(sender.transport->local_endpoint(), receiver->received[0].from);
}

TEST(FaultTransport, CloseDropsHeldDatagramsAndCountsThem) {
    asio::io_context io;
    auto inner = open_transport(io, endpoint("inproc://fault-close-a"), {});
    ASSERT_TRUE(inner);
    auto sender = with_faults(io, std::move(*inner), faults("delay_us=1000000,seed=1"));
    PeerPtr receiver = open_peer(io, "inproc://fault-close-b");
    for (int i = 0; i < 10; ++i) sender->send(receiver->address(), to_bytes("late"));
    sender->close();
    run_ready(io);
    EXPECT_TRUE(receiver->received.empty());
    EXPECT_EQ(sender->counters().send_dropped, 10u);
}

}  // namespace
}  // namespace herald::runtime::testing

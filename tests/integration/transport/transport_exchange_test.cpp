// Every transport kind (udp over 127.0.0.1 and ::1, unix in a temp dir, tcp over 127.0.0.1
// and ::1, inproc): two transports exchange datagrams of 1 B, 1 KiB and the largest size,
// a paced batch of 1,000 arrives whole, oversize datagrams are refused and counted.
#include <atomic>
#include <set>

#include "transport_test_support.h"

namespace herald::runtime::testing {
namespace {

struct Kind {
    const char* name;
    const char* url_a;  // "%" is replaced by a temp dir path (unix) or a unique name (inproc).
    const char* url_b;
};

class TransportExchange : public ::testing::TestWithParam<Kind> {
protected:
    std::string url(const char* pattern) {
        std::string text(pattern);
        const std::size_t mark = text.find('%');
        if (mark == std::string::npos) return text;
        static std::atomic<int> unique{0};
        const std::string name =
            "x" + std::to_string(::getpid()) + "-" + std::to_string(unique.fetch_add(1));
        const bool is_unix = text.rfind("unix:", 0) == 0;
        text.replace(mark, 1, is_unix ? dir_.file(name) : name);
        return text;
    }

    void open_both(const TransportOptions& options = {}) {
        a_ = open_peer(io_, url(GetParam().url_a), options);
        b_ = open_peer(io_, url(GetParam().url_b), options);
        ASSERT_TRUE(a_->transport && b_->transport);
    }

    // Sends `data` from `from` to `to` and waits for it to arrive.
    void round_trip(Peer& from, Peer& to, const Bytes& data) {
        const std::size_t before = to.received.size();
        from.transport->send(to.address(), data);
        from.transport->flush();
        ASSERT_TRUE(run_until(io_, [&] { return to.received.size() > before; }))
            << "datagram of " << data.size() << " bytes did not arrive";
        ASSERT_EQ(to.received.size(), before + 1);
        EXPECT_EQ(to.received.back().data, data);
        EXPECT_EQ(to.received.back().from, from.address());
    }

    TempDir dir_;
    asio::io_context io_;
    PeerPtr a_, b_;
};

TEST_P(TransportExchange, ExchangesOneByteOneKibAndTheLargestDatagramBothWays) {
    open_both();
    const std::size_t largest = a_->transport->datagram_bytes_max();
    ASSERT_EQ(largest, b_->transport->datagram_bytes_max());
    for (const std::size_t size : {std::size_t{1}, std::size_t{1024}, largest}) {
        round_trip(*a_, *b_, numbered(7, size));
        // The reply goes to the `from` the receiver saw.
        const Endpoint reply_to = b_->received.back().from;
        const std::size_t before = a_->received.size();
        b_->transport->send(reply_to, numbered(8, size));
        b_->transport->flush();
        ASSERT_TRUE(run_until(io_, [&] { return a_->received.size() > before; }));
        EXPECT_EQ(a_->received.back().data, numbered(8, size));
    }
    EXPECT_EQ(a_->transport->counters().datagrams_sent, 3u);
    EXPECT_EQ(b_->transport->counters().datagrams_received, 3u);
}

TEST_P(TransportExchange, DeliversAPacedBatchOfAThousandWhole) {
    open_both();
    constexpr std::uint32_t count = 1000;
    constexpr std::uint32_t window = 100;  // Pacing keeps UDP within the receive buffer.
    for (std::uint32_t first = 0; first < count; first += window) {
        for (std::uint32_t i = first; i < first + window; ++i) {
            a_->transport->send(b_->address(), numbered(i, 1024));
        }
        a_->transport->flush();
        ASSERT_TRUE(run_until(io_, [&] { return b_->received.size() >= first + window; }))
            << "only " << b_->received.size() << " of " << first + window << " arrived";
    }
    std::set<std::uint32_t> seen;
    for (const Received& got : b_->received) {
        EXPECT_EQ(got.data, numbered(index_of(got.data), 1024));
        seen.insert(index_of(got.data));
    }
    EXPECT_EQ(seen.size(), count);
    EXPECT_EQ(b_->received.size(), count);
    const Transport::Counters counters = a_->transport->counters();
    EXPECT_EQ(counters.datagrams_sent, count);
    EXPECT_EQ(counters.send_dropped + counters.send_errors, 0u);
}

TEST_P(TransportExchange, RefusesAndCountsOversizeDatagrams) {
    open_both();
    const Bytes oversize(a_->transport->datagram_bytes_max() + 1, 0xab);
    a_->transport->send(b_->address(), oversize);
    a_->transport->flush();
    EXPECT_EQ(a_->transport->counters().send_errors, 1u);
    round_trip(*a_, *b_, numbered(1, 10));  // The transport still works, and nothing else came.
    EXPECT_EQ(b_->received.size(), 1u);
}

TEST_P(TransportExchange, CountsSendsToAnotherSchemeAsErrors) {
    open_both();
    const bool is_inproc = GetParam().url_a[0] == 'i';
    a_->transport->send(endpoint(is_inproc ? "udp://127.0.0.1:9" : "inproc://elsewhere"),
                        numbered(1, 10));
    a_->transport->flush();
    EXPECT_EQ(a_->transport->counters().send_errors, 1u);
}

TEST_P(TransportExchange, StopsReceivingAfterCloseAndCountsLaterSends) {
    open_both();
    round_trip(*a_, *b_, numbered(1, 10));
    b_->transport->close();
    b_->transport->close();  // Idempotent.
    b_->transport->send(a_->address(), numbered(2, 10));
    EXPECT_EQ(b_->transport->counters().send_errors, 1u);
    a_->transport->send(b_->address(), numbered(3, 10));
    a_->transport->flush();
    run_ready(io_);
    EXPECT_EQ(b_->received.size(), 1u);
}

TEST_P(TransportExchange, ReportsTheBoundEndpoint) {
    open_both();
    const Endpoint local = a_->address();
    EXPECT_EQ(to_string(local).substr(0, 3), std::string(GetParam().url_a).substr(0, 3));
    if (local.scheme == Endpoint::Scheme::udp || local.scheme == Endpoint::Scheme::tcp) {
        EXPECT_NE(local.port, 0);  // Port 0 was asked for; the OS chose one.
    }
    EXPECT_NE(a_->address(), b_->address());
}

INSTANTIATE_TEST_SUITE_P(AllKinds, TransportExchange,
                         ::testing::Values(Kind{"udp4", "udp://127.0.0.1:0", "udp://127.0.0.1:0"},
                                           Kind{"udp6", "udp://[::1]:0", "udp://[::1]:0"},
                                           Kind{"unix", "unix:%", "unix:%"},
                                           Kind{"tcp4", "tcp://127.0.0.1:0", "tcp://127.0.0.1:0"},
                                           Kind{"tcp6", "tcp://[::1]:0", "tcp://[::1]:0"},
                                           Kind{"inproc", "inproc://%", "inproc://%"}),
                         [](const ::testing::TestParamInfo<Kind>& param) {
                             return std::string(param.param.name);
                         });

}  // namespace
}  // namespace herald::runtime::testing

// A Node end to end over every transport it accepts (docs/api.md §2: udp:// on IPv4 and IPv6,
// tcp://, unix:, inproc://): messages in order, one large enough to be fragmented, and an RPC
// call with each protocol. And the runtime under the full fault mix of docs/api.md §12
// (loss, duplication, reordering, delay), fragmented messages included: every message arrives
// exactly once and in order.
#include <string>
#include <vector>

#include "node_test_support.h"

namespace herald {
namespace {

using namespace herald::testing;

// The listen URLs of the two nodes of a pair over one transport.
struct TransportCase {
    const char* name;
    std::string a, b;
};

std::vector<TransportCase> transport_cases() {
    const std::string dir = std::filesystem::temp_directory_path().string();
    const std::string unique = std::to_string(::getpid());
    return {
        {"udp_ipv4", "udp://127.0.0.1:0", "udp://127.0.0.1:0"},
        {"udp_ipv6", "udp://[::1]:0", "udp://[::1]:0"},
        {"tcp", "tcp://127.0.0.1:0", "tcp://127.0.0.1:0"},
        {"unix", "unix:" + dir + "/herald-tt-a-" + unique,
         "unix:" + dir + "/herald-tt-b-" + unique},
        {"inproc", "inproc://tt-a-" + unique, "inproc://tt-b-" + unique},
    };
}

// Bodies 0..n-1, with every tenth one large (`big` bytes): the large ones are fragmented on
// datagram transports.
Bytes body_of(int i, std::size_t big) {
    std::string text = "message " + std::to_string(i) + " ";
    if (i % 10 == 9) text.resize(big, static_cast<char>('a' + i % 26));
    return Bytes(text.begin(), text.end());
}

// Sends `n` messages from a process on `a` to one on `b`; each must arrive once, in order.
void exchange_in_order(Node& a, Node& b, int n, std::size_t big) {
    auto sender = spawn(a);
    auto receiver = spawn(b);
    for (int i = 0; i < n; ++i) {
        auto sent = sender.send(receiver.pid(), body_of(i, big));
        ASSERT_TRUE(sent) << "message " << i << ": " << error_text(sent);
    }
    for (int i = 0; i < n; ++i) {
        auto got = receiver.receive(std::chrono::seconds(20));
        ASSERT_TRUE(got) << "message " << i << ": " << error_text(got);
        ASSERT_EQ(got->body, body_of(i, big)) << "message " << i << " out of order or altered";
    }
    auto extra = receiver.try_receive();
    EXPECT_EQ(code(extra), Errc::would_block) << "a message arrived twice";
}

class NodeTransports : public ::testing::TestWithParam<TransportCase> {};

TEST_P(NodeTransports, MessagesArriveInOrderFragmentedOnesIncludedAndCallsAnswer) {
    const TransportCase& t = GetParam();
    NodeOptions options;
    options.listen = t.a;
    auto a = start_node(options);
    options.listen = t.b;
    auto b = start_node(options);
    ASSERT_TRUE(a && b);
    auto connected = a->connect(b->listen_url(), 5s);
    ASSERT_TRUE(connected) << error_text(connected);

    exchange_in_order(*a, *b, 50, 200'000);

    auto server = spawn(*b);
    ASSERT_TRUE(server.serve("echo", [](const Request& r) -> Result<Bytes> { return r.body; }));
    auto client = spawn(*a);
    for (const RpcProtocol protocol : {RpcProtocol::rr, RpcProtocol::rra, RpcProtocol::rara}) {
        CallOptions call;
        call.protocol = protocol;
        const std::string body = std::string("over ") + t.name;
        auto reply = client.call(server.pid(), "echo", body, call);
        ASSERT_TRUE(reply) << error_text(reply);
        EXPECT_EQ(std::string(reply->begin(), reply->end()), body);
    }
}

INSTANTIATE_TEST_SUITE_P(Every, NodeTransports, ::testing::ValuesIn(transport_cases()),
                         [](const auto& test) { return std::string(test.param.name); });

// docs/api.md §12 promises exactly-once, in-order delivery under every injected fault at once,
// fragmented messages included (a lost fragment loses its whole datagram set).
TEST(NodeFaults, LossDuplicationReorderingAndDelayKeepMessagesExactlyOnceAndInOrder) {
    NodeOptions options;
    options.faults = "loss=0.1,dup=0.1,reorder=0.1,delay_us=2000,seed=11";
    auto a = start_node(options);
    auto b = start_node(options);
    ASSERT_TRUE(a && b);
    auto connected = a->connect(b->listen_url(), 10s);
    ASSERT_TRUE(connected) << error_text(connected);
    exchange_in_order(*a, *b, 300, 150'000);
    // The faults were real.
    EXPECT_GT(a->stats().faults_dropped + b->stats().faults_dropped, 0u);
    EXPECT_GT(a->stats().faults_duplicated + b->stats().faults_duplicated, 0u);
}

}  // namespace
}  // namespace herald

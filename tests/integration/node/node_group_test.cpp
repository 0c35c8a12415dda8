// Node group addresses on loopback: registration through the node on every transport (udp
// registers and joins the group; tcp, unix and inproc keep a handle whose packets fan out), its
// errors, and a real group datagram: a hello that one node sends to an IP multicast group is
// answered by every member node and by no other.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "runtime/node.h"

namespace herald::runtime {
namespace {

using namespace std::chrono_literals;

Endpoint endpoint(std::string_view url) {
    auto parsed = parse_endpoint(url);
    EXPECT_TRUE(parsed) << parsed.error().to_string();
    return parsed ? *parsed : Endpoint{};
}

std::shared_ptr<Node> start_node(std::string url, std::uint32_t groups_max = 64) {
    NodeConfig config;
    config.listen_url = std::move(url);
    config.faults_from_env = false;
    config.transport.groups.groups_max = groups_max;
    auto node = Node::start(std::move(config));
    EXPECT_TRUE(node) << node.error().to_string();
    return node ? *node : nullptr;
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return done();
        std::this_thread::sleep_for(200us);
    }
    return true;
}

// A group on a UDP port no socket holds now, differing between concurrent test processes.
Endpoint test_group() {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    socklen_t length = sizeof address;
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
    ::close(fd);
    const auto pid = static_cast<unsigned>(::getpid());
    return endpoint("udp://239.254." + std::to_string((pid >> 8) % 256) + "." +
                    std::to_string(pid % 256) + ":" + std::to_string(ntohs(address.sin_port)));
}

Errc add_error(Node& node, std::string_view url) {
    auto handle = node.add_group_address(endpoint(url));
    EXPECT_FALSE(handle) << url;
    return handle ? Errc::ok : handle.error().code;
}

TEST(NodeGroup, AHelloToAGroupIsAnsweredByEveryMemberNodeAndNoOther) {
    const Endpoint group = test_group();
    auto first = start_node("udp://127.0.0.1:0");
    auto second = start_node("udp://127.0.0.1:0");
    auto outsider = start_node("udp://127.0.0.1:0");
    auto sender = start_node("udp://127.0.0.1:0");
    ASSERT_TRUE(first && second && outsider && sender);
    ASSERT_TRUE(first->add_group_address(group));
    ASSERT_TRUE(second->add_group_address(group, GroupRole::member));
    ASSERT_TRUE(sender->add_group_address(group, GroupRole::sender));
    auto reply = sender->ping(group, Duration::seconds(5));
    ASSERT_TRUE(reply) << reply.error().to_string();
    EXPECT_TRUE(reply->node == first->id() || reply->node == second->id());
    EXPECT_TRUE(eventually([&] {
        return first->counters().pings_answered == 1 && second->counters().pings_answered == 1;
    }));
    EXPECT_EQ(first->counters().transport.group_received, 1u);
    EXPECT_EQ(outsider->counters().pings_answered, 0u);
    EXPECT_EQ(sender->counters().transport.group_received, 0u);
}

TEST(NodeGroup, TransportsWithoutMulticastKeepHandlesForFanOut) {
    const std::string socket_path = "/tmp/herald-group-" + std::to_string(::getpid()) + ".sock";
    for (const std::string& url :
         {std::string("tcp://127.0.0.1:0"), "unix:" + socket_path, std::string("inproc://g")}) {
        SCOPED_TRACE(url);
        auto node = start_node(url, 2);
        ASSERT_TRUE(node);
        auto first = node->add_group_address(endpoint("udp://239.1.2.3:7500"));
        ASSERT_TRUE(first) << first.error().to_string();
        EXPECT_EQ(*first, 1u);
        auto again = node->add_group_address(endpoint("udp://239.1.2.3:7500"));
        ASSERT_TRUE(again);
        EXPECT_EQ(*again, *first);
        // Any family: the group is only a name for its node list here.
        EXPECT_TRUE(node->add_group_address(endpoint("udp://[ff12::1]:7500")));
        EXPECT_EQ(add_error(*node, "udp://239.1.2.4:7500"), Errc::queue_full);
        EXPECT_EQ(add_error(*node, "udp://127.0.0.1:7500"), Errc::invalid_argument);
        ASSERT_TRUE(node->remove_group_address(*first));
        EXPECT_EQ(node->remove_group_address(*first).error().code, Errc::not_found);
        EXPECT_TRUE(node->add_group_address(endpoint("udp://239.1.2.4:7500")));
        node->stop();
        EXPECT_EQ(add_error(*node, "udp://239.1.2.5:7500"), Errc::closed);
    }
}

TEST(NodeGroup, UdpRefusesBadGroupsAndBoundsTheTable) {
    auto node = start_node("udp://127.0.0.1:0", 1);
    ASSERT_TRUE(node);
    EXPECT_EQ(add_error(*node, "udp://127.0.0.1:7500"), Errc::invalid_argument);
    EXPECT_EQ(add_error(*node, "udp://239.1.2.3:0"), Errc::invalid_argument);
    EXPECT_EQ(add_error(*node, "tcp://239.1.2.3:7500"), Errc::invalid_argument);
    EXPECT_EQ(add_error(*node, "udp://[ff12::1]:7500"), Errc::invalid_argument);
    EXPECT_EQ(node->remove_group_address(0).error().code, Errc::not_found);
    ASSERT_TRUE(node->add_group_address(test_group(), GroupRole::sender));
    EXPECT_EQ(add_error(*node, "udp://239.1.2.9:7500"), Errc::queue_full);
}

}  // namespace
}  // namespace herald::runtime

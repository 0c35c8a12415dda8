// NodeMailbox on a real runtime::Node: a persistent mailbox keeps 100 messages across a stop
// and a restart with the same data_dir, and hands each out exactly once; a transient one
// hands messages out and refuses what it does not know about.
#include "runtime/node_mailbox.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <string>

#include "runtime/node.h"

namespace herald::runtime {
namespace {

using proto::mailbox::Durability;

std::string temp_dir() {
    auto dir =
        std::filesystem::temp_directory_path() /
        ("herald-mailbox-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "-" + std::to_string(reinterpret_cast<std::uintptr_t>(&temp_dir)));
    std::filesystem::remove_all(dir);
    return dir.string();
}

std::shared_ptr<Node> start_node(const std::string& data_dir) {
    NodeConfig config;
    config.id = NodeId{0x4d42};
    config.data_dir = data_dir;
    auto node = Node::start(config);
    EXPECT_TRUE(node.has_value()) << (node ? "" : node.error().to_string());
    return node ? *node : nullptr;
}

TEST(NodeMailbox, PersistentMessagesSurviveARestartAndAreReceivedOnce) {
    const auto dir = temp_dir();
    const Pid me{NodeId{0x4d42}, 7};
    {
        auto node = start_node(dir);
        ASSERT_TRUE(node);
        ASSERT_TRUE(node->mailbox().create({.name = "orders",
                                            .durability = Durability::persistent,
                                            .capacity_messages = 1000,
                                            .capacity_bytes = 1 << 20}));
        for (int i = 0; i < 100; ++i) {
            auto sent = node->mailbox().send(me, node->id(), "orders", to_bytes(std::to_string(i)));
            ASSERT_TRUE(sent.has_value()) << sent.error().to_string();
        }
        node->stop();
    }
    auto node = start_node(dir);
    ASSERT_TRUE(node);
    auto stats = node->mailbox().stats();
    ASSERT_TRUE(stats.has_value());
    ASSERT_EQ(stats->size(), 1u);
    EXPECT_EQ(stats->at(0).messages, 100u);
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i) {
        auto got = node->mailbox().receive(me, node->id(), "orders", Duration::zero());
        ASSERT_TRUE(got.has_value()) << got.error().to_string();
        EXPECT_TRUE(seen.insert(std::string(as_text(got->body))).second);
        ASSERT_TRUE(node->mailbox().ack(me, node->id(), "orders", got->tag).has_value());
    }
    EXPECT_EQ(seen.size(), 100u);
    auto empty = node->mailbox().receive(me, node->id(), "orders", Duration::zero());
    EXPECT_EQ(empty.error().code, Errc::timeout);
    node->stop();
    std::filesystem::remove_all(dir);
}

TEST(NodeMailbox, TransientMailboxHandsOutAndUnknownMailboxIsNotFound) {
    auto node = start_node("");
    ASSERT_TRUE(node);
    const Pid me{node->id(), 9};
    ASSERT_TRUE(node->mailbox().create({.name = "jobs",
                                        .durability = Durability::transient,
                                        .capacity_messages = 10,
                                        .capacity_bytes = 1 << 16}));
    // For packet_lifetime after a start a transient mailbox refuses with peer_restarted (M17):
    // poll up to a deadline.
    Status sent = fail(Errc::peer_restarted);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!sent && sent.error().code == Errc::peer_restarted &&
           std::chrono::steady_clock::now() < deadline) {
        sent = node->mailbox().send(me, node->id(), "jobs", to_bytes("hi"));
    }
    ASSERT_TRUE(sent.has_value()) << sent.error().to_string();
    auto got = node->mailbox().receive(me, node->id(), "jobs", Duration::milliseconds(100));
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(as_text(got->body), "hi");
    EXPECT_EQ(node->mailbox().send(me, node->id(), "nope", {}).error().code, Errc::not_found);
    node->stop();
}

}  // namespace
}  // namespace herald::runtime

// NodeNaming on two real runtime::Nodes over loopback UDP: S hosts the name server (its table
// in S's data_dir), C is a client. One winner per name (already_exists for the loser), only
// the owner's node unregisters, a crashed owner's name goes at its lease end, and the table
// survives a restart of S (docs/naming.md).
#include "runtime/node_naming.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "runtime/node.h"

namespace herald::runtime {
namespace {

const NodeId s_id{0x5301};
const NodeId c_id{0x5302};

std::string temp_dir() {
    auto dir =
        std::filesystem::temp_directory_path() /
        ("herald-naming-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    return dir.string();
}

std::shared_ptr<Node> start_server(const std::string& data_dir) {
    NodeConfig config;
    config.id = s_id;
    config.data_dir = data_dir;
    config.faults_from_env = false;
    config.naming.server = true;
    auto node = Node::start(config);
    EXPECT_TRUE(node.has_value()) << (node ? "" : node.error().to_string());
    return node ? *node : nullptr;
}

std::shared_ptr<Node> start_client(Node& server) {
    NodeConfig config;
    config.id = c_id;
    config.faults_from_env = false;
    config.naming.server_node = s_id;
    auto node = Node::start(config);
    EXPECT_TRUE(node.has_value()) << (node ? "" : node.error().to_string());
    if (!node) return nullptr;
    EXPECT_TRUE((*node)->add_peer(s_id, server.listen_endpoint()).has_value());
    EXPECT_TRUE(server.add_peer(c_id, (*node)->listen_endpoint()).has_value());
    return *node;
}

class NodeNamingTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir = temp_dir();
        s = start_server(dir);
        ASSERT_TRUE(s);
        c = start_client(*s);
        ASSERT_TRUE(c);
    }
    void TearDown() override {
        if (c) c->stop();
        if (s) s->stop();
        std::filesystem::remove_all(dir);
    }
    std::string dir;
    std::shared_ptr<Node> s, c;
};

TEST_F(NodeNamingTest, OneWinnerAndOnlyTheOwnersNodeUnregisters) {
    const Pid owner{c_id, 5};
    ASSERT_TRUE(c->naming().register_name("svc", owner, Duration::seconds(10)));
    auto taken = s->naming().register_name("svc", Pid{s_id, 1}, Duration::seconds(10));
    ASSERT_FALSE(taken);
    EXPECT_EQ(taken.error().code, Errc::already_exists);  // Issue 13's name_taken.

    auto found = s->naming().lookup("svc");
    ASSERT_TRUE(found.has_value()) << found.error().to_string();
    EXPECT_EQ(found->owner(), owner);
    auto listed = c->naming().list("");
    ASSERT_TRUE(listed.has_value()) << listed.error().to_string();
    ASSERT_EQ(listed->size(), 1u);
    EXPECT_EQ(listed->at(0).name, "svc");

    auto denied = s->naming().unregister("svc", owner);  // S does not host the owner.
    ASSERT_FALSE(denied);
    EXPECT_EQ(denied.error().code, Errc::access_denied);
    ASSERT_TRUE(c->naming().unregister("svc", owner));
    auto gone = s->naming().lookup("svc");
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().code, Errc::not_found);
    ASSERT_TRUE(s->naming().register_name("svc", Pid{s_id, 1}, Duration::seconds(10)));
}

TEST_F(NodeNamingTest, CrashedOwnersNameGoesAtLeaseEnd) {
    ASSERT_TRUE(c->naming().register_name("brief", Pid{c_id, 7}, Duration::milliseconds(300)));
    ASSERT_TRUE(s->naming().lookup("brief").has_value());
    c->stop();  // The owner's node dies and never renews.
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    auto gone = s->naming().lookup("brief");
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().code, Errc::not_found);
    auto counters = s->naming().counters();
    ASSERT_TRUE(counters.has_value());
    EXPECT_GE(counters->naming.expired, 1u);
}

TEST_F(NodeNamingTest, TableSurvivesServerRestart) {
    ASSERT_TRUE(c->naming().register_name("kept", Pid{c_id, 3}, Duration::seconds(30)));
    c->stop();
    c.reset();
    s->stop();
    s.reset();
    s = start_server(dir);
    ASSERT_TRUE(s);
    auto counters = s->naming().counters();
    ASSERT_TRUE(counters.has_value());
    EXPECT_EQ(counters->names, 1u);
    auto found = s->naming().lookup("kept");  // The server asks itself (loopback).
    ASSERT_TRUE(found.has_value()) << found.error().to_string();
    EXPECT_EQ(found->owner(), (Pid{c_id, 3}));
}

TEST(NodeNaming, ServerRoleNeedsDataDirAndClientWithoutServerIsUnreachable) {
    NodeConfig config;
    config.faults_from_env = false;
    config.naming.server = true;
    auto refused = Node::start(config);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::invalid_argument);

    NodeConfig lone;
    lone.faults_from_env = false;
    auto node = Node::start(lone);
    ASSERT_TRUE(node.has_value());
    auto r = (*node)->naming().lookup("x");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::unreachable);  // No server configured: at once.
    (*node)->stop();
}

}  // namespace
}  // namespace herald::runtime

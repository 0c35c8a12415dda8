// NodeGroupService on two real runtime::Nodes over loopback UDP: S hosts the group server (its
// groups in S's data_dir) and member m1, C hosts member m2 and an outsider. Joins install
// numbered views in both members' queues, a reliability-all multicast reaches both, a closed
// group refuses the outsider, and a stopped member node is removed in the next view
// (docs/groups.md).
#include "runtime/node_group_service.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "runtime/node.h"

namespace herald::runtime {
namespace {

using proto::group::Envelope;
using proto::group::reliability_all;

const NodeId s_id{0x6301};
const NodeId c_id{0x6302};

std::string temp_dir() {
    auto dir =
        std::filesystem::temp_directory_path() /
        ("herald-group-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
         std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    return dir.string();
}

NodeConfig config_for(NodeId id) {
    NodeConfig config;
    config.id = id;
    config.faults_from_env = false;
    config.group_enabled = true;
    config.group.server = s_id;
    config.group.heartbeat_interval = Duration::milliseconds(50);
    config.group.suspicion_timeout = Duration::milliseconds(600);
    config.group.retransmit_interval = Duration::milliseconds(50);
    return config;
}

// The next envelope in `p`'s queue within 5 s.
Envelope next_envelope(Node& node, ProcessState& p) {
    auto m = node.receive(p, {}, Duration::seconds(5));
    EXPECT_TRUE(m.has_value()) << (m ? "" : m.error().to_string());
    if (!m) return {};
    auto e = proto::group::decode_envelope(m->body);
    EXPECT_TRUE(e.has_value());
    return e ? *e : Envelope{};
}

class NodeGroupServiceTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir = temp_dir();
        NodeConfig sc = config_for(s_id);
        sc.data_dir = dir;
        auto sn = Node::start(sc);
        ASSERT_TRUE(sn.has_value()) << sn.error().to_string();
        s = *sn;
        auto cn = Node::start(config_for(c_id));
        ASSERT_TRUE(cn.has_value()) << cn.error().to_string();
        c = *cn;
        ASSERT_TRUE(c->add_peer(s_id, s->listen_endpoint()).has_value());
        ASSERT_TRUE(s->add_peer(c_id, c->listen_endpoint()).has_value());
        ASSERT_NE(s->groups_service(), nullptr);
        ASSERT_NE(c->groups_service(), nullptr);
    }
    void TearDown() override {
        if (c) c->stop();
        if (s) s->stop();
        std::filesystem::remove_all(dir);
    }
    std::shared_ptr<ProcessState> spawn(Node& node) {
        auto p = node.spawn(ProcessConfig{});
        EXPECT_TRUE(p.has_value());
        return p ? *p : nullptr;
    }
    std::string dir;
    std::shared_ptr<Node> s, c;
};

TEST_F(NodeGroupServiceTest, JoinMulticastClosedGroupAndFailureDetection) {
    auto m1 = spawn(*s);
    auto m2 = spawn(*c);
    auto outsider = spawn(*c);
    ASSERT_TRUE(m1 && m2 && outsider);
    auto& sg = *s->groups_service();
    auto& cg = *c->groups_service();

    auto created = sg.create("team", true, m1->pid());
    ASSERT_TRUE(created) << created.error().to_string();
    EXPECT_EQ(created->id, 1u);
    auto v2 = sg.join_group("team", m1->pid());
    ASSERT_TRUE(v2) << v2.error().to_string();
    EXPECT_EQ(v2->id, 2u);
    auto v3 = cg.join_group("team", m2->pid());
    ASSERT_TRUE(v3) << v3.error().to_string();
    EXPECT_EQ(v3->id, 3u);
    EXPECT_EQ(v3->members.size(), 2u);

    auto e = next_envelope(*s, *m1);
    EXPECT_TRUE(e.is_view);
    EXPECT_EQ(e.view_id, 2u);
    e = next_envelope(*s, *m1);
    EXPECT_EQ(e.view_id, 3u);
    e = next_envelope(*c, *m2);
    EXPECT_TRUE(e.is_view);
    EXPECT_EQ(e.view_id, 3u);

    auto sent =
        sg.multicast("team", m1->pid(), to_bytes("hello"), reliability_all, Duration::seconds(5));
    ASSERT_TRUE(sent) << sent.error().to_string();
    EXPECT_EQ(sent->pids.size(), 2u);
    e = next_envelope(*c, *m2);
    EXPECT_FALSE(e.is_view);
    EXPECT_EQ(as_text(e.payload), "hello");
    e = next_envelope(*s, *m1);
    EXPECT_EQ(as_text(e.payload), "hello");

    auto refused = cg.multicast("team", outsider->pid(), to_bytes("x"), 1, Duration::seconds(5));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::access_denied);

    c->stop();  // m2's node goes silent: removed in view 4 after suspicion_timeout.
    c.reset();
    e = next_envelope(*s, *m1);
    EXPECT_TRUE(e.is_view);
    EXPECT_EQ(e.view_id, 4u);
    EXPECT_EQ(e.view.members.size(), 1u);
}

}  // namespace
}  // namespace herald::runtime

// Groups on etcd (docs/coordination.md "Groups on etcd", C12-C17): a real three-member etcd
// cluster on loopback and three Herald nodes whose coordination backend is etcd, no group
// server. Every node sees the same sequence of views; a multicast reaches the members; a
// Herald node killed with kill -9 leaves every view within its lease TTL; views still change
// after the etcd leader is killed. Each test prints the figure it measured (view installed on
// every node after a join, after a crash). Skipped, saying why, only without the etcd binary.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "etcd_test_support.h"
#include "herald/herald.h"

namespace herald::testing {
namespace {

using Clock = std::chrono::steady_clock;

bool has(const std::vector<Pid>& members, Pid pid) {
    return std::find(members.begin(), members.end(), pid) != members.end();
}

class EtcdGroupsTest : public ::testing::Test {
protected:
    void start_nodes(std::chrono::seconds lease_ttl = 10s) {
        for (int i = 0; i < 3; ++i) {
            nodes.push_back(start_node(etcd_node_options(cluster, i, lease_ttl)));
            ASSERT_TRUE(nodes.back());
        }
    }
    // The view of `group` every node reports, when all three report the same one.
    std::optional<GroupView> agreed(const std::string& group) {
        std::optional<GroupView> first;
        for (auto& node : nodes) {
            auto v = node->group_view(group);
            if (!v) return std::nullopt;
            if (first && (v->id != first->id || v->members != first->members)) return std::nullopt;
            first = *v;
        }
        return first;
    }
    // Next group message of `kind` for `p` within 5 s.
    static Result<GroupMessage> next(Process& p, GroupMessage::Kind kind) {
        const auto deadline = Clock::now() + 5s;
        while (Clock::now() < deadline) {
            auto e = p.receive(200ms);
            if (!e) continue;
            auto m = decode_group_message(*e);
            if (m && m->kind == kind) return *m;
        }
        return fail(Errc::timeout, "no group message");
    }
    EtcdCluster cluster;
    std::vector<std::unique_ptr<Node>> nodes;
};

// Issue 19's figures, the embedded group server beside etcd in one run (this binary): a join
// until the view is on all three nodes, and a silent node until its member is out of the view,
// with the failure detector's loopback row (heartbeat 100 ms, suspicion 1 s).
TEST(GroupViewTimes, EmbeddedServerJoinAndSilentNode) {
    TempDir dir;
    NodeOptions so;
    so.data_dir = dir.path();
    so.groups.server = true;
    so.groups.heartbeat_interval = 100ms;
    so.groups.suspicion_timeout = 1s;
    std::vector<std::unique_ptr<Node>> nodes;
    nodes.push_back(start_node(so));
    ASSERT_TRUE(nodes[0]);
    NodeOptions co;
    co.groups.server_url = nodes[0]->listen_url();
    co.groups.heartbeat_interval = 100ms;
    co.groups.suspicion_timeout = 1s;
    for (int i = 0; i < 2; ++i) {
        nodes.push_back(start_node(co));
        ASSERT_TRUE(nodes.back());
    }
    for (auto& x : nodes) {
        for (auto& y : nodes) {
            if (x != y) {
                ASSERT_TRUE(x->connect(y->listen_url()));
            }
        }
    }
    ASSERT_TRUE(nodes[1]->create_group("t"));
    std::vector<Process> members;
    long long worst_ms = 0;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        auto p = nodes[i]->spawn();
        ASSERT_TRUE(p);
        const auto t0 = Clock::now();
        ASSERT_TRUE(p->join_group("t"));
        ASSERT_TRUE(eventually(
            [&] {
                for (auto& n : nodes) {
                    auto v = n->group_view("t");
                    if (!v || v->id != i + 2) return false;
                }
                return true;
            },
            5000ms));
        worst_ms = std::max(worst_ms, ms_since(t0));
        members.push_back(std::move(*p));
    }
    std::printf("embedded: join answered and the view on all three nodes within %lld ms\n",
                worst_ms);
    const Pid gone = members[2].pid();
    nodes[2]->stop();  // Silent to the server (no leave): its failure detector must act.
    const auto t0 = Clock::now();
    ASSERT_TRUE(eventually(
        [&] {
            for (int i = 0; i < 2; ++i) {
                auto v = nodes[static_cast<std::size_t>(i)]->group_view("t");
                if (!v || has(v->members, gone)) return false;
            }
            return true;
        },
        5000ms));
    std::printf(
        "embedded: silent node's member out of the view on both survivors after %lld ms "
        "(suspicion 1000 ms)\n",
        ms_since(t0));
}

TEST(EtcdGroupsOptions, AGroupServerWithEtcdIsAnInvalidArgument) {
    NodeOptions o;
    o.coordination.backend = Coordination::etcd;
    o.coordination.etcd_endpoints = {"http://127.0.0.1:1"};
    o.groups.server = true;
    auto node = Node::start(o);
    ASSERT_FALSE(node);
    EXPECT_EQ(node.error().code, Errc::invalid_argument);
    EXPECT_NE(node.error().detail.find("groups.server"), std::string::npos);
}

// C12-C14: create, join from three nodes, the same views everywhere, each member told of each
// view in order, a multicast answered by all, leave, list, delete (members told).
TEST_F(EtcdGroupsTest, EveryNodeSeesTheSameViewsAndMulticastsReachTheMembers) {
    HERALD_NEED_ETCD(cluster);
    start_nodes();
    auto created = nodes[0]->create_group("g");
    ASSERT_TRUE(created) << created.error().to_string();
    EXPECT_EQ(created->id, 1u);
    EXPECT_EQ(nodes[1]->create_group("g").error().code, Errc::already_exists);
    std::vector<Process> members;
    long long worst_ms = 0;
    for (int i = 0; i < 3; ++i) {
        auto p = nodes[static_cast<std::size_t>(i)]->spawn();
        ASSERT_TRUE(p);
        const auto t0 = Clock::now();
        auto joined = p->join_group("g");
        ASSERT_TRUE(joined) << joined.error().to_string();
        EXPECT_EQ(joined->id, static_cast<std::uint64_t>(i + 2));
        EXPECT_TRUE(has(joined->members, p->pid()));
        // Installed on every node (each node's own view answers group_view).
        ASSERT_TRUE(eventually(
            [&] {
                auto v = agreed("g");
                return v && v->id == static_cast<std::uint64_t>(i + 2);
            },
            5000ms));
        worst_ms = std::max(worst_ms, ms_since(t0));
        members.push_back(std::move(*p));
    }
    std::printf("etcd: join committed and the view on all three nodes within %lld ms\n", worst_ms);
    EXPECT_GE(nodes[0]->stats().group_etcd_changes, 2u);  // The create and its join.
    EXPECT_GE(nodes[2]->stats().group_watch_events, 4u);  // Four views.
    // Each member got the views from the one that added it on, in order.
    for (std::size_t i = 0; i < members.size(); ++i) {
        for (std::uint64_t id = i + 2; id <= 4; ++id) {
            auto m = next(members[i], GroupMessage::Kind::view);
            ASSERT_TRUE(m) << "member " << i << " view " << id;
            EXPECT_EQ(m->view.id, id);
        }
    }
    auto sent = members[0].multicast("g", "hello", Reliability::all());
    ASSERT_TRUE(sent) << sent.error().to_string();
    EXPECT_EQ(sent->view_id, 4u);
    EXPECT_EQ(sent->responders.size(), 3u);
    for (auto& m : members) {
        auto got = next(m, GroupMessage::Kind::data);
        ASSERT_TRUE(got);
        EXPECT_EQ(got->text(), "hello");
    }
    // Open: anyone may send. Closed: only members send and see the view.
    auto outsider = nodes[1]->spawn();
    ASSERT_TRUE(outsider);
    auto open_sent = outsider->multicast("g", "open", Reliability::all());
    ASSERT_TRUE(open_sent) << open_sent.error().to_string();
    ASSERT_TRUE(nodes[0]->create_group("closed", true));
    ASSERT_TRUE(members[0].join_group("closed"));
    EXPECT_EQ(outsider->multicast("closed", "x").error().code, Errc::access_denied);
    // Node 2 learns of the group from its etcd watch, a moment after node 0 created it; until
    // then the group is not_found there (failed so once under load).
    ASSERT_TRUE(eventually(
        [&] {
            auto v = nodes[2]->group_view("closed");
            return v || v.error().code != Errc::not_found;
        },
        5000ms));
    auto closed_view = nodes[2]->group_view("closed");
    ASSERT_FALSE(closed_view);
    EXPECT_EQ(closed_view.error().code, Errc::access_denied);
    EXPECT_TRUE(members[0].multicast("closed", "in", Reliability::all()));
    // G24 on views from etcd: a request answered by the two other members (threads of their
    // own: the requester blocks), collected by the first.
    std::thread answerer([&] {
        for (std::size_t i = 1; i < 3; ++i) {
            for (int k = 0; k < 4; ++k) {
                auto m = next(members[i], GroupMessage::Kind::data);
                if (!m) break;
                if (!m->request()) continue;
                EXPECT_TRUE(members[i].reply(*m, "ok" + std::to_string(i)));
                break;
            }
        }
    });
    auto collected = members[0].multicast_request("g", "q", Collect::all(), 5s);
    answerer.join();
    ASSERT_TRUE(collected) << collected.error().to_string();
    EXPECT_FALSE(collected->timed_out);
    EXPECT_EQ(collected->answers.size(), 2u);
    auto left = members[2].leave_group("g");
    ASSERT_TRUE(left) << left.error().to_string();
    EXPECT_EQ(left->id, 5u);
    EXPECT_EQ(members[2].leave_group("g").error().code, Errc::not_found);
    // C12: a value under the prefix that is not a view is not Herald's: skipped, counted, not
    // listed, no view.
    const auto skipped = nodes[2]->stats().group_etcd_skipped;
    ASSERT_TRUE(etcd_post(
        cluster.endpoint(0), "/v3/kv/put",
        runtime::coord::Json{{"key", runtime::coord::base64_encode("/herald/groups/v/junk")},
                             {"value", runtime::coord::base64_encode("not a view")}}));
    EXPECT_TRUE(eventually([&] { return nodes[2]->stats().group_etcd_skipped > skipped; }, 5000ms));
    EXPECT_EQ(nodes[2]->group_view("junk").error().code, Errc::not_found);
    auto names = nodes[2]->groups();
    ASSERT_TRUE(names) << names.error().to_string();
    EXPECT_EQ(*names, (std::vector<std::string>{"closed", "g"}));
    ASSERT_TRUE(nodes[1]->delete_group("g"));
    EXPECT_TRUE(next(members[0], GroupMessage::Kind::deleted));
    EXPECT_TRUE(next(members[1], GroupMessage::Kind::deleted));  // After the leave's view 5.
    EXPECT_EQ(nodes[0]->group_view("g").error().code, Errc::not_found);
    EXPECT_EQ(members[0].multicast("g", "late").error().code, Errc::not_found);
    // Created again: views start afresh and reach the members who join.
    ASSERT_TRUE(nodes[2]->create_group("g"));
    auto again = members[1].join_group("g");
    ASSERT_TRUE(again) << again.error().to_string();
    EXPECT_EQ(again->id, 2u);
    auto view = next(members[1], GroupMessage::Kind::view);
    ASSERT_TRUE(view);
    EXPECT_EQ(view->view.id, 2u);
}

// C15: a node killed with kill -9 stops renewing its lease; when it ends, etcd deletes the
// node key and the survivors take its members out of every view.
TEST_F(EtcdGroupsTest, AKilledNodesMembersLeaveEveryViewWithinItsLeaseTtl) {
    HERALD_NEED_ETCD(cluster);
    start_nodes();
    ASSERT_TRUE(nodes[0]->create_group("crash"));
    auto survivor = nodes[1]->spawn();
    ASSERT_TRUE(survivor);
    ASSERT_TRUE(survivor->join_group("crash"));
    std::string endpoints;
    for (const auto& e : cluster.endpoints()) endpoints += (endpoints.empty() ? "" : ",") + e;
    Child victim({HERALD_NODE_HELPER, "etcd-group", endpoints, "2", "crash"});
    ASSERT_TRUE(victim.started());
    auto ready = victim.read_line(20000ms);
    ASSERT_TRUE(ready && ready->starts_with("READY ")) << (ready ? *ready : victim.output());
    auto victim_pid = parse_pid(ready->substr(6));
    ASSERT_TRUE(victim_pid);
    ASSERT_TRUE(eventually(
        [&] {
            auto v = agreed("crash");
            return v && v->members.size() == 2 && has(v->members, *victim_pid);
        },
        5000ms));
    // Alive, it renews: still a member after more than a TTL.
    std::this_thread::sleep_for(3000ms);
    ASSERT_TRUE(has(nodes[2]->group_view("crash")->members, *victim_pid));
    victim.kill9();
    const auto t0 = Clock::now();
    ASSERT_TRUE(eventually(
        [&] {
            auto v = agreed("crash");
            return v && v->members == std::vector<Pid>{survivor->pid()};
        },
        6000ms));
    const auto gone_ms = ms_since(t0);
    // The pruning node counts when etcd answers its transaction, which may come after the
    // watch delivered the new view to every node (seen once under load).
    EXPECT_TRUE(eventually(
        [&] {
            return nodes[0]->stats().group_etcd_pruned + nodes[1]->stats().group_etcd_pruned +
                       nodes[2]->stats().group_etcd_pruned >=
                   1u;
        },
        2000ms));
    std::printf(
        "etcd: killed node's member out of the view on all nodes after %lld ms (lease "
        "TTL 2000 ms)\n",
        gone_ms);
    EXPECT_GE(gone_ms, 1000);  // Not before the lease could end (TTL - TTL / 3).
    auto view = next(*survivor, GroupMessage::Kind::view);  // The join's view, then...
    while (view && has(view->view.members, *victim_pid)) {
        view = next(*survivor, GroupMessage::Kind::view);
    }
    ASSERT_TRUE(view);
    EXPECT_EQ(view->view.members, std::vector<Pid>{survivor->pid()});
}

// C17: with the etcd leader killed, joins still commit (on the new leader) and every node
// installs the view; the test allows 10 s, for loaded CI machines. Then ordered multicast
// (ABCAST) on those views.
TEST_F(EtcdGroupsTest, ViewsStillChangeAfterTheEtcdLeaderIsKilled) {
    HERALD_NEED_ETCD(cluster);
    start_nodes();
    ASSERT_TRUE(nodes[0]->create_group("lead", Order::abcast));
    auto leader = cluster.leader();
    ASSERT_TRUE(leader);
    cluster.kill(*leader);
    const auto t0 = Clock::now();
    std::vector<Process> members;
    for (auto& node : nodes) {
        auto p = node->spawn();
        ASSERT_TRUE(p);
        auto joined = p->join_group("lead");
        for (int i = 0; !joined && joined.error().code == Errc::unreachable && i < 5; ++i) {
            joined = p->join_group("lead");  // etcd_timeout ran out during the election.
        }
        ASSERT_TRUE(joined) << joined.error().to_string();
        members.push_back(std::move(*p));
    }
    ASSERT_TRUE(eventually(
        [&] {
            auto v = agreed("lead");
            return v && v->members.size() == 3;
        },
        10000ms));
    std::printf("etcd leader m%d killed: three joins installed on every node in %lld ms\n", *leader,
                ms_since(t0));
    // The ordering engine runs on the views from etcd as on the server's: an ABCAST group
    // delivers every member's messages in one order everywhere.
    for (std::size_t i = 0; i < members.size(); ++i) {
        const std::string text = "m" + std::to_string(i);
        Status sent = members[i].ordered_multicast("lead", text, 5s);
        ASSERT_TRUE(sent) << sent.error().to_string();
    }
    std::vector<std::vector<std::string>> orders(members.size());
    for (std::size_t i = 0; i < members.size(); ++i) {
        while (orders[i].size() < members.size()) {
            auto got = next(members[i], GroupMessage::Kind::data);
            ASSERT_TRUE(got) << "member " << i << " got " << orders[i].size();
            if (got->ordered) orders[i].emplace_back(got->text());
        }
    }
    EXPECT_EQ(orders[0], orders[1]);
    EXPECT_EQ(orders[0], orders[2]);
}

}  // namespace
}  // namespace herald::testing

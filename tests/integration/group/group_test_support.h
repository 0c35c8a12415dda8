// Three real nodes in one OS process for the group tests: S serves the groups (with a data_dir),
// A and B are clients, every pair connected (multicasts and order packets go node to node),
// with the loopback row of docs/groups.md for heartbeats and suspicion.
#pragma once

#include <memory>

#include "herald/herald.h"
#include "node_test_support.h"

namespace herald::testing {

class ThreeGroupNodes : public ::testing::Test {
protected:
    void SetUp() override {
        using namespace std::chrono_literals;
        NodeOptions so;
        so.data_dir = dir.path();
        so.groups.server = true;
        so.groups.heartbeat_interval = 100ms;
        so.groups.suspicion_timeout = 1s;
        s = start_node(so);
        ASSERT_TRUE(s);
        NodeOptions co;
        co.groups.server_url = s->listen_url();
        co.groups.heartbeat_interval = 100ms;
        co.groups.suspicion_timeout = 1s;
        a = start_node(co);
        b = start_node(co);
        ASSERT_TRUE(a && b);
        for (Node* x : {s.get(), a.get(), b.get()}) {
            for (Node* y : {s.get(), a.get(), b.get()}) {
                if (x != y) {
                    ASSERT_TRUE(x->connect(y->listen_url()));
                }
            }
        }
    }
    TempDir dir;
    std::unique_ptr<Node> s, a, b;
};

}  // namespace herald::testing

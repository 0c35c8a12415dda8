// PeerTable: NodeId <-> Endpoint learning, moves, takeovers and eviction.
#include <gtest/gtest.h>

#include "runtime/peer_table.h"

namespace herald::runtime {
namespace {

Endpoint udp(std::uint16_t port) {
    return Endpoint{Endpoint::Scheme::udp, "127.0.0.1", port, {}};
}

TEST(PeerTable, FindsWhatItLearnedInBothDirections) {
    PeerTable peers;
    peers.learn(NodeId{7}, udp(7400), Time::zero());
    ASSERT_NE(peers.find(NodeId{7}), nullptr);
    EXPECT_EQ(*peers.find(NodeId{7}), udp(7400));
    EXPECT_EQ(peers.find(udp(7400)), NodeId{7});
    EXPECT_EQ(peers.find(NodeId{8}), nullptr);
    EXPECT_FALSE(peers.find(udp(7401)).known());
}

TEST(PeerTable, ANodeThatMovesKeepsOnlyItsNewAddress) {
    PeerTable peers;
    peers.learn(NodeId{7}, udp(7400), Time::zero());
    peers.learn(NodeId{7}, udp(7500), Time::zero());
    EXPECT_EQ(*peers.find(NodeId{7}), udp(7500));
    EXPECT_FALSE(peers.find(udp(7400)).known());
    EXPECT_EQ(peers.size(), 1u);
    EXPECT_EQ(peers.counters().moved, 1u);
}

TEST(PeerTable, ANewNodeAtAnOldAddressReplacesTheOldNode) {
    PeerTable peers;
    peers.learn(NodeId{7}, udp(7400), Time::zero());
    peers.learn(NodeId{9}, udp(7400), Time::zero());
    EXPECT_EQ(peers.find(NodeId{7}), nullptr);
    EXPECT_EQ(peers.find(udp(7400)), NodeId{9});
    EXPECT_EQ(peers.size(), 1u);
}

TEST(PeerTable, WhenFullEvictsTheNodeHeardFromLeastRecently) {
    PeerTable peers(2);
    peers.learn(NodeId{1}, udp(1), Time::from_ns(10));
    peers.learn(NodeId{2}, udp(2), Time::from_ns(20));
    peers.learn(NodeId{1}, udp(1), Time::from_ns(30));  // Heard from again: now the newest.
    peers.learn(NodeId{3}, udp(3), Time::from_ns(40));
    EXPECT_NE(peers.find(NodeId{1}), nullptr);
    EXPECT_EQ(peers.find(NodeId{2}), nullptr);
    EXPECT_NE(peers.find(NodeId{3}), nullptr);
    EXPECT_EQ(peers.counters().evicted, 1u);
}

TEST(PeerTable, ForgetRemovesBothDirections) {
    PeerTable peers;
    peers.learn(NodeId{7}, udp(7400), Time::zero());
    peers.forget(NodeId{7});
    EXPECT_EQ(peers.find(NodeId{7}), nullptr);
    EXPECT_FALSE(peers.find(udp(7400)).known());
    peers.forget(NodeId{7});  // Idempotent.
}

}  // namespace
}  // namespace herald::runtime

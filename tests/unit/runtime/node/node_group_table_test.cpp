// GroupTable: the node's group-address handles, and where a multicast or broadcast
// destination goes: one datagram to the group or broadcast endpoint when the transport can
// send it, nothing (the Node fans out to the node list) when it cannot. A fake transport stands
// for udp (with and without broadcast) and for tcp, unix and inproc (neither).
#include <gtest/gtest.h>

#include <vector>

#include "runtime/group_table.h"

namespace herald::runtime {
namespace {

class FakeTransport final : public Transport {
public:
    explicit FakeTransport(Capabilities capabilities) : capabilities_(capabilities) {}
    void start(ReceiveHandler) override {}
    void send(const Endpoint&, ByteView) override {}
    void flush() override {}
    [[nodiscard]] Endpoint local_endpoint() const override { return {}; }
    [[nodiscard]] std::size_t datagram_bytes_max() const override { return 1200; }
    void close() override {}
    [[nodiscard]] Counters counters() const override { return {}; }
    [[nodiscard]] Capabilities capabilities() const override { return capabilities_; }
    [[nodiscard]] Result<GroupHandle> add_group(const Endpoint& group, GroupRole role) override {
        if (!capabilities_.multicast) return Transport::add_group(group, role);
        joined.push_back(role == GroupRole::member);
        groups.push_back(group);
        return static_cast<GroupHandle>(groups.size() + 100);  // Not the node's handles.
    }
    [[nodiscard]] Status remove_group(GroupHandle group) override {
        removed.push_back(group);
        return {};
    }
    [[nodiscard]] const Endpoint* group_endpoint(GroupHandle group) const override {
        return group > 100 && group - 100 <= groups.size() ? &groups[group - 101] : nullptr;
    }
    [[nodiscard]] const Endpoint* broadcast_endpoint() const override {
        return capabilities_.broadcast ? &broadcast : nullptr;
    }

    std::vector<Endpoint> groups;
    std::vector<bool> joined;
    std::vector<GroupHandle> removed;
    Endpoint broadcast{Endpoint::Scheme::udp, "10.0.0.255", 7600, {}};

private:
    Capabilities capabilities_;
};

const Endpoint group_a{Endpoint::Scheme::udp, "239.1.2.3", 7500, {}};
const Endpoint group_b{Endpoint::Scheme::udp, "239.1.2.4", 7500, {}};

proto::Destination multicast(std::uint32_t handle) {
    return {proto::Destination::Kind::multicast, NodeId{}, handle, 0, 2, {}};
}
proto::Destination broadcast() {
    return {proto::Destination::Kind::broadcast, NodeId{}, 0, 0, 2, {}};
}

TEST(GroupTable, ResolvesAGroupToOneDatagramWhenTheTransportHasMulticast) {
    FakeTransport udp({true, false});
    GroupTable table;
    auto handle = table.add(udp, group_a, GroupRole::sender, 4);
    ASSERT_TRUE(handle);
    EXPECT_EQ(*handle, 1u);
    const Endpoint* to = table.resolve(udp, multicast(*handle));
    ASSERT_NE(to, nullptr);
    EXPECT_EQ(*to, group_a);
    // Registering again joins on the transport when asked, and keeps the handle.
    auto again = table.add(udp, group_a, GroupRole::member, 4);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *handle);
    EXPECT_EQ(udp.joined, (std::vector<bool>{false, true}));
    EXPECT_EQ(table.size(), 1u);
}

TEST(GroupTable, FansOutWithoutMulticastOrBroadcastAndForUnknownHandles) {
    FakeTransport stream({false, false});  // tcp, unix, inproc.
    GroupTable table;
    auto handle = table.add(stream, group_a, GroupRole::member, 4);
    ASSERT_TRUE(handle);
    EXPECT_EQ(table.resolve(stream, multicast(*handle)), nullptr);
    EXPECT_EQ(table.resolve(stream, broadcast()), nullptr);
    EXPECT_TRUE(stream.groups.empty());
    FakeTransport udp({true, false});
    EXPECT_EQ(table.resolve(udp, multicast(0)), nullptr);
    EXPECT_EQ(table.resolve(udp, multicast(9)), nullptr);
    EXPECT_EQ(table.resolve(udp, broadcast()), nullptr);  // No broadcast endpoint configured.
    const proto::Destination nodes{proto::Destination::Kind::nodes, NodeId{}, 1, 0, 2};
    EXPECT_EQ(table.resolve(udp, nodes), nullptr);
}

TEST(GroupTable, ResolvesBroadcastToTheTransportsBroadcastEndpoint) {
    FakeTransport udp({true, true});
    GroupTable table;
    const Endpoint* to = table.resolve(udp, broadcast());
    ASSERT_NE(to, nullptr);
    EXPECT_EQ(*to, udp.broadcast);
}

TEST(GroupTable, RefusesBadGroupsBoundsTheTableAndReusesFreedHandles) {
    FakeTransport udp({true, false});
    GroupTable table;
    const Endpoint unicast{Endpoint::Scheme::udp, "127.0.0.1", 7500, {}};
    EXPECT_EQ(table.add(udp, unicast, GroupRole::member, 4).error().code, Errc::invalid_argument);
    ASSERT_TRUE(table.add(udp, group_a, GroupRole::member, 1));
    EXPECT_EQ(table.add(udp, group_b, GroupRole::member, 1).error().code, Errc::queue_full);
    EXPECT_EQ(table.remove(udp, 2).error().code, Errc::not_found);
    ASSERT_TRUE(table.remove(udp, 1));
    EXPECT_EQ(udp.removed, (std::vector<Transport::GroupHandle>{101}));
    EXPECT_EQ(table.resolve(udp, multicast(1)), nullptr);
    auto reused = table.add(udp, group_b, GroupRole::member, 1);
    ASSERT_TRUE(reused);
    EXPECT_EQ(*reused, 1u);
    EXPECT_EQ(*table.resolve(udp, multicast(1)), group_b);
}

}  // namespace
}  // namespace herald::runtime

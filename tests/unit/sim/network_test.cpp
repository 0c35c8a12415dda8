// Network model: latency bounds, loss and duplication rates, partitions (one-way, two-way,
// overlapping), clogging, healing, and determinism per seed. Layer: tests/unit/sim.
#include "sim/network.h"

#include <gtest/gtest.h>

namespace herald::sim {
namespace {

constexpr NodeId n1{1}, n2{2}, n3{3};

Time ms(std::int64_t n) {
    return Time::zero() + Duration::milliseconds(n);
}

TEST(Network, LatencyIsBaseScaledPerLinkPlusBoundedJitter) {
    NetworkOptions o;
    o.shape = JitterShape::uniform;
    Network net(o, Random(1), 3);
    for (int i = 0; i < 1000; ++i) {
        const Route r = net.route(n1, n2, ms(10));
        ASSERT_EQ(r.arrivals.size(), 1u);
        const Duration d = r.arrivals[0] - ms(10);
        EXPECT_GE(d, o.latency_base / 2);
        EXPECT_LE(d, o.latency_base * 3 / 2 + o.jitter);
    }
}

TEST(Network, LossAndDuplicationHappenAtAboutTheirRates) {
    NetworkOptions o;
    o.loss = 0.2;
    o.duplicate = 0.1;
    Network net(o, Random(7), 2);
    int lost = 0, doubled = 0;
    for (int i = 0; i < 10'000; ++i) {
        const Route r = net.route(n1, n2, ms(0));
        if (r.arrivals.empty()) {
            ++lost;
            EXPECT_EQ(r.drop_reason, "loss");
        }
        if (r.arrivals.size() == 2) ++doubled;
    }
    EXPECT_NEAR(lost, 2000, 200);
    EXPECT_NEAR(doubled, 800, 150);  // 10% of the 80% that were not lost.
    EXPECT_EQ(net.counters().lost, static_cast<std::uint64_t>(lost));
}

TEST(Network, LoopbackIsNeverFaulty) {
    NetworkOptions o;
    o.loss = 0.9;
    Network net(o, Random(3), 2);
    net.block(n1, n1);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(net.route(n1, n1, ms(0)).arrivals.size(), 1u);
}

TEST(Network, OneWayPartitionDropsOnlyOneDirectionUntilEveryBlockHeals) {
    Network net(NetworkOptions{}, Random(5), 3);
    net.block(n1, n2);
    net.block(n1, n2);  // A second, overlapping partition.
    EXPECT_EQ(net.route(n1, n2, ms(0)).drop_reason, "partition");
    EXPECT_EQ(net.route(n2, n1, ms(0)).arrivals.size(), 1u);
    EXPECT_EQ(net.route(n1, n3, ms(0)).arrivals.size(), 1u);
    net.unblock(n1, n2);
    EXPECT_TRUE(net.blocked(n1, n2));
    net.unblock(n1, n2);
    EXPECT_FALSE(net.blocked(n1, n2));
    net.unblock(n1, n2);  // Extra heals are harmless.
    EXPECT_EQ(net.route(n1, n2, ms(0)).arrivals.size(), 1u);
}

TEST(Network, ClogHoldsPacketsUntilItEnds) {
    Network net(NetworkOptions{}, Random(9), 2);
    net.clog(n2, ms(100));
    const Route r = net.route(n1, n2, ms(10));
    ASSERT_EQ(r.arrivals.size(), 1u);
    EXPECT_GE(r.arrivals[0], ms(100));
    const Route back = net.route(n2, n1, ms(10));
    EXPECT_GE(back.arrivals.at(0), ms(100));
}

TEST(Network, HealAllEndsEveryFault) {
    NetworkOptions o;
    o.loss = 0.5;
    o.duplicate = 0.5;
    o.burst_loss = true;
    Network net(o, Random(11), 2);
    net.block(n1, n2);
    net.clog(n1, ms(1000));
    net.heal_all();
    for (int i = 0; i < 200; ++i) {
        const Route r = net.route(n1, n2, ms(0));
        ASSERT_EQ(r.arrivals.size(), 1u);
        EXPECT_LT(r.arrivals[0], ms(100));
    }
}

TEST(Network, SameSeedSameFates) {
    NetworkOptions o;
    o.loss = 0.3;
    o.duplicate = 0.2;
    o.reorder = 0.2;
    o.extreme_delay = true;
    Network a(o, Random(42), 3), b(o, Random(42), 3);
    for (int i = 0; i < 500; ++i) {
        const Route ra = a.route(n1, n3, ms(i)), rb = b.route(n1, n3, ms(i));
        EXPECT_EQ(ra.arrivals, rb.arrivals);
    }
}

}  // namespace
}  // namespace herald::sim

// PathChecks: a known node's packets from another address, without a key (docs/security.md,
// "Address changes"): a live node is never displaced, a moved one is followed once it proves
// it receives at its new address, claimants that never answer never move it, and the table
// is bounded.
#include <gtest/gtest.h>

#include <vector>

#include "runtime/path_checks.h"

namespace herald::runtime {
namespace {

Endpoint udp(std::uint16_t port) {
    return Endpoint{Endpoint::Scheme::udp, "127.0.0.1", port, {}};
}

struct Fixture {
    Fixture() = default;
    explicit Fixture(PathChecks::Options options) : checks(options) {}
    PathChecks checks;
    std::vector<PathChecks::Challenge> sent;
    std::uint64_t next = 1;
    Time now = Time::zero();

    PathChecks::Verdict packet(NodeId node, const Endpoint& from, const Endpoint& known) {
        return checks.on_moved(
            node, from, known, now, [this] { return next++; }, sent);
    }
    // The cookie sent to `to`, from the newest challenges.
    std::uint64_t cookie_to(const Endpoint& to) const {
        for (auto it = sent.rbegin(); it != sent.rend(); ++it) {
            if (it->to == to) return it->cookie;
        }
        return 0;
    }
};

const NodeId n{7};
const Endpoint old_address = udp(7400);
const Endpoint claimed = udp(9999);

TEST(PathChecks, ALiveNodeIsNeverDisplacedByAClaimantAtAnotherAddress) {
    Fixture f;
    EXPECT_EQ(f.packet(n, claimed, old_address), PathChecks::Verdict::drop);
    ASSERT_EQ(f.sent.size(), 2u);  // A cookie to each address.
    EXPECT_NE(f.cookie_to(claimed), f.cookie_to(old_address));
    EXPECT_NE(f.cookie_to(claimed) & PathChecks::cookie_bit, 0u);
    // The claimant answers its cookie; the node answers from where it was.
    EXPECT_TRUE(f.checks.on_reply(n, claimed, f.cookie_to(claimed), f.now));
    EXPECT_TRUE(f.checks.on_reply(n, old_address, f.cookie_to(old_address), f.now));
    f.now = f.now + Duration::seconds(5);
    EXPECT_EQ(f.packet(n, claimed, old_address), PathChecks::Verdict::drop);
    EXPECT_EQ(f.checks.counters().refused, 1u);
    EXPECT_EQ(f.checks.counters().moved, 0u);
    EXPECT_EQ(f.sent.size(), 2u);  // A refused claimant is not challenged again ...
    f.now = f.now + Duration::seconds(6);
    EXPECT_EQ(f.packet(n, claimed, old_address), PathChecks::Verdict::drop);
    EXPECT_EQ(f.checks.counters().started, 2u);  // ... until refuse_for has passed.
}

TEST(PathChecks, AMovedNodeIsFollowedOnceItEchoesAndTheOldAddressIsSilent) {
    Fixture f;
    EXPECT_EQ(f.packet(n, claimed, old_address), PathChecks::Verdict::drop);
    EXPECT_TRUE(f.checks.on_reply(n, claimed, f.cookie_to(claimed), f.now));
    f.now = f.now + Duration::milliseconds(500);  // Not silent long enough yet.
    EXPECT_EQ(f.packet(n, claimed, old_address), PathChecks::Verdict::drop);
    f.now = f.now + Duration::milliseconds(600);
    EXPECT_EQ(f.packet(n, claimed, old_address), PathChecks::Verdict::move);
    EXPECT_EQ(f.checks.counters().moved, 1u);
    EXPECT_EQ(f.checks.size(), 0u);
}

TEST(PathChecks, AClaimantThatNeverEchoesNeverMovesItAndCookiesAreResent) {
    Fixture f;
    for (int i = 0; i < 40; ++i) {
        EXPECT_EQ(f.packet(n, claimed, old_address), PathChecks::Verdict::drop);
        f.now = f.now + Duration::milliseconds(100);
    }
    EXPECT_EQ(f.checks.counters().moved, 0u);
    EXPECT_GT(f.sent.size(), 2u);   // Resent every 250 ms ...
    EXPECT_LT(f.sent.size(), 60u);  // ... not per packet.
    // Echoes that are not ours, or from the wrong address, prove nothing.
    EXPECT_FALSE(f.checks.on_reply(n, claimed, 12345, f.now));
    EXPECT_FALSE(f.checks.on_reply(n, udp(1), f.cookie_to(claimed), f.now));
    EXPECT_FALSE(f.checks.on_reply(NodeId{8}, claimed, f.cookie_to(claimed), f.now));
}

TEST(PathChecks, AnotherClaimedAddressWaitsForTheCheckInProgress) {
    Fixture f;
    EXPECT_EQ(f.packet(n, claimed, old_address), PathChecks::Verdict::drop);
    EXPECT_EQ(f.packet(n, udp(8888), old_address), PathChecks::Verdict::drop);
    EXPECT_EQ(f.checks.counters().started, 1u);
    EXPECT_EQ(f.checks.counters().dropped, 2u);
}

TEST(PathChecks, TheTableIsBounded) {
    PathChecks::Options options;
    options.checks_max = 3;
    Fixture f(options);
    for (std::uint64_t node = 1; node <= 10; ++node) {
        EXPECT_EQ(f.packet(NodeId{node}, claimed, old_address), PathChecks::Verdict::drop);
    }
    EXPECT_EQ(f.checks.size(), 3u);
    EXPECT_EQ(f.checks.counters().started, 3u);
    EXPECT_EQ(f.checks.counters().dropped, 10u);
}

}  // namespace
}  // namespace herald::runtime

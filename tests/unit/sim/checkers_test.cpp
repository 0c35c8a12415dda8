// Checkers on synthetic histories: each property holds on a correct history and each checker
// reports the violation it exists for (and only that one). Layer: tests/unit/sim.
#include "sim/checkers.h"

#include <gtest/gtest.h>

namespace herald::sim {
namespace {

constexpr Pid a{NodeId{1}, 1};
constexpr Pid b{NodeId{2}, 1};
constexpr Pid c{NodeId{3}, 1};

Time ms(std::int64_t n) {
    return Time::zero() + Duration::milliseconds(n);
}

// A send from `from` to `to` carrying payload == id, started at `start` ms.
OperationRecord send(std::uint64_t id, Pid from, Pid to, Promise promise, std::int64_t start) {
    OperationRecord op;
    op.id = id;
    op.kind = "send";
    op.actor = from;
    op.peer = to;
    op.actor_incarnation = 1;
    op.payload = id;
    op.promise = promise;
    op.started = ms(start);
    return op;
}

void deliver(History& h, std::uint64_t payload, Pid from, Pid to, std::int64_t at,
             std::uint32_t incarnation = 1) {
    h.deliver({ms(at), from, to, incarnation, payload});
}

TEST(NoLossChecker, AcceptsDeliveredSendsThatWereDeliveredBeforeCompletion) {
    History h;
    h.start(send(1, a, b, Promise::delivered, 0));
    deliver(h, 1, a, b, 5);
    h.complete(1, ms(6), Errc::ok);
    EXPECT_TRUE(check_no_loss(h).empty());
}

TEST(NoLossChecker, ReportsDeliveredSendThatNeverArrived) {
    History h;
    h.start(send(1, a, b, Promise::delivered, 0));
    h.complete(1, ms(6), Errc::ok);
    const auto v = check_no_loss(h);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].checker, "no_loss");
    EXPECT_NE(v[0].description.find("never delivered"), std::string::npos);
}

TEST(NoLossChecker, ReportsDeliveredSendCompletedBeforeItsDelivery) {
    History h;
    h.start(send(1, a, b, Promise::delivered, 0));
    h.complete(1, ms(3), Errc::ok);
    deliver(h, 1, a, b, 5);
    const auto v = check_no_loss(h);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_NE(v[0].description.find("before it was delivered"), std::string::npos);
}

TEST(NoLossChecker, ExcusesAcceptedSendLostToATargetCrashButNotOtherwise) {
    History h;
    h.start(send(1, a, b, Promise::accepted, 0));
    h.complete(1, ms(3), Errc::ok);
    h.start(send(2, a, c, Promise::accepted, 0));
    h.complete(2, ms(3), Errc::ok);
    h.crash({ms(4), b.node, false});
    const auto v = check_no_loss(h);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_NE(v[0].description.find("op=2"), std::string::npos);
}

TEST(NoLossChecker, IgnoresFailedAndNonblockingSends) {
    History h;
    h.start(send(1, a, b, Promise::delivered, 0));
    h.complete(1, ms(3), Errc::timeout);
    h.start(send(2, a, b, Promise::none, 0));
    h.complete(2, ms(0), Errc::ok);
    EXPECT_TRUE(check_no_loss(h).empty());
}

TEST(NoLossChecker, RequiresEveryLivenessSendToBeDelivered) {
    History h;
    auto op = send(1, a, b, Promise::none, 0);
    op.must_succeed = true;
    h.start(op);
    h.complete(1, ms(0), Errc::ok);
    ASSERT_EQ(check_no_loss(h).size(), 1u);
    deliver(h, 1, a, b, 4);
    EXPECT_TRUE(check_no_loss(h).empty());
}

TEST(NoDuplicatesChecker, ReportsASecondDeliveryOfOnePayload) {
    History h;
    h.start(send(1, a, b, Promise::none, 0));
    deliver(h, 1, a, b, 2);
    EXPECT_TRUE(check_no_duplicates(h).empty());
    deliver(h, 1, a, b, 9, 2);  // Even to a later incarnation of the target.
    const auto v = check_no_duplicates(h);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].checker, "no_duplicates");
    EXPECT_NE(v[0].description.find("delivered again"), std::string::npos);
}

TEST(NoDuplicatesChecker, ReportsPhantomAndMisroutedDeliveries) {
    History h;
    h.start(send(1, a, b, Promise::none, 0));
    deliver(h, 7, a, b, 2);  // Never sent.
    deliver(h, 1, a, c, 3);  // Sent to b.
    const auto v = check_no_duplicates(h);
    ASSERT_EQ(v.size(), 2u);
    EXPECT_NE(v[0].description.find("never sent"), std::string::npos);
    EXPECT_NE(v[1].description.find("wrong process"), std::string::npos);
}

TEST(FifoChecker, AcceptsGapsLeftByFailedSends) {
    History h;
    for (std::uint64_t id = 1; id <= 3; ++id) h.start(send(id, a, b, Promise::delivered, 0));
    deliver(h, 1, a, b, 1);
    deliver(h, 3, a, b, 3);  // 2 failed and never arrived: allowed.
    EXPECT_TRUE(check_fifo(h).empty());
}

TEST(FifoChecker, ReportsOvertakingWithinOneIncarnationPair) {
    History h;
    for (std::uint64_t id = 1; id <= 3; ++id) h.start(send(id, a, b, Promise::none, 0));
    deliver(h, 1, a, b, 1);
    deliver(h, 3, a, b, 2);
    deliver(h, 2, a, b, 3);
    const auto v = check_fifo(h);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].checker, "fifo");
    EXPECT_NE(v[0].description.find("op=2"), std::string::npos);
}

TEST(FifoChecker, OrdersEachTargetIncarnationAndSenderSeparately) {
    History h;
    h.start(send(1, a, b, Promise::none, 0));
    h.start(send(2, a, b, Promise::none, 1));
    h.start(send(3, c, b, Promise::none, 2));
    deliver(h, 2, a, b, 3, 1);
    deliver(h, 1, a, b, 5, 2);  // The target restarted in between: a new FIFO stream.
    deliver(h, 3, c, b, 6, 2);  // Another sender: no order with a's messages.
    EXPECT_TRUE(check_fifo(h).empty());
}

TEST(FifoChecker, LeavesDuplicatesToTheDuplicateChecker) {
    History h;
    h.start(send(1, a, b, Promise::none, 0));
    h.start(send(2, a, b, Promise::none, 0));
    deliver(h, 1, a, b, 1);
    deliver(h, 2, a, b, 2);
    deliver(h, 1, a, b, 3);
    EXPECT_TRUE(check_fifo(h).empty());
    EXPECT_EQ(check_no_duplicates(h).size(), 1u);
}

TEST(ExactlyOnceChecker, ReportsARequestExecutedTwiceAcrossRestarts) {
    History h;
    h.execute({ms(1), b.node, 1, 42});
    h.execute({ms(2), b.node, 1, 43});
    EXPECT_TRUE(check_exactly_once(h).empty());
    h.execute({ms(9), b.node, 2, 42});
    const auto v = check_exactly_once(h);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].checker, "exactly_once");
    EXPECT_NE(v[0].description.find("request=42"), std::string::npos);
}

TEST(OperationsChecker, ReportsDoubleAndUnknownCompletions) {
    History h;
    h.start(send(1, a, b, Promise::none, 0));
    h.complete(1, ms(1), Errc::ok);
    EXPECT_TRUE(check_operations(h).empty());
    h.complete(1, ms(2), Errc::timeout);
    h.complete(99, ms(3), Errc::ok);
    EXPECT_EQ(check_operations(h).size(), 2u);
    EXPECT_EQ(h.find(1)->outcome, Errc::ok);  // The first completion is the one kept.
}

TEST(LivenessChecker, ReportsOperationsThatNeverCompleteAfterHealing) {
    History h;
    h.start(send(1, a, b, Promise::delivered, 0));
    h.set_liveness_start(ms(100));
    EXPECT_TRUE(check_liveness(h, Duration::milliseconds(50), ms(120)).empty());  // Not due.
    const auto v = check_liveness(h, Duration::milliseconds(50), ms(200));
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].checker, "liveness");
}

TEST(LivenessChecker, ExcusesAbandonedOperationsAndReportsLateOrFailedOnes) {
    History h;
    h.start(send(1, a, b, Promise::delivered, 0));
    h.abandon_node(a.node);
    auto late = send(2, b, c, Promise::none, 150);
    h.start(late);
    h.complete(2, ms(300), Errc::ok);  // Due at 150 + 50.
    auto failed = send(3, c, a, Promise::none, 150);
    failed.must_succeed = true;
    h.start(failed);
    h.complete(3, ms(160), Errc::unreachable);
    h.set_liveness_start(ms(100));
    const auto v = check_liveness(h, Duration::milliseconds(50), ms(400));
    ASSERT_EQ(v.size(), 2u);
    EXPECT_NE(v[0].description.find("late"), std::string::npos);
    EXPECT_NE(v[1].description.find("failed after the faults healed"), std::string::npos);
}

TEST(LivenessChecker, ExcusesBackPressureRefusals) {
    History h;
    auto refused = send(1, a, b, Promise::delivered, 150);
    refused.must_succeed = true;
    h.start(refused);
    h.complete(1, ms(150), Errc::queue_full);
    h.set_liveness_start(ms(100));
    EXPECT_TRUE(check_liveness(h, Duration::milliseconds(50), ms(400)).empty());
    EXPECT_TRUE(check_no_loss(h).empty());
}

TEST(LivenessChecker, ExcusesAStaleChannelOnlyUntilTheSenderHeardFromTheNewIncarnation) {
    History h;
    h.crash({ms(10), b.node, false});  // b's node restarts as incarnation 2.
    auto early = send(1, a, b, Promise::delivered, 150);
    early.must_succeed = true;
    h.start(early);
    h.complete(1, ms(160), Errc::peer_restarted);
    h.contact({ms(160), a.node, b.node, 2});  // The nack came from incarnation 2.
    auto late = send(2, a, b, Promise::delivered, 170);
    late.must_succeed = true;
    h.start(late);
    h.complete(2, ms(180), Errc::peer_restarted);
    h.set_liveness_start(ms(100));
    const auto v = check_liveness(h, Duration::milliseconds(50), ms(400));
    ASSERT_EQ(v.size(), 1u);
    EXPECT_NE(v[0].description.find("op=2"), std::string::npos);
    EXPECT_TRUE(excused(h, *h.find(1)));
    EXPECT_FALSE(excused(h, *h.find(2)));
    EXPECT_EQ(h.incarnation_at(b.node, ms(5)), 1u);
    EXPECT_EQ(h.incarnation_at(b.node, ms(50)), 2u);
}

TEST(Checkers, CheckAllIsCleanOnACorrectHistory) {
    History h;
    h.start(send(1, a, b, Promise::delivered, 0));
    h.start(send(2, a, b, Promise::accepted, 1));
    deliver(h, 1, a, b, 2);
    h.complete(1, ms(3), Errc::ok);
    h.complete(2, ms(4), Errc::ok);
    deliver(h, 2, a, b, 5);
    h.set_liveness_start(ms(10));
    EXPECT_TRUE(check_all(h, Duration::milliseconds(50), ms(100)).empty());
}

}  // namespace
}  // namespace herald::sim

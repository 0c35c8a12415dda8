// ProcessState (a process's inbox): order, selective take, timeouts, close, notify fd,
// batched consumption reports. No sleeps: waits use deadlines in the past or a second thread.
#include <gtest/gtest.h>
#include <poll.h>

#include <thread>

#include "core/clock.h"
#include "runtime/node_process.h"

namespace herald::runtime {
namespace {

const Pid self{NodeId{1}, 10};
const Pid alice{NodeId{2}, 20};
const Pid bob{NodeId{3}, 30};

Message from(Pid source, std::uint64_t seq) {
    return Message{source, self, seq, 0, {}};
}

bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

TEST(Inbox, TakesMessagesInArrivalOrder) {
    ProcessState inbox(self, "");
    inbox.push(from(alice, 1));
    inbox.push(from(bob, 1));
    EXPECT_EQ(inbox.size(), 2u);
    EXPECT_EQ(inbox.take({})->source, alice);
    EXPECT_EQ(inbox.take({})->source, bob);
    EXPECT_FALSE(inbox.take({}).has_value());
}

TEST(Inbox, SelectiveTakeLeavesOtherSendersQueuedInOrder) {
    ProcessState inbox(self, "");
    inbox.push(from(alice, 1));
    inbox.push(from(bob, 1));
    inbox.push(from(alice, 2));
    const Pid only_bob[] = {bob};
    EXPECT_EQ(inbox.take(only_bob)->source, bob);
    const Pid nobody_here[] = {Pid{NodeId{9}, 9}};
    EXPECT_FALSE(inbox.take(nobody_here).has_value());
    EXPECT_EQ(inbox.take({})->seq, 1u);
    EXPECT_EQ(inbox.take({})->seq, 2u);
}

TEST(Inbox, WaitWithAPastDeadlineTimesOutAtOnce) {
    ProcessState inbox(self, "");
    inbox.push(from(alice, 1));
    const Pid only_bob[] = {bob};
    auto result = inbox.take_wait(only_bob, SystemClock::instance().now());
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, Errc::timeout);
    EXPECT_EQ(inbox.size(), 1u);
}

TEST(Inbox, AWaitingReceiverWakesForAMatchingMessageFromAnotherThread) {
    ProcessState inbox(self, "");
    const Pid only_bob[] = {bob};
    std::thread loop([&] {
        inbox.push(from(alice, 1));
        inbox.push(from(bob, 7));
    });
    auto result = inbox.take_wait(only_bob, Time::max());
    loop.join();
    ASSERT_TRUE(result);
    EXPECT_EQ(result->seq, 7u);
    EXPECT_EQ(inbox.size(), 1u);
}

TEST(Inbox, CloseWakesAWaiterAndDropsLaterPushes) {
    ProcessState inbox(self, "");
    std::thread closer([&] { inbox.close(); });
    auto result = inbox.take_wait({}, Time::max());
    closer.join();
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, Errc::closed);
    EXPECT_FALSE(inbox.push(from(alice, 1)));
    EXPECT_EQ(inbox.size(), 0u);
}

TEST(Inbox, NotifyFdIsReadableExactlyWhileMessagesAreQueued) {
    ProcessState inbox(self, "");
    inbox.push(from(alice, 1));
    auto fd = inbox.notify_fd();
    ASSERT_TRUE(fd);
    EXPECT_TRUE(readable(*fd));  // Created with a message already queued.
    inbox.push(from(alice, 2));
    ASSERT_TRUE(inbox.take({}));
    EXPECT_TRUE(readable(*fd));
    ASSERT_TRUE(inbox.take({}));
    EXPECT_FALSE(readable(*fd));
    inbox.push(from(bob, 1));
    EXPECT_TRUE(readable(*fd));
    EXPECT_EQ(inbox.notify_fd().value(), *fd);  // The same fd every time.
}

TEST(Inbox, ConsumptionReportsAreBatchedUntilTaken) {
    ProcessState inbox(self, "");
    EXPECT_TRUE(inbox.add_consumed(1));   // First: the caller schedules one report.
    EXPECT_FALSE(inbox.add_consumed(2));  // Already scheduled.
    EXPECT_EQ(inbox.take_consumed(), 3u);
    EXPECT_TRUE(inbox.add_consumed(1));
}

}  // namespace
}  // namespace herald::runtime

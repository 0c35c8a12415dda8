// ProcessState (a process's inbox): order, selective take, timeouts, close, notify fd,
// lazy consumption reports. No sleeps: waits use deadlines in the past or a second thread.
#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "runtime/node_process.h"
#include "runtime/send_ring.h"

namespace herald::runtime {
namespace {

const Pid self{NodeId{1}, 10};
const Pid alice{NodeId{2}, 20};
const Pid bob{NodeId{3}, 30};

Message from(Pid source, std::uint64_t seq) {
    return Message{source, self, seq, 0, {}};
}

template <class T>
Errc code_of(const Result<T>& r) {
    return r ? Errc::ok : r.error().code;
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
    EXPECT_EQ(inbox.take({})->message.source, alice);
    EXPECT_EQ(inbox.take({})->message.source, bob);
    EXPECT_FALSE(inbox.take({}).has_value());
}

TEST(Inbox, SelectiveTakeLeavesOtherSendersQueuedInOrder) {
    ProcessState inbox(self, "");
    inbox.push(from(alice, 1));
    inbox.push(from(bob, 1));
    inbox.push(from(alice, 2));
    const Pid only_bob[] = {bob};
    EXPECT_EQ(inbox.take(only_bob)->message.source, bob);
    const Pid nobody_here[] = {Pid{NodeId{9}, 9}};
    EXPECT_FALSE(inbox.take(nobody_here).has_value());
    EXPECT_EQ(inbox.take({})->message.seq, 1u);
    EXPECT_EQ(inbox.take({})->message.seq, 2u);
}

TEST(Inbox, WaitWithAPastDeadlineTimesOutAtOnce) {
    ProcessState inbox(self, "");
    inbox.push(from(alice, 1));
    const Pid only_bob[] = {bob};
    auto result = inbox.take_wait(only_bob, SystemClock::instance().now(), [] {});
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
    auto result = inbox.take_wait(only_bob, Time::max(), [] {});
    loop.join();
    ASSERT_TRUE(result);
    EXPECT_EQ(result->message.seq, 7u);
    EXPECT_EQ(inbox.size(), 1u);
}

// The loop's receive_async (or another taker) may remove messages the waiter already looked
// at while it sleeps; the waiter must look again from the start, not past the end.
TEST(Inbox, AWaiterFindsItsMessageAfterAnotherTakerRemovedOnesItHadSeen) {
    ProcessState inbox(self, "");
    const Pid only_bob[] = {bob};
    for (std::uint64_t seq = 1; seq <= 3; ++seq) inbox.push(from(alice, seq));
    std::thread loop([&] {
        while (!inbox.receiver_waiting()) std::this_thread::yield();
        for (int i = 0; i < 3; ++i) EXPECT_TRUE(inbox.take({}).has_value());
        inbox.push(from(bob, 7));
    });
    const Time deadline = SystemClock::instance().now() + Duration::seconds(10);
    auto result = inbox.take_wait(only_bob, deadline, [] {});
    loop.join();
    ASSERT_TRUE(result) << errc_name(result.error().code);
    EXPECT_EQ(result->message.seq, 7u);
    EXPECT_EQ(inbox.size(), 0u);
}

TEST(Inbox, CloseWakesAWaiterAndDropsLaterPushes) {
    ProcessState inbox(self, "");
    std::thread closer([&] { inbox.close(); });
    auto result = inbox.take_wait({}, Time::max(), [] {});
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
    ASSERT_TRUE(inbox.take({}));
    EXPECT_FALSE(readable(*fd));
    inbox.close();  // Readable for good, so that an event loop sees the process closed.
    EXPECT_TRUE(readable(*fd));
    EXPECT_FALSE(inbox.take({}));
    EXPECT_FALSE(inbox.push(from(bob, 2)));
    EXPECT_TRUE(readable(*fd));
}

// The loop signals the fd after it unlocks the inbox, so a taker on another core may empty the
// inbox and reset the fd before the signal lands. After each push is taken the fd must not be
// readable: an event loop would otherwise wake for nothing, again and again, until the next
// message. Fails without push_batch's second look at the size after its signal (checked: the
// fd is left readable within the first few thousand pushes).
TEST(Inbox, NotifyFdIsNotLeftReadableWhenATakerEmptiesTheInboxBeforeTheSignal) {
    constexpr std::uint64_t count = 20'000;
    ProcessState inbox(self, "");
    auto fd = inbox.notify_fd();
    ASSERT_TRUE(fd);
    std::atomic<std::uint64_t> taken{0};
    std::atomic<bool> stop{false};
    std::thread taker([&] {
        while (!stop.load(std::memory_order_relaxed)) {
            if (inbox.take({})) {
                taken.fetch_add(1, std::memory_order_release);
            } else {
                std::this_thread::yield();  // Both threads may share a core (a loaded run).
            }
        }
    });
    // Up to `count` pushes, or fewer once 5 s have passed (a heavily loaded run): a race to catch,
    // not a count to reach. A take that never comes within 30 s is a failure.
    std::uint64_t pushed = 0, stale = 0;
    const auto start = std::chrono::steady_clock::now();
    const auto enough = start + std::chrono::seconds(5), give_up = start + std::chrono::seconds(30);
    while (pushed < count && stale == 0 && std::chrono::steady_clock::now() < enough) {
        inbox.push(from(alice, pushed));
        ++pushed;
        while (taken.load(std::memory_order_acquire) < pushed &&
               std::chrono::steady_clock::now() < give_up) {
            std::this_thread::yield();
        }
        if (taken.load(std::memory_order_acquire) < pushed) break;  // Reported below.
        if (readable(*fd)) ++stale;
    }
    stop.store(true);
    taker.join();
    EXPECT_EQ(taken.load(), pushed);
    EXPECT_EQ(stale, 0u) << "the fd was readable with nothing queued after push " << pushed;
}

// A batch is appended whole, in order, after what was queued; messages a selective take left
// in the takers' batch stay before later arrivals. Fails when a refill puts the arrivals first
// or drops the batch's rest.
TEST(Inbox, ABatchQueuesInOrderAndSkippedMessagesStayBeforeLaterArrivals) {
    ProcessState inbox(self, "");
    std::vector<Message> batch{from(alice, 1), from(bob, 1), from(alice, 2)};
    EXPECT_TRUE(inbox.push_batch(batch));
    EXPECT_EQ(inbox.size(), 3u);
    const Pid only_bob[] = {bob};
    EXPECT_EQ(inbox.take(only_bob)->message.source, bob);  // alice 1 and 2 stay, in order.
    std::vector<Message> later{from(alice, 3), from(bob, 2)};
    EXPECT_TRUE(inbox.push_batch(later));
    EXPECT_EQ(inbox.take(only_bob)->message.seq, 2u);  // Past alice's, into the arrivals.
    for (std::uint64_t seq = 1; seq <= 3; ++seq) {
        auto taken = inbox.take({});
        ASSERT_TRUE(taken);
        EXPECT_EQ(taken->message.seq, seq);
    }
    EXPECT_EQ(inbox.size(), 0u);
    EXPECT_FALSE(inbox.take({}).has_value());
    inbox.close();
    EXPECT_FALSE(inbox.push_batch(later));
}

// A migrating process hands its whole inbox to the engine: what is left of the takers' batch
// first, then what arrived after it, in order. Fails when take_all leaves either part behind.
TEST(Inbox, TakeAllHandsOverTheTakersBatchThenTheArrivals) {
    ProcessState inbox(self, "");
    std::vector<Message> batch{from(alice, 1), from(alice, 2)};
    ASSERT_TRUE(inbox.push_batch(batch));
    ASSERT_EQ(inbox.take({})->message.seq, 1u);  // Seq 2 stays in the takers' batch.
    ASSERT_TRUE(inbox.push(from(alice, 3)));     // Seq 3 waits in `arrived`.
    const std::vector<Message> all = inbox.take_all();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].seq, 2u);
    EXPECT_EQ(all[1].seq, 3u);
    EXPECT_EQ(inbox.size(), 0u);
    EXPECT_FALSE(inbox.take({}).has_value());
}

TEST(Inbox, NotifyFdFollowsBatchesAndTakesFromTheTakersBatch) {
    ProcessState inbox(self, "");
    auto fd = inbox.notify_fd();
    ASSERT_TRUE(fd);
    EXPECT_FALSE(readable(*fd));
    std::vector<Message> batch{from(alice, 1), from(alice, 2)};
    ASSERT_TRUE(inbox.push_batch(batch));
    EXPECT_TRUE(readable(*fd));
    ASSERT_TRUE(inbox.take({}));  // The takers now hold the batch; one message is left in it.
    EXPECT_TRUE(readable(*fd));
    ASSERT_TRUE(inbox.take({}));
    EXPECT_FALSE(readable(*fd));
    inbox.close();
    EXPECT_TRUE(readable(*fd));  // Closed: readable, so an event loop looks and sees `closed`.
}

// Stress for the wake-up rule (no lost wake-up): a loop thread pushes batches of 1 to 40 while
// one receiver sleeps in take_wait for bob's messages and a second taker (as the loop's
// receive_async or a try_receive would) polls for alice's. Before every fourth batch the loop
// waits until the sleeper has taken all of bob's so far and sleeps, so that batch must wake it.
// Every message is taken once, in order per sender, and each wait ends long before its 5 s
// deadline. Fails when push_batch does not notify a waiting receiver (checked: the first wait
// ends at its deadline); meant to catch, too, a take_wait that checks for arrivals without the
// takers' lock (the poller may then move bob's message into the batch between the sleeper's
// look and its sleep).
TEST(Inbox, BatchesFromTheLoopNeverLeaveASleepingReceiverAsleep) {
    constexpr std::uint64_t count = 4000;
    ProcessState inbox(self, "");
    std::atomic<std::uint64_t> bob_taken{0};
    std::thread loop([&] {
        std::uint64_t next = 0, bob_pushed = 0, batches = 0;
        std::vector<Message> batch;
        while (next < count) {
            if (++batches % 4 == 0 && bob_taken.load() == bob_pushed) {
                const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
                while (!inbox.receiver_waiting()) {
                    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "never slept";
                    std::this_thread::yield();
                }
            }
            batch.clear();
            const std::uint64_t size = 1 + next % 40;
            for (std::uint64_t i = 0; i < size && next < count; ++i, ++next) {
                const bool to_bob = next % 3 == 0;
                bob_pushed += to_bob ? 1 : 0;
                batch.push_back(from(to_bob ? bob : alice, next));
            }
            ASSERT_TRUE(inbox.push_batch(batch));
        }
    });
    std::thread poller([&] {
        const Pid only_alice[] = {alice};
        std::uint64_t last = 0;
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        for (std::uint64_t n = 0; n < count - (count + 2) / 3;) {
            auto taken = inbox.take(only_alice);
            if (!taken) {
                ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "alice's lost at " << n;
                std::this_thread::yield();
                continue;
            }
            ASSERT_TRUE(n == 0 || taken->message.seq > last);
            last = taken->message.seq;
            ++n;
        }
    });
    const Pid only_bob[] = {bob};
    for (std::uint64_t seq = 0; seq < count; seq += 3) {
        const Time deadline = SystemClock::instance().now() + Duration::seconds(5);
        auto taken = inbox.take_wait(only_bob, deadline, [] {});
        // EXPECT and break, not ASSERT: the threads must be joined (they give up in 10 s).
        const bool ok = taken && SystemClock::instance().now() < deadline;
        EXPECT_TRUE(ok) << "waiting for " << seq << ": "
                        << (taken ? "woken by the deadline" : errc_name(taken.error().code));
        if (!ok) break;
        EXPECT_EQ(taken->message.seq, seq);
        bob_taken.fetch_add(1);
    }
    loop.join();
    poller.join();
    EXPECT_EQ(inbox.size(), 0u);
}

ProcessState inbox_with(proto::direct::Buffering buffering, std::uint32_t queue_limit) {
    proto::direct::ProcessOptions options;
    options.buffering = buffering;
    options.queue_limit = queue_limit;
    return ProcessState(self, "", options);
}

// The engine counts queued = inbox + unreported takes; a report is due once that reaches half
// the queue_limit, and at most one report task is outstanding.
TEST(Inbox, BufferedConsumptionIsReportedOnceTheEnginesCountReachesHalf) {
    ProcessState inbox = inbox_with(proto::direct::Buffering::multiple, 8);
    EXPECT_FALSE(inbox.needs_receive_posts());
    EXPECT_FALSE(inbox.add_consumed(1, 0));  // 0 queued + 1 unreported: lazy.
    EXPECT_FALSE(inbox.report_due_idle());   // Still below half.
    EXPECT_TRUE(inbox.add_consumed(1, 2));   // 2 + 2 = 4 of 8: the caller posts a report.
    EXPECT_FALSE(inbox.add_consumed(1, 5));  // One is posted already.
    EXPECT_FALSE(inbox.report_due_idle());
    inbox.begin_report();
    EXPECT_EQ(inbox.take_consumed(), 3u);
    EXPECT_FALSE(inbox.report_due_idle());  // Nothing unreported.
    EXPECT_TRUE(inbox.add_consumed(1, 7));  // The report ran: the next due take posts again.
}

TEST(Inbox, NoBufferStrategiesAndSingleReportEveryTake) {
    for (auto buffering : {proto::direct::Buffering::send_after_receive,
                           proto::direct::Buffering::send_discard_retry}) {
        ProcessState inbox = inbox_with(buffering, 1024);
        EXPECT_TRUE(inbox.needs_receive_posts());
        EXPECT_TRUE(inbox.add_consumed(1, 0));
    }
    ProcessState single = inbox_with(proto::direct::Buffering::single, 1024);  // 1 slot.
    EXPECT_FALSE(single.needs_receive_posts());
    EXPECT_TRUE(single.add_consumed(1, 0));
}

// A take that is not due leaves the count unreported; messages for someone else then fill the
// inbox, so a receive that finds nothing it wants reports before it sleeps, once.
TEST(Inbox, AReceiverWithNothingToTakeReportsBeforeItSleeps) {
    ProcessState inbox = inbox_with(proto::direct::Buffering::multiple, 4);
    inbox.push(from(alice, 1));
    auto taken = inbox.take({});
    ASSERT_TRUE(taken);
    EXPECT_FALSE(taken->report);  // 0 queued + 1 unreported of 4.
    inbox.push(from(alice, 2));
    inbox.push(from(alice, 3));
    int reports = 0;
    const Pid only_bob[] = {bob};
    auto result = inbox.take_wait(only_bob, SystemClock::instance().now(), [&] { ++reports; });
    EXPECT_EQ(code_of(result), Errc::timeout);
    EXPECT_EQ(reports, 1);
    EXPECT_FALSE(inbox.report_due_idle());  // Posted: not again until the report runs.
}

// Takes of group and ordered messages are counted apart from direct ones (docs/groups.md G25,
// docs/ordering.md O37): they never lower the direct engine's count; a report is due every
// group_report_batch of them, and whenever the receiver finds nothing while any is unreported.
// Fails when take() counts every message as direct (the bug before G25).
TEST(Inbox, GroupAndOrderedTakesAreCountedApartFromDirectOnes) {
    ProcessState inbox = inbox_with(proto::direct::Buffering::multiple, 1024);
    Message group = from(alice, 1);
    group.group = true;
    Message ordered = from(alice, 2);
    ordered.group = true;
    ordered.ordered = true;
    inbox.push(group);
    inbox.push(ordered);
    inbox.push(from(alice, 3));
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(inbox.take({})->report);
    EXPECT_TRUE(inbox.report_due_idle());  // Group takes unreported: report before sleeping.
    inbox.begin_report();
    EXPECT_EQ(inbox.take_consumed(), 1u);  // Only the direct message.
    EXPECT_EQ(inbox.take_group_consumed(), 1u);
    EXPECT_EQ(inbox.take_ordered_consumed(), 1u);
    EXPECT_FALSE(inbox.report_due_idle());
    bool due = false;
    for (std::uint32_t i = 0; i < ProcessState::group_report_batch; ++i) {
        inbox.push(group);
        due = inbox.take({})->report;
    }
    EXPECT_TRUE(due);  // The batch's last take posts.
    EXPECT_EQ(inbox.take_group_consumed(), ProcessState::group_report_batch);
}

// SendRing (a process's sends to the loop): the wake-up protocol and the bound.
SendCommand command_number(std::uint64_t n) {
    return SendCommand{Message{self, alice, n, 0, {}}, {}, {}};
}

std::vector<std::uint64_t> drain_all(SendRing& ring) {
    std::vector<std::uint64_t> taken;
    ring.drain(ring.capacity(), [&](SendCommand& c) { taken.push_back(c.message.seq); });
    return taken;
}

TEST(SendRing, OnlyThePushThatFindsTheConsumerAsleepWakesIt) {
    SendRing ring(4);
    auto c = command_number(1);
    EXPECT_EQ(ring.push(c), SendRing::Push::wake);  // A new ring sleeps.
    c = command_number(2);
    EXPECT_EQ(ring.push(c), SendRing::Push::queued);
    EXPECT_EQ(drain_all(ring), (std::vector<std::uint64_t>{1, 2}));
    c = command_number(3);
    EXPECT_EQ(ring.push(c), SendRing::Push::queued);  // Drained but not asleep: no wake.
    EXPECT_FALSE(ring.sleep());                       // 3 arrived after the drain.
    EXPECT_EQ(drain_all(ring), (std::vector<std::uint64_t>{3}));
    EXPECT_TRUE(ring.sleep());
    c = command_number(4);
    EXPECT_EQ(ring.push(c), SendRing::Push::wake);
}

TEST(SendRing, AFullRingRefusesAndLeavesTheCommandWithTheCaller) {
    SendRing ring(4);
    for (std::uint64_t n = 1; n <= 4; ++n) {
        auto c = command_number(n);
        EXPECT_NE(ring.push(c), SendRing::Push::full);
    }
    auto fifth = command_number(5);
    EXPECT_EQ(ring.push(fifth), SendRing::Push::full);
    EXPECT_EQ(fifth.message.seq, 5u);
    EXPECT_EQ(drain_all(ring), (std::vector<std::uint64_t>{1, 2, 3, 4}));
    EXPECT_EQ(ring.push(fifth), SendRing::Push::queued);  // Room again.
}

TEST(SendRing, RetractTakesTheWakingCommandBackAndTheRingSleepsAgain) {
    SendRing ring(4);
    auto c = command_number(7);
    ASSERT_EQ(ring.push(c), SendRing::Push::wake);
    EXPECT_EQ(ring.retract().message.seq, 7u);
    EXPECT_TRUE(drain_all(ring).empty());
    c = command_number(8);
    EXPECT_EQ(ring.push(c), SendRing::Push::wake);  // Still asleep: the next push wakes.
}

// A producer thread and a consumer that sleeps whenever the ring is empty and waits for the
// producer's wake: every command arrives once, in order, and the consumer is never left asleep
// with commands in the ring (it would wait forever; the test gives up after 10 s).
TEST(SendRing, AProducerAndASleepingConsumerLoseNothing) {
    constexpr std::uint64_t count = 50000;
    SendRing ring(64);
    std::atomic<int> wakes{0};
    std::thread producer([&] {
        for (std::uint64_t n = 0; n < count;) {
            auto c = command_number(n);
            const auto pushed = ring.push(c);
            if (pushed == SendRing::Push::full) {
                std::this_thread::yield();
                continue;
            }
            if (pushed == SendRing::Push::wake) wakes.fetch_add(1, std::memory_order_release);
            ++n;
        }
    });
    std::uint64_t next = 0;
    int woken = 1;  // The first push wakes a new ring.
    while (next < count) {
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (wakes.load(std::memory_order_acquire) < woken) {
            // Asleep with commands in the ring and nobody to wake it: the protocol is broken.
            ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "never woken, at " << next;
            std::this_thread::yield();
        }
        ring.drain(ring.capacity(), [&](SendCommand& c) { ASSERT_EQ(c.message.seq, next++); });
        if (ring.sleep()) ++woken;  // Asleep: wait for the push that wakes it.
    }
    producer.join();
    EXPECT_EQ(wakes.load(), woken - 1);  // One wake per sleep, none more.
}

// A ring starts small and grows once its producer overran it, only while it is empty; the
// commands keep their order across the growth. Fails when grow_if_wanted replaces a ring that
// holds commands (they would be lost) or never grows.
TEST(SendRing, GrowsOnlyWhenItsProducerOverranItAndOnlyWhenEmpty) {
    SendRing ring(4, 16);
    std::uint64_t n = 1;
    for (; n <= 2; ++n) {
        auto c = command_number(n);
        ASSERT_NE(ring.push(c), SendRing::Push::full);
    }
    EXPECT_EQ(drain_all(ring), (std::vector<std::uint64_t>{1, 2}));
    EXPECT_FALSE(ring.grow_if_wanted());  // Never full: stays small.
    EXPECT_EQ(ring.capacity(), 4u);
    for (; n <= 6; ++n) {
        auto c = command_number(n);
        ASSERT_NE(ring.push(c), SendRing::Push::full);
    }
    auto overrun = command_number(7);
    EXPECT_EQ(ring.push(overrun), SendRing::Push::full);
    std::vector<std::uint64_t> taken;
    ring.drain(2, [&](SendCommand& c) { taken.push_back(c.message.seq); });
    EXPECT_FALSE(ring.grow_if_wanted());  // Not empty: 5 and 6 are still in it.
    EXPECT_EQ(ring.capacity(), 4u);
    for (std::uint64_t seq : drain_all(ring)) taken.push_back(seq);
    EXPECT_EQ(taken, (std::vector<std::uint64_t>{3, 4, 5, 6}));
    EXPECT_TRUE(ring.grow_if_wanted());
    EXPECT_EQ(ring.capacity(), 16u);
    EXPECT_FALSE(ring.grow_if_wanted());  // At its largest.
    std::vector<std::uint64_t> expected;
    for (n = 7; n < 7 + 16; ++n) {
        auto c = command_number(n);
        ASSERT_NE(ring.push(c), SendRing::Push::full) << n;
        expected.push_back(n);
    }
    EXPECT_EQ(drain_all(ring), expected);
}

// The same with a producer thread (taking the producer lock, as Node::send_async does) while
// the consumer drains, grows and sleeps: every command once, in order (TSan checks the slots'
// replacement against the producer).
TEST(SendRing, GrowingWhileAProducerPushesLosesNothing) {
    constexpr std::uint64_t count = 50000;
    SendRing ring(4, 64);
    std::atomic<int> wakes{0};
    std::thread producer([&] {
        for (std::uint64_t n = 0; n < count;) {
            auto c = command_number(n);
            ring.lock_producer();
            const auto pushed = ring.push(c);
            ring.unlock_producer();
            if (pushed == SendRing::Push::full) {
                std::this_thread::yield();
                continue;
            }
            if (pushed == SendRing::Push::wake) wakes.fetch_add(1, std::memory_order_release);
            ++n;
        }
    });
    std::uint64_t next = 0;
    int woken = 1;
    bool grew = false;
    while (next < count) {
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (wakes.load(std::memory_order_acquire) < woken) {
            ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "never woken, at " << next;
            std::this_thread::yield();
        }
        ring.drain(ring.capacity(), [&](SendCommand& c) { ASSERT_EQ(c.message.seq, next++); });
        grew = ring.grow_if_wanted() || grew;
        if (ring.sleep()) ++woken;
    }
    producer.join();
    EXPECT_TRUE(grew || ring.capacity() == 64u);
}

}  // namespace
}  // namespace herald::runtime

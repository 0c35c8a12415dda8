// Randomized test: two engines joined by a seeded in-memory link that loses (20%), duplicates
// (5%) and reorders packets. Property: every message is delivered exactly once, in send order
// per (source, target) channel, and every send completes successfully once the link works.
#include <gtest/gtest.h>

#include <map>
#include <queue>

#include "direct_harness.h"

namespace herald::proto::direct::testing {
namespace {

struct Scheduled {
    Time at;
    std::uint64_t order;
    InFlight packet;
    bool operator>(const Scheduled& o) const { return at != o.at ? at > o.at : order > o.order; }
};

class LossyLink {
public:
    explicit LossyLink(std::uint64_t seed) : random_(seed) {}

    // Takes the packets `net` collected and schedules them with loss, duplication, delay.
    void take(Net& net) {
        while (!net.wire.empty()) {
            InFlight p = std::move(net.wire.front());
            net.wire.pop_front();
            if (random_.chance(0.20)) continue;
            const int copies = random_.chance(0.05) ? 2 : 1;
            for (int i = 0; i < copies; ++i) {
                const Time at = net.now + Duration::microseconds(
                                              100 + static_cast<std::int64_t>(random_.below(5000)));
                queue_.push({at, order_++, p});
            }
        }
    }
    // Delivers every packet due by `until`.
    void run(Net& net, Time until) {
        while (!queue_.empty() && queue_.top().at <= until) {
            Scheduled s = queue_.top();
            queue_.pop();
            net.advance_to(s.at);
            Host& target = net.host(s.packet.to);
            target.engine->on_packet(s.packet.from, s.packet.packet, net.now, target.out);
            net.collect(target);
            take(net);
        }
    }

private:
    Random random_;
    std::priority_queue<Scheduled, std::vector<Scheduled>, std::greater<>> queue_;
    std::uint64_t order_ = 0;
};

void run_seed(std::uint64_t seed) {
    Net net;
    Host& a = net.add(1, 11, {}, seed * 3 + 1);
    Host& b = net.add(2, 22, {}, seed * 3 + 2);
    const Pid p1{NodeId{1}, 5}, p2{NodeId{1}, 6}, q{NodeId{2}, 7};
    net.spawn(a, 5);
    net.spawn(a, 6);
    net.spawn(b, 7, buffering(Buffering::multiple, 16));  // Small queue: credit matters.
    LossyLink link(seed);
    Random workload(seed + 99);
    constexpr int messages = 1000;
    std::map<Pid, std::uint64_t> sent_count;
    OperationId op = 1;
    for (int i = 0; i < messages; ++i) {
        const int who = static_cast<int>(workload.below(3));
        Host& from_host = who == 2 ? b : a;
        const Pid from = who == 0 ? p1 : who == 1 ? p2 : q;
        const Pid to = who == 2 ? p1 : q;
        const std::string body = to_string(from) + ">" + std::to_string(sent_count[from]++);
        net.send(from_host, op++, from, to, body, mode(SendMode::nonblocking, OnFull::buffer));
        link.take(net);
        link.run(net, net.now + Duration::microseconds(300));
        // The receivers read what arrived (q slowly, so that credit runs out sometimes).
        if (workload.chance(0.5)) net.consume(b, q, b.engine->queued(q));
        net.consume(a, p1, a.engine->queued(p1));
        link.take(net);
    }
    for (int round = 0; round < 400; ++round) {
        net.consume(b, q, b.engine->queued(q));
        net.consume(a, p1, a.engine->queued(p1));
        link.take(net);
        link.run(net, net.now + Duration::milliseconds(10));
        net.advance(Duration::milliseconds(10));
        link.take(net);
    }
    // Exactly once and in order per channel.
    std::map<Pid, std::uint64_t> next;
    std::size_t total = 0;
    for (Host* h : {&a, &b}) {
        for (const Message& m : h->delivered) {
            const std::string expected =
                to_string(m.source) + ">" + std::to_string(next[m.source]++);
            ASSERT_EQ(as_text(m.body), expected) << "seed " << seed;
            ++total;
        }
    }
    EXPECT_EQ(total, static_cast<std::size_t>(messages)) << "seed " << seed;
    for (OperationId o = 1; o < op; ++o) {
        ASSERT_TRUE(a.ok(o) || b.ok(o)) << "seed " << seed << " op " << o;
    }
    EXPECT_GT(a.engine->counters().retransmits + b.engine->counters().retransmits, 0u);
    EXPECT_GT(a.engine->counters().duplicates_dropped + b.engine->counters().duplicates_dropped,
              0u);
}

TEST(DirectRandom, LossyDuplicatingReorderingLinkDeliversExactlyOnceInOrder) {
    for (std::uint64_t seed = 1; seed <= 3; ++seed) run_seed(seed);
}

// The receiver keeps one receive posted whenever its queue is empty, as a process blocked in
// receive() does; every delivery ends the posted receive.
struct Receiver {
    void step(Net& net, Host& host) {
        const std::uint32_t queued = host.engine->queued(pid);
        if (host.delivered.size() != seen) {
            seen = host.delivered.size();
            posted = false;
        }
        if (queued > 0) net.consume(host, pid, queued);
        if (!posted) {
            net.post(host, pid);
            posted = true;
        }
    }
    Pid pid;
    std::size_t seen = 0;
    bool posted = false;
};

// Property: with no buffer at the receiver (send-after-receive, send-discard-retry), blocking
// senders still get every message through exactly once and in order over the lossy link.
void run_unbuffered(std::uint64_t seed, Buffering strategy) {
    Net net;
    Host& a = net.add(1, 11, {}, seed * 5 + 1);
    Host& b = net.add(2, 22, {}, seed * 5 + 2);
    const Pid p1{NodeId{1}, 5}, p2{NodeId{1}, 6}, q{NodeId{2}, 7};
    net.spawn(a, 5);
    net.spawn(a, 6);
    net.spawn(b, 7, buffering(strategy));
    LossyLink link(seed);
    Receiver receiver{q};
    constexpr int messages = 100;
    std::map<Pid, std::uint64_t> sent_count;
    for (int i = 0; i < messages; ++i) {
        const Pid from = i % 2 == 0 ? p1 : p2;
        const std::string body = to_string(from) + ">" + std::to_string(sent_count[from]++);
        net.send(a, static_cast<OperationId>(i + 1), from, q, body, mode(SendMode::delivered));
        link.take(net);
    }
    for (int round = 0; round < 30'000 && a.completions.size() < messages; ++round) {
        receiver.step(net, b);
        link.take(net);
        link.run(net, net.now + Duration::milliseconds(2));
        net.advance(Duration::milliseconds(2));
        link.take(net);
    }
    std::map<Pid, std::uint64_t> next;
    for (const Message& m : b.delivered) {
        ASSERT_EQ(as_text(m.body), to_string(m.source) + ">" + std::to_string(next[m.source]++))
            << "seed " << seed;
    }
    EXPECT_EQ(b.delivered.size(), static_cast<std::size_t>(messages)) << "seed " << seed;
    for (OperationId o = 1; o <= messages; ++o) EXPECT_TRUE(a.ok(o)) << "seed " << seed;
}

TEST(DirectRandom, SendAfterReceiveOverALossyLinkDeliversExactlyOnceInOrder) {
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
        run_unbuffered(seed, Buffering::send_after_receive);
    }
}

TEST(DirectRandom, SendDiscardRetryOverALossyLinkDeliversExactlyOnceInOrder) {
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
        run_unbuffered(seed, Buffering::send_discard_retry);
    }
}

}  // namespace
}  // namespace herald::proto::direct::testing

// Ordered multicast through the public API (Process::ordered_multicast, docs/ordering.md) on
// three real nodes in one OS process over loopback UDP: S hosts the group server and a member,
// A and B one member each. Properties: sequencer and abcast, three concurrent senders: every
// member receives the same sequence, each message once (total-order agreement); fifo per
// sender in every mode; cbcast: a reply to a received message comes after its cause at every
// member; absolute, the same agreement. Plus the order in views, and ordered_multicast's
// errors. No faults.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/sanitizers.h"
#include "group_test_support.h"
#include "herald/herald.h"
#include "node_test_support.h"

namespace herald::testing {
namespace {

using namespace std::chrono_literals;

constexpr int messages_per_sender = 40;

class GroupOrderTest : public ThreeGroupNodes {
protected:
    // Creates `name` with `order`, one member on each node, and waits until each member's
    // ordering view is the one with all three (view 4 of a new name: views 2 and 3 were
    // flushed first; a name made again starts above its deleted group's final view).
    void start_group(const std::string& name, Order order) {
        auto created = a->create_group(name, order);
        ASSERT_TRUE(created) << created.error().to_string();
        EXPECT_EQ(created->order, order);
        const std::uint64_t all = created->id + 3;
        members.push_back(spawn(*s));
        members.push_back(spawn(*a));
        members.push_back(spawn(*b));
        for (Process& p : members) ASSERT_TRUE(p.join_group(name));
        for (Process& p : members) {
            ASSERT_TRUE(eventually([&] {
                auto v = p.ordered_view(name);
                return v && v->id == all && v->members.size() == 3;
            })) << "no ordering view "
                << all << " at " << to_string(p.pid());
        }
    }

    // Three concurrent senders; every member gets the same sequence (defined below).
    void total_order_agreement(Order order);

    std::vector<Process> members;
};

struct Received {
    Pid sender;
    std::string text;
    bool operator==(const Received&) const = default;
};

// The next `count` ordered messages of `p` (group views and direct messages skipped).
std::vector<Received> receive_ordered(Process& p, std::size_t count) {
    std::vector<Received> out;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
        auto envelope = p.receive(1s);
        if (!envelope || !envelope->ordered) continue;
        auto m = decode_group_message(*envelope);
        EXPECT_TRUE(m) << m.error().to_string();
        if (!m) continue;
        EXPECT_TRUE(m->ordered);
        EXPECT_EQ(m->kind, GroupMessage::Kind::data);
        out.push_back({m->sender, std::string(m->text())});
    }
    return out;
}

// Every member multicasts messages_per_sender messages at once, from its own thread.
void send_concurrently(std::vector<Process>& senders, const std::string& name) {
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < senders.size(); ++i) {
        threads.emplace_back([&senders, &name, i] {
            for (int k = 0; k < messages_per_sender; ++k) {
                const std::string text = std::to_string(i) + "-" + std::to_string(k);
                auto sent = senders[i].ordered_multicast(name, text, 5s);
                EXPECT_TRUE(sent) << text << ": " << sent.error().to_string();
            }
        });
    }
    for (auto& t : threads) t.join();
}

// Each message once, and each sender's messages in the order it sent them.
void expect_once_and_fifo(const std::vector<Received>& got, std::size_t senders) {
    std::set<std::string> seen;
    std::map<std::string, int> next;  // Per sender prefix: the next k expected.
    for (const auto& r : got) {
        EXPECT_TRUE(seen.insert(r.text).second) << "twice: " << r.text;
        const auto dash = r.text.find('-');
        const std::string who = r.text.substr(0, dash);
        EXPECT_EQ(std::stoi(r.text.substr(dash + 1)), next[who]++) << "not fifo: " << r.text;
    }
    EXPECT_EQ(seen.size(), senders * messages_per_sender);
}

// Every one of `members` receives the messages of `senders` senders, each once and FIFO per
// sender, all in one sequence (total order).
void expect_one_sequence(std::vector<Process>& members, std::size_t senders) {
    std::vector<std::vector<Received>> sequences;
    for (Process& p : members) {
        sequences.push_back(receive_ordered(p, senders * messages_per_sender));
        expect_once_and_fifo(sequences.back(), senders);
    }
    for (std::size_t i = 1; i < sequences.size(); ++i) {
        EXPECT_EQ(sequences[0], sequences[i]) << "members 0 and " << i << " disagree";
    }
}

void GroupOrderTest::total_order_agreement(Order order) {
    start_group("total", order);
    if (HasFatalFailure()) return;
    send_concurrently(members, "total");
    expect_one_sequence(members, 3);
}

TEST_F(GroupOrderTest, SequencerGivesEveryMemberTheSameSequenceOfConcurrentSenders) {
    total_order_agreement(Order::sequencer);
}

TEST_F(GroupOrderTest, AbcastGivesEveryMemberTheSameSequenceOfConcurrentSenders) {
    total_order_agreement(Order::abcast);
}

// The three nodes share one host's monotonic clock: skew 0, within the bound (O26).
TEST_F(GroupOrderTest, AbsoluteGivesEveryMemberTheSameSequenceOfConcurrentSenders) {
    total_order_agreement(Order::absolute);
}

// A view change in the middle of the traffic: B leaves while S and A send. The survivors
// flush the old view and then go on in the new one; both deliver all 2 x N messages (senders
// that did not crash, O33), once each, in one order.
TEST_F(GroupOrderTest, SequencerSurvivorsAgreeWhenAMemberLeavesMidStream) {
    start_group("total", Order::sequencer);
    if (HasFatalFailure()) return;
    std::vector<Process> senders;
    senders.push_back(std::move(members[0]));
    senders.push_back(std::move(members[1]));
    std::thread leaver([&] {
        while (auto envelope = members[2].receive(5s)) {
            if (!envelope->ordered) continue;             // Group views.
            auto left = members[2].leave_group("total");  // After its first message came.
            EXPECT_TRUE(left) << left.error().to_string();
            return;
        }
        ADD_FAILURE() << "B received no ordered message";
    });
    send_concurrently(senders, "total");
    leaver.join();
    expect_one_sequence(senders, 2);
    for (Process& p : senders) {
        EXPECT_TRUE(eventually([&] {
            auto v = p.ordered_view("total");
            return v && v->id == 5 && v->members.size() == 2;
        }));
    }
}

TEST_F(GroupOrderTest, FifoDeliversEachSendersMessagesInSendOrderOnce) {
    start_group("fifo", Order::fifo);
    if (HasFatalFailure()) return;
    send_concurrently(members, "fifo");
    for (Process& p : members) expect_once_and_fifo(receive_ordered(p, 3 * messages_per_sender), 3);
}

// Process::ordered_multicast_many: three senders at once, each sending its 40 messages in
// batches of up to 16 (taking the rest again after a partial batch); the sequencer's order
// is the same at every member, each sender's messages once and in order. Empty and oversized
// batches are invalid_argument; a non-member's batch not_found.
TEST_F(GroupOrderTest, BatchesOfOrderedMulticastsKeepTheGroupsOrder) {
    start_group("batch", Order::sequencer);
    if (HasFatalFailure()) return;
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < members.size(); ++i) {
        threads.emplace_back([this, i] {
            std::vector<std::string> texts;
            for (int k = 0; k < messages_per_sender; ++k) {
                texts.push_back(std::to_string(i) + "-" + std::to_string(k));
            }
            std::size_t next = 0;
            while (next < texts.size()) {
                std::vector<ByteView> batch;
                for (std::size_t k = next; k < texts.size() && batch.size() < 16; ++k) {
                    batch.emplace_back(reinterpret_cast<const std::uint8_t*>(texts[k].data()),
                                       texts[k].size());
                }
                auto sent = members[i].ordered_multicast_many("batch", batch, 5s);
                ASSERT_TRUE(sent) << sent.error().to_string();
                ASSERT_GE(*sent, 1u);
                ASSERT_LE(*sent, batch.size());
                next += *sent;
            }
        });
    }
    for (auto& t : threads) t.join();
    expect_one_sequence(members, 3);
    const std::vector<ByteView> none;
    EXPECT_EQ(members[0].ordered_multicast_many("batch", none).error().code,
              Errc::invalid_argument);
    const std::uint8_t byte = 1;
    const std::vector<ByteView> too_many(Process::ordered_batch_max + 1, ByteView(&byte, 1));
    EXPECT_EQ(members[0].ordered_multicast_many("batch", too_many).error().code,
              Errc::invalid_argument);
    Process outsider = spawn(*a);
    const std::vector<ByteView> one(1, ByteView(&byte, 1));
    EXPECT_EQ(outsider.ordered_multicast_many("batch", one, 100ms).error().code, Errc::not_found);
}

// docs/groups.md G21 with ordering: deleting a group drops its ordering state on every member
// node, so the name can be created again (views from 1, another order) and its new members'
// ordered multicasts are delivered; the old members have no ordering view any more.
TEST_F(GroupOrderTest, DeletedOrderedGroupCanBeCreatedAgainWithAnotherOrder) {
    start_group("ledger", Order::abcast);
    if (HasFatalFailure()) return;
    ASSERT_TRUE(members[0].ordered_multicast("ledger", "before", 5s));
    for (Process& p : members) {
        EXPECT_EQ(receive_ordered(p, 1), (std::vector<Received>{{members[0].pid(), "before"}}));
    }
    auto deleted = b->delete_group("ledger");
    ASSERT_TRUE(deleted) << deleted.error().to_string();
    std::vector<Process> old = std::move(members);
    members.clear();
    for (Process& p : old) {
        EXPECT_TRUE(eventually([&] { return !p.ordered_view("ledger"); }))
            << to_string(p.pid()) << " still has an ordering view";
    }
    start_group("ledger", Order::fifo);  // Three new members; views 6 to 9.
    if (HasFatalFailure()) return;
    ASSERT_TRUE(members[1].ordered_multicast("ledger", "after", 5s));
    for (Process& p : members) {
        EXPECT_EQ(receive_ordered(p, 1), (std::vector<Received>{{members[1].pid(), "after"}}));
    }
}

// A asks, B answers once it received the question, S talks meanwhile: at every member the
// answer comes after the question (the lecture's causal order, O11).
TEST_F(GroupOrderTest, CbcastDeliversAReplyAfterItsCauseAtEveryMember) {
    start_group("causal", Order::cbcast);
    if (HasFatalFailure()) return;
    std::thread noise([&] {
        for (int k = 0; k < 10; ++k) EXPECT_TRUE(members[0].ordered_multicast("causal", "noise"));
    });
    ASSERT_TRUE(members[1].ordered_multicast("causal", "question"));
    std::vector<Received> at_b;
    while (std::none_of(at_b.begin(), at_b.end(),
                        [](const Received& r) { return r.text == "question"; })) {
        auto one = receive_ordered(members[2], 1);
        ASSERT_EQ(one.size(), 1u) << "B never received the question";
        at_b.push_back(one[0]);
    }
    ASSERT_TRUE(members[2].ordered_multicast("causal", "answer"));
    noise.join();
    for (std::size_t i = 0; i < members.size(); ++i) {
        std::vector<Received> got = i == 2 ? at_b : std::vector<Received>{};
        const auto rest = receive_ordered(members[i], 12 - got.size());
        got.insert(got.end(), rest.begin(), rest.end());
        ASSERT_EQ(got.size(), 12u) << "member " << i;
        const auto at = [&](const std::string& text) {
            return std::find_if(got.begin(), got.end(),
                                [&](const Received& r) { return r.text == text; }) -
                   got.begin();
        };
        EXPECT_LT(at("question"), at("answer")) << "member " << i;
        EXPECT_EQ(got[static_cast<std::size_t>(at("answer"))].sender, members[2].pid());
    }
}

TEST_F(GroupOrderTest, ViewsShowTheOrderAndOrderedMulticastRefusesNonMembers) {
    ASSERT_TRUE(a->create_group("agreed", false, Order::abcast));
    auto viewed = b->group_view("agreed");
    ASSERT_TRUE(viewed) << viewed.error().to_string();
    EXPECT_EQ(viewed->order, Order::abcast);
    auto plain = a->create_group("plain");
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->order, Order::fifo);  // The default.
    Process outsider = spawn(*a);
    auto refused = outsider.ordered_multicast("agreed", "x", 5s);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::not_found);
    auto no_view = outsider.ordered_view("agreed");
    ASSERT_FALSE(no_view);
    EXPECT_EQ(no_view.error().code, Errc::not_found);
    auto bad = a->create_group("bad", false, static_cast<Order>(9));
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::invalid_argument);
    auto zero = outsider.ordered_multicast("agreed", "x", 0s);
    ASSERT_FALSE(zero);
    EXPECT_EQ(zero.error().code, Errc::invalid_argument);
    EXPECT_EQ(parse_order("cbcast").value(), Order::cbcast);
    EXPECT_EQ(order_name(Order::absolute), "absolute");
    EXPECT_FALSE(parse_order("total"));
}

// An ordered multicast's hop to the loop (NodeOrderService::hop) answers closed, at once, once
// the node stopped, for one message and for a batch; before, it delivers.
TEST_F(GroupOrderTest, OrderedMulticastOnAStoppedNodeFailsClosedWithoutHanging) {
    start_group("stopped", Order::sequencer);
    ASSERT_TRUE(members[1].ordered_multicast("stopped", "before", 5s));
    for (Process& p : members) {
        auto got = receive_ordered(p, 1);
        ASSERT_EQ(got.size(), 1u);
        EXPECT_EQ(got[0].text, "before");
    }
    a->stop();
    const auto start = std::chrono::steady_clock::now();
    auto one = members[1].ordered_multicast("stopped", "after", 5s);
    ASSERT_FALSE(one);
    EXPECT_EQ(one.error().code, Errc::closed);
    const std::string text = "after";
    const std::vector<ByteView> batch{
        ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size())};
    auto many = members[1].ordered_multicast_many("stopped", batch, 5s);
    ASSERT_FALSE(many);
    EXPECT_EQ(many.error().code, Errc::closed);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

// GroupNodeOptions::order reaches the ordering engine: with members_max = 1 a node's engine
// refuses the view of a two-member group (O1, views_refused), so the member that joined second
// gets no ordering view and its ordered_multicast times out; with the default both members
// get the two-member view. Values against
// OrderNodeOptions' rules are refused at start, naming groups.order.
TEST(GroupOrderOptions, OrderOptionsReachTheEngineAndBadOnesAreRefused) {
    for (const std::uint32_t members_max : {1u, 64u}) {
        TempDir dir;
        NodeOptions o;
        o.data_dir = dir.path();
        o.groups.server = true;
        o.groups.order.members_max = members_max;
        auto node = start_node(o);
        ASSERT_TRUE(node);
        ASSERT_TRUE(node->create_group("small", Order::fifo));
        Process first = spawn(*node);
        Process second = spawn(*node);
        ASSERT_TRUE(first.join_group("small"));
        ASSERT_TRUE(second.join_group("small"));
        const bool both = eventually(
            [&] {
                auto v = first.ordered_view("small");
                return v && v->members.size() == 2;
            },
            members_max == 1 ? 300ms : 5000ms);
        EXPECT_EQ(both, members_max >= 2) << members_max;
        if (members_max == 1) {
            // The first member keeps the one-member view it installed; the second has none.
            auto sent = second.ordered_multicast("small", "x", 200ms);
            ASSERT_FALSE(sent);
            EXPECT_EQ(sent.error().code, Errc::timeout);
        }
    }
    const auto refused = [](void (*change)(OrderNodeOptions&)) {
        NodeOptions o;
        change(o.groups.order);
        auto node = Node::start(o);
        EXPECT_FALSE(node);
        if (node) return std::string();
        EXPECT_EQ(node.error().code, Errc::invalid_argument);
        return node.error().detail;
    };
    const std::vector<void (*)(OrderNodeOptions&)> changes{
        [](OrderNodeOptions& o) { o.retransmit_interval = 0ms; },
        [](OrderNodeOptions& o) { o.tick = o.retransmit_interval + 1ms; },
        [](OrderNodeOptions& o) { o.skew_bound = -1ms; },
        [](OrderNodeOptions& o) { o.null_interval_min = o.tick + 1ms; },
        [](OrderNodeOptions& o) { o.members_max = 0; },
        [](OrderNodeOptions& o) { o.send_window_max = o.retained_max + 1; },
    };
    for (auto change : changes) {
        EXPECT_NE(refused(change).find("groups.order"), std::string::npos);
    }
}

// GroupNodeOptions::member_queue_max reaches the group engine (docs/groups.md G25): with 3, a
// member that takes nothing holds its view and 2 of 10 reliability-0 multicasts; the other 8
// are counted dropped. 0 is refused at start.
TEST(GroupFlowOptions, MemberQueueMaxReachesTheEngineAndZeroIsRefused) {
    TempDir dir;
    NodeOptions o;
    o.data_dir = dir.path();
    o.groups.server = true;
    o.groups.member_queue_max = 3;
    auto node = start_node(o);
    ASSERT_TRUE(node);
    ASSERT_TRUE(node->create_group("tiny"));
    Process member = spawn(*node);
    ASSERT_TRUE(member.join_group("tiny"));
    ASSERT_TRUE(eventually([&] { return member.queued() == 1; }));  // Its view.
    Process sender = spawn(*node);
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(sender.multicast("tiny", "x", Reliability::none(), 1s));
    }
    EXPECT_TRUE(eventually([&] { return node->stats().group_credit_dropped == 8; }))
        << node->stats().group_credit_dropped;
    EXPECT_EQ(member.queued(), 3u);
    NodeOptions zero;
    zero.groups.member_queue_max = 0;
    auto refused = Node::start(zero);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::invalid_argument);
    EXPECT_NE(refused.error().detail.find("member_queue_max"), std::string::npos);
}

// Atomic multicast through Process::multicast (docs/groups.md G23): atomic and ft-atomic
// messages reach all three members as ordered messages marked with the view they went in, the
// result names that view; an atomic send with a reliability, an unknown atomicity, or from a
// non-member is refused; ft-atomic receivers relay (NodeStats).
TEST_F(GroupOrderTest, AtomicMulticastReachesEveryMemberWithItsViewId) {
    start_group("atomic", Order::sequencer);
    const std::uint64_t view = members[0].ordered_view("atomic")->id;
    auto sent = members[0].multicast("atomic", "one", Reliability::none(), 5s, Atomicity::atomic);
    ASSERT_TRUE(sent) << sent.error().to_string();
    EXPECT_EQ(sent->view_id, view);
    EXPECT_TRUE(sent->responders.empty());
    sent = members[1].multicast("atomic", "two", Reliability::none(), 5s,
                                Atomicity::fault_tolerant_atomic);
    ASSERT_TRUE(sent) << sent.error().to_string();
    std::vector<std::vector<std::string>> sequences;  // Per member, in delivery order.
    for (Process& p : members) {
        std::vector<std::string> texts;
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (texts.size() < 2 && std::chrono::steady_clock::now() < deadline) {
            auto envelope = p.receive(1s);
            if (!envelope || !envelope->ordered) continue;
            auto m = decode_group_message(*envelope);
            ASSERT_TRUE(m) << m.error().to_string();
            EXPECT_EQ(m->view_id, view);
            texts.emplace_back(m->text());
        }
        sequences.push_back(texts);
        std::sort(texts.begin(), texts.end());
        EXPECT_EQ(texts, (std::vector<std::string>{"one", "two"})) << to_string(p.pid());
    }
    EXPECT_EQ(sequences[0], sequences[1]);  // Sequencer order: one sequence for all.
    EXPECT_EQ(sequences[0], sequences[2]);
    // "two" from A's member reached S's and B's members: the one that got it first from A
    // relayed it to the other (which relays nothing if the relay came first: O36 skips the
    // origin and the member a copy came from). A, the origin, never relays its own.
    ASSERT_TRUE(eventually(
        [&] { return s->stats().ordered_relays_sent + b->stats().ordered_relays_sent >= 1; }));
    EXPECT_EQ(a->stats().ordered_relays_sent, 0u);
    auto reliable = members[0].multicast("atomic", "x", Reliability::all(), 5s, Atomicity::atomic);
    ASSERT_FALSE(reliable);
    EXPECT_EQ(reliable.error().code, Errc::invalid_argument);
    auto unknown =
        members[0].multicast("atomic", "x", Reliability::none(), 5s, static_cast<Atomicity>(7));
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().code, Errc::invalid_argument);
    Process outsider = spawn(*a);
    auto refused = outsider.multicast("atomic", "x", Reliability::none(), 5s, Atomicity::atomic);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::not_found);
    EXPECT_EQ(parse_atomicity("ft-atomic").value(), Atomicity::fault_tolerant_atomic);
    EXPECT_EQ(atomicity_name(Atomicity::atomic), "atomic");
    EXPECT_FALSE(parse_atomicity("all"));
}

// Sanitizers slow the loop down several times: the flow-control test then streams fewer.
constexpr bool sanitized = built_with_sanitizer;

// The ordered messages `p` has queued now, taken without waiting (views skipped).
std::size_t take_queued(Process& p) {
    std::size_t n = 0;
    for (auto e = p.try_receive(); e; e = p.try_receive()) n += e->ordered ? 1u : 0u;
    return n;
}

// Flow control (docs/ordering.md O37): B's member takes nothing while A's multicasts a long
// FIFO stream (S's member takes as it comes). B's inbox stops at the member's credit
// (member_queue_max, 1024, plus a few views), A is pushed back (its multicasts wait: at most
// the send window beyond what B took), and once B drains it gets every message exactly once,
// in order. Fails with the credit checks of the ordering engine removed (B's inbox grows to the
// whole stream) or with consumption reported to the direct engine only (A stays pushed back).
TEST_F(GroupOrderTest, SlowMemberBoundsItsInboxPushesTheSenderBackAndGetsEverythingInOrder) {
    start_group("flow", Order::fifo);
    if (HasFatalFailure()) return;
    const int total = sanitized ? 5'000 : 100'000;
    constexpr std::size_t credit = 1024;
    std::atomic<int> sent{0};
    std::thread sender([&] {
        for (int k = 0; k < total; ++k) {
            auto ok = members[1].ordered_multicast("flow", std::to_string(k), 60s);
            ASSERT_TRUE(ok) << k << ": " << ok.error().to_string();
            sent.store(k + 1);
            take_queued(members[1]);  // Its own messages come back to it too.
        }
    });
    std::thread fast([&] {
        for (int got = 0; got < total;) {
            auto e = members[0].receive(30s);
            ASSERT_TRUE(e) << "S's member got " << got << ": " << e.error().to_string();
            got += e->ordered ? 1 : 0;
        }
    });
    Process& slow = members[2];
    ASSERT_TRUE(eventually([&] { return slow.queued() >= credit; }, 30s)) << slow.queued();
    ASSERT_TRUE(eventually([&] { return b->stats().ordered_credit_stalls >= 1; }));
    for (int i = 0; i < 10; ++i) {  // Pushed back: the sender stays within the window.
        EXPECT_LE(slow.queued(), credit + 8);
        EXPECT_LE(sent.load(), static_cast<int>(credit) + 2 * 64) << "not pushed back";
        std::this_thread::sleep_for(20ms);  // Sampling an upper bound, not waiting for an event.
    }
    EXPECT_GT(b->stats().ordered_credit_dropped, 0u);
    int next = 0;
    std::size_t queued_max = 0;
    while (next < total) {
        queued_max = std::max(queued_max, slow.queued());
        auto e = slow.receive(30s);
        ASSERT_TRUE(e) << "B's member got " << next << ": " << e.error().to_string();
        if (!e->ordered) continue;
        auto m = decode_group_message(*e);
        ASSERT_TRUE(m) << m.error().to_string();
        ASSERT_EQ(m->text(), std::to_string(next)) << "not in order, or twice, or lost";
        ++next;
    }
    sender.join();
    fast.join();
    EXPECT_LE(queued_max, credit + 8);
    EXPECT_EQ(take_queued(slow), 0u);  // Nothing more: each message exactly once.
}

// Fragmentation under groups (issue 15 item 5): a 1 MiB body (the largest allowed) goes as a
// multicast with reliability all and as an ordered FIFO multicast, reassembled whole at every
// member.
TEST_F(GroupOrderTest, OneMebibyteMulticastsArriveWholeFifoAndOrdered) {
    start_group("big", Order::fifo);
    if (HasFatalFailure()) return;
    std::string body(1 << 20, '\0');
    for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 23);
    auto plain = members[1].multicast("big", body, Reliability::all(), 20s);
    ASSERT_TRUE(plain) << plain.error().to_string();
    EXPECT_EQ(plain->responders.size(), 3u);
    ASSERT_TRUE(members[1].ordered_multicast("big", body, 20s));
    body.back() = '!';
    ASSERT_TRUE(members[0].ordered_multicast("big", body, 20s));
    for (Process& p : members) {
        int plain_got = 0;
        std::vector<char> last;  // The last byte of each ordered one, in delivery order.
        const auto deadline = std::chrono::steady_clock::now() + 20s;
        while ((plain_got < 1 || last.size() < 2) && std::chrono::steady_clock::now() < deadline) {
            auto e = p.receive(1s);
            if (!e) continue;
            auto m = decode_group_message(*e);
            ASSERT_TRUE(m) << m.error().to_string();
            if (m->kind != GroupMessage::Kind::data) continue;
            ASSERT_EQ(m->payload.size(), std::size_t{1} << 20) << to_string(p.pid());
            EXPECT_EQ(m->text().substr(0, 100), body.substr(0, 100));
            if (m->ordered) {
                last.push_back(m->text().back());
            } else {
                ++plain_got;
            }
        }
        EXPECT_EQ(plain_got, 1) << to_string(p.pid());
        EXPECT_EQ(last.size(), 2u) << to_string(p.pid());
    }
    EXPECT_GT(a->stats().ordered_delivered + s->stats().ordered_delivered, 0u);
}

}  // namespace
}  // namespace herald::testing

// Groups through the public API (herald/group.h) on three real nodes over loopback UDP: S hosts
// the group server (data_dir), A and B reach it by GroupNodeOptions::server_url. Covers create,
// join from two nodes, multicast with reliability all, none and k, view changes delivered on
// join and leave (Envelope::group, decode_group_message), group_view and groups, and the errors
// not_found, already_exists, access_denied and invalid_argument (docs/api.md "Groups"), and a
// group with an IP multicast address on loopback (docs/groups.md G22).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>

#include "group_test_support.h"
#include "herald/herald.h"
#include "node_test_support.h"

namespace herald::testing {
namespace {

using namespace std::chrono_literals;

using GroupApiTest = ThreeGroupNodes;

// The next group message of `p` (skipping nothing: a direct message fails the test).
std::optional<GroupMessage> next_group_message(Process& p) {
    auto envelope = p.receive(5s);
    if (!envelope) return std::nullopt;
    auto m = decode_group_message(*envelope);
    if (!m) return std::nullopt;
    return *m;
}

// Takes group messages of `p` until a view with id >= `id`: that view.
std::optional<GroupView> view_at_least(Process& p, std::uint64_t id) {
    for (int i = 0; i < 20; ++i) {
        auto m = next_group_message(p);
        if (!m) return std::nullopt;
        if (m->kind == GroupMessage::Kind::view && m->view.id >= id) return m->view;
    }
    return std::nullopt;
}

TEST_F(GroupApiTest, CreateJoinMulticastAllAcrossNodesThenLeave) {
    auto created = a->create_group("chat");
    ASSERT_TRUE(created) << created.error().to_string();
    EXPECT_EQ(created->id, 1u);
    EXPECT_TRUE(created->members.empty());
    Process pa = spawn(*a);
    Process pb = spawn(*b);
    auto v2 = pa.join_group("chat");
    ASSERT_TRUE(v2) << v2.error().to_string();
    EXPECT_EQ(v2->id, 2u);
    auto v3 = pb.join_group("chat");
    ASSERT_TRUE(v3) << v3.error().to_string();
    EXPECT_EQ(v3->id, 3u);
    ASSERT_EQ(v3->members.size(), 2u);
    // Both install view 3 before a multicast addressed with it can be delivered.
    ASSERT_TRUE(view_at_least(pa, 3));
    ASSERT_TRUE(view_at_least(pb, 3));

    Process sender = spawn(*s);  // Not a member: an open group takes anyone's multicasts.
    auto sent = sender.multicast("chat", "hello", Reliability::all(), 5s);
    ASSERT_TRUE(sent) << sent.error().to_string();
    EXPECT_EQ(sent->view_id, 3u);
    ASSERT_EQ(sent->responders.size(), 2u);
    for (Process* p : {&pa, &pb}) {
        auto m = next_group_message(*p);
        ASSERT_TRUE(m);
        EXPECT_EQ(m->kind, GroupMessage::Kind::data);
        EXPECT_EQ(m->group, "chat");
        EXPECT_EQ(m->view_id, 3u);
        EXPECT_EQ(m->sender, sender.pid());
        EXPECT_EQ(m->text(), "hello");
    }
    auto one = pa.multicast("chat", "k=1", Reliability::at_least(1), 5s);
    ASSERT_TRUE(one) << one.error().to_string();
    EXPECT_GE(one->responders.size(), 1u);
    auto none = pa.multicast("chat", "k=0", Reliability::none(), 5s);
    ASSERT_TRUE(none) << none.error().to_string();
    EXPECT_TRUE(none->responders.empty());

    auto left = pb.leave_group("chat");
    ASSERT_TRUE(left) << left.error().to_string();
    EXPECT_EQ(left->id, 4u);
    ASSERT_EQ(left->members, std::vector<Pid>{pa.pid()});
    auto seen = view_at_least(pa, 4);  // pa sees the view change.
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->members, std::vector<Pid>{pa.pid()});
    auto viewed = b->group_view("chat");  // Asked of the server: b hosts no member now.
    ASSERT_TRUE(viewed) << viewed.error().to_string();
    EXPECT_EQ(viewed->id, 4u);
    Process pa2 = spawn(*a);
    ASSERT_TRUE(pa2.join_group("chat"));  // View 5: b, without members, is not sent it (G9).
    auto fresh = b->group_view("chat");
    ASSERT_TRUE(fresh) << fresh.error().to_string();
    EXPECT_EQ(fresh->id, 5u);  // Asked of the server, not b's stale view 4.
    auto listed = s->groups();
    ASSERT_TRUE(listed) << listed.error().to_string();
    EXPECT_EQ(*listed, std::vector<std::string>{"chat"});
    const auto stats = a->stats();
    EXPECT_GE(stats.group_views_installed, 2u);
    EXPECT_GE(stats.group_multicasts_sent, 2u);
    EXPECT_GE(stats.group_delivered, 1u);
}

TEST_F(GroupApiTest, MembersOfAStoppedNodeAreRemovedByAViewChange) {
    ASSERT_TRUE(a->create_group("watch"));
    Process pa = spawn(*a);
    ASSERT_TRUE(pa.join_group("watch"));
    Process pb = spawn(*b);
    auto both = pb.join_group("watch");
    ASSERT_TRUE(both) << both.error().to_string();
    ASSERT_EQ(both->members.size(), 2u);
    ASSERT_TRUE(view_at_least(pa, both->id));
    b->stop();  // b falls silent: suspicion_timeout (1 s) later the server removes its members.
    auto after = view_at_least(pa, 4);
    ASSERT_TRUE(after);
    EXPECT_EQ(after->members, std::vector<Pid>{pa.pid()});
    EXPECT_GE(s->stats().group_suspicions, 1u);
}

// Flow control (docs/groups.md G25): B's member takes nothing while A's multicasts with
// reliability all. Its node delivers it 1024 group messages (its credit, views included) and
// then neither delivers nor answers, so A's next multicast waits (resent every 200 ms); once B
// drains, that multicast completes and B got every message exactly once, in order. Fails with
// the group engine's takes unreported (A's multicast times out) or with its credit check gone
// (B's queue passes the credit).
TEST_F(GroupApiTest, SlowMemberHoldsAReliableMulticastUntilItDrains) {
    ASSERT_TRUE(a->create_group("slow"));
    Process pa = spawn(*a);
    ASSERT_TRUE(pa.join_group("slow"));
    Process pb = spawn(*b);
    auto both = pb.join_group("slow");
    ASSERT_TRUE(both) << both.error().to_string();
    ASSERT_TRUE(view_at_least(pa, both->id));
    constexpr int credit = 1024;
    int sent = 0;
    for (; static_cast<int>(pb.queued()) < credit; ++sent) {
        auto r = pa.multicast("slow", std::to_string(sent), Reliability::all(), 5s);
        ASSERT_TRUE(r) << sent << ": " << r.error().to_string() << " (A " << to_string(pa.pid())
                       << " queued " << pa.queued() << ", dropped "
                       << a->stats().group_credit_dropped << "; B " << to_string(pb.pid())
                       << " queued " << pb.queued() << ", dropped "
                       << b->stats().group_credit_dropped << ")";
        while (pa.try_receive()) {
        }
        ASSERT_LT(sent, credit) << "B's inbox passed its credit";
    }
    EXPECT_EQ(pb.queued(), static_cast<std::size_t>(credit));
    auto held = std::async(std::launch::async, [&] {
        return pa.multicast("slow", std::to_string(sent), Reliability::all(), 20s);
    });
    EXPECT_EQ(held.wait_for(300ms), std::future_status::timeout) << "answered for a full member";
    EXPECT_EQ(pb.queued(), static_cast<std::size_t>(credit));
    EXPECT_GT(b->stats().group_credit_dropped, 0u);
    int next = 0;
    while (next <= sent) {
        auto m = next_group_message(pb);
        ASSERT_TRUE(m) << "B got " << next;
        if (m->kind != GroupMessage::Kind::data) continue;
        ASSERT_EQ(m->text(), std::to_string(next)) << "not in order, twice, or lost";
        ++next;
    }
    auto done = held.get();
    ASSERT_TRUE(done) << done.error().to_string();
    EXPECT_EQ(done->responders.size(), 2u);
    EXPECT_FALSE(pb.try_receive());  // Exactly once.
}

TEST_F(GroupApiTest, AProcessThatExitsLeavesItsGroups) {
    ASSERT_TRUE(a->create_group("brief"));
    Process pa = spawn(*a);
    ASSERT_TRUE(pa.join_group("brief"));
    std::uint64_t joined_id = 0;
    {
        Process pb = spawn(*b);
        auto both = pb.join_group("brief");
        ASSERT_TRUE(both) << both.error().to_string();
        joined_id = both->id;
        ASSERT_TRUE(view_at_least(pa, joined_id));
    }  // pb exits: its node leaves the group for it.
    auto after = view_at_least(pa, joined_id + 1);
    ASSERT_TRUE(after);
    EXPECT_EQ(after->members, std::vector<Pid>{pa.pid()});
    EXPECT_EQ(s->stats().group_suspicions, 0u);  // A leave, not the failure detector.
}

// docs/groups.md G21 on real nodes: B deletes a group whose members live on A and B; each
// member receives a deleted message, a later multicast and lookup fail not_found, a second
// delete is not_found, and the name can be created again (views above the final one).
TEST_F(GroupApiTest, DeletedGroupIsGoneForItsMembersAndCanBeCreatedAgain) {
    ASSERT_TRUE(a->create_group("doomed"));
    Process pa = spawn(*a);
    Process pb = spawn(*b);
    ASSERT_TRUE(pa.join_group("doomed"));
    auto both = pb.join_group("doomed");
    ASSERT_TRUE(both) << both.error().to_string();
    ASSERT_TRUE(view_at_least(pa, both->id));
    ASSERT_TRUE(view_at_least(pb, both->id));

    auto deleted = b->delete_group("doomed");
    ASSERT_TRUE(deleted) << deleted.error().to_string();
    for (Process* p : {&pa, &pb}) {
        auto m = next_group_message(*p);
        ASSERT_TRUE(m);
        EXPECT_EQ(m->kind, GroupMessage::Kind::deleted);
        EXPECT_EQ(m->group, "doomed");
        EXPECT_EQ(m->view_id, both->id + 1) << "the final view, one above the last";
    }
    auto sent = pa.multicast("doomed", "late", Reliability::all(), 5s);
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().code, Errc::not_found) << sent.error().to_string();
    auto viewed = a->group_view("doomed");
    ASSERT_FALSE(viewed);
    EXPECT_EQ(viewed.error().code, Errc::not_found);
    auto listed = s->groups();
    ASSERT_TRUE(listed);
    EXPECT_TRUE(listed->empty());
    auto twice = a->delete_group("doomed");
    ASSERT_FALSE(twice);
    EXPECT_EQ(twice.error().code, Errc::not_found);

    auto again = a->create_group("doomed", true);
    ASSERT_TRUE(again) << again.error().to_string();
    EXPECT_EQ(again->id, both->id + 2) << "above the final view of the deleted group";
    EXPECT_TRUE(again->closed);
    auto rejoined = pb.join_group("doomed");
    ASSERT_TRUE(rejoined) << rejoined.error().to_string();
    auto installed = view_at_least(pb, both->id + 3);
    ASSERT_TRUE(installed);
    EXPECT_TRUE(installed->closed);
    EXPECT_EQ(installed->members, std::vector<Pid>{pb.pid()});
    auto delivered = pa.multicast("doomed", "outsider", Reliability::none(), 5s);
    ASSERT_FALSE(delivered) << "the new group is closed and pa is not in it";
    EXPECT_EQ(delivered.error().code, Errc::access_denied);
}

// G22 on loopback: the server picks the group's IP multicast address; A and B join it with
// their members; a multicast from A is one datagram to the group (B's node receives it on its
// group socket) and completes with every member; B leaves its group when its member leaves.
// Addresses a node cannot send to are refused with their reason.
TEST_F(GroupApiTest, MulticastGroupOnLoopbackIsOneDatagramAndBadAddressesAreRefused) {
    auto created =
        a->create_group("ip", false, Order::fifo, GroupAddress{GroupAddress::Kind::multicast, {}});
    ASSERT_TRUE(created) << created.error().to_string();
    EXPECT_EQ(created->address.kind, GroupAddress::Kind::multicast);
    EXPECT_EQ(to_string(created->address).rfind("multicast:239.193.", 0), 0u)
        << to_string(created->address);
    Process pa = spawn(*a);
    Process pb = spawn(*b);
    ASSERT_TRUE(pa.join_group("ip"));
    ASSERT_TRUE(pb.join_group("ip"));
    ASSERT_TRUE(view_at_least(pa, 3));
    ASSERT_TRUE(view_at_least(pb, 3));
    EXPECT_EQ(b->stats().group_joined, 1u);
    const auto before = a->stats();
    auto sent = pa.multicast("ip", "one datagram", Reliability::all(), 5s);
    ASSERT_TRUE(sent) << sent.error().to_string();
    EXPECT_EQ(sent->responders.size(), 2u);
    const auto after = a->stats();
    EXPECT_EQ(after.group_address_sends - before.group_address_sends, 1u);
    EXPECT_EQ(after.group_datagrams - before.group_datagrams, 1u);
    EXPECT_EQ(after.group_fan_outs, before.group_fan_outs);
    EXPECT_GE(b->stats().group_received, 1u);
    auto got = next_group_message(pb);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->text(), "one datagram");
    // A body larger than a udp datagram: its fragments go to the group address, and B's node
    // reassembles them (keyed by the sender) like any fragmented packet.
    const std::string large(200'000, 'x');
    const auto received = b->stats().group_received;
    sent = pa.multicast("ip", large, Reliability::all(), 5s);
    ASSERT_TRUE(sent) << sent.error().to_string();
    EXPECT_EQ(sent->responders.size(), 2u);
    EXPECT_EQ(a->stats().group_datagrams - after.group_datagrams, 1u) << "one packet, fragmented";
    EXPECT_EQ(a->stats().group_address_sends - after.group_address_sends, 1u);
    EXPECT_GE(b->stats().group_received - received, 4u) << "its fragments came by the group";
    got = next_group_message(pb);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->payload.size(), large.size());
    ASSERT_TRUE(pb.leave_group("ip"));
    for (int i = 0; i < 50 && b->stats().group_joined != 0; ++i) std::this_thread::sleep_for(20ms);
    EXPECT_EQ(b->stats().group_joined, 0u) << "left with its last member";

    for (const char* bad : {"multicast:10.0.0.1:7500", "multicast:239.1.1.1:0", "everyone"}) {
        EXPECT_EQ(parse_group_address(bad).error().code, Errc::invalid_argument) << bad;
    }
    auto v6 = a->create_group("v6", false, Order::fifo,
                              GroupAddress{GroupAddress::Kind::multicast, "udp://[ff12::1]:7500"});
    ASSERT_FALSE(v6);
    EXPECT_EQ(v6.error().code, Errc::invalid_argument);
    EXPECT_NE(v6.error().detail.find("address family"), std::string::npos) << v6.error().detail;
    auto broadcast =
        a->create_group("bc", false, Order::fifo, GroupAddress{GroupAddress::Kind::broadcast, {}});
    ASSERT_FALSE(broadcast);
    EXPECT_NE(broadcast.error().detail.find("broadcast"), std::string::npos);
    NodeOptions tcp_options;  // A tcp node has no IP multicast: refused before any request.
    tcp_options.listen = "tcp://127.0.0.1:0";
    tcp_options.groups.server_url = s->listen_url();
    auto tcp = start_node(tcp_options);
    ASSERT_NE(tcp, nullptr);
    auto refused = tcp->create_group("tcp", false, Order::fifo,
                                     GroupAddress{GroupAddress::Kind::multicast, {}});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::invalid_argument);
    EXPECT_NE(refused.error().detail.find("no IP multicast"), std::string::npos)
        << refused.error().detail;
    // GroupNodeOptions::broadcast: a udp IPv4 endpoint with a port, else Node::start refuses.
    for (const char* wrong : {"10.0.0.255:7600", "tcp://10.0.0.255:7600", "udp://10.0.0.255:0"}) {
        NodeOptions o;
        o.faults_from_env = false;
        o.groups.broadcast = wrong;
        auto node = Node::start(o);
        ASSERT_FALSE(node) << wrong;
        EXPECT_EQ(node.error().code, Errc::invalid_argument) << wrong;
        EXPECT_NE(node.error().detail.find("broadcast"), std::string::npos) << node.error().detail;
    }
}

TEST_F(GroupApiTest, DirectMessagesAreNotGroupMessages) {
    Process p = spawn(*a);
    Process q = spawn(*a);
    ASSERT_TRUE(q.send(p.pid(), "direct"));
    auto envelope = p.receive(5s);
    ASSERT_TRUE(envelope);
    EXPECT_FALSE(envelope->group);
    auto decoded = decode_group_message(*envelope);
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.error().code, Errc::invalid_argument);
}

TEST_F(GroupApiTest, ErrorsNotFoundAlreadyExistsAccessDeniedInvalidArgument) {
    Process p = spawn(*a);
    auto missing = p.join_group("nowhere");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, Errc::not_found);
    auto no_view = b->group_view("nowhere");
    ASSERT_FALSE(no_view);
    EXPECT_EQ(no_view.error().code, Errc::not_found);
    auto no_send = p.multicast("nowhere", "x", Reliability::none(), 2s);
    ASSERT_FALSE(no_send);
    EXPECT_EQ(no_send.error().code, Errc::not_found);

    ASSERT_TRUE(a->create_group("club", true));
    auto again = b->create_group("club");
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, Errc::already_exists);
    ASSERT_TRUE(p.join_group("club"));
    Process outsider = spawn(*b);
    auto denied = outsider.multicast("club", "let me in", Reliability::none(), 2s);
    ASSERT_FALSE(denied);
    EXPECT_EQ(denied.error().code, Errc::access_denied);
    auto not_member = outsider.leave_group("club");
    ASSERT_FALSE(not_member);
    EXPECT_EQ(not_member.error().code, Errc::not_found);

    for (const std::string& bad : {std::string(), std::string(65, 'x'), std::string("a\nb")}) {
        auto r = a->create_group(bad);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, Errc::invalid_argument) << bad;
    }
    auto too_many = p.multicast("club", "x", Reliability::at_least(2), 2s);  // 1 member.
    ASSERT_FALSE(too_many);
    EXPECT_EQ(too_many.error().code, Errc::invalid_argument);
    auto zero_timeout = p.multicast("club", "x", Reliability::none(), 0s);
    ASSERT_FALSE(zero_timeout);
    EXPECT_EQ(zero_timeout.error().code, Errc::invalid_argument);
}

// --- Request multicasts and the collection of answers (docs/groups.md G24) ---

// Answers every request `p` receives with `answer` (after `delay`) until `stop`; other group
// messages (views, plain multicasts) are skipped. Runs on its own thread, which alone uses `p`.
std::jthread answerer(Process& p, std::string answer, std::chrono::milliseconds delay = 0ms) {
    return std::jthread([&p, answer = std::move(answer), delay](std::stop_token stop) {
        while (!stop.stop_requested()) {
            auto envelope = p.receive(50ms);
            if (!envelope) continue;
            auto m = decode_group_message(*envelope);
            if (!m || !m->request()) continue;
            std::this_thread::sleep_for(delay);
            static_cast<void>(p.reply(*m, answer));
        }
    });
}

// The members whose answers `r` holds, and whether each body names its member's answerer.
std::vector<Pid> answered_by(const CollectResult& r) {
    std::vector<Pid> pids;
    for (const auto& answer : r.answers) pids.push_back(answer.member);
    return pids;
}

// Three members, one per node (a, b, s), and a requester on s that is not a member.
struct Members {
    Process pa, pb, ps;
};

Members join_three(Node& a, Node& b, Node& s, const std::string& group) {
    Members m{spawn(a), spawn(b), spawn(s)};
    EXPECT_TRUE(m.pa.join_group(group));
    EXPECT_TRUE(m.pb.join_group(group));
    auto last = m.ps.join_group(group);
    EXPECT_TRUE(last);
    for (Process* p : {&m.pa, &m.pb, &m.ps}) EXPECT_TRUE(view_at_least(*p, last ? last->id : 0));
    return m;
}

TEST_F(GroupApiTest, RequestIsAnsweredByAllByTheFirstAndSelectivelyByOneMember) {
    ASSERT_TRUE(a->create_group("ask"));
    Members m = join_three(*a, *b, *s, "ask");
    const std::vector<Pid> all{m.pa.pid(), m.pb.pid(), m.ps.pid()};
    Process requester = spawn(*s);
    {
        auto ta = answerer(m.pa, "from a");
        auto tb = answerer(m.pb, "from b", 100ms);  // Last: "first" must not wait for it.
        auto ts = answerer(m.ps, "from s");
        auto every = requester.multicast_request("ask", "q1", Collect::all(), 5s);
        ASSERT_TRUE(every) << every.error().to_string();
        EXPECT_FALSE(every->timed_out);
        EXPECT_TRUE(every->departed.empty());
        auto got = answered_by(*every);
        std::sort(got.begin(), got.end());
        auto want = all;
        std::sort(want.begin(), want.end());
        EXPECT_EQ(got, want);
        for (const auto& answer : every->answers) {
            const Pid who = answer.member;
            EXPECT_EQ(answer.text(), who == m.pa.pid()   ? "from a"
                                     : who == m.pb.pid() ? "from b"
                                                         : "from s");
        }
        auto first = requester.multicast_request("ask", "q2", Collect::first(), 5s);
        ASSERT_TRUE(first) << first.error().to_string();
        ASSERT_EQ(first->answers.size(), 1u);
        EXPECT_NE(first->answers[0].member, m.pb.pid());  // b answers 100 ms late.
        auto only_b = requester.multicast_request("ask", "q3", Collect::only({m.pb.pid()}), 5s);
        ASSERT_TRUE(only_b) << only_b.error().to_string();
        EXPECT_FALSE(only_b->timed_out);
        EXPECT_EQ(answered_by(*only_b), std::vector<Pid>{m.pb.pid()});
        EXPECT_EQ(only_b->answers[0].text(), "from b");
        auto two = requester.multicast_request("ask", "q4", Collect::at_least(2), 5s);
        ASSERT_TRUE(two) << two.error().to_string();
        EXPECT_EQ(two->answers.size(), 2u);
    }
    // The answers the calls did not wait for (q2, q4) are dropped and counted, never queued.
    EXPECT_GE(s->stats().group_answers_collected, 7u);
    EXPECT_GE(a->stats().group_answers_sent + b->stats().group_answers_sent, 4u);
    auto r = requester.try_receive();
    EXPECT_FALSE(r);  // Answers never reach the requester's own inbox.
}

TEST_F(GroupApiTest, RequestTimesOutWithThePartialAnswersAndLateAnswersAreDropped) {
    ASSERT_TRUE(a->create_group("slow"));
    Members m = join_three(*a, *b, *s, "slow");
    Process requester = spawn(*a);
    auto ta = answerer(m.pa, "a");
    auto ts = answerer(m.ps, "s");
    // pb does not answer in time.
    auto partial = requester.multicast_request("slow", "q", Collect::all(), 1s);
    ASSERT_TRUE(partial) << partial.error().to_string();
    EXPECT_TRUE(partial->timed_out);
    auto got = answered_by(*partial);
    std::sort(got.begin(), got.end());
    std::vector<Pid> want{m.pa.pid(), m.ps.pid()};
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got, want);
    // pb answers after the call returned: refused (no_such_process) and counted late.
    std::optional<GroupMessage> request;
    for (int i = 0; i < 5 && !request; ++i) {
        auto next = next_group_message(m.pb);
        if (next && next->request()) request = next;
    }
    ASSERT_TRUE(request);
    auto late = m.pb.reply(*request, "b, late");
    ASSERT_FALSE(late);
    EXPECT_EQ(late.error().code, Errc::no_such_process);
    EXPECT_GE(b->stats().group_answers_late, 1u);
    EXPECT_FALSE(requester.try_receive());
}

TEST_F(GroupApiTest, RequestWaitingOnAllCompletesWithTheSurvivorsAfterAMemberNodeStops) {
    ASSERT_TRUE(a->create_group("crash"));
    Members m = join_three(*a, *b, *s, "crash");
    Process requester = spawn(*a);
    auto ta = answerer(m.pa, "a");
    auto ts = answerer(m.ps, "s");
    std::jthread stopper([this] {
        std::this_thread::sleep_for(300ms);
        b->stop();  // pb never answers; 1 s later the server removes it (a view change).
    });
    const auto started = std::chrono::steady_clock::now();
    auto r = requester.multicast_request("crash", "q", Collect::all(), 15s);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_FALSE(r->timed_out);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
    EXPECT_EQ(r->departed, std::vector<Pid>{m.pb.pid()});
    EXPECT_EQ(r->answers.size(), 2u);
    EXPECT_EQ(r->addressed.size(), 3u);
}

TEST_F(GroupApiTest, RequestErrorsAreClear) {
    ASSERT_TRUE(a->create_group("rules"));
    Process member = spawn(*a);
    ASSERT_TRUE(member.join_group("rules"));
    ASSERT_TRUE(view_at_least(member, 2));
    Process requester = spawn(*b);
    Process stranger = spawn(*b);
    const auto code = [&](Collect c) {
        auto r = requester.multicast_request("rules", "q", std::move(c), 2s);
        return r ? Errc::ok : r.error().code;
    };
    EXPECT_EQ(code(Collect::at_least(2)), Errc::invalid_argument);  // One member.
    EXPECT_EQ(code(Collect::at_least(0)), Errc::invalid_argument);
    EXPECT_EQ(code(Collect{1, {member.pid(), member.pid()}}), Errc::invalid_argument);
    EXPECT_EQ(code(Collect::only({stranger.pid()})), Errc::invalid_argument);  // Not a member.
    // A requester that is a member is not addressed (it waits: it cannot answer itself).
    auto alone = member.multicast_request("rules", "q", Collect::all(), 2s);
    ASSERT_FALSE(alone);
    EXPECT_EQ(alone.error().code, Errc::invalid_argument);
    auto self = member.multicast_request("rules", "q", Collect::only({member.pid()}), 2s);
    ASSERT_FALSE(self);
    EXPECT_EQ(self.error().code, Errc::invalid_argument);
    auto zero = requester.multicast_request("rules", "q", Collect::all(), 0s);
    ASSERT_FALSE(zero);
    EXPECT_EQ(zero.error().code, Errc::invalid_argument);
    auto missing = requester.multicast_request("nowhere", "q", Collect::all(), 2s);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, Errc::not_found);
    // A plain multicast asks for no answer: reply refuses it.
    ASSERT_TRUE(requester.multicast("rules", "plain", Reliability::all(), 5s));
    auto plain = next_group_message(member);
    ASSERT_TRUE(plain);
    EXPECT_FALSE(plain->request());
    auto refused = member.reply(*plain, "no");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::invalid_argument);
    // A message from a process the request did not address is not an answer: dropped, counted.
    auto pending = std::async(std::launch::async, [&] {
        return requester.multicast_request("rules", "q", Collect::all(), 5s);
    });
    std::optional<GroupMessage> request;
    for (int i = 0; i < 5 && !request; ++i) {
        auto next = next_group_message(member);
        if (next && next->request()) request = next;
    }
    ASSERT_TRUE(request);
    ASSERT_TRUE(stranger.send(request->reply_to, "not an answer"));  // Accepted: queued first.
    ASSERT_TRUE(member.reply(*request, "yes"));
    auto r = pending.get();
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_FALSE(r->timed_out);
    ASSERT_EQ(answered_by(*r), std::vector<Pid>{member.pid()});
    EXPECT_EQ(r->answers[0].text(), "yes");
    EXPECT_GE(b->stats().group_answers_late, 1u);
    // b hosts no member and is not the server: it follows the view by lookups, and a member
    // that answers after several polls is still awaited.
    auto slow = answerer(member, "slow", 1500ms);
    auto later = requester.multicast_request("rules", "q2", Collect::all(), 5s);
    ASSERT_TRUE(later) << later.error().to_string();
    EXPECT_FALSE(later->timed_out);
    EXPECT_TRUE(later->departed.empty());
    EXPECT_EQ(answered_by(*later), std::vector<Pid>{member.pid()});
}

TEST(GroupApiOptions, WithoutAServerGroupCallsFailUnreachableAndBadTimingsAreRefused) {
    auto n = start_node();
    ASSERT_TRUE(n);
    auto r = n->create_group("g");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::unreachable);
    NodeOptions bad;
    bad.groups.server_url = "udp://127.0.0.1:9";
    bad.groups.heartbeat_interval = 1s;
    bad.groups.suspicion_timeout = 1s;  // Under twice the heartbeat.
    auto refused = Node::start(bad);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::invalid_argument);
    NodeOptions no_dir;
    no_dir.groups.server = true;
    auto no_store = Node::start(no_dir);
    ASSERT_FALSE(no_store);
    EXPECT_EQ(no_store.error().code, Errc::invalid_argument);
}

}  // namespace
}  // namespace herald::testing

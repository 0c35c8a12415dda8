// The group engine driven by hand: the group server S (node 1) and member nodes A, B, C on a
// fake clock, with a hand-carried network that can drop, duplicate or cut off a node, and a
// fake disk that acknowledges writes at once (docs/groups.md rules).
#include "proto/group/group_engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

namespace herald::proto::group {
namespace {

struct TestNode {
    TestNode(NodeId id, const GroupOptions& o) : self(id), options(o) { boot(); }
    void boot() {
        engine =
            std::make_unique<GroupEngine>(EngineContext{self, ++incarnation, random, now}, options);
        std::vector<StoredRecord> records(disk.begin(), disk.end());
        engine->on_restore(records);
        timer.reset();
        joined.clear();
    }
    NodeId self;
    std::uint32_t incarnation = 0;
    Random random{7};
    Time now = Time::zero();
    const GroupOptions& options;
    std::unique_ptr<GroupEngine> engine;
    std::map<std::string, Bytes> disk;
    std::optional<Time> timer;
    bool down = false;  // Crashed or cut off: sends nothing, receives nothing, no timers.
    std::vector<Message> delivered;
    std::set<IpGroup> joined;  // IP multicast groups joined (membership effects, G22).
};

class GroupTest : public ::testing::Test {
protected:
    GroupTest() {
        options.retransmit_interval = Duration::milliseconds(100);
        options.heartbeat_interval = Duration::milliseconds(100);
        options.suspicion_timeout = Duration::seconds(1);
        options.request_timeout = Duration::seconds(2);
        for (std::uint64_t id = 1; id <= 4; ++id) {
            nodes.push_back(std::make_unique<TestNode>(NodeId{id}, options));
        }
    }

    GroupOptions options;
    std::vector<std::unique_ptr<TestNode>> nodes;
    std::map<OperationId, Result<Bytes>> done;
    int drop_next = 0;                  // Drop this many of the next packets.
    int address_sends = 0;              // Sends to a group address (multicast or broadcast), G22.
    int unicast_data = 0;               // group_data sent to one node (another than the sender).
    bool duplicate = false;             // Deliver every packet twice.
    std::optional<NodeId> no_views_to;  // Drop every group_view packet sent to this node.
    Time clock = Time::zero();

    TestNode& s() { return *nodes[0]; }
    TestNode& a() { return *nodes[1]; }
    TestNode& b() { return *nodes[2]; }
    TestNode& c() { return *nodes[3]; }
    TestNode& node(NodeId id) { return *nodes.at(id.value - 1); }

    void apply(TestNode& from, Effects& out) {
        for (auto& cpl : out.completions) done.insert_or_assign(cpl.op, cpl.result);
        for (auto& t : out.timers) {
            if (t.cancel) {
                from.timer.reset();
            } else {
                from.timer = t.at;
            }
        }
        for (auto& d : out.deliveries) from.delivered.push_back(d.message);
        std::vector<std::uint64_t> tokens;
        for (auto& p : out.persists) {
            if (p.erase) {
                from.disk.erase(p.key);
            } else {
                from.disk[p.key] = p.value;
            }
            if (tokens.empty() || tokens.back() != p.token) tokens.push_back(p.token);
        }
        for (const auto& m : out.memberships) {
            const bool changed =
                m.join ? from.joined.insert(m.group).second : from.joined.erase(m.group) == 1;
            EXPECT_TRUE(changed) << "joins and leaves of a group alternate";
        }
        auto sends = std::move(out.sends);
        out.clear();
        for (auto t : tokens) {
            Effects o;
            from.engine->on_durable(t, Status{}, clock, o);
            apply(from, o);
        }
        for (auto& snd : sends) {
            std::vector<TestNode*> targets;
            using Kind = Destination::Kind;
            if (snd.to.kind == Kind::node) {
                targets.push_back(&node(snd.to.node));
                if (snd.to.node != from.self &&
                    snd.packet.header.kind == wire::PacketKind::group_data) {
                    ++unicast_data;
                }
            } else {  // One datagram: every node that joined the group (all, for broadcast).
                ++address_sends;
                for (auto& n : nodes) {
                    if (n.get() == &from) continue;
                    if (snd.to.kind == Kind::broadcast || n->joined.contains(snd.to.group)) {
                        targets.push_back(n.get());
                    }
                }
            }
            if (from.down) continue;
            if (drop_next > 0) {
                --drop_next;
                continue;
            }
            const wire::Packet packet = std::move(snd).take();
            for (TestNode* to : targets) {
                if (to->down) continue;
                if (to->self == no_views_to && packet.header.kind == wire::PacketKind::group_view) {
                    continue;
                }
                for (int i = 0; i < (duplicate ? 2 : 1); ++i) {
                    wire::Packet p = packet;
                    Effects o;
                    to->engine->on_packet(from.self, p, clock, o);
                    apply(*to, o);
                }
            }
        }
    }

    // Moves the clock in 10 ms steps, firing every due timer of every node that is up.
    void advance(Duration d) {
        const Time end = clock + d;
        while (clock < end) {
            clock += Duration::milliseconds(10);
            for (auto& n : nodes) {
                n->now = clock;
                if (n->down || !n->timer || *n->timer > clock) continue;
                const TimerId id{1};
                n->timer.reset();
                Effects o;
                n->engine->on_timer(id, clock, o);
                apply(*n, o);
            }
        }
    }

    Result<Bytes> create(TestNode& n, OperationId op, const std::string& name, bool closed,
                         const GroupAddress& address = {}) {
        Effects o;
        n.engine->on_create(op, Pid{n.self, 1}, name, closed, order_fifo, address, clock, o);
        apply(n, o);
        return done.at(op);
    }
    Result<Bytes> join(TestNode& n, OperationId op, std::uint64_t local, const std::string& name) {
        Effects o;
        n.engine->on_join(op, Pid{n.self, local}, name, clock, o);
        apply(n, o);
        return done.at(op);
    }
    Result<Bytes> leave(TestNode& n, OperationId op, std::uint64_t local, const std::string& name) {
        Effects o;
        n.engine->on_leave(op, Pid{n.self, local}, name, clock, o);
        apply(n, o);
        return done.at(op);
    }
    // Starts a delete of `name` from n.1; wait(op) for its answer.
    void remove(TestNode& n, OperationId op, const std::string& name) {
        Effects o;
        n.engine->on_delete(op, Pid{n.self, 1}, name, clock, o);
        apply(n, o);
    }
    // Whether `n` holds the final view of deleted group `name` (G21: no members).
    static bool dropped(TestNode& n, const std::string& name) {
        const View* v = n.engine->installed(name);
        return v != nullptr && v->members.empty() && n.engine->deleted(name);
    }
    // Whether the server's record of `name` is only the floor of a deleted group (G21).
    bool floor_only(const std::string& name) {
        auto it = s().disk.find(record_key(name));
        RecordState state = RecordState::live;
        return it != s().disk.end() && decode_record(it->second, state) &&
               state == RecordState::gone;
    }
    // Whether `n` delivered a deleted envelope of `name` to `local`.
    bool told_deleted(TestNode& n, std::uint64_t local, const std::string& name) {
        const auto all = envelopes(n, local);
        return std::any_of(all.begin(), all.end(),
                           [&](const Envelope& e) { return e.is_deleted && e.group == name; });
    }
    void multicast(TestNode& n, OperationId op, std::uint64_t local, const std::string& name,
                   std::uint32_t reliability, const std::string& text = "m") {
        Effects o;
        n.engine->on_multicast(op, Pid{n.self, local}, name, to_bytes(text), reliability,
                               Duration::seconds(1), clock, o);
        apply(n, o);
    }
    // The result of `op`, advancing time until it completed (at most `limit`).
    Result<Bytes> wait(OperationId op, Duration limit = Duration::seconds(3)) {
        for (Time end = clock + limit; !done.contains(op) && clock < end;) {
            advance(Duration::milliseconds(10));
        }
        EXPECT_TRUE(done.contains(op)) << "operation " << op << " never completed";
        if (!done.contains(op)) return fail(Errc::closed, "never completed");
        return done.at(op);
    }

    // The envelopes `n` delivered to `local`, in order.
    std::vector<Envelope> envelopes(TestNode& n, std::uint64_t local) {
        std::vector<Envelope> out;
        for (const auto& m : n.delivered) {
            if (m.target != Pid{n.self, local}) continue;
            auto e = decode_envelope(m.body);
            EXPECT_TRUE(e);
            if (e) out.push_back(*e);
        }
        return out;
    }
    std::vector<std::uint64_t> view_ids(TestNode& n, std::uint64_t local) {
        std::vector<std::uint64_t> ids;
        for (const auto& e : envelopes(n, local)) {
            if (e.is_view) ids.push_back(e.view_id);
        }
        return ids;
    }
    std::vector<std::string> data(TestNode& n, std::uint64_t local) {
        std::vector<std::string> texts;
        for (const auto& e : envelopes(n, local)) {
            if (!e.is_view && !e.is_deleted) texts.emplace_back(as_text(e.payload));
        }
        return texts;
    }

    // Coordinated groups: hands `v` to `n` as the backend's watch would (C16).
    void give(TestNode& n, const std::string& name, const View& v, bool fresh = false) {
        Effects o;
        n.engine->on_coordinated_view(name, v, fresh, o);
        apply(n, o);
    }

    // Group `name` with members a.5, b.7, b.8 (views 1 to 4).
    void three_members(const std::string& name, bool closed, const GroupAddress& address = {}) {
        ASSERT_TRUE(create(a(), 100, name, closed, address));
        ASSERT_TRUE(join(a(), 101, 5, name));
        ASSERT_TRUE(join(b(), 102, 7, name));
        ASSERT_TRUE(join(b(), 103, 8, name));
        advance(Duration::milliseconds(50));
        ASSERT_NE(a().engine->installed(name), nullptr);
        ASSERT_EQ(a().engine->installed(name)->id, 4u);
        ASSERT_EQ(b().engine->installed(name)->id, 4u);
    }
};

Pid pid(NodeId node, std::uint64_t local) {
    return Pid{node, local};
}

TEST_F(GroupTest, CreateJoinLeaveInstallNumberedViewsAtEveryMember) {
    auto created = create(a(), 1, "g", false);
    ASSERT_TRUE(created);
    auto v1 = decode_view(*created);
    ASSERT_TRUE(v1);
    EXPECT_EQ(v1->id, 1u);
    EXPECT_TRUE(v1->members.empty());
    EXPECT_TRUE(s().disk.contains("group/g/g"));

    ASSERT_TRUE(join(a(), 2, 5, "g"));
    auto joined = join(b(), 3, 7, "g");
    ASSERT_TRUE(joined);
    auto v3 = decode_view(*joined);
    ASSERT_TRUE(v3);
    EXPECT_EQ(v3->id, 3u);
    EXPECT_TRUE(v3->contains(Member{pid(a().self, 5), 1}));
    EXPECT_TRUE(v3->contains(Member{pid(b().self, 7), 1}));

    EXPECT_EQ(view_ids(a(), 5), (std::vector<std::uint64_t>{2, 3}));
    EXPECT_EQ(view_ids(b(), 7), (std::vector<std::uint64_t>{3}));

    auto left = leave(a(), 4, 5, "g");
    ASSERT_TRUE(left);
    EXPECT_EQ(decode_view(*left)->id, 4u);
    EXPECT_EQ(view_ids(b(), 7), (std::vector<std::uint64_t>{3, 4}));
    ASSERT_NE(b().engine->installed("g"), nullptr);
    EXPECT_EQ(b().engine->installed("g")->members,
              (std::vector<Member>{Member{pid(b().self, 7), 1}}));
    EXPECT_EQ(a().engine->installed("g")->id, 4u) << "the node of the leaver learns view 4 too";

    auto again = leave(a(), 5, 5, "g");
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, Errc::not_found);
    auto no_group = join(a(), 6, 5, "nope");
    ASSERT_FALSE(no_group);
    EXPECT_EQ(no_group.error().code, Errc::not_found);
    auto twice = create(b(), 7, "g", false);
    ASSERT_FALSE(twice);
    EXPECT_EQ(twice.error().code, Errc::already_exists);
}

TEST_F(GroupTest, ViewsReachAMemberThroughLossInOrder) {
    ASSERT_TRUE(create(a(), 1, "g", false));
    ASSERT_TRUE(join(a(), 2, 5, "g"));
    drop_next = 3;  // The join request, or the view, or the answer is lost.
    Effects o;
    b().engine->on_join(3, pid(b().self, 7), "g", clock, o);
    apply(b(), o);
    EXPECT_TRUE(wait(3));
    advance(Duration::milliseconds(500));
    EXPECT_EQ(view_ids(a(), 5), (std::vector<std::uint64_t>{2, 3}));
    EXPECT_EQ(view_ids(b(), 7), (std::vector<std::uint64_t>{3}));
}

// G9: a node that has not answered yet is sent the view its member joined in first, even when
// a later view became durable meanwhile; skipping it left ordering's flush out of that view
// waiting for a report the member never sent (docs/ordering.md O30).
TEST_F(GroupTest, NodeWhoseMemberJoinedGetsTheViewItJoinedInBeforeLaterOnes) {
    ASSERT_TRUE(create(a(), 1, "g", false));
    ASSERT_TRUE(join(a(), 2, 5, "g"));
    no_views_to = b().self;
    ASSERT_TRUE(join(b(), 3, 7, "g"));  // View 3; its copy to B is lost.
    ASSERT_TRUE(join(a(), 4, 6, "g"));  // View 4 is durable before B answered anything.
    EXPECT_EQ(b().engine->installed("g"), nullptr);
    no_views_to.reset();
    advance(Duration::milliseconds(500));
    EXPECT_EQ(view_ids(b(), 7), (std::vector<std::uint64_t>{3, 4}));
    EXPECT_EQ(view_ids(a(), 5), (std::vector<std::uint64_t>{2, 3, 4}));
    EXPECT_EQ(b().engine->installed("g")->id, 4u);
    // The runtime gives the ordering engine every install from this log, in order.
    const auto& log = b().engine->install_log();
    ASSERT_EQ(log.size(), 2u);
    EXPECT_EQ(log[0].view.id, 3u);
    EXPECT_EQ(log[1].view.id, 4u);
    EXPECT_EQ(log[1].number, log[0].number + 1);
    EXPECT_FALSE(log[0].dropped || log[1].dropped);
}

TEST_F(GroupTest, MemberThatStopsHeartbeatingIsRemovedInTheNextView) {
    ASSERT_TRUE(create(a(), 1, "g", false));
    ASSERT_TRUE(join(a(), 2, 5, "g"));
    ASSERT_TRUE(join(b(), 3, 7, "g"));
    advance(Duration::milliseconds(500));  // Heartbeats keep both in.
    EXPECT_EQ(s().engine->server_view("g")->id, 3u);
    c().down = true;  // Unrelated; C hosts no member.
    b().down = true;  // B crashes.
    advance(Duration::milliseconds(1500));
    const View* v = s().engine->server_view("g");
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->id, 4u);
    EXPECT_EQ(v->members, (std::vector<Member>{Member{pid(a().self, 5), 1}}));
    EXPECT_EQ(a().engine->installed("g")->id, 4u);
    EXPECT_EQ(view_ids(a(), 5), (std::vector<std::uint64_t>{2, 3, 4}));
    EXPECT_EQ(s().engine->counters().suspicions, 1u);
}

TEST_F(GroupTest, RestartedNodesMembersAreRemovedWhenItIsHeardAgain) {
    ASSERT_TRUE(create(a(), 1, "g", false));
    ASSERT_TRUE(join(a(), 2, 5, "g"));
    ASSERT_TRUE(join(b(), 3, 7, "g"));
    b().boot();  // B restarts with a new incarnation: b.7 of incarnation 1 is gone.
    auto rejoined = join(b(), 4, 7, "g");
    ASSERT_TRUE(rejoined);
    auto v = decode_view(*rejoined);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->members,
              (std::vector<Member>{Member{pid(a().self, 5), 1}, Member{pid(b().self, 7), 2}}));
    EXPECT_EQ(v->id, 5u) << "view 4 removed the old b.7, view 5 added the new one";
}

// Found by the group simulation: a join of B's earlier incarnation, delayed in the network,
// arrived after B restarted and put the dead b.7 next to the new one (a pid twice in a view).
TEST_F(GroupTest, LateRequestOfAnEarlierIncarnationIsDropped) {
    ASSERT_TRUE(create(a(), 1, "g", false));
    b().boot();  // Incarnation 2.
    ASSERT_TRUE(join(b(), 2, 7, "g"));
    GroupPacket late;
    late.kind = wire::PacketKind::group_join;
    late.source = pid(b().self, 7);
    late.target = Pid{s().self, 0};
    late.id = 99;
    late.name = "g";
    wire::Packet p = build(late, 1);  // Sent by incarnation 1.
    Effects o;
    s().engine->on_packet(b().self, p, clock, o);
    EXPECT_TRUE(o.sends.empty()) << "not answered";
    EXPECT_EQ(s().engine->server_view("g")->members,
              (std::vector<Member>{Member{pid(b().self, 7), 2}}));
}

// Found by the group simulation: a view addressed to B's earlier incarnation was acked with id
// 0, so the server restarted B from nothing and B skipped views (here: had 2, got 4 by reset).
TEST_F(GroupTest, ViewForAnEarlierIncarnationIsAckedWithTheInstalledView) {
    ASSERT_TRUE(create(a(), 1, "g", false));
    ASSERT_TRUE(join(b(), 2, 7, "g"));
    GroupPacket stale;
    stale.kind = wire::PacketKind::group_view;
    stale.source = Pid{s().self, 0};
    stale.target = Pid{b().self, 0};
    stale.target_incarnation = 9;
    stale.id = 5;
    stale.name = "g";
    stale.body = encode_view(View{5, false, {}});
    wire::Packet p = build(stale, 1);
    Effects o;
    b().engine->on_packet(s().self, p, clock, o);
    ASSERT_EQ(o.sends.size(), 1u);
    EXPECT_EQ(o.sends[0].packet.header.kind, wire::PacketKind::group_view_ack);
    EXPECT_EQ(o.sends[0].packet.header.seq, 2u);
    EXPECT_EQ(b().engine->installed("g")->id, 2u) << "not installed";
}

TEST_F(GroupTest, ClosedGroupRefusesOutsidersAndOpenGroupAcceptsThem) {
    ASSERT_TRUE(create(a(), 1, "closed", true));
    ASSERT_TRUE(join(a(), 2, 5, "closed"));
    ASSERT_TRUE(create(a(), 3, "open", false));
    ASSERT_TRUE(join(a(), 4, 5, "open"));

    multicast(c(), 10, 9, "closed", 1, "from outsider");
    auto refused = wait(10);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::access_denied);
    EXPECT_TRUE(data(a(), 5).empty());

    multicast(c(), 11, 9, "open", 1, "hello open");
    auto accepted = wait(11);
    ASSERT_TRUE(accepted) << accepted.error().detail;
    EXPECT_EQ(data(a(), 5), (std::vector<std::string>{"hello open"}));

    multicast(a(), 12, 5, "closed", 1, "from member");
    ASSERT_TRUE(wait(12));
    EXPECT_EQ(data(a(), 5), (std::vector<std::string>{"hello open", "from member"}));
}

TEST_F(GroupTest, ClosedGroupMemberDropsForgedDataFromANonMember) {
    ASSERT_TRUE(create(a(), 1, "closed", true));
    ASSERT_TRUE(join(a(), 2, 5, "closed"));
    GroupPacket m;
    m.kind = wire::PacketKind::group_data;
    m.source = pid(c().self, 9);
    m.target = Pid{a().self, 0};
    m.id = 77;
    m.name = "closed";
    m.view_id = 2;
    m.locals = {5};
    m.body = to_bytes("forged");
    wire::Packet p = build(m, 1);
    Effects o;
    a().engine->on_packet(c().self, p, clock, o);
    EXPECT_TRUE(o.deliveries.empty());
    EXPECT_EQ(a().engine->counters().not_member_dropped, 1u);
}

TEST_F(GroupTest, ReliabilityZeroCompletesAtOnce) {
    three_members("g", false);
    multicast(c(), 10, 9, "g", 0, "r0");
    auto r = wait(10);
    ASSERT_TRUE(r);
    advance(Duration::milliseconds(50));
    EXPECT_EQ(data(a(), 5), (std::vector<std::string>{"r0"}));
    EXPECT_EQ(data(b(), 7), (std::vector<std::string>{"r0"}));
    EXPECT_EQ(data(b(), 8), (std::vector<std::string>{"r0"}));
}

TEST_F(GroupTest, ReliabilityOneMOfNAndAllCompleteWithThatManyResponders) {
    three_members("g", false);
    for (std::uint32_t k : {1u, 2u, 3u, reliability_all}) {
        const OperationId op = 20 + k % 10;
        multicast(a(), op, 5, "g", k, "k");
        auto r = wait(op);
        ASSERT_TRUE(r) << "k=" << k << ": " << r.error().detail;
        auto responders = decode_responders(*r);
        ASSERT_TRUE(responders);
        EXPECT_EQ(responders->view_id, 4u);
        const std::size_t expected = k == reliability_all ? 3 : k;
        EXPECT_GE(responders->pids.size(), expected) << "k=" << k;
        std::set<Pid> distinct(responders->pids.begin(), responders->pids.end());
        EXPECT_EQ(distinct.size(), responders->pids.size()) << "a responder counted twice";
    }
    auto too_many = (multicast(a(), 30, 5, "g", 4), wait(30));
    ASSERT_FALSE(too_many);
    EXPECT_EQ(too_many.error().code, Errc::invalid_argument);
}

TEST_F(GroupTest, ReliabilityAllFailsWithTimeoutWhenAMemberCannotRespond) {
    three_members("g", false);
    b().down = true;  // b.7 and b.8 cannot respond; a.5 can.
    multicast(a(), 10, 5, "g", reliability_all, "all");
    multicast(a(), 11, 5, "g", 2, "two");
    multicast(a(), 12, 5, "g", 1, "one");
    auto all = wait(10);
    ASSERT_FALSE(all);
    EXPECT_EQ(all.error().code, Errc::timeout);
    EXPECT_NE(all.error().detail.find("responses=1 of 3"), std::string::npos) << all.error().detail;
    auto two = wait(11);
    ASSERT_FALSE(two);
    EXPECT_EQ(two.error().code, Errc::timeout);
    ASSERT_TRUE(wait(12));
}

TEST_F(GroupTest, LostDataIsRetransmittedAndDuplicatesAreDeliveredOnce) {
    three_members("g", false);
    duplicate = true;
    multicast(c(), 10, 9, "g", reliability_all, "dup");
    ASSERT_TRUE(wait(10));
    drop_next = 2;  // The first copies are lost: retransmissions must get through.
    multicast(a(), 11, 5, "g", reliability_all, "lost");
    ASSERT_TRUE(wait(11));
    advance(Duration::milliseconds(500));
    const std::vector<std::string> expected{"dup", "lost"};
    EXPECT_EQ(data(a(), 5), expected);
    EXPECT_EQ(data(b(), 7), expected);
    EXPECT_EQ(data(b(), 8), expected);
    EXPECT_GT(b().engine->counters().duplicates_dropped, 0u);
}

// G25, flow control: the runtime reports what a member took (on_consumed); `take` reports all
// of its deliveries so far.
class GroupCreditTest : public GroupTest {
protected:
    void take(TestNode& n, std::uint64_t local) {
        const Pid member{n.self, local};
        const auto count = static_cast<std::size_t>(
            std::count_if(n.delivered.begin(), n.delivered.end(),
                          [&](const Message& m) { return m.target == member; }));
        const auto fresh = static_cast<std::uint32_t>(count - taken[member]);
        taken[member] = count;
        if (fresh == 0) return;
        Effects o;
        n.engine->on_consumed(member, fresh, clock, o);
        apply(n, o);
    }
    std::map<Pid, std::size_t> taken;
};

// G25: b.8 takes nothing. Its node delivers it at most member_queue_max (4) envelopes and
// neither delivers nor answers more, so a reliability-all multicast waits (the sender's
// resends push back) until b.8 takes some; a reliability-0 copy that finds it full is lost.
// Fails with the credit check in on_data removed (b.8 gets a fifth envelope at once).
TEST_F(GroupCreditTest, MemberOutOfCreditIsNotDeliveredUntilItTakes) {
    three_members("g", false);
    options.member_queue_max = 4;
    for (auto [n, local] : {std::pair{&a(), 5}, std::pair{&b(), 7}, std::pair{&b(), 8}}) {
        take(*n, static_cast<std::uint64_t>(local));
    }
    for (int i = 0; i < 4; ++i) {
        const auto op = static_cast<OperationId>(10 + i);
        multicast(a(), op, 5, "g", reliability_all, "m" + std::to_string(i));
        auto r = wait(op);
        ASSERT_TRUE(r) << i << " " << r.error().detail;
        take(a(), 5);
        take(b(), 7);
    }
    EXPECT_EQ(b().engine->inbox(pid(b().self, 8)), 4u);
    multicast(a(), 20, 5, "g", reliability_all, "m4");
    advance(Duration::milliseconds(500));
    EXPECT_FALSE(done.contains(20)) << "answered for a member out of credit";
    EXPECT_EQ(data(b(), 8).size(), 4u);
    EXPECT_EQ(data(b(), 7).size(), 5u);
    EXPECT_GT(b().engine->counters().credit_dropped, 0u);
    take(b(), 8);  // It drains: the next resend delivers and completes the multicast.
    ASSERT_TRUE(wait(20));
    EXPECT_EQ(data(b(), 8), (std::vector<std::string>{"m0", "m1", "m2", "m3", "m4"}));
    take(b(), 8);
    for (int i = 0; i < 4; ++i) {  // Fill it again; then a reliability-0 copy is lost to it.
        const auto op = static_cast<OperationId>(30 + i);
        multicast(a(), op, 5, "g", 1, "n" + std::to_string(i));
        auto r = wait(op);
        ASSERT_TRUE(r) << i << " " << r.error().detail;
        take(a(), 5);
        take(b(), 7);
    }
    advance(Duration::milliseconds(300));
    ASSERT_EQ(b().engine->inbox(pid(b().self, 8)), 4u);
    multicast(a(), 40, 5, "g", 0, "lost");
    take(b(), 8);
    advance(Duration::milliseconds(500));
    EXPECT_EQ(data(b(), 8).back(), "n3");
    EXPECT_EQ(data(b(), 7).back(), "lost");
    Effects o;  // A process that exits leaves no count behind.
    b().engine->on_process_exited(pid(b().self, 8), clock, o);
    EXPECT_EQ(b().engine->inbox(pid(b().self, 8)), 0u);
}

TEST_F(GroupTest, BoundsRefuseClearly) {
    options.members_max = 2;
    options.multicasts_max = 1;
    ASSERT_TRUE(create(a(), 1, "g", false));
    ASSERT_TRUE(join(a(), 2, 5, "g"));
    ASSERT_TRUE(join(a(), 3, 6, "g"));
    auto full = join(b(), 4, 7, "g");
    ASSERT_FALSE(full);
    EXPECT_EQ(full.error().code, Errc::queue_full);
    a().down = true;               // Nobody can respond to C's multicasts.
    multicast(c(), 6, 9, "g", 1);  // Outstanding: the one multicasts_max allows.
    EXPECT_FALSE(done.contains(6));
    multicast(c(), 7, 9, "g", 1);
    auto blocked = wait(7);
    ASSERT_FALSE(blocked);
    EXPECT_EQ(blocked.error().code, Errc::would_block);
    auto bad_name = join(c(), 8, 9, std::string(65, 'x'));
    ASSERT_FALSE(bad_name);
    EXPECT_EQ(bad_name.error().code, Errc::invalid_argument);
}

TEST_F(GroupTest, MalformedPacketsAreCountedAndDropped) {
    wire::Packet p;
    p.header.kind = wire::PacketKind::group_join;
    p.header.source = pid(c().self, 9);
    p.header.seq = 1;  // No group_name.
    Effects o;
    s().engine->on_packet(c().self, p, clock, o);
    EXPECT_TRUE(o.sends.empty());
    EXPECT_EQ(s().engine->counters().malformed_dropped, 1u);
    GroupPacket hb;
    hb.kind = wire::PacketKind::group_heartbeat;
    hb.source = Pid{c().self, 0};
    hb.target = Pid{s().self, 0};
    hb.body = Bytes{1, 2, 3};
    wire::Packet q = build(hb, 1);
    s().engine->on_packet(c().self, q, clock, o);
    EXPECT_EQ(s().engine->counters().malformed_dropped, 2u);
}

TEST_F(GroupTest, ServerRestartKeepsGroupsAndViews) {
    three_members("g", true);
    s().boot();
    const View* v = s().engine->server_view("g");
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->id, 4u);
    EXPECT_TRUE(v->closed);
    ASSERT_TRUE(join(c(), 1, 9, "g"));
    advance(Duration::milliseconds(300));
    EXPECT_EQ(b().engine->installed("g")->id, 5u);
    EXPECT_EQ(view_ids(b(), 7), (std::vector<std::uint64_t>{3, 4, 5}));
}

// G21: members learn the group is gone, a multicast in flight fails not_found, the answer
// waits for the node that cannot hear (until it is taken for crashed), the record is erased,
// the silent node drops the group when heard again, and the name can be created anew.
TEST_F(GroupTest, DeleteTellsMemberNodesFailsPendingMulticastsAndErasesTheRecord) {
    three_members("g", false);
    ASSERT_TRUE(join(c(), 104, 9, "g"));
    advance(Duration::milliseconds(50));
    c().down = true;  // C cannot respond nor hear the deletion.
    multicast(a(), 200, 5, "g", reliability_all);
    EXPECT_FALSE(done.contains(200)) << "waits for c.9";
    remove(b(), 201, "g");
    EXPECT_FALSE(done.contains(201)) << "answered only once every member node dropped it";
    ASSERT_TRUE(done.contains(200));
    EXPECT_EQ(done.at(200).error().code, Errc::not_found);
    EXPECT_TRUE(told_deleted(a(), 5, "g"));
    EXPECT_TRUE(told_deleted(b(), 7, "g"));
    EXPECT_TRUE(told_deleted(b(), 8, "g"));
    EXPECT_TRUE(dropped(a(), "g"));
    ASSERT_FALSE(a().engine->install_log().empty());
    EXPECT_TRUE(a().engine->install_log().back().dropped) << "the drop is logged after the views";
    EXPECT_EQ(a().engine->install_log().back().group, "g");
    EXPECT_EQ(s().engine->server_view("g"), nullptr) << "a group being deleted is not shown";
    EXPECT_TRUE(s().engine->server_groups().empty());
    auto joined = join(a(), 202, 6, "g");
    ASSERT_FALSE(joined);
    EXPECT_EQ(joined.error().code, Errc::not_found);
    auto early = create(a(), 203, "g", false);
    ASSERT_FALSE(early);
    EXPECT_EQ(early.error().code, Errc::already_exists) << "until the deletion is over";

    auto deleted = wait(201);
    ASSERT_TRUE(deleted) << deleted.error().detail;
    EXPECT_TRUE(floor_only("g"));
    multicast(b(), 204, 7, "g", 1);
    auto sent = wait(204);
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().code, Errc::not_found);

    c().down = false;  // C's heartbeat names the deleted group: it is told to drop it.
    advance(Duration::milliseconds(300));
    EXPECT_TRUE(dropped(c(), "g"));
    EXPECT_TRUE(told_deleted(c(), 9, "g"));

    // Views 1-5, the final view 6: the group made again starts at view 7.
    auto again = create(a(), 205, "g", true);
    ASSERT_TRUE(again);
    EXPECT_EQ(decode_view(*again)->id, 7u);
    ASSERT_TRUE(join(c(), 206, 9, "g"));
    advance(Duration::milliseconds(50));
    ASSERT_NE(c().engine->installed("g"), nullptr);
    EXPECT_EQ(c().engine->installed("g")->id, 8u);
    EXPECT_TRUE(c().engine->installed("g")->closed);
    EXPECT_FALSE(c().engine->deleted("g"));
}

// G21, found by the group simulation: a copy of an earlier view that arrives after the node
// dropped the deleted group is not installed again (the final view stays installed).
TEST_F(GroupTest, LateViewOfADeletedGroupIsNotInstalledAgain) {
    three_members("g", false);
    remove(a(), 500, "g");
    ASSERT_TRUE(wait(500));
    ASSERT_TRUE(dropped(b(), "g"));
    GroupPacket late;
    late.kind = wire::PacketKind::group_view;
    late.source = Pid{s().self, 0};
    late.target = Pid{b().self, 0};
    late.target_incarnation = b().incarnation;
    late.name = "g";
    late.id = 4;
    late.body = encode_view(*decode_view(encode_view(View{
        4,
        false,
        {Member{pid(a().self, 5), 1}, Member{pid(b().self, 7), 1}, Member{pid(b().self, 8), 1}}})));
    wire::Packet p = build(late, s().incarnation);
    const auto before = view_ids(b(), 7);
    Effects o;
    b().engine->on_packet(s().self, p, clock, o);
    apply(b(), o);
    EXPECT_TRUE(dropped(b(), "g"));
    EXPECT_EQ(view_ids(b(), 7), before) << "no view envelope for the late copy";
}

// G4, G21: a retransmitted or duplicated delete gets the same answer, not not_found; a
// deletion interrupted by a server restart goes on from the record; the group stays gone.
TEST_F(GroupTest, DeleteIsAnsweredAlikeWhenRepeatedAndSurvivesServerRestart) {
    three_members("g", false);
    duplicate = true;
    remove(a(), 300, "g");
    auto deleted = wait(300);
    ASSERT_TRUE(deleted) << deleted.error().detail;
    duplicate = false;
    EXPECT_GT(s().engine->counters().duplicates_dropped, 0u);
    auto twice = create(a(), 301, "h", false);
    ASSERT_TRUE(twice);
    ASSERT_TRUE(join(b(), 302, 7, "h"));
    advance(Duration::milliseconds(50));
    b().down = true;  // B hears nothing: the deletion of h waits for it.
    remove(a(), 303, "h");
    advance(Duration::milliseconds(100));
    ASSERT_TRUE(s().disk.contains("group/g/h"));
    s().boot();  // The server restarts mid-deletion; the record says h is being deleted.
    EXPECT_EQ(s().engine->server_view("h"), nullptr);
    EXPECT_EQ(s().engine->server_view("g"), nullptr);
    // A's retransmission reaches the new incarnation while the deletion still waits for B, so
    // it waits too. (Answers are not durable, G4: had h been gone already, it would get
    // not_found, as a create retried across a restart gets already_exists.)
    advance(Duration::milliseconds(200));
    EXPECT_FALSE(done.contains(303));
    b().down = false;
    auto gone = wait(303);
    ASSERT_TRUE(gone) << gone.error().detail;
    EXPECT_TRUE(dropped(b(), "h"));
    EXPECT_TRUE(told_deleted(b(), 7, "h"));
    EXPECT_TRUE(floor_only("g"));
    EXPECT_TRUE(floor_only("h"));
    s().boot();
    EXPECT_TRUE(s().engine->server_groups().empty());
    auto missing = join(a(), 304, 5, "g");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, Errc::not_found);
    Effects o;
    a().engine->on_delete(305, pid(a().self, 1), "g", clock, o);
    apply(a(), o);
    ASSERT_TRUE(done.contains(305));
    EXPECT_EQ(done.at(305).error().code, Errc::not_found);
}

// G21, G14: a sender that hosts no member addressed its multicast with a looked-up view; once
// that view is older than lookup_ttl it asks again, and fails not_found as the group is gone
// (a member that cannot respond keeps the multicast waiting meanwhile).
TEST_F(GroupTest, DeleteFailsAMulticastAddressedWithALookedUpView) {
    options.lookup_ttl = Duration::milliseconds(200);
    three_members("g", false);
    b().down = true;
    multicast(c(), 400, 9, "g", reliability_all);
    advance(Duration::milliseconds(50));
    EXPECT_FALSE(done.contains(400)) << "b.7 and b.8 cannot respond";
    remove(a(), 401, "g");
    auto failed = wait(400, Duration::milliseconds(900));
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code, Errc::not_found) << failed.error().detail;
}

GroupAddress multicast_at(std::uint8_t last) {
    return GroupAddress{AddressKind::multicast, IpGroup{4, {239, 1, 2, last}, 7500}};
}

// G22: a member node joins the group's IP multicast address with its first local member and
// leaves it after the last; a node without members never joins.
TEST_F(GroupTest, MemberNodesJoinTheGroupAddressWithTheFirstMemberAndLeaveAfterTheLast) {
    const GroupAddress address = multicast_at(3);
    three_members("g", false, address);
    EXPECT_EQ(a().joined, (std::set<IpGroup>{address.ip}));
    EXPECT_EQ(b().joined, (std::set<IpGroup>{address.ip}));
    EXPECT_TRUE(c().joined.empty());
    EXPECT_TRUE(s().joined.empty());
    EXPECT_EQ(a().engine->installed("g")->address, address) << "every view carries it";
    ASSERT_TRUE(leave(b(), 10, 7, "g"));
    advance(Duration::milliseconds(50));
    EXPECT_EQ(b().joined, (std::set<IpGroup>{address.ip})) << "b.8 is still a member";
    ASSERT_TRUE(leave(b(), 11, 8, "g"));
    advance(Duration::milliseconds(50));
    EXPECT_TRUE(b().joined.empty());
    remove(c(), 12, "g");
    ASSERT_TRUE(wait(12));
    EXPECT_TRUE(a().joined.empty()) << "left when the group was deleted";
}

// G22: one datagram to the group address for every other member node (with the members it
// names), this node's own members by loopback; responses come back unicast; M-of-N and all
// complete as with a host list.
TEST_F(GroupTest, MulticastGroupSendsOneDatagramToTheAddressAndCollectsResponses) {
    three_members("g", false, multicast_at(3));
    ASSERT_TRUE(join(c(), 9, 9, "g"));
    advance(Duration::milliseconds(50));
    unicast_data = 0;
    multicast(a(), 20, 5, "g", 3, "three");
    auto r = wait(20);
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(address_sends, 1);
    EXPECT_EQ(unicast_data, 0) << "nothing lost: no unicast copy";
    EXPECT_EQ(a().engine->counters().address_sends, 1u);
    advance(Duration::milliseconds(50));
    for (auto [n, local] : {std::pair{&a(), 5}, {&b(), 7}, {&b(), 8}, {&c(), 9}}) {
        EXPECT_EQ(data(*n, static_cast<std::uint64_t>(local)), (std::vector<std::string>{"three"}))
            << local;
    }
    // A node that hosts no member and sends: the datagram reaches every member node.
    multicast(s(), 21, 3, "g", reliability_all, "from outside");
    ASSERT_TRUE(wait(21));
    EXPECT_EQ(address_sends, 2);
    EXPECT_EQ(data(a(), 5).size(), 2u);
}

// G24: a request multicast names its collector in every member's delivery, by host list and
// by the group's address alike; a plain multicast names none. The asker, a member, does not
// get its own request (it waits for the answers: it cannot answer).
TEST_F(GroupTest, RequestMulticastNamesItsCollectorInEveryDelivery) {
    for (const bool by_address : {false, true}) {
        const std::string name = by_address ? "ip" : "hosts";
        done.clear();  // The second group reuses the helper's operation ids.
        three_members(name, false, by_address ? multicast_at(4) : GroupAddress{});
        const Pid collector{a().self, 77};
        Effects o;
        a().engine->on_multicast(40, Pid{a().self, 5}, name, to_bytes("q"), 0, Duration::seconds(1),
                                 clock, o, collector);
        apply(a(), o);
        ASSERT_TRUE(wait(40));
        multicast(a(), 41, 5, name, 0, "plain");
        ASSERT_TRUE(wait(41));
        advance(Duration::milliseconds(50));
        for (auto [n, local] : {std::pair{&a(), 5}, {&b(), 7}, {&b(), 8}}) {
            std::vector<Envelope> got;
            for (auto& e : envelopes(*n, static_cast<std::uint64_t>(local))) {
                if (!e.is_view && e.group == name) got.push_back(e);
            }
            const bool asker = local == 5;
            ASSERT_EQ(got.size(), asker ? 1u : 2u) << name << " " << local;
            if (!asker) {
                EXPECT_EQ(got[0].reply_to, collector) << name << " " << local;
            }
            EXPECT_FALSE(got.back().reply_to.valid()) << name << " " << local;
        }
    }
}

// G24: a request's call completes when it is sent, and the node resends it to the addressed
// members that have not got it (never to the asker) until each has it or its timeout ends.
TEST_F(GroupTest, LostRequestIsResentUntilEveryAddressedMemberHasIt) {
    three_members("g", false);
    ASSERT_TRUE(join(c(), 9, 9, "g"));
    advance(Duration::milliseconds(50));
    const auto retransmits = [&] { return a().engine->counters().retransmits; };
    drop_next = 2;  // The copies to b and c are lost.
    Effects o;
    a().engine->on_multicast(40, Pid{a().self, 5}, "g", to_bytes("q"), 0, Duration::seconds(1),
                             clock, o, Pid{a().self, 77});
    apply(a(), o);
    ASSERT_TRUE(done.contains(40)) << "the call does not wait for the members";
    ASSERT_TRUE(done.at(40));
    advance(Duration::milliseconds(300));
    EXPECT_EQ(data(b(), 7), (std::vector<std::string>{"q"}));
    EXPECT_EQ(data(b(), 8), (std::vector<std::string>{"q"}));
    EXPECT_EQ(data(c(), 9), (std::vector<std::string>{"q"}));
    EXPECT_TRUE(data(a(), 5).empty()) << "not to the asker";
    const auto after = retransmits();
    EXPECT_GT(after, 0u);
    advance(Duration::milliseconds(500));
    EXPECT_EQ(retransmits(), after) << "no resend once every member has it";
    // A member that cannot get it is resent to until the request's timeout, then given up.
    c().down = true;
    a().engine->on_multicast(41, Pid{a().self, 5}, "g", to_bytes("q2"), 0,
                             Duration::milliseconds(500), clock, o, Pid{a().self, 78});
    apply(a(), o);
    ASSERT_TRUE(done.contains(41) && done.at(41));
    advance(Duration::milliseconds(400));
    EXPECT_GT(retransmits(), after);
    advance(Duration::milliseconds(200));
    const auto ended = retransmits();
    advance(Duration::milliseconds(500));
    EXPECT_EQ(retransmits(), ended) << "resends end with the request's timeout";
    EXPECT_EQ(data(b(), 7), (std::vector<std::string>{"q", "q2"}));
    EXPECT_FALSE(done.contains(0)) << "a request's end completes nothing";
}

// G22: members whose node missed the datagram get unicast retransmissions (a host list of
// the nodes that did not answer), so reliability all completes under loss, each delivered once.
TEST_F(GroupTest, RetransmissionsToAMulticastGroupAreUnicastToTheSilentNodes) {
    three_members("g", false, multicast_at(3));
    ASSERT_TRUE(join(c(), 9, 9, "g"));
    advance(Duration::milliseconds(50));
    unicast_data = 0;
    drop_next = 2;  // The loopback copy and the group datagram are lost.
    multicast(a(), 20, 5, "g", reliability_all, "lost");
    auto r = wait(20);
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(address_sends, 1) << "the group datagram is not sent again";
    EXPECT_EQ(unicast_data, 2) << "one retransmission to b, one to c";
    advance(Duration::milliseconds(300));
    EXPECT_EQ(data(b(), 7), (std::vector<std::string>{"lost"}));
    EXPECT_EQ(data(c(), 9), (std::vector<std::string>{"lost"}));
}

// G22: a broadcast group sends one datagram that every node hears; nodes without a member
// named in it drop it (counted not_addressed).
TEST_F(GroupTest, BroadcastGroupReachesEveryNodeAndOnlyMembersDeliver) {
    three_members("g", false, GroupAddress{AddressKind::broadcast, {}});
    EXPECT_TRUE(a().joined.empty()) << "broadcast needs no join";
    multicast(a(), 20, 5, "g", reliability_all, "all");
    ASSERT_TRUE(wait(20));
    EXPECT_EQ(address_sends, 1);
    EXPECT_EQ(c().engine->counters().not_addressed, 1u);
    advance(Duration::milliseconds(50));
    EXPECT_EQ(data(b(), 8), (std::vector<std::string>{"all"}));
}

// G22: with only `multicast` asked the server picks the first free address of 239.193.0.0/16
// (port 7410) for each group; a create with a non-multicast address is refused.
TEST_F(GroupTest, ServerPicksAFreeMulticastAddressAndBadAddressesAreRefused) {
    const GroupAddress pick{AddressKind::multicast, IpGroup{4, {}, 0}};
    auto first = create(a(), 1, "one", false, pick);
    ASSERT_TRUE(first);
    auto second = create(a(), 2, "two", false, pick);
    ASSERT_TRUE(second);
    const auto v1 = decode_view(*first), v2 = decode_view(*second);
    ASSERT_TRUE(v1 && v2);
    EXPECT_EQ(v1->address.ip, (IpGroup{4, {239, 193, 0, 1}, picked_port}));
    EXPECT_EQ(v2->address.ip, (IpGroup{4, {239, 193, 0, 2}, picked_port}));
    const GroupAddress pick6{AddressKind::multicast, IpGroup{6, {}, 0}};
    auto third = create(a(), 3, "six", false, pick6);
    ASSERT_TRUE(third);
    EXPECT_EQ(decode_view(*third)->address.ip.address[0], 0xFF);
    for (const GroupAddress& bad :
         {GroupAddress{AddressKind::multicast, IpGroup{4, {10, 0, 0, 1}, 7500}},
          GroupAddress{AddressKind::multicast, IpGroup{4, {239, 1, 1, 1}, 0}},
          GroupAddress{AddressKind::multicast, IpGroup{5, {239, 1, 1, 1}, 7500}}}) {
        auto refused = create(a(), 4, "bad", false, bad);
        ASSERT_FALSE(refused);
        EXPECT_EQ(refused.error().code, Errc::invalid_argument);
        done.erase(4);
    }
    // The record keeps the address: a restarted server gives the same view.
    s().boot();
    ASSERT_NE(s().engine->server_view("one"), nullptr);
    EXPECT_EQ(s().engine->server_view("one")->address, v1->address);
}

// Coordinated groups (GroupOptions::coordinated; docs/coordination.md C16): views come from
// the backend, not from a server. Member nodes install them in id order (older ones dropped),
// a node without members addresses multicasts with the view it was given, nothing is sent to
// a server (a send to node 0 would find no node here), a deletion is G21 for the members, and
// a group created again (fresh) installs its lower ids.
TEST_F(GroupTest, CoordinatedViewsInstallOnMemberNodesAndAddressMulticasts) {
    options.coordinated = true;  // The engines read their options by reference.
    options.server = NodeId{};
    const Member a5{pid(a().self, 5), a().incarnation};
    const Member b7{pid(b().self, 7), b().incarnation};
    const auto view = [](std::uint64_t id, std::vector<Member> members) {
        return View{id, false, std::move(members), order_fifo, {}};
    };
    for (TestNode* n : {&a(), &b(), &c()}) {
        give(*n, "g", view(1, {}));
        give(*n, "g", view(2, {a5}));
        give(*n, "g", view(3, {a5, b7}));
    }
    EXPECT_EQ(view_ids(a(), 5), (std::vector<std::uint64_t>{2, 3}));
    EXPECT_EQ(view_ids(b(), 7), (std::vector<std::uint64_t>{3}));
    EXPECT_EQ(c().engine->installed("g"), nullptr);  // No member there: not installed.
    give(a(), "g", view(2, {a5}));                   // An older view: dropped.
    EXPECT_EQ(a().engine->installed("g")->id, 3u);
    EXPECT_EQ(view_ids(a(), 5).size(), 2u);

    multicast(c(), 10, 9, "g", reliability_all, "x");
    auto r = wait(10);
    ASSERT_TRUE(r) << r.error().detail;
    auto responders = decode_responders(*r);
    ASSERT_TRUE(responders);
    EXPECT_EQ(responders->view_id, 3u);
    EXPECT_EQ(responders->pids.size(), 2u);
    EXPECT_EQ(data(a(), 5), (std::vector<std::string>{"x"}));
    EXPECT_EQ(data(b(), 7), (std::vector<std::string>{"x"}));
    advance(Duration::seconds(1));  // Members hosted: no heartbeat to a server.

    Effects o;
    a().engine->on_coordinated_delete("g", o);
    apply(a(), o);
    EXPECT_TRUE(told_deleted(a(), 5, "g"));
    EXPECT_TRUE(dropped(a(), "g"));
    multicast(a(), 11, 5, "g", 0);
    auto gone = wait(11);
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().code, Errc::not_found);
    give(a(), "g", view(2, {a5}), true);  // Created again: its ids start afresh.
    ASSERT_NE(a().engine->installed("g"), nullptr);
    EXPECT_EQ(a().engine->installed("g")->id, 2u);
    EXPECT_FALSE(a().engine->deleted("g"));
}

}  // namespace
}  // namespace herald::proto::group

// Unit tests of the ordering engine driven by hand: the lecture's CBCAST example (its four
// vectors) and ABCAST proposal rule replayed step by step, FIFO hold-back, the sequencer's
// order, back-pressure, malformed input, the flush after a crash and views skipped at a
// member's node (O39).
// Layer: tests/unit/proto/order.
#include "proto/order/order_engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>

namespace herald::proto::order {
namespace {

// Nodes 1..n, each hosting member <node>.10, one engine per node; packets wait in `wire` until
// the test lets them through, drops or reorders them.
struct Net {
    struct InFlight {
        NodeId from;
        NodeId to;
        wire::Packet packet;
    };
    Random random{7};
    OrderOptions options;
    std::vector<std::unique_ptr<OrderEngine>> engines;
    std::deque<InFlight> wire;
    std::map<Pid, std::vector<Delivery>> got;
    Time now = Time::zero();
    View view;
    std::size_t fan_outs = 0;  // Sends to several nodes (O38), each put on the wire per node.

    Net(std::size_t n, OrderMode mode, std::uint32_t member_queue_max = 1024) {
        options.member_queue_max = member_queue_max;
        std::vector<Member> members;
        for (std::size_t i = 1; i <= n; ++i) members.push_back(member(i));
        start(n, mode, members, {});
    }
    // Nodes 1..n with the given members (several per node may share it) and group address.
    Net(std::size_t n, OrderMode mode, std::vector<Member> members, group::GroupAddress address) {
        start(n, mode, std::move(members), address);
    }
    void start(std::size_t n, OrderMode mode, std::vector<Member> members,
               group::GroupAddress address) {
        view.id = 1;
        view.address = address;
        view.members = std::move(members);
        std::sort(view.members.begin(), view.members.end());
        for (std::size_t i = 1; i <= n; ++i) {
            engines.push_back(
                std::make_unique<OrderEngine>(EngineContext{NodeId{i}, 1, random, now}, options));
            EXPECT_TRUE(engines.back()->on_create("g", mode).has_value());
        }
        for (std::size_t i = 1; i <= n; ++i) on_view(i, view);
        flush_wire();  // Absolute: the members' first entries (O23a), so none is starting.
    }
    static Member member(std::size_t node) { return Member{Pid{NodeId{node}, 10}, 1}; }
    OrderEngine& engine(std::size_t node) { return *engines.at(node - 1); }
    // The driver's part of O37: a member takes each delivery at once (the engine hears of it
    // by on_consumed), unless it is in `stalled`; then it is owed until take_owed().
    std::set<Pid> stalled;
    std::map<Pid, std::uint32_t> owed;
    // Every input is a batch of its own, as in the simulator (on_batch_end: acks, orders).
    void apply(std::size_t node, Effects& out) {
        engine(node).on_batch_end(now, out);
        for (auto& s : out.sends) {
            // O38: a first transmission names the member nodes (its address or its list).
            if (s.to.kind != Destination::Kind::node) {
                ++fan_outs;
                for (NodeId to : out.nodes_of(s.to)) wire.push_back({NodeId{node}, to, s.copy()});
                continue;
            }
            wire.push_back({NodeId{node}, s.to.node, std::move(s).take()});
        }
        std::map<Pid, std::uint32_t> taken;
        for (auto& d : out.deliveries) {
            auto decoded = decode_delivery(d.message.body);
            ASSERT_TRUE(decoded.has_value());
            if (!decoded->is_view) got[d.message.target].push_back(*decoded);
            ++(stalled.contains(d.message.target) ? owed : taken)[d.message.target];
        }
        out.clear();
        for (const auto& [pid, count] : taken) consume(node, pid, count);
    }
    void consume(std::size_t node, Pid pid, std::uint32_t count) {
        Effects out;
        engine(node).on_consumed(pid, count, now, out);
        apply(node, out);
    }
    // The stalled member of `node` takes everything owed (and is no longer stalled).
    void take_owed(std::size_t node) {
        const Pid pid = member(node).pid;
        stalled.erase(pid);
        const std::uint32_t count = owed[pid];
        owed.erase(pid);
        if (count > 0) consume(node, pid, count);
    }
    void on_view(std::size_t node, const View& v) {
        Effects out;
        engine(node).on_view("g", v, now, out);
        apply(node, out);
    }
    Errc send(std::size_t node, std::uint8_t tag, bool relay = false) {
        return send_from(member(node).pid, tag, relay);
    }
    Errc send_from(Pid sender, std::uint8_t tag, bool relay = false) {
        const std::size_t node = sender.node.value;
        Effects out;
        engine(node).on_multicast(1, sender, "g", Bytes{tag}, now, out, relay);
        const Errc code =
            out.completions.at(0).result ? Errc::ok : out.completions.at(0).result.error().code;
        apply(node, out);
        return code;
    }
    void pass(const InFlight& p) {
        Effects out;
        wire::Packet packet = p.packet;
        engine(p.to.value).on_packet(p.from, packet, now, out);
        apply(p.to.value, out);
    }
    void flush_wire(std::size_t steps_max = 10'000) {
        for (std::size_t i = 0; i < steps_max && !wire.empty(); ++i) {
            InFlight p = std::move(wire.front());
            wire.pop_front();
            pass(p);
        }
    }
    void tick(Duration d) {
        now += d;
        for (std::size_t i = 1; i <= engines.size(); ++i) {
            Effects out;
            engine(i).on_timer(TimerId{1}, now, out);
            apply(i, out);
        }
    }
    // `rounds` rounds of the wire and a 100 ms tick: retransmissions, queries and flushes.
    void settle(int rounds) {
        for (int round = 0; round < rounds; ++round) {
            flush_wire();
            tick(Duration::milliseconds(100));
        }
    }
    // The id of the view node `node`'s member installed, 0 when it installed none.
    std::uint64_t installed_id(std::size_t node) {
        const View* v = engine(node).installed("g", member(node).pid);
        return v == nullptr ? 0 : v->id;
    }
    std::vector<std::uint8_t> tags(std::size_t node) { return tags_of(member(node).pid); }
    std::vector<std::uint8_t> tags_of(Pid pid) {
        std::vector<std::uint8_t> t;
        for (const auto& d : got[pid]) t.push_back(d.payload.at(0));
        return t;
    }
};

// The packets of `kind` among the sends in `out`, parsed as node `at` sent them.
std::vector<OrderPacket> sent_of_kind(const Effects& out, NodeId at, wire::PacketKind kind) {
    std::vector<OrderPacket> found;
    for (const auto& send : out.sends) {
        wire::Packet packet = send.copy();
        auto parsed = parse(at, packet, 64, 64);
        EXPECT_TRUE(parsed.has_value());
        if (parsed && parsed->kind == kind) found.push_back(*parsed);
    }
    return found;
}

// Node 1's order_data entries in `out`, each checked to be one packet for the member nodes 2
// and 3 (O38: to their node list).
std::vector<OrderPacket> entries_for_nodes_2_and_3(const Effects& out) {
    for (const auto& send : out.sends) {
        if (send.packet.header.kind != wire::PacketKind::order_data) continue;
        EXPECT_EQ(send.to.kind, Destination::Kind::nodes);
        EXPECT_EQ(std::vector<NodeId>(out.nodes_of(send.to).begin(), out.nodes_of(send.to).end()),
                  (std::vector<NodeId>{NodeId{2}, NodeId{3}}));
    }
    return sent_of_kind(out, NodeId{1}, wire::PacketKind::order_data);
}

// The lecture's picture, replayed with the rule the engine uses (cbcast_deliverable): A sends
// a message with vector (4, 2, 5, 1); B (3, 2, 5, 1) delivers it; C (2, 2, 5, 1) delays it
// because A[1] = C[1] + 1 does not hold; D (3, 2, 4, 1) delays it because A[3] <= D[3] does
// not hold. Members are A = 0 ... D = 3, as the lecture's 1-based indices 1 ... 4.
TEST(OrderEngine, CbcastReplaysTheLecturesFourProcessExample) {
    std::vector<std::uint64_t> a{3, 2, 5, 1};
    const std::vector<std::uint64_t> b{3, 2, 5, 1}, c{2, 2, 5, 1}, d{3, 2, 4, 1};
    ++a[0];  // "To send a message, a process first increments its own element."
    EXPECT_EQ(a, (std::vector<std::uint64_t>{4, 2, 5, 1}));
    EXPECT_TRUE(cbcast_deliverable(a, b, 0));   // B: deliver.
    EXPECT_FALSE(cbcast_deliverable(a, c, 0));  // C: S[1] = 4 != R[1] + 1 = 3.
    EXPECT_FALSE(cbcast_deliverable(a, d, 0));  // D: S[3] = 5 > R[3] = 4.
    // C receives A's third message: now R[1] = 3 and A's message passes the periodic retest
    // (the same test as on arrival, DESIGN.md §3.10 (b)).
    std::vector<std::uint64_t> c_later = c;
    c_later[0] = 3;
    EXPECT_TRUE(cbcast_deliverable(a, c_later, 0));
    // D receives C's fifth message: R[3] = 5, and A's message passes.
    std::vector<std::uint64_t> d_later = d;
    d_later[2] = 5;
    EXPECT_TRUE(cbcast_deliverable(a, d_later, 0));
}

// The same situation in the engine: member 3 (the lecture's D) has not received member 2's
// message that member 1 (A) had delivered before sending, so A's message waits for it.
TEST(OrderEngine, CbcastHoldsBackAMessageWhoseCauseIsMissing) {
    Net net(3, OrderMode::cbcast);
    ASSERT_EQ(net.send(2, 20), Errc::ok);  // m1 from member 2 (index 1).
    // Let m1 reach node 1 only; hold node 3's copy.
    std::deque<Net::InFlight> held;
    std::deque<Net::InFlight> rest;
    for (auto& p : net.wire) (p.to == NodeId{3} ? held : rest).push_back(p);
    net.wire = rest;
    net.flush_wire();
    EXPECT_EQ(net.tags(1), (std::vector<std::uint8_t>{20}));
    ASSERT_EQ(net.send(1, 10), Errc::ok);  // m2 from member 1, vector (1, 1, 0).
    net.flush_wire();
    EXPECT_TRUE(net.tags(3).empty());  // m2 is held back: S[1] = 1 > R[1] = 0.
    for (auto& p : held) net.wire.push_back(p);
    net.flush_wire();
    EXPECT_EQ(net.tags(3), (std::vector<std::uint8_t>{20, 10}));
    EXPECT_EQ(net.tags(2), (std::vector<std::uint8_t>{20, 10}));
}

// The proposal rule max(Fmax, Pmax) + 1 + i/N as (integer, i), step by step.
TEST(OrderEngine, AbcastProposalRuleReplaysStepByStep) {
    // Member 2 of 3, nothing seen yet: max(0, 0) + 1 + 2/3.
    EXPECT_EQ(abcast_proposal(0, 0, 2), (Number{1, 2}));
    // It proposed 1 + 2/3 (Pmax = 1); a final number 4 + 0/3 was agreed (Fmax = 4).
    EXPECT_EQ(abcast_proposal(4, 1, 2), (Number{5, 2}));
    // It proposed 7 + 2/3 since (Pmax = 7), Fmax is still 4.
    EXPECT_EQ(abcast_proposal(4, 7, 2), (Number{8, 2}));
    // The sender commits the largest of the proposals; numbers order as integer, then i/N.
    const std::vector<Number> proposals{{5, 0}, {5, 2}, {4, 1}};
    EXPECT_EQ(*std::max_element(proposals.begin(), proposals.end()), (Number{5, 2}));
    EXPECT_LT((Number{5, 2}), (Number{6, 0}));
}

TEST(OrderEngine, AbcastConcurrentSendersDeliverInOneOrder) {
    Net net(3, OrderMode::abcast);
    ASSERT_EQ(net.send(1, 1), Errc::ok);
    ASSERT_EQ(net.send(2, 2), Errc::ok);
    ASSERT_EQ(net.send(3, 3), Errc::ok);
    // Reverse the order of everything in flight, then run to quiescence.
    std::reverse(net.wire.begin(), net.wire.end());
    net.flush_wire();
    ASSERT_EQ(net.tags(1).size(), 3u);
    EXPECT_EQ(net.tags(1), net.tags(2));
    EXPECT_EQ(net.tags(1), net.tags(3));
}

TEST(OrderEngine, FifoHoldsBackOutOfOrderMessagesAndDropsDuplicates) {
    Net net(2, OrderMode::fifo);
    ASSERT_EQ(net.send(1, 1), Errc::ok);
    ASSERT_EQ(net.send(1, 2), Errc::ok);
    ASSERT_EQ(net.wire.size(), 2u);
    Net::InFlight first = net.wire.front(), second = net.wire.back();
    net.wire.clear();
    net.pass(second);
    EXPECT_TRUE(net.tags(2).empty());
    net.pass(first);
    net.pass(first);  // A duplicate.
    EXPECT_EQ(net.tags(2), (std::vector<std::uint8_t>{1, 2}));
    EXPECT_GE(net.engine(2).counters().duplicates_dropped, 1u);
}

TEST(OrderEngine, RetransmitsUntilAcknowledged) {
    Net net(2, OrderMode::fifo);
    ASSERT_EQ(net.send(1, 1), Errc::ok);
    net.wire.clear();  // Lost.
    net.tick(Duration::milliseconds(200));
    net.flush_wire();
    EXPECT_EQ(net.tags(2), (std::vector<std::uint8_t>{1}));
    EXPECT_GE(net.engine(1).counters().retransmits, 1u);
    net.tick(Duration::milliseconds(200));
    net.flush_wire();  // O35: member 2 asks member 1 for its done vector, once.
    net.tick(Duration::milliseconds(200));
    EXPECT_TRUE(net.wire.empty());  // Acknowledged and stable: nothing more to send.
}

// O9: a member that acknowledges nothing of a retransmission round gets half as many entries
// the next round (down to one), and twice as many after a round with progress, so that a
// receiver that cannot take a whole batch (its reassembly slots full of fragments) still
// gets entries through.
TEST(OrderEngine, RetransmissionBurstHalvesWithoutProgressAndDoublesWithIt) {
    Net net(2, OrderMode::fifo);
    const std::uint32_t window = net.options.send_window_max;
    for (std::uint32_t i = 0; i < window; ++i) ASSERT_EQ(net.send(1, 1), Errc::ok);
    net.wire.clear();  // Every copy lost.
    const auto round = [&] {
        net.tick(Duration::milliseconds(100));
        std::size_t data = 0;
        for (const auto& p : net.wire) {
            if (p.to == NodeId{2} && p.packet.header.kind == wire::PacketKind::order_data) ++data;
        }
        return data;
    };
    std::vector<std::size_t> lossy;
    for (int i = 0; i < 8; ++i) {
        lossy.push_back(round());
        net.wire.clear();  // Lost again.
    }
    EXPECT_EQ(lossy, (std::vector<std::size_t>{64, 32, 16, 8, 4, 2, 1, 1}));
    std::vector<std::size_t> healed;
    while (net.tags(2).size() < window && healed.size() < 20) {
        healed.push_back(round());
        net.flush_wire();
    }
    EXPECT_EQ(healed, (std::vector<std::size_t>{1, 2, 4, 8, 16, 32, 1}));
    EXPECT_EQ(net.tags(2).size(), window);
}

// O35: acks carry only the done entries that changed since the last ack to that member; an
// answer to a probe carries the whole vector.
TEST(OrderEngine, AcksCarryOnlyChangedDoneEntriesAndAnswersTheWholeVector) {
    Net net(3, OrderMode::fifo);
    ASSERT_EQ(net.send(1, 1), Errc::ok);
    net.flush_wire();
    ASSERT_EQ(net.send(1, 2), Errc::ok);
    std::vector<OrderPacket> acks;
    for (auto& p : net.wire) {
        Effects out;
        net.engine(p.to.value).on_packet(p.from, p.packet, net.now, out);
        net.engine(p.to.value).on_batch_end(net.now, out);
        for (auto& a : sent_of_kind(out, p.to, wire::PacketKind::order_ack)) acks.push_back(a);
    }
    net.wire.clear();
    ASSERT_EQ(acks.size(), 2u);  // From members 2 and 3 to member 1.
    for (const auto& a : acks) {
        using Done = std::vector<std::pair<std::uint32_t, std::uint64_t>>;
        EXPECT_EQ(a.done, (Done{{0, 2}}));  // Only member 1's stream moved (1 -> 2).
        EXPECT_FALSE(a.full);
    }
    OrderPacket probe;
    probe.kind = wire::PacketKind::order_ack;
    probe.source = Net::member(1);
    probe.target = Net::member(2);
    probe.group = "g";
    probe.view_id = 1;
    probe.probe = true;
    net.pass({NodeId{1}, NodeId{2}, build(probe)});
    ASSERT_EQ(net.wire.size(), 1u);
    wire::Packet answer_packet = net.wire.front().packet;
    auto answer = parse(NodeId{2}, answer_packet, 64, 64);
    ASSERT_TRUE(answer.has_value());
    EXPECT_TRUE(answer->full);
    EXPECT_FALSE(answer->probe);
    EXPECT_EQ(answer->done.size(), 3u);
}

// O6: a receiver acknowledges once per batch of inputs, cumulatively: three order_data of one
// stream taken in one batch get one order_ack (ack 3), sent at the batch's end, not three.
TEST(OrderEngine, AcksOncePerStreamPerBatch) {
    Net net(3, OrderMode::fifo);
    for (std::uint8_t tag = 1; tag <= 3; ++tag) ASSERT_EQ(net.send(1, tag), Errc::ok);
    Effects out;
    for (auto& p : net.wire) {
        if (p.to == NodeId{2}) net.engine(2).on_packet(p.from, p.packet, net.now, out);
    }
    EXPECT_TRUE(out.sends.empty());  // Nothing before the batch's end.
    net.engine(2).on_batch_end(net.now, out);
    ASSERT_EQ(out.sends.size(), 1u);
    wire::Packet packet = std::move(out.sends.front()).take();
    auto ack = parse(NodeId{2}, packet, 64, 64);
    ASSERT_TRUE(ack.has_value());
    EXPECT_EQ(ack->kind, wire::PacketKind::order_ack);
    EXPECT_EQ(ack->ack, 3u);
    EXPECT_EQ(out.deliveries.size(), 3u);  // FIFO: delivered as processed.
}

// O17: the sequencer orders a batch with one `orders` entry: three messages of member 2 and
// one of member 3 processed in one batch make one entry of two runs, and every member delivers
// them in that order.
TEST(OrderEngine, SequencerOrdersABatchWithOneEntry) {
    Net net(3, OrderMode::sequencer);
    for (std::uint8_t tag = 1; tag <= 3; ++tag) ASSERT_EQ(net.send(2, tag), Errc::ok);
    ASSERT_EQ(net.send(3, 4), Errc::ok);
    std::deque<Net::InFlight> rest;
    Effects out;
    for (auto& p : net.wire) {
        if (p.to == NodeId{1}) {
            net.engine(1).on_packet(p.from, p.packet, net.now, out);
        } else {
            rest.push_back(p);
        }
    }
    net.engine(1).on_batch_end(net.now, out);
    const std::vector<OrderPacket> entries = entries_for_nodes_2_and_3(out);
    ASSERT_EQ(entries.size(), 1u);  // One entry in one packet, for members 2 and 3 (O38).
    EXPECT_EQ(entries[0].entry.type, EntryType::orders);
    EXPECT_EQ(entries[0].entry.runs, (std::vector<OrderRun>{{1, 1, 3}, {2, 1, 1}}));
    net.wire = rest;
    net.apply(1, out);
    net.flush_wire();
    for (std::size_t node = 1; node <= 3; ++node) {
        EXPECT_EQ(net.tags(node), (std::vector<std::uint8_t>{1, 2, 3, 4})) << "node " << node;
    }
}

// O15: a sender commits the messages whose last proposals came in one batch with one
// `commits` entry: member 1's three messages, every proposal taken in one batch, make one entry
// of three commits (to members 2 and 3), and every member delivers 1, 2, 3.
TEST(OrderEngine, AbcastCommitsABatchWithOneEntry) {
    Net net(3, OrderMode::abcast);
    for (std::uint8_t tag = 1; tag <= 3; ++tag) ASSERT_EQ(net.send(1, tag), Errc::ok);
    std::deque<Net::InFlight> proposals;
    while (!net.wire.empty()) {  // Members 2 and 3 process the data and propose.
        Net::InFlight p = std::move(net.wire.front());
        net.wire.pop_front();
        if (p.to == NodeId{1}) {
            proposals.push_back(std::move(p));
        } else {
            net.pass(p);
        }
    }
    Effects out;
    for (auto& p : proposals) net.engine(1).on_packet(p.from, p.packet, net.now, out);
    net.engine(1).on_batch_end(net.now, out);
    const std::vector<OrderPacket> entries = entries_for_nodes_2_and_3(out);
    ASSERT_EQ(entries.size(), 1u);  // One entry in one packet, for members 2 and 3 (O38).
    EXPECT_EQ(entries[0].entry.type, EntryType::commits);
    EXPECT_EQ(entries[0].entry.commits.size(), 3u);
    net.apply(1, out);
    net.flush_wire();
    for (std::size_t node = 1; node <= 3; ++node) {
        EXPECT_EQ(net.tags(node), (std::vector<std::uint8_t>{1, 2, 3})) << "node " << node;
    }
}

// O13: a member proposes for every data message it processed in a batch in one
// order_propose per sender: member 2, taking member 1's three messages in one batch, sends
// member 1 one packet with three proposals, and member 1 takes all three.
TEST(OrderEngine, AbcastProposesForABatchInOnePacket) {
    Net net(3, OrderMode::abcast);
    for (std::uint8_t tag = 1; tag <= 3; ++tag) ASSERT_EQ(net.send(1, tag), Errc::ok);
    Effects out;
    for (auto& p : net.wire) {
        if (p.to == NodeId{2}) net.engine(2).on_packet(p.from, p.packet, net.now, out);
    }
    net.engine(2).on_batch_end(net.now, out);
    std::vector<OrderPacket> proposals =
        sent_of_kind(out, NodeId{2}, wire::PacketKind::order_propose);
    ASSERT_EQ(proposals.size(), 1u);
    EXPECT_EQ(proposals[0].seq, 1u);
    ASSERT_EQ(proposals[0].more.size(), 2u);
    EXPECT_EQ(proposals[0].more[0].first, 2u);
    EXPECT_EQ(proposals[0].more[1].first, 3u);
    std::erase_if(net.wire, [](const Net::InFlight& p) { return p.to == NodeId{2}; });
    net.apply(2, out);
    net.flush_wire();
    for (std::size_t node = 1; node <= 3; ++node) {
        EXPECT_EQ(net.tags(node), (std::vector<std::uint8_t>{1, 2, 3})) << "node " << node;
    }
}

TEST(OrderEngine, SequencerOrdersEveryMembersMessages) {
    Net net(3, OrderMode::sequencer);
    ASSERT_EQ(net.send(3, 3), Errc::ok);
    ASSERT_EQ(net.send(2, 2), Errc::ok);
    std::reverse(net.wire.begin(), net.wire.end());
    net.flush_wire();
    ASSERT_EQ(net.tags(1).size(), 2u);
    EXPECT_EQ(net.tags(1), net.tags(2));
    EXPECT_EQ(net.tags(1), net.tags(3));
}

TEST(OrderEngine, AbsoluteDeliversByTimestampOnceEveryStreamPassedIt) {
    Net net(3, OrderMode::absolute);
    net.now = Time::zero() + Duration::milliseconds(10);
    ASSERT_EQ(net.send(2, 2), Errc::ok);
    net.now = Time::zero() + Duration::milliseconds(11);
    ASSERT_EQ(net.send(1, 1), Errc::ok);
    net.flush_wire();
    for (int i = 0; i < 5; ++i) {
        net.tick(Duration::milliseconds(50));
        net.flush_wire();
    }
    EXPECT_EQ(net.tags(1), (std::vector<std::uint8_t>{2, 1}));
    EXPECT_EQ(net.tags(3), (std::vector<std::uint8_t>{2, 1}));
}

// O25: a member that receives a message its stream has not passed answers with a null at
// once, timestamped at least the message's, so an idle group delivers within about a round
// trip, with no tick; a second message within null_interval_min gets its null when the
// interval ends (the timer), not one null per message.
TEST(OrderEngine, AbsoluteIdleMembersAnswerWithANullAtOnceAtMostOnePerInterval) {
    Net net(3, OrderMode::absolute);
    net.engine(1).on_clock(Duration::milliseconds(-5));  // Behind: its null takes the floor.
    net.now = Time::zero() + Duration::milliseconds(10);
    ASSERT_EQ(net.send(2, 2), Errc::ok);
    net.flush_wire();  // No tick.
    for (std::size_t node = 1; node <= 3; ++node) {
        EXPECT_EQ(net.tags(node), (std::vector<std::uint8_t>{2})) << node;
    }
    net.now += Duration::milliseconds(5);
    ASSERT_EQ(net.send(2, 3), Errc::ok);
    ASSERT_EQ(net.send(2, 4), Errc::ok);
    net.flush_wire();
    std::size_t nulls = 0;
    for (std::size_t node = 1; node <= 3; ++node) {
        EXPECT_EQ(net.tags(node), (std::vector<std::uint8_t>{2, 3})) << node;
        const Endpoint* ep = net.engine(node).endpoint("g", Net::member(node).pid);
        nulls += ep->out.next_seq - 1;
    }
    // Member 2's three messages; from members 1 and 3 one null per burst each (two bursts);
    // every member's first entry in the view (O23a).
    EXPECT_EQ(nulls, 3u + 4u + 3u);
    net.tick(net.options.null_interval_min);
    net.flush_wire();
    for (std::size_t node = 1; node <= 3; ++node) {
        EXPECT_EQ(net.tags(node), (std::vector<std::uint8_t>{2, 3, 4})) << node;
    }
}

// O23: a survivor whose clock is behind keeps its timestamps above what it received in the
// old view, so no member's deliveries step back in timestamp at the view change.
TEST(OrderEngine, AbsoluteTimestampsDoNotStepBackAtAViewChange) {
    Net net(3, OrderMode::absolute);
    net.engine(1).on_clock(Duration::milliseconds(-8));
    net.now = Time::zero() + Duration::milliseconds(10);
    ASSERT_EQ(net.send(2, 2), Errc::ok);  // Timestamp 10 ms.
    net.flush_wire();
    View next = net.view;
    next.id = 2;
    for (std::size_t node = 1; node <= 3; ++node) net.on_view(node, next);
    net.flush_wire();
    ASSERT_NE(net.engine(1).installed("g", Net::member(1).pid), nullptr);
    ASSERT_EQ(net.engine(1).installed("g", Net::member(1).pid)->id, 2u);
    net.now += Duration::milliseconds(1);
    ASSERT_EQ(net.send(1, 1), Errc::ok);  // Its clock reads 3 ms.
    net.flush_wire();
    for (std::size_t node = 1; node <= 3; ++node) {
        const auto& got = net.got[Net::member(node).pid];
        ASSERT_EQ(got.size(), 2u) << node;
        EXPECT_LT(got[0].timestamp, got[1].timestamp) << node;
    }
}

// O23a: a member that joins (no old view) with its clock far behind may not multicast until it
// has every other member's first entry in the view, and then timestamps above them, so its
// first message is not delivered with a timestamp below the old view's deliveries.
TEST(OrderEngine, AbsoluteJoinerWaitsForTheFirstEntriesAndTimestampsAboveThem) {
    Net net(2, OrderMode::absolute);
    net.now = Time::zero() + Duration::milliseconds(10);
    ASSERT_EQ(net.send(1, 1), Errc::ok);  // Timestamp 10 ms, delivered in view 1.
    net.flush_wire();
    ASSERT_EQ(net.tags(2), (std::vector<std::uint8_t>{1}));
    net.engines.push_back(std::make_unique<OrderEngine>(
        EngineContext{NodeId{3}, 1, net.random, net.now}, net.options));
    ASSERT_TRUE(net.engine(3).on_create("g", OrderMode::absolute).has_value());
    net.engine(3).on_clock(Duration::milliseconds(-9));  // Its clock reads 1 ms.
    View next = net.view;
    next.id = 2;
    next.members.push_back(Net::member(3));
    for (std::size_t node = 1; node <= 3; ++node) net.on_view(node, next);
    EXPECT_EQ(net.send(3, 3), Errc::would_block);  // The others' first entries are in flight.
    net.flush_wire();
    ASSERT_EQ(net.engine(1).installed("g", Net::member(1).pid)->id, 2u);
    ASSERT_EQ(net.send(3, 3), Errc::ok);
    net.flush_wire();
    for (int i = 0; i < 3; ++i) {
        net.tick(Duration::milliseconds(50));
        net.flush_wire();
    }
    for (std::size_t node = 1; node <= 2; ++node) {
        const auto& got = net.got[Net::member(node).pid];
        ASSERT_EQ(got.size(), 2u) << node;
        EXPECT_LT(got[0].timestamp, got[1].timestamp) << node;
    }
    EXPECT_EQ(net.tags(3), (std::vector<std::uint8_t>{3}));
}

// O23-O26 with clocks that are not the engines' `now`: timestamps come from now + the offset
// the driver gives (on_clock). Node 1's clock is 2 ms behind node 2's, within skew_bound: the
// earlier real send (node 1, at its 9 ms) comes first. Node 3's clock is 50 ms ahead: its
// messages are counted as skew violations at the others, and every member still delivers
// the same order (by timestamp).
TEST(OrderEngine, AbsoluteTimestampsComeFromTheDriversClockAndSkewIsCounted) {
    Net net(3, OrderMode::absolute);
    net.engine(1).on_clock(Duration::milliseconds(-2));
    net.engine(3).on_clock(Duration::milliseconds(50));
    net.now = Time::zero() + Duration::milliseconds(10);
    ASSERT_EQ(net.send(2, 2), Errc::ok);  // Timestamp 10 ms.
    net.now = Time::zero() + Duration::milliseconds(11);
    ASSERT_EQ(net.send(1, 1), Errc::ok);  // Timestamp 9 ms: before node 2's.
    ASSERT_EQ(net.send(3, 3), Errc::ok);  // Timestamp 61 ms.
    net.flush_wire();
    for (int i = 0; i < 5; ++i) {
        net.tick(Duration::milliseconds(50));
        net.flush_wire();
    }
    const std::vector<std::uint8_t> order{1, 2, 3};
    for (std::size_t node = 1; node <= 3; ++node) EXPECT_EQ(net.tags(node), order) << node;
    EXPECT_GE(net.engine(1).counters().skew_violations, 1u);
    EXPECT_GE(net.engine(2).counters().skew_violations, 1u);
    EXPECT_EQ(net.engine(3).counters().skew_violations, 0u);  // The others are behind it.
}

TEST(OrderEngine, FullSendWindowIsWouldBlock) {
    Net net(2, OrderMode::fifo);
    for (std::uint32_t i = 0; i < net.options.send_window_max; ++i) {
        ASSERT_EQ(net.send(1, 1), Errc::ok);
    }
    EXPECT_EQ(net.send(1, 1), Errc::would_block);
    net.flush_wire();
    EXPECT_EQ(net.send(1, 1), Errc::ok);
}

// O35: one member of a three-member view streams three times the old per-view cap (4,096) in
// one view, every member acknowledging: every member delivers all of them in order, entries
// every member delivered are discarded (stable), and no member retains more than retained_max
// entries at any time. Before stability-based discarding the sender got would_block for ever
// after 4,096 messages.
TEST(OrderEngine, StreamsForeverInOneViewWithBoundedRetention) {
    for (auto mode : {OrderMode::fifo, OrderMode::sequencer, OrderMode::abcast, OrderMode::cbcast,
                      OrderMode::absolute}) {
        SCOPED_TRACE(std::string(mode_name(mode)));
        Net net(3, mode);
        constexpr std::uint32_t total = 3 * 4096;
        std::size_t retained_max = 0;
        const auto retained = [&] {
            std::size_t worst = 0;
            for (std::size_t node = 1; node <= 3; ++node) {
                const Endpoint* ep = net.engine(node).endpoint("g", Net::member(node).pid);
                std::size_t n = 0;
                for (const auto& s : ep->streams) n += s.entries.size();
                worst = std::max(worst, n);
            }
            return worst;
        };
        std::uint32_t sent = 0;
        for (std::uint32_t stuck = 0; sent < total && stuck < 100;) {
            Effects out;
            Bytes body(4);
            for (std::size_t b = 0; b < 4; ++b)
                body[b] = static_cast<std::uint8_t>(sent >> (8 * b));
            net.engine(1).on_multicast(1, Net::member(1).pid, "g", std::move(body), net.now, out);
            const bool ok = out.completions.at(0).result.has_value();
            net.apply(1, out);
            if (ok) {
                ++sent;
                stuck = 0;
                continue;
            }
            ++stuck;  // would_block: let the window drain.
            net.flush_wire();
            net.tick(Duration::milliseconds(100));
            net.flush_wire();
            retained_max = std::max(retained_max, retained());
        }
        ASSERT_EQ(sent, total) << "would_block for ever";
        for (int i = 0; i < 10; ++i) {
            net.flush_wire();
            net.tick(Duration::milliseconds(100));
        }
        net.flush_wire();
        for (std::size_t node = 1; node <= 3; ++node) {
            const auto& got = net.got[Net::member(node).pid];
            ASSERT_EQ(got.size(), total) << node;
            for (std::uint32_t i = 0; i < total; ++i) {
                std::uint32_t v = 0;
                for (std::size_t b = 0; b < 4; ++b)
                    v |= std::uint32_t{got[i].payload.at(b)} << (8 * b);
                ASSERT_EQ(v, i) << node;
            }
            EXPECT_GE(net.engine(node).counters().stable_discarded, total) << node;
        }
        EXPECT_LE(retained_max, net.options.retained_max);
        EXPECT_EQ(retained(), 0u);  // Quiet: every entry is stable, and discarded.
    }
}

// O35: a full done vector that is not one entry per member of the view, an index beyond the
// view, or more of the target's stream done than the ack says received, is malformed (O4).
// O37, flow control: member 3 takes nothing while member 1 multicasts. Its engine delivers at
// most member_queue_max (4) into its inbox, then takes no more entries (counted, not acked),
// so member 1's window fills and its multicasts are refused would_block; once member 3 takes
// what it owes, the senders' retransmissions bring the rest: every message exactly once, in
// order, in every mode. Fails with the credit check in on_data or in the delivery loops gone.
TEST(OrderEngine, StalledMemberPushesSendersBackAndGetsEverythingAfterItDrains) {
    for (auto mode : {OrderMode::fifo, OrderMode::sequencer, OrderMode::abcast, OrderMode::cbcast,
                      OrderMode::absolute}) {
        SCOPED_TRACE(std::string(mode_name(mode)));
        Net net(3, mode, 4);
        const Pid slow = Net::member(3).pid;
        net.stalled.insert(slow);
        std::uint32_t sent = 0;
        for (std::uint32_t stuck = 0; stuck < 20;) {
            if (net.send(1, static_cast<std::uint8_t>(sent)) == Errc::ok) {
                ++sent;
                stuck = 0;
            } else {
                ++stuck;
            }
            net.flush_wire();
            net.tick(Duration::milliseconds(100));
            net.flush_wire();
            ASSERT_LE(net.engine(3).inbox(slow), 4u);
            ASSERT_LE(net.tags(3).size(), 4u);
        }
        // Pushed back: at most the send window beyond what member 3 took while it had credit.
        EXPECT_LE(sent, net.options.send_window_max + 8);
        EXPECT_GT(net.engine(3).counters().credit_dropped, 0u);
        EXPECT_EQ(net.engine(3).counters().credit_stalls, 1u);
        net.take_owed(3);
        for (int i = 0; i < 40 && net.tags(3).size() < sent; ++i) {
            net.flush_wire();
            net.tick(Duration::milliseconds(100));
        }
        std::vector<std::uint8_t> expected(sent);
        for (std::uint32_t i = 0; i < sent; ++i) expected[i] = static_cast<std::uint8_t>(i);
        EXPECT_EQ(net.tags(3), expected);
        EXPECT_EQ(net.tags(2), expected);
        EXPECT_EQ(net.engine(3).inbox(slow), 0u);
        EXPECT_EQ(net.send(1, 200), Errc::ok);  // The window is open again.
    }
}

// O37: the credit also stops deliveries that one entry releases at once. Member 3 holds entries
// 2..10 of member 1's stream (entry 1 was lost) while it has room for 4; when entry 1 comes,
// it delivers 4 and holds the rest back until it takes them. Fails with the credit checks of
// the delivery loops (process_fifo, deliver_cbcast, deliver_sequencer) removed.
TEST(OrderEngine, CreditStopsABurstOfDeliveriesThatOneEntryReleases) {
    for (auto mode : {OrderMode::fifo, OrderMode::cbcast, OrderMode::sequencer}) {
        SCOPED_TRACE(std::string(mode_name(mode)));
        Net net(3, mode, 4);
        const Pid slow = Net::member(3).pid;
        net.stalled.insert(slow);
        for (std::uint8_t tag = 0; tag < 10; ++tag) ASSERT_EQ(net.send(1, tag), Errc::ok);
        std::erase_if(net.wire, [](const Net::InFlight& p) {
            return p.to == NodeId{3} && p.packet.header.kind == wire::PacketKind::order_data &&
                   p.packet.header.seq == 1;
        });
        net.flush_wire();
        EXPECT_TRUE(net.tags(3).empty());
        net.tick(Duration::milliseconds(100));  // Entry 1 again: 1..10 are contiguous.
        net.flush_wire();
        EXPECT_EQ(net.tags(3), (std::vector<std::uint8_t>{0, 1, 2, 3}));
        EXPECT_EQ(net.engine(3).inbox(slow), 4u);
        net.take_owed(3);
        for (int i = 0; i < 5; ++i) {
            net.flush_wire();
            net.tick(Duration::milliseconds(100));
        }
        EXPECT_EQ(net.tags(3), (std::vector<std::uint8_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
    }
}

// O37: a stalled member never holds up a view change. Member 3 is out of credit with messages
// held back when member 2 crashes; the flush's deliveries go to it regardless of credit, so it
// installs view 2 with member 1, and both delivered the same messages of view 1.
TEST(OrderEngine, StalledMemberStillFlushesAndInstallsTheNextView) {
    Net net(3, OrderMode::abcast, 4);
    const Pid slow = Net::member(3).pid;
    net.stalled.insert(slow);
    std::uint32_t sent = 0;
    for (int round = 0; round < 20; ++round) {
        if (net.send(1, static_cast<std::uint8_t>(sent)) == Errc::ok) ++sent;
        net.flush_wire();
        net.tick(Duration::milliseconds(100));
        net.flush_wire();
    }
    ASSERT_LE(net.tags(3).size(), 4u);
    View next;
    next.id = 2;
    next.members = {Net::member(1), Net::member(3)};
    net.on_view(1, next);
    net.on_view(3, next);
    for (int i = 0; i < 5; ++i) {
        net.flush_wire();
        net.tick(Duration::milliseconds(100));
    }
    ASSERT_NE(net.engine(3).installed("g", slow), nullptr);
    EXPECT_EQ(net.engine(3).installed("g", slow)->id, 2u);
    EXPECT_EQ(net.engine(1).installed("g", Net::member(1).pid)->id, 2u);
    EXPECT_EQ(net.tags(3), net.tags(1));       // The same messages of view 1, before view 2.
    EXPECT_GT(net.engine(3).inbox(slow), 4u);  // The flush went beyond the credit.
    net.take_owed(3);
    EXPECT_EQ(net.send(3, 100), Errc::ok);
    net.flush_wire();
    EXPECT_EQ(net.tags(1).back(), 100);
}

TEST(OrderEngine, MalformedDoneVectorsAreDropped) {
    Net net(3, OrderMode::fifo);
    ASSERT_EQ(net.send(1, 1), Errc::ok);
    net.wire.clear();
    using Done = std::vector<std::pair<std::uint32_t, std::uint64_t>>;
    const auto ack = [&](Done done, bool full, std::uint64_t acked) {
        OrderPacket m;
        m.kind = wire::PacketKind::order_ack;
        m.source = Net::member(2);
        m.target = Net::member(1);
        m.group = "g";
        m.view_id = 1;
        m.ack = acked;
        m.done = std::move(done);
        m.full = full;
        net.pass({NodeId{2}, NodeId{1}, build(m)});
    };
    ack({{0, 1}, {1, 0}}, true, 1);                  // Two entries in a view of three.
    ack({{0, 1}, {1, 0}, {2, 0}, {3, 0}}, true, 1);  // Four.
    ack({{0, 1}, {1, 0}, {2, 0}}, true, 0);  // Member 1's stream done beyond what was received.
    ack({{0, 1}}, false, 0);                 // The same, as a change.
    ack({{3, 1}}, false, 1);                 // Index 3 in a view of three.
    EXPECT_EQ(net.engine(1).counters().malformed_dropped, 5u);
    ack({{0, 1}, {1, 0}, {2, 0}}, true, 1);
    ack({{0, 1}}, false, 1);
    EXPECT_EQ(net.engine(1).counters().malformed_dropped, 5u);
    const Endpoint* ep = net.engine(1).endpoint("g", Net::member(1).pid);
    EXPECT_EQ(ep->peer_done[1], (std::vector<std::uint64_t>{1, 0, 0}));
}

TEST(OrderEngine, MalformedPacketsAreCountedAndDropped) {
    Net net(2, OrderMode::fifo);
    ASSERT_EQ(net.send(1, 1), Errc::ok);
    Net::InFlight p = net.wire.front();
    p.packet.extensions.clear();  // No group_name, no view_id.
    net.pass(p);
    p = net.wire.front();
    p.from = NodeId{2};  // Not the source's node.
    net.pass(p);
    EXPECT_EQ(net.engine(2).counters().malformed_dropped, 2u);
    EXPECT_TRUE(net.tags(2).empty());
}

// Member 3 crashes after member 1's message reached it but not member 2: the next view's
// flush gives member 2 the message too, and both install the view.
TEST(OrderEngine, FlushDeliversWhatOnlySomeSurvivorsReceived) {
    Net net(3, OrderMode::abcast);
    ASSERT_EQ(net.send(1, 1), Errc::ok);
    net.wire.clear();                       // Every copy lost...
    net.tick(Duration::milliseconds(200));  // ...and sent again:
    std::deque<Net::InFlight> to_two;
    std::deque<Net::InFlight> others;
    for (auto& p : net.wire) (p.to == NodeId{2} ? to_two : others).push_back(p);
    net.wire = others;  // Node 2's copy is lost again; node 3 proposes, then crashes.
    net.flush_wire();
    net.wire.clear();
    View next;
    next.id = 2;
    next.members = {Net::member(1), Net::member(2)};
    net.on_view(1, next);
    net.on_view(2, next);
    net.flush_wire();
    EXPECT_EQ(net.tags(1), (std::vector<std::uint8_t>{1}));
    EXPECT_EQ(net.tags(2), (std::vector<std::uint8_t>{1}));
    ASSERT_NE(net.engine(2).installed("g", Net::member(2).pid), nullptr);
    EXPECT_EQ(net.engine(2).installed("g", Net::member(2).pid)->id, 2u);
    EXPECT_EQ(net.send(2, 2), Errc::ok);
    net.flush_wire();
    EXPECT_EQ(net.tags(1), (std::vector<std::uint8_t>{1, 2}));
}

// O29, the views queued during a flush are taken one by one when it ends: members 2 and 3 flush
// view 1 toward view 2 (members 1 and 4 crashed) while views 3 (node 1 restarted), 4 (node 4
// restarted) and 5 (node 1 crashed again) arrive. Views 3 and 4 keep every member of the view
// before them and wait in the queue; view 5 drops view 3's and 4's coordinator, so it replaces
// them. Taking only view 3 (it keeps all of view 2) and stopping there left members 2 and 3
// reporting for ever to the dead coordinator of view 3 (O34 (7), herald-sim --scenario=order
// --nodes 4 --messages 4 --crash 3 --safety-ms 3000 --seed 20168).
TEST(OrderEngine, QueuedViewThatDropsTheNextCoordinatorReplacesIt) {
    Net net(4, OrderMode::fifo);
    ASSERT_EQ(net.send(2, 1), Errc::ok);
    net.flush_wire();
    const Member restarted_one{Pid{NodeId{1}, 10}, 2};
    const Member restarted_four{Pid{NodeId{4}, 10}, 2};
    const auto view = [](std::uint64_t id, std::vector<Member> members) {
        View v;
        v.id = id;
        v.members = std::move(members);
        return v;
    };
    const View two = view(2, {Net::member(2), Net::member(3)});
    const View three = view(3, {restarted_one, Net::member(2), Net::member(3)});
    const View four = view(4, {restarted_one, Net::member(2), Net::member(3), restarted_four});
    const View five = view(5, {Net::member(2), Net::member(3), restarted_four});
    for (const View* v : {&two, &three, &four, &five}) {
        net.on_view(2, *v);
        net.on_view(3, *v);
        if (v == &four) {  // Node 4's new incarnation joins in view 4.
            net.engines.at(3) = std::make_unique<OrderEngine>(
                EngineContext{NodeId{4}, 2, net.random, net.now}, net.options);
            ASSERT_TRUE(net.engine(4).on_create("g", OrderMode::fifo).has_value());
        }
        if (v->id >= 4) net.on_view(4, *v);
    }
    for (int round = 0; round < 20; ++round) {  // Node 1 is down: its packets are lost.
        std::erase_if(net.wire, [](const Net::InFlight& p) {
            return p.to == NodeId{1} || p.from == NodeId{1};
        });
        net.flush_wire();
        net.tick(Duration::milliseconds(100));
    }
    for (std::size_t node : {std::size_t{2}, std::size_t{3}, std::size_t{4}}) {
        const Pid pid = node == 4 ? restarted_four.pid : Net::member(node).pid;
        ASSERT_NE(net.engine(node).installed("g", pid), nullptr);
        EXPECT_EQ(net.engine(node).installed("g", pid)->id, 5u) << "node " << node;
    }
    EXPECT_EQ(net.tags(3), (std::vector<std::uint8_t>{1}));
    ASSERT_EQ(net.send(3, 2), Errc::ok);
    net.flush_wire();
    EXPECT_EQ(net.tags(2), (std::vector<std::uint8_t>{1, 2}));
}

// O30, only the coordinator's own incarnation decides: member 1.5 joins in view 3 as its
// coordinator, then node 1 crashes and restarts (incarnation 2) and is given view 3 before a
// view without 1.5 comes. Members 2 and 3 report their flush of view 2 to 1.5; the restarted
// node must drop those reports (it is not 1.5: the dead coordinator may have decided already),
// not decide a second time for it, so 2 and 3 keep flushing until a view without 1.5.
TEST(OrderEngine, ReportsToAnEarlierIncarnationOfTheCoordinatorAreDropped) {
    Net net(3, OrderMode::fifo);
    ASSERT_EQ(net.send(2, 1), Errc::ok);
    net.flush_wire();
    const Member joiner{Pid{NodeId{1}, 5}, 1};
    View two;
    two.id = 2;
    two.members = {Net::member(2), Net::member(3)};
    for (std::size_t node = 1; node <= 3; ++node) net.on_view(node, two);
    net.flush_wire();
    ASSERT_EQ(net.engine(2).installed("g", Net::member(2).pid)->id, 2u);
    net.engines.at(0) =  // Node 1 restarts before member 1.5's view arrives there.
        std::make_unique<OrderEngine>(EngineContext{NodeId{1}, 2, net.random, net.now},
                                      net.options);
    ASSERT_TRUE(net.engine(1).on_create("g", OrderMode::fifo).has_value());
    View three;
    three.id = 3;
    three.members = {joiner, Net::member(2), Net::member(3)};
    for (std::size_t node = 1; node <= 3; ++node) net.on_view(node, three);
    net.settle(5);
    EXPECT_EQ(net.engine(1).counters().flushes, 0u);
    EXPECT_GE(net.engine(1).counters().stale_dropped, 2u);
    EXPECT_EQ(net.engine(2).installed("g", Net::member(2).pid)->id, 2u);
    EXPECT_EQ(net.engine(3).installed("g", Net::member(3).pid)->id, 2u);
    View four;  // The view without the dead coordinator: member 2 coordinates, the flush ends.
    four.id = 4;
    four.members = {Net::member(2), Net::member(3)};
    for (std::size_t node = 1; node <= 3; ++node) net.on_view(node, four);
    net.flush_wire();
    EXPECT_EQ(net.engine(2).installed("g", Net::member(2).pid)->id, 4u);
    EXPECT_EQ(net.engine(3).installed("g", Net::member(3).pid)->id, 4u);
}

// O39, a member whose node skipped a view it was in: member 2.20 joins in view 2 and 1.20 in
// view 3; node 3 is given view 3 only (a reset skipped view 2), so member 3 flushes view 1
// toward view 3 while members 1 and 2 flush it toward view 2 (view 3 keeps all of view 2, so
// it waits behind it, O29), whose coordinator (member 1) waits for member 3 (O30). Member 3's
// message of view 1 reached nobody else. The coordinator asks member 3 (O39), which answers
// with its report of view 1 (its node skipped view 2, and it flushes toward a later view):
// view 2's flush delivers the message at members 1 and 2, member 3 takes that outcome and
// installs view 2, and everyone goes on to view 3. Without the query, members 1 and 2 stayed
// in view 1 for ever.
TEST(OrderEngine, MemberWhoseNodeSkippedAViewReportsToItsFlushWhenAsked) {
    Net net(3, OrderMode::sequencer);
    ASSERT_EQ(net.send(3, 7), Errc::ok);
    net.wire.clear();  // Every copy of member 3's message is lost.
    const Member joiner{Pid{NodeId{2}, 20}, 1};
    View two;
    two.id = 2;
    two.members = {Net::member(1), Net::member(2), joiner, Net::member(3)};
    std::sort(two.members.begin(), two.members.end());
    View three = two;
    three.id = 3;
    three.members.push_back(Member{Pid{NodeId{1}, 20}, 1});
    std::sort(three.members.begin(), three.members.end());
    for (std::size_t node : {std::size_t{1}, std::size_t{2}}) {
        net.on_view(node, two);
        net.on_view(node, three);
    }
    net.on_view(3, three);
    net.settle(10);
    for (std::size_t node = 1; node <= 3; ++node) {
        EXPECT_EQ(net.installed_id(node), 3u) << node;
        EXPECT_EQ(net.tags(node), (std::vector<std::uint8_t>{7})) << node;
    }
    EXPECT_EQ(net.engine(3).counters().views_installed, 3u);  // Views 1, 2 (its outcome), 3.
    ASSERT_EQ(net.send(3, 8), Errc::ok);
    net.flush_wire();
    EXPECT_EQ(net.tags(1), (std::vector<std::uint8_t>{7, 8}));
}

// O39, a member that joined in a view its node skipped: member 3 joins in view 2 and node 3 is
// given view 3 first (a reset), so member 3 installs view 3 as a joiner (O28) and never reports
// in the flush out of view 2, which waits for it (O30: it is in the reporters' old view). Asked
// by view 3's coordinator, it answers that it holds nothing of any view before view 3, and the
// flush ends without it; member 1's message of view 2, which member 3 never installed, is not
// delivered to member 3.
TEST(OrderEngine, MemberThatJoinedInASkippedViewAnswersThatItHoldsNothing) {
    Net net(3, OrderMode::fifo, {Net::member(1), Net::member(2)}, {});
    View two;
    two.id = 2;
    two.members = {Net::member(1), Net::member(2), Net::member(3)};
    net.on_view(1, two);
    net.on_view(2, two);
    net.flush_wire();
    ASSERT_EQ(net.engine(1).installed("g", Net::member(1).pid)->id, 2u);
    ASSERT_EQ(net.send(1, 5), Errc::ok);
    net.flush_wire();
    const Member joiner{Pid{NodeId{2}, 20}, 1};
    View three = two;
    three.id = 3;
    three.members.push_back(joiner);
    std::sort(three.members.begin(), three.members.end());
    for (std::size_t node = 1; node <= 3; ++node) net.on_view(node, three);
    net.settle(5);
    for (std::size_t node = 1; node <= 3; ++node) {
        EXPECT_EQ(net.installed_id(node), 3u) << node;
    }
    EXPECT_EQ(net.tags(2), (std::vector<std::uint8_t>{5}));
    EXPECT_TRUE(net.tags(3).empty());
    ASSERT_EQ(net.send(1, 6), Errc::ok);
    net.flush_wire();
    EXPECT_EQ(net.tags(3), (std::vector<std::uint8_t>{6}));
    EXPECT_EQ(net.tags_of(joiner.pid), (std::vector<std::uint8_t>{6}));
}

// View `id` of members 1, 2 and 3, with a process of node `churn` that joins in every even view
// and leaves in the odd one after it (the churn of the paused-member tests below).
View churn_view(std::uint64_t id, NodeId churn) {
    View v;
    v.id = id;
    v.members = {Net::member(1), Net::member(2), Net::member(3)};
    if (id % 2 == 0) v.members.push_back(Member{Pid{churn, 100 + id}, 1});
    std::sort(v.members.begin(), v.members.end());
    return v;
}

// A paused node: every packet in flight to or from `node` is lost.
void lose_node(Net& net, NodeId node) {
    std::erase_if(net.wire,
                  [node](const Net::InFlight& p) { return p.to == node || p.from == node; });
}

// Views 2..21 of churn_view(id, churn), 100 ms apart, given to the two nodes other than
// `paused`, whose packets are all lost meanwhile.
void churn_while_paused(Net& net, NodeId paused, NodeId churn) {
    for (std::uint64_t id = 2; id <= 21; ++id) {
        for (std::uint64_t node = 1; node <= 3; ++node) {
            if (NodeId{node} != paused) net.on_view(node, churn_view(id, churn));
        }
        lose_node(net, paused);
        net.flush_wire();
        net.tick(Duration::milliseconds(100));
    }
}

// Issue 16 item 2 (O29, O30, O39): node 3 is paused (its packets lost both ways) while a
// process of node 1 joins and leaves 20 times: members 1 and 2 flush view 1 toward view 3 (view
// 2 added the process, view 3 dropped it and redirected the flush) and queue views 4..21 behind
// it, as they keep every member of view 3. Then node 3 runs again and is given what the group
// server sent meanwhile: view 2 (the view after its last), then view 12 with a reset (a server
// keeping 10 views no longer kept view 2) and 13..21. The coordinator of view 3 must still take
// reports toward it (it is no longer among the node's last 8 views), and member 3 must know that
// its node skipped views 3..11 (no longer among its last 8 views either) to answer their queries;
// then every member goes through the same views to view 21 and delivers the message of view 1.
TEST(OrderEngine, MemberPausedWhileViewsChurnDoesNotHoldTheFlushBack) {
    Net net(3, OrderMode::sequencer);
    ASSERT_EQ(net.send(3, 7), Errc::ok);
    net.flush_wire();
    const auto view = [](std::uint64_t id) { return churn_view(id, NodeId{1}); };
    churn_while_paused(net, NodeId{3}, NodeId{1});
    EXPECT_EQ(net.engine(1).installed("g", Net::member(1).pid)->id, 1u);
    for (std::uint64_t id = 2; id <= 21; id = id == 2 ? 12 : id + 1) {
        net.on_view(3, view(id));
        net.flush_wire();
    }
    net.settle(40);
    for (std::size_t node = 1; node <= 3; ++node) {
        EXPECT_EQ(net.installed_id(node), 21u) << node;
        EXPECT_EQ(net.tags(node), (std::vector<std::uint8_t>{7})) << node;
    }
    ASSERT_EQ(net.send(3, 8), Errc::ok);
    net.flush_wire();
    EXPECT_EQ(net.tags(1), (std::vector<std::uint8_t>{7, 8}));
}

// O29's bound, by blocks of 64 view ids: every member flushes view 1 toward view 2 (node 3's
// member never reports, so the flush stays pending). Nodes 1 and 2 are given views 3..63 and
// queue them; node 3 is given, after view 2, views 40..63 (a reset skipped 3..39) and queues
// fewer. View 64 keeps every member, but it is of the next block of ids: at every node it
// redirects the flush (the same report, toward view 64) however many views that node queued,
// and view 65 waits behind it again. Counting queued views instead (64 at most), nodes 1 and 2
// would redirect at view 67 and node 3 at view 104: they would wait for each other in different
// flushes (O34 (9)).
TEST(OrderEngine, AViewOfTheNextBlockOfIdsRedirectsEveryFlushAlike) {
    Net net(3, OrderMode::fifo);
    const auto view = [](std::uint64_t id) {
        View v;
        v.id = id;
        v.members = {Net::member(1), Net::member(2), Net::member(3)};
        return v;
    };
    for (std::uint64_t id = 2; id <= 63; ++id) {
        for (std::size_t node = 1; node <= 3; ++node) {
            if (node == 3 && id > 2 && id < 40) continue;
            net.on_view(node, view(id));
        }
        net.wire.clear();  // No report arrives: the flush toward view 2 stays pending.
    }
    for (std::uint64_t id = 64; id <= 65; ++id) {
        for (std::size_t node = 1; node <= 3; ++node) {
            Effects out;
            net.engine(node).on_view("g", view(id), net.now, out);
            const auto reports =
                sent_of_kind(out, NodeId{node}, wire::PacketKind::order_flush_report);
            if (id == 65) {
                EXPECT_TRUE(reports.empty()) << "node " << node;
                continue;
            }
            ASSERT_EQ(reports.size(), 1u) << "node " << node;
            EXPECT_EQ(reports[0].view_id, 64u);
            EXPECT_EQ(reports[0].target, Net::member(1));
        }
    }
    for (std::size_t node = 1; node <= 3; ++node) {
        EXPECT_EQ(net.installed_id(node), 1u) << node;
    }
}

// O39 (g), the paused member is the coordinator: node 1, whose member coordinates every view,
// is paused while a process of node 3 joins and leaves 20 times. Members 2 and 3 flush view 1
// toward view 3 (view 2 added the process, view 3 dropped it and redirected the flush) and queue
// views 4..21 behind it. Node 1 is then given view 2 and, by a reset, views 12..21: it never
// knew view 3, so it can never decide it. Asked toward view 3, it answers that its node skipped
// views 3..11; members 2 and 3 drop view 3 and the queued views of that run it coordinates, and
// take views 12..21 as if they came then (O29): the same path as member 1.
// Without the answer members 2 and 3 reported toward view 3 for ever.
TEST(OrderEngine, CoordinatorWhoseNodeSkippedTheViewAnswersSoTheOthersMoveOn) {
    Net net(3, OrderMode::sequencer);
    ASSERT_EQ(net.send(2, 7), Errc::ok);
    net.flush_wire();
    const auto view = [](std::uint64_t id) { return churn_view(id, NodeId{3}); };
    const auto lose_node_1 = [&net] { lose_node(net, NodeId{1}); };
    churn_while_paused(net, NodeId{1}, NodeId{3});
    for (std::uint64_t id = 2; id <= 21; id = id == 2 ? 12 : id + 1) {
        net.on_view(1, view(id));
        lose_node_1();
    }
    // The answer itself: to a report toward view 3, the skipped run, under view id 3.
    OrderPacket report;
    report.kind = wire::PacketKind::order_flush_report;
    report.source = Net::member(2);
    report.target = Net::member(1);
    report.group = "g";
    report.view_id = 3;
    FlushReport body;
    body.old_view_id = 1;
    body.old_members = view(1).members;
    body.contiguous.assign(3, 0);
    report.body = encode_report(body);
    wire::Packet packet = build(report);
    Effects out;
    net.engine(1).on_packet(NodeId{2}, packet, net.now, out);
    const auto answers = sent_of_kind(out, NodeId{1}, wire::PacketKind::order_flush_outcome);
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(answers[0].target, Net::member(2));
    EXPECT_EQ(answers[0].view_id, 3u);
    const auto run = decode_skipped(answers[0].body);
    ASSERT_TRUE(run.has_value());
    EXPECT_EQ(run->first, 3u);
    EXPECT_EQ(run->last, 11u);
    net.settle(40);
    for (std::size_t node = 1; node <= 3; ++node) {
        EXPECT_EQ(net.installed_id(node), 21u) << node;
        EXPECT_EQ(net.tags(node), (std::vector<std::uint8_t>{7})) << node;
    }
    // Member 1's path and the others': views 1, 13, 15, 17, 19, 21 (each odd one dropped the
    // process the one before added, O29).
    EXPECT_EQ(net.engine(1).counters().views_installed, 6u);
    EXPECT_EQ(net.engine(2).counters().views_installed, 6u);
    ASSERT_EQ(net.send(1, 8), Errc::ok);
    net.flush_wire();
    EXPECT_EQ(net.tags(3), (std::vector<std::uint8_t>{7, 8}));
}

// View `id` of members 1 and 2, and 3 when `with_3` (the archive tests below).
View view_of_1_2(std::uint64_t id, bool with_3) {
    View v;
    v.id = id;
    v.members = {Net::member(1), Net::member(2)};
    if (with_3) v.members.push_back(Net::member(3));
    return v;
}

// Every packet on the wire passed, but those to or from node 3 (paused) lost.
void flush_without_3(Net& net) {
    while (!net.wire.empty()) {
        Net::InFlight p = std::move(net.wire.front());
        net.wire.pop_front();
        if (p.to != NodeId{3} && p.from != NodeId{3}) net.pass(p);
    }
}

// Members 2 and 3 are in view 1, member 1 joins in view 2 (so its own member never installs a
// view by the outcome of view 1). Member 3 sends 7; 8 of member 2 never reaches node 3. Member 3
// reports toward view 2 and is paused before the outcome reaches it; member 2 installs view 2
// with message 8. Views 3..`last` of members 1 and 2 follow, given to nodes 1 and 2 only (a
// flush decided at node 1 for each, each reporter's old view the one before).
void miss_an_outcome_then_views_without_3(Net& net, std::uint64_t last) {
    ASSERT_EQ(net.send(3, 7), Errc::ok);
    net.flush_wire();
    ASSERT_EQ(net.send(2, 8), Errc::ok);
    flush_without_3(net);
    net.on_view(1, view_of_1_2(2, true));
    net.on_view(3, view_of_1_2(2, true));
    net.flush_wire();  // Member 3's report reaches member 1, which waits for member 2's.
    net.on_view(2, view_of_1_2(2, true));
    flush_without_3(net);  // The outcome to member 3 is lost: its node is paused.
    for (std::uint64_t id = 3; id <= last; ++id) {
        net.on_view(1, view_of_1_2(id, false));
        net.on_view(2, view_of_1_2(id, false));
        flush_without_3(net);
        net.tick(Duration::milliseconds(100));
        flush_without_3(net);
    }
    EXPECT_EQ(net.engine(2).installed("g", Net::member(2).pid)->id, last);
}

// O34 (9) (iv), with no copy of the outcome left but the archive (O30): after views 3..11 node 1
// keeps the coordinations of views 4..11 and holds the outcome of view 1 in no member and no
// kept report. Node 3 runs again and is given view 12 (members 1, 2, 3; a reset skipped 3..11),
// which it queues behind view 2. Without the archive, node 1 dropped its reports toward view 2
// for ever (stale_dropped) and member 3 stayed in view 1 without message 8.
TEST(OrderEngine, MemberThatMissedAnOutcomeNoMemberHoldsGetsItFromTheArchive) {
    Net net(3, OrderMode::sequencer, {Net::member(2), Net::member(3)}, {});
    miss_an_outcome_then_views_without_3(net, 11);
    for (std::size_t node = 1; node <= 3; ++node) net.on_view(node, view_of_1_2(12, true));
    net.settle(20);
    for (std::size_t node = 1; node <= 3; ++node) {
        EXPECT_EQ(net.installed_id(node), 12u) << node;
    }
    EXPECT_EQ(net.tags(2), (std::vector<std::uint8_t>{7, 8}));
    EXPECT_EQ(net.tags(3), (std::vector<std::uint8_t>{7, 8}));
    ASSERT_EQ(net.send(3, 9), Errc::ok);
    net.flush_wire();
    EXPECT_EQ(net.tags(1), (std::vector<std::uint8_t>{9}));
}

// The archive's bound by view ids (O30): after views 3..70 the outcome toward view 2 is 64 ids or
// more below the newest flush node 1 keeps, so member 3's report toward view 2 gets nothing. The
// view of the next block (71, with member 3 again) redirects member 3's flush (O29), and its old
// view 1 is decided there from its report alone (O39 (f)): the limit O34 (9) (iv) (a) leaves, it
// installs view 71 without message 8.
TEST(OrderEngine, TheArchiveKeepsOutcomesOfTheLast64ViewIdsOnly) {
    Net net(3, OrderMode::sequencer, {Net::member(2), Net::member(3)}, {});
    miss_an_outcome_then_views_without_3(net, 70);
    net.tick(Duration::milliseconds(100));  // Member 3 reports toward view 2 again.
    net.flush_wire();
    EXPECT_EQ(net.engine(3).installed("g", Net::member(3).pid)->id, 1u);
    for (std::size_t node = 1; node <= 3; ++node) net.on_view(node, view_of_1_2(71, true));
    net.settle(20);
    for (std::size_t node = 1; node <= 3; ++node) {
        EXPECT_EQ(net.installed_id(node), 71u) << node;
    }
    EXPECT_EQ(net.tags(3), (std::vector<std::uint8_t>{7}));
}

// O39 (b), who answers a query: member 3 flushes view 1 toward view 3 in both runs. When its
// node skipped view 2 (given views 1 and 3 only), it answers view 2's query with its report of
// view 1. When its node was given view 2 and then view 3, which lost members of view 2 and
// redirected its flush (O29), it does not answer: the others will be redirected too, and an
// answer would let view 2's coordinator decide view 1 a second time. A member that installed
// view 3 answers view 2's query with nothing (a report of old view 0).
TEST(OrderEngine, OnlyAMemberWhoseNodeSkippedTheViewReportsToItsQuery) {
    const Member joiner{Pid{NodeId{2}, 20}, 1};
    View two;
    two.id = 2;
    two.members = {Net::member(1), Net::member(2), joiner, Net::member(3)};
    std::sort(two.members.begin(), two.members.end());
    View three;
    three.id = 3;
    three.members = {Net::member(1), Net::member(3)};
    const auto ask = [](Net& net, std::uint64_t view_id) {
        OrderPacket query;
        query.kind = wire::PacketKind::order_flush_report;
        query.source = Net::member(1);
        query.target = Net::member(3);
        query.group = "g";
        query.view_id = view_id;
        wire::Packet packet = build(query);
        Effects out;
        net.engine(3).on_packet(NodeId{1}, packet, net.now, out);
        std::vector<FlushReport> answers;
        for (const auto& m : sent_of_kind(out, NodeId{3}, wire::PacketKind::order_flush_report)) {
            EXPECT_EQ(m.target, Net::member(1));
            EXPECT_EQ(m.view_id, view_id);
            auto report = decode_report(m.body, 64);
            EXPECT_TRUE(report.has_value());
            if (report) answers.push_back(*report);
        }
        return answers;
    };
    for (const bool skipped : {true, false}) {
        Net net(3, OrderMode::fifo);
        if (!skipped) net.on_view(3, two);
        net.on_view(3, three);
        net.wire.clear();
        const auto answers = ask(net, 2);
        if (!skipped) {
            EXPECT_TRUE(answers.empty());
            continue;
        }
        ASSERT_EQ(answers.size(), 1u);
        EXPECT_EQ(answers[0].old_view_id, 1u);
    }
    Net net(3, OrderMode::fifo);
    net.on_view(1, three);
    net.on_view(3, three);
    net.flush_wire();
    ASSERT_EQ(net.engine(3).installed("g", Net::member(3).pid)->id, 3u);
    const auto answers = ask(net, 2);
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(answers[0].old_view_id, 0u);
}

// O36, the lecture's fault-tolerant atomic multicast: member 1 crashes after its message
// reached member 2 only; member 2 re-multicasts it on first sight, so members 3 and 4 deliver
// it in view 1 without member 1, without a retransmission and before any view change. A
// plain (atomic) multicast in the same loss is delivered by member 2 only until the flush.
TEST(OrderEngine, FaultTolerantAtomicReceiversRelayOnFirstSight) {
    for (const bool relay : {true, false}) {
        Net net(4, OrderMode::fifo);
        ASSERT_EQ(net.send(1, 7, relay), Errc::ok);
        std::deque<Net::InFlight> kept;
        for (auto& p : net.wire) {
            if (p.to == NodeId{2}) kept.push_back(p);
        }
        net.wire = kept;  // Member 1's copies to members 3 and 4 are lost; member 1 crashes.
        net.flush_wire();
        net.wire.erase(std::remove_if(net.wire.begin(), net.wire.end(),
                                      [](const auto& p) { return p.to == NodeId{1}; }),
                       net.wire.end());
        net.flush_wire();
        const std::vector<std::uint8_t> seven{7};
        EXPECT_EQ(net.tags(2), seven);
        EXPECT_EQ(net.tags(3), relay ? seven : std::vector<std::uint8_t>{});
        EXPECT_EQ(net.tags(4), relay ? seven : std::vector<std::uint8_t>{});
        EXPECT_EQ(net.engine(2).counters().relays_sent, relay ? 2u : 0u);
        if (!relay) continue;
        // Members 3 and 4 got it first from member 2, and relayed it to each other (not back
        // to member 2, its origin or themselves); the second copies are duplicates.
        EXPECT_EQ(net.engine(3).counters().relayed_first, 1u);
        EXPECT_EQ(net.engine(3).counters().relays_sent, 1u);
        EXPECT_EQ(net.engine(4).counters().relays_sent, 1u);
        for (std::size_t node = 2; node <= 4; ++node) {
            ASSERT_FALSE(net.got[Net::member(node).pid].empty());
            EXPECT_EQ(net.got[Net::member(node).pid][0].view_id, 1u);
            EXPECT_EQ(net.got[Net::member(node).pid][0].sender, Net::member(1));
        }
    }
}

// O36: a relay must name another member than its relayer and the target, and only data of an
// ft-atomic multicast carries order_origin; anything else is malformed.
TEST(OrderEngine, MalformedRelaysAreDropped) {
    Net net(3, OrderMode::fifo);
    ASSERT_EQ(net.send(1, 1, true), Errc::ok);
    Net::InFlight p = net.wire.front();  // 1 -> 2, as a unicast copy to member 2.
    ASSERT_EQ(p.to, NodeId{2});
    p.packet.header.target = Net::member(2).pid;
    p.packet.header.target_incarnation = 1;
    Bytes origin{1, 0, 0, 0};  // Index 1: member 2, the target itself.
    p.packet.extensions.push_back({wire::ExtensionType::order_origin, origin});
    net.pass(p);
    p.packet.extensions.pop_back();
    p.packet.header.flags = 0;  // order_origin without the relay flag.
    p.packet.extensions.push_back({wire::ExtensionType::order_origin, Bytes{2, 0, 0, 0}});
    net.pass(p);
    EXPECT_EQ(net.engine(2).counters().malformed_dropped, 2u);
    EXPECT_TRUE(net.tags(2).empty());
}

// O38: nodes 1..3 hosting members 1.10, 1.11, 2.10, 2.11 and 3.10.
std::vector<Member> two_per_node() {
    return {Member{Pid{NodeId{1}, 10}, 1}, Member{Pid{NodeId{1}, 11}, 1},
            Member{Pid{NodeId{2}, 10}, 1}, Member{Pid{NodeId{2}, 11}, 1},
            Member{Pid{NodeId{3}, 10}, 1}};
}
const group::GroupAddress ip_address{group::AddressKind::multicast,
                                     IpGroup{4, {239, 193, 0, 1}, 7410}};

// O38: a member's multicast (and every later entry of its stream: here the sequencer's orders)
// leaves its node as ONE order_data without a target, to the group's IP multicast group or
// the broadcast address (its list naming the member nodes for a driver that cannot), or, with
// a host list, to the list of member nodes; the other member of its own node gets one by
// loopback. Every member delivers the message once, the source included (from its own
// stream, not the loopback: no duplicate anywhere).
TEST(OrderEngine, FirstTransmissionIsOnePacketForEveryMemberNode) {
    using Kind = Destination::Kind;
    const group::GroupAddress broadcast{group::AddressKind::broadcast, {}};
    for (const auto& [address, kind] :
         {std::pair{group::GroupAddress{}, Kind::nodes}, std::pair{ip_address, Kind::multicast},
          std::pair{broadcast, Kind::broadcast}}) {
        Net net(3, OrderMode::sequencer, two_per_node(), address);
        Effects out;
        net.engine(1).on_multicast(1, Pid{NodeId{1}, 11}, "g", Bytes{7}, net.now, out);
        std::vector<const SendEffect*> data;
        for (const auto& send : out.sends) {
            if (send.packet.header.kind == wire::PacketKind::order_data) data.push_back(&send);
        }
        ASSERT_EQ(data.size(), 2u);
        EXPECT_EQ(data[0]->to.kind, kind);
        const auto nodes = out.nodes_of(data[0]->to);
        EXPECT_EQ(std::vector<NodeId>(nodes.begin(), nodes.end()),
                  (std::vector<NodeId>{NodeId{2}, NodeId{3}}));
        if (kind == Kind::multicast) {
            EXPECT_EQ(data[0]->to.group, ip_address.ip);
        }
        EXPECT_EQ(data[1]->to.kind, Kind::node);  // Loopback to member 1.10.
        EXPECT_EQ(data[1]->to.node, NodeId{1});
        for (const auto* send : data) {
            EXPECT_EQ(send->packet.header.target, Pid{});
            EXPECT_EQ(send->packet.header.target_incarnation, 0u);
        }
        EXPECT_EQ(net.engine(1).counters().address_sends, kind == Kind::nodes ? 0u : 1u);
        net.apply(1, out);
        net.flush_wire();
        for (const auto& m : two_per_node()) {
            EXPECT_EQ(net.tags_of(m.pid), (std::vector<std::uint8_t>{7})) << to_string(m.pid);
        }
        for (std::size_t node = 1; node <= 3; ++node) {
            EXPECT_EQ(net.engine(node).counters().duplicates_dropped, 0u) << node;
            EXPECT_EQ(net.engine(node).counters().unclaimed_dropped, 0u) << node;
        }
        // The sequencer's (1.10's) order entry went the same way: one packet to nodes 2 and 3.
        EXPECT_EQ(net.fan_outs, 2u);
    }
}

// O38: a target-less order_data is taken only by local members that installed its view; a node
// where none did (another view, or no member of the group) counts it and drops it. Once the
// copy of the right view arrives, both members of the node deliver it.
TEST(OrderEngine, GroupDataOfAnotherViewOrWithoutLocalMembersIsDropped) {
    std::vector<Member> members = two_per_node();
    members.pop_back();  // Node 3 hosts no member.
    Net net(3, OrderMode::fifo, members, ip_address);
    ASSERT_EQ(net.send_from(Pid{NodeId{1}, 10}, 5), Errc::ok);
    ASSERT_EQ(net.wire.size(), 2u);  // Node 2 (by the address) and node 1 (loopback).
    Net::InFlight p = net.wire.front();
    ASSERT_EQ(p.to, NodeId{2});
    p.to = NodeId{3};
    net.pass(p);
    EXPECT_EQ(net.engine(3).counters().unclaimed_dropped, 1u);
    p.to = NodeId{2};
    for (auto& e : p.packet.extensions) {
        if (e.type == wire::ExtensionType::view_id) e.value = Bytes{2, 0, 0, 0, 0, 0, 0, 0};
    }
    net.pass(p);  // View 2: not installed at node 2.
    EXPECT_EQ(net.engine(2).counters().unclaimed_dropped, 1u);
    EXPECT_TRUE(net.tags_of(Pid{NodeId{2}, 10}).empty());
    net.flush_wire();
    for (const auto& m : members) {
        EXPECT_EQ(net.tags_of(m.pid), (std::vector<std::uint8_t>{5})) << to_string(m.pid);
    }
}

// O38: the multicast copy is lost on the way to node 3; the sender's retransmission (O9) goes
// to member 3.10 alone, unicast with its target, and every member delivers in one order.
TEST(OrderEngine, ALostGroupCopyIsRepairedByUnicastRetransmission) {
    Net net(3, OrderMode::abcast, two_per_node(), ip_address);
    ASSERT_EQ(net.send_from(Pid{NodeId{2}, 11}, 9), Errc::ok);
    ASSERT_EQ(net.send_from(Pid{NodeId{1}, 10}, 8), Errc::ok);
    std::erase_if(net.wire, [](const Net::InFlight& p) {
        return p.to == NodeId{3} && p.packet.header.kind == wire::PacketKind::order_data;
    });
    net.flush_wire();
    EXPECT_TRUE(net.tags_of(Pid{NodeId{3}, 10}).empty());
    net.tick(Duration::milliseconds(200));
    std::size_t unicast = 0;
    for (const auto& p : net.wire) {
        if (p.to != NodeId{3} || p.packet.header.kind != wire::PacketKind::order_data) continue;
        EXPECT_EQ(p.packet.header.target, (Pid{NodeId{3}, 10}));
        ++unicast;
    }
    EXPECT_EQ(unicast, 2u);  // One per sender.
    net.flush_wire();
    for (int round = 0; round < 5; ++round) {  // Commits lost with the data come again too.
        net.tick(Duration::milliseconds(200));
        net.flush_wire();
    }
    const auto order = net.tags_of(Pid{NodeId{1}, 10});
    ASSERT_EQ(order.size(), 2u);
    for (const auto& m : two_per_node()) EXPECT_EQ(net.tags_of(m.pid), order) << to_string(m.pid);
}

// The ring that holds a stream's entries (O6, O35): holes, duplicates, the stable prefix
// discarded, and growth while the ring has wrapped keep every entry under its seq.
TEST(StreamEntries, KeepsEntriesBySeqWithHolesAndDiscardsTheStablePrefix) {
    StreamEntries<std::uint64_t> ring;
    EXPECT_EQ(ring.find(1), nullptr);
    for (const std::uint64_t seq : {3u, 1u, 5u}) {
        auto [value, fresh] = ring.try_emplace(seq);
        EXPECT_TRUE(fresh);
        *value = seq * 10;
    }
    EXPECT_FALSE(ring.try_emplace(3).second);  // A duplicate keeps the first copy.
    EXPECT_EQ(ring.at(3), 30u);
    EXPECT_EQ(ring.size(), 3u);
    EXPECT_FALSE(ring.contains(2));
    EXPECT_FALSE(ring.contains(6));
    EXPECT_EQ(ring.next_from(2), 3u);
    EXPECT_EQ(ring.next_from(6), 0u);
    std::vector<std::uint64_t> seen;
    ring.for_each([&](std::uint64_t seq, std::uint64_t value) {
        EXPECT_EQ(value, seq * 10);
        seen.push_back(seq);
    });
    EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 3, 5}));
    EXPECT_EQ(ring.discard_through(3), 2u);
    EXPECT_FALSE(ring.contains(3));
    EXPECT_EQ(ring.next_from(0), 5u);
    EXPECT_EQ(ring.discard_through(9), 1u);  // Beyond every entry held: empty, first is 10.
    EXPECT_TRUE(ring.empty());
    // Keeping an entry at or below the stable point is a programmer error (O6 drops them).
    EXPECT_DEATH(static_cast<void>(ring.try_emplace(9)), "seq >= first_");
    // Wrap the ring (entries 10..21 in 16 slots, 10..17 discarded), then grow it past 16.
    for (std::uint64_t seq = 10; seq <= 21; ++seq) *ring.try_emplace(seq).first = seq * 10;
    EXPECT_EQ(ring.discard_through(17), 8u);
    for (std::uint64_t seq = 22; seq <= 60; ++seq) *ring.try_emplace(seq).first = seq * 10;
    EXPECT_EQ(ring.size(), 43u);
    for (std::uint64_t seq = 18; seq <= 60; ++seq) ASSERT_EQ(ring.at(seq), seq * 10) << seq;
    EXPECT_FALSE(ring.contains(17));
}

// ABCAST's table of own messages collecting proposals (O15): rows reused after a message
// closed, closed out of order, walked in seq order; the ring under it moves past a closed first.
TEST(ProposalTable, ReusesRowsAndWalksMessagesInSeqOrder) {
    ProposalTable table;
    table.reset(3);
    for (const std::uint64_t seq : {2u, 4u, 7u}) table.open(seq);
    EXPECT_TRUE(table.find(3).empty());
    ProposalTable::Row row = table.find(4);
    ASSERT_EQ(row.size(), 3u);
    row[1] = Number{9, 1};
    table.close(2);  // The first: the ring's first seq moves to 4.
    table.find(7)[0] = Number{5, 0};
    table.close(7);  // Out of order.
    EXPECT_EQ(table.size(), 1u);
    EXPECT_TRUE(table.find(2).empty());
    EXPECT_EQ(table.find(4)[1], (Number{9, 1}));
    table.open(8);  // A reused row starts with every slot empty.
    for (const auto& slot : table.find(8)) EXPECT_FALSE(slot.has_value());
    std::vector<std::uint64_t> seen;
    table.for_each_while([&](std::uint64_t seq, std::span<const std::optional<Number>> slots) {
        EXPECT_EQ(slots.size(), 3u);
        seen.push_back(seq);
        return true;
    });
    EXPECT_EQ(seen, (std::vector<std::uint64_t>{4, 8}));
    seen.clear();
    table.for_each_while([&](std::uint64_t seq, std::span<const std::optional<Number>>) {
        seen.push_back(seq);
        return false;  // Stops after the first.
    });
    EXPECT_EQ(seen, (std::vector<std::uint64_t>{4}));
    table.close(4);
    table.close(8);
    EXPECT_TRUE(table.empty());
    // Erasing a ring's first entry moves its first seq past the holes behind it.
    StreamEntries<std::uint32_t> rows;
    for (std::uint64_t seq = 1; seq <= 3; ++seq) *rows.try_emplace(seq).first = 0;
    rows.erase(2);
    EXPECT_EQ(rows.next_from(0), 1u);
    rows.erase(1);
    EXPECT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows.next_from(0), 3u);
    EXPECT_DEATH(static_cast<void>(rows.try_emplace(2)), "seq >= first_");
}

}  // namespace
}  // namespace herald::proto::order

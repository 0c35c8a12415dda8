// Unit tests of the ordering packets, flush report and outcome, and deliveries: round trips
// and rejection of malformed input. Layer: tests/unit/proto/order.
#include "proto/order/order_messages.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "proto/fields.h"

namespace herald::proto::order {
namespace {

Member member(std::uint64_t node, std::uint64_t local) {
    return Member{Pid{NodeId{node}, local}, 1};
}

// An order_data packet from 1.10 to 2.11 in group "g", view `view_id`, carrying an entry of
// `type` at stream seq `seq`.
OrderPacket data_packet(std::uint64_t view_id, EntryType type, std::uint64_t seq) {
    OrderPacket m;
    m.kind = wire::PacketKind::order_data;
    m.source = member(1, 10);
    m.target = member(2, 11);
    m.group = "g";
    m.view_id = view_id;
    m.entry.type = type;
    m.entry.seq = seq;
    return m;
}

// Whether `m`, changed by `change`, is refused by the parser once built (received from `from`).
template <class Change>
bool rejected_after(const OrderPacket& m, Change&& change, NodeId from = NodeId{1}) {
    OrderPacket bad = m;
    change(bad);
    wire::Packet q = build(bad);
    return !parse(from, q, 64, 64).has_value();
}

// The data delivery the delivery tests encode.
Delivery sample_delivery() {
    Delivery d;
    d.group = "g";
    d.view_id = 3;
    d.sender = member(2, 11);
    d.seq = 7;
    d.timestamp = -5;
    d.payload = Bytes{1, 2, 3};
    return d;
}

TEST(OrderMessages, DeliveryRoundTrips) {
    const Delivery d = sample_delivery();
    auto back = decode_delivery(encode_delivery(d));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->sender, d.sender);
    EXPECT_EQ(back->seq, 7u);
    EXPECT_EQ(back->timestamp, -5);
    EXPECT_EQ(back->payload, d.payload);
    Delivery v;
    v.is_view = true;
    v.group = "g";
    v.view_id = 2;
    v.view.id = 2;
    v.view.members = {member(1, 10), member(2, 11)};
    auto view = decode_delivery(encode_delivery(v));
    ASSERT_TRUE(view.has_value());
    EXPECT_TRUE(view->is_view);
    EXPECT_EQ(view->view, v.view);
}

// A data delivery is laid out as docs/ordering.md "delivery" says, in one allocation (the
// engine builds one per member per message).
TEST(OrderMessages, DataDeliveryIsBuiltInOneAllocationWithTheDocumentedLayout) {
    const Bytes payload{1, 2, 3};
    const Bytes body = encode_data_delivery("g", 3, member(2, 11), 7, -5, payload);
    EXPECT_EQ(body.size(), 1u + 8 + 1 + 1 + 20 + 8 + 8 + 3);
    EXPECT_EQ(body.capacity(), body.size());
    EXPECT_EQ(body[0], 0);  // Data.
    EXPECT_EQ(body[9], 1);  // Name length.
    EXPECT_EQ(body[10], 'g');
    EXPECT_EQ(Bytes(body.end() - 3, body.end()), payload);
    EXPECT_EQ(encode_delivery(sample_delivery()), body);  // The same fields through a Delivery.
}

TEST(OrderMessages, DataPacketRoundTripsWithClockAndTimestamp) {
    OrderPacket m;
    m.kind = wire::PacketKind::order_data;
    m.source = member(1, 10);
    m.target = member(2, 11);
    m.group = "g";
    m.view_id = 4;
    m.entry.seq = 3;
    m.entry.timestamp = 99;
    m.entry.clock = {3, 0, 1};
    m.entry.payload = Bytes{9};
    wire::Packet p = build(m);
    auto back = parse(NodeId{1}, p, 64, 64);
    ASSERT_TRUE(back.has_value()) << back.error().detail;
    EXPECT_EQ(back->entry.clock, m.entry.clock);
    EXPECT_EQ(back->entry.timestamp, 99);
    EXPECT_EQ(back->entry.payload, m.entry.payload);
    wire::Packet spoofed = build(m);
    EXPECT_FALSE(parse(NodeId{2}, spoofed, 64, 64).has_value());
}

// O36: the relay flag and the origin of a relayed copy survive a round trip; an origin without
// the flag, on another kind, beyond members_max or of the wrong width is malformed, and so is
// the flag on a non-data entry.
TEST(OrderMessages, RelayedDataRoundTripsAndBadRelaysAreRejected) {
    OrderPacket m;
    m.kind = wire::PacketKind::order_data;
    m.source = member(2, 10);
    m.target = member(3, 10);
    m.group = "g";
    m.view_id = 4;
    m.entry.seq = 9;
    m.entry.payload = Bytes{5};
    m.entry.relay = true;
    m.origin = 0;
    wire::Packet p = build(m);
    EXPECT_NE(p.header.flags & wire::flag::order_relay, 0);
    wire::Packet copy = p;
    auto back = parse(NodeId{2}, copy, 64, 64);
    ASSERT_TRUE(back.has_value());
    EXPECT_TRUE(back->entry.relay);
    EXPECT_EQ(back->origin, 0u);
    EXPECT_EQ(back->entry.payload, Bytes{5});
    copy = p;
    copy.header.flags = 0;  // An origin without the flag.
    EXPECT_FALSE(parse(NodeId{2}, copy, 64, 64).has_value());
    copy = p;
    copy.extensions.back().value = Bytes{64, 0, 0, 0};  // Index 64 of at most 64 members.
    EXPECT_FALSE(parse(NodeId{2}, copy, 64, 64).has_value());
    copy = p;
    copy.extensions.back().value = Bytes{1, 0};  // Not 4 bytes.
    EXPECT_FALSE(parse(NodeId{2}, copy, 64, 64).has_value());
    m.origin.reset();
    m.entry.type = EntryType::null;  // The flag on a null entry.
    m.entry.payload.clear();
    copy = build(m);
    EXPECT_FALSE(parse(NodeId{2}, copy, 64, 64).has_value());
    OrderPacket ack;
    ack.kind = wire::PacketKind::order_ack;
    ack.source = member(2, 10);
    ack.target = member(3, 10);
    ack.group = "g";
    ack.view_id = 4;
    ack.origin = 1;  // build ignores it on an ack; added by hand below.
    copy = build(ack);
    copy.extensions.push_back({wire::ExtensionType::order_origin, Bytes{1, 0, 0, 0}});
    EXPECT_FALSE(parse(NodeId{2}, copy, 64, 64).has_value());
}

// O38: an order_data for every member of its view on the receiving node has target 0.0 with
// target_incarnation 0; no other kind may lack a target, nor a relay (order_origin), nor may a
// target 0.0 carry an incarnation.
TEST(OrderMessages, TargetlessDataRoundTripsAndOtherTargetlessPacketsAreRejected) {
    OrderPacket m = data_packet(3, EntryType::data, 5);
    m.target = Member{};
    m.entry.payload = Bytes{1, 2};
    wire::Packet p = build(m);
    EXPECT_EQ(p.header.target, Pid{});
    EXPECT_EQ(p.header.target_incarnation, 0u);
    auto back = parse(NodeId{1}, p, 64, 64);
    ASSERT_TRUE(back.has_value());
    EXPECT_TRUE(back->to_group());
    EXPECT_EQ(back->entry.payload, (Bytes{1, 2}));
    EXPECT_FALSE(data_packet(3, EntryType::data, 5).to_group());
    EXPECT_TRUE(rejected_after(m, [](OrderPacket& b) { b.target.incarnation = 1; }));
    EXPECT_TRUE(rejected_after(m, [](OrderPacket& b) { b.target.pid.local = 7; }));
    EXPECT_TRUE(rejected_after(m, [](OrderPacket& b) {
        b.entry.relay = true;
        b.origin = 2;  // A relay names its target (O36).
    }));
    for (auto kind :
         {wire::PacketKind::order_ack, wire::PacketKind::order_propose,
          wire::PacketKind::order_flush_report, wire::PacketKind::order_flush_outcome}) {
        EXPECT_TRUE(rejected_after(m, [&](OrderPacket& b) {
            b.kind = kind;
            b.seq = 1;
        })) << static_cast<int>(kind);
    }
}

TEST(OrderMessages, CommitAndProposalRoundTrip) {
    OrderPacket m = data_packet(1, EntryType::commit, 2);
    m.entry.ref_seq = 1;
    m.entry.number = Number{10, 2};
    wire::Packet p = build(m);
    auto back = parse(NodeId{1}, p, 64, 64);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->entry.number, (Number{10, 2}));
    m.kind = wire::PacketKind::order_propose;
    m.seq = 5;
    m.number = Number{7, 1};
    wire::Packet q = build(m);
    auto proposal = parse(NodeId{1}, q, 64, 64);
    ASSERT_TRUE(proposal.has_value());
    EXPECT_EQ(proposal->number, (Number{7, 1}));
    q.body.pop_back();
    EXPECT_FALSE(parse(NodeId{1}, q, 64, 64).has_value());
}

// O17: an `orders` entry (type 4) carries 1..256 runs (u32 member, u64 first, u32 count) of at
// most 4096 messages in all; none, an empty run, a run from seq 0, more runs or messages, or
// bytes left over are malformed.
TEST(OrderMessages, OrdersEntryRoundTripsAndRejectsBadRuns) {
    OrderPacket m = data_packet(1, EntryType::orders, 3);
    m.entry.runs = {OrderRun{1, 5, 3}, OrderRun{0, 1, 1}};
    wire::Packet p = build(m);
    EXPECT_EQ(p.body.size(), 1u + 4u + 2u * 16u);
    auto back = parse(NodeId{1}, p, 64, 64);
    ASSERT_TRUE(back.has_value()) << back.error().detail;
    EXPECT_EQ(back->entry.type, EntryType::orders);
    EXPECT_EQ(back->entry.runs, m.entry.runs);
    const auto rejected = [&](std::vector<OrderRun> runs) {
        return rejected_after(m, [&](OrderPacket& bad) { bad.entry.runs = std::move(runs); });
    };
    EXPECT_TRUE(rejected({}));
    EXPECT_TRUE(rejected({OrderRun{1, 5, 0}}));
    EXPECT_TRUE(rejected({OrderRun{1, 0, 2}}));
    EXPECT_TRUE(rejected({OrderRun{1, 1, 4096}, OrderRun{2, 1, 1}}));
    EXPECT_FALSE(rejected({OrderRun{1, 1, 4095}, OrderRun{2, 1, 1}}));
    EXPECT_TRUE(rejected(std::vector<OrderRun>(257, OrderRun{1, 1, 1})));
    EXPECT_FALSE(rejected(std::vector<OrderRun>(256, OrderRun{1, 1, 1})));
    p = build(m);
    p.body.push_back(0);
    EXPECT_FALSE(parse(NodeId{1}, p, 64, 64).has_value());
}

// O15: a `commits` entry (type 5) carries 1..1024 commits (u64 seq, u64 integer, u32 member);
// none, more, a commit of seq 0 or bytes left over are malformed.
TEST(OrderMessages, CommitsEntryRoundTripsAndRejectsBadCommits) {
    OrderPacket m = data_packet(1, EntryType::commits, 4);
    m.entry.commits = {Commit{1, Number{7, 2}}, Commit{3, Number{9, 0}}};
    wire::Packet p = build(m);
    EXPECT_EQ(p.body.size(), 1u + 4u + 2u * 20u);
    auto back = parse(NodeId{1}, p, 64, 64);
    ASSERT_TRUE(back.has_value()) << back.error().detail;
    EXPECT_EQ(back->entry.type, EntryType::commits);
    EXPECT_EQ(back->entry.commits, m.entry.commits);
    const auto rejected = [&](std::vector<Commit> commits) {
        return rejected_after(m, [&](OrderPacket& bad) { bad.entry.commits = std::move(commits); });
    };
    EXPECT_TRUE(rejected({}));
    EXPECT_TRUE(rejected({Commit{0, Number{1, 1}}}));
    EXPECT_TRUE(rejected(std::vector<Commit>(1025, Commit{1, Number{1, 1}})));
    EXPECT_FALSE(rejected(std::vector<Commit>(1024, Commit{1, Number{1, 1}})));
    p = build(m);
    p.body.push_back(0);
    EXPECT_FALSE(parse(NodeId{1}, p, 64, 64).has_value());
}

// O13: an order_propose may carry more proposals of its proposer: u32 n (1..1024), n x (u64
// seq, u64 integer); n = 0, more than 1024, a seq of 0 or bytes left over are malformed.
TEST(OrderMessages, ProposalsBatchRoundTripsAndRejectsBadOnes) {
    OrderPacket m;
    m.kind = wire::PacketKind::order_propose;
    m.source = member(2, 11);
    m.target = member(1, 10);
    m.group = "g";
    m.view_id = 1;
    m.seq = 1;
    m.number = Number{4, 1};
    m.more = {{2, 5}, {3, 6}};
    wire::Packet p = build(m);
    EXPECT_EQ(p.body.size(), 12u + 4u + 2u * 16u);
    auto back = parse(NodeId{2}, p, 64, 64);
    ASSERT_TRUE(back.has_value()) << back.error().detail;
    EXPECT_EQ(back->more, m.more);
    EXPECT_EQ(back->number, (Number{4, 1}));
    const auto rejected = [&](std::vector<std::pair<std::uint64_t, std::uint64_t>> more) {
        return rejected_after(
            m, [&](OrderPacket& bad) { bad.more = std::move(more); }, NodeId{2});
    };
    EXPECT_TRUE(rejected({{0, 5}}));
    EXPECT_TRUE(rejected(std::vector<std::pair<std::uint64_t, std::uint64_t>>(1025, {2, 5})));
    EXPECT_FALSE(rejected(std::vector<std::pair<std::uint64_t, std::uint64_t>>(1024, {2, 5})));
    p = build(m);
    p.body.push_back(0);
    EXPECT_FALSE(parse(NodeId{2}, p, 64, 64).has_value());
    m.more.clear();
    p = build(m);
    put_u32(p.body, 0);  // n = 0.
    EXPECT_FALSE(parse(NodeId{2}, p, 64, 64).has_value());
}

// O35: an order_ack carries flags and the entries of the sender's done vector that changed
// (index, value varints) or all of them (values only), or nothing. Unknown flags, an index not
// above the previous one or over members_max, over-long or non-shortest varints, bytes missing
// or left over are malformed (O4).
TEST(OrderMessages, AckCarriesDoneEntriesAsVarintsAndRejectsMalformedOnes) {
    OrderPacket m;
    m.kind = wire::PacketKind::order_ack;
    m.source = member(1, 10);
    m.target = member(2, 11);
    m.group = "g";
    m.view_id = 1;
    m.ack = 4;
    m.done = {{1, 300}, {5, 2}};
    m.probe = true;
    const wire::Packet p = build(m);
    // Flags, n, then (index, value) pairs: 300 takes two bytes.
    EXPECT_EQ(p.body, (Bytes{1, 2, 1, 0xac, 0x02, 5, 2}));
    wire::Packet copy = p;
    auto back = parse(NodeId{1}, copy, 64, 64);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->ack, 4u);
    EXPECT_EQ(back->done, m.done);
    EXPECT_TRUE(back->probe);
    EXPECT_FALSE(back->full);
    m.done = {{0, 3}, {1, 4}, {2, 0}};  // The whole vector: values only.
    m.full = true;
    m.probe = false;
    wire::Packet whole = build(m);
    EXPECT_EQ(whole.body, (Bytes{2, 3, 3, 4, 0}));
    back = parse(NodeId{1}, whole, 64, 64);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->done, m.done);
    EXPECT_TRUE(back->full);
    EXPECT_FALSE(back->probe);
    const auto rejects = [&](Bytes body, std::uint32_t members_max = 64) {
        copy = p;
        copy.body = std::move(body);
        return !parse(NodeId{1}, copy, 64, members_max).has_value();
    };
    EXPECT_TRUE(rejects({1, 2, 1, 0xac, 0x02, 5, 2}, 5));  // Index 5 with members_max 5.
    EXPECT_TRUE(rejects({4, 0}));                          // A flag beyond probe and full.
    EXPECT_TRUE(rejects({0, 2, 3, 1, 1, 1}));              // Index 1 after index 3.
    EXPECT_TRUE(rejects({0, 2, 3, 1, 3, 1}));              // Index 3 twice.
    EXPECT_TRUE(rejects({0, 1, 0, 0x80, 0x00}));           // Value 0 in two bytes.
    EXPECT_TRUE(rejects(Bytes{0, 1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                              0x02}));  // A value of 65 bits.
    EXPECT_FALSE(rejects(
        Bytes{0, 1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));  // 2^64 - 1.
    EXPECT_TRUE(rejects({0, 3, 0, 1, 1, 1}));  // Three entries announced, two there.
    copy = p;
    copy.body.push_back(0);  // A byte left over.
    EXPECT_FALSE(parse(NodeId{1}, copy, 64, 64).has_value());
    for (std::size_t n = 1; n < p.body.size(); ++n) {
        copy = p;
        copy.body.resize(n);  // Bytes missing.
        EXPECT_FALSE(parse(NodeId{1}, copy, 64, 64).has_value()) << n;
    }
    copy = p;
    copy.body.clear();  // No vector at all: a plain ack.
    back = parse(NodeId{1}, copy, 64, 64);
    ASSERT_TRUE(back.has_value());
    EXPECT_TRUE(back->done.empty());
    EXPECT_FALSE(back->probe);
    copy.body = Bytes{1, 0};  // A probe with no news.
    back = parse(NodeId{1}, copy, 64, 64);
    ASSERT_TRUE(back.has_value());
    EXPECT_TRUE(back->done.empty());
    EXPECT_TRUE(back->probe);
}

TEST(OrderMessages, FlushReportAndOutcomeRoundTripAndRejectTruncation) {
    FlushReport r;
    r.old_view_id = 3;
    r.old_members = {member(1, 10), member(2, 11)};
    r.contiguous = {2, 1};
    r.delivered_base = 9;
    r.delivered = {{0, 1}, {1, 1}};
    Held h;
    h.sender = 1;
    h.entry.seq = 1;
    h.entry.clock = {0, 1};
    h.entry.payload = Bytes{4, 5};
    r.messages = {h};
    r.previous_outcome = Bytes{7, 7};
    r.expected = {member(2, 11)};
    const Bytes bytes = encode_report(r);
    auto back = decode_report(bytes, 64);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->delivered, r.delivered);
    EXPECT_EQ(back->delivered_base, 9u);
    EXPECT_EQ(back->contiguous, r.contiguous);
    EXPECT_EQ(back->previous_outcome, r.previous_outcome);
    EXPECT_EQ(back->expected, r.expected);
    ASSERT_EQ(back->messages.size(), 1u);
    EXPECT_EQ(back->messages[0].entry.payload, h.entry.payload);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        EXPECT_FALSE(decode_report(ByteView(bytes).first(n), 64).has_value()) << n;
    }
    FlushOutcome o;
    o.old_view_id = 3;
    o.messages = {h};
    o.view.id = 4;
    o.view.members = {member(1, 10)};
    auto outcome = decode_outcome(encode_outcome(o), 64);
    ASSERT_TRUE(outcome.has_value());
    EXPECT_EQ(outcome->messages[0].entry.clock, h.entry.clock);
    EXPECT_EQ(outcome->view, o.view);
    EXPECT_FALSE(decode_skipped(encode_outcome(o)).has_value());  // Old view 3: an outcome.
}

// O39 (g): the skipped-views answer is 24 bytes, u64 0, u64 first, u64 last, 1 <= first <= last.
TEST(OrderMessages, SkippedViewsAnswerRoundTripsAndRejectsBadRuns) {
    const Bytes bytes = encode_skipped(SkippedViews{3, 11});
    ASSERT_EQ(bytes.size(), 24u);
    EXPECT_TRUE(std::all_of(bytes.begin(), bytes.begin() + 8, [](auto b) { return b == 0; }));
    const auto back = decode_skipped(bytes);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->first, 3u);
    EXPECT_EQ(back->last, 11u);
    EXPECT_TRUE(decode_skipped(encode_skipped(SkippedViews{5, 5})).has_value());
    EXPECT_FALSE(decode_skipped(encode_skipped(SkippedViews{0, 4})).has_value());
    EXPECT_FALSE(decode_skipped(encode_skipped(SkippedViews{6, 5})).has_value());
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        EXPECT_FALSE(decode_skipped(ByteView(bytes).first(n)).has_value()) << n;
    }
    Bytes longer = bytes;
    longer.push_back(0);
    EXPECT_FALSE(decode_skipped(longer).has_value());
    Bytes not_zero = bytes;
    not_zero[0] = 1;
    EXPECT_FALSE(decode_skipped(not_zero).has_value());
}

}  // namespace
}  // namespace herald::proto::order

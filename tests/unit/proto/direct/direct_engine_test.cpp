// Unit tests of the direct engine's core rules: handshake, seq/ack, retransmission, dedup,
// reordering, credit, ping, local delivery, malformed input and bounded state.
#include <gtest/gtest.h>

#include "direct_harness.h"

namespace herald::proto::direct::testing {
namespace {

using wire::PacketKind;

constexpr Duration ms(std::int64_t n) {
    return Duration::milliseconds(n);
}

struct Pair {
    Pair(DirectOptions options = {}, ProcessOptions receiver = {}) {
        a = &net.add(1, 11, options);
        b = &net.add(2, 22, options);
        net.spawn(*a, 5);
        net.spawn(*b, 6, receiver);
    }
    // Sends one message and completes the handshake, leaving the data on the wire.
    void handshake(OperationId op, std::string_view body, SendOptions options = {}) {
        net.send(*a, op, p, q, body, options);
        net.deliver_one();  // hello
        net.deliver_one();  // hello_reply: the data goes out
    }
    Net net;
    Host* a = nullptr;
    Host* b = nullptr;
    Pid p{NodeId{1}, 5};
    Pid q{NodeId{2}, 6};
};

TEST(DirectEngine, SendsHelloBeforeTheFirstDataAndHoldsTheData) {
    Pair t;
    t.net.send(*t.a, 1, t.p, t.q, "x");
    ASSERT_EQ(t.net.wire.size(), 1u);
    EXPECT_EQ(t.net.wire.front().packet.header.kind, PacketKind::hello);
    t.net.deliver_one();  // hello -> b
    ASSERT_EQ(t.net.on_wire(PacketKind::hello_reply), 1u);
    t.net.deliver_one();  // hello_reply -> a: now the held data goes out
    ASSERT_EQ(t.net.on_wire(PacketKind::data), 1u);
    EXPECT_EQ(t.net.wire.front().packet.header.target_incarnation, 22u);
    t.net.flush();
    EXPECT_EQ(t.b->bodies(), std::vector<std::string>{"x"});
    EXPECT_TRUE(t.a->ok(1));
}

TEST(DirectEngine, SendsExactlyOneDataAndOneAckPerMessageWithoutLoss) {
    Pair t;
    t.handshake(1, "m1");
    t.net.flush();
    const auto sent_before = t.a->engine->counters().packets_sent;
    const auto acks_before = t.b->engine->counters().packets_sent;
    for (int i = 2; i <= 50; ++i) {
        t.net.send(*t.a, static_cast<OperationId>(i), t.p, t.q, "m" + std::to_string(i));
        ASSERT_EQ(t.net.on_wire(PacketKind::data), 1u);
        t.net.deliver_one();
        ASSERT_EQ(t.net.on_wire(PacketKind::ack), 1u);
        t.net.deliver_one();
        EXPECT_TRUE(t.a->ok(static_cast<OperationId>(i)));
    }
    EXPECT_EQ(t.a->engine->counters().packets_sent - sent_before, 49u);
    EXPECT_EQ(t.b->engine->counters().packets_sent - acks_before, 49u);
    ASSERT_EQ(t.b->delivered.size(), 50u);
    for (std::size_t i = 0; i < 50; ++i) {
        EXPECT_EQ(t.b->delivered[i].seq, i + 1);
        EXPECT_EQ(t.b->delivered[i].source, t.p);
    }
    EXPECT_EQ(t.a->engine->counters().retransmits, 0u);
}

// Rule 5 with coalescing (as the runtime runs it): of one channel's acks within a batch only
// the last goes out, saying the last ack and the last credit. The held ack is rewritten in
// place for each message rather than built anew (issue 17).
TEST(DirectEngine, AcksOfABatchCoalesceIntoOneWithTheLastAckAndCredit) {
    DirectOptions options;
    options.coalesce_acks = true;
    Pair t(options, buffering(Buffering::multiple, 10));
    t.handshake(1, "m1");
    t.net.send(*t.a, 2, t.p, t.q, "m2");
    t.net.send(*t.a, 3, t.p, t.q, "m3");
    ASSERT_EQ(t.net.on_wire(PacketKind::data), 3u);
    for (int i = 0; i < 3; ++i) {  // One batch: no batch end between the packets.
        InFlight p = std::move(t.net.wire.front());
        t.net.wire.pop_front();
        t.b->engine->on_packet(p.from, p.packet, t.net.now, t.b->out);
    }
    t.b->engine->on_batch_end(t.net.now, t.b->out);
    std::vector<const wire::Packet*> acks;
    for (const auto& send : t.b->out.sends) {
        if (send.packet.header.kind == PacketKind::ack) acks.push_back(&send.packet);
    }
    ASSERT_EQ(acks.size(), 1u);
    EXPECT_EQ(acks[0]->header.ack, 3u);
    EXPECT_EQ(read_credit(*acks[0]), 7u);  // 10 slots, 3 queued.
    EXPECT_EQ(t.b->engine->counters().acks_coalesced, 2u);
    t.net.collect(*t.b);
    t.net.flush();
    EXPECT_TRUE(t.a->ok(3));
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"m1", "m2", "m3"}));
}

// Acked bodies' holders are reused for later sends (issue 17); a body a driver still holds
// (a packet kept by the network) is never reused, so what it carries cannot change.
TEST(DirectEngine, BodiesOfAckedSendsAreReusedWithoutChangingHeldOnes) {
    Pair t;
    t.handshake(1, "first");
    ASSERT_EQ(t.a->out.sends.size(), 0u);
    std::shared_ptr<const Bytes> kept;  // As a driver that keeps packets would.
    t.a->engine->on_send(2, Message{t.p, t.q, 0, 0, to_bytes("kept")}, {}, t.net.now, t.a->out);
    for (const auto& send : t.a->out.sends) {
        if (send.shared_body) kept = send.shared_body;
    }
    ASSERT_NE(kept, nullptr);
    t.net.collect(*t.a);
    t.net.flush();
    for (int i = 3; i < 40; ++i) {
        t.net.send(*t.a, static_cast<OperationId>(i), t.p, t.q, "m" + std::to_string(i));
        t.net.flush();
    }
    EXPECT_EQ(as_text(*kept), "kept");
    ASSERT_EQ(t.b->delivered.size(), 39u);
    EXPECT_EQ(as_text(t.b->delivered[1].body), "kept");
    for (int i = 3; i < 40; ++i) {
        EXPECT_EQ(as_text(t.b->delivered[static_cast<std::size_t>(i) - 1].body),
                  "m" + std::to_string(i));
    }
}

TEST(DirectEngine, RetransmitsWithExponentialBackoffAfterLoss) {
    Pair t;
    t.handshake(1, "x");
    t.net.drop_all();  // The first data is lost.
    t.net.advance(ms(19));
    EXPECT_TRUE(t.net.wire.empty());
    t.net.advance(ms(1));  // retransmit_initial = 20 ms
    ASSERT_EQ(t.net.on_wire(PacketKind::data), 1u);
    t.net.drop_all();
    t.net.advance(ms(39));
    EXPECT_TRUE(t.net.wire.empty());
    t.net.advance(ms(1));  // Doubled: 40 ms.
    ASSERT_EQ(t.net.on_wire(PacketKind::data), 1u);
    t.net.flush();
    EXPECT_EQ(t.b->bodies(), std::vector<std::string>{"x"});
    EXPECT_TRUE(t.a->ok(1));
    EXPECT_EQ(t.a->engine->counters().retransmits, 2u);
    EXPECT_EQ(t.a->traced("retransmit"), 2u);
}

TEST(DirectEngine, BackoffStopsAtRetransmitMax) {
    DirectOptions o;
    o.retransmit_initial = ms(10);
    o.retransmit_max = ms(40);
    Pair t(o);
    t.handshake(1, "x");
    std::vector<Time> resent;
    for (int i = 0; i < 6; ++i) {
        t.net.drop_all();
        // Each retransmission comes within retransmit_max (40 ms); wait no longer than 100 ms.
        for (int waited = 0; waited < 100 && t.net.wire.empty(); ++waited) t.net.advance(ms(1));
        ASSERT_FALSE(t.net.wire.empty()) << "no retransmission " << i << " within 100 ms";
        resent.push_back(t.net.now);
    }
    // Gaps: 10, 20, 40, 40, 40 ms.
    EXPECT_EQ((resent[1] - resent[0]).ms(), 20);
    EXPECT_EQ((resent[2] - resent[1]).ms(), 40);
    EXPECT_EQ((resent[3] - resent[2]).ms(), 40);
    EXPECT_EQ((resent[4] - resent[3]).ms(), 40);
}

TEST(DirectEngine, DropsDuplicateDataAndAcksAgain) {
    Pair t;
    t.handshake(1, "x");
    const InFlight copy = t.net.wire.front();
    t.net.flush();
    EXPECT_EQ(t.b->delivered.size(), 1u);
    t.net.inject(*t.b, copy.from, copy.packet);  // The network duplicated it.
    EXPECT_EQ(t.b->delivered.size(), 1u);
    EXPECT_EQ(t.b->engine->counters().duplicates_dropped, 1u);
    ASSERT_EQ(t.net.on_wire(PacketKind::ack), 1u);
    EXPECT_EQ(t.net.wire.front().packet.header.ack, 1u);
}

TEST(DirectEngine, BuffersReorderedDataAndDeliversInSeqOrder) {
    Pair t;
    t.handshake(1, "m1");
    t.net.send(*t.a, 2, t.p, t.q, "m2");
    t.net.send(*t.a, 3, t.p, t.q, "m3");
    ASSERT_EQ(t.net.on_wire(PacketKind::data), 3u);
    std::reverse(t.net.wire.begin(), t.net.wire.end());
    t.net.deliver_one();  // m3
    t.net.deliver_one();  // m2
    EXPECT_TRUE(t.b->delivered.empty());
    t.net.deliver_one();  // m1: all three go up, in order.
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"m1", "m2", "m3"}));
    t.net.flush();
    EXPECT_TRUE(t.a->ok(1) && t.a->ok(2) && t.a->ok(3));
}

TEST(DirectEngine, CreditBlocksTheSenderAndAWindowUpdateResumesIt) {
    Pair t({}, buffering(Buffering::multiple, 2));
    t.handshake(1, "m1", mode(SendMode::nonblocking, OnFull::buffer));
    t.net.flush();  // m1 delivered; its ack says credit 1.
    for (OperationId op = 2; op <= 5; ++op) {
        t.net.send(*t.a, op, t.p, t.q, "m" + std::to_string(op),
                   mode(SendMode::nonblocking, OnFull::buffer));
        EXPECT_TRUE(t.a->ok(op));
    }
    t.net.flush();
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"m1", "m2"}));
    EXPECT_EQ(t.b->engine->queued(t.q), 2u);
    EXPECT_TRUE(t.net.wire.empty());  // Credit 0: the sender holds m3..m5.
    t.net.consume(*t.b, t.q, 2);      // The application read both: a window update goes out.
    EXPECT_EQ(t.b->traced("window_update"), 1u);
    t.net.flush();
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"m1", "m2", "m3", "m4"}));
    t.net.consume(*t.b, t.q, 2);
    t.net.flush();
    EXPECT_EQ(t.b->delivered.size(), 5u);
}

// Rule 6: data the receiver refused for lack of room (its ack said credit 0) goes out again as
// soon as the window update says there is room, not on the retransmit timer (issue 17 item 4).
// Fails without DirectState::resend_refused: m3 and m4 wait for the timer.
TEST(DirectEngine, RefusedDataIsSentAgainAtTheWindowUpdateNotOnTheTimer) {
    Pair t({}, buffering(Buffering::multiple, 2));
    t.handshake(1, "m1", mode(SendMode::nonblocking, OnFull::buffer));
    for (OperationId op = 2; op <= 5; ++op) {  // Optimistic credit: all go out at once.
        t.net.send(*t.a, op, t.p, t.q, "m" + std::to_string(op),
                   mode(SendMode::nonblocking, OnFull::buffer));
    }
    EXPECT_EQ(t.net.on_wire(PacketKind::data), 5u);
    t.net.flush();  // m1 and m2 fill the inbox; m3..m5 are refused (credit 0).
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"m1", "m2"}));
    const auto retransmits = t.a->engine->counters().retransmits;
    t.net.consume(*t.b, t.q, 2);  // Window update, credit 2: m3 and m4 go again at once.
    t.net.flush();
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"m1", "m2", "m3", "m4"}));
    EXPECT_EQ(t.a->engine->counters().retransmits - retransmits, 2u);
    t.net.consume(*t.b, t.q, 2);
    t.net.flush();
    EXPECT_EQ(t.b->delivered.size(), 5u);
}

// Rule 6: the window updates of one consumption share the free slots among the refused
// senders instead of granting each all of them (issue 17 item 4). Fails with credit_for
// returning the free slots: each update then says 4.
TEST(DirectEngine, RefusedSendersShareTheFreeSlots) {
    Pair t({}, buffering(Buffering::multiple, 4));
    const Pid senders[] = {t.p, Pid{NodeId{1}, 7}, Pid{NodeId{1}, 8}};
    t.net.spawn(*t.a, 7);
    t.net.spawn(*t.a, 8);
    t.handshake(1, "warm-up", mode(SendMode::nonblocking, OnFull::buffer));
    t.net.flush();
    t.net.consume(*t.b, t.q, 1);
    t.net.flush();
    OperationId op = 2;
    for (const Pid& sender : senders) {  // 3 x 4 messages for 4 slots.
        for (int i = 0; i < 4; ++i) {
            t.net.send(*t.a, op++, sender, t.q, "m", mode(SendMode::nonblocking, OnFull::buffer));
        }
    }
    t.net.flush();  // 4 delivered, the rest refused: every channel blocked at credit 0.
    ASSERT_EQ(t.b->engine->queued(t.q), 4u);
    t.net.consume(*t.b, t.q, 4);
    std::uint32_t granted = 0;
    for (const InFlight& p : t.net.wire) {
        if (p.packet.header.kind != PacketKind::ack) continue;
        EXPECT_EQ(read_credit(p.packet), 1u);  // 4 free slots / 3 waiting senders.
        granted += read_credit(p.packet).value_or(0);
    }
    EXPECT_EQ(granted, 3u);
    for (int round = 0; round < 20 && t.b->delivered.size() < 13; ++round) {
        t.net.flush();
        t.net.consume(*t.b, t.q, t.b->engine->queued(t.q));
    }
    EXPECT_EQ(t.b->delivered.size(), 13u);  // Everyone gets through.
}

TEST(DirectEngine, ProbesWhenAWindowUpdateIsLost) {
    Pair t({}, buffering(Buffering::single));
    t.handshake(1, "m1", mode(SendMode::nonblocking, OnFull::buffer));
    t.net.flush();
    t.net.send(*t.a, 2, t.p, t.q, "m2", mode(SendMode::nonblocking, OnFull::buffer));
    EXPECT_TRUE(t.net.wire.empty());
    t.net.consume(*t.b, t.q, 1);
    t.net.drop_all();  // The window update is lost.
    t.net.advance(ms(20));
    EXPECT_EQ(t.a->traced("probe_zero_credit"), 1u);
    t.net.flush();
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"m1", "m2"}));
}

TEST(DirectEngine, PingCompletesWithTheRoundTripFromTheEnginesOwnClock) {
    Pair t;
    t.a->engine->on_ping(9, NodeId{2}, Time::max(), t.net.now, t.a->out);
    t.net.collect(*t.a);
    t.net.now = t.net.now + ms(3);
    t.net.flush();
    ASSERT_TRUE(t.a->ok(9));
    EXPECT_EQ(decode_u64_le(*t.a->completions.at(9)), std::optional<std::uint64_t>(3'000'000));
}

TEST(DirectEngine, PingFailsWithUnreachableAtTheDeadline) {
    Pair t;
    t.a->engine->on_ping(9, NodeId{2}, t.net.now + ms(100), t.net.now, t.a->out);
    t.net.collect(*t.a);
    for (int i = 0; i < 10; ++i) {
        t.net.drop_all();
        t.net.advance(ms(10));
    }
    EXPECT_EQ(t.a->error(9), Errc::unreachable);
    t.a->engine->on_ping(10, NodeId{0}, Time::max(), t.net.now, t.a->out);
    t.net.collect(*t.a);
    EXPECT_EQ(t.a->error(10), Errc::invalid_argument);
}

TEST(DirectEngine, PingOfAnAddressLearnsTheNodeItsIncarnationAndTheRoundTrip) {
    Pair t;
    t.a->engine->on_ping_address(9, 2, Time::max(), t.net.now, t.a->out);
    ASSERT_EQ(t.a->out.sends.size(), 1u);
    const wire::Header& hello = t.a->out.sends[0].packet.header;
    EXPECT_EQ(t.a->out.sends[0].to.kind, Destination::Kind::address);
    EXPECT_EQ(hello.kind, wire::PacketKind::hello);
    EXPECT_FALSE(hello.target.node.known());  // Whoever answers at that address.
    t.net.collect(*t.a);
    t.net.now = t.net.now + ms(3);
    t.net.flush();
    ASSERT_TRUE(t.a->ok(9));
    const Bytes& body = *t.a->completions.at(9);
    ASSERT_EQ(body.size(), 20u);
    EXPECT_EQ(decode_u64_le(ByteView(body).first(8)), std::optional<std::uint64_t>(3'000'000));
    EXPECT_EQ(decode_u64_le(ByteView(body).subspan(8, 8)), std::optional<std::uint64_t>(2));
    EXPECT_EQ(body[16], t.b->incarnation & 0xFF);
}

TEST(DirectEngine, PingOfAnAddressWaitsAsLongAsAskedAndIsBounded) {
    DirectOptions options;
    options.pings_max = 2;
    Pair t(options);
    // A ping of an address is not cut short by peer_timeout (5 s): the caller chose 8 s.
    t.a->engine->on_ping_address(1, 7, t.net.now + Duration::seconds(8), t.net.now, t.a->out);
    t.a->engine->on_ping_address(2, 7, Time::max(), t.net.now, t.a->out);
    t.a->engine->on_ping_address(3, 7, Time::max(), t.net.now, t.a->out);  // Over pings_max.
    t.a->engine->on_ping_address(4, 0, Time::max(), t.net.now, t.a->out);  // No handle.
    t.a->out.sends.clear();  // Address 7 answers nowhere.
    t.net.collect(*t.a);
    EXPECT_EQ(t.a->error(3), Errc::queue_full);
    EXPECT_EQ(t.a->error(4), Errc::invalid_argument);
    for (int i = 0; i < 70; ++i) {
        t.net.drop_all();
        t.net.advance(ms(100));
    }
    EXPECT_FALSE(t.a->completions.contains(1));  // 7 s: still waiting.
    for (int i = 0; i < 15; ++i) {
        t.net.drop_all();
        t.net.advance(ms(100));
    }
    EXPECT_EQ(t.a->error(1), Errc::unreachable);
}

TEST(DirectEngine, DeliversBetweenProcessesOfOneNodeWithoutTheNetwork) {
    Net net;
    Host& a = net.add(1);
    net.spawn(a, 5);
    net.spawn(a, 6);
    net.send(a, 1, Pid{NodeId{1}, 5}, Pid{NodeId{1}, 6}, "local", mode(SendMode::delivered));
    EXPECT_TRUE(net.wire.empty());
    EXPECT_EQ(a.bodies(), std::vector<std::string>{"local"});
    EXPECT_TRUE(a.ok(1));
}

TEST(DirectEngine, CountsAndDropsMalformedPackets) {
    Pair t;
    t.handshake(1, "x");
    const std::uint32_t epoch = t.net.wire.front().packet.header.epoch;
    t.net.flush();
    auto data = [&] {
        wire::Packet p = make_packet(PacketKind::data, t.p, t.q, 11, 22);
        p.header.epoch = epoch;
        p.header.seq = 2;
        p.header.ack = 1;
        return p;
    };
    wire::Packet no_seq = data();
    no_seq.header.seq = 0;
    wire::Packet far = data();
    far.header.seq = 10'000;  // Expected 2, window 64.
    wire::Packet wrong_kind = data();
    wrong_kind.header.kind = PacketKind::rpc_request;
    wire::Packet offer_with_body = data();
    offer_with_body.header.flags = wire::flag::offer;
    offer_with_body.body = to_bytes("x");
    wire::Packet no_incarnation = data();
    no_incarnation.header.source_incarnation = 0;
    for (const auto& p : {no_seq, far, wrong_kind, offer_with_body, no_incarnation}) {
        t.net.inject(*t.b, NodeId{1}, p);
    }
    EXPECT_EQ(t.b->engine->counters().malformed_dropped, 5u);
    wire::Packet ack = make_packet(PacketKind::ack, t.q, t.p, 22, 11);
    ack.header.epoch = 0;
    t.net.inject(*t.a, NodeId{2}, ack);  // Wrong epoch.
    EXPECT_EQ(t.a->engine->counters().malformed_dropped, 1u);
    EXPECT_EQ(t.b->delivered.size(), 1u);
}

TEST(DirectEngine, CountsAnAckForASeqThatWasNeverSent) {
    Pair t;
    t.handshake(1, "x");
    const wire::Packet data = t.net.wire.front().packet;
    t.net.flush();
    wire::Packet ack = make_packet(PacketKind::ack, t.q, t.p, 22, 11);
    ack.header.epoch = data.header.epoch;
    ack.header.ack = 5;
    put_credit(ack, 10);
    t.net.inject(*t.a, NodeId{2}, ack);
    EXPECT_EQ(t.a->engine->counters().malformed_dropped, 1u);
}

TEST(DirectEngine, ReleasesIdleFullyAckedChannels) {
    Pair t;
    t.handshake(1, "x");
    t.net.flush();
    EXPECT_EQ(t.a->engine->counters().channels_live, 1u);
    EXPECT_EQ(t.b->engine->counters().channels_live, 1u);
    t.net.advance(Duration::seconds(46));  // channel_idle 30 s, swept every 15 s.
    EXPECT_EQ(t.a->engine->counters().channels_live, 0u);
    EXPECT_EQ(t.b->engine->counters().channels_live, 0u);
    EXPECT_EQ(t.a->engine->counters().channels_released, 1u);
    // A new message after release still arrives exactly once.
    t.net.send(*t.a, 2, t.p, t.q, "y");
    t.net.flush();
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"x", "y"}));
    EXPECT_TRUE(t.a->ok(2));
}

TEST(DirectEngine, ReceiverReleasedFirstRestartsAfterTheSendersAckedSeq) {
    Pair t;
    t.handshake(1, "x");
    t.net.flush();
    t.net.send(*t.a, 2, t.p, t.q, "y");
    t.net.flush();
    // Only b forgets the channel (its idle timer ran first); a keeps seq 3 next.
    t.b->restart(22);  // Same incarnation number: models a released receiver channel.
    t.net.spawn(*t.b, 6);
    t.net.send(*t.a, 3, t.p, t.q, "z");
    t.net.flush();
    EXPECT_EQ(t.b->bodies(), std::vector<std::string>{"z"});
    EXPECT_EQ(t.b->delivered.back().seq, 3u);
    EXPECT_TRUE(t.a->ok(3));
}

TEST(DirectEngine, RefusesNewChannelsAtTheBound) {
    DirectOptions o;
    o.channels_max = 1;
    Pair t(o);
    t.net.spawn(*t.a, 7);
    t.handshake(1, "x");
    t.net.flush();
    t.net.send(*t.a, 2, Pid{NodeId{1}, 7}, t.q, "y");
    EXPECT_EQ(t.a->error(2), Errc::queue_full);
}

TEST(DirectEngine, AnswersAHelloForNodeZeroAndRefusesOneForAnotherNode) {
    Pair t;
    wire::Packet hello = make_packet(PacketKind::hello, Pid{NodeId{1}, 0}, Pid{}, 11, 0);
    hello.header.seq = 7;
    hello.header.timestamp_ns = 1234;
    t.net.inject(*t.b, NodeId{1}, hello);
    ASSERT_EQ(t.net.on_wire(PacketKind::hello_reply), 1u);
    const wire::Header& reply = t.net.wire.front().packet.header;
    EXPECT_EQ(reply.source.node, NodeId{2});
    EXPECT_EQ(reply.source_incarnation, 22u);
    EXPECT_EQ(reply.seq, 7u);
    EXPECT_EQ(reply.timestamp_ns, 1234);
    t.net.drop_all();
    hello.header.target = Pid{NodeId{3}, 0};
    t.net.inject(*t.b, NodeId{1}, hello);
    EXPECT_TRUE(t.net.wire.empty());
    EXPECT_EQ(t.b->engine->counters().malformed_dropped, 1u);
}

TEST(DirectEngine, HellosOfMadeUpNodesMakeAtMostHelloPeersMaxRecordsAndAreStillAnswered) {
    // Issue 21 item 6: each hello from a node without a record made one, for channel_idle.
    DirectOptions options;
    options.hello_peers_max = 8;
    Pair t(options);
    const auto before = t.b->engine->counters().peers_live;
    for (std::uint64_t i = 0; i < 20; ++i) {
        const NodeId stranger{0x1000 + i};
        wire::Packet hello = make_packet(PacketKind::hello, Pid{stranger, 0}, Pid{}, 1, 0);
        hello.header.seq = 1 + i;
        t.net.inject(*t.b, stranger, hello);
    }
    EXPECT_EQ(t.net.on_wire(PacketKind::hello_reply), 20u) << "every hello is answered";
    const auto counters = t.b->engine->counters();
    EXPECT_EQ(counters.peers_live, std::max<std::uint64_t>(before, 8));
    EXPECT_EQ(counters.hello_peers_refused, 20 - (8 - before));
    EXPECT_GT(counters.peer_bytes, 0u);
    // A node with a record still talks as before: a's messages reach b.
    t.net.drop_all();
    t.handshake(1, "x");
    t.net.flush();
    EXPECT_EQ(t.b->engine->counters().delivered, 1u);
    EXPECT_EQ(t.b->engine->counters().malformed_dropped, 0u);
}

TEST(DirectEngine, PingToItselfCompletesWithoutTheNetwork) {
    Pair t;
    t.a->engine->on_ping(3, NodeId{1}, Time::max(), t.net.now, t.a->out);
    t.net.collect(*t.a);
    EXPECT_TRUE(t.net.wire.empty());
    ASSERT_TRUE(t.a->ok(3));
    EXPECT_EQ(decode_u64_le(*t.a->completions.at(3)), std::optional<std::uint64_t>(0));
}

TEST(DirectEngine, DropsStragglersOfAnOlderEpochOfTheSamePair) {
    Pair t;
    t.handshake(1, "x");
    const InFlight old_epoch = t.net.wire.front();
    t.net.flush();
    t.net.send(*t.a, 2, t.p, t.q, "y");
    for (int i = 0; i < 60 && !t.a->done(2); ++i) {  // Unreachable: the channel is released.
        t.net.drop_all();
        t.net.advance(ms(100));
    }
    ASSERT_EQ(t.a->error(2), Errc::unreachable);
    t.net.send(*t.a, 3, t.p, t.q, "z");  // A new channel: a newer epoch.
    t.net.flush();
    t.net.inject(*t.b, old_epoch.from, old_epoch.packet);
    EXPECT_EQ(t.b->bodies(), (std::vector<std::string>{"x", "z"}));
    EXPECT_EQ(t.b->traced("probe_stale_epoch"), 1u);
}

TEST(DirectEngine, AReceiverAtItsChannelBoundAnswersQueueFull) {
    DirectOptions o;
    o.channels_max = 1;
    Pair t(o);
    t.net.spawn(*t.a, 7);
    t.net.spawn(*t.b, 8);
    t.net.send(*t.b, 1, Pid{NodeId{2}, 8}, Pid{NodeId{1}, 7}, "fills a's bound");
    t.net.flush();
    EXPECT_EQ(t.a->engine->counters().channels_live, 1u);
    t.b->restart(22);  // b forgets its channel; a's only slot stays taken until it idles out.
    t.net.spawn(*t.b, 6);
    t.net.send(*t.b, 2, t.q, t.p, "refused");
    t.net.flush();
    EXPECT_EQ(t.b->error(2), Errc::queue_full);
    EXPECT_EQ(t.a->delivered.size(), 1u);
    t.net.settle(Time::zero() + Duration::seconds(46));  // a's idle channel is released.
    t.net.send(*t.b, 3, t.q, t.p, "later");
    t.net.flush();
    EXPECT_TRUE(t.b->ok(3));
    EXPECT_EQ(as_text(t.a->delivered.back().body), "later");
}

TEST(DirectEngine, RejectsBadSendArguments) {
    DirectOptions o;
    o.body_bytes_max = 4;
    Pair t(o);
    t.net.send(*t.a, 1, t.p, t.q, "too long");
    EXPECT_EQ(t.a->error(1), Errc::too_large);
    t.net.send(*t.a, 2, Pid{NodeId{1}, 99}, t.q, "x");
    EXPECT_EQ(t.a->error(2), Errc::closed);
    t.net.send(*t.a, 3, t.q, t.p, "x");
    EXPECT_EQ(t.a->error(3), Errc::invalid_argument);
    t.net.send(*t.a, 4, t.p, Pid{}, "x");
    EXPECT_EQ(t.a->error(4), Errc::invalid_argument);
    t.net.send(*t.a, 5, t.p, t.q, "x", mode(SendMode::accepted, OnFull::block, t.net.now));
    EXPECT_EQ(t.a->error(5), Errc::timeout);
}

}  // namespace
}  // namespace herald::proto::direct::testing

// Mailbox packets and records round-trip through build/parse and encode/decode.
#include "proto/mailbox/mailbox_messages.h"

#include <gtest/gtest.h>

namespace herald::proto::mailbox {
namespace {

TEST(MailboxMessages, ReceiveRoundTripsWithNameAndWait) {
    MailboxPacket m;
    m.kind = wire::PacketKind::mailbox_receive;
    m.source = Pid{NodeId{3}, 4};
    m.target = Pid{NodeId{9}, 0};
    m.id = 77;
    m.name = "jobs";
    m.wait_ms = 1500;
    auto p = build(m, 2);
    auto back = parse(NodeId{3}, p, 64);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->name, "jobs");
    EXPECT_EQ(back->wait_ms, 1500u);
    EXPECT_EQ(back->source_incarnation, 2u);
    EXPECT_EQ(back->id, 77u);
}

TEST(MailboxMessages, RequestFromAnotherNodeThanItsSourceIsMalformed) {
    MailboxPacket m;
    m.kind = wire::PacketKind::mailbox_send;
    m.source = Pid{NodeId{3}, 4};
    m.id = 1;
    m.name = "jobs";
    auto p = build(m, 1);
    EXPECT_EQ(parse(NodeId{5}, p, 64).error().code, Errc::malformed);
}

TEST(MailboxMessages, DeliverCarriesReasonTagAndRedelivery) {
    MailboxPacket m;
    m.kind = wire::PacketKind::mailbox_deliver;
    m.id = 5;
    m.tag = 99;
    m.redelivery = true;
    m.deliveries = 3;
    m.reason = Errc::timeout;
    auto p = build(m, 1);
    auto back = parse(NodeId{1}, p, 64);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->reason, Errc::timeout);
    EXPECT_EQ(back->tag, 99u);
    EXPECT_TRUE(back->redelivery);
    EXPECT_EQ(back->deliveries, 3u);
}

TEST(MailboxMessages, SelectiveReceiveFieldsRoundTripAndBadLengthsAreMalformed) {
    MailboxPacket m;
    m.kind = wire::PacketKind::mailbox_receive;
    m.source = Pid{NodeId{1}, 2};
    m.target = Pid{NodeId{3}, 0};
    m.id = 5;
    m.name = "jobs";
    m.from = Pid{NodeId{7}, 0};
    m.peek = true;
    m.after = 41;
    auto p = build(m, 1);
    auto back = parse(NodeId{1}, p, 64);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->from, m.from);
    EXPECT_TRUE(back->peek);
    EXPECT_EQ(back->after, 41u);
    auto both = build(m, 1);
    both.extensions.push_back({wire::ExtensionType::mailbox_take, Bytes(8, 1)});
    EXPECT_FALSE(parse(NodeId{1}, both, 64).has_value());
    auto short_from = build(m, 1);
    for (auto& e : short_from.extensions) {
        if (e.type == wire::ExtensionType::mailbox_from) e.value.pop_back();
    }
    EXPECT_FALSE(parse(NodeId{1}, short_from, 64).has_value());
    auto long_wait = build(m, 1);
    for (auto& e : long_wait.extensions) {
        if (e.type == wire::ExtensionType::mailbox_wait) e.value.push_back(0);
    }
    EXPECT_FALSE(parse(NodeId{1}, long_wait, 64).has_value());
}

TEST(MailboxMessages, AFloorRoundTripsOnReceiveAndAckAndIsMalformedElsewhereOrOutOfRange) {
    MailboxPacket m;
    m.kind = wire::PacketKind::mailbox_ack;
    m.source = Pid{NodeId{1}, 2};
    m.target = Pid{NodeId{3}, 0};
    m.id = 50;
    m.tag = 9;
    m.name = "jobs";
    m.floor = 48;
    auto p = build(m, 1);
    auto back = parse(NodeId{1}, p, 64);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->floor, 48u);
    m.floor = 0;  // Absent: 0.
    auto none = build(m, 1);
    EXPECT_EQ(parse(NodeId{1}, none, 64)->floor, 0u);
    const auto with_floor = [&](wire::PacketKind kind, std::uint64_t floor) {
        MailboxPacket r = m;
        r.kind = kind;
        auto packet = build(r, 1);
        Bytes value;
        for (int i = 0; i < 8; ++i) value.push_back(static_cast<std::uint8_t>(floor >> (8 * i)));
        packet.extensions.push_back({wire::ExtensionType::mailbox_floor, value});
        return parse(NodeId{1}, packet, 64);
    };
    EXPECT_TRUE(with_floor(wire::PacketKind::mailbox_receive, 50).has_value());
    EXPECT_FALSE(with_floor(wire::PacketKind::mailbox_receive, 51).has_value());  // Above id.
    EXPECT_FALSE(with_floor(wire::PacketKind::mailbox_ack, 0).has_value());
    EXPECT_FALSE(with_floor(wire::PacketKind::mailbox_send, 1).has_value());
}

TEST(MailboxMessages, ReceivedAndStoredRecordsRoundTrip) {
    Received r{12, 34, 2, true, Pid{NodeId{8}, 9}, 77, to_bytes("body")};
    auto back = decode_received(encode_received(r));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->tag, 12u);
    EXPECT_EQ(back->message_id, 34u);
    EXPECT_TRUE(back->redelivery);
    EXPECT_EQ(back->sender, r.sender);
    EXPECT_EQ(back->seq, 77u);
    EXPECT_EQ(back->body, r.body);
    EXPECT_FALSE(decode_received(Bytes{1, 2}).has_value());
    auto m = decode_message(encode_message({Pid{NodeId{1}, 2}, 3, to_bytes("x")}));
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->message_id, 3u);
    MailboxDefinition def;
    def.capacity_messages = 10;
    def.capacity_bytes = 20;
    def.owner = Pid{NodeId{4}, 5};
    def.everyone = rights::none;
    def.grants[Pid{NodeId{6}, 0}] = rights::receive;
    auto d = decode_definition(encode_definition(def));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->capacity_bytes, 20u);
    EXPECT_EQ(d->owner, def.owner);
    EXPECT_EQ(d->everyone, rights::none);
    EXPECT_EQ(d->grants, def.grants);
    auto bad = encode_definition(def);
    bad.back() = 9;  // Rights beyond rights::all.
    EXPECT_FALSE(decode_definition(bad).has_value());
    bad.pop_back();
    EXPECT_FALSE(decode_definition(bad).has_value());
    // Version 1 (before access rights): open to everyone.
    const Bytes v1{1, 10, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0};
    auto old = decode_definition(v1);
    ASSERT_TRUE(old.has_value());
    EXPECT_EQ(old->everyone, rights::all);
    EXPECT_EQ(old->capacity_messages, 10u);
    EXPECT_EQ(message_key("a", 255), "mailbox/m/a/00000000000000ff");
}

TEST(MailboxMessages, BoardReadRoundTripsAndBadShapesAreMalformed) {
    MailboxPacket m;
    m.kind = wire::PacketKind::mailbox_receive;
    m.source = Pid{NodeId{3}, 4};
    m.target = Pid{NodeId{9}, 0};
    m.id = 5;
    m.name = "news";
    m.board_from = 17;
    m.board_count = 8;
    auto p = build(m, 1);
    const auto* read = p.find(wire::ExtensionType::board_read);
    ASSERT_NE(read, nullptr);
    EXPECT_EQ(read->value.size(), 12u);
    auto copy = p;
    auto back = parse(NodeId{3}, copy, 64);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->board_from, 17u);
    EXPECT_EQ(back->board_count, 8u);
    auto shorter = p;
    for (auto& e : shorter.extensions) {
        if (e.type == wire::ExtensionType::board_read) e.value.pop_back();
    }
    EXPECT_FALSE(parse(NodeId{3}, shorter, 64).has_value());
    m.board_count = 0;  // Not a read: build omits it; a zero count on the wire is malformed.
    auto zero = p;
    for (auto& e : zero.extensions) {
        if (e.type == wire::ExtensionType::board_read)
            std::fill(e.value.begin() + 8, e.value.end(), 0);
    }
    EXPECT_FALSE(parse(NodeId{3}, zero, 64).has_value());
    m.board_count = 2;
    m.peek = true;  // A read with a peek: malformed.
    auto peek = build(m, 1);
    EXPECT_FALSE(parse(NodeId{3}, peek, 64).has_value());
}

TEST(MailboxMessages, BoardBatchesAndPostsRoundTripAndShortOnesFail) {
    BoardBatch b;
    b.missed = 3;
    b.cursor = 9;
    b.posts.push_back({7, -5, Pid{NodeId{2}, 3}, 44, to_bytes("hi")});
    b.posts.push_back({8, 12345, Pid{NodeId{2}, 4}, 45, Bytes{}});
    const auto bytes = encode_batch(b);
    EXPECT_EQ(bytes.size(), board_batch_header_bytes + 2 * board_post_header_bytes + 2);
    auto back = decode_batch(bytes);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->missed, 3u);
    EXPECT_EQ(back->cursor, 9u);
    ASSERT_EQ(back->posts.size(), 2u);
    EXPECT_EQ(back->posts[0].posted_ns, -5);
    EXPECT_EQ(back->posts[0].body, to_bytes("hi"));
    EXPECT_EQ(back->posts[1].sender, (Pid{NodeId{2}, 4}));
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
        EXPECT_FALSE(decode_batch(ByteView(bytes.data(), cut)).has_value()) << cut;
    }
    auto longer = bytes;
    longer.push_back(0);
    EXPECT_FALSE(decode_batch(longer).has_value());
    const auto post = decode_post(encode_post(b.posts[0]));
    ASSERT_TRUE(post.has_value());
    EXPECT_EQ(post->posted_ns, -5);
    EXPECT_EQ(post->message_id, 44u);
    EXPECT_FALSE(decode_post(Bytes(20, 0)).has_value());
    MailboxDefinition d;
    d.board = true;
    d.retain_ms = 60000;
    const auto def = decode_definition(encode_definition(d));
    ASSERT_TRUE(def.has_value());
    EXPECT_TRUE(def->board);
    EXPECT_EQ(def->retain_ms, 60000u);
    EXPECT_EQ(cursor_key("news", Pid{NodeId{1}, 2}),
              "mailbox/c/news/0000000000000001/0000000000000002");
}

}  // namespace
}  // namespace herald::proto::mailbox

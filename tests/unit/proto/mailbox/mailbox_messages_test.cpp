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

TEST(MailboxMessages, ReceivedAndStoredRecordsRoundTrip) {
    Received r{12, 34, 2, true, Pid{NodeId{8}, 9}, to_bytes("body")};
    auto back = decode_received(encode_received(r));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->tag, 12u);
    EXPECT_EQ(back->message_id, 34u);
    EXPECT_TRUE(back->redelivery);
    EXPECT_EQ(back->sender, r.sender);
    EXPECT_EQ(back->body, r.body);
    EXPECT_FALSE(decode_received(Bytes{1, 2}).has_value());
    auto m = decode_message(encode_message({Pid{NodeId{1}, 2}, 3, to_bytes("x")}));
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->message_id, 3u);
    auto d = decode_definition(encode_definition({true, 10, 20}));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->capacity_bytes, 20u);
    EXPECT_EQ(message_key("a", 255), "mailbox/m/a/00000000000000ff");
}

}  // namespace
}  // namespace herald::proto::mailbox

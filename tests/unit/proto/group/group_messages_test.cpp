// The group packets, views, envelopes, responder lists, heartbeats and durable records: every
// encoding round-trips, and malformed input is rejected with a clear error, never a crash.
#include "proto/group/group_messages.h"

#include <gtest/gtest.h>

#include "wire/codec.h"

namespace herald::proto::group {
namespace {

using wire::ExtensionType;
using wire::PacketKind;

View sample_view() {
    View v;
    v.id = 7;
    v.closed = true;
    v.members = {Member{Pid{NodeId{2}, 5}, 1}, Member{Pid{NodeId{3}, 9}, 4}};
    return v;
}

GroupPacket sample_data() {
    GroupPacket m;
    m.kind = PacketKind::group_data;
    m.source = Pid{NodeId{2}, 5};
    m.target = Pid{NodeId{3}, 0};
    m.target_incarnation = 4;
    m.id = 42;
    m.respond = true;
    m.name = "chat";
    m.view_id = 7;
    m.locals = {9, 11};
    m.reliability = 2;
    m.body = to_bytes("hello");
    return m;
}

TEST(GroupMessages, ViewRoundTrips) {
    const View v = sample_view();
    auto back = decode_view(encode_view(v));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, v);
}

TEST(GroupMessages, ViewRejectsTruncatedZeroIdAndUnsortedMembers) {
    Bytes b = encode_view(sample_view());
    for (std::size_t n = 0; n < b.size(); ++n) {
        EXPECT_FALSE(decode_view(ByteView(b).first(n))) << "prefix of " << n << " bytes";
    }
    Bytes longer = b;
    longer.push_back(0);
    EXPECT_FALSE(decode_view(longer));
    View zero = sample_view();
    zero.id = 0;
    EXPECT_FALSE(decode_view(encode_view(zero)));
    View unsorted = sample_view();
    std::swap(unsorted.members[0], unsorted.members[1]);
    EXPECT_FALSE(decode_view(encode_view(unsorted)));
}

TEST(GroupMessages, ViewCarriesTheOrderModeAndFifoKeepsTheOldBytes) {
    View v = sample_view();
    const Bytes fifo = encode_view(v);
    EXPECT_EQ(fifo[8], 1);  // Flags: closed only; fifo is 0 in bits 1-3.
    for (std::uint8_t mode = 1; mode <= order_max; ++mode) {
        v.order = mode;
        auto back = decode_view(encode_view(v));
        ASSERT_TRUE(back);
        EXPECT_EQ(back->order, mode);
        EXPECT_TRUE(back->closed);
    }
    Bytes bad = fifo;
    bad[8] = static_cast<std::uint8_t>(1 | 6 << 1);  // Mode 6 does not exist.
    EXPECT_FALSE(decode_view(bad));
    bad[8] = 1 << 1;  // Mode 1 written explicitly: still fifo.
    auto one = decode_view(bad);
    ASSERT_TRUE(one);
    EXPECT_EQ(one->order, order_fifo);
    // The server's durable record keeps each view's mode: a restarted server serves it again.
    View first = sample_view();
    first.order = 4;
    View next = first;
    next.id = 8;
    auto record = decode_record(encode_record({first, next}));
    ASSERT_TRUE(record);
    ASSERT_EQ(record->size(), 2u);
    EXPECT_EQ(record->back().order, 4);
}

TEST(GroupMessages, CreateCarriesTheOrderModeInItsBodyAndRejectsBadModes) {
    GroupPacket c;
    c.kind = PacketKind::group_create;
    c.source = Pid{NodeId{2}, 5};
    c.target = Pid{NodeId{1}, 0};
    c.id = 1;
    c.name = "g";
    c.order = 3;
    wire::Packet q = build(c, 1);
    EXPECT_EQ(q.body, Bytes{3});
    auto back = parse(NodeId{2}, q, 64);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->order, 3);
    c.order = order_fifo;
    wire::Packet f = build(c, 1);
    EXPECT_TRUE(f.body.empty());
    for (const Bytes& body : {Bytes{0}, Bytes{6}, Bytes{1, 1}}) {
        wire::Packet p = build(c, 1);
        p.body = body;
        auto r = parse(NodeId{2}, p, 64);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, Errc::malformed);
    }
}

// G22: a view carries its group's address: the kind in flag bits 4-5, a multicast group after
// the members (u8 family, the address, u16 port); a host list keeps the old bytes.
TEST(GroupMessages, ViewCarriesTheGroupAddressAndHostsKeepTheOldBytes) {
    View v = sample_view();
    const Bytes hosts = encode_view(v);
    v.address = GroupAddress{AddressKind::multicast, IpGroup{4, {239, 1, 2, 3}, 7500}};
    const Bytes multicast = encode_view(v);
    ASSERT_EQ(multicast.size(), hosts.size() + 7);
    EXPECT_EQ(multicast[8], 1 | 1 << 4);
    EXPECT_EQ(Bytes(multicast.end() - 7, multicast.end()),
              (Bytes{4, 239, 1, 2, 3, 7500 & 0xFF, 7500 >> 8}));
    auto back = decode_view(multicast);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, v);
    v.address.ip = IpGroup{6, {0xFF, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9}, 7410};
    back = decode_view(encode_view(v));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->address, v.address);
    v.address = GroupAddress{AddressKind::broadcast, {}};
    const Bytes broadcast = encode_view(v);
    EXPECT_EQ(broadcast.size(), hosts.size());
    back = decode_view(broadcast);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->address.kind, AddressKind::broadcast);
    Bytes bad = multicast;
    bad[bad.size() - 6] = 10;  // 10.1.2.3 is no multicast group.
    EXPECT_FALSE(decode_view(bad));
    bad = hosts;
    bad[8] = 1 | 3 << 4;  // Kind 3 does not exist.
    EXPECT_FALSE(decode_view(bad));
    bad = multicast;
    bad[bad.size() - 7] = 5;  // Family 5.
    EXPECT_FALSE(decode_view(bad));
    bad = multicast;
    bad.pop_back();
    EXPECT_FALSE(decode_view(bad));
    auto record = decode_record(encode_record({*decode_view(multicast)}));
    ASSERT_TRUE(record);
    EXPECT_EQ(record->back().address.ip.port, 7500);
}

// G22: group_create carries the address in group_address (32); a zero multicast address asks
// the server to pick. group_data to an address names its members in group_members (33).
TEST(GroupMessages, CreateCarriesTheAddressAndDataToAnAddressItsMembers) {
    GroupPacket c;
    c.kind = PacketKind::group_create;
    c.source = Pid{NodeId{2}, 5};
    c.target = Pid{NodeId{1}, 0};
    c.id = 1;
    c.name = "g";
    c.address = GroupAddress{AddressKind::multicast, IpGroup{4, {}, 0}};
    wire::Packet q = build(c, 1);
    const auto* ext = q.find(ExtensionType::group_address);
    ASSERT_NE(ext, nullptr);
    EXPECT_EQ(ext->value, (Bytes{1, 4, 0, 0, 0, 0, 0, 0}));
    auto back = parse(NodeId{2}, q, 64);
    ASSERT_TRUE(back) << back.error().detail;
    EXPECT_EQ(back->address, c.address);
    for (const Bytes& value : {Bytes{3}, Bytes{1, 4, 10, 0, 0, 1, 1, 0}, Bytes{1, 4, 0}}) {
        wire::Packet p = build(c, 1);
        for (auto& e : p.extensions) {
            if (e.type == ExtensionType::group_address) e.value = value;
        }
        EXPECT_FALSE(parse(NodeId{2}, p, 64)) << value.size();
    }
    GroupPacket m = sample_data();
    m.target = Pid{NodeId{}, 0};
    m.locals.clear();
    m.members = {Pid{NodeId{3}, 9}, Pid{NodeId{4}, 1}};
    wire::Packet p = build(m, 3);
    auto decoded = wire::decode(wire::encode(p));
    ASSERT_TRUE(decoded);
    auto data = parse(NodeId{2}, *decoded, 64);
    ASSERT_TRUE(data) << data.error().detail;
    EXPECT_EQ(data->members, m.members);
    p.extensions.back().value.pop_back();
    EXPECT_FALSE(parse(NodeId{2}, p, 64)) << "group_members not a multiple of 16 bytes";
}

TEST(GroupMessages, DataPacketRoundTripsThroughTheWireCodec) {
    const GroupPacket m = sample_data();
    wire::Packet p = build(m, 3);
    const Bytes bytes = wire::encode(p);
    auto decoded = wire::decode(bytes);
    ASSERT_TRUE(decoded);
    auto back = parse(NodeId{2}, *decoded, 64);
    ASSERT_TRUE(back) << back.error().detail;
    EXPECT_EQ(back->kind, PacketKind::group_data);
    EXPECT_EQ(back->source, m.source);
    EXPECT_EQ(back->source_incarnation, 3u);
    EXPECT_EQ(back->target_incarnation, 4u);
    EXPECT_EQ(back->id, 42u);
    EXPECT_TRUE(back->respond);
    EXPECT_FALSE(back->closed);
    EXPECT_EQ(back->name, "chat");
    EXPECT_EQ(back->view_id, 7u);
    EXPECT_EQ(back->locals, m.locals);
    EXPECT_EQ(back->reliability, 2u);
    EXPECT_EQ(back->body, m.body);
}

TEST(GroupMessages, ReplyWithReasonAndCreateFlagRoundTrip) {
    GroupPacket m;
    m.kind = PacketKind::group_reply;
    m.source = Pid{NodeId{1}, 0};
    m.target = Pid{NodeId{2}, 5};
    m.id = 3;
    m.name = "g";
    m.reason = Errc::access_denied;
    wire::Packet p = build(m, 1);
    auto back = parse(NodeId{1}, p, 64);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->reason, Errc::access_denied);

    GroupPacket c;
    c.kind = PacketKind::group_create;
    c.source = Pid{NodeId{2}, 5};
    c.target = Pid{NodeId{1}, 0};
    c.id = 1;
    c.name = "g";
    c.closed = true;
    wire::Packet q = build(c, 1);
    auto cb = parse(NodeId{2}, q, 64);
    ASSERT_TRUE(cb);
    EXPECT_TRUE(cb->closed);
}

// Each case breaks one rule of parse(); each must fail with Errc::malformed.
TEST(GroupMessages, ParseRejectsMalformedPackets) {
    auto expect_malformed = [](wire::Packet p, NodeId from, const char* what) {
        auto r = parse(from, p, 8);
        ASSERT_FALSE(r) << what;
        EXPECT_EQ(r.error().code, Errc::malformed) << what;
        EXPECT_FALSE(r.error().detail.empty()) << what;
    };
    const NodeId from{2};
    wire::Packet base = build(sample_data(), 1);
    ASSERT_TRUE(parse(from, base, 8));

    wire::Packet p = base;
    p.header.kind = PacketKind::data;
    expect_malformed(p, from, "not a group kind");
    expect_malformed(base, NodeId{3}, "source not the sending node");
    p = base;
    p.header.source = Pid{NodeId{2}, 0};
    expect_malformed(p, from, "data from pid 0");
    p = base;
    p.header.seq = 0;
    expect_malformed(p, from, "id 0");
    auto without = [&](ExtensionType type) {
        wire::Packet q = base;
        std::erase_if(q.extensions, [&](const wire::Extension& e) { return e.type == type; });
        return q;
    };
    expect_malformed(without(ExtensionType::group_name), from, "no name");
    auto with_value = [&](ExtensionType type, Bytes value) {
        wire::Packet q = base;
        for (auto& e : q.extensions) {
            if (e.type == type) e.value = value;
        }
        return q;
    };
    expect_malformed(with_value(ExtensionType::group_name, to_bytes("far-too-long")), from,
                     "name over name_bytes_max");
    expect_malformed(with_value(ExtensionType::view_id, Bytes(7, 0)), from, "view_id width");
    expect_malformed(with_value(ExtensionType::destinations, Bytes(12, 0)), from,
                     "destinations width");
    expect_malformed(with_value(ExtensionType::group_reliability, Bytes(2, 0)), from,
                     "reliability width");
    p = base;
    p.extensions.push_back({ExtensionType::reason, {0xEE}});
    expect_malformed(p, from, "unknown reason");
}

TEST(GroupMessages, EnvelopesRoundTripAndRejectGarbage) {
    Envelope data;
    data.group = "chat";
    data.view_id = 4;
    data.sender = Member{Pid{NodeId{2}, 5}, 3};
    data.message_id = 99;
    data.payload = to_bytes("payload");
    auto d = decode_envelope(encode_envelope(data));
    ASSERT_TRUE(d);
    EXPECT_FALSE(d->is_view);
    EXPECT_EQ(d->group, "chat");
    EXPECT_EQ(d->view_id, 4u);
    EXPECT_EQ(d->sender, data.sender);
    EXPECT_EQ(d->message_id, 99u);
    EXPECT_EQ(d->payload, data.payload);

    Envelope view;
    view.is_view = true;
    view.group = "chat";
    view.view_id = 7;
    view.view = sample_view();
    auto v = decode_envelope(encode_envelope(view));
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->is_view);
    EXPECT_EQ(v->view, view.view);

    Envelope gone;  // G21: the group was deleted; type 2 carries nothing after the name.
    gone.is_deleted = true;
    gone.group = "chat";
    gone.view_id = 8;
    const Bytes gone_bytes = encode_envelope(gone);
    EXPECT_EQ(gone_bytes.size(), 1u + 8 + 1 + 4);
    auto g = decode_envelope(gone_bytes);
    ASSERT_TRUE(g);
    EXPECT_TRUE(g->is_deleted);
    EXPECT_FALSE(g->is_view);
    EXPECT_EQ(g->group, "chat");
    EXPECT_EQ(g->view_id, 8u);
    Bytes trailing = gone_bytes;
    trailing.push_back(0);
    EXPECT_FALSE(decode_envelope(trailing));

    Bytes bad = encode_envelope(data);
    bad[0] = 4;  // Neither data, view, deleted nor request.
    EXPECT_FALSE(decode_envelope(bad));
    EXPECT_FALSE(decode_envelope(ByteView(bad).first(12)));
}

TEST(GroupMessages, RequestCarriesItsReplyToOnTheWireAndInTheEnvelope) {
    GroupPacket m = sample_data();
    m.reply_to = Pid{NodeId{2}, 77};
    wire::Packet p = build(m, 3);
    auto decoded = wire::decode(wire::encode(p));
    ASSERT_TRUE(decoded);
    auto back = parse(NodeId{2}, *decoded, 64);
    ASSERT_TRUE(back) << back.error().detail;
    EXPECT_EQ(back->reply_to, m.reply_to);
    wire::Packet plain_packet = build(sample_data(), 3);
    auto plain = parse(NodeId{2}, plain_packet, 64);
    ASSERT_TRUE(plain);
    EXPECT_FALSE(plain->reply_to.valid());
    for (const Bytes& value : {Bytes(15, 1), Bytes(16, 0)}) {  // Short; local id 0.
        wire::Packet q = p;
        for (auto& e : q.extensions) {
            if (e.type == ExtensionType::group_reply_to) e.value = value;
        }
        auto r = parse(NodeId{2}, q, 64);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, Errc::malformed);
    }

    Envelope request;  // G24: type 3, the reply-to pid before the payload.
    request.group = "chat";
    request.view_id = 4;
    request.sender = Member{Pid{NodeId{2}, 5}, 3};
    request.message_id = 99;
    request.reply_to = Pid{NodeId{2}, 77};
    request.payload = to_bytes("q");
    const Bytes bytes = encode_envelope(request);
    EXPECT_EQ(bytes[0], 3);
    auto e = decode_envelope(bytes);
    ASSERT_TRUE(e);
    EXPECT_FALSE(e->is_view);
    EXPECT_EQ(e->reply_to, request.reply_to);
    EXPECT_EQ(e->payload, request.payload);
    EXPECT_EQ(e->message_id, 99u);
    Bytes zero = bytes;  // A reply-to with local id 0 names no process.
    for (std::size_t i = bytes.size() - 1 - 8; i < bytes.size() - 1; ++i) zero[i] = 0;
    EXPECT_FALSE(decode_envelope(zero));
    EXPECT_FALSE(decode_envelope(ByteView(bytes).first(bytes.size() - 2)));  // Cut pid.
    Envelope data = request;
    data.reply_to = Pid{};
    EXPECT_EQ(encode_envelope(data)[0], 0);  // A plain multicast keeps type 0 and its bytes.
}

TEST(GroupMessages, RespondersHeartbeatsAndRecordsRoundTrip) {
    Responders r{5, {Pid{NodeId{2}, 1}, Pid{NodeId{3}, 2}}};
    auto rb = decode_responders(encode_responders(r));
    ASSERT_TRUE(rb);
    EXPECT_EQ(rb->view_id, 5u);
    EXPECT_EQ(rb->pids, r.pids);
    Bytes rbytes = encode_responders(r);
    rbytes.pop_back();
    EXPECT_FALSE(decode_responders(rbytes));

    std::vector<InstalledView> hb{{"a", 3}, {"bb", 9}};
    auto hbb = decode_heartbeat(encode_heartbeat(hb));
    ASSERT_TRUE(hbb);
    ASSERT_EQ(hbb->size(), 2u);
    EXPECT_EQ((*hbb)[1].name, "bb");
    EXPECT_EQ((*hbb)[1].view_id, 9u);
    Bytes huge_count = {0xFF, 0xFF, 0xFF, 0xFF};  // Four billion views in four bytes.
    EXPECT_FALSE(decode_heartbeat(huge_count));

    View v1{1, false, {}};
    View v2{2, false, {Member{Pid{NodeId{2}, 5}, 1}}};
    auto rec = decode_record(encode_record({v1, v2}));
    ASSERT_TRUE(rec);
    ASSERT_EQ(rec->size(), 2u);
    EXPECT_EQ(rec->back(), v2);
    RecordState state = RecordState::gone;
    ASSERT_TRUE(decode_record(encode_record({v1, v2}), state));
    EXPECT_EQ(state, RecordState::live);
    View v3{3, false, {}};
    auto tomb = decode_record(encode_record({v2, v3}, RecordState::deleted), state);
    ASSERT_TRUE(tomb);
    EXPECT_EQ(state, RecordState::deleted) << "flags bit 1: a group being deleted (G21)";
    EXPECT_EQ(tomb->back(), v3);
    ASSERT_TRUE(decode_record(encode_record({v3}, RecordState::gone), state));
    EXPECT_EQ(state, RecordState::gone) << "flags bit 2: the floor of a deleted name";
    Bytes both = encode_record({v3}, RecordState::gone);
    both[0] |= 2;
    EXPECT_FALSE(decode_record(both, state)) << "deleted and gone at once";
    View v4{4, false, {}};
    EXPECT_FALSE(decode_record(encode_record({v1, v4}))) << "views must be consecutive";
    EXPECT_FALSE(decode_record(encode_record({}))) << "a record holds at least one view";
    EXPECT_EQ(record_key("chat"), "group/g/chat");
}

}  // namespace
}  // namespace herald::proto::group

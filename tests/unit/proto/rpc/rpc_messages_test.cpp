// Unit tests of the RPC packet builders and validating parsers.
#include "proto/rpc/rpc_messages.h"

#include <gtest/gtest.h>

namespace herald::proto::rpc {
namespace {

const Pid client{NodeId{0xA}, 7};
const Pid server{NodeId{0xB}, 9};

Route route(Protocol protocol = Protocol::rara, Semantics semantics = Semantics::exactly_once) {
    return Route{client, server, CallId{3, 41}, Mode{protocol, semantics}, 2};
}

TEST(RpcMessages, ModeSurvivesTheHeaderFlags) {
    for (auto protocol : {Protocol::rr, Protocol::rra, Protocol::rara}) {
        for (auto semantics : {Semantics::at_least_once, Semantics::exactly_once}) {
            const Mode mode{protocol, semantics};
            EXPECT_EQ(mode_of(mode_flags(mode)), mode);
        }
    }
    EXPECT_EQ(mode_flags(Mode{Protocol::rr, Semantics::at_least_once}), 0);
}

TEST(RpcMessages, RequestRoundTrips) {
    Request request{route(), 5, 40, Duration::milliseconds(3), "add", to_bytes("body"), {}};
    const auto packet = request_packet(request, 3);
    EXPECT_EQ(packet.header.kind, wire::PacketKind::rpc_request);
    auto parsed = parse_request(client.node, packet, 255);
    ASSERT_TRUE(parsed) << parsed.error().to_string();
    EXPECT_EQ(parsed->route.client, client);
    EXPECT_EQ(parsed->route.server, server);
    EXPECT_EQ(parsed->route.id, (CallId{3, 41}));
    EXPECT_EQ(parsed->route.attempt, 2u);
    EXPECT_EQ(parsed->route.mode, (Mode{Protocol::rara, Semantics::exactly_once}));
    EXPECT_EQ(parsed->target_incarnation, 5u);
    EXPECT_EQ(parsed->floor, 40u);
    EXPECT_EQ(parsed->age, Duration::milliseconds(3));
    EXPECT_EQ(parsed->operation, "add");
    EXPECT_EQ(parsed->body, to_bytes("body"));
}

TEST(RpcMessages, CookiesRoundTripOnRequestAndNackAndMustBeEightBytes) {
    Request request{route(), 0, 40, Duration::zero(), "add", to_bytes("body"), {}};
    auto plain = parse_request(client.node, request_packet(request, 3), 255);
    ASSERT_TRUE(plain);
    EXPECT_FALSE(plain->cookie.has_value());
    request.cookie = 0x0123456789ABCDEFull;
    auto packet = request_packet(request, 3);
    auto parsed = parse_request(client.node, packet, 255);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->cookie, 0x0123456789ABCDEFull);
    auto nack = parse_reply(server.node, cookie_packet(route(), 8, 77));
    ASSERT_TRUE(nack);
    EXPECT_EQ(nack->kind, wire::PacketKind::rpc_nack);
    EXPECT_EQ(nack->result.error().code, Errc::access_denied);
    EXPECT_EQ(nack->cookie, 77u);
    for (auto& ext : packet.extensions) {
        if (ext.type == wire::ExtensionType::rpc_cookie) ext.value.pop_back();
    }
    EXPECT_FALSE(parse_request(client.node, packet, 255));
}

TEST(RpcMessages, RepliesRoundTrip) {
    auto ack = parse_reply(server.node, ack_packet(route(), 8));
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->kind, wire::PacketKind::rpc_ack);
    EXPECT_EQ(ack->server_incarnation, 8u);
    auto ok = parse_reply(server.node, response_packet(route(), 8, to_bytes("42")));
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->result, to_bytes("42"));
    auto failed = parse_reply(server.node,
                              response_packet(route(), 8, fail(Errc::application_error, "boom")));
    ASSERT_TRUE(failed);
    ASSERT_FALSE(failed->result);
    EXPECT_EQ(failed->result.error().code, Errc::application_error);
    EXPECT_EQ(failed->result.error().detail, "boom");
    auto nack = parse_reply(server.node, nack_packet(route(), 8, Errc::queue_full, ""));
    ASSERT_TRUE(nack);
    EXPECT_EQ(nack->result.error().code, Errc::queue_full);
    auto ack_of_response = parse_response_ack(client.node, response_ack_packet(route(), 3, 8, 42));
    ASSERT_TRUE(ack_of_response);
    EXPECT_EQ(ack_of_response->server_incarnation, 8u);
    EXPECT_EQ(ack_of_response->floor, 42u);
}

TEST(RpcMessages, MalformedPacketsAreRefused) {
    const Request request{route(), 0, 41, {}, "add", {}, {}};
    auto packet = request_packet(request, 3);
    EXPECT_FALSE(parse_request(NodeId{0xC}, packet, 255));  // Wrong sender node.
    EXPECT_FALSE(parse_request(client.node, packet, 2));    // Operation too long.
    auto no_op = packet;
    no_op.extensions.pop_back();
    EXPECT_FALSE(parse_request(client.node, no_op, 255));
    auto seq0 = request_packet(
        Request{Route{client, server, CallId{3, 0}, {}, 1}, 0, 0, {}, "a", {}, {}}, 3);
    EXPECT_FALSE(parse_request(client.node, seq0, 255));
    auto other_incarnation = packet;
    other_incarnation.header.source_incarnation = 4;
    EXPECT_FALSE(parse_request(client.node, other_incarnation, 255));
    auto negative_age = packet;
    negative_age.header.timestamp_ns = -1;
    EXPECT_FALSE(parse_request(client.node, negative_age, 255));
    auto attempt0 = packet;
    attempt0.header.epoch = 0;
    EXPECT_FALSE(parse_request(client.node, attempt0, 255));
    auto nack = nack_packet(route(), 8, Errc::queue_full, "");
    nack.extensions.pop_back();  // Drop the reason.
    EXPECT_FALSE(parse_reply(server.node, nack));
    auto zero_reason = nack_packet(route(), 8, Errc::queue_full, "");
    zero_reason.extensions[1].value = {0};  // Errc::ok is not a reason.
    EXPECT_FALSE(parse_reply(server.node, zero_reason));
    EXPECT_FALSE(parse_reply(server.node, packet));  // A Req is not a reply.
    auto bad = parse_request(NodeId{0xC}, packet, 255);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::malformed);
}

TEST(RpcMessages, LittleEndianHelpersRefuseShortInput) {
    Bytes out;
    put_u32(out, 0x01020304);
    put_u64(out, 0x1122334455667788ULL);
    EXPECT_EQ(out[0], 0x04);
    std::size_t offset = 0;
    std::uint32_t a = 0;
    std::uint64_t b = 0;
    ASSERT_TRUE(get_u32(out, offset, a));
    ASSERT_TRUE(get_u64(out, offset, b));
    EXPECT_EQ(a, 0x01020304u);
    EXPECT_EQ(b, 0x1122334455667788ULL);
    EXPECT_FALSE(get_u32(out, offset, a));
    EXPECT_EQ(offset, 12u);
}

}  // namespace
}  // namespace herald::proto::rpc

// Unit tests of heraldd's pure pieces: the structured log line format and the admin
// service's messages (encode/decode, refusal of bodies that are not admin messages).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "admin_protocol.h"
#include "log.h"
#include "wire/body.h"

namespace herald::daemon {
namespace {

TEST(LogFormat, TextIsEventThenKeyValueFieldsQuotedWhenNeeded) {
    const std::string line = format_event("node_started",
                                          {{"listen", "udp://127.0.0.1:7400"},
                                           {"incarnation", std::uint32_t{42}},
                                           {"faults", "loss=0.2, dup=0.1"},
                                           {"empty", ""}},
                                          false);
    EXPECT_EQ(line,
              "node_started listen=udp://127.0.0.1:7400 incarnation=42 "
              "faults=\"loss=0.2, dup=0.1\" empty=\"\"");
}

TEST(LogFormat, JsonEscapesStringsAndLeavesNumbersBare) {
    const std::string line = format_event(
        "reply_failed", {{"to", Pid{NodeId{0xab}, 7}}, {"n", 3}, {"why", "a \"b\"\n"}}, true);
    EXPECT_EQ(line, R"("event":"reply_failed","to":"ab.7","n":3,"why":"a \"b\"\u000a")");
}

TEST(AdminProtocol, RequestAndReplyRoundTrip) {
    admin::Request request;
    request.op = "whereis";
    request.id = 99;
    request.name = "echo";
    auto bytes = admin::encode(request);
    ASSERT_TRUE(bytes.has_value());
    auto decoded = admin::decode_request(*bytes);
    ASSERT_TRUE(decoded.has_value()) << decoded.error().to_string();
    EXPECT_EQ(decoded->herald_admin, admin::protocol_version);
    EXPECT_EQ(decoded->op, "whereis");
    EXPECT_EQ(decoded->id, 99u);
    EXPECT_EQ(decoded->name, "echo");

    admin::Reply reply;
    reply.id = 99;
    reply.processes.push_back({"ab.2", "echo", "echo", "multiple", 1024, 5, 1});
    reply.counters["retransmits"] = 12;
    auto reply_bytes = admin::encode(reply);
    ASSERT_TRUE(reply_bytes.has_value());
    auto back = admin::decode_reply(*reply_bytes);
    ASSERT_TRUE(back.has_value()) << back.error().to_string();
    ASSERT_EQ(back->processes.size(), 1u);
    EXPECT_EQ(back->processes[0].handled, 5u);
    EXPECT_EQ(back->counters.at("retransmits"), 12u);
}

TEST(AdminProtocol, RefusesBodiesThatAreNotAdminMessages) {
    // Plain text, a msgpack map without the marker, and a wrong version.
    const std::string text = "hello";
    auto plain = admin::decode_request(to_bytes(text));
    ASSERT_FALSE(plain.has_value());
    EXPECT_EQ(plain.error().code, Errc::malformed);

    std::map<std::string, std::string> unmarked{{"op", "status"}};
    auto unmarked_bytes = wire::pack(unmarked);
    ASSERT_TRUE(unmarked_bytes.has_value());
    auto no_marker = admin::decode_request(*unmarked_bytes);
    ASSERT_FALSE(no_marker.has_value());
    EXPECT_THAT(no_marker.error().detail, ::testing::HasSubstr("protocol version 0"));

    std::map<std::string, int> future{{"herald_admin", 2}};
    auto future_bytes = wire::pack(future);
    ASSERT_TRUE(future_bytes.has_value());
    EXPECT_FALSE(admin::decode_reply(*future_bytes).has_value());
}

TEST(AdminProtocol, WellKnownPidsAreStable) {
    EXPECT_EQ(admin::admin_pid(NodeId{0x7f}), (Pid{NodeId{0x7f}, 1}));
    EXPECT_LT(admin::echo_local_id, local_id_dynamic_min);
}

}  // namespace
}  // namespace herald::daemon

// Unit tests of the herald CLI's pure pieces: durations, targets, exit codes and how message
// bodies are shown (text, MessagePack as JSON, binary as base64).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli.h"

namespace herald::cli {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

TEST(CliDuration, ParsesUnitsAndForever) {
    EXPECT_EQ(parse_duration("250ms").value(), 250ms);
    EXPECT_EQ(parse_duration("2s").value(), 2s);
    EXPECT_EQ(parse_duration("1.5s").value(), 1500ms);
    EXPECT_EQ(parse_duration("3").value(), 3s);
    EXPECT_EQ(parse_duration("1m").value(), 60s);
    EXPECT_EQ(parse_duration("forever").value(), forever);
    EXPECT_EQ(parse_duration("0").value(), forever);
}

TEST(CliDuration, RefusesNonsenseNamingTheText) {
    for (const char* bad : {"", "soon", "5h", "-1s", "1e300s", "2 s", "nan", "ms"}) {
        auto d = parse_duration(bad);
        ASSERT_FALSE(d.has_value()) << bad;
        EXPECT_EQ(d.error().code, Errc::invalid_argument);
        EXPECT_THAT(d.error().detail, HasSubstr(std::string("bad duration '") + bad + "'"));
    }
}

TEST(CliDuration, DescribesTimeoutsAndMeasurements) {
    EXPECT_EQ(describe(500ms), "500 ms");
    EXPECT_EQ(describe(2s), "2 s");
    EXPECT_EQ(describe(1500ms), "1.5 s");
    EXPECT_EQ(describe(std::chrono::microseconds(471)), "0.471 ms");
    EXPECT_EQ(describe(forever), "forever");
}

TEST(CliTarget, ParsesPidAtUrl) {
    auto t = parse_target("7f3a.2@udp://127.0.0.1:7400");
    ASSERT_TRUE(t.has_value()) << t.error().to_string();
    EXPECT_EQ(t->url, "udp://127.0.0.1:7400");
    EXPECT_EQ(t->pid, (Pid{NodeId{0x7f3a}, 2}));
    EXPECT_TRUE(t->name.empty());
}

TEST(CliTarget, ParsesUrlSlashName) {
    auto t = parse_target("udp://127.0.0.1:7400/echo");
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->url, "udp://127.0.0.1:7400");
    EXPECT_EQ(t->name, "echo");
    auto unix_target = parse_target("unix:/run/herald/node.sock/inbox");
    ASSERT_TRUE(unix_target.has_value());
    EXPECT_EQ(unix_target->url, "unix:/run/herald/node.sock");
    EXPECT_EQ(unix_target->name, "inbox");
}

// A udp/tcp URL ends at its host: everything after the first '/' is the name, so a name of
// the name service may hold '/'.
TEST(CliTarget, NameAfterAUdpUrlMayHoldSlashes) {
    auto t = parse_target("udp://127.0.0.1:7400/billing/api");
    ASSERT_TRUE(t.has_value()) << t.error().to_string();
    EXPECT_EQ(t->url, "udp://127.0.0.1:7400");
    EXPECT_EQ(t->name, "billing/api");
}

TEST(CliTarget, RefusesWhatIsNeitherForm) {
    for (const char* bad : {"udp://127.0.0.1:7400", "udp://127.0.0.1:7400/", "7f3a.2", "echo",
                            "zz.2@udp://127.0.0.1:1", "7f3a.0@udp://127.0.0.1:1", "7f3a.2@", ""}) {
        auto t = parse_target(bad);
        ASSERT_FALSE(t.has_value()) << bad;
        EXPECT_EQ(t.error().code, Errc::invalid_argument);
        EXPECT_THAT(t.error().detail, HasSubstr("use PID@URL"));
    }
}

TEST(CliExitCodes, FollowTheDocumentedTable) {
    EXPECT_EQ(exit_code_for(Errc::invalid_argument), exit_usage);
    EXPECT_EQ(exit_code_for(Errc::io_error), exit_internal);
    for (Errc failed : {Errc::timeout, Errc::unreachable, Errc::no_such_process, Errc::not_found,
                        Errc::too_large, Errc::queue_full, Errc::malformed}) {
        EXPECT_EQ(exit_code_for(failed), exit_failed);
    }
}

TEST(CliBody, TextStaysText) {
    const auto body = render_body(to_bytes("héllo\tworld\n"));
    EXPECT_EQ(body.format, "text");
    EXPECT_EQ(body.value, "héllo\tworld\n");
    EXPECT_EQ(render_body({}).format, "text");
}

TEST(CliBody, MessagePackIsShownAsJson) {
    const auto packed = nlohmann::json::to_msgpack(nlohmann::json::parse(R"({"a":[1,"x"]})"));
    const auto body = render_body(packed);
    EXPECT_EQ(body.format, "msgpack");
    EXPECT_EQ(body.value, nlohmann::json::parse(R"({"a":[1,"x"]})"));
    EXPECT_EQ(body.text, R"({"a":[1,"x"]})");
}

TEST(CliBody, OtherBytesAreBase64) {
    // Not UTF-8 text (a surrogate, an overlong '/', a lone continuation byte) and not one
    // MessagePack document either (each starts a valid document but has bytes after it).
    for (const Bytes& raw : {Bytes{0xed, 0xa0, 0x80}, Bytes{0xc0, 0xaf}, Bytes{0x01, 0x80}}) {
        EXPECT_EQ(render_body(raw).format, "binary");
    }
    const auto body = render_body(Bytes{0xc1, 0x01, 0x02, 0xff});  // 0xc1: never used.
    EXPECT_EQ(body.format, "binary");
    EXPECT_EQ(body.value, "wQEC/w==");
    EXPECT_EQ(body.text, "base64:wQEC/w==");
}

TEST(CliMessage, JsonHasEveryField) {
    Envelope e{Pid{NodeId{1}, 2}, Pid{NodeId{3}, 4}, 7, 99, to_bytes("hi")};
    const auto j = message_json(e);
    EXPECT_EQ(j["event"], "message");
    EXPECT_EQ(j["source"], "1.2");
    EXPECT_EQ(j["target"], "3.4");
    EXPECT_EQ(j["seq"], 7);
    EXPECT_EQ(j["sent_unix_ns"], 99);
    EXPECT_EQ(j["bytes"], 2);
    EXPECT_EQ(j["body"], "hi");
    EXPECT_EQ(message_text(e), "message from 1.2 (seq 7, 2 bytes): hi");
}

}  // namespace
}  // namespace herald::cli

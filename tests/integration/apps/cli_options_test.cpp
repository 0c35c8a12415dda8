// Integration: options of herald and heraldd that docs/cli.md and docs/config.md promise and no
// other test reaches: recv's --buffering and --queue-limit, send's --body-file - (stdin), exit
// code 3 when the CLI's own node cannot start; heraldd's --node-id and the config keys
// services.echo, limits.message_bytes_max and log.format = "json".
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "app_test_support.h"

namespace herald::apps_test {
namespace {

using nlohmann::json;

std::string write_config(const TempDir& dir, const std::string& text) {
    const std::string path = dir.file("heraldd.toml");
    std::ofstream(path) << text;
    return path;
}

TEST(HeraldCliOptions, RecvWhoseNodeCannotStartExitsThree) {
    // 192.0.2.0/24 is TEST-NET-1: no interface of this machine has it, so bind fails.
    const auto r = run(
        {herald_bin(), "recv", "--listen", "udp://192.0.2.1:0", "--count", "1", "--timeout", "2s"});
    EXPECT_EQ(r.code, 3) << r.err;
    EXPECT_NE(r.err.find("io_error"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("cannot start the CLI's node"), std::string::npos) << r.err;
}

TEST(HeraldCliOptions, RecvTakesItsBufferingStrategyAndQueueLimit) {
    Child recv({herald_bin(), "--json", "recv", "--buffering", "single", "--count", "2",
                "--timeout", "20s"});
    const auto first = recv.err().line(Clock::now() + 10s);
    ASSERT_TRUE(first.has_value());
    const json listening = json::parse(*first);
    EXPECT_EQ(listening["buffering"], "single");
    const std::string address = listening["address"];
    // With one slot, the second message waits for the first to be taken; both arrive in order.
    ASSERT_EQ(run({herald_bin(), "send", address, "--body", "one", "--mode", "delivered"}).code, 0);
    ASSERT_EQ(run({herald_bin(), "send", address, "--body", "two", "--mode", "delivered"}).code, 0);
    const auto a = recv.out().line(Clock::now() + 10s);
    const auto b = recv.out().line(Clock::now() + 10s);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(json::parse(*a)["body"], "one");
    EXPECT_EQ(json::parse(*b)["body"], "two");
    EXPECT_EQ(recv.wait(Clock::now() + 10s), 0);

    for (const char* bad : {"0", "2000000", "many"}) {
        const auto r = run({herald_bin(), "recv", "--queue-limit", bad, "--count", "1"});
        EXPECT_EQ(r.code, 2) << "--queue-limit " << bad << ": " << r.err;
    }
    EXPECT_EQ(run({herald_bin(), "recv", "--buffering", "lots", "--count", "1"}).code, 2);
}

TEST(HeraldCliOptions, SendReadsTheBodyFromStandardInputWithBodyFileDash) {
    Daemon daemon;
    const std::string command = "printf 'from stdin' | '" + herald_bin() + "' send '" +
                                daemon.url() + "/echo' --body-file - --wait-reply --output json";
    const auto r = run({"/bin/sh", "-c", command});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto out = lines(r.out);
    ASSERT_EQ(out.size(), 2u) << r.out;
    EXPECT_EQ(json::parse(out[0])["bytes"], 10);
    EXPECT_EQ(json::parse(out[1])["body"], "from stdin");
}

TEST(HeralddOptions, NodeIdAndJsonLogsAreTaken) {
    TempDir dir;
    const auto config = write_config(dir, "[log]\nformat = \"json\"\n");
    Daemon daemon({"--node-id", "abc123", "--config", config});
    EXPECT_EQ(daemon.node(), "abc123");
    bool started = false;
    while (auto line = daemon.child().err().line(Clock::now() + 2s)) {
        const json event = json::parse(*line);  // Every log line is one JSON object.
        ASSERT_TRUE(event.contains("event") && event.contains("level")) << *line;
        if (event["event"] == "node_started") {
            started = true;
            EXPECT_EQ(event["node"], "abc123");
            break;
        }
    }
    EXPECT_TRUE(started);
    for (const char* bad : {"xyz", "0", "123456789abcdef01"}) {
        const auto r = run({heraldd_bin(), "--node-id", bad, "--data-dir", dir.file("d")});
        EXPECT_EQ(r.code, 2) << "--node-id " << bad << ": " << r.err;
    }
}

TEST(HeralddOptions, ServicesEchoFalseHostsNoEcho) {
    TempDir dir;
    Daemon daemon({"--config", write_config(dir, "[services]\necho = false\n")});
    const auto r = run({herald_bin(), "send", daemon.url() + "/echo", "--body", "x"});
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find("not_found"), std::string::npos) << r.err;
}

TEST(HeralddOptions, MessageBytesMaxBoundsWhatTheNodeSends) {
    TempDir dir;
    // The least allowed: the node's admin replies (status, name lookups) must still fit.
    Daemon daemon({"--config", write_config(dir, "[limits]\nmessage_bytes_max = 65536\n")});
    std::ofstream(dir.file("fits")) << std::string(65536, 's');
    std::ofstream(dir.file("over")) << std::string(65537, 'o');
    const auto fits = run({herald_bin(), "send", daemon.url() + "/echo", "--body-file",
                           dir.file("fits"), "--wait-reply", "--timeout", "5s"});
    EXPECT_EQ(fits.code, 0) << fits.err;
    // The node told the CLI's node its limit (hello): a larger send fails at once, naming it.
    const auto over = run({herald_bin(), "send", daemon.url() + "/echo", "--body-file",
                           dir.file("over"), "--wait-reply", "--timeout", "5s"});
    EXPECT_EQ(over.code, 1) << over.err;
    EXPECT_NE(over.err.find("too_large"), std::string::npos) << over.err;
    EXPECT_NE(over.err.find("limit of 65536"), std::string::npos) << over.err;
    // Its own admin replies still fit.
    EXPECT_EQ(run({herald_bin(), "status", daemon.url()}).code, 0);
    const auto low = write_config(dir, "[limits]\nmessage_bytes_max = 65535\n");
    const auto refused = run({heraldd_bin(), "--config", low, "--data-dir", dir.file("d")});
    EXPECT_EQ(refused.code, 2) << refused.err;
    EXPECT_NE(refused.err.find("limits.message_bytes_max"), std::string::npos) << refused.err;
}

// heraldd and the CLI over every stream and local transport, not only UDP: a message to echo,
// an exactly-once call of the counter, and status.
TEST(HeralddOptions, ServesSendCallAndStatusOverTcpAndUnixSockets) {
    TempDir dir;
    for (const std::string& listen : {std::string("tcp://127.0.0.1:0"), "unix:" + dir.file("s")}) {
        Daemon daemon({}, listen);
        EXPECT_EQ(daemon.url().substr(0, 4), listen.substr(0, 4)) << daemon.url();
        const auto sent =
            run({herald_bin(), "send", daemon.url() + "/echo", "--body", "over " + listen,
                 "--wait-reply", "--output", "json", "--timeout", "10s"});
        ASSERT_EQ(sent.code, 0) << listen << ": " << sent.err;
        const auto out = lines(sent.out);
        ASSERT_EQ(out.size(), 2u) << sent.out;
        EXPECT_EQ(json::parse(out[1])["body"], "over " + listen);
        const auto called =
            run({herald_bin(), "call", daemon.url() + "/counter", "add", "--timeout", "10s"});
        ASSERT_EQ(called.code, 0) << listen << ": " << called.err;
        EXPECT_NE(called.out.find(": 1"), std::string::npos) << called.out;
        EXPECT_EQ(run({herald_bin(), "status", daemon.url()}).code, 0) << listen;
    }
}

}  // namespace
}  // namespace herald::apps_test

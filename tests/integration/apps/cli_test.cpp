// Integration: a real heraldd on udp://127.0.0.1:0 driven by the real herald binary. Checks
// the JSON output of ping, send (by name and by pid, text and typed bodies, --wait-reply),
// recv (address on stderr, then messages) and status, and their exit codes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "app_test_support.h"

namespace herald::apps_test {
namespace {

using nlohmann::json;

// The single JSON object a command printed on stdout.
json only_object(const RunResult& r) {
    const auto all = lines(r.out);
    EXPECT_EQ(all.size(), 1u) << r.out;
    return all.empty() ? json{} : json::parse(all.front());
}

TEST(HeraldCli, PingReportsTheDaemonsIdIncarnationAndRtt) {
    Daemon daemon;
    const auto r =
        run({herald_bin(), "--json", "ping", daemon.url(), "--count", "2", "--interval", "10ms"});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto out = lines(r.out);
    ASSERT_EQ(out.size(), 3u) << r.out;  // One object per reply, then the summary.
    for (std::size_t i = 0; i < 2; ++i) {
        const json pong = json::parse(out[i]);
        EXPECT_EQ(pong["event"], "pong");
        EXPECT_EQ(pong["node"], daemon.node());
        EXPECT_EQ(pong["url"], daemon.url());
        EXPECT_EQ(pong["seq"], i + 1);
        EXPECT_GT(pong["incarnation"].get<std::uint32_t>(), 0u);
        EXPECT_GT(pong["rtt_ms"].get<double>(), 0.0);
    }
    const json summary = json::parse(out[2]);
    EXPECT_EQ(summary["event"], "ping_summary");
    EXPECT_EQ(summary["sent"], 2);
    EXPECT_EQ(summary["answered"], 2);
    const auto text = run({herald_bin(), "ping", daemon.url()});
    ASSERT_EQ(text.code, 0);
    EXPECT_NE(text.out.find("node " + daemon.node() + " incarnation"), std::string::npos);
}

TEST(HeraldCli, SendToEchoByNameGetsTheSameTextBack) {
    Daemon daemon;
    const auto r = run({herald_bin(), "send", daemon.url() + "/echo", "--body", "hello herald",
                        "--wait-reply", "--output", "json"});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto out = lines(r.out);
    ASSERT_EQ(out.size(), 2u) << r.out;
    const json sent = json::parse(out[0]);
    EXPECT_EQ(sent["event"], "sent");
    EXPECT_EQ(sent["target"], daemon.echo());
    EXPECT_EQ(sent["bytes"], 12);
    EXPECT_EQ(sent["mode"], "accepted");
    const json reply = json::parse(out[1]);
    EXPECT_EQ(reply["event"], "reply");
    EXPECT_EQ(reply["source"], daemon.node() + ".2");
    EXPECT_EQ(reply["format"], "text");
    EXPECT_EQ(reply["body"], "hello herald");
}

TEST(HeraldCli, SendTypedJsonByPidInEveryModeComesBackAsJson) {
    Daemon daemon;
    for (const char* mode : {"nonblocking", "accepted", "delivered"}) {
        const auto r = run({herald_bin(), "--json", "send", daemon.echo(), "--json",
                            R"({"n":[1,2.5,"three"],"ok":true})", "--mode", mode, "-r"});
        ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
        const auto out = lines(r.out);
        ASSERT_EQ(out.size(), 2u) << r.out;
        EXPECT_EQ(json::parse(out[0])["mode"], mode);
        const json reply = json::parse(out[1]);
        EXPECT_EQ(reply["format"], "msgpack");
        EXPECT_EQ(reply["body"], json::parse(R"({"n":[1,2.5,"three"],"ok":true})"));
    }
}

TEST(HeraldCli, SendReadsTheBodyFromAFile) {
    Daemon daemon;
    TempDir dir;
    const std::string path = dir.file("body.txt");
    {
        std::FILE* f = std::fopen(path.c_str(), "w");
        ASSERT_NE(f, nullptr);
        std::fputs("from a file\n", f);
        std::fclose(f);
    }
    const auto r = run({herald_bin(), "--json", "send", daemon.url() + "/echo", "--body-file", path,
                        "--wait-reply"});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto out = lines(r.out);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(json::parse(out[1])["body"], "from a file\n");
}

TEST(HeraldCli, RecvPrintsItsAddressFirstThenEachMessage) {
    Child recv({herald_bin(), "--json", "recv", "--count", "2", "--timeout", "20s"});
    const auto first = recv.err().line(Clock::now() + 10s);
    ASSERT_TRUE(first.has_value());
    const json listening = json::parse(*first);
    ASSERT_EQ(listening["event"], "listening");
    const std::string address = listening["address"];
    EXPECT_EQ(address,
              listening["pid"].get<std::string>() + "@" + listening["url"].get<std::string>());

    ASSERT_EQ(run({herald_bin(), "send", address, "--body", "one"}).code, 0);
    ASSERT_EQ(run({herald_bin(), "send", address, "--json", "2", "--mode", "delivered"}).code, 0);
    const auto a = recv.out().line(Clock::now() + 10s);
    const auto b = recv.out().line(Clock::now() + 10s);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(json::parse(*a)["body"], "one");
    EXPECT_EQ(json::parse(*a)["seq"], 1);
    EXPECT_EQ(json::parse(*b)["body"], 2);
    EXPECT_EQ(json::parse(*b)["format"], "msgpack");
    EXPECT_EQ(recv.wait(Clock::now() + 10s), 0);
}

TEST(HeraldCli, RecvFromOnlyTakesMessagesOfThatSenderAndTimesOutWithExitOne) {
    Child recv({herald_bin(), "recv", "--from", "abc.7", "--count", "1", "--timeout", "1s"});
    const auto first = recv.err().line(Clock::now() + 10s);
    ASSERT_TRUE(first.has_value());
    const auto at = first->find("listening as ");
    ASSERT_NE(at, std::string::npos) << *first;
    const std::string address = first->substr(at + 13);
    ASSERT_EQ(run({herald_bin(), "send", address, "--body", "not from abc.7"}).code, 0);
    EXPECT_EQ(recv.wait(Clock::now() + 10s), 1);
    EXPECT_EQ(recv.out().rest(Clock::now() + 1s), "");
    EXPECT_NE(recv.err().rest(Clock::now() + 1s).find("timeout: received 0 of 1"),
              std::string::npos);
}

TEST(HeraldCli, StatusListsTheServicesAndCounters) {
    Daemon daemon;
    ASSERT_EQ(run({herald_bin(), "send", daemon.url() + "/echo", "--body", "x", "-r"}).code, 0);
    const auto r = run({herald_bin(), "status", daemon.url(), "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    const json status = only_object(r);
    EXPECT_EQ(status["event"], "status");
    EXPECT_EQ(status["node"], daemon.node());
    EXPECT_EQ(status["listen"], daemon.url());
    std::map<std::string, json> by_name;
    for (const auto& p : status["processes"]) by_name[p["name"]] = p;
    ASSERT_TRUE(by_name.count("echo") && by_name.count("node")) << status.dump();
    EXPECT_EQ(by_name["echo"]["pid"], daemon.node() + ".2");
    EXPECT_EQ(by_name["node"]["pid"], daemon.node() + ".1");
    EXPECT_GE(by_name["echo"]["handled"].get<int>(), 1);
    EXPECT_TRUE(by_name["echo"].contains("queued")) << status.dump();  // Inbox depth now.
    EXPECT_GE(status["counters"]["messages_delivered"].get<int>(), 2);
    EXPECT_EQ(status["counters"]["processes"], 3);  // node, echo and the RPC counter.
    EXPECT_EQ(by_name["counter"]["pid"], daemon.node() + ".3");

    const auto text = run({herald_bin(), "status", daemon.url()});
    ASSERT_EQ(text.code, 0);
    EXPECT_NE(text.out.find("echo"), std::string::npos);
    EXPECT_NE(text.out.find("counters:"), std::string::npos);
}

TEST(Heraldd, PrintDefaultConfigIsAConfigItAccepts) {
    const auto printed = run({heraldd_bin(), "--print-default-config"});
    ASSERT_EQ(printed.code, 0);
    TempDir dir;
    const std::string path = dir.file("heraldd.toml");
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(printed.out.c_str(), f);
    std::fclose(f);
    Daemon daemon({"--config", path});
    EXPECT_EQ(run({herald_bin(), "ping", daemon.url()}).code, 0);
    daemon.child().signal(SIGINT);
    EXPECT_EQ(daemon.child().wait(Clock::now() + 10s), 0);
}

TEST(Heraldd, KeepsItsNodeIdAcrossRestartsOnTheSameAddress) {
    std::string url, node;
    {
        Daemon daemon;
        url = daemon.url();
        node = daemon.node();
    }
    TempDir dir;
    Child again({heraldd_bin(), "--listen", url, "--data-dir", dir.path()});
    const auto line = again.out().line(Clock::now() + 10s);
    ASSERT_TRUE(line.has_value());
    EXPECT_NE(line->find("node " + node + " listening on " + url), std::string::npos) << *line;
}

}  // namespace
}  // namespace herald::apps_test

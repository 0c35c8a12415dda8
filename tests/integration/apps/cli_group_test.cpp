// Integration: `herald group create|join|leave|send|view|ls` against two real heraldd: the
// first hosts the group server (the default, docs/config.md [groups]), the second uses it by
// server_url. Checks the JSON and text output, a multicast with reliability all answered by
// members on both daemons, the view change on leave, `herald status` group counters, and exit
// codes: 1 for a refused operation (not_found, already_exists, access_denied, unreachable), 2
// for malformed input (docs/cli.md "herald group").
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "app_test_support.h"

namespace herald::apps_test {
namespace {

using nlohmann::json;

json only_object(const RunResult& r) {
    const auto all = lines(r.out);
    EXPECT_EQ(all.size(), 1u) << r.out << r.err;
    return all.empty() ? json{} : json::parse(all.front());
}

RunResult group(std::vector<std::string> args) {
    std::vector<std::string> argv = {herald_bin(), "--json", "group"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
}

// A daemon that uses the group server of `server` (and fast loopback failure detection).
std::unique_ptr<Daemon> client_of(const Daemon& server, TempDir& dir) {
    const std::string path = dir.file("client.toml");
    std::ofstream(path) << "[groups]\nserver = false\nserver_url = \"" << server.url()
                        << "\"\nheartbeat_ms = 100\nsuspicion_ms = 1000\n";
    return std::make_unique<Daemon>(std::vector<std::string>{"--config", path});
}

TEST(HeraldCliGroup, CreateJoinSendViewLeaveAcrossTwoDaemons) {
    Daemon server;
    TempDir dir;
    auto client = client_of(server, dir);
    auto r = group({"create", server.url(), "chat"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(only_object(r)["view_id"], 1);
    r = group({"join", server.url(), "chat"});
    ASSERT_EQ(r.code, 0) << r.err;
    const std::string first = only_object(r)["member"];
    r = group({"join", client->url(), "chat"});
    ASSERT_EQ(r.code, 0) << r.err;
    const json joined = only_object(r);
    EXPECT_EQ(joined["view_id"], 3);
    ASSERT_EQ(joined["members"].size(), 2u);

    r = group({"send", client->url(), "chat", "hello", "--reliability", "all"});
    ASSERT_EQ(r.code, 0) << r.err;
    const json sent = only_object(r);
    EXPECT_EQ(sent["view_id"], 3);
    EXPECT_EQ(sent["responders"].size(), 2u);
    r = group({"send", server.url(), "chat", "again", "-r", "1"});
    ASSERT_EQ(r.code, 0) << r.err;

    r = group({"view", client->url(), "chat"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(only_object(r)["members"].size(), 2u);
    r = group({"leave", client->url(), "chat"});
    ASSERT_EQ(r.code, 0) << r.err;
    const json left = only_object(r);
    EXPECT_EQ(left["view_id"], 4);
    EXPECT_EQ(left["members"], json::array({first}));
    r = run({herald_bin(), "group", "view", server.url(), "chat"});  // Text output.
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("chat view 4 (open, fifo): 1 member " + first), std::string::npos)
        << r.out;

    r = group({"ls", server.url()});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(only_object(r)["name"], "chat");
    r = group({"ls", client->url()});  // The client daemon does not host the server.
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("unreachable"), std::string::npos) << r.err;

    r = run({herald_bin(), "--json", "status", server.url()});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("\"group_views_installed\":"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"group_multicasts_sent\":1"), std::string::npos) << r.out;
}

// --order on create: the daemon creates the group with that ordering, and view and ls show it
// (text and JSON); an unknown order is a usage error.
TEST(HeraldCliGroup, CreateWithOrderShowsItInViewAndLs) {
    Daemon daemon;
    auto r = group({"create", daemon.url(), "ledger", "--order", "abcast"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(only_object(r)["order"], "abcast");
    ASSERT_EQ(group({"create", daemon.url(), "plain"}).code, 0);  // The default: fifo.
    r = group({"view", daemon.url(), "ledger"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(only_object(r)["order"], "abcast");
    r = run({herald_bin(), "group", "view", daemon.url(), "ledger"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("ledger view 1 (open, abcast): 0 members"), std::string::npos) << r.out;
    r = group({"ls", daemon.url()});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto listed = lines(r.out);
    ASSERT_EQ(listed.size(), 2u) << r.out;
    EXPECT_EQ(json::parse(listed[0]), (json{{"name", "ledger"}, {"order", "abcast"}}));
    EXPECT_EQ(json::parse(listed[1]), (json{{"name", "plain"}, {"order", "fifo"}}));
    r = run({herald_bin(), "group", "ls", daemon.url()});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "ledger abcast\nplain fifo\n");
    r = group({"create", daemon.url(), "bad", "--order", "total"});
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find("invalid_argument"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("fifo, absolute, sequencer, abcast or cbcast"), std::string::npos)
        << r.err;
    EXPECT_EQ(group({"view", daemon.url(), "bad"}).code, 1);  // Never created.
}

TEST(HeraldCliGroup, RefusedOperationsExitOne) {
    Daemon server;
    TempDir dir;
    auto client = client_of(server, dir);
    auto r = group({"join", server.url(), "nowhere"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("not_found"), std::string::npos) << r.err;
    ASSERT_EQ(group({"create", server.url(), "club", "--closed"}).code, 0);
    r = group({"create", client->url(), "club"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("already_exists"), std::string::npos) << r.err;
    ASSERT_EQ(group({"join", server.url(), "club"}).code, 0);
    r = group({"send", client->url(), "club", "let me in", "-r", "0"});  // Not a member there.
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("access_denied"), std::string::npos) << r.err;
    r = group({"leave", client->url(), "club"});  // That daemon never joined.
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("not_found"), std::string::npos) << r.err;
}

TEST(HeraldCliGroup, MalformedInputIsAUsageError) {
    Daemon daemon;
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"create", daemon.url(), std::string(65, 'a')},
          {"create", daemon.url(), ""},
          {"join", daemon.url(), "bad\tname"},
          {"send", daemon.url(), "g", "x", "--reliability", "most"},
          {"send", daemon.url(), "g", "x", "--reliability", "-1"},
          {"send", daemon.url(), "g", "x", "--send-timeout", "0"},
          {"send", daemon.url(), "g", "x", "--send-timeout", "20s", "--timeout", "10s"},
          {"view", "nowhere", "g"}}) {
        const auto r = group(args);
        EXPECT_EQ(r.code, 2) << args[0] << " " << args[2] << ": " << r.err;
        EXPECT_NE(r.err.find("invalid_argument"), std::string::npos) << r.err;
    }
}

}  // namespace
}  // namespace herald::apps_test

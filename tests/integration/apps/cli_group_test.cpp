// Integration: `herald group create|rm|join|leave|send|recv|view|members|views|ls` against two
// real heraldd: the first hosts the group server (the default, docs/config.md [groups]), the
// second uses it by server_url. Checks the JSON and text output, a multicast with reliability
// all answered by members on both daemons and received through a daemon's member, the view
// change on leave, the view history, deletion and re-creation, `herald status` group
// counters, request multicasts collected from `recv --reply` (G24), and exit codes: 1 for a
// refused operation (not_found, already_exists, access_denied, unreachable, timeout), 2 for
// malformed input (docs/cli.md "herald group").
// The walk-through over real IP multicast runs three heraldd in network namespaces the
// test builds (root only; skipped with a message otherwise).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

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

// The view ids `herald group views` prints for `name` at `url`, polled until there are `n`
// (a view reaches a daemon's member after the answer that made it; at most 5 s).
std::vector<int> view_ids(const std::string& url, const std::string& name, std::size_t n) {
    std::vector<int> ids;
    for (int attempt = 0; attempt < 50 && ids.size() != n; ++attempt) {
        if (attempt > 0) std::this_thread::sleep_for(100ms);
        const auto r = group({"views", url, name});
        EXPECT_EQ(r.code, 0) << r.err;
        ids.clear();
        for (const auto& line : lines(r.out)) ids.push_back(json::parse(line)["view_id"]);
    }
    return ids;
}

// herald group members, views, recv and rm (issue 15 items 1 and 8): members lists the current
// view's pids and nodes; views the views the daemon's member received (the current view alone
// where it has none); recv prints what the daemon's member received, with --count and
// --timeout as herald recv; rm deletes the group everywhere, and the name can be made again.
TEST(HeraldCliGroup, MembersViewsRecvAndRmAcrossTwoDaemons) {
    Daemon server;
    TempDir dir;
    auto client = client_of(server, dir);
    ASSERT_EQ(group({"create", server.url(), "news"}).code, 0);
    ASSERT_EQ(group({"create", server.url(), "quiet"}).code, 0);
    auto r = group({"join", server.url(), "news"});
    ASSERT_EQ(r.code, 0) << r.err;
    const std::string first = only_object(r)["member"];
    r = group({"join", client->url(), "news"});
    ASSERT_EQ(r.code, 0) << r.err;
    const std::string second = only_object(r)["member"];

    r = group({"members", client->url(), "news"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::vector<std::string> pids;
    for (const auto& line : lines(r.out)) {
        const json m = json::parse(line);
        EXPECT_EQ(m["view_id"], 3);
        const std::string pid = m["pid"];
        EXPECT_EQ(pid.substr(0, pid.find('.')), m["node"]) << line;
        pids.push_back(pid);
    }
    std::sort(pids.begin(), pids.end());
    std::vector<std::string> expected{first, second};
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(pids, expected);
    r = run({herald_bin(), "group", "members", server.url(), "news"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find(first + " " + first.substr(0, first.find('.')) + "\n"), std::string::npos)
        << r.out;
    EXPECT_EQ(lines(r.out).size(), 2u) << r.out;

    EXPECT_EQ(view_ids(server.url(), "news", 2), (std::vector<int>{2, 3}));
    EXPECT_EQ(view_ids(client->url(), "news", 1), (std::vector<int>{3}));
    EXPECT_EQ(view_ids(client->url(), "quiet", 1), (std::vector<int>{1})) << "no member there";

    ASSERT_EQ(group({"send", client->url(), "news", "hello", "-r", "all"}).code, 0);
    r = group({"recv", server.url(), "news", "--count", "1", "--timeout", "5s"});
    ASSERT_EQ(r.code, 0) << r.err;
    const json got = only_object(r);
    EXPECT_EQ(got["event"], "message");
    EXPECT_EQ(got["group"], "news");
    EXPECT_EQ(got["sender"], second);
    EXPECT_EQ(got["view_id"], 3);
    EXPECT_EQ(got["body"], "hello");
    ASSERT_EQ(group({"send", server.url(), "news", "second", "-r", "all"}).code, 0);
    r = run({herald_bin(), "group", "recv", client->url(), "news", "-n", "2", "-t", "5s"});
    ASSERT_EQ(r.code, 0) << r.err;  // Its own member got hello too, then second.
    ASSERT_EQ(lines(r.out).size(), 2u) << r.out;
    EXPECT_NE(r.out.find("message from " + second + " to news (view 3, "), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("5 bytes): hello\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("message from " + first + " to news (view 3, "), std::string::npos)
        << r.out;
    r = group({"recv", server.url(), "news", "-n", "1", "-t", "5s"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(only_object(r)["body"], "second") << "a member gets its own multicast too";
    r = group({"recv", server.url(), "news", "--count", "1", "--timeout", "1s"});
    EXPECT_EQ(r.code, 1) << "nothing more came";
    EXPECT_NE(r.err.find("received 0 of 1 messages"), std::string::npos) << r.err;
    r = group({"recv", server.url(), "news", "--timeout", "1s"});
    EXPECT_EQ(r.code, 0) << "no --count: running out of time is the end" << r.err;
    EXPECT_EQ(r.out, "");
    r = group({"recv", client->url(), "quiet", "--count", "1"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("not_found"), std::string::npos) << "the daemon did not join" << r.err;

    r = group({"rm", client->url(), "news"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(only_object(r), (json{{"ok", true}, {"name", "news"}}));
    r = run({herald_bin(), "group", "rm", server.url(), "quiet"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "deleted quiet\n");
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"view", server.url(), "news"},
          {"send", server.url(), "news", "late"},
          {"rm", server.url(), "news"},
          {"recv", server.url(), "news", "-n", "1"}}) {  // Its member was told of the deletion.
        r = group(args);
        EXPECT_EQ(r.code, 1) << args[0] << ": " << r.out;
        EXPECT_NE(r.err.find("not_found"), std::string::npos) << args[0] << ": " << r.err;
    }
    r = group({"ls", server.url()});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "");

    // Views 1-3, the final view 4: the group made again starts at view 5.
    r = group({"create", client->url(), "news", "--closed"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(only_object(r)["view_id"], 5);
    r = group({"join", server.url(), "news"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(only_object(r)["view_id"], 6);
    EXPECT_EQ(view_ids(server.url(), "news", 1), (std::vector<int>{6})) << "a new history";
}

// docs/groups.md G21, G5: a deleted group's record is erased from the server's store, so a
// heraldd restarted (kill -9) on the same data folder does not bring it back, keeps the
// group that was not deleted, and lets the name be created again.
TEST(HeraldCliGroup, DeletedGroupStaysGoneAfterTheServerRestarts) {
    TempDir dir;
    const std::string data = dir.file("data");
    {
        Daemon daemon({}, "udp://127.0.0.1:0", data);
        ASSERT_EQ(group({"create", daemon.url(), "kept"}).code, 0);
        ASSERT_EQ(group({"create", daemon.url(), "gone"}).code, 0);
        ASSERT_EQ(group({"join", daemon.url(), "gone"}).code, 0);
        const auto r = group({"rm", daemon.url(), "gone"});
        ASSERT_EQ(r.code, 0) << r.err;
    }  // SIGKILL.
    Daemon again({}, "udp://127.0.0.1:0", data);
    auto r = run({herald_bin(), "group", "ls", again.url()});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "kept fifo\n");
    r = group({"create", again.url(), "gone"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(only_object(r)["view_id"], 4) << "views 1-2, final 3: the floor survived too";
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

// docs/groups.md G24, docs/cli.md: a request multicast from one daemon, answered by the other
// daemon's member (`group recv --reply`), printed as JSON lines: all, selective (--from), and
// a timeout that prints what came and exits 1. The sending daemon's own member is not asked.
TEST(HeraldCliGroup, SendCollectPrintsTheAnswersThatRecvReplySent) {
    Daemon server;
    TempDir dir;
    auto client = client_of(server, dir);
    ASSERT_EQ(group({"create", server.url(), "ask"}).code, 0);
    auto r = group({"join", client->url(), "ask"});
    ASSERT_EQ(r.code, 0) << r.err;
    const std::string member = only_object(r)["member"];
    r = group({"join", server.url(), "ask"});  // The requester below: never addressed.
    ASSERT_EQ(r.code, 0) << r.err;
    const std::string requester = only_object(r)["member"];
    Child answering({herald_bin(), "--json", "group", "recv", client->url(), "ask", "--reply",
                     "pong", "-n", "2", "-t", "30s"});
    for (const bool selective : {false, true}) {
        std::vector<std::string> args{"send", server.url(), "ask", "ping?", "--collect", "all"};
        if (selective) args.insert(args.end(), {"--from", member});
        r = group(args);
        ASSERT_EQ(r.code, 0) << r.out << r.err;
        const auto out = lines(r.out);
        ASSERT_EQ(out.size(), 2u) << r.out;
        const json answer = json::parse(out[0]);
        EXPECT_EQ(answer["event"], "answer");
        EXPECT_EQ(answer["member"], member);
        EXPECT_EQ(answer["body"], "pong");
        const json summary = json::parse(out[1]);
        EXPECT_EQ(summary["event"], "collected");
        EXPECT_EQ(summary["ok"], true);
        EXPECT_EQ(summary["sender"], requester);
        EXPECT_EQ(summary["addressed"], json::array({member}));
        EXPECT_EQ(summary["answers"], 1);
        EXPECT_EQ(summary["timed_out"], false);
    }
    ASSERT_EQ(answering.wait(Clock::now() + 10s), 0);
    const std::string took = answering.out().rest(Clock::now() + 1s);
    ASSERT_EQ(lines(took).size(), 2u) << took;
    for (const auto& line : lines(took)) {
        const json m = json::parse(line);
        EXPECT_EQ(m["event"], "request");
        EXPECT_EQ(m["answered"], true);
        EXPECT_EQ(m["sender"], requester);
    }
    // From the client daemon its member asks; the server's member does not answer: timeout.
    r = run({herald_bin(), "group", "send", client->url(), "ask", "q", "--collect", "first",
             "--send-timeout", "1s"});
    EXPECT_EQ(r.code, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("timeout: 0 answers of 1 addressed in ask (view 3) by " + member),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.err.find("timeout"), std::string::npos) << r.err;
    r = run({herald_bin(), "--json", "status", server.url()});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(json::parse(r.out)["counters"]["group_answers_collected"], 2) << r.out;
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
          {"view", "nowhere", "g"},
          {"rm", daemon.url(), ""},
          {"members", daemon.url(), std::string(65, 'm')},
          {"views", daemon.url(), "bad\nname"},
          {"recv", daemon.url(), "bad\tname", "-n", "1"},
          {"recv", daemon.url(), "g", "--timeout", "soon"},
          {"send", daemon.url(), "g", "x", "--collect", "0"},
          {"send", daemon.url(), "g", "x", "--collect", "most"},
          {"send", daemon.url(), "g", "x", "--collect", "all", "--from", "not-a-pid"}}) {
        const auto r = group(args);
        EXPECT_EQ(r.code, 2) << args[0] << " " << args[2] << ": " << r.err;
        EXPECT_NE(r.err.find("invalid_argument"), std::string::npos) << r.err;
    }
}

// --- The walk-through over real IP multicast (issue 15 "Done when", docs/groups.md G22). ---

// `ip ...` through env (posix_spawn does not search PATH).
RunResult ip(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/usr/bin/env", "ip"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
}

// A bridge namespace and three host namespaces on it (10.79.0.1-3/24; no other route, so
// nothing leaves them); deleted by the destructor whatever happened.
class Hosts {
public:
    Hosts() : base_("herald-cg" + std::to_string(::getpid()) + "-") {}
    ~Hosts() {
        for (auto it = created_.rbegin(); it != created_.rend(); ++it) ip({"netns", "del", *it});
    }
    Hosts(const Hosts&) = delete;
    Hosts& operator=(const Hosts&) = delete;

    [[nodiscard]] std::string ns(int i) const { return base_ + std::to_string(i); }
    [[nodiscard]] static std::string url(int i) {
        return "udp://10.79.0." + std::to_string(i + 1) + ":7400";
    }
    // Empty on success, else the failing step and its output.
    std::string setup() {
        const std::string bridge = base_ + "br";
        std::vector<std::vector<std::string>> steps = {
            {"netns", "add", bridge},
            {"-n", bridge, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0"},
            {"-n", bridge, "link", "set", "br0", "up"}};
        for (int i = 0; i < 3; ++i) {
            const std::string n = std::to_string(i);
            const std::string address = "10.79.0." + std::to_string(i + 1) + "/24";
            steps.push_back({"netns", "add", ns(i)});
            steps.push_back({"-n", bridge, "link", "add", "p" + n, "type", "veth", "peer", "name",
                             "v" + n, "netns", ns(i)});
            steps.push_back({"-n", bridge, "link", "set", "p" + n, "master", "br0", "up"});
            steps.push_back({"-n", ns(i), "link", "set", "lo", "up"});
            steps.push_back({"-n", ns(i), "addr", "add", address, "dev", "v" + n});
            steps.push_back({"-n", ns(i), "link", "set", "v" + n, "up"});
        }
        for (const auto& step : steps) {
            const auto r = ip(step);
            if (r.code != 0) {
                std::string text = "ip";
                for (const auto& part : step) text += " " + part;
                return text + ": " + r.err + r.out;
            }
            if (step[0] == "netns" && step[1] == "add") created_.push_back(step[2]);
        }
        return {};
    }

private:
    std::string base_;
    std::vector<std::string> created_;
};

// heraldd in host namespace `ns` on `url`, fast loopback failure detection; the first is the
// group server, the others use it; `broadcast`: its [groups] broadcast. SIGKILL on kill() or
// destruction.
class HostDaemon {
public:
    HostDaemon(const std::string& ns, const std::string& url, const std::string& server_url,
               const std::string& broadcast = "") {
        const std::string config = dir_.file("heraldd.toml");
        std::ofstream(config) << "[groups]\nserver = " << (server_url.empty() ? "true" : "false")
                              << "\nserver_url = \"" << server_url
                              << "\"\nheartbeat_ms = 100\nsuspicion_ms = 1000\nbroadcast = \""
                              << broadcast << "\"\n";
        child_ = std::make_unique<Child>(std::vector<std::string>{
            "/usr/bin/env", "ip", "netns", "exec", ns, heraldd_bin(), "--config", config,
            "--listen", url, "--data-dir", dir_.file("data")});
        const auto ready = child_->out().line(Clock::now() + 10s);
        if (!ready) throw std::runtime_error("heraldd printed no ready line within 10 s");
    }
    void kill() { child_.reset(); }  // SIGKILL and reap.

private:
    TempDir dir_;
    std::unique_ptr<Child> child_;
};

class GroupWalkThrough : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces";
        if (ip({"-V"}).code != 0) GTEST_SKIP() << "needs iproute2 ('ip' not found)";
        const std::string error = hosts_.setup();
        if (!error.empty()) GTEST_SKIP() << "cannot build the test network: " << error;
    }
    // `herald --json group ARGS` run in host i's namespace against its own daemon.
    RunResult group_at(int i, std::vector<std::string> args) {
        std::vector<std::string> argv = {"/usr/bin/env", "ip",         "netns",  "exec",
                                         hosts_.ns(i),   herald_bin(), "--json", "group"};
        args.insert(args.begin() + 1, Hosts::url(i));
        argv.insert(argv.end(), args.begin(), args.end());
        argv.insert(argv.end(), {"--listen", "udp://10.79.0." + std::to_string(i + 1) + ":0"});
        return run(argv);
    }
    // Host i's daemon counters (herald status --json).
    json counters_at(int i) {
        const auto r = run({"/usr/bin/env", "ip", "netns", "exec", hosts_.ns(i), herald_bin(),
                            "--json", "status", Hosts::url(i), "--listen",
                            "udp://10.79.0." + std::to_string(i + 1) + ":0"});
        EXPECT_EQ(r.code, 0) << r.err;
        const auto all = lines(r.out);
        return all.empty() ? json{} : json::parse(all.front())["counters"];
    }
    // The members of `name`'s current view at host i, polled until there are `n` (at most
    // `limit`).
    std::size_t members_at(int i, const std::string& name, std::size_t n,
                           std::chrono::milliseconds limit) {
        std::size_t count = 0;
        for (const auto end = Clock::now() + limit; Clock::now() < end;) {
            const auto r = group_at(i, {"view", name});
            if (r.code == 0) count = only_object(r)["members"].size();
            if (count == n) break;
            std::this_thread::sleep_for(100ms);
        }
        return count;
    }
    Hosts hosts_;
};

// Three daemons on three hosts; a closed group with an IP multicast address the server picks;
// a member on each; a multicast answered by 2 of 3 that left the sender as ONE datagram to the
// group address and reached both other hosts through their group sockets; kill -9 of one
// daemon, and the survivors' new view (failure detector); a multicast among the survivors.
TEST_F(GroupWalkThrough, ClosedMulticastGroupOnThreeHostsSurvivesAKilledMember) {
    const auto start = Clock::now();
    HostDaemon server(hosts_.ns(0), Hosts::url(0), "");
    HostDaemon second(hosts_.ns(1), Hosts::url(1), Hosts::url(0));
    HostDaemon third(hosts_.ns(2), Hosts::url(2), Hosts::url(0));
    auto r = group_at(0, {"create", "club", "--closed", "--address", "multicast"});
    ASSERT_EQ(r.code, 0) << r.err;
    const std::string address = only_object(r)["address"];
    EXPECT_EQ(address, "multicast:239.193.0.1:7410") << "the first address the server picks";
    for (int i = 0; i < 3; ++i) {
        r = group_at(i, {"join", "club"});
        ASSERT_EQ(r.code, 0) << i << ": " << r.err;
    }
    for (int i = 0; i < 3; ++i) EXPECT_EQ(members_at(i, "club", 3, 5s), 3u) << i;
    r = run({"/usr/bin/env", "ip", "netns", "exec", hosts_.ns(1), herald_bin(), "group", "view",
             Hosts::url(1), "club", "--listen", "udp://10.79.0.2:0"});
    EXPECT_NE(r.out.find("(closed, fifo, " + address + "): 3 members"), std::string::npos)
        << r.out << r.err;

    r = group_at(0, {"send", "club", "hello", "--reliability", "2"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_GE(only_object(r)["responders"].size(), 2u);
    const json sender = counters_at(0);
    EXPECT_EQ(sender["group_address_sends"], 1) << sender.dump();
    EXPECT_EQ(sender["group_datagrams"], 1) << "one datagram to 239.193.0.1 " << sender.dump();
    EXPECT_EQ(sender["group_fan_outs"], 0) << sender.dump();
    EXPECT_EQ(sender["group_joined"], 1) << sender.dump();
    for (int i = 1; i < 3; ++i) {  // The datagram reached both other hosts by the group.
        const json c = counters_at(i);
        EXPECT_EQ(c["group_joined"], 1) << i << " " << c.dump();
        EXPECT_GE(c["group_received"], 1) << i << " " << c.dump();
        r = group_at(i, {"recv", "club", "--count", "1", "--timeout", "5s"});
        ASSERT_EQ(r.code, 0) << i << ": " << r.err;
        EXPECT_EQ(only_object(r)["body"], "hello") << i;
    }

    third.kill();  // kill -9: the failure detector removes its member (suspicion 1 s).
    EXPECT_EQ(members_at(0, "club", 2, 8s), 2u) << "the server's view without the killed host";
    EXPECT_EQ(members_at(1, "club", 2, 5s), 2u) << "the surviving host's view";
    r = group_at(1, {"views", "club"});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto views = lines(r.out);
    ASSERT_FALSE(views.empty());
    EXPECT_EQ(json::parse(views.back())["members"].size(), 2u) << r.out;
    r = group_at(1, {"send", "club", "after", "--reliability", "all"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(only_object(r)["responders"].size(), 2u);
    EXPECT_LT(Clock::now() - start, 30s);
}

// The same three hosts with a broadcast group (heraldd's [groups] broadcast, the bridge's
// broadcast address): a multicast to every member leaves the sender as ONE datagram to
// 10.79.0.255 and reaches both other hosts through their broadcast sockets.
TEST_F(GroupWalkThrough, BroadcastGroupReachesEveryHostWithOneDatagram) {
    const std::string broadcast = "udp://10.79.0.255:7600";
    HostDaemon server(hosts_.ns(0), Hosts::url(0), "", broadcast);
    HostDaemon second(hosts_.ns(1), Hosts::url(1), Hosts::url(0), broadcast);
    HostDaemon third(hosts_.ns(2), Hosts::url(2), Hosts::url(0), broadcast);
    auto r = group_at(0, {"create", "board", "--address", "broadcast"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(only_object(r)["address"], "broadcast");
    for (int i = 0; i < 3; ++i) {
        r = group_at(i, {"join", "board"});
        ASSERT_EQ(r.code, 0) << i << ": " << r.err;
    }
    for (int i = 0; i < 3; ++i) EXPECT_EQ(members_at(i, "board", 3, 5s), 3u) << i;
    r = group_at(0, {"send", "board", "to all", "--reliability", "all"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(only_object(r)["responders"].size(), 3u);
    const json sender = counters_at(0);
    EXPECT_EQ(sender["group_address_sends"], 1) << sender.dump();
    EXPECT_EQ(sender["group_datagrams"], 1) << "one datagram to 10.79.0.255 " << sender.dump();
    EXPECT_EQ(sender["group_fan_outs"], 0) << sender.dump();
    for (int i = 1; i < 3; ++i) {
        const json c = counters_at(i);
        EXPECT_GE(c["group_received"], 1) << i << " " << c.dump();
        r = group_at(i, {"recv", "board", "--count", "1", "--timeout", "5s"});
        ASSERT_EQ(r.code, 0) << i << ": " << r.err;
        EXPECT_EQ(only_object(r)["body"], "to all") << i;
    }
}

}  // namespace
}  // namespace herald::apps_test

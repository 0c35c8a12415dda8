// Integration: `herald name register|lookup|unregister|list` against a real heraldd, which
// hosts the name server by default (docs/cli.md "herald name", docs/config.md [naming]): the
// JSON and text output, exit codes (1 for a refused operation, 2 for a malformed name or
// pid), one owner per name, unregister only for owners on that daemon, aliases rm and ls, and
// the table surviving a kill -9 and restart of the daemon (it lives in data_dir).
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>
#include <vector>

#include "app_test_support.h"
#include "herald/node.h"
#include "herald/process.h"

namespace herald::apps_test {
namespace {

using nlohmann::json;

json only_object(const RunResult& r) {
    const auto all = lines(r.out);
    EXPECT_EQ(all.size(), 1u) << r.out << r.err;
    return all.empty() ? json{} : json::parse(all.front());
}

TEST(HeraldCliName, RegisterLookupListUnregisterThroughTheDaemon) {
    Daemon daemon;
    const std::string echo = daemon.node() + ".2";
    auto r = run({herald_bin(), "--json", "name", "register", daemon.url(), "svc/echo", echo});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(only_object(r)["ok"], true);

    r = run({herald_bin(), "--json", "name", "lookup", daemon.url(), "svc/echo"});
    ASSERT_EQ(r.code, 0) << r.err;
    const json found = only_object(r);
    EXPECT_EQ(found["name"], "svc/echo");
    EXPECT_EQ(found["owner"], echo);
    EXPECT_GT(found["lease_ms"].get<std::int64_t>(), 0);

    r = run({herald_bin(), "name", "register", daemon.url(), "svc/echo", daemon.node() + ".3"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("already_exists"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(echo), std::string::npos) << r.err;  // Names the holder.

    ASSERT_EQ(run({herald_bin(), "name", "register", daemon.url(), "other", "abcd.5"}).code, 0);
    r = run({herald_bin(), "--json", "name", "list", daemon.url()});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto all = lines(r.out);
    ASSERT_EQ(all.size(), 2u) << r.out;
    EXPECT_EQ(json::parse(all[0])["name"], "other");  // In name order.
    EXPECT_EQ(json::parse(all[1])["owner"], echo);
    r = run({herald_bin(), "name", "ls", daemon.url(), "svc/"});
    ASSERT_EQ(r.code, 0) << r.err;
    ASSERT_EQ(lines(r.out).size(), 1u) << r.out;
    EXPECT_NE(r.out.find("svc/echo " + echo), std::string::npos) << r.out;

    // abcd.5 is not a process of this daemon's node: it may not unregister for it.
    r = run({herald_bin(), "name", "unregister", daemon.url(), "other"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("access_denied"), std::string::npos) << r.err;
    r = run({herald_bin(), "--json", "name", "rm", daemon.url(), "svc/echo"});
    ASSERT_EQ(r.code, 0) << r.err;
    r = run({herald_bin(), "name", "lookup", daemon.url(), "svc/echo"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("not_found"), std::string::npos) << r.err;

    r = run({herald_bin(), "--json", "status", daemon.url()});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("\"names_served\":1"), std::string::npos) << r.out;
}

TEST(HeraldCliName, SendAndCallFallBackFromProcessNamesToTheNameService) {
    Daemon daemon;
    ASSERT_EQ(
        run({herald_bin(), "name", "register", daemon.url(), "greeter", daemon.node() + ".2"}).code,
        0);
    ASSERT_EQ(
        run({herald_bin(), "name", "register", daemon.url(), "ctr", daemon.node() + ".3"}).code, 0);
    auto r = run({herald_bin(), "--json", "send", daemon.url() + "/greeter", "--body", "hi",
                  "--wait-reply"});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto out = lines(r.out);
    ASSERT_EQ(out.size(), 2u) << r.out;
    EXPECT_EQ(json::parse(out[0])["target"], daemon.echo());
    EXPECT_NE(out[1].find("hi"), std::string::npos) << out[1];
    r = run({herald_bin(), "call", daemon.url() + "/ctr", "get"});
    ASSERT_EQ(r.code, 0) << r.err;
    r = run({herald_bin(), "send", daemon.url() + "/nobody", "--body", "x"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("not_found"), std::string::npos) << r.err;
    ASSERT_EQ(run({herald_bin(), "name", "register", daemon.url(), "far", "abcd.5"}).code, 0);
    // The owner is of another node: taken to live at this URL now (migrated there); it does
    // not, so the send fails no_such_process.
    r = run({herald_bin(), "send", daemon.url() + "/far", "--body", "x"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("no_such_process"), std::string::npos) << r.err;
    // A process name of the node still wins: "echo" is the echo process, by whereis.
    ASSERT_EQ(
        run({herald_bin(), "name", "register", daemon.url(), "echo", daemon.node() + ".3"}).code,
        0);
    r = run({herald_bin(), "--json", "send", daemon.url() + "/echo", "--body", "x"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(only_object(r)["target"], daemon.echo());

    // recv --from takes URL/NAME too: resolved at start, then only that sender's messages.
    Child recv({herald_bin(), "recv", "--from", daemon.url() + "/greeter", "--count", "1",
                "--timeout", "1s"});
    const auto first = recv.err().line(Clock::now() + 10s);
    ASSERT_TRUE(first.has_value());
    const auto at = first->find("listening as ");
    ASSERT_NE(at, std::string::npos) << *first;
    ASSERT_EQ(run({herald_bin(), "send", first->substr(at + 13), "--body", "not greeter"}).code, 0);
    EXPECT_EQ(recv.wait(Clock::now() + 10s), 1);
    EXPECT_EQ(recv.out().rest(Clock::now() + 1s), "");
    r = run({herald_bin(), "recv", "--from", daemon.url() + "/nobody", "--timeout", "1s"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("not_found"), std::string::npos) << r.err;
    r = run({herald_bin(), "recv", "--from", "udp://127.0.0.1:1", "--timeout", "1s"});
    EXPECT_EQ(r.code, 2) << r.err;  // A URL without a name: usage error before any packet.
}

TEST(HeraldCliName, MalformedInputIsAUsageError) {
    Daemon daemon;
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"register", daemon.url(), "1bad", "abcd.5"},
          {"register", daemon.url(), "ab cd", "abcd.5"},
          {"register", daemon.url(), "cafe.1", "abcd.5"},  // Reads as a pid.
          {"register", daemon.url(), "good", "not-a-pid"},
          {"register", daemon.url(), "good", "abcd.5", "--lease", "0"},
          {"register", daemon.url(), "good", "abcd.5", "--lease", "soon"},
          {"lookup", daemon.url(), std::string(300, 'a')},
          {"lookup", "nowhere", "good"}}) {
        std::vector<std::string> argv = {herald_bin(), "--json", "name"};
        argv.insert(argv.end(), args.begin(), args.end());
        const auto r = run(argv);
        EXPECT_EQ(r.code, 2) << args[2] << ": " << r.err;
        EXPECT_NE(r.err.find("invalid_argument"), std::string::npos) << r.err;
    }
}

TEST(HeraldCliName, NamesSurviveAKillAndRestartOfTheDaemon) {
    TempDir dir;
    auto start = [&] {
        auto child = std::make_unique<Child>(std::vector<std::string>{
            heraldd_bin(), "--listen", "udp://127.0.0.1:0", "--data-dir", dir.file("data")});
        const auto ready = child->out().line(Clock::now() + 10s);
        EXPECT_TRUE(ready);
        static const std::regex pattern(R"(listening on (\S+))");
        std::smatch match;
        std::string url;
        if (ready && std::regex_search(*ready, match, pattern)) url = match[1];
        return std::make_pair(std::move(child), url);
    };
    auto [first, url] = start();
    ASSERT_FALSE(url.empty());
    ASSERT_EQ(run({herald_bin(), "name", "register", url, "kept", "abcd.5", "--lease", "10m"}).code,
              0);
    first.reset();  // SIGKILL: the registration was durable before the answer.
    auto [second, url2] = start();
    ASSERT_FALSE(url2.empty());
    const auto r = run({herald_bin(), "--json", "name", "lookup", url2, "kept"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(only_object(r)["owner"], "abcd.5");
}

// docs/naming.md rule 14 on real daemons: daemon b uses a's name service and holds two names
// (one for its live worker, renewed; one registered with a 10-minute lease). While b lives its
// names stay (a probes it); after a kill -9 of b, a declares it dead after naming.dead_after_ms
// and both names go, long before their leases would end.
TEST(HeraldCliName, ADeadDaemonsNamesGoWhenTheServerDeclaresItDead) {
    TempDir config;
    const std::string a_toml = config.file("a.toml");
    {
        std::ofstream out(a_toml);
        out << "[naming]\ndead_after_ms = 1000\n";
    }
    Daemon a({"--config", a_toml});
    const std::string b_toml = config.file("b.toml");
    {
        std::ofstream out(b_toml);
        out << "[naming]\nserver = false\nserver_url = \"" << a.url() << "\"\n";
    }
    Daemon b({"--config", b_toml});
    auto r = run({herald_bin(), "--json", "spawn", b.url()});
    ASSERT_EQ(r.code, 0) << r.err;
    const std::string worker = only_object(r)["pid"];
    ASSERT_EQ(run({herald_bin(), "name", "register", b.url(), "greeter", worker}).code, 0);
    ASSERT_EQ(
        run({herald_bin(), "name", "register", b.url(), "static", "abcd.5", "--lease", "10m"}).code,
        0);
    std::this_thread::sleep_for(2500ms);  // Over twice dead_after: b answers a's probes.
    for (const char* name : {"greeter", "static"}) {
        EXPECT_EQ(run({herald_bin(), "name", "lookup", a.url(), name}).code, 0) << name;
    }

    b.child().signal(SIGKILL);
    const auto killed = Clock::now();
    auto gone = [&](const char* name) {
        const auto l = run({herald_bin(), "name", "lookup", a.url(), name});
        return l.code == 1 && l.err.find("not_found") != std::string::npos;
    };
    while (!gone("greeter") && Clock::now() < killed + 12s) std::this_thread::sleep_for(100ms);
    const auto took = Clock::now() - killed;
    EXPECT_TRUE(gone("greeter"));
    EXPECT_TRUE(gone("static"));
    // dead_after (1 s) + a probe interval (0.2 s), the CLI's start-up per lookup, and room
    // for a loaded sanitizer run: far below the leases (30 s renewed, 10 min).
    EXPECT_LT(took, 8s) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
    auto status = run({herald_bin(), "--json", "status", a.url()});
    ASSERT_EQ(status.code, 0) << status.err;
    const json counters = only_object(status)["counters"];
    EXPECT_EQ(counters["name_holders_dead"], 1);
    EXPECT_EQ(counters["names_dropped_dead"], 2);
}

// The issue's walk-through on real daemons (docs/cli.md "herald migrate"): an echo worker of
// daemon a, known by a name, moves to daemon b while a client streams to it by that name; every
// reply comes back once and in order, the client's later messages go straight to b (b's
// counters), and after a kill -9 of a the client still reaches the worker at b.
TEST(HeraldCliMigrate, AWorkerMovesWhileAClientStreamsAndOutlivesItsOrigin) {
    Daemon a;
    TempDir config;
    const std::string b_toml = config.file("b.toml");
    {
        std::ofstream out(b_toml);
        out << "[naming]\nserver = false\nserver_url = \"" << a.url() << "\"\n";
    }
    Daemon b({"--config", b_toml});
    auto r = run({herald_bin(), "--json", "spawn", a.url()});
    ASSERT_EQ(r.code, 0) << r.err;
    const std::string worker = only_object(r)["pid"];
    ASSERT_EQ(run({herald_bin(), "name", "register", a.url(), "greeter", worker}).code, 0);

    NodeOptions options;
    options.faults_from_env = false;
    options.naming.server_url = a.url();
    auto client_node = Node::start(options);
    ASSERT_TRUE(client_node) << client_node.error().to_string();
    auto client = (*client_node)->spawn();
    ASSERT_TRUE(client) << client.error().to_string();
    constexpr int total = 300;
    std::atomic<int> sent{0};
    std::atomic<int> failures{0};
    std::atomic<bool> migrated{false};
    std::thread stream([&] {
        for (int i = 0; i < total; ++i) {
            // The second half goes once the move is done (however slow the build: TSan), so
            // that part of the stream reaches b directly.
            while (i == total / 2 && !migrated) std::this_thread::sleep_for(1ms);
            // By name (a's name service, which b uses too); the lookup is cached 1 s.
            if (!client->send("greeter", std::to_string(i))) ++failures;
            sent = i + 1;
            std::this_thread::sleep_for(1ms);
        }
    });
    while (sent < total / 4) std::this_thread::sleep_for(1ms);
    r = run({herald_bin(), "--json", "migrate", a.url(), "greeter", b.url()}, 15s);  // By name.
    migrated = true;
    EXPECT_EQ(r.code, 0) << r.err;
    const json moved = only_object(r);
    EXPECT_EQ(moved["pid"], worker);
    EXPECT_EQ(moved["node"], b.node());
    std::vector<std::string> replies;
    while (replies.size() < static_cast<std::size_t>(total)) {
        auto reply = client->receive(5s);
        if (!reply) break;
        replies.emplace_back(reply->body.begin(), reply->body.end());
    }
    stream.join();
    EXPECT_EQ(failures.load(), 0);
    ASSERT_EQ(replies.size(), static_cast<std::size_t>(total));
    for (int i = 0; i < total; ++i)
        EXPECT_EQ(replies[static_cast<std::size_t>(i)], std::to_string(i));

    auto counters = [](const Daemon& d) {
        auto status = run({herald_bin(), "--json", "status", d.url()});
        EXPECT_EQ(status.code, 0) << status.err;
        return only_object(status)["counters"];
    };
    const json at_a = counters(a), at_b = counters(b);
    EXPECT_EQ(at_a["migrations_out"], 1);
    EXPECT_EQ(at_b["migrations_in"], 1);
    EXPECT_GE(at_b["received_forwarded"].get<int>(), 1);  // Sent to a before the ack said b.
    EXPECT_GE(at_b["received_direct"].get<int>(), 100);   // Then straight to b.

    a.child().signal(SIGKILL);  // The origin dies: the client knows where the worker is.
    const Pid pid = *parse_pid(worker);
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(client->send(pid, "after")) << i;
        auto reply = client->receive(5s);
        ASSERT_TRUE(reply) << reply.error().to_string();
    }
    // A new sender that names b's address finds the worker there (a location hint).
    r = run({herald_bin(), "send", worker + "@" + b.url(), "-b", "hi", "-r"});
    EXPECT_EQ(r.code, 0) << r.err;
    // One that only knows the dead origin fails clearly, never hangs.
    r = run({herald_bin(), "send", worker + "@" + a.url(), "-b", "hi", "-t", "3s"});
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find("unreachable"), std::string::npos) << r.err;
}

TEST(HeraldCliMigrate, BadArgumentsAndBuiltInServicesAreRefusedClearly) {
    Daemon a;
    Daemon b;
    auto r = run({herald_bin(), "migrate", a.url(), "9-not-a-pid-nor-a-name", b.url()});
    EXPECT_EQ(r.code, 2) << r.err;
    r = run({herald_bin(), "migrate", a.url(), "nobody", b.url()});  // No such name.
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find("not_found"), std::string::npos) << r.err;
    r = run({herald_bin(), "migrate", a.url(), a.node() + ".7", "nowhere"});
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find("invalid_argument"), std::string::npos) << r.err;
    r = run({herald_bin(), "migrate", a.url(), a.node() + ".2", b.url()});  // The echo service.
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find("built-in services do not migrate"), std::string::npos) << r.err;
    r = run({herald_bin(), "migrate", a.url(), a.node() + ".99", b.url()});
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find("not_found"), std::string::npos) << r.err;
    r = run({herald_bin(), "--json", "spawn", a.url()});
    ASSERT_EQ(r.code, 0) << r.err;
    const std::string worker = only_object(r)["pid"];
    r = run({herald_bin(), "migrate", a.url(), worker, a.url()});  // To itself.
    EXPECT_EQ(r.code, 2) << r.err;
    // Still served at a after the refusals.
    r = run({herald_bin(), "send", worker + "@" + a.url(), "-b", "still", "-r"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("still"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace herald::apps_test

// Integration: `herald name register|lookup|unregister|list` against a real heraldd, which
// hosts the name server by default (docs/cli.md "herald name", docs/config.md [naming]): the
// JSON and text output, exit codes (1 for a refused operation, 2 for a malformed name or
// pid), one owner per name, unregister only for owners on that daemon, aliases rm and ls, and
// the table surviving a kill -9 and restart of the daemon (it lives in data_dir).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "app_test_support.h"

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
    r = run({herald_bin(), "send", daemon.url() + "/far", "--body", "x"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("abcd.5@URL_OF_THAT_NODE"), std::string::npos) << r.err;
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

}  // namespace
}  // namespace herald::apps_test

// heraldd's built-in RPC services driven from outside: `herald call` against the counter and
// echo (readable and JSON output, exit codes, 30% injected loss on the daemon's node), and the
// daemon killed with SIGKILL during a run of exactly-once `add` calls and restarted with the
// same URL and data folder. Property: the counter is at least the number of successful calls
// and at most that plus the calls whose outcome the caller never learned (docs/rpc.md); the
// kill interrupts calls in flight; each is reported (server_crashed, response_lost or
// timeout), never counted twice.
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <thread>

#include "node_child.h"
#include "node_test_support.h"
#include "rpc_caller.h"

namespace herald {
namespace {

using namespace herald::testing;

const std::string heraldd = HERALD_HERALDD;
const std::string herald_cli = HERALD_CLI;

// A heraldd in its own OS process; its "listening on URL" line gives the URL.
struct Daemon {
    Daemon(const std::string& listen, const std::string& data_dir, const std::string& faults = {})
        : child(std::vector<std::string>{heraldd, "--listen", listen, "--data-dir", data_dir,
                                         "--log-level", "warn", "--faults", faults},
                std::vector<std::string>{"HERALD_FAULTS="}) {
        auto line = child.read_line(20s);
        const std::string marker = " listening on ";
        if (line && line->find(marker) != std::string::npos) {
            const auto from = line->find(marker) + marker.size();
            url = line->substr(from, line->find(' ', from) - from);
        }
    }
    Child child;
    std::string url;  // Empty when it did not start.
};

struct Run {
    std::optional<int> status;
    std::string output;
};

Run herald(const std::vector<std::string>& args) {
    std::vector<std::string> argv{herald_cli};
    argv.insert(argv.end(), args.begin(), args.end());
    Child child(argv, {"HERALD_FAULTS="});
    Run run;
    run.status = child.wait_exit(60s);
    run.output = child.output();
    return run;
}

std::vector<nlohmann::json> json_lines(const std::string& output) {
    std::vector<nlohmann::json> lines;
    std::size_t start = 0;
    while (start < output.size()) {
        const auto end = output.find('\n', start);
        lines.push_back(nlohmann::json::parse(output.substr(start, end - start), nullptr, false));
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return lines;
}

TEST(HeralddRpc, HeraldCallAddsGetsEchoesAndReportsErrorsWithExitCodes) {
    TempDir dir;
    Daemon daemon("udp://127.0.0.1:0", dir.path() + "/data");
    ASSERT_FALSE(daemon.url.empty()) << daemon.child.output();
    const std::string counter = daemon.url + "/counter";

    auto add = herald({"call", counter, "add", "--count", "3"});
    EXPECT_EQ(add.status, 0) << add.output;
    EXPECT_NE(add.output.find("to add #3 (rra exactly-once, "), std::string::npos) << add.output;
    EXPECT_NE(add.output.find("): 3\n"), std::string::npos) << add.output;
    EXPECT_NE(add.output.find("3 calls: 3 ok, 0 failed"), std::string::npos) << add.output;

    for (const char* protocol : {"rr", "rra", "rara"}) {
        auto one = herald({"call", counter, "add", "--protocol", protocol});
        EXPECT_EQ(one.status, 0) << one.output;
    }
    auto get = herald({"--json", "call", counter, "get"});
    ASSERT_EQ(get.status, 0) << get.output;
    auto lines = json_lines(get.output);
    ASSERT_EQ(lines.size(), 1u) << get.output;
    EXPECT_EQ(lines[0]["event"], "reply");
    EXPECT_EQ(lines[0]["body"], "6");
    EXPECT_EQ(lines[0]["format"], "text");

    auto echo = herald({"--json", "call", daemon.url + "/echo", "echo", "--json", R"({"n":7})"});
    ASSERT_EQ(echo.status, 0) << echo.output;
    lines = json_lines(echo.output);
    ASSERT_EQ(lines.size(), 1u) << echo.output;
    EXPECT_EQ(lines[0]["format"], "msgpack");
    EXPECT_EQ(lines[0]["body"]["n"], 7);

    EXPECT_EQ(herald({"call", counter, "nope"}).status, 1);                // no_such_operation
    EXPECT_EQ(herald({"call", daemon.url + "/nobody", "add"}).status, 1);  // not_found
    EXPECT_EQ(herald({"call", counter, "add", "--protocol", "tcp"}).status, 2);  // Bad option.
    EXPECT_EQ(herald({"call", counter, "add", "--semantics", "maybe"}).status, 2);
    EXPECT_EQ(herald({"call", "not-a-target", "add"}).status, 2);
    EXPECT_EQ(herald({"call", counter, "add", "--json", "{bad"}).status, 2);
    EXPECT_EQ(herald({"call", "udp://127.0.0.1:9/counter", "add", "--timeout", "300ms"}).status,
              1);  // Nobody listens there.
    // None of the failed commands reached `add`.
    auto again = herald({"call", counter, "get"});
    EXPECT_NE(again.output.find("): 6\n"), std::string::npos) << again.output;
}

TEST(HeralddRpc, UnderThirtyPercentLossEveryExactlyOnceAddCountsOnce) {
    TempDir dir;
    Daemon daemon("udp://127.0.0.1:0", dir.path() + "/data", "loss=0.3,seed=3");
    ASSERT_FALSE(daemon.url.empty()) << daemon.child.output();
    const std::string counter = daemon.url + "/counter";
    auto add = herald(
        {"--json", "call", counter, "add", "--count", "40", "--retries", "30", "--timeout", "20s"});
    ASSERT_EQ(add.status, 0) << add.output;
    auto lines = json_lines(add.output);
    ASSERT_EQ(lines.size(), 41u) << add.output;
    for (std::size_t i = 0; i < 40; ++i) {
        EXPECT_EQ(lines[i]["body"], std::to_string(i + 1)) << add.output;  // Never skips.
    }
    EXPECT_EQ(lines[40]["event"], "call_summary");
    EXPECT_EQ(lines[40]["ok"], 40);
    auto get = herald({"call", counter, "get", "--retries", "30", "--timeout", "20s"});
    EXPECT_NE(get.output.find("): 40\n"), std::string::npos) << get.output;
}

TEST(HeralddRpc, ADaemonKilledWithSigkillAndRestartedNeverCountsACallTwice) {
    TempDir dir;
    const std::string data = dir.path() + "/data";
    auto daemon = std::make_unique<Daemon>("udp://127.0.0.1:0", data);
    const std::string url = daemon->url;
    ASSERT_FALSE(url.empty()) << daemon->child.output();
    auto node = start_node();
    auto who = node->ping(url, 10s);  // Its node id, and its address for this node.
    ASSERT_TRUE(who) << error_text(who);
    const Pid counter{who->node, 3};
    auto client = spawn(*node);
    constexpr std::size_t calls = 1'000;
    // Each call retries for about 12 s of silence: a daemon restart fits in it.
    Caller caller(client, counter, calls, 8, riding_out_a_restart(60, 40s));
    // Kill while calls are in flight: under load the window can drain for a moment between
    // two calls (seen once in a make test run), so wait for an instant when some are out.
    std::size_t in_flight = 0;
    ASSERT_TRUE(eventually(
        [&] {
            in_flight = caller.ok() >= 300 ? caller.outstanding() : 0;
            return in_flight > 0;
        },
        40s));
    daemon->child.kill9();
    const auto ok_at_crash = caller.ok();
    EXPECT_GT(in_flight, 0u) << "the kill interrupted no call";
    daemon = std::make_unique<Daemon>(url, data);
    ASSERT_EQ(daemon->url, url) << daemon->child.output();
    caller.join();
    auto total = client.call(counter, "get", "");
    ASSERT_TRUE(total) << error_text(total);
    const auto value = std::stoull(std::string(total->begin(), total->end()));
    std::printf("%zu calls: %llu ok (%llu at the crash); counter %llu\n", calls,
                static_cast<unsigned long long>(caller.ok()),
                static_cast<unsigned long long>(ok_at_crash),
                static_cast<unsigned long long>(value));
    std::uint64_t failures = 0;
    for (const auto& [code, count] : caller.failed()) {
        std::printf("  %s: %llu\n", std::string(errc_name(code)).c_str(),
                    static_cast<unsigned long long>(count));
        EXPECT_TRUE(code == Errc::server_crashed || code == Errc::response_lost ||
                    code == Errc::timeout)
            << errc_name(code);
        failures += count;
    }
    EXPECT_EQ(caller.ok() + failures, calls);
    expect_counter_within_the_documented_bound(value, caller);
}

// Issue 23: heraldd killed with SIGKILL and restarted again and again (down 0-300 ms) while a
// `herald call URL/counter add` BY NAME is in flight each time, 20% of every datagram lost both
// ways. Properties: the incarnation strictly grows at every restart; every call, whose 10 s
// timeout is longer than the outage, succeeds (its name lookup rides over the restart like the
// call does); the counter ends at exactly the number of successful calls (exactly-once).
// Rounds: HERALD_RESTART_ROUNDS (6 in make test; the long suite runs 60).
TEST(HeralddRpc, RestartsWithSigkillWhileCallsByNameRideOverThem) {
    const char* rounds_env = std::getenv("HERALD_RESTART_ROUNDS");
    const int rounds = rounds_env != nullptr ? std::atoi(rounds_env) : 6;
    TempDir dir;
    const std::string data = dir.path() + "/data";
    const std::string faults = "loss=0.2,seed=11";
    auto daemon = std::make_unique<Daemon>("udp://127.0.0.1:0", data, faults);
    const std::string url = daemon->url;
    ASSERT_FALSE(url.empty()) << daemon->child.output();
    auto node = start_node();
    std::uint32_t incarnation = 0;
    std::mt19937 random(23);
    int ok = 0;
    for (int round = 0; round < rounds; ++round) {
        auto who = node->ping(url, 10s);
        ASSERT_TRUE(who) << error_text(who);
        EXPECT_GT(who->incarnation, incarnation) << "round " << round;  // Strictly grows.
        incarnation = who->incarnation;
        // Every other round the call starts during the outage, so its lookup meets it.
        const bool during = round % 2 == 1;
        std::optional<Child> call;
        const auto start_call = [&] {
            call.emplace(std::vector<std::string>{herald_cli, "call", url + "/counter", "add",
                                                  "--timeout", "10s"},
                         std::vector<std::string>{"HERALD_FAULTS=loss=0.2"});
        };
        if (!during) start_call();
        daemon->child.kill9();
        // The outage: a fault the test injects, not a wait for a condition.
        const auto down = std::chrono::milliseconds(random() % 300);
        std::this_thread::sleep_for(down / 2);
        if (during) start_call();
        std::this_thread::sleep_for(down / 2);
        daemon = std::make_unique<Daemon>(url, data, faults);
        ASSERT_EQ(daemon->url, url) << daemon->child.output();
        const auto status = call->wait_exit(30s);
        EXPECT_EQ(status, 0) << "round " << round << ": " << call->output();
        ok += status == 0 ? 1 : 0;
    }
    auto get = herald({"call", url + "/counter", "get", "--timeout", "20s"});
    ASSERT_EQ(get.status, 0) << get.output;
    EXPECT_NE(get.output.find("): " + std::to_string(ok) + "\n"), std::string::npos)
        << "ok " << ok << ": " << get.output;
}

}  // namespace
}  // namespace herald

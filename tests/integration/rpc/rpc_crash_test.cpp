// A durable exactly-once counter server in a separate OS process (rpc_helper), killed with
// SIGKILL three times in the middle of a run of exactly-once calls and restarted each time on
// the same URL with the same data folder. Property: no call is ever counted twice, nor counted
// without being reported: the counter afterwards is at least the number of calls that
// completed successfully and at most that plus the calls whose outcome the caller never
// learned (timeout, response_lost: docs/rpc.md allows those to have committed); calls in flight
// at a crash (each kill interrupts some) end either successfully (answered from the durable
// reply cache, or run by the new incarnation) or with server_crashed / response_lost / timeout,
// and are reported. Faults: the crashes, plus 10% injected loss on the client's node.
#include <cstdio>
#include <sstream>

#include "node_child.h"
#include "node_test_support.h"
#include "rpc_caller.h"

namespace herald {
namespace {

using namespace herald::testing;

const std::string helper = HERALD_RPC_HELPER;

struct Ready {
    std::string url, pid;
    std::uint64_t value = 0;
};

std::optional<Ready> wait_ready(Child& child) {
    auto line = child.read_line(20s);
    if (!line || !line->starts_with("READY ")) return std::nullopt;
    std::istringstream words(line->substr(6));
    Ready ready;
    words >> ready.url >> ready.pid >> ready.value;
    return ready;
}

std::uint64_t decimal(const Bytes& bytes) {
    return std::stoull(std::string(bytes.begin(), bytes.end()));
}

std::unique_ptr<Child> start_counter(const std::string& url, const std::string& data) {
    return std::make_unique<Child>(std::vector<std::string>{helper, "counter", url, data},
                                   std::vector<std::string>{"HERALD_FAULTS="});
}

TEST(RpcCrash, AServerKilledAndRestartedThreeTimesNeverCountsACallTwice) {
    TempDir dir;
    const std::string data = dir.path() + "/counter";
    auto server_process = start_counter("udp://127.0.0.1:0", data);
    auto ready = wait_ready(*server_process);
    ASSERT_TRUE(ready) << server_process->output();
    EXPECT_EQ(ready->value, 0u);

    NodeOptions options;
    options.faults = "loss=0.1,seed=5";
    auto node = start_node(options);
    auto server = node->resolve(ready->pid + "@" + ready->url, 10s);
    ASSERT_TRUE(server) << error_text(server);
    auto client = spawn(*node);
    constexpr std::size_t calls = 4'000;
    // Each call retries for about 8 s of silence: enough to ride out a server restart.
    constexpr std::size_t window = 16;  // Calls outstanding at once.
    Caller caller(client, *server, calls, window, riding_out_a_restart(40, 30s));

    for (std::uint64_t crash = 1; crash <= 3; ++crash) {
        ASSERT_TRUE(eventually([&] { return caller.ok() >= crash * 1'000; }, 40s));
        const auto in_flight = caller.outstanding();
        server_process->kill9();
        const auto ok_at_crash = caller.ok();
        EXPECT_GT(in_flight, 0u) << "the kill interrupted no call";
        server_process = start_counter(ready->url, data);  // Same URL, same data folder.
        auto again = wait_ready(*server_process);
        ASSERT_TRUE(again) << server_process->output();
        EXPECT_EQ(again->pid, ready->pid);
        // On disk: every success so far, plus calls whose reply was committed, not yet received
        // (at most the window of calls in flight, and those that gave up before the kill).
        EXPECT_GE(again->value, ok_at_crash);
        EXPECT_LE(again->value, ok_at_crash + window + caller.unknown_outcomes());
        std::printf("crash %llu: %llu ok at the crash, counter %llu on restart\n",
                    static_cast<unsigned long long>(crash),
                    static_cast<unsigned long long>(ok_at_crash),
                    static_cast<unsigned long long>(again->value));
    }
    caller.join();

    auto total = client.call(*server, "get", "");
    ASSERT_TRUE(total) << error_text(total);
    std::printf("%zu calls: %llu ok, counter %llu\n", calls,
                static_cast<unsigned long long>(caller.ok()),
                static_cast<unsigned long long>(decimal(*total)));
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
    expect_counter_within_the_documented_bound(decimal(*total), caller);
}

}  // namespace
}  // namespace herald

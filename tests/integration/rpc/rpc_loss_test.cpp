// RPC under 30% injected packet loss on both nodes (NodeOptions::faults), real UDP on
// 127.0.0.1. Property: 10,000 exactly-once calls of a non-idempotent counter, 64 outstanding
// at a time, all succeed and the counter ends exactly at the number of successful calls; with
// at-least-once over RR the same loss makes the server run some calls again, which the test
// counts and reports (the lecture's "last-one" semantics), while every call still answers.
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>

#include "node_test_support.h"

namespace herald {
namespace {

using namespace herald::testing;

constexpr std::size_t window = 64;

std::unique_ptr<Node> lossy_node(std::uint64_t seed) {
    NodeOptions options;
    options.faults = "loss=0.3,seed=" + std::to_string(seed);
    return start_node(options);
}

// Enough retries that no call gives up under 30% loss: a call that failed with
// response_lost may have run, and the test wants the exact count.
CallOptions patient(RpcProtocol protocol, RpcSemantics semantics) {
    CallOptions options;
    options.protocol = protocol;
    options.semantics = semantics;
    options.retransmit_timeout = std::chrono::milliseconds(20);
    options.retransmit_max = std::chrono::milliseconds(200);
    options.retry_limit = 40;
    options.probe_interval = std::chrono::milliseconds(100);
    options.timeout = std::chrono::seconds(60);
    return options;
}

struct Outcome {
    std::uint64_t ok = 0;
    std::map<Errc, std::uint64_t> failed;
};

// `calls` calls of `operation`, keeping `window` outstanding: a new call starts as soon as any
// call completes, so one slow call does not hold the others back.
Outcome run_calls(Process& client, Pid server, std::string_view operation, std::size_t calls,
                  const CallOptions& options) {
    std::mutex mutex;
    std::condition_variable settled;
    Outcome outcome;
    std::size_t outstanding = 0, done = 0;
    for (std::size_t i = 0; i < calls; ++i) {
        std::unique_lock lock(mutex);
        settled.wait(lock, [&] { return outstanding < window; });
        ++outstanding;
        lock.unlock();
        auto started = client.call_async(server, operation, {}, options, [&](Result<Bytes> r) {
            std::lock_guard guard(mutex);
            if (r) {
                ++outcome.ok;
            } else {
                ++outcome.failed[r.error().code];
            }
            --outstanding;
            ++done;
            settled.notify_all();
        });
        if (!started) {
            std::lock_guard guard(mutex);
            ++outcome.failed[started.error().code];
            --outstanding;
            ++done;
        }
    }
    std::unique_lock lock(mutex);
    settled.wait(lock, [&] { return done == calls; });
    return outcome;
}

void print(const char* what, const Outcome& outcome, const RpcStats& client, const RpcStats& server,
           const NodeStats& client_node) {
    std::printf(
        "%s: %llu ok, %zu failure kinds; request retransmits %llu, probes %llu, "
        "response retransmits %llu, duplicates discarded %llu, answered from cache %llu, "
        "executions %llu, packets dropped by injection (client side) %llu\n",
        what, static_cast<unsigned long long>(outcome.ok), outcome.failed.size(),
        static_cast<unsigned long long>(client.request_retransmits),
        static_cast<unsigned long long>(client.probes),
        static_cast<unsigned long long>(server.response_retransmits),
        static_cast<unsigned long long>(server.duplicates_discarded),
        static_cast<unsigned long long>(server.duplicates_answered),
        static_cast<unsigned long long>(server.executions),
        static_cast<unsigned long long>(client_node.faults_dropped));
    for (const auto& [code, count] : outcome.failed) {
        std::printf("  %s: %llu\n", std::string(errc_name(code)).c_str(),
                    static_cast<unsigned long long>(count));
    }
}

TEST(RpcLoss, TenThousandExactlyOnceCallsUnderThirtyPercentLossCountExactly) {
    auto server_node = lossy_node(11);
    auto client_node = lossy_node(12);
    ASSERT_TRUE(client_node->connect(server_node->listen_url(), 10s));
    auto server = spawn(*server_node);
    std::atomic<std::uint64_t> counter{0};
    ASSERT_TRUE(server.serve("add", [&](const Request&) -> Result<Bytes> {
        const auto value = ++counter;
        return Bytes(reinterpret_cast<const std::uint8_t*>(&value),
                     reinterpret_cast<const std::uint8_t*>(&value) + sizeof value);
    }));
    auto client = spawn(*client_node);
    constexpr std::size_t calls = 10'000;
    const auto outcome = run_calls(client, server.pid(), "add", calls,
                                   patient(RpcProtocol::rra, RpcSemantics::exactly_once));
    const auto server_stats = server_node->rpc_stats();
    print("exactly-once, RRA", outcome, client_node->rpc_stats(), server_stats,
          client_node->stats());
    EXPECT_EQ(outcome.ok, calls);
    EXPECT_TRUE(outcome.failed.empty());
    EXPECT_EQ(counter.load(), outcome.ok);
    EXPECT_EQ(server_stats.executions, outcome.ok);
    // The loss really happened, and the protocol really repaired it.
    EXPECT_GT(client_node->stats().faults_dropped, calls / 10);
    EXPECT_GT(client_node->rpc_stats().request_retransmits, calls / 10);
    EXPECT_GT(server_stats.duplicates_answered + server_stats.duplicates_discarded, 0u);
}

TEST(RpcLoss, AtLeastOnceUnderThirtyPercentLossRunsSomeCallsAgainAndSaysHowMany) {
    auto server_node = lossy_node(21);
    auto client_node = lossy_node(22);
    ASSERT_TRUE(client_node->connect(server_node->listen_url(), 10s));
    auto server = spawn(*server_node);
    std::atomic<std::uint64_t> runs{0};
    ASSERT_TRUE(server.serve("add", [&](const Request&) -> Result<Bytes> {
        ++runs;
        return Bytes{};
    }));
    auto client = spawn(*client_node);
    constexpr std::size_t calls = 2'000;
    const auto outcome = run_calls(client, server.pid(), "add", calls,
                                   patient(RpcProtocol::rr, RpcSemantics::at_least_once));
    print("at-least-once, RR", outcome, client_node->rpc_stats(), server_node->rpc_stats(),
          client_node->stats());
    std::printf("  re-executions: %llu\n", static_cast<unsigned long long>(runs.load() - calls));
    EXPECT_EQ(outcome.ok, calls);
    // Every lost Resp (30% of them) makes the resent Req run again.
    EXPECT_GT(runs.load(), calls + calls / 10);
}

}  // namespace
}  // namespace herald

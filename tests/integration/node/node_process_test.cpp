// Herald nodes in separate OS processes (node_helper, started with fork/exec): a plain
// exchange over UDP and over a Unix socket, 10,000 messages under 20% injected loss
// ($HERALD_FAULTS) that must arrive exactly once and in order, and a receiver killed with
// SIGKILL and restarted that must not wedge its sender.
#include <cstdio>
#include <sstream>

#include "core/result.h"  // HERALD_TRY
#include "node_child.h"
#include "node_test_support.h"

namespace herald {
namespace {

using namespace herald::testing;

const std::string helper = HERALD_NODE_HELPER;

struct Ready {
    std::string url;
    std::string pid;
};

// Reads the helper's "READY <url> <pid>" line.
std::optional<Ready> wait_ready(Child& child) {
    auto line = child.read_line(20s);
    if (!line || !line->starts_with("READY ")) return std::nullopt;
    std::istringstream words(line->substr(6));
    Ready ready;
    words >> ready.url >> ready.pid;
    return ready;
}

// Runs a sink and a source helper; both must finish their role.
void exchange(const std::string& sink_url, const std::string& source_url, int count,
              const std::string& faults) {
    const std::string env = "HERALD_FAULTS=" + faults;
    // At 20% loss each way a live peer can fall silent for the default 5 s (docs/direct.md
    // rule 16): this test is about exactly-once order, not the failure detector.
    const std::string patience =
        std::string("HERALD_PEER_TIMEOUT_MS=") + (faults.empty() ? "" : "60000");
    Child sink({helper, "sink", sink_url, std::to_string(count)}, {env, patience});
    ASSERT_TRUE(sink.started());
    auto ready = wait_ready(sink);
    ASSERT_TRUE(ready) << sink.output();
    Child source(
        {helper, "source", source_url, ready->pid + "@" + ready->url, std::to_string(count)},
        {env, patience});
    auto source_status = source.wait_exit(90s);
    if (source_status != 0) sink.kill9();  // It would wait for messages that never come.
    sink.terminate();  // It stays up until then, so the source's last message is acked.
    auto sink_status = sink.wait_exit(30s);
    EXPECT_EQ(source_status, 0) << source.output();
    std::printf("source: %s", source.output().c_str());  // Retransmits and injected drops.
    EXPECT_EQ(sink_status, 0) << sink.output();
    EXPECT_NE(sink.output().find("DONE " + std::to_string(count)), std::string::npos)
        << sink.output();
    if (!faults.empty()) {
        EXPECT_EQ(source.output().find("faults_dropped 0"), std::string::npos)
            << "the faults were not injected: " << source.output();
    }
}

TEST(NodeProcesses, TwoOsProcessesExchangeOverUdp) {
    exchange("udp://127.0.0.1:0", "udp://127.0.0.1:0", 200, "");
}

TEST(NodeProcesses, TwoOsProcessesExchangeOverAUnixSocket) {
    TempDir dir;
    exchange("unix:" + dir.path() + "/sink.sock", "unix:" + dir.path() + "/source.sock", 200, "");
}

TEST(NodeProcesses, TenThousandMessagesUnderTwentyPercentLossArriveOnceInOrder) {
    exchange("udp://127.0.0.1:0", "udp://127.0.0.1:0", 10'000, "loss=0.2,seed=7");
}

// One echo round trip from `client` to `echo`, each step bounded by `timeout`.
Status round_trip(Process& client, Pid echo, std::chrono::milliseconds timeout) {
    SendOptions options;
    options.timeout = timeout;
    HERALD_TRY(client.send(echo, std::string_view("ping"), options));
    HERALD_TRY(auto reply, client.receive_from(echo, timeout));
    if (reply.text() != "ping") return fail(Errc::malformed, "wrong echo");
    return {};
}

TEST(NodeProcesses, AReceiverKilledAndRestartedDoesNotWedgeItsSender) {
    auto first =
        std::make_unique<Child>(std::vector<std::string>{helper, "echo", "udp://127.0.0.1:0"},
                                std::vector<std::string>{"HERALD_FAULTS="});
    auto ready = wait_ready(*first);
    ASSERT_TRUE(ready) << first->output();
    NodeOptions options;
    options.peer_timeout = 500ms;
    auto node = start_node(options);
    auto echo = node->resolve(ready->pid + "@" + ready->url);
    ASSERT_TRUE(echo) << error_text(echo);
    auto client = spawn(*node);
    ASSERT_TRUE(round_trip(client, *echo, 5s));

    first->kill9();
    const Errc why = code(round_trip(client, *echo, 300ms));
    EXPECT_TRUE(why == Errc::timeout || why == Errc::unreachable) << errc_name(why);

    // Restarted on the same URL: same node id, same well-known pid, a new incarnation.
    Child second({helper, "echo", ready->url}, {"HERALD_FAULTS="});
    auto again = wait_ready(second);
    ASSERT_TRUE(again) << second.output();
    EXPECT_EQ(again->pid, ready->pid);
    std::vector<Errc> errors;
    const bool recovered = eventually(
        [&] {
            auto status = round_trip(client, *echo, 300ms);
            if (!status) errors.push_back(status.error().code);
            return status.has_value();
        },
        15s);
    EXPECT_TRUE(recovered);
    for (Errc e : errors) {
        EXPECT_TRUE(e == Errc::timeout || e == Errc::unreachable || e == Errc::peer_restarted)
            << errc_name(e);
    }
    // And it keeps working.
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(round_trip(client, *echo, 5s));
}

}  // namespace
}  // namespace herald

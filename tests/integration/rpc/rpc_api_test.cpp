// RPC over real UDP sockets on 127.0.0.1, nodes in one OS process: each protocol with each
// semantics and the lecture's packet count per call without loss (RR 2, RRA 3, RARA 4), every
// failure kind a caller can see, many calls outstanding on many handler threads, the
// concurrency bound, local calls, durable state across a node restart, and bad arguments.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "node_test_support.h"

namespace herald {
namespace {

using namespace herald::testing;

ProcessOptions well_known(std::uint64_t local_id) {
    ProcessOptions options;
    options.local_id = local_id;
    return options;
}

// No timer may fire in a loss-free exchange: the packet counts are then exact.
NodeOptions quiet_options() {
    NodeOptions options;
    options.rpc.long_request_threshold = 5s;
    options.rpc.response_retransmit_timeout = 5s;
    return options;
}

CallOptions quiet_call(RpcProtocol protocol, RpcSemantics semantics) {
    CallOptions options;
    options.protocol = protocol;
    options.semantics = semantics;
    options.retransmit_timeout = 5s;
    options.retransmit_max = 5s;
    options.timeout = 20s;
    return options;
}

Bytes text_bytes(std::string_view text) {
    return Bytes(text.begin(), text.end());
}

std::string as_text(const Bytes& bytes) {
    return std::string(bytes.begin(), bytes.end());
}

// A server node with one serving process and a client node (connected) with one caller.
struct Pair {
    explicit Pair(NodeOptions options = {}) {
        server_node = start_node(options);
        client_node = start_node(options);
        auto connected = client_node->connect(server_node->listen_url(), 5s);
        EXPECT_TRUE(connected) << error_text(connected);
        server = spawn(*server_node);
        client = spawn(*client_node);
    }
    void serve_echo(ServeOptions options = {}) {
        auto served = server->serve(
            "echo", [](const Request& request) -> Result<Bytes> { return request.body; }, options);
        ASSERT_TRUE(served) << error_text(served);
    }
    std::uint64_t packets() const {
        return server_node->rpc_stats().packets_sent + client_node->rpc_stats().packets_sent;
    }
    std::unique_ptr<Node> server_node, client_node;
    std::optional<Process> server, client;
};

struct ProtocolCase {
    RpcProtocol protocol;
    RpcSemantics semantics;
    std::uint64_t packets_per_call;
};

class RpcProtocols : public ::testing::TestWithParam<ProtocolCase> {};

TEST_P(RpcProtocols, AnswersEveryCallWithTheLecturesPacketCount) {
    const auto& param = GetParam();
    Pair pair(quiet_options());
    pair.serve_echo();
    const auto options = quiet_call(param.protocol, param.semantics);
    constexpr int calls = 20;
    for (int i = 0; i < calls; ++i) {
        const std::string body = "hello " + std::to_string(i);
        auto reply = pair.client->call(pair.server->pid(), "echo", body, options);
        ASSERT_TRUE(reply) << error_text(reply);
        EXPECT_EQ(as_text(*reply), body);
    }
    // The last Ack(Resp) may still be on its way when the call returns. The client node's first
    // call costs two packets more: the server's cookie and the Req sent again with it
    // (docs/rpc.md, "Admission").
    EXPECT_TRUE(eventually([&] { return pair.packets() == calls * param.packets_per_call + 2; }))
        << pair.packets() << " packets for " << calls << " calls";
    const auto client = pair.client_node->rpc_stats();
    const auto server = pair.server_node->rpc_stats();
    EXPECT_EQ(client.calls_succeeded, std::uint64_t{calls});
    EXPECT_EQ(client.request_retransmits, 0u);
    EXPECT_EQ(server.response_retransmits, 0u);
    EXPECT_EQ(server.executions, std::uint64_t{calls});
}

INSTANTIATE_TEST_SUITE_P(
    EveryProtocolAndSemantics, RpcProtocols,
    ::testing::Values(ProtocolCase{RpcProtocol::rr, RpcSemantics::at_least_once, 2},
                      ProtocolCase{RpcProtocol::rr, RpcSemantics::exactly_once, 2},
                      ProtocolCase{RpcProtocol::rra, RpcSemantics::at_least_once, 3},
                      ProtocolCase{RpcProtocol::rra, RpcSemantics::exactly_once, 3},
                      ProtocolCase{RpcProtocol::rara, RpcSemantics::at_least_once, 4},
                      ProtocolCase{RpcProtocol::rara, RpcSemantics::exactly_once, 4}),
    [](const ::testing::TestParamInfo<ProtocolCase>& param) {
        return std::string(protocol_name(param.param.protocol)) + "_" +
               std::string(semantics_name(param.param.semantics));
    });

TEST(RpcApi, HandlerErrorsAndExceptionsReachTheCallerAsApplicationError) {
    Pair pair;
    ASSERT_TRUE(pair.server->serve("fail", [](const Request&) -> Result<Bytes> {
        return fail(Errc::not_found, "no such account");
    }));
    ASSERT_TRUE(pair.server->serve(
        "throw", [](const Request&) -> Result<Bytes> { throw std::runtime_error("boom"); }));
    auto failed = pair.client->call(pair.server->pid(), "fail", "x");
    EXPECT_EQ(code(failed), Errc::application_error);
    EXPECT_NE(error_text(failed).find("no such account"), std::string::npos) << error_text(failed);
    auto threw = pair.client->call(pair.server->pid(), "throw", "x");
    EXPECT_EQ(code(threw), Errc::application_error);
    EXPECT_NE(error_text(threw).find("boom"), std::string::npos) << error_text(threw);
    EXPECT_EQ(pair.server_node->rpc_stats().handler_exceptions, 1u);
}

// Each handler run travels in a record the node keeps for the next run (NodeRpc::Run): a
// reused record must carry only its own run's handler, request and outcome.
TEST(RpcApi, ARunAfterAThrowingHandlerCarriesOnlyItsOwnHandlerRequestAndOutcome) {
    Pair pair;
    ASSERT_TRUE(pair.server->serve("a", [](const Request& request) -> Result<Bytes> {
        if (request.text() == "throw") throw std::runtime_error("boom");
        return text_bytes("a:" + std::string(request.text()));
    }));
    ASSERT_TRUE(pair.server->serve("b", [](const Request& request) -> Result<Bytes> {
        return text_bytes("b:" + std::string(request.text()));
    }));
    EXPECT_EQ(code(pair.client->call(pair.server->pid(), "a", "throw")), Errc::application_error);
    for (int i = 0; i < 20; ++i) {
        const std::string body = std::to_string(i);
        const std::string_view operation = i % 2 == 0 ? "a" : "b";
        auto reply = pair.client->call(pair.server->pid(), operation, body);
        ASSERT_TRUE(reply) << error_text(reply);
        EXPECT_EQ(as_text(*reply), std::string(operation) + ":" + body);
    }
    EXPECT_EQ(pair.server_node->rpc_stats().handler_exceptions, 1u);
}

NodeOptions no_grace() {
    NodeOptions options;
    options.rpc.startup_grace = 0s;
    return options;
}

TEST(RpcApi, UnknownOperationsProcessesAndNodesAreToldApart) {
    Pair pair(no_grace());
    pair.serve_echo();
    EXPECT_EQ(code(pair.client->call(pair.server->pid(), "nope", "x")), Errc::no_such_operation);
    auto idle = spawn(*pair.server_node);  // Serves nothing.
    EXPECT_EQ(code(pair.client->call(idle.pid(), "echo", "x")), Errc::no_such_process);
    const Pid gone{pair.server_node->id(), 4242};
    EXPECT_EQ(code(pair.client->call(gone, "echo", "x")), Errc::no_such_process);
    const Pid stranger{NodeId{0x1234}, 1};  // No address known for that node.
    EXPECT_EQ(code(pair.client->call(stranger, "echo", "x")), Errc::unreachable);
    EXPECT_EQ(pair.client_node->rpc_stats().unreachable_calls, 1u);
}

TEST(RpcApi, RightAfterStartARequestWaitsForItsWellKnownServerInsteadOfFailing) {
    Pair pair;  // Default startup_grace: 2 s.
    const Pid soon{pair.server_node->id(), 9};
    auto call = pair.client->call_async(soon, "echo", text_bytes("early"));
    // The request reaches the node before the process exists: dropped, not refused.
    ASSERT_TRUE(eventually([&] { return pair.server_node->rpc_stats().startup_dropped > 0; }));
    auto late = spawn(*pair.server_node, well_known(9));
    ASSERT_TRUE(late.serve("echo", [](const Request& r) -> Result<Bytes> { return r.body; }));
    auto reply = call.get();
    ASSERT_TRUE(reply) << error_text(reply);
    EXPECT_EQ(as_text(*reply), "early");
}

TEST(RpcApi, BadArgumentsAreRefusedAtOnce) {
    Pair pair;
    pair.serve_echo();
    const Pid server = pair.server->pid();
    EXPECT_EQ(code(pair.client->call(server, "", "x")), Errc::invalid_argument);
    EXPECT_EQ(code(pair.client->call(server, std::string(256, 'o'), "x")), Errc::invalid_argument);
    EXPECT_EQ(code(pair.client->call(Pid{}, "echo", "x")), Errc::invalid_argument);
    CallOptions bad;
    bad.retry_limit = 0;
    EXPECT_EQ(code(pair.client->call(server, "echo", "x", bad)), Errc::invalid_argument);
    bad = {};
    bad.backoff_percent = 50;
    EXPECT_EQ(code(pair.client->call(server, "echo", "x", bad)), Errc::invalid_argument);
    EXPECT_EQ(
        code(pair.server->serve("", [](const Request& r) -> Result<Bytes> { return r.body; })),
        Errc::invalid_argument);
    EXPECT_EQ(code(pair.server->serve("echo", {})), Errc::invalid_argument);
    EXPECT_EQ(
        code(pair.server->serve("echo", [](const Request& r) -> Result<Bytes> { return r.body; })),
        Errc::already_exists);
    Bytes huge((16u << 20) + 1, 0);
    EXPECT_EQ(code(pair.client->call(server, "echo", huge)), Errc::too_large);
}

TEST(RpcApi, ASlowHandlerTimesOutAtTheCaller) {
    Pair pair;
    std::promise<void> release;
    auto released = release.get_future().share();
    ASSERT_TRUE(pair.server->serve("slow", [released](const Request&) -> Result<Bytes> {
        released.wait_for(5s);
        return Bytes{};
    }));
    CallOptions options;
    options.timeout = 200ms;
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(code(pair.client->call(pair.server->pid(), "slow", "x", options)), Errc::timeout);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
    release.set_value();
}

TEST(RpcApi, AServerNodeThatNeverAnswersIsRequestLost) {
    Pair pair;
    const Pid server = pair.server->pid();
    pair.server.reset();
    pair.server_node->stop();
    CallOptions options;
    options.retransmit_timeout = 10ms;
    options.retransmit_max = 20ms;
    options.retry_limit = 3;
    EXPECT_EQ(code(pair.client->call(server, "echo", "x", options)), Errc::request_lost);
}

TEST(RpcApi, AServerThatAcknowledgedThenVanishedIsResponseLost) {
    Pair pair;
    std::promise<void> entered;
    std::atomic<bool> release{false};
    ASSERT_TRUE(pair.server->serve("hang", [&](const Request&) -> Result<Bytes> {
        entered.set_value();
        while (!release.load()) std::this_thread::sleep_for(1ms);
        return Bytes{};
    }));
    CallOptions options = quiet_call(RpcProtocol::rara, RpcSemantics::exactly_once);
    options.probe_interval = 50ms;
    options.retry_limit = 3;
    auto call = pair.client->call_async(pair.server->pid(), "hang", {}, options);
    entered.get_future().wait();
    // The node goes away while the handler runs: Ack(Req) came, the response never will.
    std::thread stopper([&] { pair.server_node->stop(); });
    auto result = call.get();
    release = true;
    stopper.join();
    EXPECT_EQ(code(result), Errc::response_lost) << error_text(result);
}

TEST(RpcApi, AServerRestartedDuringACallIsServerCrashed) {
    auto server_node = start_node();
    const std::string url = server_node->listen_url();
    auto client_node = start_node();
    ASSERT_TRUE(client_node->connect(url, 5s));
    auto server = spawn(*server_node, well_known(7));
    std::promise<void> entered;
    std::atomic<bool> release{false};
    ASSERT_TRUE(server.serve("hang", [&](const Request&) -> Result<Bytes> {
        entered.set_value();
        while (!release.load()) std::this_thread::sleep_for(1ms);
        return Bytes{};
    }));
    auto client = spawn(*client_node);
    CallOptions options = quiet_call(RpcProtocol::rara, RpcSemantics::exactly_once);
    options.probe_interval = 50ms;
    options.retry_limit = 40;
    auto call = client.call_async(server.pid(), "hang", {}, options);
    entered.get_future().wait();
    // stop() closes the socket, then waits for the handler: release it only once the node is
    // silent, so that its response can never leave.
    std::thread stopper([&] { server_node->stop(); });
    EXPECT_TRUE(eventually([&] { return !client_node->ping(url, 50ms); }, 10s));
    release = true;
    stopper.join();
    server.exit();
    server_node.reset();
    // The same URL (same node id), a new incarnation, no durable reply cache: the new server
    // cannot know whether the call ran, so it must not run it, and says so.
    NodeOptions again;
    again.listen = url;
    auto restarted = start_node(again);
    ASSERT_TRUE(restarted);
    auto second = spawn(*restarted, well_known(7));
    ASSERT_TRUE(second.serve("hang", [](const Request&) -> Result<Bytes> { return Bytes{}; }));
    auto result = call.get();
    EXPECT_EQ(code(result), Errc::server_crashed) << error_text(result);
    EXPECT_EQ(restarted->rpc_stats().executions, 0u);
}

// Overlap is made certain rather than likely: the first runs wait (up to 10 s) until all four
// handler threads (RpcNodeOptions::handler_threads) run at once, and 200 ms more for a fifth
// that must not come; then everything flows.
TEST(RpcApi, ManyCallsOutstandingRunOnManyHandlerThreadsAtOnce) {
    Pair pair;
    std::mutex mutex;
    std::condition_variable changed;
    int running = 0, most = 0;
    bool released = false;
    ASSERT_TRUE(pair.server->serve("work", [&](const Request& request) -> Result<Bytes> {
        std::unique_lock lock(mutex);
        most = std::max(most, ++running);
        changed.notify_all();
        if (running == 4 && !released) {
            // All four threads run: a fifth run (there must be none) would start meanwhile.
            changed.wait_for(lock, 200ms, [&] { return running > 4; });
            released = true;
            changed.notify_all();
        }
        if (!changed.wait_for(lock, 10s, [&] { return released; })) released = true;
        --running;
        return request.body;
    }));
    constexpr int calls = 200;
    std::vector<std::future<Result<Bytes>>> futures;
    for (int i = 0; i < calls; ++i) {
        futures.push_back(
            pair.client->call_async(pair.server->pid(), "work", text_bytes(std::to_string(i))));
    }
    for (int i = 0; i < calls; ++i) {
        auto reply = futures[static_cast<std::size_t>(i)].get();
        ASSERT_TRUE(reply) << error_text(reply);
        EXPECT_EQ(as_text(*reply), std::to_string(i));
    }
    std::lock_guard lock(mutex);
    EXPECT_EQ(most, 4);  // RpcNodeOptions::handler_threads: four at once, never more.
}

TEST(RpcApi, ConcurrencyOneRunsAnOperationOneRunAtATime) {
    Pair pair;
    std::atomic<int> running{0}, most{0};
    std::mutex mutex;
    std::vector<std::string> order;
    ServeOptions serial;
    serial.concurrency = 1;
    ASSERT_TRUE(pair.server->serve(
        "serial",
        [&](const Request& request) -> Result<Bytes> {
            const int now = ++running;
            if (now > most) most = now;
            {
                std::lock_guard lock(mutex);
                order.push_back(std::string(request.text()));
            }
            std::this_thread::sleep_for(1ms);
            --running;
            return Bytes{};
        },
        serial));
    std::vector<std::future<Result<Bytes>>> futures;
    for (int i = 0; i < 50; ++i) {
        futures.push_back(
            pair.client->call_async(pair.server->pid(), "serial", text_bytes(std::to_string(i))));
    }
    for (auto& f : futures) ASSERT_TRUE(f.get());
    EXPECT_EQ(most.load(), 1);
    EXPECT_EQ(order.size(), 50u);
}

TEST(RpcApi, TheCallbackFormCompletesOnTheLoopThreadWhereBlockingCallsAreRefused) {
    Pair pair;
    pair.serve_echo();
    std::promise<std::pair<std::string, Errc>> done;
    Process& client = *pair.client;
    const Pid server = pair.server->pid();
    ASSERT_TRUE(client.call_async(server, "echo", text_bytes("cb"), {}, [&](Result<Bytes> reply) {
        const Errc nested = code(client.call(server, "echo", "x"));
        done.set_value({reply ? as_text(*reply) : "", nested});
    }));
    auto [body, nested] = done.get_future().get();
    EXPECT_EQ(body, "cb");
    EXPECT_EQ(nested, Errc::invalid_argument);
}

// Takes from `queue` until `count` completions came or 10 s passed; by tag.
std::map<std::uint64_t, Result<Bytes>> take_all(CallQueue& queue, std::size_t count) {
    std::map<std::uint64_t, Result<Bytes>> by_tag;
    std::vector<CallCompletion> taken;
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (by_tag.size() < count && std::chrono::steady_clock::now() < until) {
        taken.clear();
        queue.take(taken, 100ms);
        for (auto& completion : taken) {
            EXPECT_TRUE(by_tag.emplace(completion.tag, std::move(completion.result)).second)
                << "tag " << completion.tag << " completed twice";
        }
    }
    return by_tag;
}

// Many calls in flight on one queue, each started by the application thread as the loop takes
// them in batches: every call completes once, with its own tag and outcome; a call refused on
// the loop at once (an unknown node) completes too.
TEST(RpcApi, ACallQueueHandsBackEveryCallOnceWithItsTagAndOutcome) {
    Pair pair;
    pair.serve_echo();
    CallQueue queue(512);
    constexpr std::uint64_t calls = 300;
    for (std::uint64_t tag = 1; tag <= calls; ++tag) {
        ASSERT_TRUE(pair.client->call_async(pair.server->pid(), "echo",
                                            text_bytes(std::to_string(tag)), {}, queue, tag));
    }
    ASSERT_TRUE(pair.client->call_async(pair.server->pid(), "nothing", {}, {}, queue, 1000));
    auto by_tag = take_all(queue, calls + 1);
    ASSERT_EQ(by_tag.size(), calls + 1);
    for (std::uint64_t tag = 1; tag <= calls; ++tag) {
        const auto& reply = by_tag.at(tag);
        ASSERT_TRUE(reply) << error_text(reply);
        EXPECT_EQ(as_text(*reply), std::to_string(tag));
    }
    EXPECT_EQ(code(by_tag.at(1000)), Errc::no_such_operation);
    // Alone in its loop turn, refused before the engine: nothing else ends that batch.
    const Pid nowhere{NodeId{0x7777}, 5};
    ASSERT_TRUE(pair.client->call_async(nowhere, "echo", {}, {}, queue, 1001));
    by_tag = take_all(queue, 1);
    ASSERT_EQ(by_tag.count(1001), 1u);
    EXPECT_EQ(code(by_tag.at(1001)), Errc::unreachable);
    EXPECT_EQ(queue.outstanding(), 0u);
    std::vector<CallCompletion> none;
    EXPECT_EQ(queue.take(none, 0ms), 0u);  // Nothing more, and no wait.
    EXPECT_EQ(pair.server_node->rpc_stats().executions, calls);
}

// The queue's bound: a call beyond `capacity` not taken yet is refused (queue_full) and takes
// no slot; taking frees the slots.
TEST(RpcApi, ACallQueueRefusesACallBeyondItsCapacityUntilCompletionsAreTaken) {
    Pair pair;
    std::atomic<bool> release{false};
    ASSERT_TRUE(pair.server->serve("hold", [&](const Request& request) -> Result<Bytes> {
        while (!release.load()) std::this_thread::sleep_for(1ms);
        return request.body;
    }));
    CallQueue queue(2);
    const Pid server = pair.server->pid();
    ASSERT_TRUE(pair.client->call_async(server, "hold", text_bytes("a"), {}, queue, 1));
    ASSERT_TRUE(pair.client->call_async(server, "hold", text_bytes("b"), {}, queue, 2));
    EXPECT_EQ(code(pair.client->call_async(server, "hold", text_bytes("c"), {}, queue, 3)),
              Errc::queue_full);
    EXPECT_EQ(code(pair.client->call_async(server, "", {}, {}, queue, 4)), Errc::invalid_argument);
    EXPECT_EQ(queue.outstanding(), 2u);
    release = true;
    auto by_tag = take_all(queue, 2);
    ASSERT_EQ(by_tag.size(), 2u);
    EXPECT_EQ(as_text(*by_tag.at(2)), "b");
    EXPECT_EQ(queue.outstanding(), 0u);
    ASSERT_TRUE(pair.client->call_async(server, "hold", text_bytes("d"), {}, queue, 5));
    by_tag = take_all(queue, 1);
    ASSERT_EQ(by_tag.count(5), 1u);
    EXPECT_EQ(as_text(*by_tag.at(5)), "d");
}

TEST(RpcApi, AProcessCallsAServerOnItsOwnNodeWithoutTheNetwork) {
    auto node = start_node();
    auto server = spawn(*node);
    auto client = spawn(*node);
    ASSERT_TRUE(server.serve("echo", [](const Request& r) -> Result<Bytes> { return r.body; }));
    for (auto protocol : {RpcProtocol::rr, RpcProtocol::rra, RpcProtocol::rara}) {
        CallOptions options;
        options.protocol = protocol;
        auto reply = client.call(server.pid(), "echo", "local", options);
        ASSERT_TRUE(reply) << error_text(reply);
        EXPECT_EQ(as_text(*reply), "local");
    }
    EXPECT_EQ(node->stats().datagrams_sent, 0u);
}

TEST(RpcApi, AHandlerSeesItsCallerAndAnExitingServerWaitsForItsHandlers) {
    Pair pair;
    std::atomic<bool> finished{false};
    Pid seen;
    std::promise<void> entered;
    ASSERT_TRUE(pair.server->serve("who", [&](const Request& request) -> Result<Bytes> {
        seen = request.client;
        entered.set_value();
        std::this_thread::sleep_for(100ms);
        finished = true;
        return Bytes{};
    }));
    auto call = pair.client->call_async(pair.server->pid(), "who", {});
    entered.get_future().wait();
    pair.server->exit();  // Returns only once the running handler has returned.
    EXPECT_TRUE(finished.load());
    EXPECT_EQ(seen, pair.client->pid());
    static_cast<void>(call.get());
}

TEST(RpcApi, DurableOptionsNeedADataDir) {
    NodeOptions options;
    options.faults_from_env = false;
    options.rpc.durable = true;
    auto node = Node::start(options);
    ASSERT_FALSE(node);
    EXPECT_EQ(node.error().code, Errc::invalid_argument);
    EXPECT_NE(node.error().detail.find("data_dir"), std::string::npos);
    auto plain = start_node();
    auto process = spawn(*plain);
    auto served = process.serve_with_state(
        "set", [](const Request&, StateWrites&) -> Result<Bytes> { return Bytes{}; });
    EXPECT_EQ(code(served), Errc::invalid_argument);
    EXPECT_EQ(code(plain->read_state("")), Errc::invalid_argument);
}

TEST(RpcApi, HandlerStateIsCommittedWithTheReplyAndSurvivesARestart) {
    TempDir dir;
    NodeOptions options;
    options.data_dir = dir.path() + "/node";
    options.rpc.durable = true;
    options.rpc.sync = DurableSync::normal;
    {
        auto node = start_node(options);
        ASSERT_TRUE(node);
        auto server = spawn(*node);
        auto client = spawn(*node);
        ASSERT_TRUE(server.serve_with_state(
            "set", [](const Request& request, StateWrites& state) -> Result<Bytes> {
                state.put("app/" + std::string(request.text()), request.body);
                return Bytes{};
            }));
        ASSERT_TRUE(client.call(server.pid(), "set", "alpha"));
        ASSERT_TRUE(client.call(server.pid(), "set", "beta"));
        auto state = node->read_state("app/");
        ASSERT_TRUE(state) << error_text(state);
        EXPECT_EQ(state->size(), 2u);
        // A second node on the same folder is refused while the first holds it.
        NodeOptions other = options;
        auto second = Node::start(other);
        EXPECT_EQ(code(second), Errc::storage_error);
    }
    auto node = start_node(options);
    ASSERT_TRUE(node);
    auto state = node->read_state("app/");
    ASSERT_TRUE(state) << error_text(state);
    ASSERT_EQ(state->size(), 2u);
    EXPECT_EQ((*state)[0].key, "app/alpha");
    EXPECT_EQ((*state)[1].key, "app/beta");
    auto everything = node->read_state("");
    ASSERT_TRUE(everything);
    for (const auto& record : *everything) EXPECT_FALSE(record.key.starts_with("rpc/"));
}

}  // namespace
}  // namespace herald

// Integration: SIGTERM (and SIGINT) while messages flow loses no accepted message.
// Property: every message whose send to heraldd's echo service returned success in mode
// `accepted` (the daemon's node acknowledged it) is echoed back, exactly once and in order,
// although the signal arrives in the middle of the traffic; nothing else comes back except
// possibly the one message whose send failed; and heraldd exits 0.
// Faults: none injected; the "fault" is the shutdown itself. The sender is this test's own
// node, outside the daemon, so it outlives the daemon and can count what came back.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "app_test_support.h"
#include "herald/herald.h"

namespace herald::apps_test {
namespace {

struct Traffic {
    std::vector<std::uint64_t> accepted;  // Bodies (sequence numbers) of accepted sends.
    std::atomic<std::size_t> accepted_count{0};
    Error first_failure;
};

// Sends 0, 1, 2, ... until a send fails (the daemon has stopped taking messages).
void send_until_refused(Process& sender, Pid echo, Traffic& traffic) {
    SendOptions options;
    options.mode = SendMode::accepted;
    options.timeout = std::chrono::seconds(3);
    for (std::uint64_t i = 0;; ++i) {
        const Status sent = sender.send(echo, std::to_string(i), options);
        if (!sent) {
            traffic.first_failure = sent.error();
            return;
        }
        traffic.accepted.push_back(i);
        traffic.accepted_count.store(traffic.accepted.size());
    }
}

void check_no_accepted_message_lost(int signal_number) {
    Daemon daemon({"--log-level", "warn"});
    NodeOptions options;
    options.faults_from_env = false;
    auto node = Node::start(options);
    ASSERT_TRUE(node.has_value()) << node.error().to_string();
    ProcessOptions inbox;
    inbox.queue_limit = 1u << 20;  // Room for every echo: the sender reads them only at the end.
    auto sender = (*node)->spawn(inbox);
    ASSERT_TRUE(sender.has_value());
    auto echo = (*node)->resolve(daemon.echo());
    ASSERT_TRUE(echo.has_value()) << echo.error().to_string();

    Traffic traffic;
    std::thread thread([&] { send_until_refused(*sender, *echo, traffic); });
    // Signal once a good amount of traffic has been accepted (deadline, not a fixed sleep).
    const auto deadline = Clock::now() + 20s;
    while (traffic.accepted_count.load() < 300 && Clock::now() < deadline) {
        std::this_thread::yield();
    }
    daemon.child().signal(signal_number);
    thread.join();
    ASSERT_GE(traffic.accepted.size(), 300u) << traffic.first_failure.to_string();
    EXPECT_EQ(daemon.child().wait(Clock::now() + 20s), 0);

    // Every accepted message comes back once, in order; nothing else comes back.
    for (std::uint64_t expected : traffic.accepted) {
        auto reply = sender->receive_from(*echo, std::chrono::seconds(5));
        ASSERT_TRUE(reply.has_value())
            << "echo of accepted message " << expected << " of " << traffic.accepted.size()
            << " never came: " << reply.error().to_string();
        ASSERT_EQ(reply->text(), std::to_string(expected));
    }
    // The one send that failed may still have been taken (its acknowledgement lost to the
    // shutdown): the sender cannot know, which is why it is not counted as accepted.
    if (auto extra = sender->try_receive()) {
        EXPECT_EQ(extra->text(), std::to_string(traffic.accepted.size()));
    }
    EXPECT_FALSE(sender->try_receive().has_value());
}

TEST(HeralddShutdown, SigtermDuringTrafficLosesNoAcceptedMessage) {
    check_no_accepted_message_lost(SIGTERM);
}

TEST(HeralddShutdown, SigintDuringTrafficLosesNoAcceptedMessage) {
    check_no_accepted_message_lost(SIGINT);
}

// A heraldd whose echo replies cannot be delivered: the test's receiving process has room for
// one message and never receives, so the rest of the replies stay pending at the daemon and
// its drain (services.shutdown_drain_ms) has something to wait for.
struct StuckReplies {
    explicit StuckReplies(int drain_ms) {
        std::ofstream(config.file("heraldd.toml"))
            << "[services]\nshutdown_drain_ms = " << drain_ms << "\n";
        daemon = std::make_unique<Daemon>(
            std::vector<std::string>{"--config", config.file("heraldd.toml")});
        NodeOptions options;
        options.faults_from_env = false;
        auto started = Node::start(options);
        if (!started) throw std::runtime_error(started.error().to_string());
        node = std::move(*started);
        ProcessOptions one;
        one.queue_limit = 1;
        auto spawned = node->spawn(one);
        if (!spawned) throw std::runtime_error(spawned.error().to_string());
        sender.emplace(std::move(*spawned));
        auto echo = node->resolve(daemon->echo());
        if (!echo) throw std::runtime_error(echo.error().to_string());
        for (int i = 0; i < 5; ++i) {
            if (auto sent = sender->send(*echo, std::to_string(i)); !sent) {
                throw std::runtime_error(sent.error().to_string());
            }
        }
    }
    TempDir config;
    std::unique_ptr<Daemon> daemon;
    std::unique_ptr<Node> node;
    std::optional<Process> sender;
};

TEST(HeralddShutdown, TheDrainWaitsShutdownDrainMsForRepliesThenExitsZero) {
    StuckReplies stuck(500);
    const auto signalled = Clock::now();
    stuck.daemon->child().signal(SIGTERM);
    EXPECT_EQ(stuck.daemon->child().wait(Clock::now() + 20s), 0);
    EXPECT_GE(Clock::now() - signalled, 450ms) << "heraldd did not wait for its pending replies";
}

TEST(HeralddShutdown, ASecondSignalEndsALongDrainAtOnceWithExitOne) {
    StuckReplies stuck(60'000);
    stuck.daemon->child().signal(SIGTERM);
    // The drain is under way and would last a minute.
    EXPECT_FALSE(stuck.daemon->child().wait(Clock::now() + 500ms).has_value());
    stuck.daemon->child().signal(SIGTERM);
    EXPECT_EQ(stuck.daemon->child().wait(Clock::now() + 20s), 1);
    bool said = false;
    while (auto line = stuck.daemon->child().err().line(Clock::now() + 1s)) {
        said = said || line->find("second signal") != std::string::npos;
    }
    EXPECT_TRUE(said) << "heraldd did not say why it exited";
}

}  // namespace
}  // namespace herald::apps_test

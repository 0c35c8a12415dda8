// Crash safety of persistent mailboxes (issue 14 item 5): a real heraldd is killed with SIGKILL
// at random moments while a sender and a receiver of this test's node run, then restarted on
// the same data folder. At the end, with everything drained: every send that completed ok was
// received; no message was received twice without the redelivery mark; nothing was received
// that was never sent; SQLite's integrity check of the daemon's store passes.
// Rounds: HERALD_CRASH_ROUNDS (20 in `make test`, 200 in `make test-long`).
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>
#include <utility>

#include "app_test_support.h"
#include "herald/herald.h"

namespace herald::apps_test {
namespace {

struct Heraldd {
    Heraldd(const std::string& data, const std::string& listen) {
        child = std::make_unique<Child>(std::vector<std::string>{
            heraldd_bin(), "--listen", listen, "--data-dir", data, "--log-level", "warn"});
        const auto ready = child->out().line(Clock::now() + 10s);
        if (!ready) throw std::runtime_error("heraldd printed no ready line within 10 s");
        static const std::regex pattern(R"(listening on (\S+))");
        std::smatch match;
        if (!std::regex_search(*ready, match, pattern)) throw std::runtime_error(*ready);
        url = match[1];
    }
    std::unique_ptr<Child> child;  // Its destructor sends SIGKILL.
    std::string url;
};

struct Ledger {
    std::mutex mutex;
    std::set<std::uint64_t> accepted, unknown;          // Sends: ok; outcome unknown.
    std::map<std::uint64_t, int> unmarked, deliveries;  // Receives per message.
};

std::uint64_t number_of(std::string_view text) {
    return std::stoull(std::string(text.substr(1)));
}

std::string integrity_check(const std::string& db) {
    sqlite3* handle = nullptr;
    if (sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        sqlite3_close(handle);
        return "cannot open " + db;
    }
    std::string result;
    sqlite3_exec(
        handle, "PRAGMA integrity_check",
        [](void* out, int, char** values, char**) {
            *static_cast<std::string*>(out) += values[0] ? values[0] : "null";
            return 0;
        },
        &result, nullptr);
    sqlite3_close(handle);
    return result;
}

TEST(MailboxCrash, KillNineWhileSendingAndReceivingLosesAndDuplicatesNothing) {
    const char* env = std::getenv("HERALD_CRASH_ROUNDS");
    const int rounds = env ? std::atoi(env) : 20;
    TempDir dir;
    const auto data = dir.file("data");
    auto daemon = std::make_unique<Heraldd>(data, "udp://127.0.0.1:0");
    const std::string url = daemon->url;
    auto created = run({herald_bin(), "mailbox", "create", url, "crash", "--persistent",
                        "--capacity", "1000000", "--capacity-bytes", "1000000000"});
    ASSERT_EQ(created.code, 0) << created.err;

    NodeOptions options;
    options.faults_from_env = false;
    auto node = Node::start(options);
    ASSERT_TRUE(node);
    auto host = (*node)->connect(url);
    ASSERT_TRUE(host);
    auto sender = (*node)->spawn();
    auto receiver = (*node)->spawn();
    ASSERT_TRUE(sender && receiver);
    auto out = sender->open_mailbox(*host, "crash");
    auto in = receiver->open_mailbox(*host, "crash");
    ASSERT_TRUE(out && in);

    Ledger ledger;
    std::atomic<bool> sending{true}, receiving{true};
    std::thread send_thread([&] {
        for (std::uint64_t i = 1; sending; ++i) {
            auto sent = out->send("m" + std::to_string(i));
            std::lock_guard lock(ledger.mutex);
            (sent ? ledger.accepted : ledger.unknown).insert(i);
            if (!sent && sent.error().code != Errc::timeout &&
                sent.error().code != Errc::peer_restarted &&
                sent.error().code != Errc::unreachable) {
                ADD_FAILURE() << "send: " << sent.error().to_string();
            }
        }
    });
    std::atomic<Clock::time_point> last_message{Clock::now()};
    std::thread receive_thread([&] {
        while (receiving) {
            auto m = in->receive(300ms);
            if (!m) continue;  // timeout, unreachable while the daemon is down.
            last_message = Clock::now();
            {
                std::lock_guard lock(ledger.mutex);
                const auto n = number_of(m->text());
                ++ledger.deliveries[n];
                if (!m->redelivery) ++ledger.unmarked[n];
            }
            (void)in->ack(*m);  // A failed ack: the message comes back, marked.
        }
    });

    std::mt19937 random(static_cast<unsigned>(::testing::UnitTest::GetInstance()->random_seed()));
    for (int round = 0; round < rounds; ++round) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100 + random() % 400));
        daemon.reset();  // SIGKILL, wherever it is.
        daemon = std::make_unique<Heraldd>(data, url);
    }
    sending = false;
    send_thread.join();
    // Drain: leased messages whose ack was lost come back after the 5 s lease.
    while (Clock::now() - last_message.load() < 7s) std::this_thread::sleep_for(100ms);
    receiving = false;
    receive_thread.join();

    std::lock_guard lock(ledger.mutex);
    EXPECT_GT(ledger.accepted.size(), 0u);
    for (const auto n : ledger.accepted) {
        EXPECT_GT(ledger.deliveries[n], 0) << "m" << n << " was accepted and never received";
    }
    for (const auto& [n, count] : ledger.unmarked) {
        EXPECT_LE(count, 1) << "m" << n << " received " << count << " times unmarked";
    }
    for (const auto& [n, count] : ledger.deliveries) {
        EXPECT_TRUE(ledger.accepted.contains(n) || ledger.unknown.contains(n))
            << "m" << n << " received, never sent";
    }
    std::cout << "rounds " << rounds << ", accepted " << ledger.accepted.size() << ", unknown "
              << ledger.unknown.size() << ", received " << ledger.deliveries.size() << "\n";
    daemon->child->signal(SIGTERM);
    EXPECT_EQ(daemon->child->wait(Clock::now() + 10s), 0);
    EXPECT_EQ(integrity_check(data + "/herald.db"), "ok");
}

// A persistent bulletin board (docs/boards.md B9) survives a SIGKILL of its daemon: its posts,
// its next seq and two readers' cursors (readers on this test's node, which stays up).
TEST(MailboxCrash, APersistentBoardKeepsPostsSeqsAndTwoCursorsAcrossAKill) {
    TempDir dir;
    const auto data = dir.file("data");
    auto daemon = std::make_unique<Heraldd>(data, "udp://127.0.0.1:0");
    const std::string url = daemon->url;
    auto created =
        run({herald_bin(), "board", "create", url, "news", "--persistent", "--keep", "3"});
    ASSERT_EQ(created.code, 0) << created.err;
    NodeOptions options;
    options.faults_from_env = false;
    auto node = Node::start(options);
    ASSERT_TRUE(node);
    auto host = (*node)->connect(url);
    ASSERT_TRUE(host);
    auto poster = (*node)->spawn();
    auto one = (*node)->spawn();
    auto two = (*node)->spawn();
    ASSERT_TRUE(poster && one && two);
    auto out = poster->open_board(*host, "news");
    auto a = one->open_board(*host, "news");
    auto b = two->open_board(*host, "news");
    ASSERT_TRUE(out && a && b) << (out ? "" : out.error().to_string());
    for (const char* text : {"p1", "p2"}) ASSERT_TRUE(out->post(text));
    // The posts were committed, and `herald status` shows it, beside the loop's polls
    // (node.durable_poll_us; whether a 200 us poll happened depends on the machine's speed).
    const auto status = run({herald_bin(), "--json", "status", url});
    ASSERT_EQ(status.code, 0) << status.err;
    const auto counters = nlohmann::json::parse(status.out)["counters"];
    EXPECT_GE(counters.value("store_commits", std::uint64_t{0}), 2u) << status.out;
    EXPECT_GE(counters.value("store_writes", std::uint64_t{0}), 2u) << status.out;
    EXPECT_TRUE(counters.contains("loop_polls")) << status.out;
    auto first = a->read(1s, 1);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->posts.at(0).seq, 1u);
    auto both = b->read(1s);
    ASSERT_TRUE(both);
    EXPECT_EQ(both->posts.size(), 2u);

    daemon.reset();  // SIGKILL.
    daemon = std::make_unique<Heraldd>(data, url);
    std::optional<std::uint64_t> seq;
    for (auto until = Clock::now() + 10s; !seq && Clock::now() < until;) {
        auto posted = out->post("p3");
        if (posted) seq = *posted;
    }
    ASSERT_TRUE(seq.has_value());
    EXPECT_EQ(*seq, 3u);  // Seqs go on; none reused.
    auto rest = a->read(5s);
    ASSERT_TRUE(rest) << rest.error().to_string();
    ASSERT_EQ(rest->posts.size(), 2u);  // Its cursor survived: 2 and 3, not 1 again.
    EXPECT_EQ(rest->posts[0].seq, 2u);
    EXPECT_EQ(rest->posts[1].text(), "p3");
    auto new_one = b->read(5s);
    ASSERT_TRUE(new_one) << new_one.error().to_string();
    ASSERT_EQ(new_one->posts.size(), 1u);
    EXPECT_EQ(new_one->posts[0].seq, 3u);
    EXPECT_EQ(new_one->missed, 0u);
    EXPECT_EQ(b->try_read().error().code, Errc::would_block);
}

}  // namespace
}  // namespace herald::apps_test

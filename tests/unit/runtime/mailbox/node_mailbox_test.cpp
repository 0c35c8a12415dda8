// NodeMailbox on a real runtime::Node: a persistent mailbox keeps 100 messages across a stop
// and a restart with the same data_dir, and hands each out exactly once; a transient one
// hands messages out and refuses what it does not know about. The command intake holds
// mailbox_intake_max commands while the loop is busy, refuses one more with queue_full, then
// runs them all; commands queued when the node stops complete exactly once, with closed; a
// stop() from the last completion shuts the node down after that completion's handler; a
// blocking persistent send, answered by the store writer, is answered once and its message is
// there for the sender's next command; the writer's old record buffers come back to the
// effects' record buffer source.
#include "runtime/node_mailbox.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "runtime/node.h"

namespace herald::runtime {
namespace {

using proto::mailbox::Durability;

std::string temp_dir() {
    auto dir =
        std::filesystem::temp_directory_path() /
        ("herald-mailbox-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "-" + std::to_string(reinterpret_cast<std::uintptr_t>(&temp_dir)));
    std::filesystem::remove_all(dir);
    return dir.string();
}

std::shared_ptr<Node> start_node(const std::string& data_dir) {
    NodeConfig config;
    config.id = NodeId{0x4d42};
    config.data_dir = data_dir;
    auto node = Node::start(config);
    EXPECT_TRUE(node.has_value()) << (node ? "" : node.error().to_string());
    return node ? *node : nullptr;
}

TEST(NodeMailbox, PersistentMessagesSurviveARestartAndAreReceivedOnce) {
    const auto dir = temp_dir();
    const Pid me{NodeId{0x4d42}, 7};
    {
        auto node = start_node(dir);
        ASSERT_TRUE(node);
        ASSERT_TRUE(node->mailbox().create({.name = "orders",
                                            .durability = Durability::persistent,
                                            .capacity_messages = 1000,
                                            .capacity_bytes = 1 << 20}));
        for (int i = 0; i < 100; ++i) {
            auto sent = node->mailbox().send(me, node->id(), "orders", to_bytes(std::to_string(i)));
            ASSERT_TRUE(sent.has_value()) << sent.error().to_string();
        }
        node->stop();
    }
    auto node = start_node(dir);
    ASSERT_TRUE(node);
    auto stats = node->mailbox().stats();
    ASSERT_TRUE(stats.has_value());
    ASSERT_EQ(stats->size(), 1u);
    EXPECT_EQ(stats->at(0).messages, 100u);
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i) {
        auto got = node->mailbox().receive(me, node->id(), "orders", Duration::zero());
        ASSERT_TRUE(got.has_value()) << got.error().to_string();
        EXPECT_TRUE(seen.insert(std::string(as_text(got->body))).second);
        ASSERT_TRUE(node->mailbox().ack(me, node->id(), "orders", got->tag).has_value());
    }
    EXPECT_EQ(seen.size(), 100u);
    auto empty = node->mailbox().receive(me, node->id(), "orders", Duration::zero());
    EXPECT_EQ(empty.error().code, Errc::timeout);
    node->stop();
    std::filesystem::remove_all(dir);
}

TEST(NodeMailbox, TransientMailboxHandsOutAndUnknownMailboxIsNotFound) {
    auto node = start_node("");
    ASSERT_TRUE(node);
    const Pid me{node->id(), 9};
    ASSERT_TRUE(node->mailbox().create({.name = "jobs",
                                        .durability = Durability::transient,
                                        .capacity_messages = 10,
                                        .capacity_bytes = 1 << 16}));
    // For packet_lifetime after a start a transient mailbox refuses with peer_restarted (M17):
    // poll up to a deadline.
    Status sent = fail(Errc::peer_restarted);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!sent && sent.error().code == Errc::peer_restarted &&
           std::chrono::steady_clock::now() < deadline) {
        sent = node->mailbox().send(me, node->id(), "jobs", to_bytes("hi"));
    }
    ASSERT_TRUE(sent.has_value()) << sent.error().to_string();
    auto got = node->mailbox().receive(me, node->id(), "jobs", Duration::milliseconds(100));
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(as_text(got->body), "hi");
    EXPECT_EQ(node->mailbox().send(me, node->id(), "nope", {}).error().code, Errc::not_found);
    node->stop();
}

// A blocking persistent send to this node is answered by the store writer once its write is
// durable (docs/mailboxes.md "Completion of a persistent send"), and the loop's completion of
// the same send then leaves the caller alone: four threads send and at once take their own
// message back (a selective receive with no wait, which finds it only if the engine saw the
// commit before the sender's next command) and ack it. A caller completed twice would abort
// (SpinWaiter asserts once); one answered before the commit's loop task was queued would find
// nothing.
TEST(NodeMailbox, ABlockingPersistentSendIsAnsweredOnceAndItsMessageIsThereForTheNextCommand) {
    const auto dir = temp_dir();
    auto node = start_node(dir);
    ASSERT_TRUE(node);
    ASSERT_TRUE(node->mailbox().create({.name = "hop",
                                        .durability = Durability::persistent,
                                        .capacity_messages = 1000,
                                        .capacity_bytes = 1 << 20}));
    constexpr std::size_t threads = 4;
    constexpr int rounds = 250;
    std::array<std::atomic<int>, threads> taken{};
    std::vector<std::thread> senders;
    for (std::size_t i = 0; i < threads; ++i) {
        senders.emplace_back([&, i] {
            const Pid me{node->id(), static_cast<std::uint64_t>(10 + i)};
            for (int round = 0; round < rounds; ++round) {
                const std::string text = std::to_string(i) + "/" + std::to_string(round);
                if (!node->mailbox().send(me, node->id(), "hop", to_bytes(text))) return;
                auto got =
                    node->mailbox().receive(me, node->id(), "hop", Duration::zero(), {.from = me});
                if (!got || as_text(got->body) != text) return;
                if (!node->mailbox().ack(me, node->id(), "hop", got->tag)) return;
                taken[i].fetch_add(1);
            }
        });
    }
    for (auto& sender : senders) sender.join();
    for (std::size_t i = 0; i < threads; ++i) EXPECT_EQ(taken[i].load(), rounds) << i;
    auto stats = node->mailbox().stats();
    ASSERT_TRUE(stats.has_value());
    EXPECT_EQ(stats->at(0).messages, 0u);
    node->stop();
    std::filesystem::remove_all(dir);
}

// The record buffers come back: once the store writer has slots of committed writes, each
// persist's part returns with a slot's old key and value, which the node keeps in its effects'
// record buffer source for the engine's next record (taken by the next send).
TEST(NodeMailbox, APersistsRecordBuffersComeBackToTheEffectsForTheNextRecord) {
    const auto dir = temp_dir();
    auto node = start_node(dir);
    ASSERT_TRUE(node);
    ASSERT_TRUE(node->mailbox().create({.name = "reuse",
                                        .durability = Durability::persistent,
                                        .capacity_messages = 100,
                                        .capacity_bytes = 1 << 20}));
    const Pid me{node->id(), 9};
    for (int i = 0; i < 8; ++i) {
        ASSERT_TRUE(node->mailbox().send(me, node->id(), "reuse", to_bytes(std::to_string(i))));
    }
    // Sends 1 and 2 fill the writer's two slot vectors; from send 3 on each send's part comes
    // back with an older record's buffers, which the next send's record is encoded into.
    auto counters = node->mailbox().counters();
    ASSERT_TRUE(counters.has_value());
    EXPECT_GE(counters->records_in_kept_buffers, 5u);
    EXPECT_LE(counters->records_in_kept_buffers, 8u);
    node->stop();
    std::filesystem::remove_all(dir);
}

// A persistent mailbox with room for every command the intake can hold.
// A status that must be the error `code`.
void expect_error(const Status& status, Errc code) {
    ASSERT_FALSE(status.has_value()) << "expected " << static_cast<int>(code);
    EXPECT_EQ(status.error().code, code) << status.error().to_string();
}

void create_big_mailbox(Node& node, const std::string& name) {
    ASSERT_TRUE(node.mailbox().create({.name = name,
                                       .durability = Durability::persistent,
                                       .capacity_messages = 4 * mailbox_intake_max,
                                       .capacity_bytes = 1 << 24}));
}

TEST(NodeMailbox, TheIntakeHoldsItsBoundWhileTheLoopIsBusyThenRunsEachCommandOnce) {
    const auto dir = temp_dir();
    auto node = start_node(dir);
    ASSERT_TRUE(node);
    const Pid me{node->id(), 7};
    create_big_mailbox(*node, "intake");
    // The first send's callback holds the loop until every push below was made.
    std::promise<void> entered, filled;
    auto filled_future = filled.get_future();
    ASSERT_TRUE(
        node->mailbox().send_async(me, node->id(), "intake", to_bytes("first"), [&](Status) {
            entered.set_value();
            filled_future.wait();
        }));
    entered.get_future().wait();
    std::array<std::atomic<int>, mailbox_intake_max + 8> done{};
    std::atomic<int> ok{0};
    std::size_t accepted = 0;
    Status refused;
    for (std::size_t i = 0; i < done.size(); ++i) {
        auto started = node->mailbox().send_async(me, node->id(), "intake", Bytes(128, 'x'),
                                                  [&, i](Status status) {
                                                      done[i].fetch_add(1);
                                                      if (status) ok.fetch_add(1);
                                                  });
        if (!started) {
            refused = started;
            break;
        }
        ++accepted;
    }
    // The blocking form is refused at once too, the intake being full (asked only then: an
    // accepted one would wait for the loop held above).
    Status blocking = refused;
    if (!refused) blocking = node->mailbox().send(me, node->id(), "intake", to_bytes("late"));
    filled.set_value();
    EXPECT_EQ(accepted, mailbox_intake_max);
    expect_error(refused, Errc::queue_full);
    expect_error(blocking, Errc::queue_full);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (ok.load() < static_cast<int>(accepted) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    // Emptied, the intake takes commands again.
    EXPECT_TRUE(node->mailbox().send(me, node->id(), "intake", to_bytes("after")).has_value());
    node->stop();
    EXPECT_EQ(ok.load(), static_cast<int>(accepted));
    for (std::size_t i = 0; i < done.size(); ++i) EXPECT_EQ(done[i].load(), i < accepted ? 1 : 0);
    std::filesystem::remove_all(dir);
}

TEST(NodeMailbox, CommandsQueuedWhenTheNodeStopsCompleteOnceWithClosed) {
    const auto dir = temp_dir();
    auto node = start_node(dir);
    ASSERT_TRUE(node);
    const Pid me{node->id(), 7};
    create_big_mailbox(*node, "stopping");
    // A receive waits on an empty mailbox, so the drain that stop() starts has an operation to
    // wait for. The first send's callback holds the loop while commands queue, then stops the
    // node from the loop (its drain starts at once): the intake's task runs on a stopping node.
    ASSERT_TRUE(node->mailbox().create({.name = "idle",
                                        .durability = Durability::persistent,
                                        .capacity_messages = 1,
                                        .capacity_bytes = 1 << 10}));
    std::atomic<int> received{0};
    ASSERT_TRUE(node->mailbox().receive_async(
        me, node->id(), "idle", Duration::milliseconds(300), {},
        [&](Result<proto::mailbox::Received>) { received.fetch_add(1); }));
    std::promise<void> entered, queued;
    auto queued_future = queued.get_future();
    Node* raw = node.get();
    ASSERT_TRUE(
        node->mailbox().send_async(me, node->id(), "stopping", to_bytes("first"), [&, raw](Status) {
            entered.set_value();
            queued_future.wait();
            raw->stop();
        }));
    entered.get_future().wait();
    std::array<std::atomic<int>, 64> done{};
    std::array<std::atomic<int>, 64> closed{};
    for (std::size_t i = 0; i < done.size(); ++i) {
        auto started = node->mailbox().send_async(
            me, node->id(), "stopping", Bytes(128, 'x'), [&, i](Status status) {
                done[i].fetch_add(1);
                if (!status && status.error().code == Errc::closed) {
                    closed[i].fetch_add(1);
                }
            });
        ASSERT_TRUE(started.has_value()) << started.error().to_string();
    }
    Status blocking;
    std::thread sender(
        [&] { blocking = node->mailbox().send(me, node->id(), "stopping", to_bytes("blocked")); });
    queued.set_value();
    sender.join();
    node->stop();
    node.reset();
    expect_error(blocking, Errc::closed);
    EXPECT_EQ(received.load(), 1);
    for (std::size_t i = 0; i < done.size(); ++i) {
        EXPECT_EQ(done[i].load(), 1) << i;
        EXPECT_EQ(closed[i].load(), 1) << i;
    }
    std::filesystem::remove_all(dir);
}

// stop() from a completion that runs while the node carries out effects, with nothing else
// pending: the drain would end at once, and the shutdown (which flushes) waits for the end of
// the handler instead of running inside it (it aborted on an assertion there before).
TEST(NodeMailbox, StopFromTheLastCompletionWithNothingPendingShutsDownCleanly) {
    const auto dir = temp_dir();
    auto node = start_node(dir);
    ASSERT_TRUE(node);
    const Pid me{node->id(), 7};
    create_big_mailbox(*node, "last");
    Node* raw = node.get();
    std::promise<Status> outcome;
    auto sent = outcome.get_future();
    ASSERT_TRUE(node->mailbox().send_async(me, node->id(), "last", to_bytes("only"),
                                           [&, raw](Status status) {
                                               raw->stop();
                                               outcome.set_value(status);
                                           }));
    const Status status = sent.get();
    EXPECT_TRUE(status.has_value()) << status.error().to_string();
    node->stop();
    expect_error(node->mailbox().send(me, node->id(), "last", to_bytes("late")), Errc::closed);
    node.reset();
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace herald::runtime

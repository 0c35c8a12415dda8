// The public mailbox API (herald/mailbox.h) on real nodes over loopback UDP: competing
// receivers across nodes, access rights and grants, selective and predicate receives,
// non-blocking and asynchronous receives, leases and redelivery, and a persistent mailbox
// across a restart of its host.
#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <thread>

#include "herald/herald.h"

namespace herald {
namespace {

using namespace std::chrono_literals;

std::string temp_dir(const char* tag) {
    auto dir = std::filesystem::temp_directory_path() /
               (std::string("herald-mbox-api-") + tag + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    return dir.string();
}

std::unique_ptr<Node> start(const std::string& data_dir = {}, std::string listen = {}) {
    NodeOptions options;
    if (!listen.empty()) options.listen = std::move(listen);
    options.data_dir = data_dir;
    auto node = Node::start(options);
    EXPECT_TRUE(node.has_value()) << (node ? "" : node.error().to_string());
    return node ? std::move(*node) : nullptr;
}

Errc code_of(const Status& s) {
    return s ? Errc::ok : s.error().code;
}

TEST(MailboxApi, TwoNodesShareATransientMailboxAsCompetingConsumers) {
    auto host = start();
    auto other = start();
    ASSERT_TRUE(host && other);
    ASSERT_TRUE(other->connect(host->listen_url()));
    ASSERT_TRUE(host->create_mailbox("jobs"));
    EXPECT_EQ(code_of(host->create_mailbox("jobs")), Errc::already_exists);
    EXPECT_EQ(code_of(host->create_mailbox("bad name")), Errc::invalid_argument);
    auto sender = other->spawn();
    auto a = host->spawn();
    auto b = other->spawn();
    ASSERT_TRUE(sender && a && b);
    auto out = sender->open_mailbox(host->id(), "jobs");
    auto in_a = a->open_mailbox(host->id(), "jobs");
    auto in_b = b->open_mailbox(host->id(), "jobs");
    ASSERT_TRUE(out && in_a && in_b);
    EXPECT_EQ(in_a->try_receive().error().code, Errc::would_block);
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(out->send("m" + std::to_string(i)));
    std::set<std::string> got;
    for (int i = 0; i < 10; ++i) {
        auto x = in_a->receive(2s);
        auto y = in_b->receive(2s);
        ASSERT_TRUE(x && y);
        EXPECT_TRUE(got.insert(std::string(x->text())).second);
        EXPECT_TRUE(got.insert(std::string(y->text())).second);
        EXPECT_EQ(x->sender, sender->pid());
    }
    EXPECT_EQ(got.size(), 20u);
    EXPECT_EQ(in_a->receive(100ms).error().code, Errc::timeout);
    auto counters = host->mailbox_counters();
    ASSERT_TRUE(counters);
    EXPECT_EQ(counters->accepted, 20u);
    EXPECT_EQ(counters->delivered, 20u);
    EXPECT_EQ(a->open_mailbox(host->id(), "nothere").error().code, Errc::not_found);
    EXPECT_EQ(a->open_mailbox(host->id(), "").error().code, Errc::invalid_argument);
}

TEST(MailboxApi, ARestrictedMailboxObeysItsGrants) {
    auto host = start();
    auto other = start();
    ASSERT_TRUE(host && other && other->connect(host->listen_url()));
    auto owner = host->spawn();
    ASSERT_TRUE(owner);
    MailboxOptions options;
    options.restricted = true;
    ASSERT_TRUE(host->create_mailbox("vault", options, owner->pid()));
    auto stranger = other->spawn();
    ASSERT_TRUE(stranger);
    auto box = stranger->open_mailbox(host->id(), "vault");
    ASSERT_TRUE(box);
    EXPECT_EQ(code_of(box->send("x")), Errc::access_denied);
    EXPECT_EQ(box->try_receive().error().code, Errc::access_denied);
    EXPECT_EQ(code_of(host->grant_mailbox("vault", stranger->pid(), mailbox_rights::send,
                                          stranger->pid())),
              Errc::access_denied);
    ASSERT_TRUE(host->grant_mailbox("vault", stranger->pid(), mailbox_rights::send, owner->pid()));
    EXPECT_TRUE(box->send("now"));
    EXPECT_EQ(box->try_receive().error().code, Errc::access_denied);
    ASSERT_TRUE(host->grant_mailbox("vault", Pid{other->id(), 0}, mailbox_rights::receive));
    auto m = box->receive(1s);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->text(), "now");
    auto info = host->mailboxes();
    ASSERT_TRUE(info && info->size() == 1);
    EXPECT_TRUE((*info)[0].restricted);
    EXPECT_EQ((*info)[0].owner, owner->pid());
    EXPECT_EQ((*info)[0].grants, 2u);
}

TEST(MailboxApi, SelectiveAndPredicateReceivesLeaveTheRestInOrder) {
    auto host = start();
    ASSERT_TRUE(host);
    ASSERT_TRUE(host->create_mailbox("mixed"));
    auto s1 = host->spawn();
    auto s2 = host->spawn();
    auto r = host->spawn();
    ASSERT_TRUE(s1 && s2 && r);
    auto o1 = s1->open_mailbox(host->id(), "mixed");
    auto o2 = s2->open_mailbox(host->id(), "mixed");
    auto in = r->open_mailbox(host->id(), "mixed");
    ASSERT_TRUE(o1 && o2 && in);
    ASSERT_TRUE(o1->send("a1"));
    ASSERT_TRUE(o2->send("b1"));
    ASSERT_TRUE(o1->send("a2"));
    ASSERT_TRUE(o2->send("b2-urgent"));
    auto from_b = in->receive_from(s2->pid(), 1s);
    ASSERT_TRUE(from_b);
    EXPECT_EQ(from_b->text(), "b1");
    auto urgent =
        in->receive_if([](const MailboxMessage& m) { return m.text().ends_with("urgent"); }, 1s);
    ASSERT_TRUE(urgent);
    EXPECT_EQ(urgent->text(), "b2-urgent");
    EXPECT_NE(urgent->tag, 0u);
    auto none = in->receive_if([](const MailboxMessage& m) { return m.text() == "zz"; }, 200ms);
    EXPECT_EQ(none.error().code, Errc::timeout);
    EXPECT_EQ(in->receive(1s)->text(), "a1");
    EXPECT_EQ(in->receive(1s)->text(), "a2");
}

TEST(MailboxApi, AsynchronousReceiveCompletesWhenASendArrives) {
    auto host = start();
    ASSERT_TRUE(host && host->create_mailbox("async"));
    auto p = host->spawn();
    ASSERT_TRUE(p);
    auto box = p->open_mailbox(host->id(), "async");
    ASSERT_TRUE(box);
    auto pending = box->receive_async(5s);
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(pending.wait_for(0s), std::future_status::timeout);
    ASSERT_TRUE(box->send("late"));
    ASSERT_EQ(pending.wait_for(5s), std::future_status::ready);
    auto m = pending.get();
    ASSERT_TRUE(m) << m.error().to_string();
    EXPECT_EQ(m->text(), "late");
}

TEST(MailboxApi, PersistentMessagesComeBackMarkedAfterALeaseAndSurviveARestart) {
    const auto dir = temp_dir("restart");
    std::string url;
    {
        auto host = start(dir);
        ASSERT_TRUE(host);
        url = host->listen_url();
        MailboxOptions options;
        options.durability = Durability::persistent;
        ASSERT_TRUE(host->create_mailbox("orders", options));
        auto p = host->spawn();
        ASSERT_TRUE(p);
        auto box = p->open_mailbox(host->id(), "orders");
        ASSERT_TRUE(box);
        for (int i = 0; i < 5; ++i) ASSERT_TRUE(box->send("o" + std::to_string(i)));
        auto first = box->receive(1s);
        ASSERT_TRUE(first);
        EXPECT_FALSE(first->redelivery);
        EXPECT_TRUE(box->ack(*first));
        auto unacked = box->receive(1s);  // Not acknowledged: its lease (5 s) ends.
        ASSERT_TRUE(unacked);
        EXPECT_EQ(unacked->text(), "o1");
        auto again = box->receive_if([](const MailboxMessage& m) { return m.text() == "o1"; }, 8s);
        ASSERT_TRUE(again);
        EXPECT_EQ(again->text(), "o1");
        EXPECT_TRUE(again->redelivery);
        EXPECT_TRUE(box->ack(*again));
        EXPECT_EQ(code_of(box->ack(*again)), Errc::not_found);
        EXPECT_EQ(code_of(box->ack(0)), Errc::invalid_argument);
    }
    auto host = start(dir, url);
    ASSERT_TRUE(host);
    auto p = host->spawn();
    ASSERT_TRUE(p);
    auto box = p->open_mailbox(host->id(), "orders");
    ASSERT_TRUE(box);
    for (int i = 2; i < 5; ++i) {
        auto m = box->receive(1s);
        ASSERT_TRUE(m) << m.error().to_string();
        EXPECT_EQ(m->text(), "o" + std::to_string(i));
        EXPECT_TRUE(m->redelivery);  // Restored: its lease, if any, is gone (M14).
        EXPECT_TRUE(box->ack(*m));
    }
    EXPECT_EQ(box->try_receive().error().code, Errc::would_block);
    std::filesystem::remove_all(dir);
}

// NodeOptions::durable_poll: the host's loop polls after its persistent sends' writes and
// commits (NodeStats::loop_polls), not when it is 0, and a value out of range is refused.
TEST(MailboxApi, TheLoopPollsAfterDurableWritesUnlessDurablePollIsZero) {
    // 20 ms, not the 200 us default: a slow (sanitized, loaded) loop thread may reach its poll
    // more than 200 us after the write that asked for it, and then it does not poll.
    for (const auto poll : {std::chrono::nanoseconds(20ms), std::chrono::nanoseconds(0)}) {
        const auto dir = temp_dir(poll.count() == 0 ? "nopoll" : "poll");
        NodeOptions options;
        options.data_dir = dir;
        options.durable_poll = poll;
        auto host = Node::start(options);
        ASSERT_TRUE(host) << host.error().to_string();
        EXPECT_EQ((*host)->stats().loop_polls, 0u);  // Nothing written yet.
        MailboxOptions persistent;
        persistent.durability = Durability::persistent;
        ASSERT_TRUE((*host)->create_mailbox("log", persistent));
        auto p = (*host)->spawn();
        ASSERT_TRUE(p);
        auto box = p->open_mailbox((*host)->id(), "log");
        ASSERT_TRUE(box);
        for (int i = 0; i < 20; ++i) ASSERT_TRUE(box->send("m" + std::to_string(i)));
        const auto stats = (*host)->stats();
        EXPECT_GE(stats.store_commits, 1u);
        if (poll.count() == 0) {
            EXPECT_EQ(stats.loop_polls, 0u);
        } else {
            EXPECT_GT(stats.loop_polls, 0u);
        }
        for (int i = 0; i < 20; ++i) {  // Every message durable and in order, polling or not.
            auto m = box->receive(2s);
            ASSERT_TRUE(m) << m.error().to_string();
            EXPECT_EQ(m->text(), "m" + std::to_string(i));
            EXPECT_TRUE(box->ack(*m));
        }
        host->reset();
        std::filesystem::remove_all(dir);
    }
    for (const auto bad : {std::chrono::nanoseconds(-1), std::chrono::nanoseconds(101ms)}) {
        NodeOptions options;
        options.durable_poll = bad;
        auto refused = Node::start(options);
        ASSERT_FALSE(refused);
        EXPECT_EQ(refused.error().code, Errc::invalid_argument);
        EXPECT_NE(refused.error().detail.find("durable_poll"), std::string::npos);
    }
}

}  // namespace
}  // namespace herald

namespace herald {
namespace {

using namespace std::chrono_literals;

TEST(MailboxApiModes, AFullMailboxFailsAtOnceOrBlocksUntilThereIsRoom) {
    auto host = Node::start();
    ASSERT_TRUE(host);
    MailboxOptions small;
    small.capacity_messages = 2;
    ASSERT_TRUE((*host)->create_mailbox("small", small));
    auto p = (*host)->spawn();
    auto q = (*host)->spawn();
    ASSERT_TRUE(p && q);
    auto out = p->open_mailbox((*host)->id(), "small");
    auto in = q->open_mailbox((*host)->id(), "small");
    ASSERT_TRUE(out && in);
    ASSERT_TRUE(out->send("1"));
    ASSERT_TRUE(out->send("2"));
    SendOptions fail_fast;
    fail_fast.on_full = OnFull::fail;
    EXPECT_EQ(out->send("3", fail_fast).error().code, Errc::queue_full);
    SendOptions brief;
    brief.timeout = 100ms;
    EXPECT_EQ(out->send("3", brief).error().code, Errc::timeout);
    SendOptions buffer;
    buffer.on_full = OnFull::buffer;
    EXPECT_EQ(out->send("3", buffer).error().code, Errc::invalid_argument);
    std::thread taker([&] {
        std::this_thread::sleep_for(150ms);
        EXPECT_TRUE(in->receive(1s));
    });
    EXPECT_TRUE(out->send("3"));  // Blocks until the taker made room.
    taker.join();
    SendOptions nonblocking;
    nonblocking.mode = SendMode::nonblocking;
    EXPECT_TRUE(in->receive(1s));
    EXPECT_TRUE(out->send("4", nonblocking));
    auto third = in->receive(1s);
    ASSERT_TRUE(third);
    EXPECT_EQ(third->text(), "3");
    EXPECT_TRUE(out->send_async(to_bytes("5")).get());
    std::set<std::string> rest;
    for (int i = 0; i < 2; ++i) {
        auto m = in->receive(1s);
        ASSERT_TRUE(m);
        rest.insert(std::string(m->text()));
    }
    EXPECT_EQ(rest, (std::set<std::string>{"4", "5"}));
}

TEST(MailboxApiModes, TheFdFormSignalsWhenAReceiveCompleted) {
    auto host = Node::start();
    ASSERT_TRUE(host && (*host)->create_mailbox("fd"));
    auto p = (*host)->spawn();
    ASSERT_TRUE(p);
    auto box = p->open_mailbox((*host)->id(), "fd");
    ASSERT_TRUE(box);
    auto fd = box->receive_fd();
    ASSERT_TRUE(fd);
    EXPECT_EQ(box->take_received().error().code, Errc::would_block);
    ASSERT_TRUE(box->start_receive(5s));
    EXPECT_EQ(box->start_receive(5s).error().code, Errc::queue_full);
    pollfd pfd{*fd, POLLIN, 0};
    EXPECT_EQ(::poll(&pfd, 1, 50), 0);
    ASSERT_TRUE(box->send("ping"));
    ASSERT_EQ(::poll(&pfd, 1, 5000), 1);
    auto m = box->take_received();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->text(), "ping");
    EXPECT_EQ(::poll(&pfd, 1, 0), 0);
    EXPECT_TRUE(box->start_receive(5s));  // The slot is free again.
}

}  // namespace
}  // namespace herald

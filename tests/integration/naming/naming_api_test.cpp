// Names through the public API (herald/naming.h) on three real nodes over loopback UDP: S hosts
// the name server (data_dir), A and B reach it by NamingNodeOptions::server_url. Covers
// register/lookup/list/unregister, racing registrations (one winner), only the owner
// unregisters, a closed process's names go at once, and sends and calls by name, including the
// one re-resolution after the cached owner is gone (docs/api.md "Names", docs/naming.md).
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "herald/herald.h"
#include "node_test_support.h"

namespace herald::testing {
namespace {

class NamingApiTest : public ::testing::Test {
protected:
    void SetUp() override {
        NodeOptions so;
        so.data_dir = dir.path();
        so.naming.server = true;
        s = start_node(so);
        ASSERT_TRUE(s);
        NodeOptions co;
        co.naming.server_url = s->listen_url();
        a = start_node(co);
        b = start_node(co);
        ASSERT_TRUE(a && b);
        ASSERT_TRUE(a->connect(b->listen_url()));  // So that they can send to each other.
        ASSERT_TRUE(b->connect(a->listen_url()));
    }
    TempDir dir;
    std::unique_ptr<Node> s, a, b;
};

TEST_F(NamingApiTest, RegisterLookupListUnregister) {
    Process p = spawn(*a);
    ASSERT_TRUE(p.register_name("billing/api")) << "";
    ASSERT_TRUE(p.register_name("billing/api"));  // Again by the owner: renews.
    auto found = b->lookup_name("billing/api");
    ASSERT_TRUE(found) << found.error().to_string();
    EXPECT_EQ(found->owner, p.pid());
    auto resolved = b->resolve("billing/api");
    ASSERT_TRUE(resolved) << resolved.error().to_string();
    EXPECT_EQ(*resolved, p.pid());
    EXPECT_GT(found->lease_left.count(), 0);
    Process q = spawn(*b);
    ASSERT_TRUE(q.register_name("billing/db"));
    ASSERT_TRUE(q.register_name("other"));
    auto listed = a->list_names("billing/");
    ASSERT_TRUE(listed) << listed.error().to_string();
    ASSERT_EQ(listed->size(), 2u);
    EXPECT_EQ((*listed)[0].name, "billing/api");
    EXPECT_EQ((*listed)[1].owner, q.pid());
    ASSERT_TRUE(p.unregister_name("billing/api"));
    auto gone = s->lookup_name("billing/api");
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().code, Errc::not_found);
    EXPECT_EQ(p.unregister_name("billing/api").error().code, Errc::not_found);
    const auto stats = b->stats();
    EXPECT_GE(stats.name_requests, 2u);
    EXPECT_EQ(stats.names_held, 2u);
    EXPECT_EQ(s->stats().names_served, 2u);
}

TEST_F(NamingApiTest, MalformedNamesAreInvalidArguments) {
    Process p = spawn(*a);
    for (const char* bad : {"", "1abc", "abc.12", "has space", "a@b", "x\n"}) {
        auto r = p.register_name(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, Errc::invalid_argument) << bad;
        EXPECT_EQ(a->lookup_name(bad).error().code, Errc::invalid_argument) << bad;
        if (std::string_view(bad) == "abc.12") continue;  // As an address it is a pid.
        EXPECT_EQ(p.send(std::string_view(bad), "x").error().code, Errc::invalid_argument) << bad;
    }
    EXPECT_EQ(p.register_name(std::string(256, 'a')).error().code, Errc::invalid_argument);
    EXPECT_EQ(p.register_name("ok", std::chrono::seconds(0)).error().code, Errc::invalid_argument);
    EXPECT_EQ(a->lookup_name("nobody").error().code, Errc::not_found);
    EXPECT_EQ(a->resolve("nobody").error().code, Errc::not_found);
    auto named = parse_process_address("billing/api");
    ASSERT_TRUE(named);
    EXPECT_EQ(named->name, "billing/api");
    EXPECT_FALSE(named->pid.valid());
    EXPECT_EQ(to_string(*named), "billing/api");
    auto pid = parse_process_address("cafe.1");  // Reads as a pid: it is one.
    ASSERT_TRUE(pid);
    EXPECT_TRUE(pid->name.empty());
    EXPECT_EQ(pid->pid, (Pid{NodeId{0xcafe}, 1}));
    EXPECT_EQ(parse_process_address("9x@").error().code, Errc::invalid_argument);
    EXPECT_EQ(p.send(std::string_view("nobody"), "x").error().code, Errc::not_found);
}

TEST_F(NamingApiTest, RacingRegistrationsHaveOneWinner) {
    std::vector<Process> ps;
    for (int i = 0; i < 4; ++i) ps.push_back(spawn(i % 2 == 0 ? *a : *b));
    std::atomic<int> won{0}, taken{0};
    std::vector<std::thread> threads;
    for (auto& p : ps) {
        threads.emplace_back([&p, &won, &taken] {
            auto r = p.register_name("leader");
            if (r) {
                ++won;
            } else if (r.error().code == Errc::already_exists) {
                ++taken;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(won.load(), 1);
    EXPECT_EQ(taken.load(), 3);
    auto owner = s->lookup_name("leader");
    ASSERT_TRUE(owner);
    int owners = 0;
    for (auto& p : ps) owners += p.pid() == owner->owner ? 1 : 0;
    EXPECT_EQ(owners, 1);
}

TEST_F(NamingApiTest, OnlyTheOwnerUnregisters) {
    Process owner = spawn(*a);
    Process neighbour = spawn(*a);  // Same node, another process.
    Process stranger = spawn(*b);
    ASSERT_TRUE(owner.register_name("mine"));
    EXPECT_EQ(neighbour.unregister_name("mine").error().code, Errc::access_denied);
    EXPECT_EQ(stranger.unregister_name("mine").error().code, Errc::access_denied);
    EXPECT_EQ(b->unregister_name("mine").error().code, Errc::access_denied);  // Not its node.
    EXPECT_EQ(stranger.register_name("mine").error().code, Errc::already_exists);
    ASSERT_TRUE(a->lookup_name("mine"));
    ASSERT_TRUE(a->unregister_name("mine"));  // The node hosting the owner may.
    ASSERT_TRUE(stranger.register_name("mine"));
}

TEST_F(NamingApiTest, ClosedProcessNamesDisappear) {
    Process p = spawn(*a);
    ASSERT_TRUE(p.register_name("brief", std::chrono::seconds(60)));
    ASSERT_TRUE(p.register_name("brief2", std::chrono::seconds(60)));
    // Registered by its node on its behalf: held the same way (heraldd's name_register).
    ASSERT_TRUE(a->register_name("brief3", p.pid(), std::chrono::seconds(60)));
    EXPECT_EQ(a->stats().names_held, 3u);
    p.exit();
    // The node unregisters at once (not at the 60 s lease end); poll the server, not a cache.
    EXPECT_TRUE(eventually([&] {
        auto l = s->list_names("brief");
        return l && l->empty();
    }));
    EXPECT_EQ(a->stats().names_held, 0u);
    Process q = spawn(*b);
    EXPECT_TRUE(q.register_name("brief"));
}

TEST_F(NamingApiTest, NodeRegisteredNameOfNoLocalProcessLivesOneLease) {
    const Pid elsewhere{a->id(), 999'999};  // Not a live process of S: not held.
    ASSERT_TRUE(s->register_name("ext", elsewhere, std::chrono::milliseconds(300)));
    EXPECT_EQ(s->stats().names_held, 0u);
    auto found = s->lookup_name("ext");
    ASSERT_TRUE(found) << found.error().to_string();
    EXPECT_EQ(found->owner, elsewhere);
    EXPECT_TRUE(eventually(
        [&] {
            auto l = s->list_names("ext");
            return l && l->empty();
        },
        3000ms));
    EXPECT_EQ(s->register_name("ext", Pid{}, std::chrono::seconds(1)).error().code,
              Errc::invalid_argument);
}

TEST_F(NamingApiTest, NamesAreRenewedWhileTheProcessLives) {
    Process p = spawn(*a);
    ASSERT_TRUE(p.register_name("kept", std::chrono::milliseconds(600)));
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // 2.5 leases.
    auto l = s->list_names("kept");
    ASSERT_TRUE(l);
    ASSERT_EQ(l->size(), 1u);
    EXPECT_EQ((*l)[0].owner, p.pid());
}

TEST_F(NamingApiTest, SendAndCallByNameFollowTheNameAfterItsOwnerChanges) {
    Process first = spawn(*b);
    ASSERT_TRUE(first.register_name("svc"));
    ASSERT_TRUE(first.serve("echo", [](const Request& r) -> Result<Bytes> { return r.body; }));
    Process client = spawn(*a);
    ASSERT_TRUE(client.send(std::string_view("svc"), "one"));
    auto got = first.receive(std::chrono::seconds(2));
    ASSERT_TRUE(got);
    EXPECT_EQ(got->text(), "one");
    auto echoed = client.call(std::string_view("svc"), "echo", std::string_view("hi"));
    ASSERT_TRUE(echoed) << echoed.error().to_string();
    EXPECT_EQ(std::string(echoed->begin(), echoed->end()), "hi");

    // The owner goes and another takes the name, within the client's cache life (1 s): the
    // cached pid answers no_such_process, and the name is resolved again once.
    first.exit();
    Process second = spawn(*b);
    ASSERT_TRUE(eventually([&] { return second.register_name("svc").has_value(); }));
    ASSERT_TRUE(second.serve("echo", [](const Request& r) -> Result<Bytes> { return r.body; }));
    const auto retries = a->stats().name_retries;
    ASSERT_TRUE(client.send(std::string_view("svc"), "two"));
    auto got2 = second.receive(std::chrono::seconds(2));
    ASSERT_TRUE(got2);
    EXPECT_EQ(got2->text(), "two");
    EXPECT_EQ(a->stats().name_retries, retries + 1);  // It went through the stale entry.
    auto echoed2 = client.call(std::string_view("svc"), "echo", std::string_view("ho"));
    ASSERT_TRUE(echoed2) << echoed2.error().to_string();
    EXPECT_GE(a->stats().name_cache_hits, 1u);

    // A receiver may name its sender: receive_from by name takes only the owner's messages.
    Process stranger = spawn(*a);
    ASSERT_TRUE(stranger.send(second.pid(), ByteView(to_bytes("noise"))));
    ASSERT_TRUE(client.send(second.pid(), ByteView(to_bytes("from-client"))));
    ASSERT_TRUE(client.register_name("client"));
    auto only = second.receive_from(std::string_view("client"), std::chrono::seconds(2));
    ASSERT_TRUE(only) << only.error().to_string();
    EXPECT_EQ(only->text(), "from-client");
    EXPECT_EQ(second.receive_from(std::string_view("nobody"), std::chrono::seconds(1)).error().code,
              Errc::not_found);
    auto noise = second.receive(std::chrono::seconds(2));  // Left queued, in order.
    ASSERT_TRUE(noise);
    EXPECT_EQ(noise->text(), "noise");

    // A pid and pid@url as text are addresses too.
    ASSERT_TRUE(client.send(std::string_view(to_string(second.pid())), "three"));
    ASSERT_TRUE(client.send(to_string(ProcessAddress{second.pid(), b->listen_url(), {}}),
                            std::string_view("four")));
    EXPECT_EQ(second.receive(std::chrono::seconds(2))->text(), "three");
    EXPECT_EQ(second.receive(std::chrono::seconds(2))->text(), "four");
    second.exit();
    EXPECT_TRUE(eventually([&] { return !s->lookup_name("svc"); }));
    auto none = client.send(std::string_view("svc"), "five");
    ASSERT_FALSE(none);
    EXPECT_TRUE(none.error().code == Errc::not_found || none.error().code == Errc::no_such_process)
        << none.error().to_string();
}

TEST(NamingApi, NoServerConfiguredIsUnreachableAndServerNeedsDataDir) {
    auto lone = start_node();
    ASSERT_TRUE(lone);
    EXPECT_EQ(lone->lookup_name("x").error().code, Errc::unreachable);
    NodeOptions bad;
    bad.faults_from_env = false;
    bad.naming.server = true;
    EXPECT_EQ(Node::start(bad).error().code, Errc::invalid_argument);
    for (auto ttl : {std::chrono::milliseconds(-1), std::chrono::milliseconds(3'600'001)}) {
        NodeOptions cache;
        cache.faults_from_env = false;
        cache.naming.cache_ttl = ttl;
        auto refused = Node::start(cache);
        ASSERT_FALSE(refused);
        EXPECT_EQ(refused.error().code, Errc::invalid_argument);
        EXPECT_NE(refused.error().detail.find("cache_ttl"), std::string::npos);
    }
    NodeOptions nowhere;
    nowhere.naming.server_url = "udp://127.0.0.1:1";  // Nobody there.
    auto n = start_node(nowhere);
    ASSERT_TRUE(n);
    EXPECT_EQ(n->lookup_name("x").error().code, Errc::unreachable);
}

// Migration (docs/migration.md) on real nodes: p moves from a to b while a third node (s)
// streams to it; every message arrives once, in order, the state blob comes along, and the
// sender's later messages go straight to b (counters), not through a.
TEST_F(NamingApiTest, MigrationWhileAThirdNodeSendsKeepsOrderAndLaterSendsGoDirect) {
    ASSERT_TRUE(s->connect(a->listen_url()));
    ASSERT_TRUE(s->connect(b->listen_url()));
    ASSERT_TRUE(b->connect(s->listen_url()));  // b acks s directly.
    std::mutex mutex;
    std::optional<Process> arrived;
    std::string arrived_state;
    b->on_arrival([&](Process process, Bytes state) {
        std::lock_guard lock(mutex);
        arrived.emplace(std::move(process));
        arrived_state.assign(state.begin(), state.end());
    });
    Process p = spawn(*a);
    const Pid pid = p.pid();
    Process sender = spawn(*s);
    constexpr int total = 100;
    std::atomic<bool> moved{false};
    std::atomic<int> failures{0};
    std::thread stream([&] {
        for (int i = 0; i < total; ++i) {
            if (i == 60) eventually([&] { return moved.load(); });
            if (!sender.send(pid, std::to_string(i))) ++failures;
        }
    });
    std::vector<std::string> got;
    auto take = [&](Process& from) {
        auto m = from.receive(std::chrono::seconds(2));
        if (m) got.emplace_back(m->body.begin(), m->body.end());
        return m.has_value();
    };
    while (got.size() < 10 && take(p)) {
    }
    const Bytes state = to_bytes("state-10");
    const Status migrated = p.migrate(b->id(), state);
    ASSERT_TRUE(migrated) << migrated.error().to_string();
    EXPECT_FALSE(p.pid().valid());
    ASSERT_TRUE(eventually([&] {
        std::lock_guard lock(mutex);
        return arrived.has_value();
    }));
    moved = true;
    Process& q = *arrived;
    EXPECT_EQ(q.pid(), pid);
    EXPECT_EQ(arrived_state, "state-10");
    while (got.size() < static_cast<std::size_t>(total) && take(q)) {
    }
    stream.join();
    EXPECT_EQ(failures.load(), 0);
    ASSERT_EQ(got.size(), static_cast<std::size_t>(total));
    for (int i = 0; i < total; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], std::to_string(i));
    EXPECT_FALSE(q.try_receive());  // Nothing twice.
    const NodeStats at_a = a->stats(), at_b = b->stats(), at_s = s->stats();
    EXPECT_EQ(at_a.migrations_out, 1u);
    EXPECT_EQ(at_b.migrations_in, 1u);
    EXPECT_GE(at_a.messages_forwarded, 1u);
    EXPECT_GE(at_s.location_updates, 1u);
    EXPECT_GE(at_b.received_direct, 30u);  // After the location update, straight to b.
    EXPECT_EQ(at_a.messages_forwarded, at_b.received_forwarded);
}

// A migrated process sends from its new node (docs/migration.md M15): its reply channel to
// the sender continues there, so the sender gets every reply once and in order.
TEST_F(NamingApiTest, AMigratedProcessRepliesFromItsNewNodeInOrder) {
    ASSERT_TRUE(s->connect(a->listen_url()));
    ASSERT_TRUE(s->connect(b->listen_url()));
    ASSERT_TRUE(b->connect(s->listen_url()));
    std::mutex mutex;
    std::optional<Process> arrived;
    b->on_arrival([&](Process process, Bytes) {
        std::lock_guard lock(mutex);
        arrived.emplace(std::move(process));
    });
    Process p = spawn(*a);
    const Pid pid = p.pid();
    Process client = spawn(*s);
    auto serve_one = [&](Process& server, int n) {
        auto request = server.receive(std::chrono::seconds(2));
        ASSERT_TRUE(request) << request.error().to_string();
        const Status sent = server.send(request->source, "reply-" + std::to_string(n));
        ASSERT_TRUE(sent) << sent.error().to_string();
    };
    for (int n = 0; n < 3; ++n) {
        ASSERT_TRUE(client.send(pid, "request"));
        serve_one(p, n);
    }
    ASSERT_TRUE(eventually([&] { return p.migrate(b->id()).has_value(); }));  // Once acked.
    ASSERT_TRUE(eventually([&] {
        std::lock_guard lock(mutex);
        return arrived.has_value();
    }));
    Process& q = *arrived;
    for (int n = 3; n < 6; ++n) {
        ASSERT_TRUE(client.send(pid, "request"));
        serve_one(q, n);
    }
    for (int n = 0; n < 6; ++n) {
        auto reply = client.receive(std::chrono::seconds(2));
        ASSERT_TRUE(reply) << reply.error().to_string();
        EXPECT_EQ(reply->source, pid);
        EXPECT_EQ(std::string(reply->body.begin(), reply->body.end()),
                  "reply-" + std::to_string(n));
    }
    EXPECT_FALSE(client.try_receive());  // Nothing twice.
}

TEST_F(NamingApiTest, MigrationToAnUnknownOrOwnNodeIsRefusedAndTheProcessStays) {
    Process p = spawn(*a);
    EXPECT_EQ(p.migrate(a->id()).error().code, Errc::invalid_argument);
    EXPECT_EQ(p.migrate(NodeId{}).error().code, Errc::invalid_argument);
    Process q = spawn(*b);
    ASSERT_TRUE(q.send(p.pid(), "still here"));
    auto m = p.receive(std::chrono::seconds(2));
    ASSERT_TRUE(m) << m.error().to_string();
}

}  // namespace
}  // namespace herald::testing

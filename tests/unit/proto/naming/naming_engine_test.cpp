// The naming engine driven by hand: a server node S and clients A, B on a fake clock, with a
// lossy hand-carried network and a fake disk (docs/naming.md rules).
#include "proto/naming/naming_engine.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "wire/body.h"

namespace herald::proto::naming {
namespace {

struct TestNode {
    TestNode(NodeId id, bool server, NodeId server_node) : self(id) {
        options.server = server;
        options.server_node = server_node;
        boot();
    }
    void boot() {
        engine = std::make_unique<NamingEngine>(EngineContext{self, ++incarnation, random, now},
                                                options);
        std::vector<StoredRecord> records(disk.begin(), disk.end());
        engine->on_restore(records);
    }
    NodeId self;
    std::uint32_t incarnation = 0;
    Random random{7};
    Time now = Time::zero();
    NamingOptions options;
    std::unique_ptr<NamingEngine> engine;
    std::map<std::string, Bytes> disk;
};

class NamingTest : public ::testing::Test {
protected:
    NodeId s_id{1}, a_id{2}, b_id{3};
    TestNode s{s_id, true, s_id}, a{a_id, false, s_id}, b{b_id, false, s_id};
    std::map<OperationId, Result<Bytes>> done;
    bool drop_next = false;
    bool duplicate = false;
    bool disk_fails = false;  // Writes are refused: on_durable with storage_error.

    TestNode& node(NodeId id) { return id == s_id ? s : id == a_id ? a : b; }

    // Carries `out` of `from` out: completions, disk writes (acknowledged at once), sends.
    void apply(TestNode& from, Effects& out) {
        for (auto& c : out.completions) done.insert_or_assign(c.op, c.result);
        std::vector<std::uint64_t> tokens;
        for (auto& p : out.persists) {
            if (disk_fails) {
                if (tokens.empty() || tokens.back() != p.token) tokens.push_back(p.token);
                continue;
            }
            if (p.erase) {
                from.disk.erase(p.key);
            } else {
                from.disk[p.key] = p.value;
            }
            if (tokens.empty() || tokens.back() != p.token) tokens.push_back(p.token);
        }
        auto sends = std::move(out.sends);
        out.clear();
        for (auto t : tokens) {
            Effects o;
            const Status status = disk_fails ? Status{fail(Errc::storage_error, "disk")} : Status{};
            from.engine->on_durable(t, status, now(), o);
            apply(from, o);
        }
        for (auto& snd : sends) {
            if (drop_next) {
                drop_next = false;
                continue;
            }
            const int copies = duplicate ? 2 : 1;
            for (int i = 0; i < copies; ++i) {
                wire::Packet p = snd.packet;
                Effects o;
                node(snd.to.node).engine->on_packet(from.self, p, now(), o);
                apply(node(snd.to.node), o);
            }
        }
    }
    Time now() const { return s.now; }
    void advance(Duration d) {
        for (auto* n : {&s, &a, &b}) n->now += d;
    }
    void fire(TestNode& n, std::uint64_t timer) {
        Effects o;
        n.engine->on_timer(TimerId{timer}, now(), o);
        apply(n, o);
    }
    Result<Bytes> reg(TestNode& n, OperationId op, const std::string& name, Pid owner,
                      Duration lease = Duration::seconds(10)) {
        Effects o;
        n.engine->on_register(op, name, owner, lease, now(), o);
        apply(n, o);
        return done.at(op);
    }
    Result<Bytes> lookup(TestNode& n, OperationId op, const std::string& name) {
        Effects o;
        n.engine->on_lookup(op, name, now(), o);
        apply(n, o);
        return done.at(op);
    }
    Result<Bytes> unreg(TestNode& n, OperationId op, const std::string& name, Pid owner) {
        Effects o;
        n.engine->on_unregister(op, name, owner, now(), o);
        apply(n, o);
        return done.at(op);
    }
};

Pid pid(NodeId node, std::uint64_t local) {
    return Pid{node, local};
}

TEST_F(NamingTest, RegisterLookupUnregister) {
    ASSERT_TRUE(reg(a, 1, "svc", pid(a_id, 42)));
    auto found = lookup(b, 2, "svc");
    ASSERT_TRUE(found);
    auto entry = wire::unpack<NameEntry>(*found);
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->owner(), pid(a_id, 42));
    EXPECT_TRUE(s.disk.contains("naming/n/svc"));
    ASSERT_TRUE(unreg(a, 3, "svc", pid(a_id, 42)));
    EXPECT_FALSE(s.disk.contains("naming/n/svc"));
    auto gone = lookup(a, 4, "svc");
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().code, Errc::not_found);
}

TEST_F(NamingTest, OneWinnerAndOnlyTheOwnersNodeUnregisters) {
    ASSERT_TRUE(reg(a, 1, "x", pid(a_id, 5)));
    auto second = reg(b, 2, "x", pid(b_id, 6));
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code, Errc::already_exists);
    ASSERT_TRUE(reg(a, 3, "x", pid(a_id, 5)));  // Renewal by the owner.
    auto denied = unreg(b, 4, "x", pid(a_id, 5));
    ASSERT_FALSE(denied);
    EXPECT_EQ(denied.error().code, Errc::access_denied);
}

TEST_F(NamingTest, LeaseExpires) {
    ASSERT_TRUE(reg(a, 1, "l", pid(a_id, 5), Duration::seconds(2)));
    advance(Duration::seconds(3));
    auto r = lookup(b, 2, "l");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::not_found);
    EXPECT_FALSE(s.disk.contains("naming/n/l"));
    ASSERT_TRUE(reg(b, 3, "l", pid(b_id, 9)));  // Free again.
}

TEST_F(NamingTest, OwnerRenewsItsLease) {
    ASSERT_TRUE(reg(a, 1, "k", pid(a_id, 5), Duration::seconds(2)));
    advance(Duration::milliseconds(1500));
    ASSERT_TRUE(reg(a, 2, "k", pid(a_id, 5), Duration::seconds(2)));  // Renewal (rule 3, 5).
    advance(Duration::milliseconds(1500));
    auto r = lookup(b, 3, "k");
    ASSERT_TRUE(r);
    EXPECT_EQ(wire::unpack<NameEntry>(*r)->owner(), pid(a_id, 5));
    auto taken = reg(b, 4, "k", pid(b_id, 1));  // The name_taken.
    ASSERT_FALSE(taken);
    EXPECT_EQ(taken.error().code, Errc::already_exists);
    std::vector<std::string> findings;
    s.engine->check_invariants(findings);
    EXPECT_TRUE(findings.empty());
}

TEST_F(NamingTest, FailedWriteChangesNothing) {
    disk_fails = true;
    auto r = reg(a, 1, "w", pid(a_id, 5));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::storage_error);
    EXPECT_EQ(s.engine->names(), 0u);  // Rule 6: not durable, so not registered.
    disk_fails = false;
    ASSERT_TRUE(reg(b, 2, "w", pid(b_id, 1)));  // Nobody holds it.
    disk_fails = true;
    auto u = unreg(b, 3, "w", pid(b_id, 1));
    ASSERT_FALSE(u);
    EXPECT_EQ(u.error().code, Errc::storage_error);
    disk_fails = false;
    auto l = lookup(a, 4, "w");
    ASSERT_TRUE(l);
    EXPECT_EQ(wire::unpack<NameEntry>(*l)->owner(), pid(b_id, 1));
}

TEST_F(NamingTest, RestoredNamesExpireOnTheSweep) {
    ASSERT_TRUE(reg(a, 1, "e", pid(a_id, 3), Duration::seconds(2)));
    s.boot();
    ASSERT_EQ(s.engine->names(), 1u);
    Effects o;
    s.engine->on_batch_end(now(), o);  // The first batch after the restart arms the sweep.
    ASSERT_FALSE(o.timers.empty());
    apply(s, o);
    advance(Duration::seconds(3));
    fire(s, sweep_timer.value);
    EXPECT_EQ(s.engine->names(), 0u);  // The owner never renewed: gone, on disk too.
    EXPECT_FALSE(s.disk.contains("naming/n/e"));
}

TEST_F(NamingTest, LostRequestIsRetransmittedAndDuplicatesAnsweredOnce) {
    drop_next = true;
    Effects o;
    a.engine->on_register(1, "r", pid(a_id, 1), Duration::seconds(10), now(), o);
    apply(a, o);
    EXPECT_FALSE(done.contains(1));
    advance(Duration::milliseconds(200));
    duplicate = true;
    fire(a, 1);
    ASSERT_TRUE(done.contains(1));
    EXPECT_TRUE(done.at(1));
    EXPECT_GE(s.engine->totals().duplicates_dropped, 1u);
    EXPECT_GE(a.engine->totals().retransmits, 1u);
}

TEST_F(NamingTest, UnreachableAfterAttempts) {
    a.options.attempts = 2;
    Effects o;
    drop_next = true;
    a.engine->on_lookup(1, "q", now(), o);
    apply(a, o);
    drop_next = true;
    fire(a, 1);
    fire(a, 1);
    ASSERT_TRUE(done.contains(1));
    EXPECT_EQ(done.at(1).error().code, Errc::unreachable);
}

TEST_F(NamingTest, SurvivesServerRestart) {
    ASSERT_TRUE(reg(a, 1, "d", pid(a_id, 3)));
    s.boot();
    EXPECT_EQ(s.engine->names(), 1u);
    auto r = lookup(b, 2, "d");
    ASSERT_TRUE(r);
    EXPECT_EQ(wire::unpack<NameEntry>(*r)->owner(), pid(a_id, 3));
}

TEST_F(NamingTest, CacheHitsAndMissInvalidates) {
    ASSERT_TRUE(reg(a, 1, "c", pid(a_id, 3)));
    ASSERT_TRUE(lookup(b, 2, "c"));
    ASSERT_TRUE(lookup(b, 3, "c"));
    EXPECT_EQ(b.engine->counters().cache_hits, 1u);
    ASSERT_TRUE(unreg(a, 4, "c", pid(a_id, 3)));
    advance(Duration::seconds(2));  // Past cache_ttl.
    EXPECT_FALSE(lookup(b, 5, "c"));
}

TEST_F(NamingTest, ListByPrefixAndBounds) {
    ASSERT_TRUE(reg(a, 1, "app/one", pid(a_id, 1)));
    ASSERT_TRUE(reg(a, 2, "app/two", pid(a_id, 2)));
    ASSERT_TRUE(reg(a, 3, "other", pid(a_id, 3)));
    Effects o;
    b.engine->on_list(4, "app/", now(), o);
    apply(b, o);
    auto list = wire::unpack<std::vector<NameEntry>>(*done.at(4));
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 2u);
    EXPECT_EQ((*list)[0].name, "app/one");
    s.options.names_max = 3;
    auto full = reg(a, 5, "more", pid(a_id, 4));
    ASSERT_FALSE(full);
    EXPECT_EQ(full.error().code, Errc::queue_full);
    EXPECT_EQ(reg(a, 6, "", pid(a_id, 4)).error().code, Errc::invalid_argument);
}

}  // namespace
}  // namespace herald::proto::naming

// The naming engine driven by hand: a server node S and clients A, B on a fake clock, with a
// lossy hand-carried network and a fake disk (docs/naming.md rules).
#include "proto/naming/naming_engine.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
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
    std::set<NodeId> down;    // Nodes that neither send nor receive (crashed).

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
            if (down.contains(from.self) || down.contains(snd.to.node)) continue;
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

// A name record as written before rule 14 (no holder fields).
struct OldRecord {
    std::uint64_t node = 0, local = 0;
    std::int64_t lease_ms = 0;
    MSGPACK_DEFINE_MAP(node, local, lease_ms)
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

// Rule 6 with two writes to one name in flight: the first (a register) fails, the second (the
// owner's renewal, sent before the first was durable) succeeds. Putting back the entry from
// before the first must not undo the second: the name is on disk, so it is in the table.
TEST_F(NamingTest, UndoOfAFailedWriteKeepsALaterPendingWriteToTheSameName) {
    auto request = [&](std::uint64_t seq, Op op, Pid owner) {
        RequestBody body{"x", owner.node.value, owner.local, 10'000};
        return make_request(op, a_id, s_id, a.incarnation, seq, *wire::pack(body));
    };
    std::vector<std::uint64_t> tokens;
    for (std::uint64_t seq : {1u, 2u}) {
        Effects o;
        auto p = request(seq, Op::register_name, pid(a_id, 5));
        s.engine->on_packet(a_id, p, now(), o);
        ASSERT_EQ(o.persists.size(), 1u);
        tokens.push_back(o.persists[0].token);
        EXPECT_TRUE(o.sends.empty());  // Rule 6: no reply before the write is durable.
    }
    Effects o;
    s.engine->on_durable(tokens[0], fail(Errc::storage_error, "disk"), now(), o);
    s.engine->on_durable(tokens[1], Status{}, now(), o);
    ASSERT_EQ(o.sends.size(), 2u);
    EXPECT_FALSE(reply_result(o.sends[0].packet));
    EXPECT_TRUE(reply_result(o.sends[1].packet));  // The renewal is durable: it holds.
    EXPECT_EQ(s.engine->names(), 1u);
    auto l = lookup(b, 10, "x");
    ASSERT_TRUE(l) << l.error().to_string();
    EXPECT_EQ(wire::unpack<NameEntry>(*l)->owner(), pid(a_id, 5));

    // And when the later write fails too, the entry from before both comes back (absent).
    std::vector<std::uint64_t> more;
    for (std::uint64_t seq : {3u, 4u}) {
        Effects e;
        auto p = request(seq, Op::unregister, pid(a_id, 5));
        if (seq == 4) p = request(seq, Op::register_name, pid(a_id, 5));
        s.engine->on_packet(a_id, p, now(), e);
        ASSERT_EQ(e.persists.size(), 1u);
        more.push_back(e.persists[0].token);
    }
    Effects f;
    s.engine->on_durable(more[0], fail(Errc::storage_error, "disk"), now(), f);
    s.engine->on_durable(more[1], fail(Errc::storage_error, "disk"), now(), f);
    EXPECT_EQ(s.engine->names(), 1u);  // Neither the unregister nor the register happened.
    std::vector<std::string> findings;
    s.engine->check_invariants(findings);
    EXPECT_TRUE(findings.empty());
}

// Rule 13: a held name is renewed every lease / 3 while its owner lives, so it outlives its
// lease; the owner's exit unregisters it; a renewal refused already_exists drops the hold.
TEST_F(NamingTest, HeldNameIsRenewedUntilItsOwnerExits) {
    Effects o;
    a.engine->on_hold(1, "h", pid(a_id, 5), Duration::seconds(3), now(), o);
    apply(a, o);
    ASSERT_TRUE(done.at(1));
    EXPECT_EQ(a.engine->held(), 1u);
    for (int i = 0; i < 6; ++i) {  // 6 s: twice the lease.
        advance(Duration::seconds(1));
        fire(a, renew_timer.value);
        fire(s, sweep_timer.value);
    }
    EXPECT_GE(a.engine->counters().renewals, 5u);
    auto r = lookup(b, 2, "h");
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(wire::unpack<NameEntry>(*r)->owner(), pid(a_id, 5));

    Effects e;
    a.engine->on_process_exited(pid(a_id, 9), now(), e);  // Another process: nothing.
    EXPECT_TRUE(e.sends.empty());
    a.engine->on_process_exited(pid(a_id, 5), now(), e);
    apply(a, e);
    EXPECT_EQ(a.engine->held(), 0u);
    EXPECT_EQ(s.engine->names(), 0u);  // Unregistered at once, not at lease end.
}

TEST_F(NamingTest, HoldIsDroppedWhenARenewalFindsTheNameTaken) {
    Effects o;
    a.engine->on_hold(1, "t", pid(a_id, 5), Duration::seconds(3), now(), o);
    apply(a, o);
    ASSERT_TRUE(done.at(1));
    drop_next = false;
    advance(Duration::seconds(4));  // The renewal timer was never fired: the lease ended.
    fire(s, sweep_timer.value);
    ASSERT_TRUE(reg(b, 2, "t", pid(b_id, 1)));
    fire(a, renew_timer.value);
    EXPECT_EQ(a.engine->held(), 0u);
    EXPECT_EQ(a.engine->counters().names_lost, 1u);
    auto r = lookup(a, 3, "t");
    ASSERT_TRUE(r);
    EXPECT_EQ(wire::unpack<NameEntry>(*r)->owner(), pid(b_id, 1));
    a.options.held_max = 0;
    Effects f;
    a.engine->on_hold(4, "u", pid(a_id, 5), Duration::seconds(3), now(), f);
    apply(a, f);
    EXPECT_EQ(done.at(4).error().code, Errc::queue_full);
}

TEST_F(NamingTest, OnlyTheOwnerUnregistersEvenOnItsNode) {
    ASSERT_TRUE(reg(a, 1, "o", pid(a_id, 5)));
    auto other = unreg(a, 2, "o", pid(a_id, 6));  // Same node, another process.
    ASSERT_FALSE(other);
    EXPECT_EQ(other.error().code, Errc::access_denied);
    EXPECT_NE(other.error().detail.find(to_string(pid(a_id, 5))), std::string::npos);
    ASSERT_TRUE(unreg(a, 3, "o", pid(a_id, 5)));
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

// Rule 14: the server probes a holder it has not heard from every probe_interval; a holder
// that answers keeps its names however long its lease; one silent for dead_after is declared
// dead and its names go (from the disk too), long before their lease would end.
TEST_F(NamingTest, ADeadHoldersNamesGoWhenItIsDeclaredDead) {
    ASSERT_TRUE(reg(a, 1, "svc", pid(a_id, 4), Duration::seconds(600)));
    ASSERT_TRUE(reg(b, 2, "other", pid(b_id, 4), Duration::seconds(600)));
    for (int i = 0; i < 8; ++i) {  // Both alive and idle: probes answered, names kept.
        advance(s.options.probe_interval);
        fire(s, probe_timer.value);
    }
    EXPECT_GE(s.engine->counters().probes, 8u);
    EXPECT_EQ(s.engine->names(), 2u);
    down.insert(a_id);  // a crashes.
    for (int i = 0; i < 4; ++i) {
        advance(s.options.probe_interval);
        fire(s, probe_timer.value);
    }
    EXPECT_EQ(s.engine->names(), 2u);  // 4 s of silence: not yet (dead_after is 5 s).
    advance(s.options.probe_interval);
    fire(s, probe_timer.value);
    EXPECT_EQ(s.engine->counters().holders_dead, 1u);
    EXPECT_EQ(s.engine->counters().holder_names_dropped, 1u);
    EXPECT_FALSE(s.disk.contains("naming/n/svc"));
    auto gone = lookup(b, 3, "svc");
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().code, Errc::not_found);
    EXPECT_TRUE(lookup(b, 4, "other"));           // b answered its probes all along.
    ASSERT_TRUE(reg(b, 5, "svc", pid(b_id, 5)));  // The name is free.
    std::vector<std::string> findings;
    s.engine->check_invariants(findings);
    EXPECT_TRUE(findings.empty());
}

// A holder that restarted (a greater incarnation in a request or a probe answer) lost its
// processes: the names it registered before go at once; a late request of the old
// incarnation is not served.
TEST_F(NamingTest, ARestartedHoldersOldNamesGoAndItsOldRequestsAreIgnored) {
    ASSERT_TRUE(reg(a, 1, "svc", pid(a_id, 4), Duration::seconds(600)));
    ASSERT_TRUE(reg(a, 2, "kept", pid(a_id, 5), Duration::seconds(600)));
    RequestBody body{"late", a_id.value, 6, 600'000};
    const wire::Packet old =
        make_request(Op::register_name, a_id, s_id, a.incarnation, 99, *wire::pack(body));
    a.boot();  // New incarnation; its first request tells the server.
    ASSERT_TRUE(reg(a, 3, "kept", pid(a_id, 5), Duration::seconds(600)));
    auto gone = lookup(b, 4, "svc");
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().code, Errc::not_found);
    EXPECT_TRUE(lookup(b, 5, "kept"));  // Registered again by the new incarnation.
    EXPECT_EQ(s.engine->counters().holder_names_dropped, 2u);
    wire::Packet late = old;
    Effects o;
    s.engine->on_packet(a_id, late, now(), o);
    EXPECT_TRUE(o.sends.empty());
    EXPECT_EQ(s.engine->names(), 1u);

    // The same through a probe: b restarts and stays quiet; the probe's answer carries the new
    // incarnation.
    ASSERT_TRUE(reg(b, 6, "bsvc", pid(b_id, 4), Duration::seconds(600)));
    b.boot();
    advance(s.options.probe_interval);
    fire(s, probe_timer.value);
    EXPECT_EQ(s.engine->names(), 1u);
    EXPECT_FALSE(s.disk.contains("naming/n/bsvc"));
}

// Records written before rule 14 have no holder: the owner's node holds them, incarnation
// unknown, and a restored holder is tracked only once it speaks (until then rule 10's lease).
TEST_F(NamingTest, RecordsWithoutAHolderAreRestoredForTheOwnersNode) {
    s.disk["naming/n/old"] = *wire::pack(OldRecord{a_id.value, 7, 600'000});
    s.boot();
    ASSERT_EQ(s.engine->names(), 1u);
    for (int i = 0; i < 7; ++i) {  // a never speaks: not probed, not declared dead.
        advance(s.options.probe_interval);
        Effects o;
        s.engine->on_batch_end(now(), o);
        apply(s, o);
        fire(s, probe_timer.value);
    }
    EXPECT_EQ(s.engine->names(), 1u);
    EXPECT_EQ(s.engine->counters().probes, 0u);
    ASSERT_TRUE(lookup(a, 1, "old"));  // a speaks: tracked from now on, incarnation known.
    down.insert(a_id);
    for (int i = 0; i < 6; ++i) {
        advance(s.options.probe_interval);
        fire(s, probe_timer.value);
    }
    EXPECT_EQ(s.engine->names(), 0u);
}

}  // namespace
}  // namespace herald::proto::naming

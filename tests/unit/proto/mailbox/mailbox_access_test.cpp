// MailboxEngine's access rights (owner, open and restricted mailboxes, grants and their
// restart) and its selective receives (by sender, peek then take): docs/mailboxes.md M18-M22.
#include "mailbox_harness.h"

namespace herald::proto::mailbox::testing {
namespace {

constexpr Pid owner{Harness::host, 3};
constexpr Pid other{Harness::client, 9};

Errc code_of(const Result<Bytes>& r) {
    return r ? Errc::ok : r.error().code;
}

MailboxSpec restricted(std::string name, Durability d = Durability::persistent) {
    MailboxSpec spec{.name = std::move(name), .durability = d};
    spec.restricted = true;
    spec.owner = owner;
    return spec;
}

TEST(MailboxAccess, ARestrictedMailboxRefusesEveryoneButItsOwner) {
    Harness t;
    ASSERT_EQ(code_of(t.result(t.h(), t.create_spec(restricted("vault")))), Errc::ok);
    EXPECT_EQ(code_of(t.result(t.c(), t.send("vault", "x"))), Errc::access_denied);
    EXPECT_EQ(code_of(t.result(t.c(), t.receive("vault", Duration::zero()))), Errc::access_denied);
    EXPECT_EQ(code_of(t.result(t.c(), t.ack("vault", 5))), Errc::access_denied);
    EXPECT_EQ(code_of(t.result(t.h(), t.send("vault", "mine", owner))), Errc::ok);
}

TEST(MailboxAccess, GrantsGiveSendAndReceiveSeparatelyAndARevokeTakesThemBack) {
    Harness t;
    (void)t.create_spec(restricted("vault"));
    ASSERT_EQ(code_of(t.result(t.h(), t.grant("vault", owner, t.sender, rights::send))), Errc::ok);
    EXPECT_EQ(code_of(t.result(t.c(), t.send("vault", "a"))), Errc::ok);
    EXPECT_EQ(code_of(t.result(t.c(), t.receive("vault", Duration::zero(), t.sender))),
              Errc::access_denied);
    // A node-wide grant: every process of the client node may receive.
    ASSERT_EQ(code_of(t.result(t.h(), t.grant("vault", owner, Pid{t.client, 0}, rights::receive))),
              Errc::ok);
    const auto got = t.received(t.receive("vault", Duration::zero()));
    EXPECT_EQ(text_of(got.body), "a");
    EXPECT_EQ(code_of(t.result(t.c(), t.ack("vault", got.tag))), Errc::ok);
    ASSERT_EQ(code_of(t.result(t.h(), t.grant("vault", owner, t.sender, rights::none))), Errc::ok);
    EXPECT_EQ(code_of(t.result(t.c(), t.send("vault", "b"))), Errc::access_denied);
}

TEST(MailboxAccess, OnlyTheOwnerOrTheHostMayGrant) {
    Harness t;
    (void)t.create_spec(restricted("vault"));
    EXPECT_EQ(code_of(t.result(t.h(), t.grant("vault", Pid{t.host, 4}, t.sender, rights::all))),
              Errc::access_denied);
    EXPECT_EQ(code_of(t.result(t.h(), t.grant("vault", Pid{}, t.sender, rights::all))), Errc::ok);
    EXPECT_EQ(code_of(t.result(t.h(), t.grant("vault", owner, Pid{NodeId{}, 4}, rights::all))),
              Errc::invalid_argument);
    EXPECT_EQ(code_of(t.result(t.h(), t.grant("nothere", owner, t.sender, rights::all))),
              Errc::not_found);
}

TEST(MailboxAccess, GrantsOfAPersistentMailboxSurviveARestart) {
    Harness t;
    (void)t.create_spec(restricted("vault"));
    (void)t.grant("vault", owner, t.sender, rights::send);
    t.h().restart(t.now);
    t.now = t.now + Duration::seconds(10);  // Past M17's window: this is a new send.
    EXPECT_EQ(code_of(t.result(t.c(), t.send("vault", "after"))), Errc::ok);
    EXPECT_EQ(code_of(t.result(t.c(), t.send("vault", "no", other))), Errc::access_denied);
    const auto stats = t.h().engine->stats();
    ASSERT_EQ(stats.size(), 1u);
    EXPECT_TRUE(stats[0].restricted);
    EXPECT_EQ(stats[0].owner, owner);
    EXPECT_EQ(stats[0].grants, 1u);
}

TEST(MailboxAccess, APersistentGrantTakesEffectOnlyOnceDurable) {
    Harness t;
    (void)t.create_spec(restricted("vault"));
    t.auto_flush = false;
    const auto op = t.grant("vault", owner, Pid{}, rights::send);
    EXPECT_FALSE(t.h().completions.contains(op));
    EXPECT_EQ(code_of(t.result(t.c(), t.send("vault", "early"))), Errc::access_denied);
    t.flush(t.h());
    EXPECT_EQ(code_of(t.result(t.h(), op)), Errc::ok);
    const auto late = t.send("vault", "late", other);
    t.flush(t.h());
    EXPECT_EQ(code_of(t.result(t.c(), late)), Errc::ok);
}

TEST(MailboxSelective, AReceiveFromOneSenderSkipsTheOthersMessagesWhichStayInOrder) {
    Harness t;
    (void)t.create("jobs", Durability::transient);
    (void)t.send("jobs", "s1");
    (void)t.send("jobs", "o1", other);
    (void)t.send("jobs", "s2");
    ReceiveFilter only_other;
    only_other.from = other;
    EXPECT_EQ(text_of(t.received(t.receive("jobs", Duration::zero(), t.receiver, only_other)).body),
              "o1");
    EXPECT_EQ(code_of(t.result(t.c(), t.receive("jobs", Duration::zero(), t.receiver, only_other))),
              Errc::timeout);
    EXPECT_EQ(text_of(t.received(t.receive("jobs", Duration::zero())).body), "s1");
    EXPECT_EQ(text_of(t.received(t.receive("jobs", Duration::zero())).body), "s2");
}

TEST(MailboxSelective, AWaitingSelectiveReceiveDoesNotHoldUpTheOthers) {
    Harness t;
    (void)t.create("jobs", Durability::transient);
    ReceiveFilter only_other;
    only_other.from = other;
    const auto picky = t.receive("jobs", Duration::seconds(5), t.receiver, only_other);
    const auto any = t.receive("jobs", Duration::seconds(5), Pid{t.client, 7});
    (void)t.send("jobs", "from-sender");
    EXPECT_FALSE(t.c().completions.contains(picky));
    EXPECT_EQ(text_of(t.received(any).body), "from-sender");
    (void)t.send("jobs", "from-other", other);
    EXPECT_EQ(text_of(t.received(picky).body), "from-other");
}

TEST(MailboxSelective, PeekLooksWithoutTakingAndTakeGetsExactlyThatMessageOnce) {
    Harness t;
    (void)t.create("jobs", Durability::persistent);
    (void)t.send("jobs", "a");
    (void)t.send("jobs", "b");
    ReceiveFilter peek;
    peek.peek = true;
    const auto first = t.received(t.receive("jobs", Duration::zero(), t.receiver, peek));
    EXPECT_EQ(text_of(first.body), "a");
    EXPECT_EQ(first.tag, 0u);
    peek.after = first.seq;
    const auto second = t.received(t.receive("jobs", Duration::zero(), t.receiver, peek));
    EXPECT_EQ(text_of(second.body), "b");
    ReceiveFilter take;
    take.take = second.seq;
    const auto taken = t.received(t.receive("jobs", Duration::zero(), t.receiver, take));
    EXPECT_EQ(text_of(taken.body), "b");
    EXPECT_NE(taken.tag, 0u);
    EXPECT_FALSE(taken.redelivery);
    EXPECT_EQ(code_of(t.result(t.c(), t.receive("jobs", Duration::zero(), t.receiver, take))),
              Errc::not_found);
    EXPECT_EQ(code_of(t.result(t.c(), t.ack("jobs", taken.tag))), Errc::ok);
    EXPECT_EQ(text_of(t.received(t.receive("jobs", Duration::zero())).body), "a");
}

TEST(MailboxSelective, APeekWaitsForAMessageAfterItsCursor) {
    Harness t;
    (void)t.create("jobs", Durability::transient);
    (void)t.send("jobs", "a");
    ReceiveFilter peek;
    peek.peek = true;
    peek.after = t.received(t.receive("jobs", Duration::zero(), t.receiver, peek)).seq;
    const auto op = t.receive("jobs", Duration::seconds(2), t.receiver, peek);
    EXPECT_FALSE(t.c().completions.contains(op));
    (void)t.send("jobs", "b");
    EXPECT_EQ(text_of(t.received(op).body), "b");
}

TEST(MailboxSelective, ABadFilterIsRefusedBeforeAnythingIsSent) {
    Harness t;
    ReceiveFilter both;
    both.peek = true;
    both.take = 3;
    EXPECT_EQ(code_of(t.result(t.c(), t.receive("jobs", Duration::zero(), t.receiver, both))),
              Errc::invalid_argument);
    EXPECT_TRUE(t.wire_queue.empty());
}

}  // namespace
}  // namespace herald::proto::mailbox::testing

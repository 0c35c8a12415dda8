// Restart semantics through the public API (docs/api.md): a node restarted on the same
// address keeps its id and gets a higher incarnation; a send waiting on the old incarnation
// fails with peer_restarted; later sends reach the new incarnation's processes; and the
// restarted node never hands out a dynamic local id of its previous run.
#include <future>
#include <set>
#include <string>

#include "node_test_support.h"

namespace herald {
namespace {

using namespace herald::testing;

TEST(NodeRestart, InFlightSendsGetPeerRestartedAndLaterOnesReachTheNewIncarnation) {
    TempDir data;
    NodeOptions b_options;
    b_options.data_dir = data.path();
    auto b = start_node(b_options);
    ASSERT_TRUE(b);
    const std::string url = b->listen_url();
    const NodeId b_id = b->id();
    const std::uint32_t first_incarnation = b->incarnation();
    std::set<std::uint64_t> old_ids;

    auto a = start_node();
    ASSERT_TRUE(a->connect(url, 5s));
    Process sender = spawn(*a);
    Process target = spawn(*b);
    old_ids.insert(target.pid().local);
    for (int i = 0; i < 5; ++i) old_ids.insert(spawn(*b).pid().local);
    SendOptions delivered;
    delivered.mode = SendMode::delivered;
    delivered.timeout = 30s;
    ASSERT_TRUE(sender.send(target.pid(), to_bytes("before"), delivered));

    b->stop();
    b.reset();
    // Sent while the node is down: transmitted (and retransmitted) to the old incarnation,
    // never acknowledged. It may or may not have reached it, so it must not be resent.
    std::promise<Status> in_flight;
    const auto sent_before = a->stats().retransmits;
    ASSERT_TRUE(sender.send_async(target.pid(), to_bytes("in flight"), delivered,
                                  [&](Status s) { in_flight.set_value(s); }));
    ASSERT_TRUE(eventually([&] { return a->stats().retransmits > sent_before; }));
    b_options.listen = url;
    b = start_node(b_options);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->id(), b_id);
    EXPECT_GT(b->incarnation(), first_incarnation);
    auto status = in_flight.get_future().get();
    EXPECT_EQ(code(status), Errc::peer_restarted) << error_text(status);

    // New processes never reuse a local id of the previous run, and are reachable.
    Process fresh = spawn(*b);
    EXPECT_FALSE(old_ids.contains(fresh.pid().local)) << fresh.pid().local;
    for (int i = 0; i < 5; ++i) EXPECT_FALSE(old_ids.contains(spawn(*b).pid().local));
    // The old incarnation's process is gone with it.
    EXPECT_EQ(code(sender.send(target.pid(), to_bytes("old pid"), delivered)),
              Errc::no_such_process);
    auto sent = sender.send(fresh.pid(), to_bytes("to the new incarnation"), delivered);
    ASSERT_TRUE(sent) << error_text(sent);
    auto got = fresh.receive(5s);
    ASSERT_TRUE(got) << error_text(got);
    EXPECT_EQ(got->text(), "to the new incarnation");
}

}  // namespace
}  // namespace herald

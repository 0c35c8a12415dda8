// Herald nodes in separate OS processes (node_helper, started with fork/exec): a plain
// exchange over UDP and over a Unix socket, 10,000 messages under 20% injected loss
// ($HERALD_FAULTS) that must arrive exactly once and in order, and a receiver killed with
// SIGKILL and restarted that must not wedge its sender; and an ordered group's member whose
// node is stopped (SIGSTOP) while its group's view history passes it by.
#include <signal.h>

#include <cstdio>
#include <sstream>
#include <thread>

#include "core/result.h"  // HERALD_TRY
#include "node_child.h"
#include "node_test_support.h"

namespace herald {
namespace {

using namespace herald::testing;

const std::string helper = HERALD_NODE_HELPER;

struct Ready {
    std::string url;
    std::string pid;
};

// Reads the helper's "READY <url> <pid>" line.
std::optional<Ready> wait_ready(Child& child) {
    auto line = child.read_line(20s);
    if (!line || !line->starts_with("READY ")) return std::nullopt;
    std::istringstream words(line->substr(6));
    Ready ready;
    words >> ready.url >> ready.pid;
    return ready;
}

// Runs a sink and a source helper; both must finish their role.
void exchange(const std::string& sink_url, const std::string& source_url, int count,
              const std::string& faults) {
    const std::string env = "HERALD_FAULTS=" + faults;
    // At 20% loss each way a live peer can fall silent for the default 5 s (docs/direct.md
    // rule 16): this test is about exactly-once order, not the failure detector.
    const std::string patience =
        std::string("HERALD_PEER_TIMEOUT_MS=") + (faults.empty() ? "" : "60000");
    Child sink({helper, "sink", sink_url, std::to_string(count)}, {env, patience});
    ASSERT_TRUE(sink.started());
    auto ready = wait_ready(sink);
    ASSERT_TRUE(ready) << sink.output();
    Child source(
        {helper, "source", source_url, ready->pid + "@" + ready->url, std::to_string(count)},
        {env, patience});
    auto source_status = source.wait_exit(90s);
    if (source_status != 0) sink.kill9();  // It would wait for messages that never come.
    sink.terminate();  // It stays up until then, so the source's last message is acked.
    auto sink_status = sink.wait_exit(30s);
    EXPECT_EQ(source_status, 0) << source.output();
    std::printf("source: %s", source.output().c_str());  // Retransmits and injected drops.
    EXPECT_EQ(sink_status, 0) << sink.output();
    EXPECT_NE(sink.output().find("DONE " + std::to_string(count)), std::string::npos)
        << sink.output();
    if (!faults.empty()) {
        EXPECT_EQ(source.output().find("faults_dropped 0"), std::string::npos)
            << "the faults were not injected: " << source.output();
    }
}

TEST(NodeProcesses, TwoOsProcessesExchangeOverUdp) {
    exchange("udp://127.0.0.1:0", "udp://127.0.0.1:0", 200, "");
}

TEST(NodeProcesses, TwoOsProcessesExchangeOverAUnixSocket) {
    TempDir dir;
    exchange("unix:" + dir.path() + "/sink.sock", "unix:" + dir.path() + "/source.sock", 200, "");
}

TEST(NodeProcesses, TenThousandMessagesUnderTwentyPercentLossArriveOnceInOrder) {
    exchange("udp://127.0.0.1:0", "udp://127.0.0.1:0", 10'000, "loss=0.2,seed=7");
}

// One echo round trip from `client` to `echo`, each step bounded by `timeout`.
Status round_trip(Process& client, Pid echo, std::chrono::milliseconds timeout) {
    SendOptions options;
    options.timeout = timeout;
    HERALD_TRY(client.send(echo, std::string_view("ping"), options));
    HERALD_TRY(auto reply, client.receive_from(echo, timeout));
    if (reply.text() != "ping") return fail(Errc::malformed, "wrong echo");
    return {};
}

TEST(NodeProcesses, AReceiverKilledAndRestartedDoesNotWedgeItsSender) {
    auto first =
        std::make_unique<Child>(std::vector<std::string>{helper, "echo", "udp://127.0.0.1:0"},
                                std::vector<std::string>{"HERALD_FAULTS="});
    auto ready = wait_ready(*first);
    ASSERT_TRUE(ready) << first->output();
    NodeOptions options;
    options.peer_timeout = 500ms;
    auto node = start_node(options);
    auto echo = node->resolve(ready->pid + "@" + ready->url);
    ASSERT_TRUE(echo) << error_text(echo);
    auto client = spawn(*node);
    ASSERT_TRUE(round_trip(client, *echo, 5s));

    first->kill9();
    const Errc why = code(round_trip(client, *echo, 300ms));
    EXPECT_TRUE(why == Errc::timeout || why == Errc::unreachable) << errc_name(why);

    // Restarted on the same URL: same node id, same well-known pid, a new incarnation.
    Child second({helper, "echo", ready->url}, {"HERALD_FAULTS="});
    auto again = wait_ready(second);
    ASSERT_TRUE(again) << second.output();
    EXPECT_EQ(again->pid, ready->pid);
    std::vector<Errc> errors;
    const bool recovered = eventually(
        [&] {
            auto status = round_trip(client, *echo, 300ms);
            if (!status) errors.push_back(status.error().code);
            return status.has_value();
        },
        15s);
    EXPECT_TRUE(recovered);
    for (Errc e : errors) {
        EXPECT_TRUE(e == Errc::timeout || e == Errc::unreachable || e == Errc::peer_restarted)
            << errc_name(e);
    }
    // And it keeps working.
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(round_trip(client, *echo, 5s));
}

// The next `count` ordered data messages of `p`, their texts in delivery order.
std::vector<std::string> receive_ordered(Process& p, std::size_t count) {
    std::vector<std::string> out;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
        auto envelope = p.receive(1s);
        if (!envelope || !envelope->ordered) continue;
        auto m = decode_group_message(*envelope);
        if (m && m->kind == GroupMessage::Kind::data) out.emplace_back(m->text());
    }
    return out;
}

// docs/groups.md G10 and docs/ordering.md O39 on real nodes. B's node (a node_helper process)
// is stopped with SIGSTOP while 40 views of its ordered group are made, more than the server
// keeps (history_max, 16), and for less than the server's suspicion_timeout, so its member
// stays in every view. When it runs again the server brings it up to date with a group_reset
// view: its node skips the views in between. The flushes out of those views wait for every
// member (O30), B's included: unless the coordinators ask it (O39) they wait for ever, and
// no ordered multicast gets through. Every member, B's too, must then deliver one sequence of
// every member's messages. With `b_coordinates` S and A have the two largest node ids, above
// any id derived from B's url, so B's member is every view's first member, the flushes'
// coordinator: its node never knew the view the others flush toward, and answers that it
// skipped it (docs/ordering.md O39 (g)); otherwise the ids are the nodes' own, and B's member
// coordinates in about half the runs.
void ordered_member_stopped_past_the_view_history(Order order, bool b_coordinates) {
    constexpr std::uint64_t top = ~std::uint64_t{0};
    TempDir dir;
    NodeOptions so;
    if (b_coordinates) so.id = NodeId{top};
    so.data_dir = dir.path();
    so.groups.server = true;
    so.groups.heartbeat_interval = 100ms;
    so.groups.suspicion_timeout = 10s;  // Far beyond the stop, even under sanitizers.
    auto s = start_node(so);
    ASSERT_TRUE(s);
    NodeOptions ao;
    if (b_coordinates) ao.id = NodeId{top - 1};
    ao.groups.server_url = s->listen_url();
    ao.groups.heartbeat_interval = 100ms;
    auto a = start_node(ao);
    ASSERT_TRUE(a);
    ASSERT_TRUE(s->connect(a->listen_url()));
    ASSERT_TRUE(a->connect(s->listen_url()));
    ASSERT_TRUE(s->create_group("g", order));
    auto ps = spawn(*s);
    auto pa = spawn(*a);
    ASSERT_TRUE(ps.join_group("g"));
    ASSERT_TRUE(pa.join_group("g"));
    constexpr int each = 20;  // From ps and from pa; B sends 10.
    const std::size_t total = 2 * each + 10;
    Child b({helper, "ordered-member", "udp://127.0.0.1:0", s->listen_url(), "g", "3",
             std::to_string(total), s->listen_url() + "," + a->listen_url()},
            {"HERALD_FAULTS="});
    auto ready = wait_ready(b);
    ASSERT_TRUE(ready) << b.output();
    if (b_coordinates) {
        ASSERT_LT(std::stoull(ready->pid.substr(0, ready->pid.find('.')), nullptr, 16), top - 1)
            << "B's node id must sort before S's and A's: " << ready->pid;
    }
    ASSERT_TRUE(s->connect(ready->url));
    ASSERT_TRUE(a->connect(ready->url));
    for (Process* p : {&ps, &pa}) {
        ASSERT_TRUE(eventually([&] {
            auto v = p->ordered_view("g");
            return v && v->members.size() == 3;
        }));
    }
    const std::uint64_t before = s->group_view("g")->id;

    ASSERT_EQ(::kill(b.pid(), SIGSTOP), 0);
    for (int i = 0; i < 20; ++i) {  // 40 views: a process of A joins and leaves.
        auto q = spawn(*a);
        ASSERT_TRUE(q.join_group("g"));
        ASSERT_TRUE(q.leave_group("g"));
    }
    const std::uint64_t after = s->group_view("g")->id;
    ASSERT_EQ(::kill(b.pid(), SIGCONT), 0);
    EXPECT_GE(after, before + 40);

    // Each sender stops at its first failure (a stalled flush fails every later one the same).
    auto send = [](Process& p, const std::string& prefix) {
        for (int k = 0; k < each; ++k) {
            auto sent = p.ordered_multicast("g", prefix + std::to_string(k), 20s);
            if (!sent) return prefix + std::to_string(k) + ": " + error_text(sent);
        }
        return std::string();
    };
    std::string a_failed;
    std::thread from_a([&] { a_failed = send(pa, "a-"); });
    const std::string s_failed = send(ps, "s-");
    from_a.join();
    EXPECT_EQ(s_failed, "");
    EXPECT_EQ(a_failed, "");
    const auto at_s = receive_ordered(ps, total);
    const auto at_a = receive_ordered(pa, total);
    EXPECT_EQ(at_s.size(), total);
    EXPECT_EQ(at_s, at_a);
    std::string joined;
    for (const auto& text : at_s) joined += (joined.empty() ? "" : " ") + text;
    std::optional<std::string> order_line, views_line;
    for (auto line = b.read_line(30s); line; line = b.read_line(5s)) {
        if (line->starts_with("ORDER ")) order_line = *line;
        if (line->starts_with("VIEWS ")) {
            views_line = *line;
            break;
        }
    }
    b.terminate();
    EXPECT_EQ(b.wait_exit(10s), 0) << b.output();
    ASSERT_TRUE(order_line && views_line) << b.output();
    EXPECT_EQ(*order_line, "ORDER " + std::to_string(total) + " " + joined);
    // B's node skipped views (a reset), or this test did not test O39: without the skip it
    // would have installed its first view and then the 40 one by one. (It installs the view
    // after its last, sent while it was stopped, then the server's reset view, made once the
    // server no longer kept the first, and every view after it: e.g. 5, 21, 22, ..., 44.)
    EXPECT_LT(std::stoull(views_line->substr(6)), 41u) << *views_line;
}

TEST(NodeProcesses, AbcastMemberStoppedPastTheViewHistoryCatchesUpWithoutStallingTheGroup) {
    ordered_member_stopped_past_the_view_history(Order::abcast, true);
}

TEST(NodeProcesses, SequencerMemberStoppedPastTheViewHistoryCatchesUpWithoutStallingTheGroup) {
    ordered_member_stopped_past_the_view_history(Order::sequencer, false);
}

}  // namespace
}  // namespace herald

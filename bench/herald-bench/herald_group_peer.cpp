// bench-herald-group: Herald's side of the group workloads through the public API only
// (herald/herald.h): one Node per member process, rank 0's node also the group server; one
// group of `members` members with the order given as --variant (fifo, sequencer, abcast,
// cbcast, absolute; with "-ipmc", e.g. fifo-ipmc, the group gets an IP multicast address the
// server picks: docs/ordering.md O38), every member multicasting at once (--pattern mcast) or
// rank 0 paced (--pattern paced) with Process::ordered_multicast. Layer: bench.
#include <herald/herald.h>
#include <poll.h>

#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "bench/common/mcast.h"
#include "bench/common/peer.h"
#include "core/result.h"  // HERALD_TRY

namespace herald::bench {
namespace {

using namespace std::chrono_literals;

constexpr const char* group_name = "herald-bench";
// How long one ordered_multicast may wait while the ordering engine pushes back (64 own
// messages not yet acknowledged by every member): short, so that the loop goes on taking
// deliveries; the send is tried again.
constexpr auto push_back_wait = 1ms;
constexpr std::size_t dispatch_max = 256;
// Throughput rows: a sender hands up to this many ready messages to its node in one call
// (Process::ordered_multicast_many: one hop to the node's loop for the batch).
constexpr std::size_t send_batch_max = 16;
// The members' node ids: this plus members - rank (start_member).
constexpr std::uint64_t bench_node_id_base = 0x6265'6e63'6800'0000;  // "bench"

struct Member {
    std::unique_ptr<Node> node;
    std::optional<Process> process;
};

// --variant: an order, and whether the group is on an IP multicast address ("<order>-ipmc").
struct Variant {
    Order order = Order::fifo;
    GroupAddress address;
};

Result<Variant> parse_variant(std::string_view text) {
    Variant v;
    constexpr std::string_view ipmc = "-ipmc";
    if (text.ends_with(ipmc)) {
        text.remove_suffix(ipmc.size());
        v.address.kind = GroupAddress::Kind::multicast;  // Empty group: the server picks.
    }
    HERALD_TRY(v.order, parse_order(text));
    return v;
}

Result<Member> start_member(const PeerArgs& args, const Variant& variant) {
    NodeOptions options;
    options.listen = "udp://" + args.host + ":0";
    options.faults_from_env = false;
    // Node ids by rank, descending: a view lists its members by node id (docs/groups.md), so
    // rank 0 (the paced sender) is always the view's last member and never the sequencer
    // (docs/ordering.md O17), as for n - 1 of n senders. With ids derived from the random port
    // the paced sequencer row measured one hop in the runs where rank 0 drew the lowest id and
    // two in the others.
    options.id = NodeId{bench_node_id_base + (args.members - args.rank)};
    if (args.rank == 0) {
        options.data_dir = args.dir + "/group-server";
        options.groups.server = true;
    } else {
        options.groups.server_url = args.endpoint;
    }
    Member member;
    HERALD_TRY(member.node, Node::start(options));
    if (args.rank == 0) {
        HERALD_TRY(member.node->create_group(group_name, false, variant.order, variant.address));
    }
    HERALD_TRY(auto process, member.node->spawn());
    member.process.emplace(std::move(process));
    return member;
}

// "peers <url> <url> ...": every member's node, by rank; connects to each other one, as the
// group's packets go node to node.
Status connect_peers(Member& member, const std::string& line) {
    std::istringstream words(line);
    for (std::string url; words >> url;) {
        if (url == member.node->listen_url()) continue;
        HERALD_TRY(member.node->connect(url));
    }
    return {};
}

// Joins the group ("member" on stdout once the group server answered).
Status join(Member& member) {
    HERALD_TRY(member.process->join_group(group_name));
    std::fputs("member\n", stdout);
    std::fflush(stdout);
    return {};
}

// Waits until this member's ordering view holds every member (the views before it were
// flushed first).
Status wait_for_view(Member& member, std::uint32_t members) {
    const std::int64_t deadline = now_ns() + group_form_timeout_ms * 1'000'000;
    for (;;) {
        auto view = member.process->ordered_view(group_name);
        if (view && view->members.size() == members) return {};
        if (now_ns() >= deadline) {
            return fail(Errc::timeout, "the ordering view never held " + std::to_string(members) +
                                           " members: " +
                                           (view ? "view " + std::to_string(view->id) + " has " +
                                                       std::to_string(view->members.size())
                                                 : view.error().to_string()));
        }
        ::poll(nullptr, 0, 20);
    }
}

// Throughput: up to send_batch_max data messages in one ordered_multicast_many; the ones
// accepted count as sent (the rest are built again next time).
Status send_batch(Process& process, McastSender& sender, std::int64_t now) {
    static thread_local std::vector<std::vector<std::uint8_t>> bodies(send_batch_max);
    std::vector<ByteView> views;
    for (std::size_t k = 0; k < sender.data_left(send_batch_max); ++k) {
        auto body = sender.body(McastSender::Next::data, now, k);
        bodies[k].assign(body.begin(), body.end());
        views.emplace_back(bodies[k].data(), bodies[k].size());
    }
    HERALD_TRY(auto accepted, process.ordered_multicast_many(group_name, views, push_back_wait));
    for (std::size_t k = 0; k < accepted; ++k) sender.sent(McastSender::Next::data);
    return {};
}

// One thread (a Process is used by one thread at a time): send while something is due and the
// ordering engine takes it, and hand over the deliveries queued in between.
Status run_group(const PeerArgs& args, Member& member) {
    Process& process = *member.process;
    HERALD_TRY(int notify, process.notify_fd());
    const std::int64_t start = now_ns();
    McastSender sender(args, start);
    McastMeter meter(args);
    std::uint64_t pushed_back = 0;
    Status decoded;
    auto deliver = [&](Envelope&& envelope) {
        if (!envelope.ordered) return;  // Views.
        auto message = decode_group_message(envelope);
        if (!message) {
            decoded = fail(message.error());
            return;
        }
        meter.on_deliver(message->payload, now_ns());
    };
    const std::int64_t deadline =
        start + (args.warmup_ms + args.duration_ms + group_drain_timeout_ms) * 1'000'000;
    while (!meter.complete() && now_ns() < deadline) {
        HERALD_TRY(decoded);
        const std::int64_t now = now_ns();
        const auto next = sender.next(now);
        if (next == McastSender::Next::data && args.pattern == Pattern::mcast) {
            auto sent = send_batch(process, sender, now);
            if (!sent && sent.error().code != Errc::timeout) return fail(sent.error());
            if (!sent) ++pushed_back;  // The send window (64 unacknowledged) was full for 1 ms.
            process.dispatch(deliver, dispatch_max);
            continue;
        }
        if (next == McastSender::Next::data || next == McastSender::Next::end) {
            auto body = sender.body(next, now);
            auto sent = process.ordered_multicast(group_name, ByteView(body), push_back_wait);
            if (sent) {
                sender.sent(next);
            } else if (sent.error().code == Errc::timeout) {
                ++pushed_back;  // The send window (64 unacknowledged) was full for 1 ms.
            } else {
                return fail(sent.error());
            }
            process.dispatch(deliver, dispatch_max);
            continue;
        }
        pollfd fd{notify, POLLIN, 0};
        poll_for(std::span(&fd, 1), sender.wait_ns(now));
        process.dispatch(deliver, dispatch_max);
    }
    HERALD_TRY(meter.write_samples(samples_path(args.dir, args.rank)));
    Fields fields = meter.fields();
    fields.emplace_back("pushed_back", std::to_string(pushed_back));
    announce_result(fields);
    return {};
}

Status run(const PeerArgs& args) {
    if (args.pattern != Pattern::mcast && args.pattern != Pattern::paced) {
        return fail(Errc::invalid_argument, "bench-herald-group: --pattern must be mcast or paced");
    }
    if (args.dir.empty()) return fail(Errc::invalid_argument, "--dir is required");
    if (args.rank > 0 && args.endpoint.empty()) {
        return fail(Errc::invalid_argument, "rank > 0 needs --endpoint (the group server's URL)");
    }
    HERALD_TRY(Variant variant, parse_variant(args.variant));
    HERALD_TRY(auto member, start_member(args, variant));
    announce_ready(member.node->listen_url());
    HERALD_TRY(auto peers, read_command("peers", now_ns() + group_form_timeout_ms * 1'000'000));
    HERALD_TRY(connect_peers(member, peers));
    HERALD_TRY(read_command("join", now_ns() + group_form_timeout_ms * 1'000'000));
    HERALD_TRY(join(member));
    HERALD_TRY(wait_for_view(member, args.members));
    std::fputs("joined\n", stdout);
    std::fflush(stdout);
    HERALD_TRY(read_command("go", now_ns() + group_form_timeout_ms * 1'000'000));
    HERALD_TRY(run_group(args, member));
    // The node keeps acknowledging and retransmitting for the others until every member is
    // done (the driver closes stdin then).
    linger_until_stdin_closed(group_drain_timeout_ms);
    return {};
}

}  // namespace
}  // namespace herald::bench

int main(int argc, char** argv) {
    return herald::bench::peer_main("bench-herald-group", argc, argv, herald::bench::run);
}

// node_group_helper: one node of node_group_netns_test, run inside a network namespace (ip
// netns exec). Usage:
//   node_group_helper member|sender multicast|broadcast <listen-url> <address-url> <peers>
//                     <timeout-ms>
// A member joins the group (multicast) or listens on the broadcast address, prints "ready",
// and waits until it has answered a hello that came to that address; it prints "answered" and
// the group datagrams it received. A sender pings the address (one hello datagram, repeated
// until a reply), prints "reply", then waits until <peers> nodes answered (each reply teaches
// its peer table one node) and prints "peers <n>". Exit 0 on success, 1 on timeout, 2 on a
// bad argument or a failed start; nothing is ever sent to a unicast address of another node.
//   node_group_helper ordered fifo|sequencer <listen-url> <address-url> <url,url,url>
//                     <timeout-ms> <release-file>
// Ordered multicast over an IP multicast group (docs/ordering.md O38), through the public API:
// the first url's node hosts the group server and creates the group with that address; every
// node joins one member, waits for the ordering view of all, multicasts ordered_messages
// messages and takes every member's; it prints "delivered <n> fifo <ok|broken> order <hash>"
// and its counters, then waits for <release-file> (so that no node stops while another still
// needs its retransmissions) and exits 0 (1 on a timeout, 2 on an error).
#include <herald/herald.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "runtime/node.h"

namespace {

using namespace herald;
using namespace herald::runtime;

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return done();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

int fail_with(const std::string& what) {
    std::printf("error %s\n", what.c_str());
    std::fflush(stdout);
    return 2;
}

int run_member(runtime::Node& node, bool multicast, const Endpoint& address,
               std::chrono::milliseconds timeout) {
    if (multicast) {
        auto handle = node.add_group_address(address, GroupRole::member);
        if (!handle) return fail_with(handle.error().to_string());
    }
    std::printf("ready\n");
    std::fflush(stdout);
    if (!wait_for([&] { return node.counters().pings_answered >= 1; }, timeout)) return 1;
    std::printf("answered group_received=%llu\n",
                static_cast<unsigned long long>(node.counters().transport.group_received));
    std::fflush(stdout);
    return 0;
}

int run_sender(runtime::Node& node, bool multicast, const Endpoint& address, std::uint64_t peers,
               std::chrono::milliseconds timeout) {
    if (multicast) {
        auto handle = node.add_group_address(address, GroupRole::sender);
        if (!handle) return fail_with(handle.error().to_string());
    }
    auto reply = node.ping(address, Duration::milliseconds(timeout.count()));
    if (!reply) return fail_with("ping: " + reply.error().to_string());
    std::printf("reply %s\n", to_string(reply->endpoint).c_str());
    std::fflush(stdout);
    // peers_known counts this node too.
    const bool all = wait_for([&] { return node.counters().peers_known >= peers + 1; }, timeout);
    std::printf("peers %llu\n", static_cast<unsigned long long>(node.counters().peers_known - 1));
    std::fflush(stdout);
    return all ? 0 : 1;
}

constexpr int ordered_messages = 200;
constexpr const char* ordered_group = "ordered";

std::string server_dir() {
    return (std::filesystem::temp_directory_path() /
            ("herald-netns-server-" + std::to_string(::getpid())))
        .string();
}

std::vector<std::string> split_urls(const std::string& list) {
    std::vector<std::string> urls;
    std::stringstream words(list);
    for (std::string url; std::getline(words, url, ',');) urls.push_back(url);
    return urls;
}

// Starts this rank's node (rank 0: the group server, which creates the group), connects to
// the others and joins one member; nullptr after printing the error.
std::unique_ptr<herald::Node> start_ordered(const std::vector<std::string>& urls, std::size_t rank,
                                            herald::Order order, const std::string& address,
                                            std::chrono::milliseconds timeout) {
    herald::NodeOptions options;
    options.listen = urls[rank];
    options.faults_from_env = false;
    if (rank == 0) {
        options.data_dir = server_dir();
        options.groups.server = true;
    } else {
        options.groups.server_url = urls[0];
    }
    auto node = herald::Node::start(options);
    if (!node) {
        fail_with("start: " + node.error().to_string());
        return nullptr;
    }
    for (std::size_t i = 0; i < urls.size(); ++i) {
        if (i == rank) continue;
        if (!wait_for([&] { return (*node)->connect(urls[i]).has_value(); }, timeout)) {
            fail_with("connect " + urls[i]);
            return nullptr;
        }
    }
    if (rank == 0) {
        const herald::GroupAddress group{herald::GroupAddress::Kind::multicast, address};
        auto created = (*node)->create_group(ordered_group, false, order, group);
        if (!created) {
            fail_with("create: " + created.error().to_string());
            return nullptr;
        }
    }
    return std::move(*node);
}

// Takes `count` ordered data messages; checks FIFO per sender ("<rank>:<i>", i from 0) and
// hashes the whole sequence (FNV-1a), which total order makes equal at every member.
int take_ordered(herald::Process& process, std::size_t count, std::chrono::milliseconds timeout,
                 herald::Node& node) {
    std::vector<int> next(8, 0);
    bool fifo = true;
    std::uint64_t hash = 1469598103934665603ull;
    std::size_t taken = 0;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (taken < count && std::chrono::steady_clock::now() < deadline) {
        auto envelope = process.receive(std::chrono::milliseconds(100));
        if (!envelope || !envelope->ordered) continue;
        auto m = herald::decode_group_message(*envelope);
        if (!m || m->kind != herald::GroupMessage::Kind::data) continue;
        const std::string text(m->text());
        const auto colon = text.find(':');
        const auto sender = static_cast<std::size_t>(std::atoi(text.substr(0, colon).c_str()));
        const int i = std::atoi(text.substr(colon + 1).c_str());
        if (sender >= next.size() || next[sender] != i) fifo = false;
        if (sender < next.size()) next[sender] = i + 1;
        for (char c : text) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
        ++taken;
    }
    const auto stats = node.stats();
    std::printf("delivered %zu fifo %s order %016llx address_sends %llu datagrams %llu\n", taken,
                fifo ? "ok" : "broken", static_cast<unsigned long long>(hash),
                static_cast<unsigned long long>(stats.ordered_address_sends),
                static_cast<unsigned long long>(stats.group_datagrams));
    std::fflush(stdout);
    return taken == count ? 0 : 1;
}

// Prints this node's ordering counters: what a hang left behind (a failed run's output).
void print_ordered_counters(herald::Node& node) {
    const auto s = node.stats();
    std::printf(
        "node %s counters delivered %llu retransmits %llu address_sends %llu unclaimed %llu held "
        "%llu "
        "credit_dropped %llu credit_stalls %llu flushes %llu views %llu joined %llu "
        "address_errors %llu datagrams %llu fan_outs %llu suspicions %llu group_retransmits "
        "%llu\n",
        herald::to_string(node.id()).c_str(), static_cast<unsigned long long>(s.ordered_delivered),
        static_cast<unsigned long long>(s.ordered_retransmits),
        static_cast<unsigned long long>(s.ordered_address_sends),
        static_cast<unsigned long long>(s.ordered_unclaimed_dropped),
        static_cast<unsigned long long>(s.ordered_held),
        static_cast<unsigned long long>(s.ordered_credit_dropped),
        static_cast<unsigned long long>(s.ordered_credit_stalls),
        static_cast<unsigned long long>(s.ordered_flushes),
        static_cast<unsigned long long>(s.group_views_installed),
        static_cast<unsigned long long>(s.group_joined),
        static_cast<unsigned long long>(s.group_address_errors),
        static_cast<unsigned long long>(s.group_datagrams),
        static_cast<unsigned long long>(s.group_fan_outs),
        static_cast<unsigned long long>(s.group_suspicions),
        static_cast<unsigned long long>(s.group_retransmits));
    if (auto view = node.group_view(ordered_group)) {
        std::printf("group view %llu:", static_cast<unsigned long long>(view->id));
        for (const auto& pid : view->members) std::printf(" %s", to_string(pid).c_str());
        std::printf("\n");
    }
    std::fflush(stdout);
}

int run_ordered(char** argv) {
    auto order = herald::parse_order(argv[2]);
    if (!order) return fail_with(order.error().to_string());
    const std::vector<std::string> urls = split_urls(argv[5]);
    const auto rank = static_cast<std::size_t>(
        std::find(urls.begin(), urls.end(), std::string(argv[3])) - urls.begin());
    if (rank >= urls.size()) return fail_with("the listen url is not in the list");
    const std::chrono::milliseconds timeout(std::strtoll(argv[6], nullptr, 10));
    auto node = start_ordered(urls, rank, *order, argv[4], timeout);
    if (!node) return 2;
    auto process = node->spawn();
    if (!process) return fail_with("spawn: " + process.error().to_string());
    // The group exists once rank 0 created it; until then join fails not_found.
    if (!wait_for([&] { return process->join_group(ordered_group).has_value(); }, timeout)) {
        return fail_with("join timed out");
    }
    const bool formed = wait_for(
        [&] {
            auto v = process->ordered_view(ordered_group);
            return v && v->members.size() == urls.size();
        },
        timeout);
    if (!formed) {
        auto ordered = process->ordered_view(ordered_group);
        auto group = node->group_view(ordered_group);
        std::printf(
            "ordered view %s, group view %s\n",
            ordered
                ? (std::to_string(ordered->id) + " of " + std::to_string(ordered->members.size()))
                      .c_str()
                : ordered.error().to_string().c_str(),
            group ? (std::to_string(group->id) + " of " + std::to_string(group->members.size()))
                        .c_str()
                  : group.error().to_string().c_str());
        print_ordered_counters(*node);
        return fail_with("no ordering view of every member");
    }
    for (int i = 0; i < ordered_messages; ++i) {
        const std::string text = std::to_string(rank) + ":" + std::to_string(i);
        // The helper's whole timeout, not the call's 5 s default: under ASan in namespaces a
        // window stalled once for over 5 s (fresh-clone run of 2026-12-06, fifo).
        auto sent = process->ordered_multicast(ordered_group, std::string_view(text), timeout);
        if (!sent) {
            print_ordered_counters(*node);
            return fail_with("ordered_multicast " + std::to_string(i) + ": " +
                             sent.error().to_string());
        }
    }
    int status = take_ordered(*process, urls.size() * ordered_messages, timeout, *node);
    if (status != 0) print_ordered_counters(*node);
    if (!wait_for([&] { return std::filesystem::exists(argv[7]); }, timeout)) status = 1;
    node->stop();
    if (rank == 0) std::filesystem::remove_all(server_dir());
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 8 && std::string(argv[1]) == "ordered") return run_ordered(argv);
    if (argc != 7) return fail_with("usage: see node_group_helper.cpp");
    const std::string mode = argv[1];
    const std::string kind = argv[2];
    auto address = parse_endpoint(argv[4]);
    if (!address) return fail_with(address.error().to_string());
    const bool multicast = kind == "multicast";
    NodeConfig config;
    config.listen_url = argv[3];
    config.faults_from_env = false;
    if (!multicast) config.transport.groups.broadcast = *address;
    auto node = runtime::Node::start(std::move(config));
    if (!node) return fail_with(node.error().to_string());
    const auto peers = std::strtoull(argv[5], nullptr, 10);
    const std::chrono::milliseconds timeout(std::strtoll(argv[6], nullptr, 10));
    const int status = mode == "member" ? run_member(**node, multicast, *address, timeout)
                                        : run_sender(**node, multicast, *address, peers, timeout);
    (*node)->stop();
    return status;
}

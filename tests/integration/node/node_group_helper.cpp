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
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

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

int run_member(Node& node, bool multicast, const Endpoint& address,
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

int run_sender(Node& node, bool multicast, const Endpoint& address, std::uint64_t peers,
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

}  // namespace

int main(int argc, char** argv) {
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
    auto node = Node::start(std::move(config));
    if (!node) return fail_with(node.error().to_string());
    const auto peers = std::strtoull(argv[5], nullptr, 10);
    const std::chrono::milliseconds timeout(std::strtoll(argv[6], nullptr, 10));
    const int status = mode == "member" ? run_member(**node, multicast, *address, timeout)
                                        : run_sender(**node, multicast, *address, peers, timeout);
    (*node)->stop();
    return status;
}

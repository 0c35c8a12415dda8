// ping_pong: two Herald processes bounce a message back and forth and print round-trip times.
//   ping_pong                     both sides in this program, on two nodes (UDP loopback)
//   ping_pong pong [URL]          the pong side: prints its address, answers forever
//   ping_pong ping ADDRESS [N]    the ping side: ADDRESS is what pong printed (pid@url)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "herald/herald.h"

using namespace std::chrono_literals;

namespace {

int fail(const char* what, const herald::Error& error) {
    std::fprintf(stderr, "%s: %s\n", what, error.to_string().c_str());
    return 1;
}

// Answers every message with "pong" until `limit` messages (0: forever).
int pong(herald::Process& self, int limit) {
    for (int n = 0; limit == 0 || n < limit; ++n) {
        auto ping = self.receive();  // Blocks until a message arrives (from anyone).
        if (!ping) return fail("receive", ping.error());
        auto sent = self.send(ping->source, std::string_view("pong"));
        if (!sent) return fail("send", sent.error());
    }
    return 0;
}

int ping(herald::Process& self, herald::Pid peer, int count) {
    for (int i = 1; i <= count; ++i) {
        const auto start = std::chrono::steady_clock::now();
        auto sent = self.send(peer, "ping " + std::to_string(i));  // Blocks until acked.
        if (!sent) return fail("send", sent.error());
        auto reply = self.receive_from(peer, 2s);  // Symmetric receive, with a timeout.
        if (!reply) return fail("receive", reply.error());
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::steady_clock::now() - start);
        std::printf("%s %d: %lld us\n", std::string(reply->text()).c_str(), i,
                    static_cast<long long>(us.count()));
    }
    std::printf("done: %d round trips\n", count);
    return 0;
}

int run_pong(const std::string& url) {
    herald::NodeOptions options;
    options.listen = url;
    auto node = herald::Node::start(options);
    if (!node) return fail("start", node.error());
    auto self = (*node)->spawn();
    if (!self) return fail("spawn", self.error());
    std::printf("pong at %s@%s\n", herald::to_string(self->pid()).c_str(),
                (*node)->listen_url().c_str());
    std::fflush(stdout);
    return pong(*self, 0);
}

int run_ping(const std::string& address, int count) {
    auto node = herald::Node::start();
    if (!node) return fail("start", node.error());
    auto peer = (*node)->resolve(address);  // Connects to the URL, checks the node id.
    if (!peer) return fail("resolve", peer.error());
    auto self = (*node)->spawn();
    if (!self) return fail("spawn", self.error());
    return ping(*self, *peer, count);
}

int run_both(int count) {
    auto pong_node = herald::Node::start();
    auto ping_node = herald::Node::start();
    if (!pong_node || !ping_node) return fail("start", (pong_node ? ping_node : pong_node).error());
    auto connected = (*ping_node)->connect((*pong_node)->listen_url());
    if (!connected) return fail("connect", connected.error());
    auto ponger = (*pong_node)->spawn();
    auto pinger = (*ping_node)->spawn();
    if (!ponger || !pinger) return fail("spawn", (ponger ? pinger : ponger).error());
    int pong_status = 0;
    std::thread pong_thread([&] { pong_status = pong(*ponger, count); });
    const int ping_status = ping(*pinger, ponger->pid(), count);
    pong_thread.join();
    return ping_status != 0 ? ping_status : pong_status;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string role = argc > 1 ? argv[1] : "";
    if (role.empty()) return run_both(10);
    if (role == "pong") return run_pong(argc > 2 ? argv[2] : "udp://127.0.0.1:0");
    if (role == "ping" && argc > 2) return run_ping(argv[2], argc > 3 ? std::atoi(argv[3]) : 10);
    std::fprintf(stderr, "usage: ping_pong [pong [URL] | ping ADDRESS [COUNT]]\n");
    return 2;
}

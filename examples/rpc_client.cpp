// rpc_client: calls the rpc_server example: one blocking call of each protocol, then a burst
// of asynchronous exactly-once calls with many outstanding at once, then the counter's value.
//   rpc_client ADDRESS [N]     ADDRESS is what rpc_server printed (pid@url); N adds (10)
// With HERALD_FAULTS=loss=0.3 the output is the same, only slower: lost requests and
// responses are resent, and a resent `add` is answered from the server's reply cache.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>
#include <vector>

#include "herald/herald.h"

using namespace std::chrono_literals;

namespace {

int fail(const char* what, const herald::Error& error) {
    std::fprintf(stderr, "rpc_client: %s: %s\n", what, error.to_string().c_str());
    return 1;
}

std::string text(const herald::Bytes& bytes) {
    return std::string(bytes.begin(), bytes.end());
}

herald::CallOptions options_for(herald::RpcProtocol protocol) {
    herald::CallOptions options;
    options.protocol = protocol;
    options.semantics = herald::RpcSemantics::exactly_once;
    options.retry_limit = 30;  // Patient enough for a lossy network or a restarting server.
    options.timeout = 30s;
    return options;
}

int run(herald::Process& self, herald::Pid server, int adds) {
    auto shout = self.call(server, "upper", std::string_view("hello, server"));
    if (!shout) return fail("upper", shout.error());
    std::printf("upper: %s\n", text(*shout).c_str());

    // One add with each of the lecture's protocols (2, 3 and 4 packets without loss).
    for (auto protocol :
         {herald::RpcProtocol::rr, herald::RpcProtocol::rra, herald::RpcProtocol::rara}) {
        auto value = self.call(server, "add", std::string_view(), options_for(protocol));
        if (!value) return fail("add", value.error());
        std::printf("add over %s: %s\n", std::string(herald::protocol_name(protocol)).c_str(),
                    text(*value).c_str());
    }
    // Then `adds` more, all outstanding at once; the futures complete in any order.
    std::vector<std::future<herald::Result<herald::Bytes>>> calls;
    for (int i = 0; i < adds; ++i) {
        calls.push_back(self.call_async(server, "add", {}, options_for(herald::RpcProtocol::rra)));
    }
    int ok = 0;
    for (auto& call : calls) {
        auto value = call.get();
        if (!value) return fail("add", value.error());
        ++ok;
    }
    auto total = self.call(server, "get", std::string_view());
    if (!total) return fail("get", total.error());
    std::printf("done: %d adds, counter at %s\n", ok + 3, text(*total).c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3) {
        std::fprintf(stderr, "usage: rpc_client ADDRESS [N]\n");
        return 2;
    }
    const int adds = argc == 3 ? std::atoi(argv[2]) : 10;
    auto node = herald::Node::start();
    if (!node) return fail("start", node.error());
    auto server = (*node)->resolve(argv[1], 5s);  // Connects; checks the node id.
    if (!server) return fail("resolve", server.error());
    auto self = (*node)->spawn();
    if (!self) return fail("spawn", self.error());
    return run(*self, *server, adds < 0 ? 0 : adds);
}

// Runs examples/rpc_server and examples/rpc_client as separate programs and checks what they
// print: every protocol answers, the counter counts each add once, and a server stopped with
// SIGTERM, and one killed with SIGKILL, continues from its data folder when restarted.
#include <signal.h>

#include "node_child.h"
#include "node_test_support.h"

namespace herald {
namespace {

using namespace herald::testing;

struct Server {
    Server(const std::string& data_dir, const std::string& listen)
        : child({HERALD_EXAMPLE_RPC_SERVER, data_dir, listen}, {"HERALD_FAULTS="}) {
        line = child.read_line(20s);
        const std::string prefix = "rpc_server at ";
        if (line && line->starts_with(prefix)) {
            address = line->substr(prefix.size(), line->find(' ', prefix.size()) - prefix.size());
            url = address.substr(address.find('@') + 1);
        }
    }
    Child child;
    std::optional<std::string> line;
    std::string address, url;
};

std::string run_client(const std::string& address, int adds) {
    Child client({HERALD_EXAMPLE_RPC_CLIENT, address, std::to_string(adds)}, {"HERALD_FAULTS="});
    EXPECT_EQ(client.wait_exit(60s), 0) << client.output();
    return client.output();
}

TEST(RpcExamples, ClientAndServerCountEachAddOnceAcrossRestarts) {
    TempDir dir;
    const std::string data = dir.path() + "/server";
    auto server = std::make_unique<Server>(data, "udp://127.0.0.1:0");
    ASSERT_FALSE(server->address.empty()) << server->child.output();
    EXPECT_NE(server->line->find("(counter at 0)"), std::string::npos) << *server->line;
    const std::string address = server->address;
    const std::string url = server->url;

    EXPECT_EQ(run_client(address, 5),
              "upper: HELLO, SERVER\n"
              "add over rr: 1\n"
              "add over rra: 2\n"
              "add over rara: 3\n"
              "done: 8 adds, counter at 8\n");

    // A clean stop (SIGTERM), then a restart on the same URL and folder: the same address, and
    // the counter where it was.
    ::kill(server->child.pid(), SIGTERM);
    EXPECT_EQ(server->child.wait_exit(20s), 0) << server->child.output();
    server = std::make_unique<Server>(data, url);
    ASSERT_EQ(server->address, address) << server->child.output();
    EXPECT_NE(server->line->find("(counter at 8)"), std::string::npos) << *server->line;
    EXPECT_NE(run_client(address, 2).find("done: 5 adds, counter at 13\n"), std::string::npos);

    // Killed without a chance to clean up: nothing acknowledged is lost.
    server->child.kill9();
    server = std::make_unique<Server>(data, url);
    ASSERT_EQ(server->address, address) << server->child.output();
    EXPECT_NE(server->line->find("(counter at 13)"), std::string::npos) << *server->line;
}

}  // namespace
}  // namespace herald

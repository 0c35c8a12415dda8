// Nodes with a cluster key (docs/security.md): two keyed nodes talk; a node without the key, or
// with another, is refused by both and every refused packet is counted; a key file open to
// others stops a node from starting.
#include <sys/stat.h>

#include <fstream>

#include "node_test_support.h"
#include "wire/auth.h"

namespace herald {
namespace {

using namespace herald::testing;

std::string new_key(const TempDir& dir, const std::string& name) {
    const std::string path = dir.path() + "/" + name;
    EXPECT_TRUE(wire::write_new_key_file(path).has_value());
    return path;
}

std::unique_ptr<Node> keyed(const std::string& key_file) {
    NodeOptions options;
    options.key_file = key_file;
    return start_node(options);
}

Status exchange(Node& from, Node& to) {
    auto sender = spawn(from);
    auto receiver = spawn(to);
    auto target = from.resolve(to_string(receiver.pid()) + "@" + to.listen_url(), 2s);
    if (!target) return fail(target.error());
    SendOptions options;
    options.mode = SendMode::delivered;
    options.timeout = 1500ms;
    HERALD_TRY(sender.send(*target, std::string_view("hi"), options));
    HERALD_TRY(auto got, receiver.receive(1s));
    if (got.text() != "hi") return fail(Errc::malformed, "wrong body");
    return {};
}

TEST(NodeAuth, KeyedNodesTalkAndRefuseNodesWithoutTheKey) {
    TempDir dir;
    const std::string cluster = new_key(dir, "cluster.key");
    auto a = keyed(cluster);
    auto b = keyed(cluster);
    ASSERT_TRUE(a && b);
    EXPECT_TRUE(a->stats().authenticated);
    EXPECT_TRUE(exchange(*a, *b)) << "two nodes with the key";

    auto stranger = start_node();  // No key.
    auto other = keyed(new_key(dir, "other.key"));
    ASSERT_TRUE(stranger && other);
    EXPECT_FALSE(stranger->stats().authenticated);
    for (Node* outsider : {stranger.get(), other.get()}) {
        for (Node* member : {a.get(), b.get()}) {
            const auto before = member->stats().auth_failed;
            EXPECT_FALSE(exchange(*outsider, *member)) << "an outsider got in";
            EXPECT_GT(member->stats().auth_failed, before) << "refused packets are counted";
        }
    }
    EXPECT_TRUE(exchange(*b, *a)) << "the members still talk";
}

TEST(NodeAuth, ARotationAcceptsBothKeysWhileItLasts) {
    TempDir dir;
    const std::string old_key = new_key(dir, "old.key");
    const std::string fresh = new_key(dir, "new.key");
    // The rotated node signs with the new key and still accepts the old one.
    const std::string both = dir.path() + "/both.key";
    {
        std::ifstream n(fresh), o(old_key);
        std::string line, text;
        while (std::getline(n, line)) text += line + "\n";
        while (std::getline(o, line)) text += line + "\n";
        std::ofstream(both) << text;
        ::chmod(both.c_str(), 0600);
    }
    auto rotated = keyed(both);
    auto old_node = keyed(old_key);
    auto new_node = keyed(fresh);
    ASSERT_TRUE(rotated && old_node && new_node);
    EXPECT_TRUE(exchange(*new_node, *rotated));
    EXPECT_FALSE(exchange(*rotated, *old_node)) << "the old-key node cannot read the new key";
}

TEST(NodeAuth, AKeyFileOpenToOthersStopsTheNodeFromStarting) {
    TempDir dir;
    const std::string path = new_key(dir, "k");
    ::chmod(path.c_str(), 0640);
    NodeOptions options;
    options.key_file = path;
    options.faults_from_env = false;
    auto node = Node::start(options);
    ASSERT_FALSE(node);
    EXPECT_EQ(node.error().code, Errc::invalid_argument);
    EXPECT_NE(node.error().detail.find("chmod 600"), std::string::npos) << node.error().detail;
}

}  // namespace
}  // namespace herald

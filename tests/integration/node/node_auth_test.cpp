// Nodes with a cluster key (docs/security.md): two keyed nodes talk; a node without the key, or
// with another, is refused by both and every refused packet is counted; a key file open to
// others stops a node from starting; a captured authentic packet sent again is dropped;
// encrypted packets are read by key holders only.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "node_test_support.h"
#include "wire/auth.h"
#include "wire/codec.h"

namespace herald {
namespace {

using namespace herald::testing;

std::string new_key(const TempDir& dir, const std::string& name) {
    const std::string path = dir.path() + "/" + name;
    EXPECT_TRUE(wire::write_new_key_file(path).has_value());
    return path;
}

std::unique_ptr<Node> keyed(const std::string& key_file, bool encrypt = false) {
    NodeOptions options;
    options.key_file = key_file;
    options.encrypt = encrypt;
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

// A UDP socket on loopback that sends raw datagrams to a node and reads what comes back.
class RawPeer {
public:
    explicit RawPeer(const std::string& url) {
        fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
        timeval wait{.tv_sec = 0, .tv_usec = 300'000};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
        to_.sin_family = AF_INET;
        to_.sin_port = htons(static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1))));
        to_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    ~RawPeer() { ::close(fd_); }
    RawPeer(const RawPeer&) = delete;
    RawPeer& operator=(const RawPeer&) = delete;

    void send(const Bytes& datagram) {
        ::sendto(fd_, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&to_),
                 sizeof to_);
    }
    // The kinds of the packets that arrive within 300 ms of silence.
    std::vector<wire::PacketKind> replies() {
        std::vector<wire::PacketKind> kinds;
        for (const Bytes& datagram : datagrams()) {
            auto packet = wire::decode(datagram);
            if (packet) kinds.push_back(packet->header.kind);
        }
        return kinds;
    }
    // The datagrams that arrive within 300 ms of silence, as they came.
    std::vector<Bytes> datagrams() {
        std::vector<Bytes> out;
        std::uint8_t buffer[65536];
        for (;;) {
            const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
            if (n <= 0) return out;
            out.emplace_back(buffer, buffer + n);
        }
    }

private:
    int fd_ = -1;
    sockaddr_in to_{};
};

// A hello (docs/direct.md) from a made-up node, sealed with `key` and packet number `number`.
Bytes sealed_hello(const wire::Authenticator& key, std::uint64_t number, bool encrypt = false) {
    wire::Packet hello;
    hello.header.kind = wire::PacketKind::hello;
    hello.header.source = Pid{NodeId{0xFEED}, 0};
    hello.header.source_incarnation = 7;
    hello.header.seq = number;  // A ping nonce.
    Bytes bytes(wire::encoded_size(hello));
    EXPECT_TRUE(wire::encode_into(hello, bytes).has_value());
    key.seal(bytes, number, encrypt);
    return bytes;
}

TEST(NodeAuth, ACapturedPacketSentAgainIsDroppedAsAReplay) {
    TempDir dir;
    const std::string cluster = new_key(dir, "cluster.key");
    auto node = keyed(cluster);
    ASSERT_TRUE(node);
    auto keys = wire::read_key_file(cluster);
    ASSERT_TRUE(keys);
    const wire::Authenticator key(*keys);
    RawPeer peer(node->listen_url());

    const Bytes first = sealed_hello(key, 5);
    peer.send(first);
    EXPECT_EQ(peer.replies(), std::vector{wire::PacketKind::hello_reply}) << "authentic: answered";
    EXPECT_EQ(node->stats().replays_dropped, 0u);
    peer.send(first);  // The same bytes again, as a captured packet would be.
    EXPECT_TRUE(peer.replies().empty()) << "a replay was answered";
    EXPECT_EQ(node->stats().replays_dropped, 1u);
    peer.send(sealed_hello(key, 3));  // Older but never used: packets may arrive out of order.
    EXPECT_EQ(peer.replies(), std::vector{wire::PacketKind::hello_reply});
    peer.send(sealed_hello(key, 3 + wire::ReplayWindow::bits + 10));
    EXPECT_EQ(peer.replies(), std::vector{wire::PacketKind::hello_reply});
    peer.send(sealed_hello(key, 4));  // Unused, but 4096 or more below the highest: too old.
    EXPECT_TRUE(peer.replies().empty());
    EXPECT_EQ(node->stats().replays_dropped, 2u);
    EXPECT_EQ(node->stats().auth_failed, 0u);
}

// docs/security.md, "Replays", across restarts: a keyed node with a data_dir keeps its replay
// floors when it stops; after the restart a packet captured before it is still a replay (and so
// is an older number it never saw), and the sender's next numbers are accepted.
TEST(NodeAuth, APacketCapturedBeforeARestartIsStillAReplayAfterIt) {
    TempDir dir;
    NodeOptions options;
    options.key_file = new_key(dir, "cluster.key");
    options.data_dir = dir.path() + "/data";
    auto keys = wire::read_key_file(options.key_file);
    ASSERT_TRUE(keys);
    const wire::Authenticator key(*keys);
    const Bytes first = sealed_hello(key, 5);
    {
        auto node = start_node(options);
        ASSERT_TRUE(node);
        EXPECT_EQ(node->stats().replay_floors_restored, 0u);
        RawPeer peer(node->listen_url());
        peer.send(first);
        EXPECT_EQ(peer.replies(), std::vector{wire::PacketKind::hello_reply});
        node->stop();  // Writes the floors.
    }
    auto node = start_node(options);
    ASSERT_TRUE(node);
    EXPECT_EQ(node->stats().replay_floors_restored, 1u);
    EXPECT_FALSE(node->stats().replay_record_bad);
    RawPeer peer(node->listen_url());
    peer.send(first);  // Captured before the restart.
    EXPECT_TRUE(peer.replies().empty()) << "a replay across the restart was answered";
    peer.send(sealed_hello(key, 4));  // Never sent, but below the floor.
    EXPECT_TRUE(peer.replies().empty());
    EXPECT_EQ(node->stats().replays_dropped, 2u);
    peer.send(sealed_hello(key, 6));
    EXPECT_EQ(peer.replies(), std::vector{wire::PacketKind::hello_reply});
}

// docs/security.md, "Encryption": an encrypting node and a node that only reads encryption
// talk both ways; what the encrypting node sends is encrypted; a node without the key cannot
// read it; encrypt without a key file is refused.
TEST(NodeAuth, EncryptedPacketsAreReadByKeyHoldersOnly) {
    TempDir dir;
    const std::string cluster = new_key(dir, "cluster.key");
    auto secret = keyed(cluster, /*encrypt=*/true);
    auto plain = keyed(cluster);
    ASSERT_TRUE(secret && plain);
    EXPECT_TRUE(secret->stats().encrypted);
    EXPECT_FALSE(plain->stats().encrypted);
    EXPECT_TRUE(exchange(*secret, *plain));
    EXPECT_TRUE(exchange(*plain, *secret));
    EXPECT_GT(plain->stats().decrypted, 0u);

    auto keys = wire::read_key_file(cluster);
    ASSERT_TRUE(keys);
    const wire::Authenticator key(*keys);
    RawPeer peer(secret->listen_url());
    peer.send(sealed_hello(key, 1, /*encrypt=*/true));
    const auto replies = peer.datagrams();
    ASSERT_EQ(replies.size(), 1u) << "an encrypted hello is answered";
    Bytes reply = replies.front();
    auto header = wire::peek_header(reply);
    ASSERT_TRUE(header);
    EXPECT_NE(header->flags & wire::flag::encrypted, 0) << "the reply is encrypted";
    ASSERT_TRUE(key.open(reply));
    auto opened = wire::decode(reply);
    ASSERT_TRUE(opened) << opened.error().to_string();
    EXPECT_EQ(opened->header.kind, wire::PacketKind::hello_reply);

    auto stranger = start_node();
    ASSERT_TRUE(stranger);
    RawPeer to_stranger(stranger->listen_url());
    const auto malformed = stranger->stats().malformed_dropped;
    to_stranger.send(sealed_hello(key, 2, true));
    EXPECT_TRUE(to_stranger.replies().empty()) << "a node without the key answered";
    EXPECT_EQ(stranger->stats().malformed_dropped, malformed + 1);

    NodeOptions no_key;
    no_key.encrypt = true;
    no_key.faults_from_env = false;
    auto refused = Node::start(no_key);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::invalid_argument);
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

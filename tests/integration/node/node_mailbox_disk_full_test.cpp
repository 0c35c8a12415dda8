// A persistent mailbox whose disk fills up (issue 14 item 4): the node's data_dir is a 1 MiB
// tmpfs this test mounts (root only; skipped with a message otherwise). Sends fail with
// storage_error once the store cannot commit, never with a crash, a hang or a silent loss:
// every send that returned ok is still there to receive.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "herald/herald.h"

namespace herald {
namespace {

using namespace std::chrono_literals;

struct SmallDisk {
    SmallDisk() {
        std::string pattern = (std::filesystem::temp_directory_path() / "herald-full-XXXXXX");
        if (::mkdtemp(pattern.data()) == nullptr) return;
        path = pattern;
        mounted = ::mount("tmpfs", path.c_str(), "tmpfs", 0, "size=1m") == 0;
    }
    ~SmallDisk() {
        if (mounted) ::umount2(path.c_str(), MNT_DETACH);
        std::filesystem::remove_all(path);
    }
    std::string path;
    bool mounted = false;
};

TEST(MailboxDiskFull, SendsFailWithStorageErrorAndWhatWasAcceptedStays) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a 1 MiB tmpfs (CI runs as root)";
    SmallDisk disk;
    if (!disk.mounted) GTEST_SKIP() << "mount -t tmpfs refused here (no CAP_SYS_ADMIN?)";
    NodeOptions options;
    options.data_dir = disk.path + "/data";
    options.faults_from_env = false;
    auto node = Node::start(options);
    ASSERT_TRUE(node) << node.error().to_string();
    MailboxOptions durable;
    durable.durability = Durability::persistent;
    durable.capacity_messages = 100'000;
    ASSERT_TRUE((*node)->create_mailbox("big", durable));
    auto p = (*node)->spawn();
    ASSERT_TRUE(p);
    auto box = p->open_mailbox((*node)->id(), "big");
    ASSERT_TRUE(box);
    const std::string body(4096, 'x');
    int accepted = 0;
    Status last;
    for (int i = 0; i < 2000 && last; ++i) {
        last = box->send(std::to_string(i) + body);
        if (last) ++accepted;
    }
    ASSERT_FALSE(last) << "1 MiB took 2000 messages of 4 KiB";
    EXPECT_EQ(last.error().code, Errc::storage_error) << last.error().to_string();
    EXPECT_GT(accepted, 10);
    EXPECT_FALSE((*node)->stats().store_healthy);
    // A small send may still fit; if it does not, it fails the same clear way.
    if (auto more = box->send("more"); !more) {
        EXPECT_EQ(more.error().code, Errc::storage_error);
    }
    for (int i = 0; i < accepted; ++i) {  // Every accepted message is still there, in order.
        auto m = box->receive(1s);
        ASSERT_TRUE(m) << "message " << i << ": " << m.error().to_string();
        EXPECT_TRUE(m->text().starts_with(std::to_string(i) + "x")) << i;
    }
}

}  // namespace
}  // namespace herald

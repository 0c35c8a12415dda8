// Packet authentication (wire::Authenticator) and key files: docs/security.md.
#include "wire/auth.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "wire/codec.h"

namespace herald::wire {
namespace {

AuthKey key_of(std::uint8_t fill) {
    AuthKey k{};
    k.fill(fill);
    return k;
}

Bytes encoded_packet() {
    Packet p;
    p.header.kind = PacketKind::data;
    p.header.source = Pid{NodeId{0xA}, 1};
    p.header.target = Pid{NodeId{0xB}, 2};
    p.header.source_incarnation = 3;
    p.header.seq = 9;
    p.extensions.push_back({ExtensionType::text, to_bytes("x")});
    p.body = to_bytes("hello");
    Bytes bytes(encoded_size(p));
    EXPECT_TRUE(encode_into(p, bytes).has_value());
    return bytes;
}

TEST(Auth, ASealedPacketVerifiesAndStillDecodes) {
    const Authenticator auth({key_of(1)});
    Bytes p = encoded_packet();
    EXPECT_FALSE(auth.verify(p));  // Not sealed yet.
    auth.seal(p, 0x0102030405060708);
    EXPECT_EQ(auth.verify(p), 0x0102030405060708u);
    EXPECT_EQ(p[92], 0x08) << "the packet number is little-endian at the tag's start";
    EXPECT_EQ(p[99], 0x01);
    auto decoded = decode(p);
    ASSERT_TRUE(decoded.has_value()) << decoded.error().to_string();
    EXPECT_NE(decoded->header.flags & flag::authenticated, 0);
    EXPECT_EQ(decoded->body, to_bytes("hello"));
}

TEST(Auth, AnyChangedByteOrAnotherKeyFailsVerification) {
    const Authenticator auth({key_of(1)});
    Bytes sealed = encoded_packet();
    auth.seal(sealed, 1);
    for (std::size_t i = 0; i < sealed.size(); ++i) {
        if (i >= 12 && i < 16) continue;  // The checksum is not covered by the tag.
        Bytes changed = sealed;
        changed[i] ^= 0x01;
        EXPECT_FALSE(auth.verify(changed)) << "byte " << i;
    }
    EXPECT_FALSE(Authenticator({key_of(2)}).verify(sealed));
}

TEST(Auth, DuringARotationBothKeysAreAcceptedAndTheFirstSigns) {
    const Authenticator old_only({key_of(1)});
    const Authenticator rotating({key_of(2), key_of(1)});
    Bytes from_old = encoded_packet();
    old_only.seal(from_old, 1);
    EXPECT_TRUE(rotating.verify(from_old));
    Bytes from_new = encoded_packet();
    rotating.seal(from_new, 1);
    EXPECT_FALSE(old_only.verify(from_new));
    EXPECT_TRUE(Authenticator({key_of(2)}).verify(from_new));
}

// Encryption (docs/security.md, "Encryption"): the header stays readable, everything after it
// is unreadable without the key, and open() gives back exactly the packet that was sealed.
TEST(Auth, AnEncryptedPacketHidesExtensionsAndBodyAndOpensToTheOriginal) {
    const Authenticator auth({key_of(1)});
    const Bytes plain = encoded_packet();
    Bytes p = plain;
    auth.seal(p, 7, /*encrypt=*/true);
    const std::size_t header = header_bytes;
    EXPECT_TRUE(std::equal(p.begin() + 16, p.begin() + 92, plain.begin() + 16))
        << "addresses, sequence numbers and lengths stay in clear";
    EXPECT_FALSE(std::equal(p.begin() + header, p.end(), plain.begin() + header));
    EXPECT_EQ(std::search(p.begin(), p.end(), plain.end() - 5, plain.end()), p.end())
        << "the body is not on the wire";
    EXPECT_TRUE(checksum_matches(p)) << "the checksum covers the bytes as sent";
    EXPECT_FALSE(auth.verify(p)) << "verify() does not take encrypted packets";

    Bytes opened = p;
    EXPECT_EQ(auth.open(opened), 7u);
    auto decoded = decode(opened);
    ASSERT_TRUE(decoded.has_value()) << decoded.error().to_string();
    EXPECT_EQ(decoded->body, to_bytes("hello"));
    EXPECT_EQ(decoded->extensions.at(0).value, to_bytes("x"));
    EXPECT_NE(decoded->header.flags & flag::encrypted, 0);

    Bytes same = plain;
    auth.seal(same, 8, true);
    EXPECT_FALSE(std::equal(same.begin() + header, same.end(), p.begin() + header))
        << "another packet number, another key stream";
}

TEST(Auth, AChangedEncryptedByteOrAnotherKeyFailsAndLeavesTheBytesAsTheyCame) {
    const Authenticator auth({key_of(1)});
    Bytes sealed = encoded_packet();
    auth.seal(sealed, 1, true);
    for (std::size_t i = 0; i < sealed.size(); ++i) {
        if (i >= 12 && i < 16) continue;  // The checksum is not covered by the tag.
        Bytes changed = sealed;
        changed[i] ^= 0x01;
        const Bytes as_came = changed;
        EXPECT_FALSE(auth.open(changed)) << "byte " << i;
        EXPECT_EQ(changed, as_came) << "byte " << i;
    }
    Bytes other = sealed;
    EXPECT_FALSE(Authenticator({key_of(2)}).open(other));
    EXPECT_EQ(other, sealed);
    Bytes rotated = sealed;  // A node in a rotation reads what the old key encrypted.
    EXPECT_EQ(Authenticator({key_of(2), key_of(1)}).open(rotated), 1u);
}

TEST(Auth, OpenTakesClearPacketsAsVerifyDoes) {
    const Authenticator auth({key_of(1)});
    Bytes p = encoded_packet();
    auth.seal(p, 4);
    const Bytes sealed = p;
    EXPECT_EQ(auth.open(p), 4u);
    EXPECT_EQ(p, sealed) << "a clear packet is not changed";
    Bytes unsealed = encoded_packet();
    EXPECT_FALSE(auth.open(unsealed));
}

TEST(ReplayWindow, EachNumberIsAcceptedOnceInAnyOrderWithinTheWindow) {
    using V = ReplayWindow::Verdict;
    ReplayWindow w;
    EXPECT_EQ(w.check(10), V::fresh);
    EXPECT_EQ(w.check(10), V::replay);
    EXPECT_EQ(w.check(7), V::fresh) << "late but unused";
    EXPECT_EQ(w.check(7), V::replay);
    EXPECT_EQ(w.check(11), V::fresh);
    EXPECT_EQ(w.check(9), V::fresh);
    const std::uint64_t far = 11 + ReplayWindow::bits;
    EXPECT_EQ(w.check(far), V::fresh);
    EXPECT_EQ(w.check(12), V::fresh) << "just inside the window";
    EXPECT_EQ(w.check(11), V::too_old) << "bits below the highest";
    EXPECT_EQ(w.check(far + 2 * ReplayWindow::bits), V::fresh) << "a jump clears the window";
    EXPECT_EQ(w.check(far + 2 * ReplayWindow::bits - 5), V::fresh);
    EXPECT_EQ(w.check(far + 2 * ReplayWindow::bits - 5), V::replay);
    EXPECT_EQ(w.check(far), V::too_old);
}

TEST(ReplayWindow, ANumberSeenOneWindowAgoDoesNotMaskTheSameSlotNow) {
    using V = ReplayWindow::Verdict;
    ReplayWindow w;
    EXPECT_EQ(w.check(5), V::fresh);
    // 5 + bits uses 5's slot: advancing must clear it, and then 5 is too old, not a replay.
    EXPECT_EQ(w.check(5 + ReplayWindow::bits - 1), V::fresh);
    EXPECT_EQ(w.check(5 + ReplayWindow::bits), V::fresh);
    EXPECT_EQ(w.check(5 + ReplayWindow::bits), V::replay);
    EXPECT_EQ(w.check(5), V::too_old);
}

TEST(ReplayGuard, SendersHaveTheirOwnWindowsAndTheLeastRecentIsForgotten) {
    using V = ReplayWindow::Verdict;
    ReplayGuard guard(2);
    EXPECT_EQ(guard.check(1, 1, 1), V::fresh);
    EXPECT_EQ(guard.check(2, 1, 1), V::fresh) << "another node";
    EXPECT_EQ(guard.check(1, 1, 1), V::replay);
    EXPECT_EQ(guard.check(3, 1, 1), V::fresh) << "replaces node 2, heard least recently";
    EXPECT_EQ(guard.senders(), 2u);
    EXPECT_EQ(guard.check(1, 1, 1), V::replay) << "node 1 is still remembered";
    EXPECT_EQ(guard.check(2, 1, 1), V::fresh) << "node 2 was forgotten";
    EXPECT_EQ(guard.check(1, 2, 1), V::fresh) << "a new incarnation starts a new window";
}

// docs/security.md "Replays": floors kept across a restart; every number up to a floor is
// refused after it, numbers above are fresh; the stored form round-trips and a bad one is
// refused with its reason.
TEST(ReplayGuard, FloorsRestoredAfterARestartRefuseEveryEarlierNumber) {
    using V = ReplayWindow::Verdict;
    ReplayGuard before;
    for (std::uint64_t n : {3u, 1u, 7u}) EXPECT_EQ(before.check(9, 4, n), V::fresh);
    EXPECT_EQ(before.check(8, 2, 20), V::fresh);
    const std::uint64_t changes = before.changes();
    EXPECT_EQ(before.check(9, 4, 5), V::fresh);  // Below the highest: no new floor.
    EXPECT_EQ(before.changes(), changes);
    const auto floors = before.floors();
    ASSERT_EQ(floors.size(), 2u);
    EXPECT_EQ(floors[1], (ReplayFloor{9, 4, 7}));
    const Bytes stored = encode_replay_floors(floors);
    auto read = decode_replay_floors(stored, 4096);
    ASSERT_TRUE(read) << read.error().to_string();
    EXPECT_EQ(*read, floors);

    ReplayGuard after;  // The restarted node.
    after.restore(*read);
    for (std::uint64_t n : {1u, 2u, 6u, 7u}) EXPECT_EQ(after.check(9, 4, n), V::replay) << n;
    EXPECT_EQ(after.check(8, 2, 20), V::replay);
    EXPECT_EQ(after.check(9, 4, 8), V::fresh);
    EXPECT_EQ(after.check(9, 5, 1), V::fresh) << "a new incarnation of the sender";

    EXPECT_FALSE(decode_replay_floors(Bytes{2, 0, 0, 0, 0}, 10));  // Version.
    Bytes cut = stored;
    cut.pop_back();
    EXPECT_FALSE(decode_replay_floors(cut, 10));    // Length.
    EXPECT_FALSE(decode_replay_floors(stored, 1));  // Count over the bound.
    EXPECT_FALSE(
        decode_replay_floors(encode_replay_floors(std::vector<ReplayFloor>{{1, 0, 5}}), 4));
}

class KeyFile : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (std::filesystem::temp_directory_path() / "herald-key-XXXXXX");
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir); }
    std::string write(const std::string& name, const std::string& text, mode_t mode = 0600) {
        const std::string path = dir + "/" + name;
        std::ofstream(path) << text;
        ::chmod(path.c_str(), mode);
        return path;
    }
    std::string dir;
};

TEST_F(KeyFile, KeygenWritesAReadableKeyWithMode600AndNeverOverwrites) {
    const std::string path = dir + "/k";
    ASSERT_TRUE(write_new_key_file(path).has_value());
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto keys = read_key_file(path);
    ASSERT_TRUE(keys.has_value()) << keys.error().to_string();
    EXPECT_EQ(keys->size(), 1u);
    EXPECT_EQ(write_new_key_file(path).error().code, Errc::already_exists);
    ASSERT_TRUE(write_new_key_file(dir + "/k2").has_value());
    EXPECT_NE(read_key_file(dir + "/k2")->front(), keys->front());  // Random, not fixed.
}

TEST_F(KeyFile, TwoKeysAndCommentsAreRead) {
    const std::string a(64, 'a'), b(64, 'B');
    auto keys = read_key_file(write("k", "# comment\n\n" + a + "\n" + b + "\n"));
    ASSERT_TRUE(keys.has_value()) << keys.error().to_string();
    ASSERT_EQ(keys->size(), 2u);
    EXPECT_EQ(keys->at(0), key_of(0xAA));
    EXPECT_EQ(keys->at(1), key_of(0xBB));
}

TEST_F(KeyFile, ABadFileIsRefusedWithItsReason) {
    const std::string a(64, 'a');
    const auto reason = [](const Result<std::vector<AuthKey>>& r) {
        EXPECT_FALSE(r.has_value());
        if (r) return std::string();
        EXPECT_EQ(r.error().code, Errc::invalid_argument);
        return r.error().detail;
    };
    EXPECT_NE(reason(read_key_file(write("open", a + "\n", 0644))).find("chmod 600"),
              std::string::npos);
    EXPECT_NE(reason(read_key_file(write("short", "abcd\n"))).find("64 hex digits"),
              std::string::npos);
    EXPECT_NE(reason(read_key_file(write("nothex", std::string(64, 'z') + "\n"))).find("not hex"),
              std::string::npos);
    EXPECT_NE(reason(read_key_file(write("three", a + "\n" + a + "\n" + a + "\n"))).find("two"),
              std::string::npos);
    EXPECT_NE(reason(read_key_file(write("empty", "# nothing\n"))).find("no key"),
              std::string::npos);
    EXPECT_FALSE(reason(read_key_file(dir + "/missing")).empty());
    EXPECT_NE(reason(read_key_file(dir)).find("regular file"), std::string::npos);
}

}  // namespace
}  // namespace herald::wire

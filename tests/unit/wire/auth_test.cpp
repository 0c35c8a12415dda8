// Packet authentication (wire::Authenticator) and key files: docs/security.md.
#include "wire/auth.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

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
    auth.seal(p);
    EXPECT_TRUE(auth.verify(p));
    auto decoded = decode(p);
    ASSERT_TRUE(decoded.has_value()) << decoded.error().to_string();
    EXPECT_NE(decoded->header.flags & flag::authenticated, 0);
    EXPECT_EQ(decoded->body, to_bytes("hello"));
}

TEST(Auth, AnyChangedByteOrAnotherKeyFailsVerification) {
    const Authenticator auth({key_of(1)});
    Bytes sealed = encoded_packet();
    auth.seal(sealed);
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
    old_only.seal(from_old);
    EXPECT_TRUE(rotating.verify(from_old));
    Bytes from_new = encoded_packet();
    rotating.seal(from_new);
    EXPECT_FALSE(old_only.verify(from_new));
    EXPECT_TRUE(Authenticator({key_of(2)}).verify(from_new));
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

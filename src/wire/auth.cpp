// Packet authentication with a cluster key and the key files. Layer: wire.
#include "wire/auth.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/assert.h"
#include "wire/codec.h"
#include "wire/crc32c.h"
#include "wire/packet.h"

namespace herald::wire {
namespace {

constexpr std::size_t flags_at = 4;
constexpr std::size_t checksum_at = 12;
constexpr std::size_t tag_at = 92;
static_assert(checksum_at == checksum_offset);
static_assert(tag_at + auth_tag_bytes == header_bytes);

// The tag covers every byte of the packet with the checksum and the tag itself read as zero.
std::array<std::uint8_t, auth_tag_bytes> tag_of(const AuthKey& key, ByteView p) {
    static constexpr std::uint8_t zeros[auth_tag_bytes] = {};
    crypto_generichash_state state;
    crypto_generichash_init(&state, key.data(), key.size(), auth_tag_bytes);
    crypto_generichash_update(&state, p.data(), checksum_at);
    crypto_generichash_update(&state, zeros, 4);
    crypto_generichash_update(&state, p.data() + checksum_at + 4, tag_at - checksum_at - 4);
    crypto_generichash_update(&state, zeros, auth_tag_bytes);
    crypto_generichash_update(&state, p.data() + header_bytes, p.size() - header_bytes);
    std::array<std::uint8_t, auth_tag_bytes> tag{};
    crypto_generichash_final(&state, tag.data(), tag.size());
    return tag;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

Authenticator::Authenticator(std::vector<AuthKey> keys) : keys_(std::move(keys)) {
    HERALD_ASSERT(!keys_.empty() && keys_.size() <= 2);
    HERALD_ASSERT(sodium_init() >= 0);
}

void Authenticator::seal(std::span<std::uint8_t> packet) const {
    HERALD_ASSERT(packet.size() >= header_bytes);
    // Flags are a little-endian u16 (docs/wire.md): bit 15 is in the second byte.
    packet[flags_at + 1] =
        static_cast<std::uint8_t>(packet[flags_at + 1] | (flag::authenticated >> 8));
    const auto tag = tag_of(keys_.front(), packet);
    std::memcpy(packet.data() + tag_at, tag.data(), tag.size());
    std::memset(packet.data() + checksum_at, 0, 4);
    const std::uint32_t crc = crc32c(ByteView(packet.data(), packet.size()));
    for (std::size_t i = 0; i < 4; ++i) {  // Little-endian, as every header field.
        packet[checksum_at + i] = static_cast<std::uint8_t>(crc >> (8 * i));
    }
}

bool Authenticator::verify(ByteView packet) const {
    if (packet.size() < header_bytes) return false;
    if ((packet[flags_at + 1] & (flag::authenticated >> 8)) == 0) return false;
    for (const auto& key : keys_) {
        const auto tag = tag_of(key, packet);
        if (sodium_memcmp(tag.data(), packet.data() + tag_at, tag.size()) == 0) return true;
    }
    return false;
}

Result<std::vector<AuthKey>> read_key_file(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return fail(Errc::invalid_argument, "key file " + path + ": " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return fail(Errc::invalid_argument, "key file " + path + ": not a regular file");
    }
    if ((st.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
        return fail(
            Errc::invalid_argument,
            "key file " + path + " is open to group or others (mode " + mode + "): chmod 600 it");
    }
    std::ifstream in(path);
    if (!in) return fail(Errc::invalid_argument, "key file " + path + ": cannot be read");
    std::vector<AuthKey> keys;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        if (line.empty() || line.front() == '#') continue;
        const std::string where = "key file " + path + " line " + std::to_string(number);
        if (line.size() != 2 * auth_key_bytes) {
            return fail(Errc::invalid_argument, where + ": want 64 hex digits (herald keygen)");
        }
        AuthKey key{};
        for (std::size_t i = 0; i < key.size(); ++i) {
            const int high = hex_digit(line[2 * i]);
            const int low = hex_digit(line[2 * i + 1]);
            if (high < 0 || low < 0) return fail(Errc::invalid_argument, where + ": not hex");
            key[i] = static_cast<std::uint8_t>(high * 16 + low);
        }
        if (keys.size() == 2) {
            return fail(Errc::invalid_argument, where + ": at most two keys (current, previous)");
        }
        keys.push_back(key);
    }
    if (keys.empty()) return fail(Errc::invalid_argument, "key file " + path + ": no key");
    return keys;
}

Status write_new_key_file(const std::string& path) {
    if (sodium_init() < 0) return fail(Errc::io_error, "libsodium did not initialise");
    AuthKey key{};
    randombytes_buf(key.data(), key.size());
    std::string text = "# Herald cluster key (docs/security.md). Keep it secret: mode 600.\n";
    static constexpr char digits[] = "0123456789abcdef";
    for (auto b : key) {
        text.push_back(digits[b >> 4]);
        text.push_back(digits[b & 15]);
    }
    text.push_back('\n');
    sodium_memzero(key.data(), key.size());
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        const Errc code = errno == EEXIST ? Errc::already_exists : Errc::io_error;
        return fail(code, "key file " + path + ": " + std::strerror(errno));
    }
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    const bool synced = ::fsync(fd) == 0;
    ::close(fd);
    sodium_memzero(text.data(), text.size());
    if (!written || !synced) {
        ::unlink(path.c_str());
        return fail(Errc::io_error, "key file " + path + ": write failed");
    }
    return {};
}

}  // namespace herald::wire

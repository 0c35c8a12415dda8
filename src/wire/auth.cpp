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
#include "core/memory.h"
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

constexpr std::size_t mac_at = tag_at + auth_number_bytes;
constexpr std::size_t source_node_at = 16;

// The MAC covers every byte of the packet, the packet number included, with the checksum and
// the MAC itself read as zero: the first 8 bytes of a keyed BLAKE2b-128.
std::array<std::uint8_t, auth_mac_bytes> mac_of(const AuthKey& key, ByteView p) {
    static constexpr std::uint8_t zeros[auth_tag_bytes] = {};
    crypto_generichash_state state;
    crypto_generichash_init(&state, key.data(), key.size(), auth_tag_bytes);
    crypto_generichash_update(&state, p.data(), checksum_at);
    crypto_generichash_update(&state, zeros, 4);
    crypto_generichash_update(&state, p.data() + checksum_at + 4, mac_at - checksum_at - 4);
    crypto_generichash_update(&state, zeros, auth_mac_bytes);
    crypto_generichash_update(&state, p.data() + header_bytes, p.size() - header_bytes);
    std::array<std::uint8_t, auth_tag_bytes> full{};
    crypto_generichash_final(&state, full.data(), full.size());
    std::array<std::uint8_t, auth_mac_bytes> mac{};
    std::memcpy(mac.data(), full.data(), mac.size());
    return mac;
}

// The encryption key of one cluster key (docs/security.md, "Encryption").
AuthKey encryption_key(const AuthKey& key) {
    static constexpr std::string_view label = "herald body encryption v1";
    AuthKey out{};
    crypto_generichash(out.data(), out.size(), reinterpret_cast<const std::uint8_t*>(label.data()),
                       label.size(), key.data(), key.size());
    return out;
}

// XORs everything after the fixed header with the XChaCha20 key stream of nonce (packet number
// 8 bytes, MAC 8 bytes, source node 8 bytes: bytes 92-107 and 16-23 of the header).
void crypt_payload(const AuthKey& enc, std::span<std::uint8_t> p) {
    static_assert(crypto_stream_xchacha20_NONCEBYTES == 24);
    std::array<std::uint8_t, crypto_stream_xchacha20_NONCEBYTES> nonce{};
    std::memcpy(nonce.data(), p.data() + tag_at, auth_tag_bytes);
    std::memcpy(nonce.data() + auth_tag_bytes, p.data() + source_node_at, 8);
    std::uint8_t* payload = p.data() + header_bytes;
    const std::size_t size = p.size() - header_bytes;
    crypto_stream_xchacha20_xor(payload, payload, size, nonce.data(), enc.data());
}

void write_checksum(std::span<std::uint8_t> packet) {
    std::memset(packet.data() + checksum_at, 0, 4);
    const std::uint32_t crc = crc32c(ByteView(packet.data(), packet.size()));
    for (std::size_t i = 0; i < 4; ++i) {  // Little-endian, as every header field.
        packet[checksum_at + i] = static_cast<std::uint8_t>(crc >> (8 * i));
    }
}

std::uint64_t number_of(ByteView packet) {
    std::uint64_t number = 0;
    for (std::size_t i = 0; i < auth_number_bytes; ++i) {
        number |= std::uint64_t{packet[tag_at + i]} << (8 * i);
    }
    return number;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::size_t ReplayGuard::memory_bytes() const {
    using Value = std::pair<const std::pair<std::uint64_t, std::uint32_t>, Entry>;
    return windows_.size() * memory::map_node(sizeof(Value));
}

std::uint64_t keyed_hash(const HashKey& key, ByteView message) {
    static_assert(crypto_shorthash_KEYBYTES == hash_key_bytes);
    static_assert(crypto_shorthash_BYTES == 8);
    std::array<std::uint8_t, 8> out{};
    crypto_shorthash(out.data(), message.data(), message.size(), key.data());
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < out.size(); ++i) value |= std::uint64_t{out[i]} << (8 * i);
    return value;
}

HashKey random_hash_key() {
    HERALD_ASSERT(sodium_init() >= 0);
    HashKey key{};
    randombytes_buf(key.data(), key.size());
    return key;
}

Authenticator::Authenticator(std::vector<AuthKey> keys) {
    HERALD_ASSERT(!keys.empty() && keys.size() <= 2);
    HERALD_ASSERT(sodium_init() >= 0);
    for (const AuthKey& key : keys) keys_.push_back(Keys{key, encryption_key(key)});
}

void Authenticator::seal(std::span<std::uint8_t> packet, std::uint64_t number, bool encrypt) const {
    HERALD_ASSERT(packet.size() >= header_bytes);
    HERALD_ASSERT(number > 0);
    // Flags are a little-endian u16 (docs/wire.md): bits 14 and 15 are in the second byte.
    const std::uint16_t set = encrypt ? flag::authenticated | flag::encrypted : flag::authenticated;
    packet[flags_at + 1] = static_cast<std::uint8_t>(packet[flags_at + 1] | (set >> 8));
    for (std::size_t i = 0; i < auth_number_bytes; ++i) {
        packet[tag_at + i] = static_cast<std::uint8_t>(number >> (8 * i));
    }
    const auto mac = mac_of(keys_.front().mac, packet);
    std::memcpy(packet.data() + mac_at, mac.data(), mac.size());
    if (encrypt) crypt_payload(keys_.front().enc, packet);
    write_checksum(packet);
}

std::optional<std::uint64_t> Authenticator::verify(ByteView packet) const {
    if (packet.size() < header_bytes) return std::nullopt;
    if ((packet[flags_at + 1] & (flag::authenticated >> 8)) == 0) return std::nullopt;
    if ((packet[flags_at + 1] & (flag::encrypted >> 8)) != 0) return std::nullopt;
    const std::uint64_t number = number_of(packet);
    if (number == 0) return std::nullopt;
    for (const auto& key : keys_) {
        const auto mac = mac_of(key.mac, packet);
        if (sodium_memcmp(mac.data(), packet.data() + mac_at, mac.size()) == 0) return number;
    }
    return std::nullopt;
}

bool Authenticator::encrypted(ByteView packet) {
    return packet.size() >= header_bytes && (packet[flags_at + 1] & (flag::encrypted >> 8)) != 0;
}

std::optional<std::uint64_t> Authenticator::open(std::span<std::uint8_t> packet) const {
    if (packet.size() < header_bytes) return std::nullopt;
    if ((packet[flags_at + 1] & (flag::encrypted >> 8)) == 0) return verify(packet);
    if ((packet[flags_at + 1] & (flag::authenticated >> 8)) == 0) return std::nullopt;
    const std::uint64_t number = number_of(packet);
    if (number == 0) return std::nullopt;
    for (const auto& key : keys_) {
        crypt_payload(key.enc, packet);
        const auto mac = mac_of(key.mac, packet);
        if (sodium_memcmp(mac.data(), packet.data() + mac_at, mac.size()) == 0) {
            write_checksum(packet);
            return number;
        }
        crypt_payload(key.enc, packet);  // XOR again: the bytes as they came.
    }
    return std::nullopt;
}

ReplayWindow::Verdict ReplayWindow::check(std::uint64_t number) {
    HERALD_ASSERT(number > 0);
    const auto bit = [](std::uint64_t n) { return std::uint64_t{1} << (n % 64); };
    const auto word = [](std::uint64_t n) { return static_cast<std::size_t>((n % bits) / 64); };
    if (number > highest_) {
        if (number - highest_ >= bits) {
            seen_.fill(0);
        } else {
            for (std::uint64_t n = highest_ + 1; n < number; ++n) seen_[word(n)] &= ~bit(n);
        }
        highest_ = number;
        seen_[word(number)] |= bit(number);
        return Verdict::fresh;
    }
    if (highest_ - number >= bits) return Verdict::too_old;
    if ((seen_[word(number)] & bit(number)) != 0) return Verdict::replay;
    seen_[word(number)] |= bit(number);
    return Verdict::fresh;
}

ReplayWindow ReplayWindow::seen_through(std::uint64_t highest) {
    ReplayWindow w;
    w.highest_ = highest;
    w.seen_.fill(~std::uint64_t{0});
    return w;
}

std::vector<ReplayFloor> ReplayGuard::floors() const {
    std::vector<ReplayFloor> out;
    out.reserve(windows_.size());
    for (const auto& [key, entry] : windows_) {
        if (entry.window.highest() > 0) {
            out.push_back({key.first, key.second, entry.window.highest()});
        }
    }
    return out;
}

void ReplayGuard::restore(std::span<const ReplayFloor> floors) {
    for (const auto& f : floors) {
        const auto key = std::pair(f.node, f.incarnation);
        auto it = windows_.find(key);
        if (it != windows_.end()) {
            if (it->second.window.highest() < f.highest) {
                it->second.window = ReplayWindow::seen_through(f.highest);
            }
            continue;
        }
        if (windows_.size() >= senders_max_) continue;
        windows_.emplace(key, Entry{ReplayWindow::seen_through(f.highest), ++clock_});
    }
}

ReplayWindow::Verdict ReplayGuard::check(std::uint64_t node, std::uint32_t incarnation,
                                         std::uint64_t number) {
    const auto key = std::pair(node, incarnation);
    auto it = windows_.find(key);
    if (it == windows_.end()) {
        if (windows_.size() >= senders_max_) {
            auto oldest = windows_.begin();
            for (auto i = windows_.begin(); i != windows_.end(); ++i) {
                if (i->second.used < oldest->second.used) oldest = i;
            }
            windows_.erase(oldest);
        }
        it = windows_.emplace(key, Entry{}).first;
    }
    it->second.used = ++clock_;
    if (number > it->second.window.highest()) ++changes_;
    return it->second.window.check(number);
}

namespace {
constexpr std::size_t floor_bytes = 8 + 4 + 8;

void put_le(Bytes& out, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

std::uint64_t get_le(ByteView in, std::size_t at, int bytes) {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) {
        v |= std::uint64_t{in[at + static_cast<std::size_t>(i)]} << (8 * i);
    }
    return v;
}
}  // namespace

Bytes encode_replay_floors(std::span<const ReplayFloor> floors) {
    Bytes out;
    out.reserve(5 + floors.size() * floor_bytes);
    out.push_back(1);
    put_le(out, floors.size(), 4);
    for (const auto& f : floors) {
        put_le(out, f.node, 8);
        put_le(out, f.incarnation, 4);
        put_le(out, f.highest, 8);
    }
    return out;
}

Result<std::vector<ReplayFloor>> decode_replay_floors(ByteView bytes, std::size_t count_max) {
    if (bytes.size() < 5 || bytes[0] != 1) {
        return fail(Errc::malformed, "replay floors: not version 1");
    }
    const std::uint64_t count = get_le(bytes, 1, 4);
    if (count > count_max) {
        return fail(Errc::malformed, "replay floors: " + std::to_string(count) + " over " +
                                         std::to_string(count_max));
    }
    if (bytes.size() != 5 + count * floor_bytes) {
        return fail(Errc::malformed, "replay floors: length does not match the count");
    }
    std::vector<ReplayFloor> out;
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t at = 5 + i * floor_bytes;
        ReplayFloor f{get_le(bytes, at, 8), static_cast<std::uint32_t>(get_le(bytes, at + 8, 4)),
                      get_le(bytes, at + 12, 8)};
        if (f.node == 0 || f.incarnation == 0 || f.highest == 0) {
            return fail(Errc::malformed, "replay floors: a zero node, incarnation or number");
        }
        out.push_back(f);
    }
    return out;
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

// Packet authentication with a cluster key (docs/security.md): a keyed BLAKE2b tag in the
// header's auth_tag slot, and the key files that hold the keys. Layer: wire.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"

namespace herald::wire {

inline constexpr std::size_t auth_key_bytes = 32;
inline constexpr std::size_t auth_tag_bytes = 16;
// The tag slot holds the packet number (u64, little-endian) and then the first 8 bytes of the
// keyed BLAKE2b of the packet (docs/security.md, "The tag").
inline constexpr std::size_t auth_number_bytes = 8;
inline constexpr std::size_t auth_mac_bytes = auth_tag_bytes - auth_number_bytes;
using AuthKey = std::array<std::uint8_t, auth_key_bytes>;

// A node's cluster keys: the first signs what the node sends, every one verifies what it
// receives (two during a key rotation). Immutable after construction; safe to share.
class Authenticator {
public:
    // 1 or 2 keys (asserted).
    explicit Authenticator(std::vector<AuthKey> keys);

    // Sets flag::authenticated, the packet number (> 0, never repeated by one sender
    // incarnation) and the MAC of one encoded packet (header, extensions, body; the packet's own
    // bytes, not a whole datagram), then its checksum. With `encrypt`, also sets
    // flag::encrypted and encrypts everything after the fixed header in place (XChaCha20; the
    // MAC is computed over the plaintext first and is part of the nonce: docs/security.md,
    // "Encryption").
    void seal(std::span<std::uint8_t> packet, std::uint64_t number, bool encrypt = false) const;
    // The packet number when the packet has flag::authenticated, a number > 0 and a MAC made
    // with one of the keys; nullopt otherwise (also for a packet shorter than a header, and for
    // an encrypted packet: see open()).
    [[nodiscard]] std::optional<std::uint64_t> verify(ByteView packet) const;
    // verify() for a packet with or without flag::encrypted. An encrypted packet is decrypted
    // in place and its checksum rewritten over the plaintext, so that decode() reads it; on
    // nullopt the bytes are left as they came.
    [[nodiscard]] std::optional<std::uint64_t> open(std::span<std::uint8_t> packet) const;
    // Whether `packet` (at least a header long, else false) has flag::encrypted: one byte
    // read, for the receive path to choose open() before decode().
    [[nodiscard]] static bool encrypted(ByteView packet);

    [[nodiscard]] std::size_t key_count() const { return keys_.size(); }

private:
    struct Keys {
        AuthKey mac;  // The cluster key itself.
        AuthKey enc;  // Derived from it: keyed BLAKE2b-256 of "herald body encryption v1".
    };
    std::vector<Keys> keys_;
};

// The packet numbers one sender incarnation has used, as far as they matter: the highest, and
// which of the `bits` numbers below it were seen (the anti-replay window of IPsec, RFC 4303
// §3.4.3, and DTLS). A number is accepted once; a number `bits` or more below the highest is
// too old to tell and is refused too.
class ReplayWindow {
public:
    static constexpr std::uint64_t bits = 4096;
    enum class Verdict : std::uint8_t { fresh, replay, too_old };

    // A window in which every number up to `highest` counts as seen (restored from a floor).
    [[nodiscard]] static ReplayWindow seen_through(std::uint64_t highest);

    // Marks `number` (> 0) seen when fresh.
    Verdict check(std::uint64_t number);
    [[nodiscard]] std::uint64_t highest() const { return highest_; }

private:
    std::uint64_t highest_ = 0;
    std::array<std::uint64_t, bits / 64> seen_{};  // Bit n % bits: number n was seen.
};

// One ReplayWindow per sender (node id, incarnation), at most `senders_max` of them: a new
// sender beyond that replaces the one heard from least recently (whose old packets could then be
// replayed once more; only key holders create windows). Not thread-safe.
// What a node keeps of one sender across its own restarts (docs/security.md "Replays"): every
// packet number up to `highest` counts as seen.
struct ReplayFloor {
    std::uint64_t node = 0;
    std::uint32_t incarnation = 0;
    std::uint64_t highest = 0;
    constexpr bool operator==(const ReplayFloor&) const = default;
};

class ReplayGuard {
public:
    explicit ReplayGuard(std::size_t senders_max = 4096) : senders_max_(senders_max) {}

    ReplayWindow::Verdict check(std::uint64_t node, std::uint32_t incarnation,
                                std::uint64_t number);
    [[nodiscard]] std::size_t senders() const { return windows_.size(); }
    // Every sender's floor (its highest number), in (node, incarnation) order.
    [[nodiscard]] std::vector<ReplayFloor> floors() const;
    // Adds `floors` as windows seen through their highest (a sender already known keeps the
    // greater highest); at most senders_max in all (the rest are ignored).
    void restore(std::span<const ReplayFloor> floors);
    // Grows with every fresh number above a sender's highest: the floors changed.
    [[nodiscard]] std::uint64_t changes() const { return changes_; }
    // Estimated heap bytes of the windows (core/memory.h): about 600 per sender.
    [[nodiscard]] std::size_t memory_bytes() const;

private:
    struct Entry {
        ReplayWindow window;
        std::uint64_t used = 0;
    };
    std::size_t senders_max_;
    std::uint64_t clock_ = 0;
    std::uint64_t changes_ = 0;
    std::map<std::pair<std::uint64_t, std::uint32_t>, Entry> windows_;
};

// The stored form of floors (the node's store record "node/replay"): u8 version 1, u32 count,
// then count x (u64 node, u32 incarnation, u64 highest), all little-endian.
[[nodiscard]] Bytes encode_replay_floors(std::span<const ReplayFloor> floors);
// Errc::malformed (with what is wrong): another version, a length that is not the count's,
// more than `count_max` floors, a floor with node, incarnation or highest 0.
[[nodiscard]] Result<std::vector<ReplayFloor>> decode_replay_floors(ByteView bytes,
                                                                    std::size_t count_max);
// A keyed 64-bit hash (SipHash-2-4, libsodium crypto_shorthash): a pseudo-random function of
// `message` for whoever does not know `key`. For values that must not be forged or steered
// by outsiders without costing a MAC (the RPC address cookies, docs/rpc.md "Admission").
inline constexpr std::size_t hash_key_bytes = 16;
using HashKey = std::array<std::uint8_t, hash_key_bytes>;
[[nodiscard]] std::uint64_t keyed_hash(const HashKey& key, ByteView message);
// A new random HashKey (libsodium randombytes_buf).
[[nodiscard]] HashKey random_hash_key();

// Reads a key file: one or two lines of 64 hex digits (the first signs; a second is also
// accepted, for a rotation), '#' comments and blank lines ignored. Errc::invalid_argument
// (with the reason) when the file cannot be read, is readable or writable by group or others
// (chmod 600), or holds anything else.
[[nodiscard]] Result<std::vector<AuthKey>> read_key_file(const std::string& path);

// Writes a new random key to `path` (created with mode 0600; never overwrites: already_exists).
[[nodiscard]] Status write_new_key_file(const std::string& path);

}  // namespace herald::wire

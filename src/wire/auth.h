// Packet authentication with a cluster key (docs/security.md): a keyed BLAKE2b tag in the
// header's auth_tag slot, and the key files that hold the keys. Layer: wire.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"

namespace herald::wire {

inline constexpr std::size_t auth_key_bytes = 32;
inline constexpr std::size_t auth_tag_bytes = 16;
using AuthKey = std::array<std::uint8_t, auth_key_bytes>;

// A node's cluster keys: the first signs what the node sends, every one verifies what it
// receives (two during a key rotation). Immutable after construction; safe to share.
class Authenticator {
public:
    // 1 or 2 keys (asserted).
    explicit Authenticator(std::vector<AuthKey> keys);

    // Sets flag::authenticated and the tag of one encoded packet (header, extensions, body; the
    // packet's own bytes, not a whole datagram), then its checksum.
    void seal(std::span<std::uint8_t> packet) const;
    // True when the packet has flag::authenticated and a tag made with one of the keys. The
    // packet must be at least a header long (decode() has checked it).
    [[nodiscard]] bool verify(ByteView packet) const;

    [[nodiscard]] std::size_t key_count() const { return keys_.size(); }

private:
    std::vector<AuthKey> keys_;
};

// Reads a key file: one or two lines of 64 hex digits (the first signs; a second is also
// accepted, for a rotation), '#' comments and blank lines ignored. Errc::invalid_argument
// (with the reason) when the file cannot be read, is readable or writable by group or others
// (chmod 600), or holds anything else.
[[nodiscard]] Result<std::vector<AuthKey>> read_key_file(const std::string& path);

// Writes a new random key to `path` (created with mode 0600; never overwrites: already_exists).
[[nodiscard]] Status write_new_key_file(const std::string& path);

}  // namespace herald::wire

// Identities of the public API: NodeId, Pid (origin node + local id) and their text forms.
// A Pid keeps its origin node for life, also across migration: the current node is a hint
// each sender caches (docs/migration.md).
// Public API (src/core/ids.h re-exports it for the layers); includes only herald/ headers.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "herald/bytes.h"  // IWYU pragma: export
#include "herald/errors.h"
#include "herald/export.h"

namespace herald {

// A node's identity: stable across restarts of the same node (configured, or derived from its
// listen address), so that durable state and well-known pids survive a restart.
struct NodeId {
    std::uint64_t value = 0;  // 0 means "unknown / not yet learned".

    [[nodiscard]] constexpr bool known() const { return value != 0; }
    constexpr auto operator<=>(const NodeId&) const = default;
};

// Text: lowercase hex without leading zeros, e.g. "7f3a9c21". Parsing accepts 1-16 hex digits.
[[nodiscard]] HERALD_API std::string to_string(NodeId node);
[[nodiscard]] HERALD_API Result<NodeId> parse_node_id(std::string_view text);

// A process's global id. Local ids below `local_id_dynamic_min` are well-known services that keep
// their id across node restarts; dynamic ids start at `incarnation << 32` so that a restarted
// node never hands out a pid that an earlier incarnation used.
struct Pid {
    NodeId node;
    std::uint64_t local = 0;

    [[nodiscard]] constexpr bool valid() const { return node.known() && local != 0; }
    constexpr auto operator<=>(const Pid&) const = default;
};

inline constexpr std::uint64_t local_id_dynamic_min = std::uint64_t{1} << 32;

// Text: "<node hex>.<local decimal>", e.g. "7f3a9c21.42".
// Errc::invalid_argument when the text is not of that form (detail quotes the text).
[[nodiscard]] HERALD_API std::string to_string(Pid pid);
[[nodiscard]] HERALD_API Result<Pid> parse_pid(std::string_view text);

}  // namespace herald

template <>
struct std::hash<herald::NodeId> {
    std::size_t operator()(herald::NodeId n) const noexcept {
        return std::hash<std::uint64_t>{}(n.value);
    }
};

template <>
struct std::hash<herald::Pid> {
    std::size_t operator()(const herald::Pid& p) const noexcept {
        // Mix both halves (splitmix64 finalizer) so pids from one node spread over buckets.
        std::uint64_t x = p.node.value ^ (p.local * 0x9e3779b97f4a7c15ULL);
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
        return static_cast<std::size_t>(x ^ (x >> 31));
    }
};

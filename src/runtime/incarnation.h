// Incarnation: the number a node takes at every start, greater than that of every earlier start
// of the same node, so that its peers tell a restart apart (direct: peer_restarted; RPC: call
// ids and server_crashed). Layer: runtime (uses the store). Called once per start, in Node::open.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"
#include "runtime/node_options.h"
#include "store/store.h"

namespace herald::runtime {

// The store record of the last incarnation claimed (version byte 1, then u32 little-endian).
// Keys under "node/" are the node's own: handlers cannot write them (proto/rpc/reply_cache.h).
inline constexpr std::string_view incarnation_key = "node/incarnation";

// The wall clock's candidate: tenths of a second since 2024-01-01 UTC, clamped to
// [1, 2^32 - 1]. 0 never comes out (0 reads as "unknown" on the wire). The top is reached in
// 2037; from then on only claim_incarnation's "last + 1" keeps growing, until the store's
// incarnations run out (see there). Deciseconds, as before incarnations were stored, so that
// the first claim after an upgrade is still above the clock-based incarnations of before.
[[nodiscard]] std::uint32_t clock_incarnation(std::int64_t unix_ns);

// For a node with a store: max(clock_incarnation(unix_ns), last + 1), where last is the value
// under incarnation_key (none: 0), written back with Sync::full semantics of `store` before
// it returns. So it is strictly greater than every incarnation claimed before in this store,
// whatever the clock does (steps back, or two starts within the same tenth of a second). A
// store restored from a backup (or a wiped one) relies on the clock alone: its claims are
// greater than those made after the backup only while the clock went forward since.
// Errc::storage_error: the store could not be read or written (nothing claimed); the record is
// not one this function wrote; or last is already 2^32 - 1 (no greater incarnation exists).
// Blocks for one commit (an fsync). Any one thread.
[[nodiscard]] Result<std::uint32_t> claim_incarnation(store::Store& store, std::int64_t unix_ns);

// For a node without a store: clock_incarnation(unix_ns), raised past the last incarnation
// handed out by this function in this OS process (a node stopped and started again in one
// program gets a new one, however fast). Limit: nothing remembers incarnations across OS
// processes, so a node of another OS process on the same URL that starts within the same
// tenth of a second as the one before it, or after the wall clock stepped back, may get an
// equal or smaller incarnation; such a node keeps nothing durable (no reply cache on disk),
// but its peers may then miss the restart. Thread-safe.
[[nodiscard]] std::uint32_t next_incarnation_in_process(std::int64_t unix_ns);

// The node's store file in `data_dir`: <data_dir>/herald.db.
[[nodiscard]] std::string node_store_path(const std::string& data_dir);

// Creates `data_dir` when missing and opens the node's store in it with `sync`.
// Errc::io_error (data_dir cannot be created) and the errors of store::Store::open.
[[nodiscard]] Result<store::Store> open_node_store(const std::string& data_dir, store::Sync sync);

// The incarnation of a node starting with `config`: claim_incarnation in the node's store file
// (node_store_path, created with data_dir when missing; opened with Sync::full and closed
// again before returning, so that the Node can open it next with its own sync mode) when
// config.data_dir is set, else next_incarnation_in_process. Errc::io_error (data_dir cannot be
// created) and the errors of Store::open and claim_incarnation (storage_error, e.g. another node
// holds the store).
[[nodiscard]] Result<std::uint32_t> start_incarnation(const NodeConfig& config,
                                                      std::int64_t unix_ns);

}  // namespace herald::runtime

// Store: a small durable key/value store on SQLite (WAL journal): the node's store, which its
// engines write through persist effects (the RPC reply cache, handlers' state; mailboxes
// next). Layer: store (links core and SQLite only).
// One owner: a Store is not thread-safe. In a Node, the store writer's thread owns it
// (runtime/store_writer.h: group commit off the loop thread); the loop only queues writes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"

namespace herald::store {

// How hard a commit waits for the disk (SQLite's `synchronous` pragma, in WAL mode).
enum class Sync : std::uint8_t {
    // fsync at every commit: a write whose call returned survives a crash of the process AND of
    // the machine (power loss). The default, because the reply cache promises exactly-once.
    full,
    // fsync only at checkpoints: a returned write survives a crash of the process (kill -9),
    // but the last commits may be rolled back if the machine loses power.
    normal,
};

struct StoreOptions {
    Sync sync = Sync::full;
};

// One change in an atomic batch (Store::apply).
struct Write {
    std::string key;
    Bytes value;
    bool erase = false;  // Erase `key` (value ignored); erasing a missing key is not an error.
};

using Record = std::pair<std::string, Bytes>;

class Store {
public:
    // Opens (creating when missing) the store file at `path`, in WAL mode, and takes an exclusive
    // lock on it for the life of the Store, so that two nodes never share one file.
    // Errc::storage_error when: the file cannot be opened or created (detail: path and reason);
    // it is not an SQLite database or is corrupt ("file is not a database"); it is an SQLite
    // file of another application (no Herald table and other tables present); another process
    // holds it ("database is locked").
    [[nodiscard]] static Result<Store> open(const std::string& path,
                                            const StoreOptions& options = {});

    Store(Store&& other) noexcept;
    Store& operator=(Store&& other) noexcept;
    ~Store();  // Closes the file (any pending commit was already durable when its call returned).

    // Each call is one durable transaction: when it returns success the change is on disk
    // (within the guarantee of StoreOptions::sync). Errc::storage_error: disk full, I/O error,
    // corruption found, or the store was closed (detail from SQLite).
    [[nodiscard]] Status put(std::string_view key, ByteView value);
    [[nodiscard]] Status erase(std::string_view key);
    // All writes or none, in order (a later write to the same key wins).
    [[nodiscard]] Status apply(std::span<const Write> writes);

    // The value under `key`, or nullopt. Errc::storage_error as above.
    [[nodiscard]] Result<std::optional<Bytes>> get(std::string_view key) const;
    // Every record whose key starts with `prefix` (all records for ""), in byte order of keys.
    [[nodiscard]] Result<std::vector<Record>> scan(std::string_view prefix) const;

    [[nodiscard]] const std::string& path() const;

    struct Impl;

private:
    explicit Store(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace herald::store

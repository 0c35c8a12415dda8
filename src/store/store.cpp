// SQLite implementation of the durable key/value Store. Layer: store.
// Every SQLite failure, and anything thrown on the way (allocation), becomes Errc::storage_error.
#include "store/store.h"

#include <sqlite3.h>

#include <new>

namespace herald::store {
namespace {

constexpr const char* table_sql =
    "CREATE TABLE IF NOT EXISTS herald_kv (key BLOB PRIMARY KEY, value BLOB NOT NULL) "
    "WITHOUT ROWID";

// The smallest byte string greater than every string that starts with `prefix`, or "" when
// there is none (prefix empty or all 0xff): then the scan has no upper bound.
std::string prefix_end(std::string_view prefix) {
    std::string end(prefix);
    while (!end.empty()) {
        auto& last = reinterpret_cast<unsigned char&>(end.back());
        if (last != 0xff) {
            ++last;
            return end;
        }
        end.pop_back();
    }
    return end;
}

}  // namespace

struct Store::Impl {
    std::string path;
    sqlite3* db = nullptr;
    sqlite3_stmt* put = nullptr;
    sqlite3_stmt* erase = nullptr;
    sqlite3_stmt* get = nullptr;
    // apply()'s transaction: prepared once, not parsed again for every commit.
    sqlite3_stmt* begin = nullptr;
    sqlite3_stmt* commit = nullptr;

    ~Impl() {
        for (sqlite3_stmt* s : {put, erase, get, begin, commit}) sqlite3_finalize(s);
        sqlite3_close_v2(db);
    }

    [[nodiscard]] tl::unexpected<Error> error(std::string_view what) const {
        std::string detail = path + ": " + std::string(what) + ": ";
        detail += db != nullptr ? sqlite3_errmsg(db) : "out of memory";
        if (db != nullptr) detail += " (sqlite code " + std::to_string(sqlite3_errcode(db)) + ")";
        return fail(Errc::storage_error, std::move(detail));
    }

    Status exec(const char* sql, std::string_view what) {
        if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return error(what);
        return {};
    }

    Status prepare(const char* sql, sqlite3_stmt** out) {
        if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, nullptr) != SQLITE_OK) {
            return error("prepare");
        }
        return {};
    }

    // Runs a prepared write statement with `key` (and `value` when not null) bound.
    Status step_write(sqlite3_stmt* s, std::string_view key, const ByteView* value) {
        sqlite3_reset(s);
        sqlite3_bind_blob(s, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
        if (value != nullptr) {
            // A zero-length blob must still be a blob, not NULL: pass a valid pointer.
            static const std::uint8_t empty = 0;
            const void* data = value->empty() ? &empty : value->data();
            sqlite3_bind_blob(s, 2, data, static_cast<int>(value->size()), SQLITE_STATIC);
        }
        const int rc = sqlite3_step(s);
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        if (rc != SQLITE_DONE) return error("write");
        return {};
    }

    // Runs a prepared statement without bindings (BEGIN, COMMIT).
    Status step(sqlite3_stmt* s, std::string_view what) {
        const int rc = sqlite3_step(s);
        Status done;
        if (rc != SQLITE_DONE) done = error(what);  // Before the reset, which may clear it.
        sqlite3_reset(s);
        return done;
    }
    Status write_one(const Write& w) {
        if (w.erase) return step_write(erase, w.key, nullptr);
        const ByteView value(w.value);
        return step_write(put, w.key, &value);
    }

    Status check_owned() {
        // Refuse an SQLite file that belongs to another application: it has tables, none ours.
        sqlite3_stmt* s = nullptr;
        HERALD_TRY(
            prepare("SELECT count(*), sum(name = 'herald_kv') FROM sqlite_master "
                    "WHERE type = 'table'",
                    &s));
        const int rc = sqlite3_step(s);
        const auto tables = sqlite3_column_int64(s, 0);
        const auto ours = sqlite3_column_int64(s, 1);
        sqlite3_finalize(s);
        if (rc != SQLITE_ROW) return error("read schema");
        if (tables > 0 && ours == 0) {
            return fail(Errc::storage_error, path + ": not a Herald store (other tables present)");
        }
        return {};
    }

    Status configure(const StoreOptions& options) {
        HERALD_TRY(exec("PRAGMA locking_mode = EXCLUSIVE", "lock"));
        HERALD_TRY(exec("PRAGMA journal_mode = WAL", "open"));
        HERALD_TRY(exec(options.sync == Sync::full ? "PRAGMA synchronous = FULL"
                                                   : "PRAGMA synchronous = NORMAL",
                        "configure"));
        HERALD_TRY(check_owned());
        // A write transaction takes the exclusive lock now and keeps it (locking_mode).
        HERALD_TRY(exec("BEGIN IMMEDIATE", "lock"));
        if (auto made = exec(table_sql, "create table"); !made) {
            sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
            return made;
        }
        HERALD_TRY(exec("COMMIT", "create table"));
        HERALD_TRY(prepare("INSERT OR REPLACE INTO herald_kv (key, value) VALUES (?1, ?2)", &put));
        HERALD_TRY(prepare("DELETE FROM herald_kv WHERE key = ?1", &erase));
        HERALD_TRY(prepare("SELECT value FROM herald_kv WHERE key = ?1", &get));
        HERALD_TRY(prepare("BEGIN IMMEDIATE", &begin));
        HERALD_TRY(prepare("COMMIT", &commit));
        return {};
    }
};

Result<Store> Store::open(const std::string& path, const StoreOptions& options) {
    try {
        auto impl = std::make_unique<Impl>();
        impl->path = path;
        if (path.empty()) return fail(Errc::storage_error, "store path is empty");
        const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
        if (sqlite3_open_v2(path.c_str(), &impl->db, flags, nullptr) != SQLITE_OK) {
            return impl->error("open");
        }
        sqlite3_extended_result_codes(impl->db, 1);
        HERALD_TRY(impl->configure(options));
        return Store(std::move(impl));
    } catch (const std::exception& e) {
        return fail(Errc::storage_error, path + ": open: " + e.what());
    } catch (...) {
        return fail(Errc::storage_error, path + ": open: unknown exception");
    }
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::Store(Store&& other) noexcept = default;
Store& Store::operator=(Store&& other) noexcept = default;
Store::~Store() = default;

const std::string& Store::path() const {
    static const std::string none;
    return impl_ ? impl_->path : none;
}

Status Store::put(std::string_view key, ByteView value) {
    if (!impl_) return fail(Errc::storage_error, "store is closed");
    try {
        return impl_->step_write(impl_->put, key, &value);
    } catch (...) {
        return fail(Errc::storage_error, impl_->path + ": put: out of memory");
    }
}

Status Store::erase(std::string_view key) {
    if (!impl_) return fail(Errc::storage_error, "store is closed");
    try {
        return impl_->step_write(impl_->erase, key, nullptr);
    } catch (...) {
        return fail(Errc::storage_error, impl_->path + ": erase: out of memory");
    }
}

Status Store::apply(std::span<const Write> writes) {
    if (!impl_) return fail(Errc::storage_error, "store is closed");
    try {
        HERALD_TRY(impl_->step(impl_->begin, "begin"));
        for (const auto& w : writes) {
            if (auto done = impl_->write_one(w); !done) {
                sqlite3_exec(impl_->db, "ROLLBACK", nullptr, nullptr, nullptr);
                return done;
            }
        }
        if (auto done = impl_->step(impl_->commit, "commit"); !done) {
            sqlite3_exec(impl_->db, "ROLLBACK", nullptr, nullptr, nullptr);
            return done;
        }
        return {};
    } catch (...) {
        sqlite3_exec(impl_->db, "ROLLBACK", nullptr, nullptr, nullptr);
        return fail(Errc::storage_error, impl_->path + ": apply: out of memory");
    }
}

Result<std::optional<Bytes>> Store::get(std::string_view key) const {
    if (!impl_) return fail(Errc::storage_error, "store is closed");
    try {
        sqlite3_stmt* s = impl_->get;
        sqlite3_reset(s);
        sqlite3_bind_blob(s, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
        const int rc = sqlite3_step(s);
        std::optional<Bytes> value;
        if (rc == SQLITE_ROW) {
            const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(s, 0));
            value.emplace(data, data + sqlite3_column_bytes(s, 0));
        }
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) return impl_->error("get");
        return value;
    } catch (...) {
        return fail(Errc::storage_error, impl_->path + ": get: out of memory");
    }
}

Result<std::vector<Record>> Store::scan(std::string_view prefix) const {
    if (!impl_) return fail(Errc::storage_error, "store is closed");
    try {
        const std::string end = prefix_end(prefix);
        sqlite3_stmt* s = nullptr;
        HERALD_TRY(impl_->prepare(end.empty() ? "SELECT key, value FROM herald_kv WHERE key >= ?1 "
                                                "ORDER BY key"
                                              : "SELECT key, value FROM herald_kv WHERE key >= ?1 "
                                                "AND key < ?2 ORDER BY key",
                                  &s));
        std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(s, sqlite3_finalize);
        sqlite3_bind_blob(s, 1, prefix.data(), static_cast<int>(prefix.size()), SQLITE_STATIC);
        if (!end.empty()) {
            sqlite3_bind_blob(s, 2, end.data(), static_cast<int>(end.size()), SQLITE_STATIC);
        }
        std::vector<Record> records;
        int rc = SQLITE_ROW;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            const auto* key = static_cast<const char*>(sqlite3_column_blob(s, 0));
            const auto* value = static_cast<const std::uint8_t*>(sqlite3_column_blob(s, 1));
            records.emplace_back(std::string(key, key + sqlite3_column_bytes(s, 0)),
                                 Bytes(value, value + sqlite3_column_bytes(s, 1)));
        }
        if (rc != SQLITE_DONE) return impl_->error("scan");
        return records;
    } catch (...) {
        return fail(Errc::storage_error, impl_->path + ": scan: out of memory");
    }
}

}  // namespace herald::store

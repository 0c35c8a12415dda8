// Unit tests of the SQLite-backed durable key/value Store. Layer: store.
#include "store/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>

namespace herald::store {
namespace {

// A fresh directory per test, removed at the end.
class StoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "herald-store-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    [[nodiscard]] std::string path(const char* name = "store.db") const {
        return (dir_ / name).string();
    }
    std::filesystem::path dir_;
};

TEST_F(StoreTest, PutGetEraseRoundTrip) {
    auto store = Store::open(path());
    ASSERT_TRUE(store) << store.error().to_string();
    ASSERT_TRUE(store->put("a", to_bytes("one")));
    ASSERT_TRUE(store->put("a", to_bytes("two")));  // Replaces.
    auto got = store->get("a");
    ASSERT_TRUE(got);
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ(**got, to_bytes("two"));
    ASSERT_TRUE(store->erase("a"));
    ASSERT_TRUE(store->erase("a"));  // Erasing a missing key is fine.
    got = store->get("a");
    ASSERT_TRUE(got);
    EXPECT_FALSE(got->has_value());
}

TEST_F(StoreTest, EmptyValueIsStoredAsEmptyNotMissing) {
    auto store = Store::open(path());
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->put("empty", Bytes{}));
    auto got = store->get("empty");
    ASSERT_TRUE(got);
    ASSERT_TRUE(got->has_value());
    EXPECT_TRUE((*got)->empty());
}

TEST_F(StoreTest, ScanReturnsOnlyKeysWithPrefixInOrder) {
    auto store = Store::open(path());
    ASSERT_TRUE(store);
    for (const char* key : {"rpc/b", "rpc/a", "rpc0", "rpb", "mbx/x", "rpc/\xff\xff"}) {
        ASSERT_TRUE(store->put(key, to_bytes(key)));
    }
    auto records = store->scan("rpc/");
    ASSERT_TRUE(records);
    ASSERT_EQ(records->size(), 3u);
    EXPECT_EQ((*records)[0].first, "rpc/a");
    EXPECT_EQ((*records)[1].first, "rpc/b");
    EXPECT_EQ((*records)[2].first, "rpc/\xff\xff");
    EXPECT_EQ((*records)[0].second, to_bytes("rpc/a"));
    auto all = store->scan("");
    ASSERT_TRUE(all);
    EXPECT_EQ(all->size(), 6u);
    auto high = store->scan("\xff");
    ASSERT_TRUE(high);
    EXPECT_TRUE(high->empty());
}

TEST_F(StoreTest, ApplyWritesInOrderAndALaterWriteToAKeyWins) {
    auto store = Store::open(path());
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->put("gone", to_bytes("x")));
    const std::vector<Write> batch = {
        {"k", to_bytes("1"), false}, {"k", to_bytes("2"), false}, {"gone", {}, true}};
    ASSERT_TRUE(store->apply(batch));
    auto records = store->scan("");
    ASSERT_TRUE(records);
    ASSERT_EQ(records->size(), 1u);
    EXPECT_EQ((*records)[0], (Record{"k", to_bytes("2")}));
}

// Atomicity, with a failure injected half-way: a file size limit (RLIMIT_FSIZE, with SIGXFSZ
// ignored so that write() fails with EFBIG) makes the batch's large write fail. None of the
// batch's writes may remain, before or after it, and the store works on.
TEST_F(StoreTest, ApplyThatFailsHalfWayLeavesNothingBehind) {
    auto store = Store::open(path());
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->put("kept", to_bytes("old")));
    const std::vector<Write> batch = {{"kept", to_bytes("new"), false},
                                      {"first", to_bytes("1"), false},
                                      {"huge", Bytes(std::size_t{8} << 20, 7), false},
                                      {"last", to_bytes("2"), false}};
    rlimit saved{};
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
    rlimit small = saved;
    small.rlim_cur = 1 << 20;  // 1 MiB per file: the 8 MiB value cannot be written.
    auto* const previous = std::signal(SIGXFSZ, SIG_IGN);
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
    const Status applied = store->apply(batch);
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);
    std::signal(SIGXFSZ, previous);
    ASSERT_FALSE(applied);
    EXPECT_EQ(applied.error().code, Errc::storage_error) << applied.error().to_string();
    auto records = store->scan("");
    ASSERT_TRUE(records);
    EXPECT_EQ(*records, (std::vector<Record>{{"kept", to_bytes("old")}}));
    ASSERT_TRUE(store->apply(std::vector<Write>{{"after", to_bytes("3"), false}}));
    store = Store::open(path("other.db"));  // Closes the first; then reopen it from disk.
    ASSERT_TRUE(store);
    store = Store::open(path());
    ASSERT_TRUE(store) << store.error().to_string();
    records = store->scan("");
    ASSERT_TRUE(records);
    EXPECT_EQ(*records, (std::vector<Record>{{"after", to_bytes("3")}, {"kept", to_bytes("old")}}));
}

TEST_F(StoreTest, RecordsSurviveReopen) {
    {
        auto store = Store::open(path(), StoreOptions{Sync::normal});
        ASSERT_TRUE(store);
        ASSERT_TRUE(store->put("rpc/1", to_bytes("reply")));
        ASSERT_TRUE(store->put("rpc/2", to_bytes("other")));
        ASSERT_TRUE(store->erase("rpc/2"));
    }
    auto store = Store::open(path());
    ASSERT_TRUE(store) << store.error().to_string();
    auto records = store->scan("rpc/");
    ASSERT_TRUE(records);
    ASSERT_EQ(records->size(), 1u);
    EXPECT_EQ((*records)[0], (Record{"rpc/1", to_bytes("reply")}));
}

TEST_F(StoreTest, SecondOpenOfALockedFileFailsWithStorageError) {
    auto first = Store::open(path());
    ASSERT_TRUE(first);
    auto second = Store::open(path());
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code, Errc::storage_error);
    EXPECT_NE(second.error().detail.find("locked"), std::string::npos) << second.error().detail;
}

TEST_F(StoreTest, GarbageFileGivesClearStorageError) {
    {
        std::ofstream garbage(path(), std::ios::binary);
        for (int i = 0; i < 4096; ++i) garbage.put(static_cast<char>(i * 7));
    }
    auto store = Store::open(path());
    ASSERT_FALSE(store);
    EXPECT_EQ(store.error().code, Errc::storage_error);
    EXPECT_NE(store.error().detail.find("not a database"), std::string::npos)
        << store.error().detail;
    EXPECT_NE(store.error().detail.find(path()), std::string::npos);
}

TEST_F(StoreTest, CorruptPagesGiveStorageErrorNotACrash) {
    {
        auto store = Store::open(path());
        ASSERT_TRUE(store);
        std::vector<Write> batch;
        for (int i = 0; i < 2000; ++i) {
            batch.push_back({"key/" + std::to_string(i), Bytes(64, std::uint8_t(i)), false});
        }
        ASSERT_TRUE(store->apply(batch));
    }  // Closing checkpoints the WAL into the main file.
    {
        std::fstream file(path(), std::ios::in | std::ios::out | std::ios::binary);
        file.seekp(3 * 4096);  // Past the header page: scribble over b-tree pages.
        for (int i = 0; i < 8 * 4096; ++i) file.put(static_cast<char>(0xA5));
    }
    auto store = Store::open(path());
    if (!store) {
        EXPECT_EQ(store.error().code, Errc::storage_error);
        return;
    }
    auto records = store->scan("key/");
    ASSERT_FALSE(records);
    EXPECT_EQ(records.error().code, Errc::storage_error);
    EXPECT_NE(records.error().detail.find("malformed"), std::string::npos)
        << records.error().detail;
}

TEST_F(StoreTest, SqliteFileOfAnotherApplicationIsRefused) {
    {
        auto store = Store::open(path());
        ASSERT_TRUE(store);
    }
    // Rename our table away so the file looks like somebody else's database.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path().c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "ALTER TABLE herald_kv RENAME TO theirs", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
    auto store = Store::open(path());
    ASSERT_FALSE(store);
    EXPECT_EQ(store.error().code, Errc::storage_error);
    EXPECT_NE(store.error().detail.find("not a Herald store"), std::string::npos);
}

TEST_F(StoreTest, UnwritableLocationGivesStorageError) {
    auto store = Store::open(path("missing-dir/store.db"));
    ASSERT_FALSE(store);
    EXPECT_EQ(store.error().code, Errc::storage_error);
    auto empty = Store::open("");
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().code, Errc::storage_error);
}

TEST_F(StoreTest, MovedFromStoreReportsClosed) {
    auto store = Store::open(path());
    ASSERT_TRUE(store);
    Store moved = std::move(*store);
    ASSERT_TRUE(moved.put("k", to_bytes("v")));
    auto refused = store->put("k", to_bytes("v"));  // NOLINT(bugprone-use-after-move)
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::storage_error);
}

}  // namespace
}  // namespace herald::store

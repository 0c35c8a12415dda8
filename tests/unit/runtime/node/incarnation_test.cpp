// Incarnations: every claim in a store is greater than every earlier one, whatever the clock
// does (two starts within a millisecond, a clock stepped back, a store restored from a copy);
// 0 never comes out, and at the top a claim fails rather than wrapping.
#include "runtime/incarnation.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <limits>

namespace herald::runtime {
namespace {

constexpr std::int64_t second_ns = 1'000'000'000;
constexpr std::int64_t decisecond_ns = second_ns / 10;
// 2026-01-01 UTC: a plausible wall clock.
constexpr std::int64_t now_ns = 1'767'225'600LL * second_ns;
constexpr std::uint32_t top = std::numeric_limits<std::uint32_t>::max();

class TempDir {
public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "herald-inc-XXXXXX");
        dir_ = ::mkdtemp(pattern.data()) != nullptr ? pattern : std::string();
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }
    [[nodiscard]] const std::string& path() const { return dir_; }
    [[nodiscard]] std::string store() const { return dir_ + "/herald.db"; }

private:
    std::string dir_;
};

// One start of a node: opens its store, claims, closes it again.
std::uint32_t start(const TempDir& dir, std::int64_t unix_ns) {
    auto store = store::Store::open(dir.store());
    EXPECT_TRUE(store) << store.error().to_string();
    auto claimed = claim_incarnation(*store, unix_ns);
    EXPECT_TRUE(claimed) << claimed.error().to_string();
    return claimed.value_or(0);
}

void put_raw(const TempDir& dir, std::uint32_t last) {
    auto store = store::Store::open(dir.store());
    ASSERT_TRUE(store);
    Bytes value{1};
    for (int shift = 0; shift < 32; shift += 8) {
        value.push_back(static_cast<std::uint8_t>(last >> shift));
    }
    ASSERT_TRUE(store->put(incarnation_key, value));
}

TEST(Incarnation, TheClockCandidateIsTenthsOfASecondSince2024AndNeverZero) {
    constexpr std::int64_t epoch_2024_ns = 1'704'067'200LL * second_ns;
    EXPECT_EQ(clock_incarnation(epoch_2024_ns + 25 * decisecond_ns), 25u);
    EXPECT_EQ(clock_incarnation(epoch_2024_ns), 1u);  // Clamped up: 0 is "unknown".
    EXPECT_EQ(clock_incarnation(0), 1u);              // A clock before 2024.
    EXPECT_EQ(clock_incarnation(-second_ns), 1u);     // Before 1970.
    EXPECT_EQ(clock_incarnation(std::numeric_limits<std::int64_t>::max()), top);  // After 2037.
}

TEST(Incarnation, TwoStartsWithinAMillisecondGetGrowingIncarnations) {
    TempDir dir;
    const std::uint32_t first = start(dir, now_ns);
    const std::uint32_t second = start(dir, now_ns + 1'000'000 / 2);  // 0.5 ms later.
    const std::uint32_t third = start(dir, now_ns + 1'000'000 / 2);   // The same instant.
    EXPECT_EQ(first, clock_incarnation(now_ns));
    EXPECT_GT(second, first);
    EXPECT_GT(third, second);
}

TEST(Incarnation, AClockThatStepsBackStillGrows) {
    TempDir dir;
    const std::uint32_t before = start(dir, now_ns);
    const std::uint32_t after_step = start(dir, now_ns - 3600 * second_ns);  // One hour back.
    EXPECT_EQ(after_step, before + 1);
    const std::uint32_t at_zero = start(dir, 0);  // A clock reset to 1970.
    EXPECT_EQ(at_zero, before + 2);
    // Once the clock passes the stored value again, the clock leads.
    EXPECT_EQ(start(dir, now_ns + 60 * second_ns), clock_incarnation(now_ns + 60 * second_ns));
}

TEST(Incarnation, AStoreRestoredFromACopyGrowsWithTheClock) {
    TempDir dir;
    TempDir backup;
    start(dir, now_ns);
    std::filesystem::copy_file(dir.store(), backup.store());  // Closed: no WAL left behind.
    const std::uint32_t latest = start(dir, now_ns + 5 * decisecond_ns);
    std::filesystem::copy_file(backup.store(), dir.store(),
                               std::filesystem::copy_options::overwrite_existing);
    EXPECT_GT(start(dir, now_ns + 2 * second_ns), latest);
}

TEST(Incarnation, AnEmptyStoreAndAClockBefore2024GiveOne) {
    TempDir dir;
    EXPECT_EQ(start(dir, 0), 1u);
    EXPECT_EQ(start(dir, 0), 2u);
}

TEST(Incarnation, AtTheTopAClaimFailsInsteadOfWrappingToZero) {
    TempDir dir;
    put_raw(dir, top - 1);
    EXPECT_EQ(start(dir, now_ns), top);
    auto store = store::Store::open(dir.store());
    ASSERT_TRUE(store);
    auto claimed = claim_incarnation(*store, now_ns);
    ASSERT_FALSE(claimed);
    EXPECT_EQ(claimed.error().code, Errc::storage_error);
    auto stored = store->get(incarnation_key);  // Unchanged: still the top.
    ASSERT_TRUE(stored && *stored);
    EXPECT_EQ((**stored)[1], 0xffu);
}

TEST(Incarnation, ARecordItDidNotWriteIsAStorageError) {
    TempDir dir;
    {
        auto store = store::Store::open(dir.store());
        ASSERT_TRUE(store);
        ASSERT_TRUE(store->put(incarnation_key, to_bytes("17")));
    }
    auto store = store::Store::open(dir.store());
    ASSERT_TRUE(store);
    auto claimed = claim_incarnation(*store, now_ns);
    ASSERT_FALSE(claimed);
    EXPECT_EQ(claimed.error().code, Errc::storage_error);
    EXPECT_NE(claimed.error().detail.find(std::string(incarnation_key)), std::string::npos);
}

TEST(Incarnation, StartWithADataDirClaimsInItsStoreAndLeavesItClosed) {
    TempDir dir;
    NodeConfig config;
    config.data_dir = dir.path() + "/new/folder";
    auto first = start_incarnation(config, now_ns);
    ASSERT_TRUE(first) << first.error().to_string();
    auto second = start_incarnation(config, now_ns);  // Not locked: the first closed it.
    ASSERT_TRUE(second) << second.error().to_string();
    EXPECT_GT(*second, *first);
    auto held = store::Store::open(config.data_dir + "/herald.db");  // Another node holds it.
    ASSERT_TRUE(held);
    auto refused = start_incarnation(config, now_ns);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::storage_error);
}

TEST(Incarnation, WithoutADataDirEachStartInTheProcessGrows) {
    NodeConfig config;
    auto first = start_incarnation(config, now_ns);
    auto second = start_incarnation(config, now_ns);
    auto third = start_incarnation(config, now_ns - 3600 * second_ns);
    ASSERT_TRUE(first && second && third);
    EXPECT_GT(*second, *first);
    EXPECT_GT(*third, *second);
    EXPECT_GE(*first, clock_incarnation(now_ns));
}

}  // namespace
}  // namespace herald::runtime

// StoreWriter: batches reach the store in order and atomically, batches queued during a commit
// are merged into the next one (group commit), reads see the writes queued before them, and
// stop() commits what is queued, then refuses; after a commit the writer polls for the next
// batch before it sleeps, and stop() ends a poll; a batch's blocking caller is answered once,
// after its commit was reported, and never after a failed commit; a queued write's buffers are
// swapped with those of a committed write, which go back to the queuer (bounded).
#include "runtime/store_writer.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <future>
#include <mutex>

namespace herald::runtime {
namespace {

class TempFile {
public:
    TempFile() {
        std::string pattern = (std::filesystem::temp_directory_path() / "herald-sw-XXXXXX");
        dir_ = ::mkdtemp(pattern.data()) != nullptr ? pattern : std::string();
    }
    ~TempFile() {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }
    [[nodiscard]] std::string path() const { return dir_ + "/herald.db"; }

private:
    std::string dir_;
};

// Records every commit the writer reports, taking them at once on the writer's thread (the
// node takes them on its loop); `writer` is set before the first write.
struct Commits {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::vector<std::uint64_t>> tokens;
    std::vector<bool> ok;
    std::size_t batches = 0;
    std::size_t reports = 0;
    StoreWriter* writer = nullptr;

    StoreWriter::Committed callback() {
        return [this] {
            std::vector<StoreWriter::Commit> taken;
            std::vector<std::uint64_t> taken_tokens;
            writer->take_committed(taken, taken_tokens);
            std::lock_guard lock(mutex);
            ++reports;
            std::size_t next = 0;
            for (const auto& commit : taken) {
                tokens.emplace_back(
                    taken_tokens.begin() + static_cast<std::ptrdiff_t>(next),
                    taken_tokens.begin() + static_cast<std::ptrdiff_t>(next + commit.batches));
                next += commit.batches;
                batches += commit.batches;
                ok.push_back(commit.status.has_value());
            }
            changed.notify_all();
        };
    }
    void wait_batches(std::size_t n) {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return batches >= n; });
    }
};

store::Write put(std::string key, std::string_view value) {
    return {std::move(key), to_bytes(value)};
}

TEST(StoreWriter, CommitsBatchesInOrderAndReportsEveryToken) {
    TempFile file;
    auto store = store::Store::open(file.path(), {store::Sync::normal});
    ASSERT_TRUE(store) << store.error().to_string();
    Commits commits;
    StoreWriter writer(std::move(*store), commits.callback());
    commits.writer = &writer;
    for (std::uint64_t token = 1; token <= 50; ++token) {
        writer.write({put("k", std::to_string(token)), put("k" + std::to_string(token), "x")},
                     token);
    }
    commits.wait_batches(50);
    std::vector<std::uint64_t> all;
    for (const auto& commit : commits.tokens) all.insert(all.end(), commit.begin(), commit.end());
    ASSERT_EQ(all.size(), 50u);
    for (std::uint64_t i = 0; i < 50; ++i) EXPECT_EQ(all[i], i + 1);
    for (bool ok : commits.ok) EXPECT_TRUE(ok);
    auto records = writer.read("k");
    ASSERT_TRUE(records);
    EXPECT_EQ(records->size(), 51u);  // "k" and k1..k50.
    EXPECT_EQ(records->front().first, "k");
    EXPECT_EQ(std::string(records->front().second.begin(), records->front().second.end()), "50");
    const auto c = writer.counters();
    EXPECT_EQ(c.batches, 50u);
    EXPECT_EQ(c.writes, 100u);
    EXPECT_LE(c.commits, 50u);
}

TEST(StoreWriter, ReadsSeeTheWritesQueuedBeforeThem) {
    TempFile file;
    auto store = store::Store::open(file.path(), {store::Sync::normal});
    ASSERT_TRUE(store);
    Commits commits;
    StoreWriter writer(std::move(*store), commits.callback());
    commits.writer = &writer;
    writer.write({put("app/a", "1")}, 1);
    writer.write({{"app/a", {}, true}, put("app/b", "2")}, 2);
    auto records = writer.read("app/");
    ASSERT_TRUE(records);
    ASSERT_EQ(records->size(), 1u);
    EXPECT_EQ(records->front().first, "app/b");
}

TEST(StoreWriter, StopCommitsWhatIsQueuedAndThenRefuses) {
    TempFile file;
    {
        auto store = store::Store::open(file.path(), {store::Sync::normal});
        ASSERT_TRUE(store);
        Commits commits;
        StoreWriter writer(std::move(*store), commits.callback());
        commits.writer = &writer;
        for (std::uint64_t token = 1; token <= 20; ++token) {
            writer.write({put("n" + std::to_string(token), "v")}, token);
        }
        writer.stop();
        writer.join();
        EXPECT_EQ(commits.batches, 20u);
        writer.write({put("late", "v")}, 21);  // Dropped: stopped.
        EXPECT_EQ(writer.read("").error().code, Errc::closed);
    }
    auto reopened = store::Store::open(file.path(), {store::Sync::normal});
    ASSERT_TRUE(reopened);
    auto records = reopened->scan("");
    ASSERT_TRUE(records);
    EXPECT_EQ(records->size(), 20u);
}

// The poll after a commit finds the next batch (no sleep, no wake-up), and stop() ends a poll
// that would otherwise last a minute: the test would time out.
TEST(StoreWriter, PollsForTheNextBatchAfterACommitAndStopEndsThePoll) {
    TempFile file;
    auto store = store::Store::open(file.path(), {store::Sync::normal});
    ASSERT_TRUE(store);
    Commits commits;
    StoreWriter writer(std::move(*store), commits.callback(), std::chrono::minutes(1));
    commits.writer = &writer;
    writer.write({put("a", "1")}, 1);  // The writer sleeps until this: no commit before it.
    commits.wait_batches(1);
    writer.write({put("b", "2")}, 2);  // The writer polls now, for up to a minute.
    commits.wait_batches(2);
    const auto c = writer.counters();
    EXPECT_EQ(c.commits, 2u);
    EXPECT_EQ(c.polled, 1u);
    writer.stop();  // Ends the poll that followed the second commit.
    writer.join();
}

// A caller the writer answers itself: records each answer's ticket and how many batches the
// writer had reported to `commits` (the loop's on_committed task posted) at that moment.
struct RecordingWaiter final : DurableWaiter {
    explicit RecordingWaiter(Commits& c) : commits(c) {}
    void answer_durable(std::uint64_t ticket) override {
        std::size_t reported = 0;
        {
            std::lock_guard lock(commits.mutex);
            reported = commits.batches;
        }
        std::lock_guard lock(mutex);
        answers.push_back({ticket, reported});
        changed.notify_all();
    }
    void wait_answers(std::size_t n) {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return answers.size() >= n; });
    }
    Commits& commits;
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::pair<std::uint64_t, std::size_t>> answers;  // (ticket, batches reported).
};

// The one-hop completion (docs/mailboxes.md "Completion of a persistent send"): the writer
// answers a batch's caller once, after the commit that holds the batch was reported (so the
// loop's task is queued before the caller wakes), and answers no batch that has no caller.
TEST(StoreWriter, AnswersABatchsCallerOnceAndOnlyAfterReportingItsCommit) {
    TempFile file;
    auto store = store::Store::open(file.path(), {store::Sync::normal});
    ASSERT_TRUE(store);
    Commits commits;
    RecordingWaiter waiter(commits);
    StoreWriter writer(std::move(*store), commits.callback());
    commits.writer = &writer;
    for (std::uint64_t token = 1; token <= 40; ++token) {
        // Every other batch has a caller, whose ticket is 100 + its token.
        const DurableAnswer answer =
            token % 2 == 0 ? DurableAnswer{&waiter, 100 + token} : DurableAnswer{};
        writer.write({put("k" + std::to_string(token), "v")}, token, answer);
    }
    commits.wait_batches(40);
    waiter.wait_answers(20);
    writer.stop();
    writer.join();
    std::lock_guard lock(waiter.mutex);
    ASSERT_EQ(waiter.answers.size(), 20u);
    for (std::size_t i = 0; i < waiter.answers.size(); ++i) {
        const auto [ticket, reported] = waiter.answers[i];
        const std::uint64_t token = 2 * (i + 1);
        EXPECT_EQ(ticket, 100 + token);
        EXPECT_GE(reported, token) << "answered before its commit was reported";
    }
}

// M6: a commit that fails answers no caller from the writer (the loop answers storage_error
// through the engine, from the commit it takes). A closed store fails every commit.
TEST(StoreWriter, AnswersNoCallerOfAFailedCommit) {
    TempFile file;
    auto store = store::Store::open(file.path(), {store::Sync::normal});
    ASSERT_TRUE(store);
    store::Store open = std::move(*store);  // *store is closed now.
    Commits commits;
    RecordingWaiter waiter(commits);
    StoreWriter writer(std::move(*store), commits.callback());
    commits.writer = &writer;
    writer.write({put("a", "1")}, 1, DurableAnswer{&waiter, 7});
    commits.wait_batches(1);
    writer.stop();
    writer.join();
    ASSERT_EQ(commits.ok.size(), 1u);
    EXPECT_FALSE(commits.ok[0]);
    std::lock_guard lock(waiter.mutex);
    EXPECT_TRUE(waiter.answers.empty());
}

// A write's key and value longer than any small-string buffer: a heap block each.
store::Write long_put(std::string_view key, char fill, std::size_t size = 64) {
    return {std::string(key) + std::string(40, '.'), Bytes(size, static_cast<std::uint8_t>(fill))};
}

// The queue and the commit alternate between two vectors of slots: a batch queued after two
// committed ones gets the first one's slots, and the caller gets back that batch's buffers (the
// same heap blocks, freed on the caller's thread), while the store holds the new values.
TEST(StoreWriter, HandsACommittedWritesBuffersBackToTheNextQueuer) {
    TempFile file;
    auto store = store::Store::open(file.path(), {store::Sync::normal});
    ASSERT_TRUE(store);
    Commits commits;
    StoreWriter writer(std::move(*store), commits.callback());
    commits.writer = &writer;
    std::vector<store::Write> first{long_put("a", 'a'), long_put("b", 'b')};
    const void* first_key = first[0].key.data();
    const void* first_value = first[1].value.data();
    writer.write(std::span<store::Write>(first), 1);
    commits.wait_batches(1);
    writer.write({long_put("c", 'c'), long_put("d", 'd')}, 2);
    commits.wait_batches(2);
    EXPECT_EQ(writer.counters().reused, 0u);  // The second vector had no slots yet.
    std::vector<store::Write> third{long_put("a", 'A'), {"b" + std::string(40, '.'), {}, true}};
    writer.write(std::span<store::Write>(third), 3);
    EXPECT_EQ(third[0].key.data(), first_key);
    EXPECT_EQ(third[1].value.data(), first_value);
    commits.wait_batches(3);
    EXPECT_EQ(writer.counters().reused, 2u);
    auto records = writer.read("");
    ASSERT_TRUE(records);
    ASSERT_EQ(records->size(), 3u);  // a (new value), c, d; b erased.
    EXPECT_EQ((*records)[0].first, "a" + std::string(40, '.'));
    EXPECT_EQ((*records)[0].second, Bytes(64, 'A'));
    EXPECT_EQ((*records)[1].first, "c" + std::string(40, '.'));
}

// The kept slots are bounded: no buffer above store_kept_bytes and no more than
// store_kept_writes slots come back.
TEST(StoreWriter, KeepsNoLargeBufferAndAtMostTheBoundOfSlots) {
    TempFile file;
    auto store = store::Store::open(file.path(), {store::Sync::normal});
    ASSERT_TRUE(store);
    Commits commits;
    StoreWriter writer(std::move(*store), commits.callback());
    commits.writer = &writer;
    const std::size_t many = store_kept_writes + 10;
    std::vector<store::Write> first;
    first.push_back(long_put("big", 'x', store_kept_bytes + 1));
    for (std::size_t i = 1; i < many; ++i) first.push_back(long_put(std::to_string(i), 'y'));
    writer.write(std::span<store::Write>(first), 1);
    commits.wait_batches(1);
    writer.write({long_put("other", 'z')}, 2);
    commits.wait_batches(2);
    std::vector<store::Write> third;
    for (std::size_t i = 0; i < many; ++i) third.push_back(long_put(std::to_string(i), 'w'));
    writer.write(std::span<store::Write>(third), 3);
    commits.wait_batches(3);
    EXPECT_EQ(third[0].value.capacity(), 0u);  // The large value was freed, not kept.
    EXPECT_EQ(third[1].value.size(), 64u);     // A kept one came back.
    EXPECT_EQ(writer.counters().reused, store_kept_writes);
    auto big = writer.read("big");
    ASSERT_TRUE(big);
    ASSERT_EQ(big->size(), 1u);
    EXPECT_EQ(big->front().second.size(), store_kept_bytes + 1);
}

}  // namespace
}  // namespace herald::runtime

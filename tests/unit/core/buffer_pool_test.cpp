// Unit tests of BufferPool: bound, reference counting, reuse, options, and a concurrent stress.
// Layer: core.
#include "core/buffer_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <optional>
#include <set>
#include <thread>
#include <vector>

namespace herald {
namespace {

TEST(BufferPool, HandsOutAtMostBufferCountBuffersThenWouldBlock) {
    BufferPool pool(BufferPoolOptions{.buffer_bytes = 100, .buffer_count = 3});
    std::vector<PooledBuffer> held;
    std::set<const std::uint8_t*> distinct;
    for (int i = 0; i < 3; ++i) {
        auto buffer = pool.acquire();
        ASSERT_TRUE(buffer.has_value());
        EXPECT_EQ(buffer->capacity(), 100u);
        EXPECT_EQ(buffer->size(), 0u);
        distinct.insert(buffer->storage().data());
        held.push_back(std::move(*buffer));
    }
    EXPECT_EQ(distinct.size(), 3u);
    EXPECT_EQ(pool.available(), 0u);
    auto none = pool.acquire();
    ASSERT_FALSE(none.has_value());
    EXPECT_EQ(none.error().code, Errc::would_block);
    EXPECT_EQ(pool.exhausted_count(), 1u);
    held.pop_back();
    EXPECT_EQ(pool.available(), 1u);
    EXPECT_TRUE(pool.acquire().has_value());
}

TEST(BufferPool, CopiesShareTheBufferUntilTheLastIsReleased) {
    BufferPool pool(BufferPoolOptions{.buffer_bytes = 64, .buffer_count = 1});
    auto first = pool.acquire();
    ASSERT_TRUE(first.has_value());
    std::memcpy(first->storage().data(), "abc", 3);
    first->set_size(3);
    PooledBuffer copy = *first;
    EXPECT_EQ(copy.use_count(), 2u);
    EXPECT_EQ(copy.bytes().data(), first->bytes().data());
    EXPECT_EQ(as_text(copy.bytes()), "abc");
    first->reset();
    EXPECT_TRUE(first->empty());
    EXPECT_EQ(first->use_count(), 0u);
    EXPECT_EQ(copy.use_count(), 1u);
    EXPECT_EQ(pool.available(), 0u);
    PooledBuffer moved = std::move(copy);
    EXPECT_TRUE(copy.empty());  // NOLINT(bugprone-use-after-move): the contract under test.
    EXPECT_EQ(pool.available(), 0u);
    moved = PooledBuffer();
    EXPECT_EQ(pool.available(), 1u);
}

TEST(BufferPool, AssignmentReleasesTheOldBuffer) {
    BufferPool pool(BufferPoolOptions{.buffer_bytes = 8, .buffer_count = 2});
    PooledBuffer a = *pool.acquire();
    PooledBuffer b = *pool.acquire();
    a = b;  // a's buffer goes back; both share b's.
    EXPECT_EQ(pool.available(), 1u);
    EXPECT_EQ(b.use_count(), 2u);
    PooledBuffer& alias = a;
    a = alias;  // Self-assignment keeps the reference.
    EXPECT_EQ(b.use_count(), 2u);
    EXPECT_EQ(a.storage().data(), b.storage().data());
}

TEST(BufferPool, ReusesReleasedBuffersWithoutGrowing) {
    BufferPool pool(BufferPoolOptions{.buffer_bytes = 1500, .buffer_count = 2});
    std::set<const std::uint8_t*> seen;
    for (int i = 0; i < 1000; ++i) {
        auto buffer = pool.acquire();
        ASSERT_TRUE(buffer.has_value());
        seen.insert(buffer->storage().data());
    }
    EXPECT_LE(seen.size(), 2u);
    EXPECT_EQ(pool.available(), 2u);
}

TEST(BufferPool, AlignsBuffersToCacheLines) {
    BufferPool pool(BufferPoolOptions{.buffer_bytes = 10, .buffer_count = 4});
    for (int i = 0; i < 4; ++i) {
        auto buffer = pool.acquire();
        ASSERT_TRUE(buffer.has_value());
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(buffer->storage().data()) % 64, 0u);
        buffer->storage()[9] = 1;  // The last byte is writable (ASan checks the bound).
    }
}

TEST(BufferPool, HandlesMayOutliveThePool) {
    std::optional<BufferPool> pool(BufferPoolOptions{.buffer_bytes = 32, .buffer_count = 2});
    PooledBuffer survivor = *pool->acquire();
    pool.reset();
    survivor.storage()[31] = 7;  // Storage is still alive (ASan would flag a use after free).
    EXPECT_EQ(survivor.use_count(), 1u);
    survivor.reset();  // Frees the storage; LeakSanitizer checks that it happened.
}

TEST(BufferPool, MovedFromPoolIsEmptyAndTheTargetWorks) {
    BufferPool a(BufferPoolOptions{.buffer_bytes = 8, .buffer_count = 1});
    BufferPool b = std::move(a);
    EXPECT_EQ(a.buffer_count(), 0u);  // NOLINT(bugprone-use-after-move): the contract under test.
    EXPECT_EQ(b.buffer_count(), 1u);
    EXPECT_TRUE(b.acquire().has_value());
}

TEST(BufferPool, CreateRejectsInvalidOptions) {
    EXPECT_EQ(BufferPool::create({.buffer_bytes = 0, .buffer_count = 1}).error().code,
              Errc::invalid_argument);
    EXPECT_EQ(BufferPool::create({.buffer_bytes = 1, .buffer_count = 0}).error().code,
              Errc::invalid_argument);
    EXPECT_EQ(
        BufferPool::create({.buffer_bytes = 1, .buffer_count = std::size_t{1} << 32}).error().code,
        Errc::invalid_argument);
    EXPECT_EQ(BufferPool::create(
                  {.buffer_bytes = std::size_t{1} << 40, .buffer_count = std::size_t{1} << 30})
                  .error()
                  .code,
              Errc::invalid_argument);
    auto ok = BufferPool::create({.buffer_bytes = 16, .buffer_count = 4});
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(ok->buffer_bytes(), 16u);
    EXPECT_EQ(ok->available(), 4u);
}

TEST(BufferPool, StaysConsistentUnderConcurrentAcquireCopyAndRelease) {
    constexpr int threads = 4;
    constexpr int rounds = 20000;
    BufferPool pool(BufferPoolOptions{.buffer_bytes = 64, .buffer_count = 8});
    std::atomic<int> corrupt{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&pool, &corrupt, t] {
            for (int i = 0; i < rounds; ++i) {
                auto buffer = pool.acquire();
                if (!buffer) continue;  // Exhausted: the bound holds; try again.
                const auto mark = static_cast<std::uint8_t>(t * 50 + i % 50);
                std::memset(buffer->storage().data(), mark, 64);
                PooledBuffer copy = *buffer;
                buffer->reset();
                // Nobody else may write to a buffer we still hold.
                for (std::uint8_t byte : copy.storage()) corrupt += byte != mark ? 1 : 0;
            }
        });
    }
    for (auto& worker : workers) worker.join();
    EXPECT_EQ(corrupt.load(), 0);
    EXPECT_EQ(pool.available(), 8u);
}

}  // namespace
}  // namespace herald

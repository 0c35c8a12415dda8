// BufferPool: a bounded set of fixed-size byte buffers with reference-counted handles, so the
// steady-state send and receive paths do not allocate (the lecture's fixed-length messages).
// Layer: core. Thread-safe and lock-free: acquire and release from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/assert.h"
#include "core/bytes.h"
#include "core/result.h"

namespace herald {

struct BufferPoolOptions {
    std::size_t buffer_bytes = 2048;  // Capacity of each buffer; fits a 1500-byte MTU datagram.
    std::size_t buffer_count = 1024;  // The pool never holds more (no fallback allocation).
};

namespace detail {
struct BufferPoolState;
}

// A shared reference to one pool buffer. Copying shares the buffer (one more reference); the last
// handle to go returns the buffer to its pool. An empty handle (default-constructed or moved-from)
// refers to nothing. Handles may be copied and released on any thread, and may outlive their
// BufferPool object (the storage lives until the last buffer comes back).
// Contents: write through storage() before sharing the handle with other threads; the pool does
// not synchronise concurrent writes to one buffer. size() is a property of each handle (copies take
// the size at copy time), so set_size() on one handle does not race with readers of another.
class PooledBuffer {
public:
    PooledBuffer() noexcept = default;
    PooledBuffer(const PooledBuffer& other) noexcept;
    PooledBuffer(PooledBuffer&& other) noexcept;
    PooledBuffer& operator=(const PooledBuffer& other) noexcept;
    PooledBuffer& operator=(PooledBuffer&& other) noexcept;
    ~PooledBuffer() { reset(); }

    [[nodiscard]] bool empty() const noexcept { return state_ == nullptr; }
    explicit operator bool() const noexcept { return state_ != nullptr; }

    // The whole buffer (capacity() bytes), for writing; empty span on an empty handle.
    [[nodiscard]] std::span<std::uint8_t> storage() const noexcept { return {data_, capacity_}; }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

    // The bytes in use: the first size() bytes. A fresh buffer has size() == 0.
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] ByteView bytes() const noexcept { return {data_, size_}; }
    // Precondition (asserted): size <= capacity().
    void set_size(std::size_t size) noexcept {
        HERALD_ASSERT(size <= capacity_);
        size_ = size;
    }

    // Number of handles sharing this buffer (0 for an empty handle). A snapshot under threads.
    [[nodiscard]] std::uint32_t use_count() const noexcept;

    // Drops this handle's reference now (the handle becomes empty).
    void reset() noexcept;

private:
    friend class BufferPool;
    PooledBuffer(detail::BufferPoolState* state, std::uint32_t index, std::uint8_t* data,
                 std::size_t capacity) noexcept
        : state_(state), data_(data), capacity_(capacity), index_(index) {}

    detail::BufferPoolState* state_ = nullptr;
    std::uint8_t* data_ = nullptr;
    std::size_t capacity_ = 0;
    std::size_t size_ = 0;
    std::uint32_t index_ = 0;
};

// Owns `buffer_count` buffers of `buffer_bytes` each, allocated once at construction.
class BufferPool {
public:
    // Errc::invalid_argument: buffer_bytes or buffer_count is 0, buffer_count >= 2^32 - 1, or
    // buffer_bytes * buffer_count overflows.
    [[nodiscard]] static Result<BufferPool> create(const BufferPoolOptions& options);
    // Same, with valid options as a precondition (asserted): for fixed, compiled-in sizes.
    explicit BufferPool(const BufferPoolOptions& options);

    BufferPool(BufferPool&& other) noexcept;
    BufferPool& operator=(BufferPool&& other) noexcept;
    BufferPool(const BufferPool&) = delete;
    BufferPool& operator=(const BufferPool&) = delete;
    // Buffers still held by handles stay valid; their storage goes with the last of them.
    ~BufferPool();

    // Takes a free buffer (size() == 0, contents unspecified). Never allocates and never blocks:
    // Errc::would_block when every buffer is in use (the caller drops, queues or retries, as
    // Aeron's back-pressure). Any thread.
    [[nodiscard]] Result<PooledBuffer> acquire() noexcept;

    [[nodiscard]] std::size_t buffer_bytes() const noexcept;
    [[nodiscard]] std::size_t buffer_count() const noexcept;
    // Free buffers right now (a snapshot under threads).
    [[nodiscard]] std::size_t available() const noexcept;
    // How many acquire() calls found the pool empty, since construction.
    [[nodiscard]] std::uint64_t exhausted_count() const noexcept;

private:
    detail::BufferPoolState* state_ = nullptr;  // Shared with the handles (see ~BufferPool).
};

}  // namespace herald

// BufferPool implementation: one aligned allocation, a lock-free free list (a Treiber stack with
// a generation tag against ABA) and per-buffer atomic reference counts. Layer: core.
#include "core/buffer_pool.h"

#include <atomic>
#include <limits>
#include <memory>
#include <new>
#include <utility>

namespace herald {
namespace detail {
namespace {

// Buffers start on cache-line boundaries so that two threads working on neighbouring buffers do
// not share a line.
constexpr std::size_t buffer_alignment = 64;
constexpr std::uint32_t no_index = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint64_t index_mask = 0xFFFFFFFFull;

std::size_t round_up(std::size_t n, std::size_t to) {
    return (n + to - 1) / to * to;
}

}  // namespace

// Outside the anonymous namespace: BufferPoolState's member uses it (g++ -Wsubobject-linkage
// in a unity build).
struct AlignedDelete {
    void operator()(std::uint8_t* p) const {
        ::operator delete[](p, std::align_val_t{buffer_alignment});
    }
};

struct Slot {
    std::atomic<std::uint32_t> refs{0};
    std::atomic<std::uint32_t> next{no_index};  // Free-list link; read racily by pop, so atomic.
};

struct BufferPoolState {
    BufferPoolState(std::size_t bytes, std::size_t count)
        : buffer_bytes(bytes),
          buffer_count(count),
          stride(round_up(bytes, buffer_alignment)),
          storage(static_cast<std::uint8_t*>(
              ::operator new[](stride* count, std::align_val_t{buffer_alignment}))),
          slots(new Slot[count]) {
        for (std::size_t i = 0; i < count; ++i) {
            const std::size_t next = i + 1 < count ? i + 1 : no_index;
            slots[i].next.store(static_cast<std::uint32_t>(next), std::memory_order_relaxed);
        }
        free_head.store(0, std::memory_order_relaxed);  // Tag 0, index 0.
        free_count.store(count, std::memory_order_relaxed);
    }

    std::uint8_t* data(std::uint32_t index) const { return storage.get() + stride * index; }

    std::uint32_t pop() noexcept {
        std::uint64_t head = free_head.load(std::memory_order_acquire);
        for (;;) {
            const auto index = static_cast<std::uint32_t>(head & index_mask);
            if (index == no_index) return no_index;
            const std::uint32_t next = slots[index].next.load(std::memory_order_relaxed);
            const std::uint64_t tag = (head >> 32) + 1;
            if (free_head.compare_exchange_weak(head, tag << 32 | next, std::memory_order_acq_rel,
                                                std::memory_order_acquire)) {
                free_count.fetch_sub(1, std::memory_order_relaxed);
                return index;
            }
        }
    }

    void push(std::uint32_t index) noexcept {
        std::uint64_t head = free_head.load(std::memory_order_relaxed);
        for (;;) {
            slots[index].next.store(static_cast<std::uint32_t>(head & index_mask),
                                    std::memory_order_relaxed);
            const std::uint64_t tag = (head >> 32) + 1;
            if (free_head.compare_exchange_weak(head, tag << 32 | index, std::memory_order_release,
                                                std::memory_order_relaxed)) {
                free_count.fetch_add(1, std::memory_order_relaxed);
                return;
            }
        }
    }

    // One life for the pool object plus one per buffer out in handles; the last to go deletes.
    void release_life() noexcept {
        if (lives.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }

    const std::size_t buffer_bytes;
    const std::size_t buffer_count;
    const std::size_t stride;
    std::unique_ptr<std::uint8_t[], AlignedDelete> storage;
    std::unique_ptr<Slot[]> slots;
    std::atomic<std::uint64_t> free_head{0};  // Generation tag << 32 | index of the top.
    std::atomic<std::size_t> free_count{0};
    std::atomic<std::size_t> lives{1};
    std::atomic<std::uint64_t> exhausted{0};
};

}  // namespace detail

PooledBuffer::PooledBuffer(const PooledBuffer& other) noexcept
    : state_(other.state_),
      data_(other.data_),
      capacity_(other.capacity_),
      size_(other.size_),
      index_(other.index_) {
    if (state_ != nullptr) state_->slots[index_].refs.fetch_add(1, std::memory_order_relaxed);
}

PooledBuffer::PooledBuffer(PooledBuffer&& other) noexcept
    : state_(std::exchange(other.state_, nullptr)),
      data_(std::exchange(other.data_, nullptr)),
      capacity_(std::exchange(other.capacity_, 0)),
      size_(std::exchange(other.size_, 0)),
      index_(std::exchange(other.index_, 0)) {}

PooledBuffer& PooledBuffer::operator=(const PooledBuffer& other) noexcept {
    if (this != &other) *this = PooledBuffer(other);
    return *this;
}

PooledBuffer& PooledBuffer::operator=(PooledBuffer&& other) noexcept {
    if (this != &other) {
        reset();
        state_ = std::exchange(other.state_, nullptr);
        data_ = std::exchange(other.data_, nullptr);
        capacity_ = std::exchange(other.capacity_, 0);
        size_ = std::exchange(other.size_, 0);
        index_ = std::exchange(other.index_, 0);
    }
    return *this;
}

std::uint32_t PooledBuffer::use_count() const noexcept {
    if (state_ == nullptr) return 0;
    return state_->slots[index_].refs.load(std::memory_order_relaxed);
}

void PooledBuffer::reset() noexcept {
    if (state_ == nullptr) return;
    detail::BufferPoolState* state = std::exchange(state_, nullptr);
    // acq_rel: the last releaser sees every write made through the other handles before it
    // hands the buffer to the next acquirer.
    if (state->slots[index_].refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        state->push(index_);
        state->release_life();
    }
    data_ = nullptr;
    capacity_ = 0;
    size_ = 0;
    index_ = 0;
}

Result<BufferPool> BufferPool::create(const BufferPoolOptions& options) {
    if (options.buffer_bytes == 0 || options.buffer_count == 0) {
        return fail(Errc::invalid_argument, "buffer pool: buffer size and count must be > 0");
    }
    if (options.buffer_count >= detail::no_index) {
        return fail(Errc::invalid_argument, "buffer pool: more than 2^32 - 2 buffers");
    }
    const std::size_t stride = detail::round_up(options.buffer_bytes, detail::buffer_alignment);
    if (stride < options.buffer_bytes ||
        stride > std::numeric_limits<std::size_t>::max() / options.buffer_count) {
        return fail(Errc::invalid_argument, "buffer pool: total size overflows");
    }
    return BufferPool(options);
}

BufferPool::BufferPool(const BufferPoolOptions& options) {
    HERALD_ASSERT(options.buffer_bytes > 0);
    HERALD_ASSERT(options.buffer_count > 0);
    HERALD_ASSERT(options.buffer_count < detail::no_index);
    state_ = new detail::BufferPoolState(options.buffer_bytes, options.buffer_count);
}

BufferPool::BufferPool(BufferPool&& other) noexcept
    : state_(std::exchange(other.state_, nullptr)) {}

BufferPool& BufferPool::operator=(BufferPool&& other) noexcept {
    if (this != &other) {
        if (state_ != nullptr) state_->release_life();
        state_ = std::exchange(other.state_, nullptr);
    }
    return *this;
}

BufferPool::~BufferPool() {
    if (state_ != nullptr) state_->release_life();
}

Result<PooledBuffer> BufferPool::acquire() noexcept {
    HERALD_ASSERT(state_ != nullptr);  // Not a moved-from pool.
    const std::uint32_t index = state_->pop();
    if (index == detail::no_index) {
        state_->exhausted.fetch_add(1, std::memory_order_relaxed);
        return fail(Errc::would_block);
    }
    state_->slots[index].refs.store(1, std::memory_order_relaxed);
    state_->lives.fetch_add(1, std::memory_order_relaxed);
    return PooledBuffer(state_, index, state_->data(index), state_->buffer_bytes);
}

std::size_t BufferPool::buffer_bytes() const noexcept {
    return state_ == nullptr ? 0 : state_->buffer_bytes;
}

std::size_t BufferPool::buffer_count() const noexcept {
    return state_ == nullptr ? 0 : state_->buffer_count;
}

std::size_t BufferPool::available() const noexcept {
    return state_ == nullptr ? 0 : state_->free_count.load(std::memory_order_relaxed);
}

std::uint64_t BufferPool::exhausted_count() const noexcept {
    return state_ == nullptr ? 0 : state_->exhausted.load(std::memory_order_relaxed);
}

}  // namespace herald

// NodePool and PoolAllocator: recycle the nodes of the mailbox engine's per-message tables
// (std::map nodes of outstanding requests, seen message ids, writes in flight and queued
// messages), so that a steady stream of messages does not call the heap for each entry.
// Layer: proto/mailbox. Single-threaded, like the engine that owns the pools.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>

namespace herald::proto::mailbox {

// A free list of equal-sized blocks. The first block taken sets the pool's block size; a block
// of another size (a table rebinding its allocator to another type) goes to the heap directly.
// Bound: the pool keeps at most `kept_max` freed blocks for reuse and returns any block freed
// beyond that to the heap, so its memory is at most kept_max blocks besides those in use (which
// the tables bound: requests_max, seen_max, capacities). The pool must outlive every block it
// handed out that is still in use; its destructor returns the kept blocks to the heap.
class NodePool {
public:
    explicit NodePool(std::size_t kept_max) : kept_max_(kept_max) {}
    NodePool(const NodePool&) = delete;
    NodePool& operator=(const NodePool&) = delete;
    ~NodePool() {
        while (free_ != nullptr) {
            Free* next = free_->next;
            ::operator delete(free_);
            free_ = next;
        }
    }

    [[nodiscard]] void* take(std::size_t bytes) {
        if (block_bytes_ == 0) block_bytes_ = bytes;
        if (!fits(bytes) || free_ == nullptr) return ::operator new(bytes);
        Free* block = free_;
        free_ = block->next;
        --kept_;
        return block;
    }
    void give(void* block, std::size_t bytes) noexcept {
        if (!fits(bytes) || kept_ >= kept_max_) return ::operator delete(block);
        free_ = ::new (block) Free{free_};
        ++kept_;
    }

    [[nodiscard]] std::size_t kept() const { return kept_; }
    [[nodiscard]] std::size_t kept_max() const { return kept_max_; }

private:
    struct Free {
        Free* next;
    };
    [[nodiscard]] bool fits(std::size_t bytes) const {
        return bytes == block_bytes_ && bytes >= sizeof(Free);
    }

    std::size_t kept_max_;
    std::size_t block_bytes_ = 0;
    std::size_t kept_ = 0;
    Free* free_ = nullptr;
};

// An allocator for node-based containers that takes single nodes from a NodePool (arrays, and
// every allocation of an allocator without a pool, go to the heap). Containers that share a
// pool compare equal; moves and swaps carry the pool along.
template <class T>
class PoolAllocator {
public:
    using value_type = T;
    using propagate_on_container_move_assignment = std::true_type;
    using propagate_on_container_swap = std::true_type;
    using propagate_on_container_copy_assignment = std::true_type;

    PoolAllocator() noexcept = default;
    explicit PoolAllocator(NodePool* pool) noexcept : pool_(pool) {}
    template <class U>
    PoolAllocator(const PoolAllocator<U>& other) noexcept : pool_(other.pool()) {}  // NOLINT

    [[nodiscard]] T* allocate(std::size_t n) {
        static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
        if (pool_ == nullptr || n != 1) return static_cast<T*>(::operator new(n * sizeof(T)));
        return static_cast<T*>(pool_->take(sizeof(T)));
    }
    void deallocate(T* p, std::size_t n) noexcept {
        if (pool_ == nullptr || n != 1) return ::operator delete(p);
        pool_->give(p, sizeof(T));
    }

    [[nodiscard]] NodePool* pool() const noexcept { return pool_; }
    template <class U>
    bool operator==(const PoolAllocator<U>& other) const noexcept {
        return pool_ == other.pool();
    }

private:
    NodePool* pool_ = nullptr;
};

// An empty container of type `Container` whose nodes come from `pool`.
template <class Container>
[[nodiscard]] Container pooled(NodePool& pool) {
    return Container(typename Container::allocator_type(&pool));
}

}  // namespace herald::proto::mailbox

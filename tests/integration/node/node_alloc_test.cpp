// An empty poll (try_receive on an empty inbox) allocates nothing: it is the hot path of a
// polling receiver. What an idle process holds on the heap, and that spawning and ending many
// gives it all back (issue 17 item 4). Replaces the global operator new to count, so it is not
// built with TSan (whose runtime defines operator new itself).
#include <malloc.h>

#include <chrono>
#include <cstdlib>
#include <new>
#include <thread>
#include <vector>

#include "node_test_support.h"

// Counts allocations on the thread that asks (the test's), to check a hot path allocates none.
namespace {
thread_local bool counting = false;
thread_local std::size_t allocations = 0;
}  // namespace

void* operator new(std::size_t size) {
    if (counting) ++allocations;
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}

namespace herald {
namespace {

using namespace herald::testing;

TEST(NodeAllocations, AnEmptyPollAllocatesNothing) {
    auto node = start_node();
    Process process = spawn(*node);
    ASSERT_EQ(code(process.try_receive()), Errc::would_block);  // Warm up.
    allocations = 0;
    counting = true;
    const auto polled = process.try_receive();
    counting = false;
    EXPECT_EQ(code(polled), Errc::would_block);
    EXPECT_EQ(allocations, 0u);
}

// Bytes in use on the malloc heap, every arena (glibc; what the node's threads allocate too).
std::size_t heap_in_use() {
    return ::mallinfo2().uordblks;
}

// A spawned, never used process costs its runtime ProcessState, the node's table entry and the
// direct engine's LocalProcess entry: 416 B of heap when written (docs/performance.md, "Scale").
// The bound fails with the inbox deque made eagerly again (+576 B) or with the per-process
// channel sets back in LocalProcess (+96 B).
TEST(NodeAllocations, AnIdleProcessHoldsAtMost480BytesOfHeap) {
    constexpr std::size_t warm = 100, measured = 1900;
    auto node = start_node();
    std::vector<Process> processes;
    processes.reserve(warm + measured);
    for (std::size_t i = 0; i < warm; ++i) processes.push_back(spawn(*node));
    const std::size_t before = heap_in_use();
    for (std::size_t i = 0; i < measured; ++i) processes.push_back(spawn(*node));
    const std::size_t per_process = (heap_in_use() - before) / measured;
    EXPECT_LE(per_process, 480u);
    RecordProperty("heap_bytes_per_idle_process", static_cast<int>(per_process));
}

// Processes that sent a message to themselves and took it (so each made its send ring, its
// inbox and a channel pair), then exited, leave nothing behind once the node has ended them
// (an ASan build also reports any leak at exit).
TEST(NodeAllocations, SpawningAndEndingManyProcessesGivesTheHeapBack) {
    constexpr std::size_t count = 1000;
    auto node = start_node();
    auto use_and_exit = [&](std::size_t n) {
        std::vector<Process> processes;
        for (std::size_t i = 0; i < n; ++i) processes.push_back(spawn(*node));
        for (Process& process : processes) {
            ASSERT_TRUE(process.send(process.pid(), Bytes{1, 2, 3}));
            ASSERT_TRUE(process.receive(std::chrono::seconds(5)));
        }
        for (Process& process : processes) process.exit();
    };
    // Exits finish on the loop thread: poll.
    auto wait_until_ended = [&] {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (node->stats().processes > 0 && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        EXPECT_EQ(node->stats().processes, 0u);
    };
    use_and_exit(count / 10);  // Warm up the node's tables.
    wait_until_ended();
    const std::size_t before = heap_in_use();
    use_and_exit(count);
    wait_until_ended();
    const std::size_t after = heap_in_use();
    // What stays is table capacity (hash buckets, the engine's spare body holders, bounded by
    // spare_bodies_max) and the timers of the released channels, which stay set in the loop's
    // TimerSet until they fire (72 B each, heaptrack): about 100-200 B per ended process when
    // written, far from the ~4.7 KB each held while it lived (ring, inbox, channels) or the
    // 576 B of an inbox alone; a leaked ProcessState, ring or inbox fails this.
    EXPECT_LT(after > before ? after - before : 0, count * 256);
}

}  // namespace
}  // namespace herald

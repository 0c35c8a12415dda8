// An empty poll (try_receive on an empty inbox) allocates nothing: it is the hot path of a
// polling receiver. Replaces the global operator new to count, so it is not built with TSan
// (whose runtime defines operator new itself).
#include <cstdlib>
#include <new>

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

}  // namespace
}  // namespace herald

// Micro-benchmarks of the buffer pool (core/buffer_pool.h): acquire and release on one thread,
// sharing a handle, and two threads acquiring and releasing at once (the loop thread and an
// application thread). Layer: bench.
#include <benchmark/benchmark.h>

#include "core/buffer_pool.h"

namespace herald {
namespace {

BufferPool& shared_pool() {
    static BufferPool pool(BufferPoolOptions{2048, 1024});
    return pool;
}

void BM_AcquireRelease(benchmark::State& state) {
    BufferPool pool(BufferPoolOptions{2048, 1024});
    for (auto _ : state) {
        auto buffer = pool.acquire();
        benchmark::DoNotOptimize(buffer);
    }
}
BENCHMARK(BM_AcquireRelease);

// A batch of buffers held at once, as a recvmmsg of 64 datagrams would hold them.
void BM_AcquireReleaseBatch64(benchmark::State& state) {
    BufferPool pool(BufferPoolOptions{2048, 1024});
    std::vector<PooledBuffer> held(64);
    for (auto _ : state) {
        for (auto& slot : held) slot = *pool.acquire();
        for (auto& slot : held) slot.reset();
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(held.size()));
}
BENCHMARK(BM_AcquireReleaseBatch64);

void BM_ShareHandle(benchmark::State& state) {
    BufferPool pool(BufferPoolOptions{2048, 16});
    PooledBuffer buffer = *pool.acquire();
    for (auto _ : state) {
        PooledBuffer copy = buffer;
        benchmark::DoNotOptimize(copy);
    }
}
BENCHMARK(BM_ShareHandle);

// Every thread takes and returns buffers from one pool: the cost under contention.
void BM_AcquireReleaseContended(benchmark::State& state) {
    BufferPool& pool = shared_pool();
    for (auto _ : state) {
        auto buffer = pool.acquire();
        benchmark::DoNotOptimize(buffer);
    }
}
BENCHMARK(BM_AcquireReleaseContended)->Threads(1)->Threads(2);

}  // namespace
}  // namespace herald

// Incarnation: a new, greater number at every start of a node, kept in its store when it has
// one. Layer: runtime.
#include "runtime/incarnation.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <limits>
#include <string>
#include <system_error>

#include "core/assert.h"
#include "proto/rpc/reply_cache.h"

namespace herald::runtime {

namespace {

static_assert(proto::rpc::ReplyCache::reserved_key(incarnation_key));  // Out of handlers' reach.

constexpr std::uint8_t record_version = 1;
constexpr std::size_t record_bytes = 5;  // Version, then the u32 little-endian.
constexpr std::uint32_t incarnation_max = std::numeric_limits<std::uint32_t>::max();

Bytes encode(std::uint32_t incarnation) {
    Bytes value{record_version};
    for (int shift = 0; shift < 32; shift += 8) {
        value.push_back(static_cast<std::uint8_t>(incarnation >> shift));
    }
    return value;
}

// The last incarnation claimed in `store`; 0 when none was.
Result<std::uint32_t> last_claimed(const store::Store& store) {
    const auto stored = store.get(incarnation_key);
    if (!stored) return fail(stored.error());
    if (!stored->has_value()) return 0;
    const Bytes& value = **stored;
    if (value.size() != record_bytes || value[0] != record_version) {
        return fail(Errc::storage_error,
                    "unreadable record " + std::string(incarnation_key) + " in " + store.path());
    }
    std::uint32_t incarnation = 0;
    for (std::size_t i = record_bytes - 1; i >= 1; --i) incarnation = incarnation << 8 | value[i];
    return incarnation;
}

}  // namespace

std::string node_store_path(const std::string& data_dir) {
    return (std::filesystem::path(data_dir) / "herald.db").string();
}

Result<store::Store> open_node_store(const std::string& data_dir, store::Sync sync) {
    std::error_code ec;
    std::filesystem::create_directories(data_dir, ec);
    if (ec)
        return fail(Errc::io_error, "cannot create data_dir '" + data_dir + "': " + ec.message());
    return store::Store::open(node_store_path(data_dir), store::StoreOptions{sync});
}

std::uint32_t clock_incarnation(std::int64_t unix_ns) {
    constexpr std::int64_t epoch_2024_unix_ds = 1'704'067'200LL * 10;
    const std::int64_t ds = unix_ns / 100'000'000 - epoch_2024_unix_ds;
    return static_cast<std::uint32_t>(std::clamp<std::int64_t>(ds, 1, incarnation_max));
}

Result<std::uint32_t> claim_incarnation(store::Store& store, std::int64_t unix_ns) {
    HERALD_TRY(const std::uint32_t last, last_claimed(store));
    if (last == incarnation_max) {
        return fail(Errc::storage_error, "every incarnation up to 4294967295 was claimed in " +
                                             store.path() + " (a new data_dir starts over)");
    }
    const std::uint32_t claimed = std::max(clock_incarnation(unix_ns), last + 1);
    HERALD_TRY(store.put(incarnation_key, encode(claimed)));
    HERALD_ASSERT(claimed > last);
    HERALD_ASSERT(claimed != 0);
    return claimed;
}

std::uint32_t next_incarnation_in_process(std::int64_t unix_ns) {
    static std::atomic<std::uint32_t> last{0};
    const std::uint32_t candidate = clock_incarnation(unix_ns);
    std::uint32_t previous = last.load();
    std::uint32_t chosen = 0;
    do {
        // At the top, stay there rather than wrap to 0 ("unknown"): see the header's limit.
        chosen = std::max(candidate, previous == incarnation_max ? previous : previous + 1);
    } while (!last.compare_exchange_weak(previous, chosen));
    return chosen;
}

Result<std::uint32_t> start_incarnation(const NodeConfig& config, std::int64_t unix_ns) {
    if (config.data_dir.empty()) return next_incarnation_in_process(unix_ns);
    // Sync::full whatever config.rpc.sync says: one fsync per start, and an incarnation that a
    // power loss rolled back could be handed out twice.
    HERALD_TRY(store::Store store, open_node_store(config.data_dir, store::Sync::full));
    return claim_incarnation(store, unix_ns);
}

}  // namespace herald::runtime

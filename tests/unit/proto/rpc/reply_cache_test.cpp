// Unit tests of the reply cache table: bounds, byte counting, client floors, record codec.
#include "proto/rpc/reply_cache.h"

#include <gtest/gtest.h>

namespace herald::proto::rpc {
namespace {

Entry entry_for(std::uint64_t seq, EntryState state, std::uint64_t execution) {
    Entry e;
    e.route = Route{Pid{NodeId{0xA}, 7}, Pid{NodeId{0xB}, 9}, CallId{2, seq},
                    Mode{Protocol::rra, Semantics::exactly_once}, 1};
    e.state = state;
    e.execution = execution;
    e.operation = "add";
    return e;
}

TEST(ReplyCache, CountsBytesAndRefusesWhenFull) {
    RpcOptions options;
    options.cache_entries_max = 2;
    options.cache_bytes_max = 1000;
    ReplyCache cache(options);
    EXPECT_FALSE(cache.full(0, false));
    auto& first = cache.insert(CallKey{NodeId{0xA}, 2, 1}, entry_for(1, EntryState::done, 1));
    const auto base = cache.bytes();
    first.response = Bytes(300, 1);
    cache.recount(first);
    EXPECT_EQ(cache.bytes(), base + 300);
    EXPECT_TRUE(cache.full(600, false));  // Bytes bound.
    EXPECT_FALSE(cache.full(10, false));
    cache.insert(CallKey{NodeId{0xA}, 2, 2}, entry_for(2, EntryState::executing, 2));
    EXPECT_TRUE(cache.full(0, false));  // Entries bound.
    EXPECT_EQ(cache.find_execution(2)->route.id.seq, 2u);
    cache.erase(CallKey{NodeId{0xA}, 2, 1});
    cache.erase(CallKey{NodeId{0xA}, 2, 2});
    EXPECT_EQ(cache.bytes(), 0u);
    EXPECT_EQ(cache.find_execution(2), nullptr);
}

TEST(ReplyCache, AnEntryInAReusedNodeHasOnlyItsOwnKeyExecutionAndReply) {
    RpcOptions options;
    ReplyCache cache(options);
    const CallKey old_key{NodeId{0xA}, 2, 1};
    auto old_entry = entry_for(1, EntryState::done, 1);
    old_entry.response = Bytes(300, 7);
    cache.insert(old_key, std::move(old_entry));
    const auto fresh_bytes = [&] {
        ReplyCache other(options);
        other.insert(CallKey{NodeId{0xC}, 2, 9}, entry_for(9, EntryState::executing, 5));
        return other.bytes();
    }();
    cache.erase(old_key);
    EXPECT_EQ(cache.spares(), 1u);
    EXPECT_EQ(cache.bytes(), 0u);
    const CallKey new_key{NodeId{0xC}, 2, 9};
    Entry& stored = cache.insert(new_key, entry_for(9, EntryState::executing, 5));
    EXPECT_EQ(cache.spares(), 0u);
    EXPECT_EQ(cache.find(old_key), nullptr);
    EXPECT_EQ(cache.find(new_key), &stored);
    EXPECT_EQ(cache.find_execution(1), nullptr);
    EXPECT_EQ(cache.find_execution(5), &stored);
    EXPECT_EQ(stored.route.id.seq, 9u);
    EXPECT_EQ(stored.state, EntryState::executing);
    ASSERT_TRUE(stored.response.has_value());
    EXPECT_TRUE(stored.response->empty());
    EXPECT_EQ(cache.bytes(), fresh_bytes);
    EXPECT_EQ(cache.below(NodeId{0xA}, 3, 100).size(), 0u);
    // The spare nodes are bounded: erasing more entries than spare_max keeps spare_max.
    for (std::uint64_t seq = 1; seq <= ReplyCache::spare_max + 10; ++seq) {
        cache.insert(CallKey{NodeId{0xB}, 1, seq}, entry_for(seq, EntryState::done, 100 + seq));
    }
    for (std::uint64_t seq = 1; seq <= ReplyCache::spare_max + 10; ++seq) {
        cache.erase(CallKey{NodeId{0xB}, 1, seq});
    }
    EXPECT_EQ(cache.spares(), ReplyCache::spare_max);
    EXPECT_EQ(cache.entries(), 1u);
}

TEST(ReplyCache, BelowListsOlderIncarnationsAndSeqsUnderTheFloor) {
    RpcOptions options;
    ReplyCache cache(options);
    const NodeId a{0xA}, c{0xC};
    cache.insert(CallKey{a, 1, 50}, entry_for(50, EntryState::done, 1));
    cache.insert(CallKey{a, 2, 3}, entry_for(3, EntryState::done, 2));
    cache.insert(CallKey{a, 2, 9}, entry_for(9, EntryState::done, 3));
    cache.insert(CallKey{c, 1, 1}, entry_for(1, EntryState::done, 4));
    const auto keys = cache.below(a, 2, 9);
    ASSERT_EQ(keys.size(), 2u);
    EXPECT_EQ(keys[0], (CallKey{a, 1, 50}));
    EXPECT_EQ(keys[1], (CallKey{a, 2, 3}));
    EXPECT_EQ(cache.of_client(a).size(), 3u);
}

TEST(ReplyCache, RecordsRoundTripAndInFlightReadsAsCrashed) {
    RpcOptions options;
    ReplyCache source(options);
    auto done = entry_for(5, EntryState::done, 1);
    done.response = to_bytes("reply");
    auto failed = entry_for(6, EntryState::done, 2);
    failed.response = fail(Errc::application_error, "boom");
    const auto running = entry_for(7, EntryState::executing, 3);
    const auto acked = entry_for(8, EntryState::acked, 4);
    ClientRecord client;
    client.incarnation = 2;
    client.floor = 5;
    const std::vector<std::pair<std::string, Bytes>> records = {
        {ReplyCache::entry_key(CallKey{NodeId{0xA}, 2, 5}),
         ReplyCache::encode_entry(done, EntryState::done)},
        {ReplyCache::entry_key(CallKey{NodeId{0xA}, 2, 6}),
         ReplyCache::encode_entry(failed, EntryState::done)},
        {ReplyCache::entry_key(CallKey{NodeId{0xA}, 2, 7}),
         ReplyCache::encode_entry(running, EntryState::executing)},
        {ReplyCache::entry_key(CallKey{NodeId{0xA}, 2, 8}),
         ReplyCache::encode_entry(acked, EntryState::acked)},
        {ReplyCache::floor_key(NodeId{0xA}), ReplyCache::encode_floor(client)},
    };
    ReplyCache restored(options);
    EXPECT_EQ(restored.restore(records), 0u);
    EXPECT_EQ(restored.entries(), 4u);
    EXPECT_EQ(restored.find(CallKey{NodeId{0xA}, 2, 5})->response, to_bytes("reply"));
    EXPECT_EQ(restored.find(CallKey{NodeId{0xA}, 2, 6})->response.error().detail, "boom");
    EXPECT_EQ(restored.find(CallKey{NodeId{0xA}, 2, 7})->state, EntryState::crashed);
    EXPECT_EQ(restored.find(CallKey{NodeId{0xA}, 2, 8})->state, EntryState::acked);
    EXPECT_TRUE(restored.find(CallKey{NodeId{0xA}, 2, 5})->durable);
    ASSERT_NE(restored.client(NodeId{0xA}), nullptr);
    EXPECT_EQ(restored.client(NodeId{0xA})->floor, 5u);
    EXPECT_EQ(restored.client(NodeId{0xA})->floor_durable, 5u);
}

TEST(ReplyCache, TruncatedOrForeignRecordsAreCountedNotLoaded) {
    RpcOptions options;
    ReplyCache cache(options);
    auto done = entry_for(5, EntryState::done, 1);
    done.response = to_bytes("reply");
    auto value = ReplyCache::encode_entry(done, EntryState::done);
    std::vector<std::pair<std::string, Bytes>> records;
    for (std::size_t cut = 0; cut < value.size(); ++cut) {
        records.push_back({ReplyCache::entry_key(CallKey{NodeId{0xA}, 2, 100 + cut}),
                           Bytes(value.begin(), value.begin() + static_cast<long>(cut))});
    }
    records.push_back({"rpc/c/0000000000000000/00000002/0000000000000001", value});  // Node 0.
    records.push_back({"rpc/c/short", value});
    records.push_back({"rpc/x/other", value});
    records.push_back({"mailbox/1", value});  // Not ours: ignored, not counted.
    EXPECT_EQ(cache.restore(records), value.size() + 3);
    EXPECT_EQ(cache.entries(), 0u);
}

}  // namespace
}  // namespace herald::proto::rpc

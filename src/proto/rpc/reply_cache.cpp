// The server's call table and its durable record codec. Layer: proto/rpc.
#include "proto/rpc/reply_cache.h"

#include <charconv>

#include "core/assert.h"
#include "core/memory.h"

namespace herald::proto::rpc {
namespace {

// Fixed cost charged per entry besides its bodies: the map node, the strings' headers and the
// route. An estimate; it keeps a flood of tiny calls inside the byte bound too.
constexpr std::uint64_t entry_overhead_bytes = 192;
constexpr std::uint8_t record_version = 1;
constexpr std::string_view entry_prefix = "rpc/c/";
constexpr std::string_view floor_prefix = "rpc/f/";

void put_hex(std::string& out, std::uint64_t value, int digits) {
    static constexpr char hex[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; --i) out.push_back(hex[(value >> (4 * i)) & 0xf]);
}

// Parses exactly `digits` lowercase hex digits at `text[offset]` followed by `end` (or the end
// of the text when `end` is 0).
bool get_hex(std::string_view text, std::size_t& offset, int digits, char end,
             std::uint64_t& value) {
    const auto n = static_cast<std::size_t>(digits);
    if (text.size() < offset + n) return false;
    const char* first = text.data() + offset;
    auto [ptr, ec] = std::from_chars(first, first + n, value, 16);
    if (ec != std::errc() || ptr != first + n) return false;
    offset += n;
    if (end == 0) return offset == text.size();
    if (offset >= text.size() || text[offset] != end) return false;
    ++offset;
    return true;
}

void put_bytes(Bytes& out, ByteView bytes) {
    put_u32(out, static_cast<std::uint32_t>(bytes.size()));
    out.insert(out.end(), bytes.begin(), bytes.end());
}

bool get_bytes(ByteView in, std::size_t& offset, Bytes& out) {
    std::uint32_t size = 0;
    if (!get_u32(in, offset, size) || in.size() - offset < size) return false;
    out.assign(in.begin() + static_cast<std::ptrdiff_t>(offset),
               in.begin() + static_cast<std::ptrdiff_t>(offset + size));
    offset += size;
    return true;
}

bool decode_response(ByteView in, std::size_t& offset, Result<Bytes>& response) {
    if (offset >= in.size()) return false;
    const std::uint8_t ok = in[offset++];
    Bytes data;
    if (ok == 1) {
        if (!get_bytes(in, offset, data)) return false;
        response = std::move(data);
        return true;
    }
    if (ok != 0 || offset >= in.size() || !is_error_code(in[offset])) return false;
    const auto code = static_cast<Errc>(in[offset++]);
    if (!get_bytes(in, offset, data)) return false;
    response = tl::make_unexpected(Error{code, std::string(as_text(data))});
    return true;
}

}  // namespace

Entry* ReplyCache::find(const CallKey& key) {
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second;
}

Entry* ReplyCache::find_execution(std::uint64_t execution) {
    auto it = by_execution_.find(execution);
    return it == by_execution_.end() ? nullptr : find(it->second);
}

Entry& ReplyCache::insert(const CallKey& key, Entry entry) {
    Entries::iterator it;
    if (spare_entries_.empty()) {
        auto [at, inserted] = entries_.emplace(key, std::move(entry));
        HERALD_ASSERT(inserted);
        it = at;
    } else {
        Entries::node_type node = std::move(spare_entries_.back());
        spare_entries_.pop_back();
        node.key() = key;
        node.mapped() = std::move(entry);
        auto result = entries_.insert(std::move(node));
        HERALD_ASSERT(result.inserted);
        it = result.position;
    }
    if (const std::uint64_t execution = it->second.execution; execution != 0) {
        if (spare_executions_.empty()) {
            by_execution_.emplace(execution, key);
        } else {
            ByExecution::node_type node = std::move(spare_executions_.back());
            spare_executions_.pop_back();
            node.key() = execution;
            node.mapped() = key;
            by_execution_.insert(std::move(node));
        }
    }
    it->second.bytes = 0;
    recount(it->second);
    return it->second;
}

void ReplyCache::erase(const CallKey& key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    HERALD_ASSERT(bytes_ >= it->second.bytes);
    bytes_ -= it->second.bytes;
    if (const std::uint64_t execution = it->second.execution; execution != 0) {
        ByExecution::node_type node = by_execution_.extract(execution);
        if (!node.empty() && spare_executions_.size() < spare_max) {
            spare_executions_.push_back(std::move(node));
        }
    }
    Entries::node_type node = entries_.extract(it);
    if (spare_entries_.size() < spare_max) {
        node.mapped() = Entry{};  // Frees its request, response and operation now.
        spare_entries_.push_back(std::move(node));
    }
}

void ReplyCache::recount(Entry& entry) {
    std::uint64_t bytes = entry_overhead_bytes + entry.operation.size() + entry.request.size();
    bytes += entry.response ? entry.response->size() : entry.response.error().detail.size();
    HERALD_ASSERT(bytes_ >= entry.bytes);
    bytes_ = bytes_ - entry.bytes + bytes;
    entry.bytes = bytes;
}

bool ReplyCache::full(std::uint64_t request_bytes, bool new_client) const {
    if (entries_.size() >= options_.cache_entries_max) return true;
    if (bytes_ + entry_overhead_bytes + request_bytes > options_.cache_bytes_max) return true;
    return new_client && clients_.size() >= options_.clients_max;
}

ClientRecord* ReplyCache::client(NodeId node) {
    auto it = clients_.find(node);
    return it == clients_.end() ? nullptr : &it->second;
}

ClientRecord& ReplyCache::add_client(NodeId node, std::uint32_t incarnation,
                                     std::uint64_t address) {
    HERALD_ASSERT(!clients_.contains(node));
    auto& record = clients_[node];
    record.incarnation = incarnation;
    record.address = address;
    if (address != 0) ++per_address_[address];
    return record;
}

void ReplyCache::erase_client(NodeId node) {
    const auto it = clients_.find(node);
    if (it == clients_.end()) return;
    if (const std::uint64_t address = it->second.address; address != 0) {
        const auto count = per_address_.find(address);
        HERALD_ASSERT(count != per_address_.end());
        HERALD_ASSERT(count->second > 0);
        if (--count->second == 0) per_address_.erase(count);
    }
    clients_.erase(it);
}

std::size_t ReplyCache::client_bytes() const {
    return clients_.size() * memory::map_node(sizeof(std::pair<const NodeId, ClientRecord>)) +
           per_address_.size() *
               memory::hash_node(sizeof(std::pair<const std::uint64_t, std::uint32_t>));
}

std::uint32_t ReplyCache::clients_at(std::uint64_t address) const {
    const auto it = per_address_.find(address);
    return it == per_address_.end() ? 0 : it->second;
}

std::vector<CallKey> ReplyCache::below(NodeId node, std::uint32_t incarnation,
                                       std::uint64_t floor) const {
    std::vector<CallKey> keys;
    below(node, incarnation, floor, keys);
    return keys;
}

void ReplyCache::below(NodeId node, std::uint32_t incarnation, std::uint64_t floor,
                       std::vector<CallKey>& keys) const {
    keys.clear();
    const CallKey end{node, incarnation, floor};
    for (auto it = entries_.lower_bound(CallKey{node, 0, 0});
         it != entries_.end() && it->first < end; ++it) {
        keys.push_back(it->first);
    }
}

std::vector<CallKey> ReplyCache::of_client(NodeId node) const {
    std::vector<CallKey> keys;
    for (auto it = entries_.lower_bound(CallKey{node, 0, 0});
         it != entries_.end() && it->first.client_node == node; ++it) {
        keys.push_back(it->first);
    }
    return keys;
}

std::string ReplyCache::entry_key(const CallKey& key) {
    std::string out(entry_prefix);
    put_hex(out, key.client_node.value, 16);
    out.push_back('/');
    put_hex(out, key.incarnation, 8);
    out.push_back('/');
    put_hex(out, key.seq, 16);
    return out;
}

std::string ReplyCache::floor_key(NodeId node) {
    std::string out(floor_prefix);
    put_hex(out, node.value, 16);
    return out;
}

Bytes ReplyCache::encode_entry(const Entry& entry, EntryState stored) {
    HERALD_ASSERT(stored == EntryState::executing || stored == EntryState::done ||
                  stored == EntryState::acked || stored == EntryState::forgotten);
    Bytes out;
    const auto state = stored;
    out.push_back(record_version);
    out.push_back(static_cast<std::uint8_t>(state));
    out.push_back(static_cast<std::uint8_t>(mode_flags(entry.route.mode)));
    put_u64(out, entry.route.client.local);
    put_u64(out, entry.route.server.local);
    put_u64(out, entry.route.server.node.value);
    if (state == EntryState::done) {
        if (entry.response) {
            out.push_back(1);
            put_bytes(out, *entry.response);
        } else {
            out.push_back(0);
            out.push_back(static_cast<std::uint8_t>(entry.response.error().code));
            put_bytes(out, to_bytes(entry.response.error().detail));
        }
    }
    return out;
}

Bytes ReplyCache::encode_floor(const ClientRecord& client) {
    Bytes out;
    out.push_back(record_version);
    put_u32(out, client.incarnation);
    put_u64(out, client.floor);
    return out;
}

std::uint64_t ReplyCache::restore(std::span<const std::pair<std::string, Bytes>> records) {
    std::uint64_t bad = 0;
    for (const auto& [key, value] : records) {
        if (key.starts_with(entry_prefix)) {
            if (!restore_entry(key, value)) ++bad;
        } else if (key.starts_with(floor_prefix)) {
            if (!restore_floor(key, value)) ++bad;
        } else if (key.starts_with(key_prefix)) {
            ++bad;
        }
    }
    return bad;
}

bool ReplyCache::restore_entry(std::string_view key, ByteView value) {
    std::size_t at = entry_prefix.size();
    std::uint64_t node = 0, incarnation = 0, seq = 0;
    if (!get_hex(key, at, 16, '/', node) || !get_hex(key, at, 8, '/', incarnation) ||
        !get_hex(key, at, 16, 0, seq) || node == 0 || seq == 0) {
        return false;
    }
    if (value.size() < 3 || value[0] != record_version) return false;
    const auto state = static_cast<EntryState>(value[1]);
    if (state != EntryState::executing && state != EntryState::done && state != EntryState::acked &&
        state != EntryState::forgotten) {
        return false;
    }
    Entry entry;
    entry.durable = true;
    entry.state = state == EntryState::executing ? EntryState::crashed : state;
    entry.route.mode = mode_of(value[2]);
    entry.route.id = CallId{static_cast<std::uint32_t>(incarnation), seq};
    std::size_t offset = 3;
    std::uint64_t server_node = 0;
    if (!get_u64(value, offset, entry.route.client.local) ||
        !get_u64(value, offset, entry.route.server.local) || !get_u64(value, offset, server_node)) {
        return false;
    }
    entry.route.client.node = NodeId{node};
    entry.route.server.node = NodeId{server_node};
    if (state == EntryState::done && !decode_response(value, offset, entry.response)) return false;
    if (offset != value.size()) return false;
    const CallKey call{NodeId{node}, entry.route.id.incarnation, seq};
    if (find(call) != nullptr) return false;
    insert(call, std::move(entry));
    auto& client = clients_[NodeId{node}];
    client.incarnation = std::max(client.incarnation, call.incarnation);
    return true;
}

bool ReplyCache::restore_floor(std::string_view key, ByteView value) {
    std::size_t at = floor_prefix.size();
    std::uint64_t node = 0;
    if (!get_hex(key, at, 16, 0, node) || node == 0) return false;
    std::size_t offset = 1;
    std::uint32_t incarnation = 0;
    std::uint64_t floor = 0;
    if (value.empty() || value[0] != record_version || !get_u32(value, offset, incarnation) ||
        !get_u64(value, offset, floor) || offset != value.size()) {
        return false;
    }
    auto& client = clients_[NodeId{node}];
    if (incarnation > client.incarnation) client.incarnation = incarnation;
    if (incarnation == client.incarnation) {
        client.floor = floor;
        client.durable_incarnation = incarnation;
        client.floor_durable = floor;
    }
    return true;
}

}  // namespace herald::proto::rpc

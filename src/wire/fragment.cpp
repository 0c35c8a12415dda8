// Fragmenter and Reassembler (see fragment.h for the rules they share). Layer: wire.
#include "wire/fragment.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "core/assert.h"

namespace herald::wire {
namespace {

// Every header field but the per-fragment ones (index, checksum, authentication tag).
bool same_message(const Header& a, const Header& b) {
    return a.kind == b.kind && a.flags == b.flags && a.source == b.source && a.target == b.target &&
           a.source_incarnation == b.source_incarnation &&
           a.target_incarnation == b.target_incarnation && a.epoch == b.epoch && a.seq == b.seq &&
           a.ack == b.ack && a.timestamp_ns == b.timestamp_ns && a.fragment_id == b.fragment_id &&
           a.fragment_count == b.fragment_count;
}

bool same_extensions(const std::vector<Extension>& a, const std::vector<Extension>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
        return x.type == y.type && x.value == y.value;
    });
}

}  // namespace

Result<FragmentPlan> plan_fragments(const Packet& packet, std::size_t datagram_bytes_max,
                                    std::size_t message_bytes_max) {
    return plan_fragments(parts_of(packet), datagram_bytes_max, message_bytes_max);
}

Result<FragmentPlan> plan_fragments(const PacketParts& packet, std::size_t datagram_bytes_max,
                                    std::size_t message_bytes_max) {
    if ((packet.header.flags & flag::fragment) != 0) {
        return fail(Errc::invalid_argument, "packet is already a fragment");
    }
    if (auto ok = check_encodable(packet); !ok) {
        return fail(Errc::invalid_argument, ok.error().detail);
    }
    if (datagram_bytes_max <= header_bytes) {
        return fail(Errc::invalid_argument, "datagram size leaves no room after the header");
    }
    if (packet.body.size() > message_bytes_max) {
        return fail(Errc::too_large, "body exceeds the maximum message size");
    }
    if (encoded_size(packet) <= datagram_bytes_max) return FragmentPlan{1, packet.body.size()};
    const std::size_t room = datagram_bytes_max - header_bytes;
    const std::size_t extensions_bytes = extensions_size(packet.extensions);
    if (extensions_bytes >= room) {
        return fail(Errc::too_large, "extensions do not fit in one datagram");
    }
    const std::size_t slice_max = room - extensions_bytes;
    const std::size_t body = packet.body.size();
    const std::size_t fewest = (body + slice_max - 1) / slice_max;
    if (fewest > std::numeric_limits<std::uint16_t>::max()) {
        return fail(Errc::too_large, "body needs more than 65535 fragments");
    }
    // As few fragments as fit, with slices as equal as the rule allows (docs/wire.md): a 64 KiB
    // body over UDP is two halves, not 65 KB and 100 B, and fragment 0's slice times the count
    // is within count bytes of the body, which the receiver reserves for the whole message.
    const std::size_t slice = (body + fewest - 1) / fewest;
    const std::size_t count = (body + slice - 1) / slice;
    return FragmentPlan{static_cast<std::uint16_t>(count), slice};
}

Result<std::size_t> encode_fragment_into(const Packet& packet, const FragmentPlan& plan,
                                         std::uint32_t fragment_id, std::uint16_t index,
                                         std::span<std::uint8_t> out) {
    return encode_fragment_into(parts_of(packet), plan, fragment_id, index, out);
}

namespace {

// Fragment `index` of `plan` (plan.count > 1): its header, extensions and body slice.
struct FragmentParts {
    Header header;
    std::span<const Extension> extensions;
    ByteView body;
};

FragmentParts fragment_parts(const PacketParts& packet, const FragmentPlan& plan,
                             std::uint32_t fragment_id, std::uint16_t index) {
    HERALD_ASSERT(plan.body_bytes_per_fragment > 0);
    const std::size_t begin = std::size_t{index} * plan.body_bytes_per_fragment;
    HERALD_ASSERT(begin < packet.body.size());
    const std::size_t length = std::min(plan.body_bytes_per_fragment, packet.body.size() - begin);
    FragmentParts parts{packet.header, {}, packet.body.subspan(begin, length)};
    parts.header.flags = static_cast<std::uint16_t>(parts.header.flags | flag::fragment);
    parts.header.fragment_id = fragment_id;
    parts.header.fragment_index = index;
    parts.header.fragment_count = plan.count;
    if (index == 0) parts.extensions = packet.extensions;
    return parts;
}

}  // namespace

Result<std::size_t> encode_fragment_into(const PacketParts& packet, const FragmentPlan& plan,
                                         std::uint32_t fragment_id, std::uint16_t index,
                                         std::span<std::uint8_t> out) {
    if (index >= plan.count) return fail(Errc::invalid_argument, "fragment index >= count");
    if (plan.count == 1) return encode_into(packet, out);
    const FragmentParts parts = fragment_parts(packet, plan, fragment_id, index);
    return encode_parts_into(parts.header, parts.extensions, parts.body, out);
}

Result<FragmentPieces> encode_fragment_head_into(const PacketParts& packet,
                                                 const FragmentPlan& plan,
                                                 std::uint32_t fragment_id, std::uint16_t index,
                                                 std::span<std::uint8_t> out) {
    if (index >= plan.count) return fail(Errc::invalid_argument, "fragment index >= count");
    if (plan.count == 1) {
        HERALD_TRY(auto head, encode_head_into(packet.header, packet.extensions, packet.body, out));
        return FragmentPieces{head, packet.body};
    }
    const FragmentParts parts = fragment_parts(packet, plan, fragment_id, index);
    HERALD_TRY(auto head, encode_head_into(parts.header, parts.extensions, parts.body, out));
    return FragmentPieces{head, parts.body};
}

Result<std::vector<Bytes>> fragment(const Packet& packet, std::size_t datagram_bytes_max,
                                    std::uint32_t fragment_id, std::size_t message_bytes_max) {
    HERALD_TRY(auto plan, plan_fragments(packet, datagram_bytes_max, message_bytes_max));
    std::vector<Bytes> out;
    out.reserve(plan.count);
    for (std::uint16_t i = 0; i < plan.count; ++i) {
        Bytes datagram(datagram_bytes_max);
        HERALD_TRY(auto size, encode_fragment_into(packet, plan, fragment_id, i, datagram));
        datagram.resize(size);
        out.push_back(std::move(datagram));
    }
    return out;
}

Reassembler::Reassembler(ReassemblerOptions options) : options_(options) {
    HERALD_ASSERT(options_.partial_messages_max > 0);
    HERALD_ASSERT(options_.timeout > Duration::zero());
}

Reassembler::Key Reassembler::key_of(const Header& header) {
    return Key{header.source.node.value, header.source_incarnation, header.fragment_id};
}

Result<std::optional<Packet>> Reassembler::on_fragment(Packet fragment, Time now) {
    const ByteView body = fragment.body;  // Stays valid: the buffer is moved, never copied.
    return take(std::move(fragment), body, now);
}

Result<std::optional<Packet>> Reassembler::on_fragment(Packet fragment, ByteView body, Time now) {
    HERALD_ASSERT(fragment.body.empty());
    return take(std::move(fragment), body, now);
}

// `body` is the slice: a view of fragment.body (owned) or of the datagram (fragment.body empty).
Result<std::optional<Packet>> Reassembler::take(Packet fragment, ByteView body, Time now) {
    expire(now);
    const Header& header = fragment.header;
    if ((header.flags & flag::fragment) == 0) {
        ++counters_.fragments_rejected;
        return fail(Errc::invalid_argument, "not a fragment");
    }
    // decode() guarantees this, but the packet may come from elsewhere: never index past slots.
    if (header.fragment_index >= header.fragment_count) {
        ++counters_.fragments_rejected;
        return fail(Errc::malformed, "fragment index >= fragment count");
    }
    const Key key = key_of(header);
    if (recently_completed(key, now)) {
        ++counters_.fragments_duplicate;
        return std::optional<Packet>{};
    }
    auto started = find_or_start(key, header, now);
    if (!started) {
        ++counters_.fragments_rejected;
        return fail(started.error());
    }
    const Partial& partial = (*started)->second;
    if (holds(partial, header.fragment_index)) {
        if (!is_duplicate(partial, fragment, body)) {
            return reject_message(*started, Error{Errc::malformed, "duplicate fragment differs"});
        }
        ++counters_.fragments_duplicate;
        return std::optional<Packet>{};
    }
    if (auto ok = check_slice(partial, fragment, body); !ok) {
        return reject_message(*started, ok.error());
    }
    // Charged by capacity (fragment 0 may hold room for the whole message) plus its slot:
    // memory follows the fragments that came, not the count a header announces.
    const std::size_t bytes = charge(partial, fragment, body);
    if (auto ok = make_room(key, bytes); !ok) {
        return reject_message(partials_.find(key), ok.error());
    }
    return store(partials_.find(key), std::move(fragment), body, bytes, now);
}

namespace {

// The buffer a fragment 0 of `length` bytes starts the message with when it is not handed
// over owned: room for every slice when that is small enough (ReassemblerOptions).
std::size_t room_for_whole(const Header& header, std::size_t length, std::size_t cap) {
    if (header.fragment_count < 2) return length;
    const std::size_t whole = std::size_t{header.fragment_count} * length;
    return whole <= cap ? whole : length;
}

bool appends_in_place(const Bytes& whole, std::uint16_t in_whole, std::uint16_t index,
                      std::size_t length) {
    return in_whole != 0 && index == in_whole && whole.capacity() - whole.size() >= length;
}

}  // namespace

std::size_t Reassembler::charge(const Partial& partial, const Packet& fragment,
                                ByteView body) const {
    const bool owned = !fragment.body.empty() || body.empty();
    const std::uint16_t index = fragment.header.fragment_index;
    std::size_t capacity = owned ? fragment.body.capacity() : body.size();
    if (index == 0 && !owned) {
        const std::size_t cap = std::min(options_.reserve_bytes_max, options_.message_bytes_max);
        capacity = room_for_whole(fragment.header, body.size(), cap);
    } else if (index != 0 &&
               appends_in_place(partial.whole, partial.in_whole, index, body.size())) {
        capacity = 0;  // Already charged with fragment 0's room.
    }
    return capacity + extensions_size(fragment.extensions) + slot_overhead_bytes;
}

void Reassembler::place(Partial& partial, Packet& fragment, ByteView body) {
    const bool owned = !fragment.body.empty() || body.empty();
    const std::uint16_t index = fragment.header.fragment_index;
    if (index == 0) {
        if (owned) {
            partial.whole = std::move(fragment.body);
        } else {
            const std::size_t cap =
                std::min(options_.reserve_bytes_max, options_.message_bytes_max);
            partial.whole.reserve(room_for_whole(fragment.header, body.size(), cap));
            partial.whole.assign(body.begin(), body.end());
        }
        partial.in_whole = 1;
    } else if (appends_in_place(partial.whole, partial.in_whole, index, body.size())) {
        partial.whole.insert(partial.whole.end(), body.begin(), body.end());
        ++partial.in_whole;
    } else if (owned) {
        partial.slices.emplace(index, std::move(fragment.body));
    } else {
        partial.slices.emplace(index, Bytes(body.begin(), body.end()));
    }
}

Result<std::optional<Packet>> Reassembler::store(Partials::iterator it, Packet fragment,
                                                 ByteView body, std::size_t bytes, Time now) {
    HERALD_ASSERT(it != partials_.end());
    Partial& partial = it->second;
    const std::uint16_t index = fragment.header.fragment_index;
    if (index == 0) {
        partial.header = fragment.header;  // Fragment 0's header (and authentication tag) wins.
        partial.extensions = std::move(fragment.extensions);
    }
    if (index + 1 < partial.header.fragment_count) partial.slice_bytes = body.size();
    place(partial, fragment, body);
    partial.held += bytes;
    held_bytes_ += bytes;
    partial.last_progress = now;
    if (++partial.received < partial.header.fragment_count) return std::optional<Packet>{};
    const Key key = it->first;
    Packet whole = assemble(partial);
    drop(it);
    remember_completed(key, now);
    ++counters_.messages_completed;
    return std::optional<Packet>{std::move(whole)};
}

tl::unexpected<Error> Reassembler::reject_message(Partials::iterator it, Error error) {
    drop(it);
    ++counters_.messages_dropped;
    ++counters_.fragments_rejected;
    return fail(std::move(error));
}

Result<Reassembler::Partials::iterator> Reassembler::find_or_start(const Key& key,
                                                                   const Header& header, Time now) {
    if (auto it = partials_.find(key); it != partials_.end()) {
        if (!same_message(it->second.header, header)) {
            drop(it);
            ++counters_.messages_dropped;
            return fail(Errc::malformed, "fragment header differs from its message's");
        }
        return it;
    }
    while (partials_.size() >= options_.partial_messages_max && evict_oldest(key)) {
    }
    Partial partial;
    partial.header = header;
    partial.last_progress = now;
    return partials_.emplace(key, std::move(partial)).first;
}

Status Reassembler::check_slice(const Partial& partial, const Packet& fragment,
                                ByteView body) const {
    const std::uint16_t index = fragment.header.fragment_index;
    const std::uint16_t count = partial.header.fragment_count;
    const std::size_t length = body.size();
    if (index != 0 && !fragment.extensions.empty()) {
        return fail(Errc::malformed, "extensions on a fragment other than 0");
    }
    if (count == 1) {
        if (length > options_.message_bytes_max) return fail(Errc::too_large, "message too large");
        return {};
    }
    if (length == 0) return fail(Errc::malformed, "empty fragment slice");
    const bool last = index + 1 == count;
    std::size_t slice = partial.slice_bytes;
    if (!last && slice != 0 && length != slice) {
        return fail(Errc::malformed, "fragment slice sizes differ");
    }
    if (!last) slice = length;
    if (slice != 0) {
        const auto held_last = partial.slices.find(static_cast<std::uint16_t>(count - 1));
        const std::size_t last_length = held_last != partial.slices.end() ? held_last->second.size()
                                        : last                            ? length
                                                                          : 1;
        if (last_length > slice) return fail(Errc::malformed, "last fragment longer than others");
        // (count - 1) * slice <= 65534 * 2^32: no overflow in 64 bits.
        if ((std::size_t{count} - 1) * slice + last_length > options_.message_bytes_max) {
            return fail(Errc::too_large, "message exceeds the maximum message size");
        }
    }
    return {};
}

bool Reassembler::holds(const Partial& partial, std::uint16_t index) {
    return index < partial.in_whole || partial.slices.contains(index);
}

// A slice that came. In `whole` while the message is incomplete, every slice is a full one
// (only the last may be shorter, and it completes the message when it joins them).
ByteView Reassembler::held_slice(const Partial& partial, std::uint16_t index) {
    if (index >= partial.in_whole) return partial.slices.at(index);
    if (index == 0 && partial.in_whole == 1) return partial.whole;
    return ByteView(partial.whole)
        .subspan(std::size_t{index} * partial.slice_bytes, partial.slice_bytes);
}

bool Reassembler::is_duplicate(const Partial& partial, const Packet& fragment,
                               ByteView body) const {
    const std::uint16_t index = fragment.header.fragment_index;
    const ByteView held = held_slice(partial, index);
    if (!std::equal(held.begin(), held.end(), body.begin(), body.end())) return false;
    return index != 0 || same_extensions(partial.extensions, fragment.extensions);
}

Status Reassembler::make_room(const Key& keep, std::size_t bytes) {
    while (held_bytes_ + bytes > options_.held_bytes_max) {
        if (!evict_oldest(keep)) {
            return fail(Errc::too_large, "message does not fit in the reassembly memory bound");
        }
    }
    return {};
}

bool Reassembler::evict_oldest(const Key& keep) {
    auto oldest = partials_.end();
    for (auto it = partials_.begin(); it != partials_.end(); ++it) {
        if (it->first == keep) continue;
        if (oldest == partials_.end() || it->second.last_progress < oldest->second.last_progress) {
            oldest = it;
        }
    }
    if (oldest == partials_.end()) return false;
    drop(oldest);
    ++counters_.messages_evicted;
    return true;
}

void Reassembler::drop(Partials::iterator it) {
    if (it == partials_.end()) return;
    HERALD_ASSERT(held_bytes_ >= it->second.held);
    held_bytes_ -= it->second.held;
    partials_.erase(it);
}

Packet Reassembler::assemble(Partial& partial) {
    Packet whole;
    whole.header = partial.header;
    whole.header.flags = static_cast<std::uint16_t>(whole.header.flags & ~flag::fragment);
    whole.header.fragment_id = 0;
    whole.header.fragment_index = 0;
    whole.header.fragment_count = 0;
    whole.extensions = std::move(partial.extensions);
    // Every index is present: `whole` holds 0..in_whole - 1, `slices` the rest, in order.
    HERALD_ASSERT(partial.in_whole > 0);
    std::size_t total = partial.whole.size();
    for (const auto& [index, slice] : partial.slices) total += slice.size();
    if (partial.whole.capacity() >= total) {
        whole.body = std::move(partial.whole);  // In place: no copy (the usual case).
    } else {
        whole.body.reserve(total);
        whole.body.insert(whole.body.end(), partial.whole.begin(), partial.whole.end());
    }
    for (const auto& [index, slice] : partial.slices) {
        whole.body.insert(whole.body.end(), slice.begin(), slice.end());
    }
    return whole;
}

std::size_t Reassembler::expire(Time now) {
    std::size_t dropped = 0;
    for (auto it = partials_.begin(); it != partials_.end();) {
        auto next = std::next(it);
        if (now - it->second.last_progress >= options_.timeout) {
            drop(it);
            ++dropped;
        }
        it = next;
    }
    counters_.messages_expired += dropped;
    while (!completed_.empty() && now - completed_.front().second >= options_.timeout) {
        completed_.pop_front();
    }
    return dropped;
}

std::optional<Time> Reassembler::next_deadline() const {
    std::optional<Time> earliest;
    for (const auto& [key, partial] : partials_) {
        const Time deadline = partial.last_progress + options_.timeout;
        if (!earliest || deadline < *earliest) earliest = deadline;
    }
    return earliest;
}

bool Reassembler::recently_completed(const Key& key, Time now) {
    return std::any_of(completed_.begin(), completed_.end(), [&](const auto& entry) {
        return entry.first == key && now - entry.second < options_.timeout;
    });
}

void Reassembler::remember_completed(const Key& key, Time now) {
    if (completed_.size() >= options_.partial_messages_max) completed_.pop_front();
    completed_.emplace_back(key, now);
}

}  // namespace herald::wire

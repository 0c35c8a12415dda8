// Fragmentation of packets larger than one datagram, and their reassembly on the receiving node.
// Layer: wire. Pure and single-threaded: time comes in as `Time now`, no clocks, no I/O.
// Rules (docs/wire.md, "Fragments"): every fragment is a full packet with flag::fragment and the
// original header; fragment 0 alone carries the extensions; the body is cut into slices of one
// size (the last may be shorter), so slice i starts at i * (length of fragment 0's slice).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"
#include "core/time.h"
#include "wire/codec.h"
#include "wire/packet.h"

namespace herald::wire {

// How fragment() cuts one packet. count == 1 means "fits in one datagram, send it unchanged".
struct FragmentPlan {
    std::uint16_t count = 1;
    std::size_t body_bytes_per_fragment = 0;  // Every slice but the last has exactly this size.
};

// Plans the fragments of `packet` for datagrams of at most `datagram_bytes_max` bytes.
// Errc::invalid_argument: the packet already has flag::fragment, or is not encodable
//   (check_encodable), or datagram_bytes_max <= header_bytes.
// Errc::too_large: the body exceeds message_bytes_max; the extensions do not fit in one datagram
//   with at least one body byte; or the body needs more than 65535 fragments.
// Any thread; pure.
[[nodiscard]] Result<FragmentPlan> plan_fragments(
    const Packet& packet, std::size_t datagram_bytes_max,
    std::size_t message_bytes_max = message_bytes_max_default);
[[nodiscard]] Result<FragmentPlan> plan_fragments(
    const PacketParts& packet, std::size_t datagram_bytes_max,
    std::size_t message_bytes_max = message_bytes_max_default);

// Encodes fragment `index` of `plan` into `out` without copying the body elsewhere (for pool
// buffers) and returns its size. With plan.count == 1 this is encode_into(packet, out).
// Errc::invalid_argument: index >= plan.count; Errc::too_large: `out` is too small.
[[nodiscard]] Result<std::size_t> encode_fragment_into(const Packet& packet,
                                                       const FragmentPlan& plan,
                                                       std::uint32_t fragment_id,
                                                       std::uint16_t index,
                                                       std::span<std::uint8_t> out);
[[nodiscard]] Result<std::size_t> encode_fragment_into(const PacketParts& packet,
                                                       const FragmentPlan& plan,
                                                       std::uint32_t fragment_id,
                                                       std::uint16_t index,
                                                       std::span<std::uint8_t> out);

// Fragment `index` of `plan` as two pieces for a gather write: `out` receives its header and
// extensions (encode_head_into, checksum over the whole fragment), and `body` views the slice of
// packet.body it carries. out[0, head_bytes) followed by `body` equals what
// encode_fragment_into writes; nothing of the body is copied. Errors as encode_fragment_into
// (Errc::too_large: `out` cannot hold the header and extensions).
struct FragmentPieces {
    std::size_t head_bytes = 0;
    ByteView body;  // Points into packet.body: valid while it is.
};
[[nodiscard]] Result<FragmentPieces> encode_fragment_head_into(const PacketParts& packet,
                                                               const FragmentPlan& plan,
                                                               std::uint32_t fragment_id,
                                                               std::uint16_t index,
                                                               std::span<std::uint8_t> out);

// Cuts `packet` into encoded datagrams of at most `datagram_bytes_max` bytes each, tagged with
// `fragment_id` (unique per sending node incarnation, chosen by the caller). A packet that fits
// comes back as one datagram equal to encode(packet). Errors as plan_fragments().
[[nodiscard]] Result<std::vector<Bytes>> fragment(
    const Packet& packet, std::size_t datagram_bytes_max, std::uint32_t fragment_id,
    std::size_t message_bytes_max = message_bytes_max_default);

struct ReassemblerOptions {
    // Largest reassembled body; a message announcing more is refused (Errc::too_large).
    std::size_t message_bytes_max = message_bytes_max_default;
    // Bound on everything held for incomplete messages: stored slices and extensions plus
    // `slot_overhead_bytes` per stored fragment. Reaching it evicts the least recently
    // progressed other partial messages; a message that cannot fit alone is refused.
    std::size_t held_bytes_max = std::size_t{64} << 20;
    // Bound on incomplete messages held at once; a new one evicts the least recently progressed.
    std::size_t partial_messages_max = 64;
    // An incomplete message that gains no new fragment for this long is dropped. Fragments of a
    // message completed less than this long ago are ignored as duplicates.
    Duration timeout = Duration::seconds(5);
    // A fragment 0 handed over as a view (on_fragment with `body`) gets a buffer with room for
    // the whole message (fragment_count x its slice) when that is at most this much, so later
    // slices are appended in place: the message is copied once, into its final buffer. Larger
    // messages are copied together once complete (one forged fragment 0 cannot claim 16 MiB).
    std::size_t reserve_bytes_max = std::size_t{1} << 20;
};

// Reassembles fragmented messages. Fragments are keyed by (source node, source incarnation,
// fragment_id) from their header. Single-threaded: one instance per node loop.
class Reassembler {
public:
    // Bookkeeping charged per stored fragment (its map node), so that a flood of tiny fragments
    // cannot hold unbounded memory. Nothing is allocated for fragments announced but not come:
    // one packet announcing 65535 costs one slot, not 65535 (issue 21, item 3).
    static constexpr std::size_t slot_overhead_bytes = sizeof(Bytes) + 4 * sizeof(void*) + 8;

    struct Counters {
        std::uint64_t messages_completed = 0;
        std::uint64_t fragments_duplicate = 0;  // Ignored: already held, or message completed.
        std::uint64_t fragments_rejected = 0;   // Returned an error.
        std::uint64_t messages_expired = 0;     // Dropped by the timeout.
        std::uint64_t messages_evicted = 0;     // Dropped to make room (bounds reached).
        std::uint64_t messages_dropped = 0;     // Dropped because one of their fragments was bad.
    };

    explicit Reassembler(ReassemblerOptions options = {});

    // Takes one decoded fragment (flag::fragment set). Expires idle messages first (expire(now)).
    // Returns the reassembled packet when this fragment completes its message (header of the
    // fragments with the fragment flag and fields cleared, extensions of fragment 0, the whole
    // body), or std::nullopt when the message is still incomplete or the fragment a duplicate.
    // Errc::invalid_argument: the packet has no flag::fragment.
    // Errc::malformed: fragment_index >= fragment_count (decode() never lets that through), or
    //   it contradicts earlier fragments of its message (other count or header,
    //   slice sizes that cannot tile the body, extensions on fragment > 0, an empty slice, or a
    //   duplicate with other contents); the whole incomplete message is dropped.
    // Errc::too_large: the message exceeds message_bytes_max, or cannot fit in held_bytes_max
    //   even alone; the whole incomplete message is dropped.
    [[nodiscard]] Result<std::optional<Packet>> on_fragment(Packet fragment, Time now);
    // The same for a fragment whose body was not copied out of its datagram (decode_view):
    // `fragment.body` is empty and `body` views the slice, valid during the call. The slice is
    // copied once: straight into the message's buffer when it follows the slices already there
    // (fragment 0 first, then in order: the usual case), else into a buffer of its own.
    [[nodiscard]] Result<std::optional<Packet>> on_fragment(Packet fragment, ByteView body,
                                                            Time now);

    // Drops incomplete messages with no progress since now - timeout; returns how many.
    std::size_t expire(Time now);

    // When expire() next has work to do, for the caller's timer; nullopt when nothing is held.
    [[nodiscard]] std::optional<Time> next_deadline() const;

    [[nodiscard]] std::size_t held_bytes() const { return held_bytes_; }
    [[nodiscard]] std::size_t partial_messages() const { return partials_.size(); }
    [[nodiscard]] const Counters& counters() const { return counters_; }

private:
    struct Key {
        std::uint64_t node = 0;
        std::uint32_t incarnation = 0;
        std::uint32_t fragment_id = 0;
        auto operator<=>(const Key&) const = default;
    };
    struct Partial {
        Header header;  // Of the first fragment seen; the others must agree with it.
        std::vector<Extension> extensions;
        // Fragment 0's body, then slices 1..in_whole - 1 appended in place (no reallocation).
        Bytes whole;
        std::uint16_t in_whole = 0;             // 0 until fragment 0 came.
        std::map<std::uint16_t, Bytes> slices;  // Those that came and are not in `whole`.
        std::uint16_t received = 0;
        std::size_t slice_bytes = 0;  // Size of every slice but the last; 0 until known.
        std::size_t held = 0;
        Time last_progress;
    };
    using Partials = std::map<Key, Partial>;

    static Key key_of(const Header& header);
    Result<Partials::iterator> find_or_start(const Key& key, const Header& header, Time now);
    Result<std::optional<Packet>> take(Packet fragment, ByteView body, Time now);
    Status check_slice(const Partial& partial, const Packet& fragment, ByteView body) const;
    static bool holds(const Partial& partial, std::uint16_t index);
    static ByteView held_slice(const Partial& partial, std::uint16_t index);
    bool is_duplicate(const Partial& partial, const Packet& fragment, ByteView body) const;
    // Where the slice goes (into `whole`, a buffer of its own, or fragment.body moved) and the
    // bytes it is charged: capacity taken plus slot_overhead_bytes.
    void place(Partial& partial, Packet& fragment, ByteView body);
    std::size_t charge(const Partial& partial, const Packet& fragment, ByteView body) const;
    Result<std::optional<Packet>> store(Partials::iterator it, Packet fragment, ByteView body,
                                        std::size_t bytes, Time now);
    tl::unexpected<Error> reject_message(Partials::iterator it, Error error);
    Status make_room(const Key& keep, std::size_t bytes);
    void drop(Partials::iterator it);
    bool evict_oldest(const Key& keep);
    Packet assemble(Partial& partial);
    bool recently_completed(const Key& key, Time now);
    void remember_completed(const Key& key, Time now);

    ReassemblerOptions options_;
    Partials partials_;
    std::deque<std::pair<Key, Time>> completed_;  // Oldest first; at most partial_messages_max.
    std::size_t held_bytes_ = 0;
    Counters counters_;
};

}  // namespace herald::wire

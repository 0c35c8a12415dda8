// Building and validating order packets, flush reports and outcomes, and deliveries.
// Fixed little-endian layouts (docs/ordering.md, "Packets"). Layer: proto/order.
#include "proto/order/order_messages.h"

#include <algorithm>

#include "proto/fields.h"

namespace herald::proto::order {
namespace {

using wire::ExtensionType;
using wire::PacketKind;

// Reads little-endian fields; once a read fails every later one fails too.
class Reader {
public:
    explicit Reader(ByteView in) : in_(in) {}
    bool u8(std::uint8_t& v) {
        if (!ok_ || offset_ + 1 > in_.size()) return ok_ = false;
        v = in_[offset_++];
        return true;
    }
    bool u32(std::uint32_t& v) { return ok_ = ok_ && get_u32(in_, offset_, v); }
    bool u64(std::uint64_t& v) { return ok_ = ok_ && get_u64(in_, offset_, v); }
    bool i64(std::int64_t& v) {
        std::uint64_t raw = 0;
        if (!u64(raw)) return false;
        v = static_cast<std::int64_t>(raw);
        return true;
    }
    // The next n bytes in place (valid while the input is).
    bool view(std::size_t n, ByteView& out) {
        if (!ok_ || in_.size() - offset_ < n) return ok_ = false;
        out = in_.subspan(offset_, n);
        offset_ += n;
        return true;
    }
    bool bytes(std::size_t n, Bytes& out) {
        if (!ok_ || in_.size() - offset_ < n) return ok_ = false;
        out.assign(in_.begin() + static_cast<std::ptrdiff_t>(offset_),
                   in_.begin() + static_cast<std::ptrdiff_t>(offset_ + n));
        offset_ += n;
        return true;
    }
    // Unsigned LEB128 in its shortest form, at most 64 bits (docs/ordering.md, "varint").
    bool varint(std::uint64_t& v) {
        v = 0;
        for (unsigned shift = 0; ok_ && shift < 64; shift += 7) {
            std::uint8_t byte = 0;
            if (!u8(byte)) return false;
            if (shift == 63 && byte > 1) break;  // Beyond 64 bits.
            v |= std::uint64_t{byte & 0x7fu} << shift;
            if ((byte & 0x80) == 0) return ok_ = byte != 0 || shift == 0;  // Shortest form.
        }
        return ok_ = false;
    }
    [[nodiscard]] std::size_t left() const { return ok_ ? in_.size() - offset_ : 0; }
    [[nodiscard]] bool ok() const { return ok_; }
    [[nodiscard]] bool done() const { return ok_ && offset_ == in_.size(); }

private:
    ByteView in_;
    std::size_t offset_ = 0;
    bool ok_ = true;
};

void put_varint(Bytes& out, std::uint64_t v) {
    for (; v >= 0x80; v >>= 7) out.push_back(static_cast<std::uint8_t>(v | 0x80));
    out.push_back(static_cast<std::uint8_t>(v));
}

// order_ack flags (docs/ordering.md, "Packets").
constexpr std::uint8_t ack_probe = 1;
constexpr std::uint8_t ack_full = 2;

void put_ack_body(Bytes& out, const OrderPacket& m) {
    if (m.done.empty() && !m.probe) return;  // No news: an empty body.
    out.push_back(static_cast<std::uint8_t>((m.probe ? ack_probe : 0) | (m.full ? ack_full : 0)));
    put_varint(out, m.done.size());
    for (const auto& [index, value] : m.done) {
        if (!m.full) put_varint(out, index);
        put_varint(out, value);
    }
}

bool get_ack_body(ByteView body, std::uint32_t members_max, OrderPacket& m) {
    if (body.empty()) return true;  // No done vector.
    Reader r(body);
    std::uint8_t flags = 0;
    std::uint64_t n = 0;
    if (!r.u8(flags) || (flags & ~(ack_probe | ack_full)) != 0 || !r.varint(n) || n > members_max ||
        n > r.left()) {
        return false;
    }
    m.probe = (flags & ack_probe) != 0;
    m.full = (flags & ack_full) != 0;
    m.done.resize(n);
    std::uint64_t next = 0;  // The smallest index the next entry may have.
    for (std::uint64_t i = 0; i < n; ++i) {
        std::uint64_t index = i;
        if (!m.full && (!r.varint(index) || index < next || index >= members_max)) return false;
        next = index + 1;
        m.done[i].first = static_cast<std::uint32_t>(index);
        if (!r.varint(m.done[i].second)) return false;
    }
    return r.done();
}

void put_i64(Bytes& out, std::int64_t v) {
    put_u64(out, static_cast<std::uint64_t>(v));
}

void put_member(Bytes& out, const Member& m) {
    put_u64(out, m.pid.node.value);
    put_u64(out, m.pid.local);
    put_u32(out, m.incarnation);
}

bool get_member(Reader& r, Member& m) {
    return r.u64(m.pid.node.value) && r.u64(m.pid.local) && r.u32(m.incarnation);
}

bool is_order_kind(PacketKind kind) {
    const auto raw = static_cast<std::uint8_t>(kind);
    return raw >= static_cast<std::uint8_t>(PacketKind::order_data) &&
           raw <= static_cast<std::uint8_t>(PacketKind::order_flush_outcome);
}

// The body of an order_data after its type byte (docs/ordering.md, "order_data").
void put_entry_body(Bytes& out, const StreamEntry& e) {
    // Sized up front: one allocation, not one per doubling (an entry per message, issue 16).
    std::size_t size = 1;
    if (e.type == EntryType::data) size += e.payload.size();
    if (e.type == EntryType::commits) size += 4 + e.commits.size() * 20;
    if (e.type == EntryType::orders) size += 4 + e.runs.size() * 16;
    out.reserve(out.size() + std::max<std::size_t>(size, 21));
    out.push_back(static_cast<std::uint8_t>(e.type));
    switch (e.type) {
        case EntryType::data:
            out.insert(out.end(), e.payload.begin(), e.payload.end());
            break;
        case EntryType::commit:
            put_u64(out, e.ref_seq);
            put_u64(out, e.number.value);
            put_u32(out, e.number.member);
            break;
        case EntryType::order:
            put_u32(out, e.ref_member);
            put_u64(out, e.ref_seq);
            break;
        case EntryType::null:
            break;
        case EntryType::commits:
            put_u32(out, static_cast<std::uint32_t>(e.commits.size()));
            for (const Commit& c : e.commits) {
                put_u64(out, c.seq);
                put_u64(out, c.number.value);
                put_u32(out, c.number.member);
            }
            break;
        case EntryType::orders:
            put_u32(out, static_cast<std::uint32_t>(e.runs.size()));
            for (const OrderRun& run : e.runs) {
                put_u32(out, run.member);
                put_u64(out, run.first);
                put_u32(out, run.count);
            }
            break;
    }
}

namespace {

// O17: 1..order_runs_max runs, each of 1 or more messages from seq 1 on, at most
// orders_entry_max messages in all.
bool get_runs(Reader& r, std::vector<OrderRun>& runs) {
    std::uint32_t n = 0;
    if (!r.u32(n) || n == 0 || n > order_runs_max) return false;
    std::uint64_t total = 0;
    runs.resize(n);
    for (OrderRun& run : runs) {
        if (!r.u32(run.member) || !r.u64(run.first) || !r.u32(run.count)) return false;
        if (run.first == 0 || run.count == 0 || run.first > UINT64_MAX - run.count) return false;
        total += run.count;
    }
    return total <= orders_entry_max && r.done();
}

// O13: nothing more, or u32 n (1..proposals_more_max) and n x (u64 seq >= 1, u64 integer).
bool get_more_proposals(Reader& r, std::vector<std::pair<std::uint64_t, std::uint64_t>>& more) {
    if (r.done()) return true;
    std::uint32_t n = 0;
    if (!r.u32(n) || n == 0 || n > proposals_more_max) return false;
    more.resize(n);
    for (auto& [seq, value] : more) {
        if (!r.u64(seq) || !r.u64(value) || seq == 0) return false;
    }
    return r.done();
}

// O15: 1..commits_entry_max commits, each of a message from seq 1 on.
bool get_commits(Reader& r, std::vector<Commit>& commits) {
    std::uint32_t n = 0;
    if (!r.u32(n) || n == 0 || n > commits_entry_max) return false;
    commits.resize(n);
    for (Commit& c : commits) {
        if (!r.u64(c.seq) || !r.u64(c.number.value) || !r.u32(c.number.member) || c.seq == 0) {
            return false;
        }
    }
    return r.done();
}

}  // namespace

bool get_entry_body(ByteView body, StreamEntry& e) {
    Reader r(body);
    std::uint8_t type = 0;
    if (!r.u8(type) || type > 5) return false;
    e.type = static_cast<EntryType>(type);
    switch (e.type) {
        case EntryType::data:
            return r.bytes(r.left(), e.payload);
        case EntryType::commit:
            return r.u64(e.ref_seq) && r.u64(e.number.value) && r.u32(e.number.member) &&
                   e.ref_seq != 0 && r.done();
        case EntryType::order:
            return r.u32(e.ref_member) && r.u64(e.ref_seq) && e.ref_seq != 0 && r.done();
        case EntryType::null:
            return r.done();
        case EntryType::orders:
            return get_runs(r, e.runs);
        case EntryType::commits:
            return get_commits(r, e.commits);
    }
    return false;
}

void put_held(Bytes& out, const Held& h) {
    put_u32(out, h.sender);
    put_u64(out, h.entry.seq);
    put_i64(out, h.entry.timestamp);
    out.push_back(h.committed ? 1 : 0);
    put_u64(out, h.number.value);
    put_u32(out, h.number.member);
    put_u32(out, static_cast<std::uint32_t>(h.entry.clock.size()));
    for (auto c : h.entry.clock) put_u64(out, c);
    put_u32(out, static_cast<std::uint32_t>(h.entry.payload.size()));
    out.insert(out.end(), h.entry.payload.begin(), h.entry.payload.end());
}

bool get_held(Reader& r, std::uint32_t members_max, Held& h) {
    std::uint32_t n = 0, size = 0;
    std::uint8_t committed = 0;
    if (!r.u32(h.sender) || !r.u64(h.entry.seq) || !r.i64(h.entry.timestamp) || !r.u8(committed) ||
        !r.u64(h.number.value) || !r.u32(h.number.member) || !r.u32(n) || committed > 1) {
        return false;
    }
    h.committed = committed == 1;
    if (n > members_max || h.sender >= members_max || h.entry.seq == 0) return false;
    h.entry.clock.resize(n);
    for (auto& c : h.entry.clock) r.u64(c);
    return r.u32(size) && r.bytes(size, h.entry.payload);
}

bool get_helds(Reader& r, std::uint32_t members_max, std::vector<Held>& out) {
    std::uint32_t n = 0;
    if (!r.u32(n) || n > r.left() / 41) return false;  // 41: the smallest record.
    out.resize(n);
    for (auto& h : out) {
        if (!get_held(r, members_max, h)) return false;
    }
    return true;
}

Status parse_extensions(const wire::Packet& p, std::uint32_t name_bytes_max,
                        std::uint32_t members_max, OrderPacket& m) {
    for (const auto& e : p.extensions) {
        std::size_t offset = 0;
        switch (e.type) {
            case ExtensionType::group_name:
                if (e.value.empty() || e.value.size() > name_bytes_max) {
                    return fail(Errc::malformed, "group_name length");
                }
                m.group = std::string(as_text(e.value));
                break;
            case ExtensionType::view_id:
                if (e.value.size() != 8 || !get_u64(e.value, offset, m.view_id)) {
                    return fail(Errc::malformed, "view_id width");
                }
                break;
            case ExtensionType::vector_clock:
                if (e.value.size() % 8 != 0 || e.value.size() / 8 > members_max) {
                    return fail(Errc::malformed, "vector_clock width");
                }
                m.entry.clock.resize(e.value.size() / 8);
                for (auto& c : m.entry.clock) static_cast<void>(get_u64(e.value, offset, c));
                break;
            case ExtensionType::order_origin: {
                std::uint32_t origin = 0;
                if (e.value.size() != 4 || !get_u32(e.value, offset, origin) ||
                    origin >= members_max) {
                    return fail(Errc::malformed, "order_origin width or index");
                }
                m.origin = origin;
                break;
            }
            default:
                break;  // Unknown extensions are kept by the codec and ignored here.
        }
    }
    return {};
}

}  // namespace

std::string_view mode_name(OrderMode mode) {
    switch (mode) {
        case OrderMode::fifo:
            return "fifo";
        case OrderMode::sequencer:
            return "sequencer";
        case OrderMode::abcast:
            return "abcast";
        case OrderMode::cbcast:
            return "cbcast";
        case OrderMode::absolute:
            return "absolute";
    }
    return "?";
}

std::optional<OrderMode> parse_mode(std::string_view name) {
    for (auto m : {OrderMode::fifo, OrderMode::sequencer, OrderMode::abcast, OrderMode::cbcast,
                   OrderMode::absolute}) {
        if (mode_name(m) == name) return m;
    }
    return std::nullopt;
}

wire::Packet build(const OrderPacket& m) {
    wire::Packet p;
    auto& h = p.header;
    h.kind = m.kind;
    h.source = m.source.pid;
    h.source_incarnation = m.source.incarnation;
    h.target = m.target.pid;
    h.target_incarnation = m.target.incarnation;
    p.extensions.reserve(4);  // group_name, view_id, and vector_clock or order_origin.
    p.extensions.push_back({ExtensionType::group_name, to_bytes(m.group)});
    Bytes view;
    put_u64(view, m.view_id);
    p.extensions.push_back({ExtensionType::view_id, std::move(view)});
    switch (m.kind) {
        case PacketKind::order_data:
            h.seq = m.entry.seq;
            h.timestamp_ns = m.entry.timestamp;
            if (!m.entry.clock.empty()) {
                Bytes clock;
                for (auto c : m.entry.clock) put_u64(clock, c);
                p.extensions.push_back({ExtensionType::vector_clock, std::move(clock)});
            }
            put_entry_body(p.body, m.entry);
            if (m.entry.relay) h.flags |= wire::flag::order_relay;
            if (m.origin) {
                Bytes origin;
                put_u32(origin, *m.origin);
                p.extensions.push_back({ExtensionType::order_origin, std::move(origin)});
            }
            break;
        case PacketKind::order_ack:
            h.ack = m.ack;
            put_ack_body(p.body, m);
            break;
        case PacketKind::order_propose:
            h.seq = m.seq;
            put_u64(p.body, m.number.value);
            put_u32(p.body, m.number.member);
            if (!m.more.empty()) {
                put_u32(p.body, static_cast<std::uint32_t>(m.more.size()));
                for (const auto& [seq, value] : m.more) {
                    put_u64(p.body, seq);
                    put_u64(p.body, value);
                }
            }
            break;
        default:
            p.body = m.body;
            break;
    }
    return p;
}

Result<OrderPacket> parse(NodeId from, wire::Packet& packet, std::uint32_t name_bytes_max,
                          std::uint32_t members_max) {
    const auto& h = packet.header;
    if (!is_order_kind(h.kind)) return fail(Errc::malformed, "not an order kind");
    OrderPacket m;
    m.kind = h.kind;
    m.source = Member{h.source, h.source_incarnation};
    m.target = Member{h.target, h.target_incarnation};
    if (h.source.node != from) return fail(Errc::malformed, "source is not the sending node");
    if (!h.source.valid()) return fail(Errc::malformed, "invalid pid");
    // O38: order_data sent to the group's members on every node names no target.
    if (!h.target.valid() && !m.to_group()) return fail(Errc::malformed, "invalid pid");
    if (m.to_group() && h.kind != PacketKind::order_data) {
        return fail(Errc::malformed, "no target on another kind than order_data");
    }
    HERALD_TRY(parse_extensions(packet, name_bytes_max, members_max, m));
    if (m.to_group() && m.origin) return fail(Errc::malformed, "a relay without a target");
    if (m.group.empty()) return fail(Errc::malformed, "no group_name");
    if (m.view_id == 0) return fail(Errc::malformed, "no view_id");
    if (m.origin && m.kind != PacketKind::order_data) {
        return fail(Errc::malformed, "order_origin on another kind than order_data");
    }
    Reader r(packet.body);
    switch (m.kind) {
        case PacketKind::order_data:
            m.entry.seq = h.seq;
            m.entry.timestamp = h.timestamp_ns;
            if (h.seq == 0 || !get_entry_body(packet.body, m.entry)) {
                return fail(Errc::malformed, "order_data body");
            }
            m.entry.relay = (h.flags & wire::flag::order_relay) != 0;
            // O36: only data of a fault-tolerant atomic multicast is relayed.
            if (m.entry.relay && m.entry.type != EntryType::data) {
                return fail(Errc::malformed, "order_relay on a non-data entry");
            }
            if (m.origin && !m.entry.relay)
                return fail(Errc::malformed, "order_origin without relay");
            break;
        case PacketKind::order_ack:
            m.ack = h.ack;
            if (!get_ack_body(packet.body, members_max, m)) {
                return fail(Errc::malformed, "order_ack body");
            }
            break;
        case PacketKind::order_propose:
            m.seq = h.seq;
            if (h.seq == 0 || !r.u64(m.number.value) || !r.u32(m.number.member) ||
                !get_more_proposals(r, m.more)) {
                return fail(Errc::malformed, "order_propose body");
            }
            break;
        default:
            m.body = std::move(packet.body);
            break;
    }
    return m;
}

Bytes encode_skipped(const SkippedViews& s) {
    Bytes out;
    put_u64(out, 0);
    put_u64(out, s.first);
    put_u64(out, s.last);
    return out;
}

std::optional<SkippedViews> decode_skipped(ByteView bytes) {
    SkippedViews s;
    Reader r(bytes);
    std::uint64_t old = 0;
    if (!r.u64(old) || old != 0 || !r.u64(s.first) || !r.u64(s.last) || !r.done() || s.first == 0 ||
        s.first > s.last) {
        return std::nullopt;
    }
    return s;
}

Bytes encode_report(const FlushReport& r) {
    Bytes out;
    put_u64(out, r.old_view_id);
    put_u32(out, static_cast<std::uint32_t>(r.old_members.size()));
    for (const auto& m : r.old_members) put_member(out, m);
    for (auto c : r.contiguous) put_u64(out, c);
    put_u64(out, r.delivered_base);
    put_u32(out, static_cast<std::uint32_t>(r.delivered.size()));
    for (const auto& [sender, seq] : r.delivered) {
        put_u32(out, sender);
        put_u64(out, seq);
    }
    put_u32(out, static_cast<std::uint32_t>(r.messages.size()));
    for (const auto& h : r.messages) put_held(out, h);
    put_u32(out, static_cast<std::uint32_t>(r.previous_outcome.size()));
    out.insert(out.end(), r.previous_outcome.begin(), r.previous_outcome.end());
    put_u32(out, static_cast<std::uint32_t>(r.expected.size()));
    for (const auto& m : r.expected) put_member(out, m);
    return out;
}

std::optional<FlushReport> decode_report(ByteView bytes, std::uint32_t members_max) {
    FlushReport rep;
    Reader r(bytes);
    std::uint32_t n = 0;
    if (!r.u64(rep.old_view_id) || !r.u32(n) || n > members_max) return std::nullopt;
    rep.old_members.resize(n);
    for (auto& m : rep.old_members) get_member(r, m);
    rep.contiguous.resize(n);
    for (auto& c : rep.contiguous) r.u64(c);
    if (!r.u64(rep.delivered_base) || !r.u32(n) || n > r.left() / 12) return std::nullopt;
    rep.delivered.resize(n);
    for (auto& [sender, seq] : rep.delivered) {
        if (!r.u32(sender) || !r.u64(seq) || sender >= rep.old_members.size()) return std::nullopt;
    }
    std::uint32_t previous = 0;
    std::uint32_t expected = 0;
    if (!get_helds(r, members_max, rep.messages) || !r.u32(previous) ||
        !r.bytes(previous, rep.previous_outcome) || !r.u32(expected) || expected > members_max) {
        return std::nullopt;
    }
    rep.expected.resize(expected);
    for (auto& m : rep.expected) get_member(r, m);
    if (!r.done()) return std::nullopt;
    if (!std::is_sorted(rep.old_members.begin(), rep.old_members.end())) return std::nullopt;
    return rep;
}

Bytes encode_outcome(const FlushOutcome& o) {
    Bytes out;
    put_u64(out, o.old_view_id);
    put_u32(out, static_cast<std::uint32_t>(o.messages.size()));
    for (const auto& h : o.messages) put_held(out, h);
    const Bytes view = group::encode_view(o.view);
    out.insert(out.end(), view.begin(), view.end());
    return out;
}

std::optional<FlushOutcome> decode_outcome(ByteView bytes, std::uint32_t members_max) {
    FlushOutcome o;
    Reader r(bytes);
    Bytes view;
    if (!r.u64(o.old_view_id) || !get_helds(r, members_max, o.messages) ||
        !r.bytes(r.left(), view)) {
        return std::nullopt;
    }
    auto v = group::decode_view(view);
    if (!v || v->members.size() > members_max) return std::nullopt;
    o.view = std::move(*v);
    return o;
}

namespace {

// The fields every delivery starts with; `rest` bytes follow (reserved: one allocation).
Bytes delivery_head(bool is_view, std::uint64_t view_id, std::string_view group, std::size_t rest) {
    Bytes out;
    out.reserve(1 + 8 + 1 + group.size() + rest);
    out.push_back(is_view ? 1 : 0);
    put_u64(out, view_id);
    out.push_back(static_cast<std::uint8_t>(group.size()));
    out.insert(out.end(), group.begin(), group.end());
    return out;
}

}  // namespace

Bytes encode_data_delivery(std::string_view group, std::uint64_t view_id, const Member& sender,
                           std::uint64_t seq, std::int64_t timestamp, ByteView payload) {
    Bytes out = delivery_head(false, view_id, group, 20 + 8 + 8 + payload.size());  // Member: 20.
    put_member(out, sender);
    put_u64(out, seq);
    put_i64(out, timestamp);
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

Bytes encode_delivery(const Delivery& d) {
    if (!d.is_view) {
        return encode_data_delivery(d.group, d.view_id, d.sender, d.seq, d.timestamp, d.payload);
    }
    const Bytes v = group::encode_view(d.view);
    Bytes out = delivery_head(true, d.view_id, d.group, v.size());
    out.insert(out.end(), v.begin(), v.end());
    return out;
}

std::optional<Delivery> decode_delivery(ByteView bytes) {
    Delivery d;
    Reader r(bytes);
    std::uint8_t type = 0, length = 0;
    ByteView name;
    if (!r.u8(type) || !r.u64(d.view_id) || !r.u8(length) || type > 1 || !r.view(length, name)) {
        return std::nullopt;
    }
    d.is_view = type == 1;
    d.group = std::string(as_text(name));
    if (d.is_view) {
        ByteView rest;
        if (!r.view(r.left(), rest)) return std::nullopt;
        auto v = group::decode_view(rest);
        if (!v) return std::nullopt;
        d.view = std::move(*v);
        return d;
    }
    if (!get_member(r, d.sender) || !r.u64(d.seq) || !r.i64(d.timestamp)) return std::nullopt;
    if (!r.bytes(r.left(), d.payload)) return std::nullopt;
    return d;
}

}  // namespace herald::proto::order

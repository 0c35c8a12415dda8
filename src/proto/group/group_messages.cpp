// Building and validating group packets, views, envelopes and records. Layer: proto/group.
#include "proto/group/group_messages.h"

#include <algorithm>

#include "proto/fields.h"

namespace herald::proto::group {
namespace {

using wire::ExtensionType;
using wire::PacketKind;

bool is_group_kind(PacketKind kind) {
    const auto raw = static_cast<std::uint8_t>(kind);
    return (raw >= static_cast<std::uint8_t>(PacketKind::group_create) &&
            raw <= static_cast<std::uint8_t>(PacketKind::group_response)) ||
           kind == PacketKind::group_delete;
}

bool is_request(PacketKind kind) {
    return kind == PacketKind::group_create || kind == PacketKind::group_join ||
           kind == PacketKind::group_leave || kind == PacketKind::group_lookup ||
           kind == PacketKind::group_delete;
}

Status parse_extensions(const wire::Packet& p, std::uint32_t name_bytes_max, GroupPacket& m) {
    for (const auto& e : p.extensions) {
        std::size_t offset = 0;
        switch (e.type) {
            case ExtensionType::group_name:
                if (e.value.empty() || e.value.size() > name_bytes_max) {
                    return fail(Errc::malformed, "group_name length");
                }
                m.name = std::string(as_text(e.value));
                break;
            case ExtensionType::view_id:
                if (e.value.size() != 8 || !get_u64(e.value, offset, m.view_id)) {
                    return fail(Errc::malformed, "view_id width");
                }
                break;
            case ExtensionType::group_reliability:
                if (e.value.size() != 4 || !get_u32(e.value, offset, m.reliability)) {
                    return fail(Errc::malformed, "group_reliability width");
                }
                break;
            case ExtensionType::destinations:
                if (e.value.size() % 8 != 0) return fail(Errc::malformed, "destinations width");
                m.locals.resize(e.value.size() / 8);
                for (auto& id : m.locals) static_cast<void>(get_u64(e.value, offset, id));
                break;
            case ExtensionType::group_address:
                if (!get_group_address(e.value, offset, m.address, false) ||
                    offset != e.value.size()) {
                    return fail(Errc::malformed, "group_address");
                }
                break;
            case ExtensionType::group_members:
                if (e.value.empty() || e.value.size() % 16 != 0) {
                    return fail(Errc::malformed, "group_members width");
                }
                m.members.resize(e.value.size() / 16);
                for (auto& pid : m.members) static_cast<void>(get_pid(e.value, offset, pid));
                break;
            case ExtensionType::group_reply_to:
                if (e.value.size() != 16 || !get_pid(e.value, offset, m.reply_to) ||
                    !m.reply_to.valid()) {
                    return fail(Errc::malformed, "group_reply_to");
                }
                break;
            case ExtensionType::reason:
                if (e.value.size() != 1 || !is_error_code(e.value[0])) {
                    return fail(Errc::malformed, "bad reason");
                }
                m.reason = static_cast<Errc>(e.value[0]);
                break;
            default:
                break;  // Unknown extensions are kept by the codec and ignored here.
        }
    }
    return {};
}

}  // namespace

void put_group_address(Bytes& out, const GroupAddress& a) {
    out.push_back(static_cast<std::uint8_t>(a.kind));
    if (a.kind != AddressKind::multicast) return;
    out.push_back(a.ip.family);
    const std::size_t n = a.ip.family == 6 ? 16 : 4;
    out.insert(out.end(), a.ip.address.begin(), a.ip.address.begin() + static_cast<long>(n));
    out.push_back(static_cast<std::uint8_t>(a.ip.port & 0xFF));
    out.push_back(static_cast<std::uint8_t>(a.ip.port >> 8));
}

bool get_group_address(ByteView bytes, std::size_t& offset, GroupAddress& a, bool picked) {
    std::uint8_t kind = 0;
    if (!get_u8(bytes, offset, kind) || kind > 2) return false;
    a = GroupAddress{static_cast<AddressKind>(kind), {}};
    if (a.kind != AddressKind::multicast) return true;
    if (!get_u8(bytes, offset, a.ip.family) || (a.ip.family != 4 && a.ip.family != 6)) {
        return false;
    }
    const std::size_t n = a.ip.family == 6 ? 16 : 4;
    if (bytes.size() - offset < n + 2) return false;
    std::copy_n(bytes.begin() + static_cast<long>(offset), n, a.ip.address.begin());
    offset += n;
    a.ip.port = static_cast<std::uint16_t>(bytes[offset] | bytes[offset + 1] << 8);
    offset += 2;
    if (a.ip.valid()) return true;
    // G22: a create may ask the server to pick the group (address and port all zero).
    const bool pick = a.ip.port == 0 && std::all_of(a.ip.address.begin(), a.ip.address.end(),
                                                    [](std::uint8_t b) { return b == 0; });
    return !picked && pick;
}

bool View::contains(const Member& m) const {
    return std::binary_search(members.begin(), members.end(), m);
}

bool View::contains_pid(Pid pid) const {
    return std::any_of(members.begin(), members.end(),
                       [&](const Member& m) { return m.pid == pid; });
}

Bytes encode_view(const View& v) {
    Bytes out;
    out.reserve(13 + v.members.size() * 20);
    put_u64(out, v.id);
    // Fifo encodes as 0, so that the views of a fifo group are the bytes they were before the
    // mode was added (docs/groups.md "Binary encodings").
    const int mode = v.order == order_fifo ? 0 : v.order;
    const int kind = static_cast<int>(v.address.kind);
    out.push_back(static_cast<std::uint8_t>((v.closed ? 1 : 0) | mode << 1 | kind << 4));
    put_u32(out, static_cast<std::uint32_t>(v.members.size()));
    for (const auto& m : v.members) {
        put_pid(out, m.pid);
        put_u32(out, m.incarnation);
    }
    if (v.address.kind == AddressKind::multicast) {
        Bytes a;
        put_group_address(a, v.address);
        out.insert(out.end(), a.begin() + 1, a.end());  // The kind is in the flags.
    }
    return out;
}

std::optional<View> decode_view(ByteView bytes) {
    View v;
    std::size_t offset = 0;
    std::uint8_t flags = 0;
    std::uint32_t n = 0;
    if (!get_u64(bytes, offset, v.id) || !get_u8(bytes, offset, flags) ||
        !get_u32(bytes, offset, n)) {
        return std::nullopt;
    }
    if (v.id == 0 || bytes.size() - offset < std::size_t{n} * 20) return std::nullopt;
    v.closed = (flags & 1) != 0;
    const auto mode = static_cast<std::uint8_t>((flags >> 1) & 7);
    const auto kind = static_cast<std::uint8_t>((flags >> 4) & 3);
    if (mode > order_max || kind == 3 || (flags & 0xC0) != 0) return std::nullopt;
    v.order = mode == 0 ? order_fifo : mode;
    v.members.resize(n);
    for (auto& m : v.members) {
        if (!get_pid(bytes, offset, m.pid) || !get_u32(bytes, offset, m.incarnation)) {
            return std::nullopt;
        }
    }
    if (!std::is_sorted(v.members.begin(), v.members.end())) return std::nullopt;
    v.address.kind = static_cast<AddressKind>(kind);
    if (v.address.kind == AddressKind::multicast) {
        // The kind is in the flags; the rest is put_group_address's (a picked group).
        Bytes rest{1};
        rest.insert(rest.end(), bytes.begin() + static_cast<long>(offset), bytes.end());
        std::size_t at = 0;
        if (!get_group_address(rest, at, v.address, true)) return std::nullopt;
        offset += at - 1;
    }
    if (offset != bytes.size()) return std::nullopt;
    return v;
}

wire::Packet build(const GroupPacket& m, std::uint32_t self_incarnation) {
    wire::Packet p;
    auto& h = p.header;
    write_addressing(m, self_incarnation, h);
    h.ack = m.ack;
    if (m.closed) h.flags |= wire::flag::group_closed;
    if (m.respond) h.flags |= wire::flag::group_respond;
    if (m.reset) h.flags |= wire::flag::group_reset;
    if (m.deleted) h.flags |= wire::flag::group_deleted;
    if (!m.name.empty()) p.extensions.push_back({ExtensionType::group_name, to_bytes(m.name)});
    if (m.reason != Errc::ok) {
        p.extensions.push_back({ExtensionType::reason, {static_cast<std::uint8_t>(m.reason)}});
    }
    if (m.view_id != 0) put_u64_extension(p, ExtensionType::view_id, m.view_id);
    if (!m.locals.empty()) {
        Bytes b;
        for (auto id : m.locals) put_u64(b, id);
        p.extensions.push_back({ExtensionType::destinations, std::move(b)});
    }
    if (m.kind == PacketKind::group_data) {
        Bytes b;
        put_u32(b, m.reliability);
        p.extensions.push_back({ExtensionType::group_reliability, std::move(b)});
    }
    if (m.reply_to.valid()) {
        Bytes b;
        put_pid(b, m.reply_to);
        p.extensions.push_back({ExtensionType::group_reply_to, std::move(b)});
    }
    if (!m.members.empty()) {
        Bytes b;
        for (auto pid : m.members) put_pid(b, pid);
        p.extensions.push_back({ExtensionType::group_members, std::move(b)});
    }
    if (m.kind == PacketKind::group_create && m.address.kind != AddressKind::hosts) {
        Bytes b;
        put_group_address(b, m.address);
        p.extensions.push_back({ExtensionType::group_address, std::move(b)});
    }
    p.body = m.body;
    if (m.kind == PacketKind::group_create && m.order != order_fifo) p.body = {m.order};
    return p;
}

Result<GroupPacket> parse(NodeId from, wire::Packet& packet, std::uint32_t name_bytes_max) {
    const auto& h = packet.header;
    if (!is_group_kind(h.kind)) return fail(Errc::malformed, "not a group kind");
    GroupPacket m;
    static_cast<Addressing&>(m) = read_addressing(h);
    m.ack = h.ack;
    m.closed = (h.flags & wire::flag::group_closed) != 0;
    m.respond = (h.flags & wire::flag::group_respond) != 0;
    m.reset = (h.flags & wire::flag::group_reset) != 0;
    m.deleted = (h.flags & wire::flag::group_deleted) != 0;
    if (m.source.node != from) return fail(Errc::malformed, "source is not the sending node");
    if ((is_request(m.kind) || m.kind == PacketKind::group_data) && !m.source.valid()) {
        return fail(Errc::malformed, "invalid source pid");
    }
    HERALD_TRY(parse_extensions(packet, name_bytes_max, m));
    if (m.kind != PacketKind::group_heartbeat && m.name.empty()) {
        return fail(Errc::malformed, "no group_name");
    }
    if (m.id == 0 && m.kind != PacketKind::group_heartbeat &&
        m.kind != PacketKind::group_view_ack) {
        return fail(Errc::malformed, "id 0");
    }
    m.body = std::move(packet.body);
    if (m.kind == PacketKind::group_create) {
        // The mode: no body is fifo (as before the mode existed), else one byte 1..order_max.
        if (m.body.size() > 1 ||
            (m.body.size() == 1 && (m.body[0] == 0 || m.body[0] > order_max))) {
            return fail(Errc::malformed, "group_create order mode");
        }
        if (m.body.size() == 1) m.order = m.body[0];
    }
    return m;
}

Bytes encode_envelope(const Envelope& e) {
    Bytes out;
    const bool request = !e.is_deleted && !e.is_view && e.reply_to.valid();
    out.push_back(e.is_deleted ? 2 : e.is_view ? 1 : request ? 3 : 0);
    put_u64(out, e.view_id);
    out.push_back(static_cast<std::uint8_t>(e.group.size()));
    out.insert(out.end(), e.group.begin(), e.group.end());
    if (e.is_deleted) return out;
    if (e.is_view) {
        const Bytes v = encode_view(e.view);
        out.insert(out.end(), v.begin(), v.end());
        return out;
    }
    put_pid(out, e.sender.pid);
    put_u32(out, e.sender.incarnation);
    put_u64(out, e.message_id);
    if (request) put_pid(out, e.reply_to);
    out.insert(out.end(), e.payload.begin(), e.payload.end());
    return out;
}

std::optional<Envelope> decode_envelope(ByteView bytes) {
    Envelope e;
    std::size_t offset = 0;
    std::uint8_t type = 0, length = 0;
    if (!get_u8(bytes, offset, type) || !get_u64(bytes, offset, e.view_id) ||
        !get_u8(bytes, offset, length) || type > 3 || bytes.size() - offset < length) {
        return std::nullopt;
    }
    e.is_view = type == 1;
    e.is_deleted = type == 2;
    e.group = std::string(as_text(bytes.subspan(offset, length)));
    offset += length;
    if (e.is_deleted) {
        if (offset != bytes.size()) return std::nullopt;
        return e;
    }
    if (e.is_view) {
        auto v = decode_view(bytes.subspan(offset));
        if (!v) return std::nullopt;
        e.view = std::move(*v);
        return e;
    }
    if (!get_pid(bytes, offset, e.sender.pid) || !get_u32(bytes, offset, e.sender.incarnation) ||
        !get_u64(bytes, offset, e.message_id)) {
        return std::nullopt;
    }
    if (type == 3 && (!get_pid(bytes, offset, e.reply_to) || !e.reply_to.valid())) {
        return std::nullopt;
    }
    e.payload.assign(bytes.begin() + static_cast<std::ptrdiff_t>(offset), bytes.end());
    return e;
}

Bytes encode_responders(const Responders& r) {
    Bytes out;
    put_u64(out, r.view_id);
    put_u32(out, static_cast<std::uint32_t>(r.pids.size()));
    for (auto pid : r.pids) put_pid(out, pid);
    return out;
}

std::optional<Responders> decode_responders(ByteView bytes) {
    std::size_t offset = 0;
    std::uint32_t n = 0;
    Responders r;
    if (!get_u64(bytes, offset, r.view_id) || !get_u32(bytes, offset, n) ||
        bytes.size() - offset != std::size_t{n} * 16) {
        return std::nullopt;
    }
    r.pids.resize(n);
    for (auto& pid : r.pids) static_cast<void>(get_pid(bytes, offset, pid));
    return r;
}

Bytes encode_record(const std::vector<View>& history, RecordState state) {
    Bytes out;
    const int closed = !history.empty() && history.back().closed ? 1 : 0;
    const int bits = state == RecordState::deleted ? 2 : state == RecordState::gone ? 4 : 0;
    out.push_back(static_cast<std::uint8_t>(closed | bits));
    put_u32(out, static_cast<std::uint32_t>(history.size()));
    for (const auto& v : history) {
        const Bytes b = encode_view(v);
        put_u32(out, static_cast<std::uint32_t>(b.size()));
        out.insert(out.end(), b.begin(), b.end());
    }
    return out;
}

std::optional<std::vector<View>> decode_record(ByteView bytes) {
    RecordState state = RecordState::live;
    return decode_record(bytes, state);
}

std::optional<std::vector<View>> decode_record(ByteView bytes, RecordState& state) {
    std::size_t offset = 0;
    std::uint8_t flags = 0;
    std::uint32_t n = 0;
    if (!get_u8(bytes, offset, flags) || !get_u32(bytes, offset, n) || n == 0) return std::nullopt;
    std::vector<View> history;
    for (std::uint32_t i = 0; i < n; ++i) {
        std::uint32_t length = 0;
        if (!get_u32(bytes, offset, length) || bytes.size() - offset < length) return std::nullopt;
        auto v = decode_view(bytes.subspan(offset, length));
        if (!v || (!history.empty() && v->id != history.back().id + 1)) return std::nullopt;
        offset += length;
        history.push_back(std::move(*v));
    }
    if (offset != bytes.size() || (flags & 6) == 6) return std::nullopt;
    state = (flags & 2) != 0   ? RecordState::deleted
            : (flags & 4) != 0 ? RecordState::gone
                               : RecordState::live;
    return history;
}

Bytes encode_heartbeat(const std::vector<InstalledView>& views) {
    Bytes out;
    put_u32(out, static_cast<std::uint32_t>(views.size()));
    for (const auto& v : views) {
        out.push_back(static_cast<std::uint8_t>(v.name.size()));
        out.insert(out.end(), v.name.begin(), v.name.end());
        put_u64(out, v.view_id);
    }
    return out;
}

std::optional<std::vector<InstalledView>> decode_heartbeat(ByteView bytes) {
    std::size_t offset = 0;
    std::uint32_t n = 0;
    if (!get_u32(bytes, offset, n) || n > bytes.size()) return std::nullopt;
    std::vector<InstalledView> views(n);
    for (auto& v : views) {
        std::uint8_t length = 0;
        if (!get_u8(bytes, offset, length) || bytes.size() - offset < length) return std::nullopt;
        v.name = std::string(as_text(bytes.subspan(offset, length)));
        offset += length;
        if (!get_u64(bytes, offset, v.view_id)) return std::nullopt;
    }
    if (offset != bytes.size()) return std::nullopt;
    return views;
}

std::string record_key(std::string_view name) {
    return "group/g/" + std::string(name);
}

}  // namespace herald::proto::group

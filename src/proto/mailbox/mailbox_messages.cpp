// Building and validating mailbox packets and records. Layer: proto/mailbox.
#include "proto/mailbox/mailbox_messages.h"

#include <cstdio>

#include "proto/fields.h"

namespace herald::proto::mailbox {
namespace {

using wire::ExtensionType;
using wire::PacketKind;

bool is_request(PacketKind kind) {
    return kind == PacketKind::mailbox_send || kind == PacketKind::mailbox_receive ||
           kind == PacketKind::mailbox_ack;
}

bool is_mailbox_kind(PacketKind kind) {
    const auto raw = static_cast<std::uint8_t>(kind);
    return raw >= static_cast<std::uint8_t>(PacketKind::mailbox_send) &&
           raw <= static_cast<std::uint8_t>(PacketKind::mailbox_ack_reply);
}

// mailbox_wait, mailbox_from, mailbox_after and mailbox_take of a receive.
Status parse_receive(const wire::Packet& p, MailboxPacket& m) {
    const auto* wait = p.find(ExtensionType::mailbox_wait);
    std::size_t offset = 0;
    if (wait != nullptr && (wait->value.size() != 4 || !get_u32(wait->value, offset, m.wait_ms))) {
        return fail(Errc::malformed, "mailbox_wait length");
    }
    if (const auto* only = p.find(ExtensionType::mailbox_from)) {
        offset = 0;
        if (only->value.size() != 16 || !get_u64(only->value, offset, m.from.node.value) ||
            !get_u64(only->value, offset, m.from.local) || !m.from.node.known()) {
            return fail(Errc::malformed, "mailbox_from");
        }
    }
    if (const auto* read = p.find(ExtensionType::board_read)) {
        offset = 0;
        if (read->value.size() != 12 || !get_u64(read->value, offset, m.board_from) ||
            !get_u32(read->value, offset, m.board_count) || m.board_count == 0 ||
            m.from.node.known() || p.find(ExtensionType::mailbox_after) != nullptr ||
            p.find(ExtensionType::mailbox_take) != nullptr) {
            return fail(Errc::malformed, "board_read: 12 bytes, count >= 1, no filter");
        }
    }
    if (!get_u64_extension(p, ExtensionType::mailbox_after, m.peek, m.after) ||
        !get_u64_extension(p, ExtensionType::mailbox_take, m.take_set, m.take) ||
        (m.take_set && (m.take == 0 || m.peek))) {
        return fail(Errc::malformed, "mailbox_after or mailbox_take");
    }
    return {};
}

Status parse_request(NodeId from, const wire::Packet& p, std::uint32_t name_bytes_max,
                     MailboxPacket& m) {
    if (!m.source.valid()) return fail(Errc::malformed, "invalid source pid");
    if (m.source.node != from) return fail(Errc::malformed, "source pid is not on sender node");
    const auto* name = p.find(ExtensionType::mailbox_name);
    if (name == nullptr || name->value.empty()) return fail(Errc::malformed, "no mailbox_name");
    if (name->value.size() > name_bytes_max) return fail(Errc::malformed, "mailbox_name long");
    m.name = std::string(as_text(name->value));
    bool floor_set = false;
    if (!get_u64_extension(p, ExtensionType::mailbox_floor, floor_set, m.floor) ||
        (floor_set && (m.floor == 0 || m.floor > m.id || m.kind == PacketKind::mailbox_send))) {
        return fail(Errc::malformed, "mailbox_floor: 0, above the request id, or on a send");
    }
    if (m.kind == PacketKind::mailbox_receive) return parse_receive(p, m);
    return {};
}

}  // namespace

wire::Packet build(const MailboxPacket& m, std::uint32_t self_incarnation) {
    wire::Packet p;
    auto& h = p.header;
    write_addressing(m, self_incarnation, h);
    h.ack = m.tag;
    h.epoch = m.deliveries;
    if (m.redelivery) h.flags |= wire::flag::redelivery;
    if (is_request(m.kind)) p.extensions.push_back({ExtensionType::mailbox_name, to_bytes(m.name)});
    if (m.kind == PacketKind::mailbox_receive) {
        Bytes wait;
        put_u32(wait, m.wait_ms);
        p.extensions.push_back({ExtensionType::mailbox_wait, std::move(wait)});
        if (m.from.node.known()) {
            Bytes from;
            put_u64(from, m.from.node.value);
            put_u64(from, m.from.local);
            p.extensions.push_back({ExtensionType::mailbox_from, std::move(from)});
        }
        if (m.peek) put_u64_extension(p, ExtensionType::mailbox_after, m.after);
        if (m.take != 0) put_u64_extension(p, ExtensionType::mailbox_take, m.take);
        if (m.board_count != 0) {
            Bytes read;
            put_u64(read, m.board_from);
            put_u32(read, m.board_count);
            p.extensions.push_back({ExtensionType::board_read, std::move(read)});
        }
    }
    if (m.floor != 0) put_u64_extension(p, ExtensionType::mailbox_floor, m.floor);
    if (m.mailbox_seq != 0) put_u64_extension(p, ExtensionType::mailbox_seq, m.mailbox_seq);
    if (m.sender.node.known()) {
        Bytes sender;
        put_u64(sender, m.sender.node.value);
        put_u64(sender, m.sender.local);
        p.extensions.push_back({ExtensionType::mailbox_sender, std::move(sender)});
    }
    h.timestamp_ns = m.age.ns();
    if (m.message_id != 0) {
        Bytes id;
        put_u64(id, m.message_id);
        p.extensions.push_back({ExtensionType::mailbox_message, std::move(id)});
    }
    if (m.reason != Errc::ok) {
        p.extensions.push_back({ExtensionType::reason, Bytes{static_cast<std::uint8_t>(m.reason)}});
    }
    p.body = m.body;
    return p;
}

wire::Packet build(MailboxPacket&& m, std::uint32_t self_incarnation) {
    Bytes body = std::move(m.body);
    m.body.clear();
    wire::Packet p = build(m, self_incarnation);  // Copies the body it no longer has.
    p.body = std::move(body);
    return p;
}

Result<MailboxPacket> parse(NodeId from, wire::Packet& packet, std::uint32_t name_bytes_max) {
    const auto& h = packet.header;
    if (!is_mailbox_kind(h.kind)) return fail(Errc::malformed, "not a mailbox kind");
    if (h.seq == 0) return fail(Errc::malformed, "id 0");
    MailboxPacket m;
    static_cast<Addressing&>(m) = read_addressing(h);
    m.tag = h.ack;
    m.deliveries = h.epoch;
    m.redelivery = (h.flags & wire::flag::redelivery) != 0;
    m.age = Duration::nanoseconds(h.timestamp_ns);
    if (m.age < Duration::zero()) return fail(Errc::malformed, "negative age");
    bool present = false;
    if (!get_u64_extension(packet, ExtensionType::mailbox_message, present, m.message_id) ||
        !get_u64_extension(packet, ExtensionType::mailbox_seq, present, m.mailbox_seq)) {
        return fail(Errc::malformed, "mailbox_message or mailbox_seq length");
    }
    if (const auto* sender = packet.find(ExtensionType::mailbox_sender)) {
        std::size_t offset = 0;
        if (sender->value.size() != 16 || !get_u64(sender->value, offset, m.sender.node.value) ||
            !get_u64(sender->value, offset, m.sender.local)) {
            return fail(Errc::malformed, "mailbox_sender");
        }
    }
    if (is_request(m.kind)) {
        HERALD_TRY(parse_request(from, packet, name_bytes_max, m));
    } else if (const auto* reason = packet.find(ExtensionType::reason)) {
        if (reason->value.size() != 1 || !is_error_code(reason->value[0])) {
            return fail(Errc::malformed, "bad reason");
        }
        m.reason = static_cast<Errc>(reason->value[0]);
    }
    m.body = std::move(packet.body);
    return m;
}

Bytes encode_received(const Received& r) {
    Bytes out;
    out.reserve(received_header_bytes + r.body.size());
    put_u64(out, r.tag);
    put_u64(out, r.message_id);
    put_u32(out, r.deliveries);
    out.push_back(r.redelivery ? 1 : 0);
    put_u64(out, r.sender.node.value);
    put_u64(out, r.sender.local);
    put_u64(out, r.seq);
    out.insert(out.end(), r.body.begin(), r.body.end());
    return out;
}

Result<Received> decode_received(ByteView bytes) {
    Received r;
    std::size_t offset = 0;
    if (!get_u64(bytes, offset, r.tag) || !get_u64(bytes, offset, r.message_id) ||
        !get_u32(bytes, offset, r.deliveries) || offset >= bytes.size()) {
        return fail(Errc::malformed, "received record short");
    }
    r.redelivery = (bytes[offset++] & 1u) != 0;
    if (!get_u64(bytes, offset, r.sender.node.value) || !get_u64(bytes, offset, r.sender.local) ||
        !get_u64(bytes, offset, r.seq)) {
        return fail(Errc::malformed, "received record short");
    }
    r.body.assign(bytes.begin() + static_cast<std::ptrdiff_t>(offset), bytes.end());
    return r;
}

// Version 2: u8 2, u8 persistent, u32 capacity messages, u64 capacity bytes, u64 owner node,
// u64 owner local, u8 everyone's rights, u16 n, n x (u64 node, u64 local, u8 rights). Version
// 1 (13 bytes: u8 persistent 0/1, u32, u64; open to everyone) is still read.
// Version 3 (boards): version 2's fields, then u8 1 (board), u64 retain_ms.
Bytes encode_definition(const MailboxDefinition& d) {
    Bytes out{static_cast<std::uint8_t>(d.board ? 3 : 2),
              static_cast<std::uint8_t>(d.persistent ? 1 : 0)};
    put_u32(out, d.capacity_messages);
    put_u64(out, d.capacity_bytes);
    put_u64(out, d.owner.node.value);
    put_u64(out, d.owner.local);
    out.push_back(d.everyone);
    out.push_back(static_cast<std::uint8_t>(d.grants.size() & 0xff));
    out.push_back(static_cast<std::uint8_t>(d.grants.size() >> 8));
    for (const auto& [who, rights] : d.grants) {
        put_u64(out, who.node.value);
        put_u64(out, who.local);
        out.push_back(rights);
    }
    if (d.board) {
        out.push_back(1);
        put_u64(out, d.retain_ms);
    }
    return out;
}

std::optional<MailboxDefinition> decode_definition(ByteView bytes) {
    MailboxDefinition d;
    std::size_t offset = 1;
    if (bytes.size() == 13 && bytes[0] <= 1) {
        d.persistent = bytes[0] == 1;
        if (!get_u32(bytes, offset, d.capacity_messages) ||
            !get_u64(bytes, offset, d.capacity_bytes))
            return std::nullopt;
        return d;
    }
    if (bytes.size() < 33 || bytes[0] < 2 || bytes[0] > 3 || bytes[1] > 1) return std::nullopt;
    const std::size_t tail = bytes[0] == 3 ? 9 : 0;  // Version 3: u8 board, u64 retain_ms.
    d.persistent = bytes[1] == 1;
    offset = 2;
    if (!get_u32(bytes, offset, d.capacity_messages) || !get_u64(bytes, offset, d.capacity_bytes) ||
        !get_u64(bytes, offset, d.owner.node.value) || !get_u64(bytes, offset, d.owner.local)) {
        return std::nullopt;
    }
    d.everyone = bytes[offset++];
    const std::size_t n = bytes[offset] | (std::size_t{bytes[offset + 1]} << 8);
    offset += 2;
    if (d.everyone > rights::all || n > grants_max || bytes.size() != offset + n * 17 + tail) {
        return std::nullopt;
    }
    for (std::size_t i = 0; i < n; ++i) {
        Grantee who;
        if (!get_u64(bytes, offset, who.node.value) || !get_u64(bytes, offset, who.local)) {
            return std::nullopt;
        }
        const auto r = bytes[offset++];
        if (r == rights::none || r > rights::all) return std::nullopt;
        d.grants[who] = r;
    }
    if (tail != 0) {
        d.board = bytes[offset++] == 1;
        if (!d.board || !get_u64(bytes, offset, d.retain_ms)) return std::nullopt;
    }
    return d;
}

Bytes encode_message(const StoredMessage& m) {
    Bytes out;
    encode_message(m, out);
    return out;
}

void encode_message(const StoredMessage& m, Bytes& out) {
    out.clear();
    out.reserve(24 + m.body.size());
    put_u64(out, m.sender.node.value);
    put_u64(out, m.sender.local);
    put_u64(out, m.message_id);
    out.insert(out.end(), m.body.begin(), m.body.end());
}

std::optional<StoredMessage> decode_message(ByteView bytes) {
    StoredMessage m;
    std::size_t offset = 0;
    if (!get_u64(bytes, offset, m.sender.node.value) || !get_u64(bytes, offset, m.sender.local) ||
        !get_u64(bytes, offset, m.message_id)) {
        return std::nullopt;
    }
    m.body.assign(bytes.begin() + static_cast<std::ptrdiff_t>(offset), bytes.end());
    return m;
}

std::string definition_key(std::string_view name) {
    return "mailbox/b/" + std::string(name);
}

std::string message_key(std::string_view name, std::uint64_t seq) {
    std::string key;
    message_key(name, seq, key);
    return key;
}

void message_key(std::string_view name, std::uint64_t seq, std::string& key) {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(seq));
    // At most one allocation: the key is longer than a short string's inline buffer.
    key.clear();
    key.reserve(10 + name.size() + 1 + 16);
    key.append("mailbox/m/").append(name).append("/").append(hex);
}

std::string tombstone_key(NodeId sender, std::uint64_t message_id) {
    std::string key;
    tombstone_key(sender, message_id, key);
    return key;
}

void tombstone_key(NodeId sender, std::uint64_t message_id, std::string& key) {
    char hex[40];
    std::snprintf(hex, sizeof hex, "%016llx/%016llx", static_cast<unsigned long long>(sender.value),
                  static_cast<unsigned long long>(message_id));
    key.assign("mailbox/t/").append(hex);
}

std::string post_key(std::string_view name, std::uint64_t seq) {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(seq));
    return "mailbox/p/" + std::string(name) + "/" + hex;
}

std::string cursor_key(std::string_view name, Pid reader) {
    char hex[40];
    std::snprintf(hex, sizeof hex, "%016llx/%016llx",
                  static_cast<unsigned long long>(reader.node.value),
                  static_cast<unsigned long long>(reader.local));
    return "mailbox/c/" + std::string(name) + "/" + hex;
}

std::string evicted_key(std::string_view name) {
    return "mailbox/f/" + std::string(name);
}

Bytes encode_post(const BoardPost& p) {
    Bytes out;
    put_u64(out, static_cast<std::uint64_t>(p.posted_ns));
    auto message = encode_message({p.sender, p.message_id, p.body});
    out.insert(out.end(), message.begin(), message.end());
    return out;
}

std::optional<BoardPost> decode_post(ByteView bytes) {
    std::uint64_t posted = 0;
    std::size_t offset = 0;
    if (!get_u64(bytes, offset, posted)) return std::nullopt;
    auto m = decode_message(bytes.subspan(offset));
    if (!m) return std::nullopt;
    return BoardPost{0, static_cast<std::int64_t>(posted), m->sender, m->message_id,
                     std::move(m->body)};
}

Bytes encode_batch(const BoardBatch& b) {
    Bytes out;
    put_u64(out, b.missed);
    put_u64(out, b.cursor);
    put_u32(out, static_cast<std::uint32_t>(b.posts.size()));
    for (const auto& p : b.posts) {
        put_u64(out, p.seq);
        put_u64(out, static_cast<std::uint64_t>(p.posted_ns));
        put_u64(out, p.sender.node.value);
        put_u64(out, p.sender.local);
        put_u64(out, p.message_id);
        put_u32(out, static_cast<std::uint32_t>(p.body.size()));
        out.insert(out.end(), p.body.begin(), p.body.end());
    }
    return out;
}

Result<BoardBatch> decode_batch(ByteView bytes) {
    BoardBatch b;
    std::size_t offset = 0;
    std::uint32_t n = 0;
    if (!get_u64(bytes, offset, b.missed) || !get_u64(bytes, offset, b.cursor) ||
        !get_u32(bytes, offset, n)) {
        return fail(Errc::malformed, "board batch short");
    }
    for (std::uint32_t i = 0; i < n; ++i) {
        BoardPost p;
        std::uint64_t posted = 0;
        std::uint32_t size = 0;
        if (!get_u64(bytes, offset, p.seq) || !get_u64(bytes, offset, posted) ||
            !get_u64(bytes, offset, p.sender.node.value) ||
            !get_u64(bytes, offset, p.sender.local) || !get_u64(bytes, offset, p.message_id) ||
            !get_u32(bytes, offset, size) || bytes.size() - offset < size) {
            return fail(Errc::malformed, "board batch post short");
        }
        p.posted_ns = static_cast<std::int64_t>(posted);
        p.body.assign(bytes.begin() + static_cast<std::ptrdiff_t>(offset),
                      bytes.begin() + static_cast<std::ptrdiff_t>(offset + size));
        offset += size;
        b.posts.push_back(std::move(p));
    }
    if (offset != bytes.size()) return fail(Errc::malformed, "board batch: trailing bytes");
    return b;
}

}  // namespace herald::proto::mailbox

// Typed bodies: bounded MessagePack parsing, error mapping and the JSON rendering. Layer: wire.
#include "wire/body.h"

#include <array>
#include <charconv>
#include <cmath>
#include <string_view>

namespace herald::wire {
namespace detail {

Error pack_error(const std::exception& e) {
    if (dynamic_cast<const msgpack::container_size_overflow*>(&e) != nullptr) {
        return Error{Errc::too_large, std::string("body: ") + e.what()};
    }
    return Error{Errc::invalid_argument, std::string("body: ") + e.what()};
}

Error convert_error(const std::exception& e) {
    if (dynamic_cast<const msgpack::type_error*>(&e) != nullptr) {
        return Error{Errc::malformed, "body does not have the expected shape or types"};
    }
    return Error{Errc::malformed, std::string("body: ") + e.what()};
}

}  // namespace detail

Result<msgpack::object_handle> parse_body(ByteView bytes) noexcept {
    if (bytes.empty()) return fail(Errc::malformed, "body: empty");
    // A container of n elements needs at least n bytes, so these bounds refuse only impossible
    // documents, and they stop a 5-byte header from making msgpack-cxx allocate gigabytes.
    const std::size_t n = bytes.size();
    const msgpack::unpack_limit limit(n, n, n, n, n, body_depth_max);
    try {
        std::size_t offset = 0;
        auto handle = msgpack::unpack(reinterpret_cast<const char*>(bytes.data()), n, offset,
                                      nullptr, nullptr, limit);
        if (offset != n) return fail(Errc::malformed, "body: trailing bytes after the document");
        return handle;
    } catch (const std::exception& e) {
        return fail(Errc::malformed, std::string("body: ") + e.what());
    }
}

namespace {

constexpr std::string_view replacement_character = "\xEF\xBF\xBD";

// Length of the valid UTF-8 sequence starting at text[at], or 0 if it is not valid there
// (overlong forms, surrogates and code points above U+10FFFF are invalid, as in RFC 3629).
std::size_t utf8_sequence_length(std::string_view text, std::size_t at) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[at + i]); };
    const unsigned char b0 = byte(0);
    if (b0 < 0x80) return 1;
    std::size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        length = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        length = 3;
        if (b0 == 0xE0) low = 0xA0;   // Overlong.
        if (b0 == 0xED) high = 0x9F;  // Surrogates.
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        length = 4;
        if (b0 == 0xF0) low = 0x90;   // Overlong.
        if (b0 == 0xF4) high = 0x8F;  // Above U+10FFFF.
    } else {
        return 0;
    }
    if (text.size() - at < length) return 0;
    if (byte(1) < low || byte(1) > high) return 0;
    for (std::size_t i = 2; i < length; ++i) {
        if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
    }
    return length;
}

void append_escaped(std::string& out, unsigned char c) {
    static constexpr char hex[] = "0123456789abcdef";
    switch (c) {
        case '"':
            out += "\\\"";
            return;
        case '\\':
            out += "\\\\";
            return;
        case '\b':
            out += "\\b";
            return;
        case '\f':
            out += "\\f";
            return;
        case '\n':
            out += "\\n";
            return;
        case '\r':
            out += "\\r";
            return;
        case '\t':
            out += "\\t";
            return;
        default:
            break;
    }
    out += "\\u00";
    out += hex[c >> 4];
    out += hex[c & 0x0F];
}

void append_json_string(std::string& out, std::string_view text) {
    out += '"';
    std::size_t at = 0;
    while (at < text.size()) {
        const auto c = static_cast<unsigned char>(text[at]);
        if (c < 0x20 || c == '"' || c == '\\') {
            append_escaped(out, c);
            ++at;
            continue;
        }
        const std::size_t length = utf8_sequence_length(text, at);
        if (length == 0) {
            out += replacement_character;
            ++at;
            continue;
        }
        out.append(text.substr(at, length));
        at += length;
    }
    out += '"';
}

void append_base64(std::string& out, std::string_view data) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::size_t i = 0;
    const auto at = [&](std::size_t k) {
        return std::uint32_t{static_cast<unsigned char>(data[k])};
    };
    for (; i + 3 <= data.size(); i += 3) {
        const std::uint32_t v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
        for (int shift = 18; shift >= 0; shift -= 6) out += alphabet[(v >> shift) & 0x3F];
    }
    const std::size_t rest = data.size() - i;
    if (rest == 0) return;
    const std::uint32_t v = at(i) << 16 | (rest == 2 ? at(i + 1) << 8 : 0);
    out += alphabet[(v >> 18) & 0x3F];
    out += alphabet[(v >> 12) & 0x3F];
    out += rest == 2 ? alphabet[(v >> 6) & 0x3F] : '=';
    out += '=';
}

template <class Number>
void append_number(std::string& out, Number value) {
    std::array<char, 64> text{};
    const auto result = std::to_chars(text.data(), text.data() + text.size(), value);
    out.append(text.data(), result.ptr);
}

void append_float(std::string& out, double value, bool single) {
    if (!std::isfinite(value)) {
        out += "null";
        return;
    }
    if (single) {
        append_number(out, static_cast<float>(value));
    } else {
        append_number(out, value);
    }
}

void append_json(std::string& out, const msgpack::object& o, int key_depth);

// A non-string key is its JSON text inside a string. Each key nested in a key escapes that text
// once more, which doubles its quotes and backslashes: a 100-byte body of maps keyed by maps
// would render as 2^50 bytes. So keys nested deeper than body_key_depth_max render as "...",
// which bounds the output at 2^body_key_depth_max times the linear rendering.
void append_key(std::string& out, const msgpack::object& key, int key_depth) {
    if (key.type == msgpack::type::STR) {
        append_json_string(out, std::string_view(key.via.str.ptr, key.via.str.size));
        return;
    }
    if (key_depth >= static_cast<int>(body_key_depth_max)) {
        out += "\"...\"";
        return;
    }
    std::string text;
    append_json(text, key, key_depth + 1);
    append_json_string(out, text);
}

void append_container(std::string& out, const msgpack::object& o, int key_depth) {
    if (o.type == msgpack::type::ARRAY) {
        out += '[';
        for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
            if (i > 0) out += ',';
            append_json(out, o.via.array.ptr[i], key_depth);
        }
        out += ']';
        return;
    }
    out += '{';
    for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        if (i > 0) out += ',';
        append_key(out, o.via.map.ptr[i].key, key_depth);
        out += ':';
        append_json(out, o.via.map.ptr[i].val, key_depth);
    }
    out += '}';
}

// Recursion depth is bounded by body_depth_max, enforced when the document was parsed.
void append_json(std::string& out, const msgpack::object& o, int key_depth) {
    switch (o.type) {
        case msgpack::type::NIL:
            out += "null";
            return;
        case msgpack::type::BOOLEAN:
            out += o.via.boolean ? "true" : "false";
            return;
        case msgpack::type::POSITIVE_INTEGER:
            append_number(out, o.via.u64);
            return;
        case msgpack::type::NEGATIVE_INTEGER:
            append_number(out, o.via.i64);
            return;
        case msgpack::type::FLOAT32:
            append_float(out, o.via.f64, true);
            return;
        case msgpack::type::FLOAT64:
            append_float(out, o.via.f64, false);
            return;
        case msgpack::type::STR:
            append_json_string(out, std::string_view(o.via.str.ptr, o.via.str.size));
            return;
        case msgpack::type::BIN:
            out += "{\"$base64\":\"";
            append_base64(out, std::string_view(o.via.bin.ptr, o.via.bin.size));
            out += "\"}";
            return;
        case msgpack::type::EXT:
            out += "{\"$ext\":";
            append_number(out, static_cast<int>(o.via.ext.type()));
            out += ",\"$base64\":\"";
            append_base64(out, std::string_view(o.via.ext.data(), o.via.ext.size));
            out += "\"}";
            return;
        case msgpack::type::ARRAY:
        case msgpack::type::MAP:
            append_container(out, o, key_depth);
            return;
    }
    out += "null";  // Unreachable for documents msgpack-cxx produced.
}

}  // namespace

Result<std::string> body_to_json(ByteView bytes) {
    HERALD_TRY(auto handle, parse_body(bytes));
    std::string out;
    out.reserve(bytes.size() * 2);
    append_json(out, handle.get(), 0);
    return out;
}

}  // namespace herald::wire

// Typed message bodies: values in MessagePack (msgpack-cxx), readable from any language that has
// a MessagePack library (Python's `msgpack` is tested). Layer: wire.
// Nothing here throws: msgpack-cxx exceptions are caught and turned into Result errors.
// A user type becomes packable with msgpack-cxx's MSGPACK_DEFINE_MAP(field, ...) (keys are the
// field names, so other languages see a map) or MSGPACK_DEFINE (an array).
#pragma once

#include <cstddef>
#include <cstring>
#include <exception>
#include <msgpack.hpp>
#include <string>

#include "core/bytes.h"
#include "core/result.h"

namespace herald::wire {

// Nesting deeper than this is refused when parsing (it bounds recursion in body_to_json and in
// msgpack-cxx's converters; no Herald body needs more).
inline constexpr std::size_t body_depth_max = 64;
// body_to_json renders a map key nested in this many non-string keys as "..." (see there).
inline constexpr std::size_t body_key_depth_max = 4;

namespace detail {
// msgpack-cxx's output-stream concept, appending to a Bytes.
struct BytesWriter {
    Bytes& out;
    // resize + memcpy rather than insert: g++ 12 -O2 reports a false -Wstringop-overflow in
    // vector<unsigned char>::insert when inlined here (GCC bug 107852).
    void write(const char* data, std::size_t size) {
        if (size == 0) return;
        const std::size_t at = out.size();
        out.resize(at + size);
        std::memcpy(out.data() + at, data, size);
    }
};
[[nodiscard]] Error pack_error(const std::exception& e);
[[nodiscard]] Error convert_error(const std::exception& e);
}  // namespace detail

// Appends the MessagePack encoding of `value` to `out` (reuse `out` to avoid allocating).
// Errc::too_large: a container or string longer than MessagePack allows (2^32 - 1);
// Errc::invalid_argument: msgpack-cxx refused the value for another reason. On error `out` may
// hold a partial document: the caller discards it. Any thread.
template <class T>
[[nodiscard]] Status pack_append(const T& value, Bytes& out) noexcept {
    try {
        detail::BytesWriter writer{out};
        msgpack::pack(writer, value);
        return {};
    } catch (const std::exception& e) {
        return tl::make_unexpected(detail::pack_error(e));
    }
}

// Encodes `value` as one MessagePack document. Errors as pack_append. Any thread.
template <class T>
[[nodiscard]] Result<Bytes> pack(const T& value) noexcept {
    Bytes out;
    HERALD_TRY(pack_append(value, out));
    return out;
}

// Parses exactly one MessagePack document that fills `bytes`, with bounds derived from its
// size (no container may announce more elements than there are bytes) and body_depth_max.
// The handle owns copies of every string and binary, so `bytes` may go away afterwards.
// Errc::malformed: empty, truncated, trailing bytes, invalid encoding, or a bound exceeded.
[[nodiscard]] Result<msgpack::object_handle> parse_body(ByteView bytes) noexcept;

// Decodes a body written by pack<T> (or by another language with the same shape) into a T.
// Errc::malformed: not one valid document (see parse_body), or its shape or types do not fit T
// (detail names the msgpack-cxx error). T must be default-constructible. Any thread.
template <class T>
[[nodiscard]] Result<T> unpack(ByteView bytes) noexcept {
    HERALD_TRY(auto handle, parse_body(bytes));
    try {
        T value{};
        handle.get().convert(value);
        return value;
    } catch (const std::exception& e) {
        return tl::make_unexpected(detail::convert_error(e));
    }
}

// Renders a MessagePack body as compact JSON text, for the CLI and traces (no JSON library:
// wire links only core and msgpack). Mapping: nil -> null; booleans, integers as such; floats
// in shortest round-trip form, NaN and infinities -> null; strings -> JSON strings (invalid UTF-8
// replaced by U+FFFD); bin -> {"$base64":"..."}; ext -> {"$ext":type,"$base64":"..."}; maps ->
// objects whose non-string keys are rendered as JSON text inside a string (a key inside
// body_key_depth_max such keys as "...", so the output stays within a constant times the body).
// Errc::malformed as parse_body. Any thread.
[[nodiscard]] Result<std::string> body_to_json(ByteView bytes);

}  // namespace herald::wire

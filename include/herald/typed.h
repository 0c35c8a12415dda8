// Typed message bodies for the public API: send C++ values and get them back typed, encoded as
// MessagePack (readable from other languages). Public API. Including this header brings in
// msgpack-cxx (<msgpack.hpp>); programs that only send bytes need not include it.
// A struct becomes sendable with msgpack-cxx's MSGPACK_DEFINE_MAP(field, ...).
#pragma once

#include <exception>
#include <msgpack.hpp>
#include <utility>

#include "herald/bytes.h"
#include "herald/errors.h"
#include "herald/export.h"
#include "herald/process.h"

namespace herald {

namespace typed_detail {
// Implemented by the library (the same rules as every Herald body: bounded depth and sizes).
[[nodiscard]] HERALD_API Error pack_error(const std::exception& e);
[[nodiscard]] HERALD_API Error convert_error(const std::exception& e);
[[nodiscard]] HERALD_API Result<msgpack::object_handle> parse_body(ByteView bytes) noexcept;
}  // namespace typed_detail

// Encodes `value` as one MessagePack document. Errc::too_large (a string or container longer
// than MessagePack allows), Errc::invalid_argument (msgpack-cxx refused the value).
template <class T>
[[nodiscard]] Result<Bytes> pack_value(const T& value) noexcept {
    try {
        msgpack::sbuffer buffer;
        msgpack::pack(buffer, value);
        const auto* data = reinterpret_cast<const std::uint8_t*>(buffer.data());
        return Bytes(data, data + buffer.size());
    } catch (const std::exception& e) {
        return tl::make_unexpected(typed_detail::pack_error(e));
    }
}

// Decodes one MessagePack document (from pack_value, or another language) into a T.
// Errc::malformed: not one valid document, or its shape does not fit T.
template <class T>
[[nodiscard]] Result<T> unpack_value(ByteView bytes) noexcept {
    auto handle = typed_detail::parse_body(bytes);
    if (!handle) return tl::make_unexpected(std::move(handle).error());
    try {
        T value{};
        handle->get().convert(value);
        return value;
    } catch (const std::exception& e) {
        return tl::make_unexpected(typed_detail::convert_error(e));
    }
}

// Packs `value` and sends it (errors of pack_value, then of Process::send).
template <class T>
[[nodiscard]] Status send_value(Process& process, Pid to, const T& value,
                                const SendOptions& options = {}) {
    auto body = pack_value(value);
    if (!body) return tl::make_unexpected(std::move(body).error());
    return process.send(to, std::move(*body), options);
}

// Decodes an envelope's body as a T. Errc::malformed when it is not a T.
template <class T>
[[nodiscard]] Result<T> body_as(const Envelope& envelope) {
    return unpack_value<T>(envelope.body);
}

}  // namespace herald

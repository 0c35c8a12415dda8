// Typed message bodies for the public API: send C++ values and get them back typed, encoded as
// MessagePack (readable from other languages). Public API. Including this header brings in
// msgpack-cxx (<msgpack.hpp>); programs that only send bytes need not include it.
// A struct becomes sendable with msgpack-cxx's MSGPACK_DEFINE_MAP(field, ...).
#pragma once

#include "herald/process.h"
#include "wire/body.h"

namespace herald {

// Packs `value` and sends it (errors of wire::pack, then of Process::send).
template <class T>
[[nodiscard]] Status send_value(Process& process, Pid to, const T& value,
                                const SendOptions& options = {}) {
    HERALD_TRY(Bytes body, wire::pack(value));
    return process.send(to, std::move(body), options);
}

// Decodes an envelope's body as a T. Errc::malformed when it is not a T.
template <class T>
[[nodiscard]] Result<T> body_as(const Envelope& envelope) {
    return wire::unpack<T>(envelope.body);
}

}  // namespace herald

// The library side of herald/typed.h: the same body rules as the rest of Herald (wire/body.h).
// Layer: api.
#include "herald/typed.h"

#include "wire/body.h"

namespace herald::typed_detail {

Error pack_error(const std::exception& e) {
    return wire::detail::pack_error(e);
}

Error convert_error(const std::exception& e) {
    return wire::detail::convert_error(e);
}

Result<msgpack::object_handle> parse_body(ByteView bytes) noexcept {
    return wire::parse_body(bytes);
}

}  // namespace herald::typed_detail

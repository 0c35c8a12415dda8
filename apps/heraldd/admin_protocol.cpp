// Admin service messages: MessagePack encoding through wire/body.h. Layer: apps.
#include "admin_protocol.h"

#include "wire/body.h"

namespace herald::admin {
namespace {

template <class T>
Result<T> decode(ByteView body, std::string_view what) {
    auto value = wire::unpack<T>(body);
    if (!value) {
        return fail(Errc::malformed,
                    "not an admin " + std::string(what) + ": " + value.error().detail);
    }
    if (value->herald_admin != protocol_version) {
        return fail(Errc::malformed, "admin protocol version " +
                                         std::to_string(value->herald_admin) + ", expected " +
                                         std::to_string(protocol_version));
    }
    return value;
}

}  // namespace

Result<Bytes> encode(Request request) {
    request.herald_admin = protocol_version;
    return wire::pack(request);
}

Result<Bytes> encode(Reply reply) {
    reply.herald_admin = protocol_version;
    return wire::pack(reply);
}

Result<Request> decode_request(ByteView body) {
    return decode<Request>(body, "request");
}
Result<Reply> decode_reply(ByteView body) {
    return decode<Reply>(body, "reply");
}

}  // namespace herald::admin

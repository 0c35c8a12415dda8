// Building and reading the naming packets. Layer: proto/naming.
#include "proto/naming/naming_messages.h"

#include <utility>

namespace herald::proto::naming {

using wire::ExtensionType;

wire::Packet make_request(Op op, NodeId self, NodeId server, std::uint32_t incarnation,
                          std::uint64_t seq, Bytes body) {
    wire::Packet p;
    p.header.kind = wire::PacketKind::name_request;
    p.header.source = Pid{self, 0};
    p.header.target = Pid{server, 0};
    p.header.source_incarnation = incarnation;
    p.header.epoch = static_cast<std::uint32_t>(op);
    p.header.seq = seq;
    p.body = std::move(body);
    return p;
}

wire::Packet make_reply(const wire::Packet& request, NodeId self, std::uint32_t incarnation,
                        const Result<Bytes>& result) {
    wire::Packet p;
    p.header.kind = wire::PacketKind::name_reply;
    p.header.source = Pid{self, 0};
    p.header.target = Pid{request.header.source.node, 0};
    p.header.source_incarnation = incarnation;
    p.header.target_incarnation = request.header.source_incarnation;
    p.header.epoch = request.header.epoch;
    p.header.seq = request.header.seq;
    if (result) {
        p.body = *result;
        return p;
    }
    p.extensions.push_back(
        {ExtensionType::reason, Bytes{static_cast<std::uint8_t>(result.error().code)}});
    if (!result.error().detail.empty()) {
        p.extensions.push_back({ExtensionType::text, to_bytes(result.error().detail)});
    }
    return p;
}

Result<Bytes> reply_result(wire::Packet& reply) {
    const auto* reason = reply.find(ExtensionType::reason);
    if (reason == nullptr) return std::move(reply.body);
    if (reason->value.size() != 1 || reason->value[0] == 0 ||
        reason->value[0] > static_cast<std::uint8_t>(Errc::not_found)) {
        return fail(Errc::malformed, "name_reply: bad reason");
    }
    std::string detail;
    if (const auto* text = reply.find(ExtensionType::text)) {
        detail = std::string(as_text(text->value));
    }
    return fail(static_cast<Errc>(reason->value[0]), std::move(detail));
}

}  // namespace herald::proto::naming

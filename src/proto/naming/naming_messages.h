// The naming packets (name_request, name_reply) and their MessagePack bodies: how the engine
// builds them and validates the ones that arrive. Layer: proto/naming. Format: docs/naming.md.
#pragma once

#include <cstdint>
#include <msgpack.hpp>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/result.h"
#include "wire/packet.h"

namespace herald::proto::naming {

// The operation of a name_request, in its header's `epoch` field.
// probe (rule 14) goes the other way: the server asks a holder node whether it lives.
enum class Op : std::uint8_t { register_name = 1, lookup = 2, unregister = 3, list = 4, probe = 5 };

// A name_request body (MessagePack map). Unused fields are empty or zero.
struct RequestBody {
    std::string name;           // register, lookup, unregister: the name; list: the prefix.
    std::uint64_t node = 0;     // register: the owner pid's node; unregister: the owner.
    std::uint64_t local = 0;    // The owner pid's local id.
    std::int64_t lease_ms = 0;  // register: how long the name lives unless renewed.
    MSGPACK_DEFINE_MAP(name, node, local, lease_ms)
};

// One name as a reply carries it (MessagePack map); a list reply is an array of these.
struct NameEntry {
    std::string name;
    std::uint64_t node = 0;
    std::uint64_t local = 0;
    std::int64_t lease_ms = 0;  // Time left until the name expires, in ms (at the server).
    MSGPACK_DEFINE_MAP(name, node, local, lease_ms)

    [[nodiscard]] Pid owner() const { return Pid{NodeId{node}, local}; }
};

// The durable record of one name under "naming/n/<name>" (MessagePack map).
// `holder` and `holder_incarnation` (rule 14) are absent from records written before them:
// then 0, read as "the owner's node, incarnation not known".
struct StoredName {
    std::uint64_t node = 0;
    std::uint64_t local = 0;
    std::int64_t lease_ms = 0;
    std::uint64_t holder = 0;
    std::uint32_t holder_incarnation = 0;
    MSGPACK_DEFINE_MAP(node, local, lease_ms, holder, holder_incarnation)
};

// Who sent a request: its node, incarnation and request id (a duplicate has all three equal).
struct RequestKey {
    std::uint64_t node = 0;
    std::uint32_t incarnation = 0;
    std::uint64_t seq = 0;
    constexpr auto operator<=>(const RequestKey&) const = default;
};

// A request from node `self` to the server on `server` (source `<self>.0`, target
// `<server>.0`: the runtime takes the sending node from the header).
[[nodiscard]] wire::Packet make_request(Op op, NodeId self, NodeId server,
                                        std::uint32_t incarnation, std::uint64_t seq, Bytes body);
// A reply of server `self` to `request`: ok with `body`, or the error (reason extension, text
// extension).
[[nodiscard]] wire::Packet make_reply(const wire::Packet& request, NodeId self,
                                      std::uint32_t incarnation, const Result<Bytes>& result);
// The result a name_reply carries. Errc::malformed when the reason extension is bad.
[[nodiscard]] Result<Bytes> reply_result(wire::Packet& reply);

inline constexpr std::string_view name_prefix = "naming/n/";

}  // namespace herald::proto::naming

// Message: what one process hands to another. Layer: core.
// On the wire it travels as a fixed-length header plus body (see wire/packet.h, docs/wire.md).
#pragma once

#include <cstdint>

#include "core/bytes.h"
#include "core/ids.h"

namespace herald {

struct Message {
    Pid source;
    Pid target;
    std::uint64_t seq = 0;          // Per (source, target) channel; set by the direct engine.
    std::int64_t sent_unix_ns = 0;  // Sender's wall clock when the application called send.
    Bytes body;                     // Raw bytes or a MessagePack document (wire/body.h).
    // Delivered by the group engine: the body is a group envelope (docs/groups.md). Set by the
    // runtime on delivery, never sent on the wire.
    bool group = false;
    // Delivered by the ordering engine (also `group`): the body is an ordered delivery
    // (docs/ordering.md, "Binary encodings"). Set by the runtime on delivery, never sent.
    bool ordered = false;
};

}  // namespace herald

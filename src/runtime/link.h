// Link: the piece between the engines and one transport. Outgoing: encode a packet, cut it into
// fragments when it is larger than one datagram, and route it by NodeId through the peer table.
// Incoming: decode a datagram and reassemble fragmented packets. Layer: runtime. Loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/time.h"
#include "runtime/peer_table.h"
#include "runtime/transport.h"
#include "wire/codec.h"
#include "wire/fragment.h"
#include "wire/packet.h"

namespace herald::runtime {

struct LinkOptions {
    // Largest body carried (fragmented or not); larger packets are not sent (counted).
    std::size_t message_bytes_max = wire::message_bytes_max_default;
    wire::ReassemblerOptions reassembly;
};

class Link {
public:
    // `transport` and `peers` must outlive the link.
    Link(Transport& transport, PeerTable& peers, const LinkOptions& options);

    // Sends `packet` to node `to`. Returns false, counting the drop, when `to` has no known
    // endpoint (the engine's retransmission and unreachable logic takes over) or the packet
    // cannot be encoded (a programmer error in an engine: counted, not sent).
    bool send(NodeId to, const wire::Packet& packet);
    // Sends `packet` to an address (hello to a node whose id is not known yet).
    bool send_to(const Endpoint& to, const wire::Packet& packet);

    // Decodes one datagram. Returns the complete packet, or nothing when it was a fragment of
    // an incomplete message, a duplicate fragment, or malformed (counted and dropped).
    [[nodiscard]] std::optional<wire::Packet> receive(ByteView datagram, Time now);

    // Reassembly timeouts: when expire() next has work, and doing it.
    [[nodiscard]] std::optional<Time> next_deadline() const;
    void expire(Time now);

    struct Counters {
        std::uint64_t packets_sent = 0, fragments_sent = 0, unknown_peer_dropped = 0;
        std::uint64_t unencodable_dropped = 0, malformed_dropped = 0;
        std::uint64_t fragments_received = 0, reassembled = 0, reassembly_dropped = 0;
    };
    [[nodiscard]] Counters counters() const;

private:
    Transport& transport_;
    PeerTable& peers_;
    LinkOptions options_;
    wire::DecodeOptions decode_options_;
    wire::Reassembler reassembler_;
    Bytes scratch_;  // One datagram; reused so the steady-state send path does not allocate.
    std::uint32_t fragment_id_next_ = 1;
    Counters counters_;
};

}  // namespace herald::runtime

// Link: the piece between the engines and one transport. Outgoing: encode a packet, pack small
// packets bound for one address into one datagram until flush(), cut packets larger than one
// datagram into fragments, and route by NodeId through the peer table. Incoming: split a
// datagram into its packets, decode them and reassemble fragmented ones. Layer: runtime.
// Loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/time.h"
#include "runtime/peer_table.h"
#include "runtime/transport.h"
#include "wire/auth.h"
#include "wire/codec.h"
#include "wire/fragment.h"
#include "wire/packet.h"

namespace herald::runtime {

struct LinkOptions {
    // Largest body carried (fragmented or not); larger packets are not sent (counted).
    std::size_t message_bytes_max = wire::message_bytes_max_default;
    // Small packets to one address wait (until flush()) to share a datagram of at most this
    // many bytes (capped by the transport's datagram size); 0 sends each packet on its own.
    // Packing trades nothing for latency (flush() runs at the end of each loop batch) and
    // saves a system call and a kernel datagram per packet.
    std::size_t pack_bytes_max = 16384;
    // Addresses with packets waiting; one more flushes the oldest first.
    std::size_t pack_destinations_max = 64;
    wire::ReassemblerOptions reassembly;
    // Cluster keys (docs/security.md): empty, packets go unauthenticated and every packet is
    // accepted; else every packet sent is sealed with the first and every packet received must
    // verify with one of them, or it is dropped (counted auth_failed); a packet whose number
    // its sender already used is dropped too (counted replays_dropped).
    std::vector<wire::AuthKey> keys;
    // With keys: also encrypt everything after the fixed header of every packet sent
    // (docs/security.md, "Encryption"). Encrypted packets are read with keys whether or not
    // this is set; a link without keys drops them (counted malformed_dropped).
    bool encrypt = false;
    // Senders (node, incarnation) whose packet numbers are remembered (wire::ReplayGuard).
    std::size_t replay_senders_max = 4096;
};

class Link {
public:
    // `transport` and `peers` must outlive the link.
    Link(Transport& transport, PeerTable& peers, const LinkOptions& options);

    // Sends `packet` to node `to`: small packets are packed and handed to the transport by
    // flush(), packets to one address in the order they were sent. Returns false, counting the
    // drop, when `to` has no known endpoint (the engine's retransmission and unreachable logic
    // takes over) or the packet cannot be encoded (a programmer error in an engine: counted,
    // not sent).
    bool send(NodeId to, const wire::PacketParts& packet);
    // Sends `packet` to an address (hello to a node whose id is not known yet).
    bool send_to(const Endpoint& to, const wire::PacketParts& packet);
    bool send(NodeId to, const wire::Packet& packet) { return send(to, wire::parts_of(packet)); }
    bool send_to(const Endpoint& to, const wire::Packet& packet) {
        return send_to(to, wire::parts_of(packet));
    }
    // Hands every packed datagram to the transport (which the caller flushes next).
    void flush();

    // Splits one datagram into its packets and decodes them; calls `on_packet` for each
    // complete one (a fragment completes a message only with its last missing piece). A
    // packet that does not decode is counted and dropped; one whose length cannot be read
    // (or overruns the datagram) is counted and ends the datagram.
    using PacketHandler = std::function<void(wire::Packet&&)>;
    void receive(ByteView datagram, Time now, const PacketHandler& on_packet);

    // Reassembly timeouts: when expire() next has work, and doing it.
    [[nodiscard]] std::optional<Time> next_deadline() const;
    void expire(Time now);

    struct Counters {
        std::uint64_t packets_sent = 0, fragments_sent = 0, unknown_peer_dropped = 0;
        std::uint64_t datagrams_packed = 0;  // Datagrams that carried more than one packet.
        std::uint64_t unencodable_dropped = 0, malformed_dropped = 0;
        std::uint64_t fragments_received = 0, reassembled = 0, reassembly_dropped = 0;
        std::uint64_t auth_failed = 0;  // Unauthenticated or wrongly tagged (keys set).
        // Authentic, but a packet number seen before or too old to tell (keys set).
        std::uint64_t replays_dropped = 0;
        std::uint64_t decrypted = 0;  // Encrypted packets read (keys set).
        // Reassembly now: bytes held for incomplete messages, and how many there are.
        std::uint64_t reassembly_bytes = 0, reassembly_partials = 0;
        // Replay windows now (keys set): senders remembered, and their estimated heap bytes.
        std::uint64_t replay_senders = 0, replay_bytes = 0;
    };
    [[nodiscard]] bool authenticated() const { return auth_.has_value(); }
    [[nodiscard]] bool encrypting() const { return auth_.has_value() && options_.encrypt; }
    [[nodiscard]] Counters counters() const;
    // Fragments received so far (one load: the receive path asks after every datagram).
    [[nodiscard]] std::uint64_t fragments_received() const { return counters_.fragments_received; }

    // The replay windows' floors, kept across restarts by the node (docs/security.md
    // "Replays"): what to store, what was restored, and a number that changes with them.
    [[nodiscard]] std::vector<wire::ReplayFloor> replay_floors() const { return replay_.floors(); }
    void restore_replay(std::span<const wire::ReplayFloor> floors) { replay_.restore(floors); }
    [[nodiscard]] std::uint64_t replay_changes() const { return replay_.changes(); }
    [[nodiscard]] std::size_t replay_senders_max() const { return options_.replay_senders_max; }

private:
    struct Pack {
        Endpoint to;
        Bytes datagram;
        std::size_t packets = 0;
    };

    std::optional<wire::Packet> receive_one(ByteView bytes, Time now);
    // The decoded packet, its body left where it lies (`body` views it in `bytes` or in
    // opened_, valid until the next call), when it passes the checks of the link's keys
    // (authentication, decryption, replay); counts the drop otherwise.
    std::optional<wire::Packet> accept(ByteView bytes, ByteView& body);
    std::optional<wire::Packet> accept_encrypted(ByteView bytes, ByteView& body);
    // Whether packet `number` of h's sender was not accepted before; counts a replay.
    bool fresh(const wire::Header& h, std::uint64_t number);
    // Encodes fragment `index` of `plan` (the whole packet when plan.count == 1) and hands it
    // to the transport; false when it cannot be encoded.
    bool send_piece(const Endpoint& to, const wire::PacketParts& packet,
                    const wire::FragmentPlan& plan, std::uint32_t fragment_id, std::uint16_t index);
    Pack& pack_for(const Endpoint& to);
    void send_pack(Pack& pack);

    Transport& transport_;
    PeerTable& peers_;
    LinkOptions options_;
    wire::DecodeOptions decode_options_;
    wire::Reassembler reassembler_;
    std::optional<wire::Authenticator> auth_;
    wire::ReplayGuard replay_;
    std::uint64_t auth_number_ = 0;  // The last packet number sealed (keys set).
    Bytes scratch_;  // One datagram; reused so the steady-state send path does not allocate.
    Bytes opened_;   // One encrypted packet being decrypted; reused likewise.
    std::size_t pack_max_ = 0;
    std::vector<Pack> packs_;  // At most pack_destinations_max; buffers are reused.
    std::uint32_t fragment_id_next_ = 1;
    Counters counters_;
};

}  // namespace herald::runtime

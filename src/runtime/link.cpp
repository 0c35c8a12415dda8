// Link: encode + fragment + route outgoing packets; decode + reassemble incoming datagrams.
// Layer: runtime.
#include "runtime/link.h"

#include <algorithm>
#include <span>

namespace herald::runtime {

namespace {

LinkOptions adjusted(LinkOptions options) {
    options.reassembly.message_bytes_max = options.message_bytes_max;
    return options;
}

}  // namespace

Link::Link(Transport& transport, PeerTable& peers, const LinkOptions& options)
    : transport_(transport),
      peers_(peers),
      options_(adjusted(options)),
      reassembler_(options_.reassembly),
      replay_(options_.replay_senders_max) {
    decode_options_.body_bytes_max = options_.message_bytes_max;
    decode_options_.details = false;  // Rejected packets are only counted: no allocation.
    scratch_.resize(transport.datagram_bytes_max());
    pack_max_ = std::min(options_.pack_bytes_max, transport.datagram_bytes_max());
    if (options_.pack_destinations_max == 0) pack_max_ = 0;
    if (!options_.keys.empty()) auth_.emplace(options_.keys);
}

bool Link::send(NodeId to, const wire::PacketParts& packet) {
    const Endpoint* endpoint = peers_.find(to);
    if (endpoint == nullptr) {
        ++counters_.unknown_peer_dropped;
        return false;
    }
    return send_to(*endpoint, packet);
}

Link::Pack& Link::pack_for(const Endpoint& to) {
    Pack* free = nullptr;
    for (Pack& pack : packs_) {
        if (pack.datagram.empty()) {
            if (free == nullptr) free = &pack;
        } else if (pack.to == to) {
            return pack;
        }
    }
    if (free == nullptr && packs_.size() < options_.pack_destinations_max) {
        free = &packs_.emplace_back();
    }
    if (free == nullptr) {
        free = &packs_.front();  // Every slot holds another address: make room.
        send_pack(*free);
    }
    free->to = to;
    return *free;
}

void Link::send_pack(Pack& pack) {
    if (pack.datagram.empty()) return;
    transport_.send(pack.to, pack.datagram);
    if (pack.packets > 1) ++counters_.datagrams_packed;
    pack.datagram.clear();  // Keeps its capacity for the next datagram.
    pack.packets = 0;
}

void Link::flush() {
    for (Pack& pack : packs_) send_pack(pack);
}

bool Link::send_to(const Endpoint& to, const wire::PacketParts& packet) {
    const std::size_t size = wire::encoded_size(packet);
    if (size <= pack_max_) {
        Pack& pack = pack_for(to);
        if (pack.datagram.size() + size > pack_max_) send_pack(pack);
        const std::size_t at = pack.datagram.size();
        pack.datagram.resize(at + size);
        if (!wire::encode_into(packet, std::span(pack.datagram).subspan(at))) {
            pack.datagram.resize(at);
            ++counters_.unencodable_dropped;
            return false;
        }
        if (auth_) {
            auth_->seal(std::span(pack.datagram).subspan(at, size), ++auth_number_,
                        options_.encrypt);
        }
        ++pack.packets;
        ++counters_.packets_sent;
        return true;
    }
    auto plan = wire::plan_fragments(packet, scratch_.size(), options_.message_bytes_max);
    if (!plan) {
        ++counters_.unencodable_dropped;
        return false;
    }
    // What is packed for this address goes first: packets to one address keep their order.
    for (Pack& pack : packs_) {
        if (!pack.datagram.empty() && pack.to == to) send_pack(pack);
    }
    const std::uint32_t fragment_id = plan->count > 1 ? fragment_id_next_++ : 0;
    if (fragment_id_next_ == 0) fragment_id_next_ = 1;  // 0 reads as "not fragmented" in traces.
    for (std::uint16_t index = 0; index < plan->count; ++index) {
        if (!send_piece(to, packet, *plan, fragment_id, index)) {
            ++counters_.unencodable_dropped;
            return false;
        }
    }
    ++counters_.packets_sent;
    if (plan->count > 1) counters_.fragments_sent += plan->count;
    return true;
}

// Without keys, the header goes to the transport beside a view of the body's slice (a gather
// write: the body is not copied here, issue 17). Sealing needs the whole packet in one buffer
// (the tag covers it and encryption rewrites the body), so with keys it is encoded whole.
bool Link::send_piece(const Endpoint& to, const wire::PacketParts& packet,
                      const wire::FragmentPlan& plan, std::uint32_t fragment_id,
                      std::uint16_t index) {
    if (!auth_) {
        auto pieces = wire::encode_fragment_head_into(packet, plan, fragment_id, index, scratch_);
        if (!pieces) return false;
        transport_.send_gather(to, ByteView(scratch_.data(), pieces->head_bytes), pieces->body);
        return true;
    }
    auto written = wire::encode_fragment_into(packet, plan, fragment_id, index, scratch_);
    if (!written) return false;
    auth_->seal(std::span(scratch_.data(), *written), ++auth_number_, options_.encrypt);
    transport_.send(to, ByteView(scratch_.data(), *written));
    return true;
}

void Link::receive(ByteView datagram, Time now, const PacketHandler& on_packet) {
    if (datagram.empty()) {
        ++counters_.malformed_dropped;
        return;
    }
    // A datagram carries one or more packets back to back (docs/wire.md, "Datagrams").
    for (std::size_t at = 0; at < datagram.size();) {
        const ByteView rest = datagram.subspan(at);
        const std::size_t length = wire::packet_length_or_zero(rest);
        if (length == 0) {
            ++counters_.malformed_dropped;  // Nothing after it can be found either.
            return;
        }
        if (auto packet = receive_one(rest.first(length), now)) on_packet(std::move(*packet));
        at += length;
    }
}

// The body is copied once: into the packet, or for a fragment straight into its message's
// buffer in the reassembler (issue 17: no copy per fragment and again at the end).
std::optional<wire::Packet> Link::receive_one(ByteView bytes, Time now) {
    ByteView body;
    auto packet = accept(bytes, body);
    if (!packet) return std::nullopt;
    if ((packet->header.flags & wire::flag::fragment) == 0) {
        packet->body.assign(body.begin(), body.end());
        return std::move(*packet);
    }
    ++counters_.fragments_received;
    auto whole = reassembler_.on_fragment(std::move(*packet), body, now);
    if (!whole) {
        ++counters_.reassembly_dropped;
        return std::nullopt;
    }
    if (*whole) ++counters_.reassembled;
    return std::move(*whole);
}

std::optional<wire::Packet> Link::accept(ByteView bytes, ByteView& body) {
    if (wire::Authenticator::encrypted(bytes)) return accept_encrypted(bytes, body);
    auto packet = wire::decode_view(bytes, body, decode_options_);
    if (!packet) {
        ++counters_.malformed_dropped;
        return std::nullopt;
    }
    if (!auth_) return std::move(*packet);
    const auto number = auth_->verify(bytes);
    if (!number) {
        ++counters_.auth_failed;
        return std::nullopt;
    }
    if (!fresh(packet->header, *number)) return std::nullopt;
    return std::move(*packet);
}

bool Link::fresh(const wire::Header& h, std::uint64_t number) {
    if (replay_.check(h.source.node.value, h.source_incarnation, number) ==
        wire::ReplayWindow::Verdict::fresh) {
        return true;
    }
    ++counters_.replays_dropped;
    return false;
}

// An encrypted packet: its checksum is checked as it came (corruption is malformed, as for
// every packet), then a copy is decrypted and authenticated, and only then decoded.
std::optional<wire::Packet> Link::accept_encrypted(ByteView bytes, ByteView& body) {
    if (!auth_ || !wire::checksum_matches(bytes)) {
        ++counters_.malformed_dropped;  // Without keys an encrypted packet cannot be read.
        return std::nullopt;
    }
    opened_.assign(bytes.begin(), bytes.end());
    const auto number = auth_->open(opened_);
    if (!number) {
        ++counters_.auth_failed;
        return std::nullopt;
    }
    auto packet = wire::decode_view(opened_, body, decode_options_);
    if (!packet) {
        ++counters_.malformed_dropped;
        return std::nullopt;
    }
    if (!fresh(packet->header, *number)) return std::nullopt;
    ++counters_.decrypted;
    return std::move(*packet);
}

std::optional<Time> Link::next_deadline() const {
    return reassembler_.next_deadline();
}

void Link::expire(Time now) {
    reassembler_.expire(now);
}

Link::Counters Link::counters() const {
    Counters c = counters_;
    c.reassembly_bytes = reassembler_.held_bytes();
    c.reassembly_partials = reassembler_.partial_messages();
    c.replay_senders = replay_.senders();
    c.replay_bytes = replay_.memory_bytes();
    return c;
}

}  // namespace herald::runtime

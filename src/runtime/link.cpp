// Link: encode + fragment + route outgoing packets; decode + reassemble incoming datagrams.
// Layer: runtime.
#include "runtime/link.h"

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
      reassembler_(options_.reassembly) {
    decode_options_.body_bytes_max = options_.message_bytes_max;
    scratch_.resize(transport.datagram_bytes_max());
}

bool Link::send(NodeId to, const wire::Packet& packet) {
    const Endpoint* endpoint = peers_.find(to);
    if (endpoint == nullptr) {
        ++counters_.unknown_peer_dropped;
        return false;
    }
    return send_to(*endpoint, packet);
}

bool Link::send_to(const Endpoint& to, const wire::Packet& packet) {
    auto plan = wire::plan_fragments(packet, scratch_.size(), options_.message_bytes_max);
    if (!plan) {
        ++counters_.unencodable_dropped;
        return false;
    }
    const std::uint32_t fragment_id = plan->count > 1 ? fragment_id_next_++ : 0;
    if (fragment_id_next_ == 0) fragment_id_next_ = 1;  // 0 reads as "not fragmented" in traces.
    for (std::uint16_t index = 0; index < plan->count; ++index) {
        auto size = wire::encode_fragment_into(packet, *plan, fragment_id, index, scratch_);
        if (!size) {
            ++counters_.unencodable_dropped;
            return false;
        }
        transport_.send(to, ByteView(scratch_.data(), *size));
    }
    ++counters_.packets_sent;
    if (plan->count > 1) counters_.fragments_sent += plan->count;
    return true;
}

std::optional<wire::Packet> Link::receive(ByteView datagram, Time now) {
    auto packet = wire::decode(datagram, decode_options_);
    if (!packet) {
        ++counters_.malformed_dropped;
        return std::nullopt;
    }
    if ((packet->header.flags & wire::flag::fragment) == 0) return std::move(*packet);
    ++counters_.fragments_received;
    auto whole = reassembler_.on_fragment(std::move(*packet), now);
    if (!whole) {
        ++counters_.reassembly_dropped;
        return std::nullopt;
    }
    if (*whole) ++counters_.reassembled;
    return std::move(*whole);
}

std::optional<Time> Link::next_deadline() const {
    return reassembler_.next_deadline();
}

void Link::expire(Time now) {
    reassembler_.expire(now);
}

Link::Counters Link::counters() const {
    return counters_;
}

}  // namespace herald::runtime

// NamingEngine, client role: requests with ids, retransmission, the lookup cache (rules 1-3, 7).
// Layer: proto/naming.
#include <algorithm>
#include <utility>

#include "proto/naming/naming_engine.h"
#include "wire/body.h"

namespace herald::proto::naming {

NamingEngine::NamingEngine(const EngineContext& context, const NamingOptions& options)
    : self_(context.self),
      incarnation_(context.incarnation),
      options_(options),
      started_(context.started) {}

void NamingEngine::on_register(OperationId op, std::string name, Pid owner, Duration lease,
                               Time now, Effects& out) {
    if (!owner.valid() || lease <= Duration::zero()) {
        out.complete(op, fail(Errc::invalid_argument, "register: bad owner or lease"));
        return;
    }
    cache_.erase(name);
    RequestBody body{name, owner.node.value, owner.local, lease.ms()};
    start(op, Op::register_name, std::move(name), std::move(body), now, out);
}

void NamingEngine::on_lookup(OperationId op, std::string name, Time now, Effects& out) {
    if (auto it = cache_.find(name); it != cache_.end()) {
        if (it->second.until > now) {
            ++counters_.cache_hits;
            out.complete(op, wire::pack(it->second.entry));
            return;
        }
        cache_.erase(it);
    }
    RequestBody body{name, 0, 0, 0};
    start(op, Op::lookup, std::move(name), std::move(body), now, out);
}

void NamingEngine::on_unregister(OperationId op, std::string name, Pid owner, Time now,
                                 Effects& out) {
    cache_.erase(name);
    RequestBody body{name, owner.node.value, owner.local, 0};
    start(op, Op::unregister, std::move(name), std::move(body), now, out);
}

void NamingEngine::on_list(OperationId op, std::string prefix, Time now, Effects& out) {
    RequestBody body{prefix, 0, 0, 0};
    start(op, Op::list, std::move(prefix), std::move(body), now, out);
}

void NamingEngine::start(OperationId op, Op kind, std::string name, RequestBody body, Time now,
                         Effects& out) {
    if (name.size() > options_.name_bytes_max || (kind != Op::list && name.empty())) {
        out.complete(op, fail(Errc::invalid_argument, "name empty or too long"));
        return;
    }
    if (!options_.server_node.known()) {
        out.complete(op, fail(Errc::unreachable, "no name server configured"));
        return;
    }
    if (pending_.size() >= options_.pending_max) {
        out.complete(op, fail(Errc::queue_full, "too many naming requests in flight"));
        return;
    }
    auto packed = wire::pack(body);
    if (!packed) {
        out.complete(op, fail(packed.error()));
        return;
    }
    const std::uint64_t seq = next_seq_++;
    ++counters_.requests;
    pending_[seq] = Pending{
        op, kind, std::move(name),
        make_request(kind, self_, options_.server_node, incarnation_, seq, std::move(*packed)), 0};
    transmit(seq, now, out);
}

void NamingEngine::transmit(std::uint64_t seq, Time now, Effects& out) {
    auto& p = pending_.at(seq);
    if (p.sent > 0) ++totals_.retransmits;
    ++p.sent;
    ++totals_.packets_sent;
    out.send(options_.server_node, p.request);
    out.set_timer(TimerId{seq}, now + options_.retransmit);
}

void NamingEngine::on_timer(TimerId timer, Time now, Effects& out) {
    if (timer == sweep_timer) {
        expire(now, out);
        return;
    }
    auto it = pending_.find(timer.value);
    if (it == pending_.end()) return;
    if (it->second.sent >= options_.attempts) {
        const OperationId op = it->second.op;
        pending_.erase(it);
        out.complete(op, fail(Errc::unreachable, "no answer from the name server"));
        return;
    }
    transmit(timer.value, now, out);
}

void NamingEngine::on_reply(wire::Packet& packet, Time now, Effects& out) {
    auto it = pending_.find(packet.header.seq);
    if (it == pending_.end() || packet.header.target_incarnation != incarnation_ ||
        packet.header.epoch != static_cast<std::uint32_t>(it->second.kind)) {
        ++totals_.duplicates_dropped;
        return;
    }
    Pending p = std::move(it->second);
    pending_.erase(it);
    out.cancel_timer(TimerId{packet.header.seq});
    auto result = reply_result(packet);
    if (p.kind == Op::lookup) {
        if (result) {
            auto entry = wire::unpack<NameEntry>(*result);
            if (!entry) {
                ++totals_.malformed_dropped;
                result = fail(entry.error());
            } else {
                cache_put(*entry, now);
            }
        } else {
            cache_.erase(p.name);  // Rule 7: a miss invalidates.
        }
    }
    out.complete(p.op, std::move(result));
}

void NamingEngine::cache_put(const NameEntry& entry, Time now) {
    if (options_.cache_max == 0) return;
    if (cache_.size() >= options_.cache_max && !cache_.contains(entry.name)) {
        // Drop the entry that ends first.
        auto oldest = std::min_element(cache_.begin(), cache_.end(), [](auto& a, auto& b) {
            return a.second.until < b.second.until;
        });
        cache_.erase(oldest);
    }
    const Duration life = std::min(options_.cache_ttl, Duration::milliseconds(entry.lease_ms));
    cache_[entry.name] = Cached{entry, now + life};
}

void NamingEngine::on_packet(NodeId from, wire::Packet& packet, Time now, Effects& out) {
    if (packet.header.kind == wire::PacketKind::name_reply) {
        on_reply(packet, now, out);
    } else if (packet.header.kind == wire::PacketKind::name_request && options_.server) {
        on_request(from, packet, now, out);
    } else {
        ++totals_.malformed_dropped;  // A request to a node without the server role.
    }
}

}  // namespace herald::proto::naming

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

void NamingEngine::on_hold(OperationId op, std::string name, Pid owner, Duration lease, Time now,
                           Effects& out) {
    if (!owner.valid() || lease <= Duration::zero()) {
        out.complete(op, fail(Errc::invalid_argument, "register: bad owner or lease"));
        return;
    }
    if (held_.size() >= options_.held_max && !held_.contains(name)) {
        out.complete(op, fail(Errc::queue_full, "too many names held by this node's processes"));
        return;
    }
    cache_.erase(name);
    RequestBody body{name, owner.node.value, owner.local, lease.ms()};
    if (Pending* p = start(op, Op::register_name, std::move(name), std::move(body), now, out)) {
        p->hold = true;
        p->owner = owner;
        p->lease = lease;
    }
}

void NamingEngine::on_process_exited(Pid pid, Time now, Effects& out) {
    for (auto it = held_.begin(); it != held_.end();) {
        if (it->second.owner != pid) {
            ++it;
            continue;
        }
        std::string name = it->first;
        it = held_.erase(it);
        cache_.erase(name);
        RequestBody body{name, pid.node.value, pid.local, 0};
        start(0, Op::unregister, std::move(name), std::move(body), now, out);
    }
}

void NamingEngine::renew(Time now, Effects& out) {
    for (auto& [name, h] : held_) {
        if (h.renewing || h.renew_at > now) continue;
        if (pending_.size() >= options_.pending_max) {
            h.renew_at = now + options_.retransmit;  // No room now: try again soon.
            continue;
        }
        RequestBody body{name, h.owner.node.value, h.owner.local, h.lease.ms()};
        if (Pending* p = start(0, Op::register_name, name, std::move(body), now, out)) {
            ++counters_.renewals;
            p->hold = true;
            p->owner = h.owner;
            p->lease = h.lease;
            h.renewing = true;
        }
        h.renew_at = now + h.lease / 3;
    }
    arm_renewal(out);
}

void NamingEngine::arm_renewal(Effects& out) {
    Time next = Time::max();
    for (const auto& [name, h] : held_) {
        if (!h.renewing) next = std::min(next, h.renew_at);
    }
    if (next != Time::max()) out.set_timer(renew_timer, next);
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
    if (auto it = held_.find(name); it != held_.end() && it->second.owner == owner) {
        held_.erase(it);  // Rule 13: the owner gave it up; a renewal in flight is ignored.
    }
    RequestBody body{name, owner.node.value, owner.local, 0};
    start(op, Op::unregister, std::move(name), std::move(body), now, out);
}

void NamingEngine::on_list(OperationId op, std::string prefix, Time now, Effects& out) {
    RequestBody body{prefix, 0, 0, 0};
    start(op, Op::list, std::move(prefix), std::move(body), now, out);
}

void NamingEngine::complete(OperationId op, Result<Bytes> result, Effects& out) {
    if (op != 0) out.complete(op, std::move(result));  // 0: the engine's own (rule 13).
}

NamingEngine::Pending* NamingEngine::start(OperationId op, Op kind, std::string name,
                                           RequestBody body, Time now, Effects& out) {
    if (name.size() > options_.name_bytes_max || (kind != Op::list && name.empty())) {
        complete(op, fail(Errc::invalid_argument, "name empty or too long"), out);
        return nullptr;
    }
    if (!options_.server_node.known()) {
        complete(op, fail(Errc::unreachable, "no name server configured"), out);
        return nullptr;
    }
    if (pending_.size() >= options_.pending_max) {
        complete(op, fail(Errc::queue_full, "too many naming requests in flight"), out);
        return nullptr;
    }
    auto packed = wire::pack(body);
    if (!packed) {
        complete(op, fail(packed.error()), out);
        return nullptr;
    }
    const std::uint64_t seq = next_seq_++;
    ++counters_.requests;
    pending_[seq] = Pending{
        op,
        kind,
        std::move(name),
        make_request(kind, self_, options_.server_node, incarnation_, seq, std::move(*packed)),
        0,
        false,
        Pid{},
        Duration::zero()};
    transmit(seq, now, out);
    return &pending_.at(seq);
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
    if (timer == renew_timer) {
        renew(now, out);
        return;
    }
    if (timer == probe_timer) {
        probe_holders(now, out);
        return;
    }
    auto it = pending_.find(timer.value);
    if (it == pending_.end()) return;
    if (it->second.sent >= options_.attempts) {
        Pending p = std::move(it->second);
        pending_.erase(it);
        finish(p, fail(Errc::unreachable, "no answer from the name server"), now, out);
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
    finish(p, std::move(result), now, out);
}

void NamingEngine::finish(Pending& p, Result<Bytes> result, Time now, Effects& out) {
    if (p.hold) {
        auto it = held_.find(p.name);
        const bool ours = it != held_.end() && it->second.owner == p.owner;
        if (p.op != 0 && result && held_.size() >= options_.held_max && !ours) {
            // Holds that raced past on_hold's check: registered, but not renewed.
            result = fail(Errc::queue_full, "too many names held; this one lives one lease");
        } else if (p.op != 0 && result) {
            // Rule 13: held from now on, renewed every lease / 3.
            held_[p.name] = Held{p.owner, p.lease, now + p.lease / 3, false};
            arm_renewal(out);
        } else if (p.op == 0 && ours) {
            it->second.renewing = false;
            const Errc code = result ? Errc::ok : result.error().code;
            if (code == Errc::already_exists || code == Errc::invalid_argument) {
                ++counters_.names_lost;  // The lease ended and someone else took the name.
                out.trace(now, "naming_name_lost", "name=" + p.name);
                held_.erase(it);
            }
            arm_renewal(out);
        }
    }
    complete(p.op, std::move(result), out);
}

void NamingEngine::cache_put(const NameEntry& entry, Time now) {
    if (options_.cache_max == 0 || options_.cache_ttl <= Duration::zero()) return;
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
    const bool probe = packet.header.epoch == static_cast<std::uint32_t>(Op::probe);
    if (packet.header.kind == wire::PacketKind::name_reply) {
        if (probe) {
            on_probe_reply(from, packet, now, out);
        } else {
            on_reply(packet, now, out);
        }
    } else if (packet.header.kind == wire::PacketKind::name_request && probe) {
        answer_probe(from, packet, out);  // Rule 14: every node answers the server's probes.
    } else if (packet.header.kind == wire::PacketKind::name_request && options_.server) {
        on_request(from, packet, now, out);
    } else {
        ++totals_.malformed_dropped;  // A request to a node without the server role.
    }
}

}  // namespace herald::proto::naming

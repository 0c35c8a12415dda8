// Test harness for the direct engine: hosts (one engine each) joined by a hand-driven wire.
// Tests move time and packets explicitly and assert on what each engine recorded.
// Layer: tests/unit/proto/direct.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/random.h"
#include "proto/direct/direct_engine.h"
#include "proto/direct/direct_messages.h"
#include "proto/effects.h"
#include "proto/engine_set.h"

namespace herald::proto::direct::testing {

struct InFlight {
    NodeId from;
    NodeId to;
    wire::Packet packet;
};

struct Host {
    Host(NodeId node, std::uint32_t incarnation_first, const DirectOptions& opts,
         std::uint64_t seed)
        : id(node), incarnation(incarnation_first), options(opts), random(seed) {
        boot();
        out.tracing = true;
    }
    // The engine in an EngineSet of its own, as the drivers host it: packets it sends to its
    // own node come straight back (loopback), never onto the harness's wire.
    void boot() {
        set = std::make_unique<EngineSet>(id);
        auto made = std::make_unique<DirectEngine>(id, incarnation, options, random);
        engine = made.get();
        set->add(std::move(made));
    }

    // Simulates a crash and restart: all volatile state is gone, the incarnation changes.
    void restart(std::uint32_t incarnation_new) {
        incarnation = incarnation_new;
        boot();
        timers.clear();
        out.clear();
        delivered.clear();
    }

    [[nodiscard]] bool done(OperationId op) const { return completions.contains(op); }
    [[nodiscard]] bool ok(OperationId op) const {
        auto it = completions.find(op);
        return it != completions.end() && it->second.has_value();
    }
    [[nodiscard]] Errc error(OperationId op) const {
        auto it = completions.find(op);
        if (it == completions.end() || it->second.has_value()) return Errc::ok;
        return it->second.error().code;
    }
    [[nodiscard]] std::size_t traced(std::string_view event) const {
        std::size_t n = 0;
        for (const auto& e : trace_events) n += e == event ? 1u : 0u;
        return n;
    }
    [[nodiscard]] std::vector<std::string> bodies() const {
        std::vector<std::string> texts;
        for (const auto& m : delivered) texts.emplace_back(as_text(m.body));
        return texts;
    }

    NodeId id;
    std::uint32_t incarnation;
    DirectOptions options;
    Random random;
    std::unique_ptr<EngineSet> set;
    DirectEngine* engine = nullptr;  // In `set`.
    Effects out;
    std::map<std::uint64_t, Time> timers;  // Set timers by id value.
    std::vector<Message> delivered;
    std::vector<Message> arrivals;  // Processes that migrated here: target = pid, body = state.
    std::map<OperationId, Result<Bytes>> completions;
    std::vector<std::string> trace_events;
};

class Net {
public:
    using DropRule = std::function<bool(const InFlight&)>;

    Host& add(std::uint64_t node, std::uint32_t incarnation = 1, DirectOptions options = {},
              std::uint64_t seed = 0) {
        hosts_.push_back(std::make_unique<Host>(NodeId{node}, incarnation, options,
                                                seed == 0 ? node * 7919 : seed));
        return *hosts_.back();
    }
    Host& host(NodeId id) {
        for (auto& h : hosts_) {
            if (h->id == id) return *h;
        }
        std::abort();
    }

    // Moves what `host` recorded into its logs and onto the wire.
    void collect(Host& host) {
        host.set->settle(now, host.out);
        // This harness's address handles are node ids (a ping of an address reaches that node).
        for (auto& s : host.out.sends) {
            const NodeId to =
                s.to.kind == Destination::Kind::address ? NodeId{s.to.address} : s.to.node;
            wire.push_back({host.id, to, std::move(s).take()});
        }
        for (auto& d : host.out.deliveries) {
            if (d.arrival) {  // A process migrated here (its state blob in the body).
                host.arrivals.push_back(std::move(d.message));
            } else {
                host.delivered.push_back(std::move(d.message));
            }
        }
        for (auto& c : host.out.completions) {
            EXPECT_FALSE(host.completions.contains(c.op)) << "op completed twice: " << c.op;
            host.completions.emplace(c.op, std::move(c.result));
        }
        for (auto& t : host.out.timers) {
            if (t.cancel) {
                host.timers.erase(t.id.value);
            } else {
                host.timers[t.id.value] = t.at;
            }
        }
        for (auto& t : host.out.traces) host.trace_events.emplace_back(t.event);
        host.out.clear();
    }

    // Inputs (each collects the effects).
    void spawn(Host& h, std::uint64_t local, ProcessOptions options = {}) {
        h.engine->on_spawn(Pid{h.id, local}, options, now, h.out);
        collect(h);
    }
    void send(Host& h, OperationId op, Pid from, Pid to, std::string_view body,
              SendOptions options = {}) {
        Message m{from, to, 0, now.ns(), to_bytes(body)};
        h.engine->on_send(op, std::move(m), options, now, h.out);
        collect(h);
    }
    void post(Host& h, Pid receiver, std::vector<Pid> from = {}) {
        h.engine->on_receive_posted(receiver, from, now, h.out);
        collect(h);
    }
    void consume(Host& h, Pid receiver, std::uint32_t count) {
        h.engine->on_consumed(receiver, count, now, h.out);
        collect(h);
    }
    void migrate(Host& h, OperationId op, Pid pid, NodeId to, std::vector<Message> queued,
                 std::string_view state) {
        h.engine->on_migrate(op, pid, to, std::move(queued), to_bytes(state), now, h.out);
        collect(h);
    }
    void exit(Host& h, Pid pid) {
        h.engine->on_exit(pid, now, h.out);
        collect(h);
    }
    void inject(Host& h, NodeId from, const wire::Packet& packet) {
        h.engine->on_packet(from, packet, now, h.out);
        collect(h);
    }

    // Delivers every packet on the wire (and those they cause) unless `drop` says so.
    // Returns how many were delivered.
    std::size_t flush(const DropRule& drop = {}) {
        std::size_t delivered = 0;
        while (!wire.empty()) {
            InFlight p = std::move(wire.front());
            wire.pop_front();
            if (drop && drop(p)) continue;
            Host& target = host(p.to);
            target.engine->on_packet(p.from, p.packet, now, target.out);
            collect(target);
            ++delivered;
        }
        return delivered;
    }
    // Delivers only the first packet on the wire.
    void deliver_one() {
        InFlight p = std::move(wire.front());
        wire.pop_front();
        Host& target = host(p.to);
        target.engine->on_packet(p.from, p.packet, now, target.out);
        collect(target);
    }
    void drop_all() { wire.clear(); }

    // Moves time to `until`, firing due timers in time order (packets stay on the wire).
    void advance_to(Time until) {
        for (;;) {
            Host* next = nullptr;
            std::uint64_t id = 0;
            Time at = Time::max();
            for (auto& h : hosts_) {
                for (auto& [timer, when] : h->timers) {
                    if (when <= until && when < at) {
                        next = h.get();
                        id = timer;
                        at = when;
                    }
                }
            }
            if (next == nullptr) break;
            now = std::max(now, at);
            next->timers.erase(id);
            next->engine->on_timer(TimerId{id}, now, next->out);
            collect(*next);
        }
        now = std::max(now, until);
    }
    void advance(Duration d) { advance_to(now + d); }

    // Runs timers and the wire together until `until` (no loss).
    void settle(Time until) {
        flush();
        while (now < until) {
            advance(Duration::milliseconds(1));
            flush();
        }
    }

    [[nodiscard]] std::size_t on_wire(wire::PacketKind kind) const {
        std::size_t n = 0;
        for (const auto& p : wire) n += p.packet.header.kind == kind ? 1u : 0u;
        return n;
    }

    Time now = Time::zero();
    std::deque<InFlight> wire;

private:
    std::vector<std::unique_ptr<Host>> hosts_;
};

inline SendOptions mode(SendMode m, OnFull f = OnFull::block, Time deadline = Time::max()) {
    SendOptions o;
    o.mode = m;
    o.on_full = f;
    o.deadline = deadline;
    return o;
}

inline ProcessOptions buffering(Buffering b, std::uint32_t limit = 1024) {
    return ProcessOptions{b, limit};
}

}  // namespace herald::proto::direct::testing

// Test harness for the mailbox engine: nodes driven by hand on a fake clock, a packet queue
// with a drop filter, a fake disk that can fail writes, and a restart that keeps the disk.
// Layer: tests/unit/proto/mailbox. Header-only.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proto/mailbox/mailbox_engine.h"

namespace herald::proto::mailbox::testing {

using wire::PacketKind;

struct TestNode {
    TestNode(NodeId node, const MailboxOptions& o) : id(node), options(o) { boot(); }
    void boot() {
        engine = std::make_unique<MailboxEngine>(EngineContext{id, incarnation, random, started},
                                                 options);
        std::vector<StoredRecord> records(disk.begin(), disk.end());
        engine->on_restore(records);
    }
    void restart(Time now = Time{}) {
        started = now;
        ++incarnation;
        persists.clear();
        timers.clear();
        boot();
    }
    NodeId id;
    std::uint32_t incarnation = 1;
    Time started;
    MailboxOptions options;
    Random random{7};
    std::unique_ptr<MailboxEngine> engine;
    Effects out;
    std::map<std::uint64_t, Time> timers;
    std::vector<PersistEffect> persists;
    std::map<OperationId, Result<Bytes>> completions;
    std::map<std::string, Bytes> disk;
    bool disk_fails = false;
};

struct Harness {
    explicit Harness(MailboxOptions o = {}) : options(o) {
        nodes.emplace(host.value, std::make_unique<TestNode>(host, options));
        nodes.emplace(client.value, std::make_unique<TestNode>(client, options));
    }
    TestNode& node(NodeId id) { return *nodes.at(id.value); }
    TestNode& h() { return node(host); }
    TestNode& c() { return node(client); }

    // Collects one node's effects after an input.
    void absorb(TestNode& n) {
        for (auto& t : n.out.timers) {
            if (t.cancel) {
                n.timers.erase(t.id.value);
            } else {
                n.timers[t.id.value] = t.at;
            }
        }
        for (auto& s : n.out.sends) wire_queue.push_back({n.id, s.to.node, std::move(s).take()});
        for (auto& c : n.out.completions) n.completions.insert_or_assign(c.op, std::move(c.result));
        for (auto& p : n.out.persists) n.persists.push_back(std::move(p));
        n.out.clear();
    }
    // Delivers queued packets (dropping those `drop` picks) until none is left.
    void pump() {
        while (!wire_queue.empty()) {
            auto [from, to, packet] = std::move(wire_queue.front());
            wire_queue.pop_front();
            if (drop && drop(packet)) continue;
            auto& n = node(to);
            n.engine->on_packet(from, packet, now, n.out);
            absorb(n);
        }
    }
    // Writes (or fails) every pending durable write of `n`, then pumps.
    void flush(TestNode& n) {
        auto pending = std::move(n.persists);
        n.persists.clear();
        std::vector<std::uint64_t> tokens;
        for (auto& p : pending) {
            if (!n.disk_fails) {
                if (p.erase) {
                    n.disk.erase(p.key);
                } else {
                    n.disk[p.key] = p.value;
                }
            }
            if (tokens.empty() || tokens.back() != p.token) tokens.push_back(p.token);
        }
        for (auto token : tokens) {
            Status status;
            if (n.disk_fails) status = fail(Errc::storage_error, "disk full");
            n.engine->on_durable(token, status, now, n.out);
            absorb(n);
        }
        pump();
    }
    void settle() {
        pump();
        if (!auto_flush) return;
        flush(h());
        flush(c());
    }
    // Advances the clock by `d` in ticks, firing due timers and settling after each.
    void advance(Duration d) {
        const Time end = now + d;
        while (now < end) {
            now = now + options.tick;
            for (auto& [key, n] : nodes) {
                auto timers = n->timers;
                for (auto [id, at] : timers) {
                    if (at > now) continue;
                    n->timers.erase(id);
                    n->engine->on_timer(TimerId{id}, now, n->out);
                    absorb(*n);
                }
            }
            settle();
        }
    }
    OperationId create(std::string name, Durability d, std::uint32_t messages = 100,
                       std::uint64_t bytes = 1 << 20) {
        const auto op = next_op++;
        h().engine->on_create(op,
                              {.name = std::move(name),
                               .durability = d,
                               .capacity_messages = messages,
                               .capacity_bytes = bytes},
                              now, h().out);
        absorb(h());
        settle();
        return op;
    }
    OperationId send(std::string_view name, std::string_view text, Pid from = sender) {
        const auto op = next_op++;
        auto& n = node(from.node);
        n.engine->on_send(op, from, host, name, to_bytes(text), now, n.out);
        absorb(n);
        settle();
        return op;
    }
    OperationId receive(std::string_view name, Duration wait, Pid who = receiver,
                        const ReceiveFilter& filter = {}) {
        const auto op = next_op++;
        auto& n = node(who.node);
        n.engine->on_receive(op, who, host, name, wait, now, n.out, filter);
        absorb(n);
        settle();
        return op;
    }
    OperationId create_spec(const MailboxSpec& spec) {
        const auto op = next_op++;
        h().engine->on_create(op, spec, now, h().out);
        absorb(h());
        settle();
        return op;
    }
    OperationId grant(std::string_view name, Pid by, Grantee who, std::uint8_t r) {
        const auto op = next_op++;
        h().engine->on_grant(op, name, by, who, r, now, h().out);
        absorb(h());
        settle();
        return op;
    }
    OperationId ack(std::string_view name, std::uint64_t tag, Pid who = receiver) {
        const auto op = next_op++;
        auto& n = node(who.node);
        n.engine->on_ack(op, who, host, name, tag, now, n.out);
        absorb(n);
        settle();
        return op;
    }
    OperationId board(std::string name, Durability d, std::uint32_t keep = 100,
                      std::uint64_t bytes = 1 << 20, std::uint64_t retain_ms = 0) {
        return create_spec({.name = std::move(name),
                            .durability = d,
                            .capacity_messages = keep,
                            .capacity_bytes = bytes,
                            .board = true,
                            .retain_ms = retain_ms});
    }
    OperationId read(std::string_view name, Duration wait, Pid who = receiver,
                     std::uint64_t from = 0, std::uint32_t count = 10) {
        const auto op = next_op++;
        auto& n = node(who.node);
        n.engine->on_read(op, who, host, name, from, count, wait, now, n.out);
        absorb(n);
        settle();
        return op;
    }
    BoardBatch batch(OperationId op) {
        const auto& r = result(c(), op);
        EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().to_string());
        if (!r) return {};
        auto decoded = decode_batch(*r);
        EXPECT_TRUE(decoded.has_value());
        return decoded ? *decoded : BoardBatch{};
    }
    // The seq a post completed with (0 when it failed).
    std::uint64_t posted_seq(OperationId op) {
        const auto& r = result(c(), op);
        std::uint64_t seq = 0;
        std::size_t offset = 0;
        if (r && !get_u64(*r, offset, seq)) return 0;
        return seq;
    }
    // The result of `op` on node `n` (asserts that it completed).
    const Result<Bytes>& result(TestNode& n, OperationId op) {
        auto it = n.completions.find(op);
        EXPECT_NE(it, n.completions.end()) << "op " << op << " did not complete";
        static const Result<Bytes> none = fail(Errc::closed, "not completed");
        return it == n.completions.end() ? none : it->second;
    }
    Received received(OperationId op) {
        const auto& r = result(c(), op);
        EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().to_string());
        if (!r) return {};
        auto decoded = decode_received(*r);
        EXPECT_TRUE(decoded.has_value());
        return decoded ? *decoded : Received{};
    }

    struct InFlight {
        NodeId from;
        NodeId to;
        wire::Packet packet;
    };
    static constexpr NodeId host{0x40};
    static constexpr NodeId client{0xC0};
    static constexpr Pid sender{client, 5};
    static constexpr Pid receiver{client, 6};
    MailboxOptions options;
    Time now = Time::from_ns(1'000'000'000);
    OperationId next_op = 1;
    std::map<std::uint64_t, std::unique_ptr<TestNode>> nodes;
    std::deque<InFlight> wire_queue;
    std::function<bool(const wire::Packet&)> drop;
    bool auto_flush = true;  // Durable writes end at once (false: a test calls flush()).
};

inline std::string text_of(const Bytes& b) {
    return std::string(as_text(b));
}

}  // namespace herald::proto::mailbox::testing

// Test harness for the RPC engine: two nodes (client A, server B) driven by hand on a fake
// clock, a packet log, a loss filter, timers, a fake disk and a server restart.
// Layer: tests/unit/proto/rpc. Header-only; each test file includes it.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proto/engine_set.h"
#include "proto/rpc/rpc_engine.h"

namespace herald::proto::rpc::testing {

using wire::PacketKind;

struct TestNode {
    TestNode(NodeId node, std::uint32_t first_incarnation, const RpcOptions& rpc_options)
        : id(node), incarnation(first_incarnation), options(rpc_options) {
        boot();
    }
    // The engine in an EngineSet of its own, as the drivers host it: a call to a local server
    // comes straight back (loopback) instead of going out.
    void boot() {
        set = std::make_unique<EngineSet>(id);
        auto made = std::make_unique<RpcEngine>(id, incarnation, options, random);
        engine = made.get();
        set->add(std::move(made));
    }

    // Moves the engine's outputs into the node's queues (after settling loopback at `now`,
    // the time of the input that caused them).
    void absorb(Time now = Time::zero()) {
        set->settle(now, out);
        for (auto& t : out.timers) {
            if (t.cancel) {
                timers.erase(t.id.value);
            } else {
                timers[t.id.value] = t.at;
            }
        }
        for (auto& s : out.sends) outbox.push_back(std::move(s));
        for (auto& e : out.executions) executions.push_back(std::move(e));
        for (auto& c : out.completions) completions.push_back(std::move(c));
        for (auto& p : out.persists) persists.push_back(std::move(p));
        out.clear();
    }

    // The disk fails every pending write: nothing of them is stored, each token is reported
    // once with the error (docs/engines.md: on_durable with a status).
    void fail_disk(Time now) {
        auto pending = std::move(persists);
        persists.clear();
        std::vector<std::uint64_t> tokens;
        for (const auto& p : pending) {
            if (tokens.empty() || tokens.back() != p.token) tokens.push_back(p.token);
        }
        for (auto token : tokens) {
            engine->on_durable(token, fail(Errc::storage_error, "disk full"), now, out);
        }
        absorb(now);
    }

    // Applies pending durable writes (in order) and reports each token once.
    void flush_disk(Time now) {
        auto pending = std::move(persists);
        persists.clear();
        std::vector<std::uint64_t> tokens;
        for (auto& p : pending) {
            if (p.erase) {
                disk.erase(p.key);
            } else {
                disk[p.key] = p.value;
            }
            if (tokens.empty() || tokens.back() != p.token) tokens.push_back(p.token);
        }
        for (auto token : tokens) engine->on_durable(token, now, out);
        absorb();
    }

    NodeId id;
    std::uint32_t incarnation;
    RpcOptions options;
    Random random{42};
    std::unique_ptr<EngineSet> set;
    RpcEngine* engine = nullptr;  // In `set`.
    Effects out;
    std::map<std::uint64_t, Time> timers;
    std::vector<SendEffect> outbox;
    std::vector<ExecuteEffect> executions;
    std::vector<CompleteEffect> completions;
    std::vector<PersistEffect> persists;
    std::map<std::string, Bytes> disk;
};

inline const Pid client_pid{NodeId{0xA}, 7};
inline const Pid server_pid{NodeId{0xB}, 9};

inline RpcOptions quiet_options() {
    RpcOptions options;
    options.jitter = 0;  // Exact times in tests.
    return options;
}

inline CallOptions call_options(Protocol protocol, Semantics semantics) {
    CallOptions options;
    options.protocol = protocol;
    options.semantics = semantics;
    return options;
}

class RpcHarness : public ::testing::Test {
protected:
    explicit RpcHarness(RpcOptions server_options = quiet_options())
        : a(NodeId{0xA}, 1, quiet_options()), b(NodeId{0xB}, 1, server_options) {
        serve();
    }

    void serve() {
        ASSERT_TRUE(b.engine->on_serve(server_pid, "add", false));
        ASSERT_TRUE(b.engine->on_serve(server_pid, "get", true));
    }

    OperationId call(const CallOptions& options, std::string body = "x",
                     std::string operation = "add") {
        const OperationId op = next_op_++;
        a.engine->on_call(op, client_pid, server_pid, std::move(operation), to_bytes(body), options,
                          now, a.out);
        a.absorb();
        return op;
    }

    // Runs the handler of every pending execution on B: the counter service ("add" adds one
    // and answers the new value; "get" answers it), or `handler` when set.
    void run_handlers() {
        auto pending = std::move(b.executions);
        b.executions.clear();
        for (auto& e : pending) {
            ++runs[std::string(as_text(e.request))];
            Result<Bytes> response = handler ? handler(e) : counter_handler(e);
            b.engine->on_result(e.execution, std::move(response), now, b.out);
            b.absorb();
        }
    }

    Result<Bytes> counter_handler(const ExecuteEffect& e) {
        if (e.operation == "add") ++counter;
        return to_bytes(std::to_string(counter));
    }

    // Delivers every queued packet (both directions) until none move; `drop` may lose some.
    void settle() {
        for (int round = 0; round < 1000; ++round) {
            bool moved = deliver(a, b);
            moved = deliver(b, a) || moved;  // Both directions, every round.
            if (auto_execute && !b.executions.empty()) {
                run_handlers();
                moved = true;
            }
            if (auto_durable && !b.persists.empty()) {
                b.flush_disk(now);
                moved = true;
            }
            if (!moved) return;
        }
        FAIL() << "settle did not converge";
    }

    // Advances the clock to `until`, firing due timers in time order and settling after each.
    void advance_to(Time until) {
        settle();
        while (true) {
            TestNode* node = nullptr;
            std::uint64_t timer = 0;
            Time at = Time::max();
            for (TestNode* n : {&a, &b}) {
                for (const auto& [id, when] : n->timers) {
                    if (when < at) {
                        at = when;
                        timer = id;
                        node = n;
                    }
                }
            }
            if (node == nullptr || at > until) break;
            now = std::max(now, at);
            node->timers.erase(timer);
            node->engine->on_timer(TimerId{timer}, now, node->out);
            node->absorb();
            settle();
        }
        now = std::max(now, until);
    }
    void advance(Duration d) { advance_to(now + d); }

    // Crash and restart of the server node: volatile state and queued packets are lost, the
    // disk stays; the new incarnation restores from it and serves again.
    void restart_server() {
        b.outbox.clear();
        b.executions.clear();
        b.persists.clear();
        b.timers.clear();
        b.out.clear();
        ++b.incarnation;
        b.boot();
        std::vector<std::pair<std::string, Bytes>> records(b.disk.begin(), b.disk.end());
        b.engine->on_restore(records);
        serve();
    }

    [[nodiscard]] std::size_t count(PacketKind kind) const {
        std::size_t n = 0;
        for (const auto& entry : log) {
            if (entry.kind == kind) ++n;
        }
        return n;
    }

    [[nodiscard]] std::optional<Result<Bytes>> result_of(OperationId op) const {
        for (const auto& c : a.completions) {
            if (c.op == op) return c.result;
        }
        return std::nullopt;
    }

    struct Logged {
        NodeId from;
        PacketKind kind;
        bool dropped;
    };

    TestNode a;
    TestNode b;
    Time now = Time::zero() + Duration::seconds(1);
    std::vector<Logged> log;
    std::map<std::string, int> runs;  // Handler runs per request body.
    int counter = 0;
    bool auto_execute = true;
    bool auto_durable = true;
    std::function<bool(const SendEffect&, NodeId from)> drop;
    std::function<Result<Bytes>(const ExecuteEffect&)> handler;
    // When set, packets to the server come from the address it names (docs/rpc.md,
    // "Admission"), as the runtime gives them; otherwise from no address (loopback, simulator).
    std::function<Source()> source;

private:
    bool deliver(TestNode& from, TestNode& to) {
        if (from.outbox.empty()) return false;
        auto packets = std::move(from.outbox);
        from.outbox.clear();
        for (auto& s : packets) {
            const bool lost = s.to.node != to.id || (drop && drop(s, from.id));
            log.push_back({from.id, s.packet.header.kind, lost});
            if (lost) continue;
            if (source && &to == &b) {
                to.engine->on_packet(from.id, s.packet, source(), now, to.out);
            } else {
                to.engine->on_packet(from.id, s.packet, now, to.out);
            }
            to.absorb();
        }
        return true;
    }

    OperationId next_op_ = 1;
};

}  // namespace herald::proto::rpc::testing

// RpcWorkload implementation. Layer: sim.
#include "sim/rpc_workload.h"

#include <algorithm>
#include <set>

#include "core/assert.h"
#include "proto/rpc/rpc_engine.h"
#include "sim/trace.h"

namespace herald::sim {

using proto::rpc::CallOptions;
using proto::rpc::HandlerWrite;
using proto::rpc::Protocol;
using proto::rpc::Semantics;

namespace {

std::string_view protocol_name(Protocol p) {
    switch (p) {
        case Protocol::rr:
            return "rr";
        case Protocol::rra:
            return "rra";
        case Protocol::rara:
            return "rara";
    }
    return "?";
}

Bytes u64_bytes(std::uint64_t value) {
    Bytes out(8);
    for (std::size_t i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(value >> (8 * i));
    return out;
}

std::string done_key(std::uint64_t tag) {
    return std::string(RpcWorkload::done_prefix) + std::to_string(tag);
}

// Outcomes that tell the caller the call did not run (or, under a durable reply cache,
// server_crashed: that its run did not commit).
bool definitely_not_run(Errc code, bool durable) {
    return code == Errc::no_such_process || code == Errc::no_such_operation ||
           code == Errc::queue_full || code == Errc::invalid_argument ||
           (durable && code == Errc::server_crashed);
}

}  // namespace

Bytes tag_body(std::uint64_t tag) {
    return u64_bytes(tag);
}

std::uint64_t tag_of(const Bytes& body) {
    if (body.size() != 8) return 0;
    std::uint64_t tag = 0;
    for (std::size_t i = 0; i < 8; ++i) tag |= std::uint64_t{body[i]} << (8 * i);
    return tag;
}

RpcWorkload::RpcWorkload(Simulation& sim, std::size_t slot, const RpcWorkloadOptions& options,
                         Random random)
    : sim_(sim), slot_(slot), options_(options), random_(random), server_{NodeId{1}, 1} {
    HERALD_ASSERT(options.clients > 0);
    HERALD_ASSERT(options.in_flight > 0);
    const std::size_t nodes = sim.node_count();
    for (std::uint32_t i = 0; i < options.clients; ++i) {
        // Clients on nodes 2..N (node 1 too when it is alone); local ids from 2 (1 = server).
        const std::uint64_t node = nodes == 1 ? 1 : 2 + i % (nodes - 1);
        const std::uint64_t per_node = nodes == 1 ? i : i / (nodes - 1);
        clients_.push_back(Client{Pid{NodeId{node}, 2 + per_node}});
    }
}

void RpcWorkload::on_node_started(SimNode& node) {
    if (node.id() == server_.node) {
        ++server_life_;
        counter_ = disk_counter();
        node.command<proto::rpc::RpcEngine>(slot_, [&](auto& e, proto::Effects&) {
            auto served = e.on_serve(server_, "add", false);
            HERALD_ASSERT(served.has_value());
        });
    }
    for (std::size_t i = 0; i < clients_.size(); ++i) {
        Client& c = clients_[i];
        if (c.pid.node != node.id()) continue;
        ++c.life;
        c.alive = true;
        c.in_flight = 0;
        for (std::uint32_t k = 0; k < options_.in_flight; ++k) {
            schedule_issue(i, uniform(Duration::zero(), Duration::milliseconds(100)));
        }
    }
}

void RpcWorkload::on_node_crashed(SimNode& node) {
    if (node.id() == server_.node) ++server_life_;  // Runs in progress die with it.
    for (std::size_t i = 0; i < clients_.size(); ++i) {
        Client& c = clients_[i];
        if (c.pid.node != node.id()) continue;
        ++c.life;
        c.alive = false;
        for (auto& [tag, call] : calls_) {
            if (call.client == i && !call.outcome) call.abandoned = true;
        }
    }
}

void RpcWorkload::on_delivered(SimNode& /*node*/, const Message& /*message*/) {
    HERALD_ASSERT(false);  // The rpc scenarios host no direct engine.
}

Duration RpcWorkload::uniform(Duration low, Duration high) {
    if (high <= low) return low;
    return low + Duration::nanoseconds(static_cast<std::int64_t>(
                     random_.below(static_cast<std::uint64_t>((high - low).ns()))));
}

void RpcWorkload::schedule_issue(std::size_t index, Duration delay) {
    sim_.queue().schedule(sim_.now() + delay,
                          [this, index, life = clients_[index].life] { issue(index, life); });
}

void RpcWorkload::issue(std::size_t index, std::uint64_t life) {
    Client& c = clients_[index];
    if (!c.alive || c.life != life || c.in_flight >= options_.in_flight) return;
    if (!liveness_ && c.issued < options_.calls) {
        start_call(index, false);
    } else if (liveness_ && c.issued_liveness < options_.liveness_calls) {
        start_call(index, true);
    }
}

CallOptions RpcWorkload::call_options(Protocol protocol) {
    CallOptions o;
    o.protocol = protocol;
    o.semantics = options_.semantics;
    o.retransmit_timeout = uniform(Duration::milliseconds(10), Duration::milliseconds(100));
    o.retransmit_max = Duration::milliseconds(500);
    o.probe_interval = uniform(Duration::milliseconds(100), Duration::milliseconds(400));
    // Calls never give up on their own: each ends with the server's answer, so that the
    // counter can be compared with the successes exactly (and liveness checks the engine).
    o.retry_limit = 1'000'000;
    if (options_.quiet) o.retransmit_timeout = Duration::milliseconds(200);
    return o;
}

void RpcWorkload::start_call(std::size_t index, bool liveness) {
    Client& c = clients_[index];
    OperationRecord record = sim_.new_operation("call", c.pid, server_);
    const std::uint64_t op = record.id;
    const Protocol protocols[] = {Protocol::rr, Protocol::rra, Protocol::rara};
    const Protocol protocol = protocols[random_.below(3)];
    calls_[op] = Call{index, protocol, std::nullopt, false, liveness, std::nullopt};
    record.must_succeed = liveness;
    sim_.history().start(record);
    ++(liveness ? c.issued_liveness : c.issued);
    ++c.in_flight;
    const CallOptions options = call_options(protocol);
    SimNode& node = sim_.node(c.pid.node);
    if (sim_.trace().enabled()) {
        sim_.note(node.label(), "call",
                  Fields()
                      .add("op", op)
                      .add("from", c.pid)
                      .add("protocol", protocol_name(protocol))
                      .text());
    }
    node.command<proto::rpc::RpcEngine>(slot_, [&](auto& e, proto::Effects& out) {
        e.on_call(op, c.pid, server_, "add", tag_body(op), options, sim_.now(), out);
    });
}

void RpcWorkload::on_completed(SimNode& /*node*/, const proto::CompleteEffect& c) {
    const Errc outcome = c.result ? Errc::ok : c.result.error().code;
    sim_.history().complete(c.op, sim_.now(), outcome);
    const auto it = calls_.find(c.op);
    if (it == calls_.end() || it->second.outcome) return;  // The history records anomalies.
    it->second.outcome = outcome;
    if (c.result && c.result->size() == 8) it->second.answer = tag_of(*c.result);
    Client& client = clients_[it->second.client];
    HERALD_ASSERT(client.in_flight > 0);
    --client.in_flight;
    if (it->second.liveness && (outcome == Errc::queue_full || outcome == Errc::would_block)) {
        // Back-pressure is an answer, not a success: the call is made again, so liveness
        // requires every client's liveness calls to succeed in the end.
        HERALD_ASSERT(client.issued_liveness > 0);
        --client.issued_liveness;
        ++liveness_refused_;
    }
    schedule_issue(it->second.client, uniform(Duration::zero(), Duration::milliseconds(50)));
}

void RpcWorkload::on_execute(SimNode& node, std::size_t /*slot*/,
                             const proto::ExecuteEffect& request) {
    const std::uint64_t tag = tag_of(request.request);
    ++runs_;
    ++runs_by_tag_[tag];
    if (options_.semantics == Semantics::exactly_once && options_.durable) {
        sim_.history().execute({sim_.now(), node.id(), node.incarnation(), tag});
    } else if (options_.semantics == Semantics::exactly_once) {
        ++runs_by_incarnation_[{tag, node.incarnation()}];
    }
    Duration run = uniform(Duration::zero(), Duration::milliseconds(30));
    if (options_.quiet) {
        run = Duration::zero();
    } else if ((options_.long_handlers && random_.chance(0.5)) || random_.chance(0.05)) {
        run = uniform(Duration::milliseconds(100), Duration::milliseconds(400));
    }
    sim_.queue().schedule(sim_.now() + run,
                          [this, execution = request.execution, tag, life = server_life_] {
                              finish_run(execution, tag, life);
                          });
}

// The handler's end: the state change and its "done" mark go with the reply, atomically.
void RpcWorkload::finish_run(std::uint64_t execution, std::uint64_t tag, std::uint64_t life) {
    if (life != server_life_) return;  // The server crashed while it ran.
    ++counter_;
    std::vector<HandlerWrite> writes;
    writes.push_back({std::string(counter_key), u64_bytes(counter_), false});
    writes.push_back({done_key(tag), u64_bytes(counter_), false});
    server_node().command<proto::rpc::RpcEngine>(slot_, [&](auto& e, proto::Effects& out) {
        e.on_result(execution, u64_bytes(counter_), std::move(writes), sim_.now(), out);
    });
}

void RpcWorkload::begin_liveness() {
    liveness_ = true;
    for (std::size_t i = 0; i < clients_.size(); ++i) {
        for (std::uint32_t k = 0; k < options_.in_flight; ++k) {
            schedule_issue(i, Duration::zero());
        }
    }
}

bool RpcWorkload::done() const {
    return std::all_of(clients_.begin(), clients_.end(), [&](const Client& c) {
        return c.issued_liveness >= options_.liveness_calls && c.in_flight == 0;
    });
}

std::uint64_t RpcWorkload::disk_counter() const {
    const auto& disk = sim_.node(server_.node).disk();
    const auto it = disk.find(counter_key);
    return it == disk.end() ? 0 : tag_of(it->second);
}

std::map<std::uint64_t, std::uint64_t> RpcWorkload::done_marks() const {
    std::map<std::uint64_t, std::uint64_t> marks;
    const auto& disk = sim_.node(server_.node).disk();
    for (auto it = disk.lower_bound(done_prefix);
         it != disk.end() && it->first.starts_with(done_prefix); ++it) {
        marks[std::stoull(it->first.substr(done_prefix.size()))] = tag_of(it->second);
    }
    return marks;
}

std::vector<Violation> RpcWorkload::check() const {
    std::vector<Violation> out;
    const Time at = sim_.now();
    const std::uint64_t counter = disk_counter();
    const auto marks = done_marks();
    // Each committed run adds one and marks its call: the counter is the number of marks under
    // exactly-once, and at least that under at-least-once (re-runs add one more each).
    // In memory, exactly-once holds only while the server stays up (docs/rpc.md): across its
    // crashes a call may run again, so the counter is checked as for at-least-once, and each
    // call at most once per server incarnation.
    const bool exactly_once = options_.semantics == Semantics::exactly_once && options_.durable;
    if (exactly_once ? counter != marks.size() : counter < marks.size()) {
        out.push_back({"rpc_counter", at,
                       "counter " + std::to_string(counter) + " but " +
                           std::to_string(marks.size()) +
                           " calls marked done: a run's "
                           "writes were not atomic, or a run committed twice"});
    }
    const bool durable = options_.durable && options_.semantics == Semantics::exactly_once;
    std::uint64_t ok = 0, unknown_committed = 0;
    for (const auto& [tag, call] : calls_) {
        const bool committed = marks.contains(tag);
        const std::string what =
            "call " + std::to_string(tag) + " (" + std::string(protocol_name(call.protocol)) + ")";
        if (call.outcome == Errc::ok) {
            ++ok;
            if (!committed) out.push_back({"rpc_counter", at, what + " ok but never committed"});
            if (committed && exactly_once && call.answer != marks.at(tag)) {
                out.push_back({"rpc_counter", at,
                               what + " answered " +
                                   (call.answer ? std::to_string(*call.answer) : "no value") +
                                   " but its run committed " + std::to_string(marks.at(tag))});
            }
        } else if (call.outcome && definitely_not_run(*call.outcome, durable)) {
            if (committed) {
                out.push_back({"rpc_counter", at,
                               what + " failed with " + std::string(errc_name(*call.outcome)) +
                                   " but its run committed"});
            }
        } else if (committed) {
            ++unknown_committed;  // Abandoned, or an outcome that leaves it open.
        }
    }
    for (const auto& [run, count] : runs_by_incarnation_) {
        if (count > 1) {
            out.push_back({"exactly_once", at,
                           "call " + std::to_string(run.first) + " ran " + std::to_string(count) +
                               " times in server incarnation " + std::to_string(run.second)});
        }
    }
    for (const auto& [tag, value] : marks) {
        if (!calls_.contains(tag)) {
            out.push_back({"rpc_counter", at, "done mark of unknown call " + std::to_string(tag)});
        }
    }
    if (exactly_once && counter != ok + unknown_committed) {
        out.push_back({"rpc_counter", at,
                       "exactly-once: counter " + std::to_string(counter) + " != " +
                           std::to_string(ok) + " ok calls + " + std::to_string(unknown_committed) +
                           " committed calls of unknown "
                           "outcome"});
    }
    return out;
}

std::map<std::string, std::uint64_t> RpcWorkload::numbers() const {
    std::map<std::string, std::uint64_t> n;
    for (const auto& [tag, call] : calls_) {
        ++n["rpc_calls_" + std::string(protocol_name(call.protocol))];
        if (call.abandoned) {
            ++n["rpc_abandoned"];
        } else if (call.outcome) {
            ++n["rpc_" + std::string(errc_name(*call.outcome))];
        }
    }
    n["rpc_runs"] = runs_;
    std::uint64_t reruns = 0;
    for (const auto& [tag, runs] : runs_by_tag_) reruns += runs - 1;
    n["rpc_reruns"] = reruns;
    n["rpc_counter"] = disk_counter();
    n["rpc_liveness_refused"] = liveness_refused_;
    // Requests the clients resent with a server's cookie (docs/rpc.md, "Admission"; on in the
    // seeds with buggify mode rpc_admission). Client nodes do not crash in this scenario.
    std::set<NodeId> client_nodes;
    for (const Client& c : clients_) client_nodes.insert(c.pid.node);
    for (const NodeId id : client_nodes) {
        SimNode& node = sim_.node(id);
        if (node.up()) {
            n["rpc_cookie_retries"] +=
                node.engine<proto::rpc::RpcEngine>(slot_).counters().cookie_retries;
        }
    }
    n["rpc_committed_reruns"] =
        disk_counter() - std::min(disk_counter(), std::uint64_t{done_marks().size()});
    return n;
}

}  // namespace herald::sim

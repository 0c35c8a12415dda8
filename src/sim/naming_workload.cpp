// NamingWorkload implementation. Layer: sim.
#include "sim/naming_workload.h"

#include <algorithm>

#include "core/assert.h"
#include "proto/naming/naming_engine.h"
#include "wire/body.h"

namespace herald::sim {

using proto::naming::NameEntry;
using proto::naming::NamingEngine;
using Kind = NamingWorkload::Op::Kind;

NamingWorkload::NamingWorkload(Simulation& sim, std::size_t slot,
                               const NamingWorkloadOptions& options, Random random)
    : sim_(sim), slot_(slot), options_(options), random_(random) {
    HERALD_ASSERT(options.clients > 0 && options.names > 0);
    const std::size_t nodes = sim.node_count();
    for (std::uint32_t i = 0; i < options.clients; ++i) {
        const std::uint64_t node = nodes == 1 ? 1 : 2 + i % (nodes - 1);
        const std::uint64_t per_node = nodes == 1 ? i : i / (nodes - 1);
        clients_.push_back(Client{Pid{NodeId{node}, 10 + per_node}});
    }
}

void NamingWorkload::on_node_started(SimNode& node) {
    if (node.id() == NodeId{1}) server_starts_.push_back(sim_.now());
    for (std::size_t i = 0; i < clients_.size(); ++i) {
        Client& c = clients_[i];
        if (c.pid.node != node.id()) continue;
        ++c.life;
        c.alive = true;
        c.busy = false;
        schedule_issue(i, uniform(Duration::zero(), Duration::milliseconds(100)));
    }
}

void NamingWorkload::on_node_crashed(SimNode& node) {
    crashes_[node.id()].push_back(sim_.now());
    for (auto& c : clients_) {
        if (c.pid.node != node.id()) continue;
        ++c.life;
        c.alive = false;
    }
}

void NamingWorkload::on_delivered(SimNode& /*node*/, const Message& /*message*/) {
    HERALD_ASSERT(false);  // The naming scenario delivers no messages.
}

Duration NamingWorkload::uniform(Duration low, Duration high) {
    if (high <= low) return low;
    return low + Duration::nanoseconds(static_cast<std::int64_t>(
                     random_.below(static_cast<std::uint64_t>((high - low).ns()))));
}

void NamingWorkload::schedule_issue(std::size_t index, Duration delay) {
    sim_.queue().schedule(sim_.now() + delay,
                          [this, index, life = clients_[index].life] { issue(index, life); });
}

void NamingWorkload::issue(std::size_t index, std::uint64_t life) {
    Client& c = clients_[index];
    if (!c.alive || c.life != life || c.busy) return;
    if (!liveness_ && c.issued < options_.ops) {
        start(index, false);
    } else if (liveness_ && c.issued_liveness < options_.liveness_ops) {
        start(index, true);
    }
}

void NamingWorkload::start(std::size_t index, bool liveness) {
    Client& c = clients_[index];
    const OperationRecord record = sim_.new_operation("name", c.pid, Pid{NodeId{1}, 1});
    const std::uint64_t id = record.id;
    const auto roll = random_.below(100);
    Op op;
    op.kind = roll < 50 ? Kind::reg : roll < 85 ? Kind::lookup : Kind::unreg;
    op.client = index;
    op.name = "n" + std::to_string(random_.below(options_.names));
    op.start = sim_.now();
    op.liveness = liveness;
    sim_.history().start(record);
    ++(liveness ? c.issued_liveness : c.issued);
    c.busy = true;
    const Op& stored = ops_[id] = op;
    in_command_ = true;
    sim_.node(c.pid.node).command<NamingEngine>(slot_, [&](auto& e, proto::Effects& out) {
        switch (stored.kind) {
            case Kind::reg:
                e.on_register(id, stored.name, c.pid, options_.lease, sim_.now(), out);
                break;
            case Kind::lookup:
                e.on_lookup(id, stored.name, sim_.now(), out);
                break;
            case Kind::unreg:
                e.on_unregister(id, stored.name, c.pid, sim_.now(), out);
                break;
        }
    });
    in_command_ = false;
}

void NamingWorkload::on_completed(SimNode& /*node*/, const proto::CompleteEffect& c) {
    const Errc outcome = c.result ? Errc::ok : c.result.error().code;
    sim_.history().complete(c.op, sim_.now(), outcome);
    const auto it = ops_.find(c.op);
    if (it == ops_.end() || it->second.outcome) return;
    Op& op = it->second;
    op.outcome = outcome;
    op.end = sim_.now();
    op.cached = in_command_;
    if (op.kind == Kind::lookup && c.result) {
        auto entry = wire::unpack<NameEntry>(*c.result);
        if (entry) op.owner = entry->owner();
    }
    Client& client = clients_[op.client];
    client.busy = false;
    schedule_issue(op.client, uniform(Duration::zero(), Duration::milliseconds(150)));
}

void NamingWorkload::begin_liveness() {
    liveness_ = true;
    for (std::size_t i = 0; i < clients_.size(); ++i) schedule_issue(i, Duration::zero());
}

bool NamingWorkload::done() const {
    for (const auto& c : clients_) {
        if (c.issued_liveness < options_.liveness_ops || c.busy) return false;
    }
    return true;
}

std::string NamingWorkload::outstanding() const {
    std::string out;
    for (const auto& c : clients_) {
        if (c.issued_liveness < options_.liveness_ops || c.busy) out += to_string(c.pid) + " ";
    }
    return out;
}

}  // namespace herald::sim

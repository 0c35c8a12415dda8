// Simulation implementation. Layer: sim.
#include "sim/simulation.h"

#include "core/assert.h"
#include "sim/streams.h"
#include "wire/codec.h"
#include "wire/fragment.h"

namespace herald::sim {

void Workload::on_execute(SimNode& /*node*/, std::size_t /*slot*/,
                          const proto::ExecuteEffect& /*request*/) {
    HERALD_ASSERT(false);  // An engine asked for an execution the scenario does not model.
}

Simulation::Simulation(std::uint64_t seed, const SimOptions& options)
    : seed_(seed),
      options_(options),
      network_(options.network, make_stream(seed, Stream::network), options.nodes),
      trace_(options.trace),
      disk_random_(make_stream(seed, Stream::disk)) {
    HERALD_ASSERT(options.nodes > 0);
    HERALD_ASSERT(options.fsync_min <= options.fsync_max);
    for (std::size_t i = 0; i < options.nodes; ++i) {
        nodes_.push_back(std::make_unique<SimNode>(*this, NodeId{i + 1}));
    }
}

Simulation::~Simulation() = default;

Workload& Simulation::workload() {
    HERALD_ASSERT(workload_ != nullptr);
    return *workload_;
}

std::size_t Simulation::add_engine(const EngineFactory& factory) {
    std::size_t slot = 0;
    for (auto& node : nodes_) slot = node->add_engine(factory);
    return slot;
}

void Simulation::start_all() {
    for (auto& node : nodes_) node->start();
}

SimNode& Simulation::node(NodeId id) {
    HERALD_ASSERT(id.value >= 1);
    HERALD_ASSERT(id.value <= nodes_.size());
    return *nodes_[id.value - 1];
}

OperationRecord Simulation::new_operation(std::string_view kind, Pid actor, Pid peer) {
    OperationRecord r;
    r.id = next_operation_id();
    r.kind = kind;
    r.actor = actor;
    r.peer = peer;
    r.actor_incarnation = node(actor.node).incarnation();
    r.started = now();
    return r;
}

void Simulation::crash(NodeId id, bool wipe) {
    SimNode& n = node(id);
    if (!n.up()) return;
    history_.crash({now(), id, wipe});
    history_.abandon_node(id);
    n.crash(wipe);
}

void Simulation::restart(NodeId id) {
    SimNode& n = node(id);
    if (!n.up()) n.start();
}

void Simulation::heal() {
    network_.heal_all();
    note("--", "heal");
}

namespace {

std::string describe_packet(const wire::Packet& p) {
    const wire::Header& h = p.header;
    Fields f;
    f.add("kind", wire::packet_kind_name(h.kind)).add("src", h.source).add("dst", h.target);
    f.add("inc", std::to_string(h.source_incarnation) + "/" + std::to_string(h.target_incarnation));
    f.add("epoch", h.epoch).add("seq", h.seq).add("ack", h.ack);
    if (h.flags != 0) f.add("flags", std::uint64_t{h.flags});
    if (!p.body.empty()) f.add("body", std::uint64_t{p.body.size()});
    return f.take();
}

}  // namespace

void Simulation::send_packet(NodeId from, NodeId to, wire::Packet packet) {
    HERALD_ASSERT(to.value >= 1);
    if (to.value > nodes_.size()) {  // An engine addressed a node that does not exist.
        note(node(from).label(), "net_drop", "reason=no_such_node");
        return;
    }
    // As on a real network: the packet leaves encoded, cut into fragments when asked to.
    std::vector<Bytes> datagrams;
    const std::size_t slice = options_.fragment_slice;
    if (slice > 0 && packet.body.size() > slice) {
        const std::size_t limit =
            wire::header_bytes + wire::extensions_size(packet.extensions) + slice;
        auto cut = wire::fragment(packet, limit, next_fragment_id_++);
        HERALD_ASSERT(cut.has_value());  // Engines only send encodable packets.
        datagrams = std::move(*cut);
    } else {
        datagrams.push_back(wire::encode(packet));
    }
    for (auto& datagram : datagrams) {
        Route route = network_.route(from, to, now());
        if (trace_.enabled()) {
            Fields f;
            f.add("to", node(to).label());
            if (datagrams.size() > 1) f.add("fragments", std::uint64_t{datagrams.size()});
            if (route.arrivals.empty()) f.add("drop", route.drop_reason);
            if (route.arrivals.size() > 1) f.add("copies", std::uint64_t{route.arrivals.size()});
            note(node(from).label(), "net_send", f.text() + " " + describe_packet(packet));
        }
        // Every copy but the last gets its own copy of the datagram; the last takes it.
        const std::size_t copies = route.arrivals.size();
        for (std::size_t i = 0; i + 1 < copies; ++i) {
            queue_.schedule(route.arrivals[i],
                            [this, from, to, d = datagram] { arrive(from, to, d); });
        }
        if (copies > 0) {
            queue_.schedule(route.arrivals.back(),
                            [this, from, to, d = std::move(datagram)] { arrive(from, to, d); });
        }
    }
}

void Simulation::arrive(NodeId from, NodeId to, const Bytes& datagram) {
    SimNode& target = node(to);
    if (!target.up()) {
        if (trace_.enabled())
            note(target.label(), "net_drop", "reason=down from=" + node(from).label());
        return;
    }
    // The network here never corrupts: a datagram that does not decode, or fragments that do
    // not reassemble, are a codec bug (checker "invariants").
    auto decoded = wire::decode(datagram);
    if (!decoded) {
        history_.invariant(now(), to,
                           "wire: a datagram from " + node(from).label() +
                               " does not decode: " + decoded.error().to_string());
        return;
    }
    wire::Packet packet = std::move(*decoded);
    if ((packet.header.flags & wire::flag::fragment) != 0) {
        auto whole = target.reassemble(std::move(packet), now());
        if (!whole) {
            history_.invariant(now(), to,
                               "wire: fragments from " + node(from).label() +
                                   " do not reassemble: " + whole.error().to_string());
            return;
        }
        if (!whole->has_value()) return;  // More fragments to come.
        packet = std::move(**whole);
    }
    ++packets_delivered_;
    const std::uint32_t incarnation = packet.header.source_incarnation;
    auto& known = known_incarnations_[{to, from}];
    if (incarnation > known) {
        known = incarnation;
        history_.contact({now(), to, from, incarnation});
    }
    if (trace_.enabled()) {
        note(target.label(), "net_recv",
             "from=" + node(from).label() + " " + describe_packet(packet));
    }
    target.on_packet(from, packet);
}

void Simulation::engine_trace(const SimNode& n, std::string_view engine,
                              const proto::TraceEffect& effect) {
    if (effect.event.starts_with("probe_")) trace_.probe(effect.event);
    if (!trace_.enabled()) return;
    std::string event(engine);
    event.push_back(':');
    event.append(effect.event);
    note(n.label(), event, effect.fields);
}

EngineStats Simulation::engine_stats() const {
    EngineStats total;
    for (const auto& n : nodes_) total += n->stats();
    return total;
}

}  // namespace herald::sim

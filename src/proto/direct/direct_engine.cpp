// DirectEngine: the public face of the direct protocol; forwards to DirectState.
// Layer: proto/direct.
#include "proto/direct/direct_engine.h"

#include "proto/direct/direct_state.h"

namespace herald::proto::direct {

DirectEngine::DirectEngine(NodeId self, std::uint32_t incarnation, const DirectOptions& options,
                           Random& random)
    : state_(std::make_unique<DirectState>(self, incarnation, options, random)) {}

DirectEngine::~DirectEngine() = default;

void DirectEngine::on_spawn(Pid pid, const ProcessOptions& options, Time now, Effects& out) {
    state_->begin(now);
    state_->on_spawn(pid, options, now, out);
    state_->end_input(now, out);
}

void DirectEngine::on_exit(Pid pid, Time now, Effects& out) {
    state_->begin(now);
    state_->on_exit(pid, now, out);
    state_->end_input(now, out);
}

void DirectEngine::on_send(OperationId op, Message message, const SendOptions& options, Time now,
                           Effects& out) {
    state_->begin(now);
    state_->on_send(op, std::move(message), options, now, out);
    state_->end_input(now, out);
}

void DirectEngine::on_receive_posted(Pid receiver, std::span<const Pid> from, Time now,
                                     Effects& out) {
    state_->begin(now);
    state_->on_receive_posted(receiver, from, now, out);
    state_->end_input(now, out);
}

void DirectEngine::on_receive_cancelled(Pid receiver, Time now, Effects& out) {
    state_->begin(now);
    state_->on_receive_cancelled(receiver);
    state_->end_input(now, out);
}

void DirectEngine::on_consumed(Pid receiver, std::uint32_t count, Time now, Effects& out) {
    state_->begin(now);
    state_->on_consumed(receiver, count, now, out);
    state_->end_input(now, out);
}

void DirectEngine::on_ping(OperationId op, NodeId node, Time deadline, Time now, Effects& out) {
    state_->begin(now);
    state_->on_ping(op, node, deadline, now, out);
    state_->end_input(now, out);
}

void DirectEngine::on_ping_address(OperationId op, std::uint32_t address, Time deadline, Time now,
                                   Effects& out) {
    state_->begin(now);
    state_->on_ping_address(op, address, deadline, now, out);
    state_->end_input(now, out);
}

void DirectEngine::on_migrate(OperationId op, Pid pid, NodeId to, std::vector<Message> queued,
                              Bytes state, Time now, Effects& out) {
    state_->begin(now);
    state_->on_migrate(op, pid, to, std::move(queued), std::move(state), now, out);
    state_->end_input(now, out);
}

std::optional<ProcessOptions> DirectEngine::options_of(Pid pid) const {
    return state_->options_of(pid);
}

void DirectEngine::on_location(Pid pid, NodeId node, Time now, Effects& out) {
    state_->begin(now);
    state_->on_location(pid, node, now, out);
    state_->end_input(now, out);
}

void DirectEngine::on_packet(NodeId from, const wire::Packet& packet, Time now, Effects& out) {
    on_packet(from, wire::Packet(packet), now, out);
}

void DirectEngine::on_packet(NodeId from, wire::Packet&& packet, Time now, Effects& out) {
    state_->begin(now);
    state_->on_packet(from, packet, now, out);
    state_->end_input(now, out);
}

void DirectEngine::on_timer(TimerId timer, Time now, Effects& out) {
    state_->begin(now);
    state_->on_timer(timer, now, out);
    state_->end_input(now, out);
}

DirectEngine::Counters DirectEngine::counters() const {
    return state_->counters();
}

void DirectEngine::on_batch_end(Time now, Effects& out) {
    state_->flush_acks(out);
    (void)now;
}

EngineCounters DirectEngine::totals() const {
    const Counters c = counters();
    return {c.packets_sent, c.retransmits, c.duplicates_dropped, c.malformed_dropped};
}

void DirectEngine::check_invariants(std::vector<std::string>& findings) const {
    state_->check_invariants(findings);
}

std::uint32_t DirectEngine::queued(Pid pid) const {
    return state_->queued(pid);
}

}  // namespace herald::proto::direct

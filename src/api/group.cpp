// Groups in the public API: Node::create_group / group_view / groups, Process::join_group /
// leave_group / multicast, decode_group_message (docs/api.md "Groups"), over
// runtime::NodeGroupService. Layer: api. Rules: docs/groups.md.
#include "herald/group.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "api/api_support.h"
#include "api/group_collect.h"
#include "herald/node.h"
#include "herald/process.h"
#include "proto/group/group_engine.h"
#include "proto/group/group_messages.h"
#include "proto/order/order_messages.h"
#include "runtime/group_table.h"
#include "runtime/node.h"
#include "runtime/node_group_service.h"
#include "runtime/node_order_service.h"

namespace herald {

namespace api {

namespace {

// GroupOptions::name_bytes_max (docs/groups.md: names of 1 to 64 bytes).
constexpr std::size_t group_name_bytes_max = 64;

GroupAddress public_address(const proto::group::GroupAddress& a) {
    GroupAddress out;
    out.kind = static_cast<GroupAddress::Kind>(a.kind);
    if (a.kind == proto::group::AddressKind::multicast) {
        out.group = runtime::to_string(runtime::endpoint_of(a.ip));
    }
    return out;
}

// The engine's form of `address`, checked against what this node's transport can send
// (docs/groups.md G22). Errc::invalid_argument naming what is wrong.
Result<proto::group::GroupAddress> engine_address(const runtime::Node& node,
                                                  const GroupAddress& address) {
    using proto::group::AddressKind;
    const auto capabilities = node.transport_capabilities();
    const std::string listen = runtime::to_string(node.listen_endpoint());
    switch (address.kind) {
        case GroupAddress::Kind::hosts:
            if (!address.group.empty()) break;
            return proto::group::GroupAddress{};
        case GroupAddress::Kind::broadcast:
            if (!address.group.empty()) break;
            if (!capabilities.broadcast) {
                return fail(Errc::invalid_argument,
                            "this node's transport has no broadcast endpoint (" + listen +
                                "; only udp IPv4 with groups.broadcast set has one)");
            }
            return proto::group::GroupAddress{AddressKind::broadcast, {}};
        case GroupAddress::Kind::multicast: {
            if (!capabilities.multicast) {
                return fail(Errc::invalid_argument, "this node's transport has no IP multicast (" +
                                                        listen + "; only udp has it: use hosts)");
            }
            const bool ipv6 = node.listen_endpoint().host.find(':') != std::string::npos;
            proto::group::GroupAddress a{AddressKind::multicast, {}};
            a.ip.family = ipv6 ? 6 : 4;  // Zero address and port: the server picks (G22).
            if (address.group.empty()) return a;
            HERALD_TRY(auto endpoint, runtime::parse_endpoint(address.group));
            HERALD_TRY(a.ip, runtime::ip_group_of(endpoint));
            if ((a.ip.family == 6) != ipv6) {
                return fail(Errc::invalid_argument, "group address " + address.group +
                                                        " is not of the address family of " +
                                                        listen);
            }
            return a;
        }
    }
    return fail(Errc::invalid_argument, "a " + to_string(address) + " address names no group");
}

GroupView public_view(std::string name, const proto::group::View& v) {
    GroupView out;
    out.group = std::move(name);
    out.id = v.id;
    out.closed = v.closed;
    out.order = static_cast<Order>(v.order);
    out.address = public_address(v.address);
    out.members.reserve(v.members.size());
    for (const auto& m : v.members) out.members.push_back(m.pid);
    return out;
}

// The node's ordering service, which runs beside its group engine. Errc::unreachable.
Result<runtime::NodeOrderService*> order_service(runtime::Node& node) {
    auto* order = node.order_service();
    if (order == nullptr) {
        return fail(Errc::unreachable,
                    "no group server configured (NodeOptions::groups: server or server_url)");
    }
    return order;
}

// Decodes an ordered delivery (docs/ordering.md "Binary encodings"); views are not queued.
Result<GroupMessage> ordered_message(const Envelope& envelope) {
    auto d = proto::order::decode_delivery(envelope.body);
    if (!d || d->is_view) return fail(Errc::malformed, "ordered group delivery");
    GroupMessage out;
    out.group = std::move(d->group);
    out.view_id = d->view_id;
    out.sender = d->sender.pid;
    out.payload = std::move(d->payload);
    out.ordered = true;
    out.seq = d->seq;
    out.timestamp_ns = d->timestamp;
    return out;
}

// Runs `task(pid)` with a short-lived process of `node`: the group engine's requests carry a
// requesting process of the node (docs/groups.md, packets 40-43).
template <class F>
auto with_process(runtime::Node& node, F&& task) -> decltype(task(Pid{})) {
    HERALD_TRY(auto state, node.spawn(runtime::ProcessConfig{}));
    auto result = task(state->pid());
    node.exit(state);
    return result;
}

// The arguments every multicast checks: a valid group name, a positive and finite timeout.
Status check_multicast(std::string_view name, std::chrono::nanoseconds timeout) {
    HERALD_TRY(check_group_name(name));
    if (timeout <= std::chrono::nanoseconds::zero() || timeout == forever) {
        return fail(Errc::invalid_argument, "multicast timeout must be positive and finite");
    }
    return {};
}

}  // namespace

// The node's group service once it knows the server's id: pings GroupNodeOptions::server_url
// on the first call (group_collect.h declares it too). Errc::unreachable (no group engine
// here, or no answer), closed.
Result<runtime::NodeGroupService*> group_service(runtime::Node& node) {
    auto* groups = node.groups_service();
    if (groups == nullptr) {
        return fail(Errc::unreachable,
                    "no group server configured (NodeOptions::groups: server or server_url)");
    }
    if (groups->server_known()) return groups;
    HERALD_TRY(runtime::Endpoint endpoint, runtime::parse_endpoint(groups->server_url()));
    auto answer = node.ping(endpoint, server_ping_max);
    if (!answer) {
        return fail(answer.error().code == Errc::timeout ? Errc::unreachable : answer.error().code,
                    "group server at " + groups->server_url() + ": " + answer.error().detail);
    }
    HERALD_TRY(groups->set_server(answer->node));
    return groups;
}

}  // namespace api

Status check_group_name(std::string_view name) {
    if (name.empty()) return fail(Errc::invalid_argument, "empty group name");
    if (name.size() > api::group_name_bytes_max) {
        return fail(Errc::invalid_argument, "group name over 64 bytes");
    }
    for (const char c : name) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7F) {
            return fail(Errc::invalid_argument, "control character in group name");
        }
    }
    return {};
}

Result<GroupMessage> decode_group_message(const Envelope& envelope) {
    if (!envelope.group) {
        return fail(Errc::invalid_argument, "a direct message, not a group message");
    }
    if (envelope.ordered) return api::ordered_message(envelope);
    auto e = proto::group::decode_envelope(envelope.body);
    if (!e) return fail(Errc::malformed, "group envelope");
    GroupMessage out;
    out.kind = e->is_deleted ? GroupMessage::Kind::deleted
               : e->is_view  ? GroupMessage::Kind::view
                             : GroupMessage::Kind::data;
    out.group = e->group;
    out.view_id = e->view_id;
    if (e->is_deleted) return out;
    if (e->is_view) {
        out.view = api::public_view(e->group, e->view);
    } else {
        out.sender = e->sender.pid;
        out.message_id = e->message_id;
        out.reply_to = e->reply_to;
        out.payload = std::move(e->payload);
    }
    return out;
}

// --- Node ---

std::string_view atomicity_name(Atomicity atomicity) {
    switch (atomicity) {
        case Atomicity::none:
            return "none";
        case Atomicity::atomic:
            return "atomic";
        case Atomicity::fault_tolerant_atomic:
            return "ft-atomic";
    }
    return "?";
}

Result<Atomicity> parse_atomicity(std::string_view name) {
    if (name.empty()) return Atomicity::none;
    for (auto a : {Atomicity::none, Atomicity::atomic, Atomicity::fault_tolerant_atomic}) {
        if (atomicity_name(a) == name) return a;
    }
    return fail(Errc::invalid_argument,
                "atomicity '" + std::string(name) + "' (allowed: none, atomic, ft-atomic)");
}

std::string_view order_name(Order order) {
    switch (order) {
        case Order::fifo:
            return "fifo";
        case Order::sequencer:
            return "sequencer";
        case Order::abcast:
            return "abcast";
        case Order::cbcast:
            return "cbcast";
        case Order::absolute:
            return "absolute";
    }
    return "?";
}

Result<Order> parse_order(std::string_view name) {
    for (const Order o :
         {Order::fifo, Order::sequencer, Order::abcast, Order::cbcast, Order::absolute}) {
        if (name == order_name(o)) return o;
    }
    return fail(Errc::invalid_argument, "unknown order '" + std::string(name) +
                                            "' (fifo, absolute, sequencer, abcast or cbcast)");
}

std::string to_string(const GroupAddress& address) {
    switch (address.kind) {
        case GroupAddress::Kind::hosts:
            return "hosts";
        case GroupAddress::Kind::broadcast:
            return "broadcast";
        case GroupAddress::Kind::multicast:
            if (address.group.empty()) return "multicast";
            return "multicast:" + address.group.substr(address.group.starts_with("udp://") ? 6 : 0);
    }
    return "?";
}

Result<GroupAddress> parse_group_address(std::string_view text) {
    if (text == "hosts") return GroupAddress{};
    if (text == "broadcast") return GroupAddress{GroupAddress::Kind::broadcast, {}};
    if (text == "multicast") return GroupAddress{GroupAddress::Kind::multicast, {}};
    if (!text.starts_with("multicast:")) {
        return fail(Errc::invalid_argument,
                    "unknown group address '" + std::string(text) +
                        "' (hosts, broadcast, multicast or multicast:239.1.2.3:7500)");
    }
    const std::string url = "udp://" + std::string(text.substr(10));
    HERALD_TRY(auto endpoint, runtime::parse_endpoint(url));
    HERALD_TRY(runtime::ip_group_of(endpoint));
    return GroupAddress{GroupAddress::Kind::multicast, runtime::to_string(endpoint)};
}

Result<GroupView> Node::create_group(std::string_view name, bool closed, Order order,
                                     const GroupAddress& address) {
    HERALD_TRY(check_group_name(name));
    if (order_name(order) == "?") return fail(Errc::invalid_argument, "unknown order mode");
    HERALD_TRY(auto engine_address, api::engine_address(*impl_, address));
    HERALD_TRY(auto* groups, api::group_service(*impl_));
    const std::string text(name);
    HERALD_TRY(auto view, api::with_process(*impl_, [&](Pid requester) {
                   return groups->create(text, closed, requester, static_cast<std::uint8_t>(order),
                                         engine_address);
               }));
    return api::public_view(text, view);
}

Status Node::delete_group(std::string_view name) {
    HERALD_TRY(check_group_name(name));
    HERALD_TRY(auto* groups, api::group_service(*impl_));
    const std::string text(name);
    return api::with_process(*impl_,
                             [&](Pid requester) { return groups->delete_group(text, requester); });
}

Result<GroupView> Node::group_view(std::string_view name) {
    HERALD_TRY(check_group_name(name));
    HERALD_TRY(auto* groups, api::group_service(*impl_));
    const std::string text(name);
    HERALD_TRY(auto view, api::with_process(*impl_, [&](Pid requester) {
                   return groups->view(text, requester);
               }));
    return api::public_view(text, view);
}

Result<std::vector<std::string>> Node::groups() {
    HERALD_TRY(auto* groups, api::group_service(*impl_));
    if (!groups->is_server() && !groups->on_etcd()) {
        return fail(Errc::unreachable, "this node does not host the group server");
    }
    return groups->server_groups();
}

// --- Process ---

Result<GroupView> Process::join_group(std::string_view name) {
    if (!state_) return fail(Errc::closed, "process has exited");
    HERALD_TRY(check_group_name(name));
    HERALD_TRY(auto* groups, api::group_service(*node_));
    const std::string text(name);
    HERALD_TRY(auto view, groups->join_group(text, state_->pid()));
    return api::public_view(text, view);
}

Result<GroupView> Process::leave_group(std::string_view name) {
    if (!state_) return fail(Errc::closed, "process has exited");
    HERALD_TRY(check_group_name(name));
    HERALD_TRY(auto* groups, api::group_service(*node_));
    const std::string text(name);
    HERALD_TRY(auto view, groups->leave_group(text, state_->pid()));
    return api::public_view(text, view);
}

Result<MulticastResult> Process::multicast(std::string_view name, ByteView body,
                                           Reliability reliability,
                                           std::chrono::nanoseconds timeout, Atomicity atomicity) {
    if (!state_) return fail(Errc::closed, "process has exited");
    HERALD_TRY(api::check_multicast(name, timeout));
    if (atomicity != Atomicity::none) {
        // G23: atomic multicast rides the group's ordering streams; it completes when accepted.
        if (atomicity != Atomicity::atomic && atomicity != Atomicity::fault_tolerant_atomic) {
            return fail(Errc::invalid_argument, "unknown atomicity");
        }
        if (reliability != Reliability::none()) {
            return fail(Errc::invalid_argument,
                        "an atomic multicast takes reliability none (it reaches every survivor "
                        "of its view or none, docs/groups.md G23)");
        }
        HERALD_TRY(auto view_id, ordered_send(name, body, timeout,
                                              atomicity == Atomicity::fault_tolerant_atomic));
        return MulticastResult{view_id, {}};
    }
    HERALD_TRY(auto* groups, api::group_service(*node_));
    HERALD_TRY(auto responders,
               groups->multicast(std::string(name), state_->pid(), Bytes(body.begin(), body.end()),
                                 reliability.count, Duration::nanoseconds(timeout.count())));
    return MulticastResult{responders.view_id, std::move(responders.pids)};
}

Result<MulticastResult> Process::multicast(std::string_view name, std::string_view text,
                                           Reliability reliability,
                                           std::chrono::nanoseconds timeout, Atomicity atomicity) {
    return multicast(name,
                     ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()),
                     reliability, timeout, atomicity);
}

Status Process::ordered_multicast(std::string_view name, ByteView body,
                                  std::chrono::nanoseconds timeout) {
    if (!state_) return fail(Errc::closed, "process has exited");
    HERALD_TRY(api::check_multicast(name, timeout));
    HERALD_TRY(ordered_send(name, body, timeout, false));
    return {};
}

namespace api {

// Runs `attempt` (one hand-over to the ordering engine) until it is taken or fails for good:
// while the engine pushes back (would_block) or has no ordering view yet for a process that
// joined (not_found: the group engine's view comes after the join's answer), it polls, backing
// off from 0.5 to 16 ms (back-pressure lasts about a round trip: acks, a flush), until `timeout`.
template <class Attempt>
auto retry_ordered(runtime::NodeGroupService& groups, Pid self, const std::string& name,
                   std::chrono::nanoseconds timeout, Attempt&& attempt) -> decltype(attempt()) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto pause = std::chrono::microseconds(500);
    while (true) {
        auto sent = attempt();
        if (sent ||
            (sent.error().code != Errc::would_block && sent.error().code != Errc::not_found)) {
            return sent;
        }
        if (sent.error().code == Errc::not_found && !groups.joined(self, name)) {
            return fail(Errc::not_found, "not a member of group " + name);
        }
        if (std::chrono::steady_clock::now() + pause >= deadline) {
            return fail(Errc::timeout, "ordered multicast to " + name + ": " + sent.error().detail);
        }
        std::this_thread::sleep_for(pause);
        pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(16));
    }
}

}  // namespace api

Result<std::size_t> Process::ordered_multicast_many(std::string_view name,
                                                    std::span<const ByteView> bodies,
                                                    std::chrono::nanoseconds timeout) {
    if (!state_) return fail(Errc::closed, "process has exited");
    HERALD_TRY(api::check_multicast(name, timeout));
    if (bodies.empty() || bodies.size() > ordered_batch_max) {
        return fail(Errc::invalid_argument, "ordered_multicast_many takes 1 to " +
                                                std::to_string(ordered_batch_max) + " bodies");
    }
    HERALD_TRY(auto* order, api::order_service(*node_));
    HERALD_TRY(auto* groups, api::group_service(*node_));
    const std::string text(name);
    return api::retry_ordered(*groups, state_->pid(), text, timeout, [&] {
        std::vector<Bytes> copies;
        copies.reserve(bodies.size());
        for (const ByteView& body : bodies) copies.emplace_back(body.begin(), body.end());
        return order->multicast_many(text, state_->pid(), std::move(copies));
    });
}

// One message into this process's ordering stream of `name` (ordered_multicast, and atomic
// multicast with `relay` for ft-atomic): the view id it was accepted in.
Result<std::uint64_t> Process::ordered_send(std::string_view name, ByteView body,
                                            std::chrono::nanoseconds timeout, bool relay) {
    HERALD_TRY(auto* order, api::order_service(*node_));
    HERALD_TRY(auto* groups, api::group_service(*node_));
    const std::string text(name);
    return api::retry_ordered(*groups, state_->pid(), text, timeout, [&] {
        return order->atomic_multicast(text, state_->pid(), Bytes(body.begin(), body.end()), relay);
    });
}

Status Process::ordered_multicast(std::string_view name, std::string_view text,
                                  std::chrono::nanoseconds timeout) {
    return ordered_multicast(
        name, ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), timeout);
}

Result<GroupView> Process::ordered_view(std::string_view name) {
    if (!state_) return fail(Errc::closed, "process has exited");
    HERALD_TRY(check_group_name(name));
    HERALD_TRY(auto* order, api::order_service(*node_));
    const std::string text(name);
    HERALD_TRY(auto view, order->view(text, state_->pid()));
    return api::public_view(text, view);
}

}  // namespace herald

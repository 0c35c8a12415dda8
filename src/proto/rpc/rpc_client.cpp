// The client half of the RPC engine. Layer: proto/rpc.
#include "proto/rpc/rpc_client.h"

#include <algorithm>

namespace herald::proto::rpc {
namespace {

TimerId client_timer(std::uint64_t seq) {
    return TimerId{timer_tag::client | seq};
}

std::string describe(const Route& route) {
    return "seq=" + std::to_string(route.id.seq) + " server=" + to_string(route.server) +
           " attempt=" + std::to_string(route.attempt);
}

}  // namespace

Status RpcClient::check(Pid client, Pid server, const std::string& operation, const Bytes& request,
                        const CallOptions& options) const {
    if (!client.valid() || client.node != ctx_.self) {
        return fail(Errc::invalid_argument, "client " + to_string(client) + " is not local");
    }
    if (!server.valid()) return fail(Errc::invalid_argument, "invalid server pid");
    if (operation.empty() || operation.size() > ctx_.options.operation_bytes_max) {
        return fail(Errc::invalid_argument, "operation name empty or too long");
    }
    if (request.size() > ctx_.options.request_bytes_max) {
        return fail(Errc::too_large, "request of " + std::to_string(request.size()) + " bytes");
    }
    if (options.retransmit_timeout <= Duration::zero() ||
        options.retransmit_max < options.retransmit_timeout ||
        options.probe_interval <= Duration::zero() || options.retry_limit == 0 ||
        options.backoff_percent < 100 || options.backoff_percent > 1000) {
        return fail(Errc::invalid_argument,
                    "call options: timeouts must be > 0, retransmit_max >= retransmit_timeout, "
                    "retry_limit >= 1, backoff_percent in 100..1000");
    }
    if (calls_.size() >= ctx_.options.calls_max) {
        return fail(Errc::queue_full, "too many outstanding calls");
    }
    return {};
}

void RpcClient::on_call(OperationId op, Pid client, Pid server, std::string operation,
                        Bytes request, const CallOptions& options, Time now, Effects& out) {
    if (auto ok = check(client, server, operation, request, options); !ok) {
        ++ctx_.counters.calls_failed;
        out.complete(op, tl::make_unexpected(std::move(ok).error()));
        return;
    }
    if (now >= options.deadline) {
        ++ctx_.counters.calls_failed;
        out.complete(op, fail(Errc::timeout, "deadline already passed"));
        return;
    }
    const std::uint64_t seq = next_seq_++;
    Call call;
    call.op = op;
    call.route = Route{client, server, CallId{ctx_.incarnation, seq},
                       Mode{options.protocol, options.semantics}, 1};
    call.operation = std::move(operation);
    call.request = std::move(request);
    call.options = options;
    call.wait = options.retransmit_timeout;
    call.next_send = now + ctx_.jittered(call.wait);
    call.unanswered = 1;
    call.started = now;
    ++ctx_.counters.calls_started;
    Call* stored_call = nullptr;
    if (spare_.empty()) {
        stored_call = &calls_.emplace(seq, std::move(call)).first->second;
    } else {
        // A finished call's map node: no allocation for the call's entry.
        Calls::node_type node = std::move(spare_.back());
        spare_.pop_back();
        node.key() = seq;
        node.mapped() = std::move(call);
        stored_call = &calls_.insert(std::move(node)).position->second;
    }
    Call& stored = *stored_call;
    if (out.tracing) out.trace(now, "rpc_call", describe(stored.route));
    transmit(stored, now, out);
    arm(stored, out);
}

void RpcClient::transmit(Call& call, Time now, Effects& out) {
    Request request;
    request.route = call.route;
    request.target_incarnation = call.server_incarnation;
    request.floor = floor();
    request.age = now - call.started;
    request.operation = call.operation;
    request.body = call.request;
    request.cookie = call.cookie;
    ctx_.send(call.route.server.node, request_packet(std::move(request), ctx_.incarnation), out);
}

void RpcClient::arm(const Call& call, Effects& out) {
    out.set_timer(client_timer(call.route.id.seq), std::min(call.next_send, call.options.deadline));
}

void RpcClient::on_timer(std::uint64_t seq, Time now, Effects& out) {
    auto it = calls_.find(seq);
    if (it == calls_.end()) return;
    Call& call = it->second;
    if (now >= call.options.deadline) {
        finish(it,
               fail(Errc::timeout,
                    "deadline passed after " + std::to_string(call.route.attempt) + " attempts"),
               now, out);
        return;
    }
    if (now < call.next_send) {
        arm(call, out);  // Fired early (a moved timer): wait on.
        return;
    }
    if (call.unanswered >= call.options.retry_limit) {
        give_up(it, now, out);
        return;
    }
    resend(call, now, out);
}

void RpcClient::resend(Call& call, Time now, Effects& out) {
    ++call.route.attempt;
    ++call.unanswered;
    if (call.acked) {
        ++ctx_.counters.probes;
        call.next_send = now + call.options.probe_interval;
        if (out.tracing) out.trace(now, "rpc_probe", describe(call.route));
    } else {
        ++ctx_.counters.request_retransmits;
        const auto grown = call.wait * call.options.backoff_percent / 100;
        call.wait = std::min(grown, call.options.retransmit_max);
        call.next_send = now + ctx_.jittered(call.wait);
        if (out.tracing) out.trace(now, "rpc_retransmit", describe(call.route));
    }
    transmit(call, now, out);
    arm(call, out);
}

void RpcClient::give_up(Calls::iterator it, Time now, Effects& out) {
    const Call& call = it->second;
    const std::string tries = std::to_string(call.unanswered) + " transmissions in a row";
    switch (call.heard) {
        case Heard::nothing:
            finish(it, fail(Errc::request_lost, "no sign of the server after " + tries), now, out);
            return;
        case Heard::alive:
            finish(it, fail(Errc::response_lost, "server acknowledged, no response after " + tries),
                   now, out);
            return;
        case Heard::busy:
            finish(it, fail(Errc::queue_full, "server busy (reply cache full) after " + tries), now,
                   out);
            return;
    }
}

void RpcClient::finish(Calls::iterator it, Result<Bytes> result, Time now, Effects& out) {
    const Call& call = it->second;
    if (result) {
        ++ctx_.counters.calls_succeeded;
    } else {
        ++ctx_.counters.calls_failed;
    }
    if (out.tracing) {
        const std::string outcome = result ? "ok" : std::string(errc_name(result.error().code));
        out.trace(now, "rpc_complete", describe(call.route) + " result=" + outcome);
    }
    out.cancel_timer(client_timer(call.route.id.seq));
    out.complete(call.op, std::move(result));
    Calls::node_type node = calls_.extract(it);
    if (spare_.size() < spare_calls_max) {
        node.mapped() = Call{};  // Its request and strings go now.
        spare_.push_back(std::move(node));
    }
}

// Rule 19: the server keeps no state for a client node it does not know until the node proves
// that it receives at its address; its rpc_nack carries the cookie to prove it with. Resend at
// once with it (the retransmission schedule stays as it was: this is no answer to the call).
void RpcClient::on_cookie(Calls::iterator it, const Reply& reply, Time now, Effects& out) {
    Call& call = it->second;
    // A nack of a Req sent before the current cookie (a delayed or duplicated one) says
    // nothing about that cookie: it is already answered.
    if (reply.route.attempt <= call.cookie_attempt) return;
    if (++call.cookie_nacks > cookie_nacks_max) {
        finish(it,
               fail(Errc::access_denied, "the server refused our address proof " +
                                             std::to_string(cookie_nacks_max) + " times"),
               now, out);
        return;
    }
    call.cookie = *reply.cookie;
    call.cookie_attempt = call.route.attempt;
    ++call.route.attempt;
    ++ctx_.counters.cookie_retries;
    if (out.tracing) out.trace(now, "rpc_cookie", describe(call.route));
    transmit(call, now, out);
}

void RpcClient::acknowledge(const Reply& reply, Effects& out) {
    ctx_.send(reply.route.server.node,
              response_ack_packet(reply.route, ctx_.incarnation, reply.server_incarnation, floor()),
              out);
}

void RpcClient::on_reply(const Reply& reply, Time now, Effects& out) {
    const bool response = reply.kind == wire::PacketKind::rpc_response;
    auto it = reply.route.id.incarnation == ctx_.incarnation ? calls_.find(reply.route.id.seq)
                                                             : calls_.end();
    if (it == calls_.end()) {
        // A resent Resp of a call already finished (our Ack was lost): acknowledge it anyway so
        // that the server can free its entry. One of an earlier incarnation of this node is
        // not ours to acknowledge (the server drops such an Ack as malformed): the server frees
        // those calls when this incarnation's first request reaches it (rule 11).
        ++ctx_.counters.stale_dropped;
        if (response && acks_response(reply.route.mode) &&
            reply.route.id.incarnation == ctx_.incarnation) {
            acknowledge(reply, out);
        }
        return;
    }
    Call& call = it->second;
    if (reply.route.client != call.route.client || reply.route.server != call.route.server) {
        ++ctx_.counters.malformed_dropped;
        return;
    }
    if (call.server_incarnation == 0) call.server_incarnation = reply.server_incarnation;
    if (reply.cookie) {
        on_cookie(it, reply, now, out);
        return;
    }
    if (reply.kind == wire::PacketKind::rpc_nack && reply.result.error().code == Errc::queue_full) {
        call.heard = Heard::busy;  // Keep resending on the schedule; a refusal is no answer.
        return;
    }
    call.unanswered = 0;
    if (response) {
        const bool ack = acks_response(call.route.mode);
        finish(it, reply.result, now, out);  // Erases the call: the floor may rise.
        if (ack) acknowledge(reply, out);
        return;
    }
    if (reply.kind == wire::PacketKind::rpc_ack) {
        // An Ack from another incarnation than the first one we heard means that the restarted
        // server proved it never ran the call and took it over (README rule 8).
        call.server_incarnation = reply.server_incarnation;
        call.heard = Heard::alive;
        if (!call.acked) {
            call.acked = true;
            call.next_send = now + call.options.probe_interval;
            arm(call, out);
        }
        return;
    }
    finish(it, reply.result, now, out);
}

}  // namespace herald::proto::rpc

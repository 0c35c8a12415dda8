// Names in the public API: Node::lookup_name / list_names / unregister_name, Process::
// register_name / unregister_name, and sends and calls to text addresses (docs/api.md
// "Names"). Layer: api.
#include <utility>

#include "api/api_support.h"
#include "api/naming_support.h"
#include "herald/node.h"
#include "herald/process.h"
#include "runtime/node_rpc.h"

namespace herald {

namespace api {

namespace {

NameInfo info_of(const proto::naming::NameEntry& e) {
    return NameInfo{e.name, e.owner(), std::chrono::milliseconds(e.lease_ms)};
}

}  // namespace

Status ensure_name_server(runtime::Node& node) {
    auto& naming = node.naming();
    if (naming.server_known() || naming.server_url().empty()) return {};
    HERALD_TRY(runtime::Endpoint endpoint, runtime::parse_endpoint(naming.server_url()));
    auto answer = node.ping(endpoint, server_ping_max);
    if (!answer) {
        return fail(answer.error().code == Errc::timeout ? Errc::unreachable : answer.error().code,
                    "name server at " + naming.server_url() + ": " + answer.error().detail);
    }
    return naming.set_server(answer->node);
}

Result<NameInfo> lookup_name(runtime::Node& node, std::string_view name) {
    HERALD_TRY(check_name(name));
    HERALD_TRY(ensure_name_server(node));
    HERALD_TRY(auto entry, node.naming().lookup(std::string(name)));
    return info_of(entry);
}

Result<Pid> resolve_address(runtime::Node& node, const ProcessAddress& address, Duration timeout) {
    if (!address.name.empty()) {
        HERALD_TRY(NameInfo info, lookup_name(node, address.name));
        return info.owner;
    }
    if (address.url.empty()) return address.pid;
    HERALD_TRY(runtime::Endpoint endpoint, runtime::parse_endpoint(address.url));
    HERALD_TRY(runtime::PingResult answer, node.ping(endpoint, timeout));
    // Another node than the pid's: where the process lives now (it migrated there), a hint
    // for this node's sends; if it does not host the pid, sends fail no_such_process.
    if (answer.node != address.pid.node) HERALD_TRY(node.locate(address.pid, answer.node));
    return address.pid;
}

}  // namespace api

// --- Node ---

Result<NameInfo> Node::lookup_name(std::string_view name) {
    return api::lookup_name(*impl_, name);
}

Result<std::vector<NameInfo>> Node::list_names(std::string_view prefix) {
    if (prefix.size() > 255) return fail(Errc::invalid_argument, "prefix over 255 bytes");
    HERALD_TRY(api::ensure_name_server(*impl_));
    HERALD_TRY(auto entries, impl_->naming().list(std::string(prefix)));
    std::vector<NameInfo> out;
    out.reserve(entries.size());
    for (const auto& e : entries) out.push_back(api::info_of(e));
    return out;
}

Status Node::register_name(std::string_view name, Pid owner, std::chrono::nanoseconds lease) {
    HERALD_TRY(check_name(name));
    if (!owner.valid()) return fail(Errc::invalid_argument, "invalid owner pid");
    if (lease <= std::chrono::nanoseconds::zero() || lease == forever) {
        return fail(Errc::invalid_argument, "lease must be positive and finite");
    }
    HERALD_TRY(api::ensure_name_server(*impl_));
    return impl_->naming().register_for(std::string(name), owner,
                                        Duration::nanoseconds(lease.count()));
}

Status Node::unregister_name(std::string_view name) {
    HERALD_TRY(check_name(name));
    HERALD_TRY(api::ensure_name_server(*impl_));
    (void)impl_->naming().invalidate(std::string(name));  // The owner must be current.
    HERALD_TRY(NameInfo info, api::lookup_name(*impl_, name));
    if (info.owner.node != id()) {
        return fail(Errc::access_denied, "'" + std::string(name) + "' is held by " +
                                             to_string(info.owner) + ", not a process of node " +
                                             to_string(id()));
    }
    return impl_->naming().unregister(std::string(name), info.owner);
}

// --- Process ---

Status Process::register_name(std::string_view name, std::chrono::nanoseconds lease) {
    if (!state_) return fail(Errc::closed, "process has exited");
    HERALD_TRY(check_name(name));
    if (lease <= std::chrono::nanoseconds::zero() || lease == forever) {
        return fail(Errc::invalid_argument, "lease must be positive and finite");
    }
    HERALD_TRY(api::ensure_name_server(*node_));
    return node_->naming().hold(std::string(name), state_->pid(),
                                Duration::nanoseconds(lease.count()));
}

Status Process::unregister_name(std::string_view name) {
    if (!state_) return fail(Errc::closed, "process has exited");
    HERALD_TRY(check_name(name));
    HERALD_TRY(api::ensure_name_server(*node_));
    return node_->naming().unregister(std::string(name), state_->pid());
}

Status Process::send(std::string_view to, Bytes body, const SendOptions& options) {
    if (!state_) return fail(Errc::closed, "process has exited");
    return api::with_address(*node_, to,
                             [&](Pid pid) { return send(pid, ByteView(body), options); });
}

Status Process::send(std::string_view to, std::string_view text, const SendOptions& options) {
    return send(to, to_bytes(text), options);
}

Result<Envelope> Process::receive_from(std::string_view from, std::chrono::nanoseconds timeout) {
    if (!state_) return fail(Errc::closed, "process has exited");
    HERALD_TRY(ProcessAddress address, parse_process_address(from));
    HERALD_TRY(Pid pid, api::resolve_address(*node_, address));
    return receive_from(pid, timeout);
}

Result<Bytes> Process::call(std::string_view server, std::string_view operation, ByteView request,
                            const CallOptions& options) {
    if (!state_) return fail(Errc::closed, "process has exited");
    return api::with_address(*node_, server,
                             [&](Pid pid) { return call(pid, operation, request, options); });
}

Result<Bytes> Process::call(std::string_view server, std::string_view operation,
                            std::string_view text, const CallOptions& options) {
    return call(server, operation,
                ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), options);
}

}  // namespace herald

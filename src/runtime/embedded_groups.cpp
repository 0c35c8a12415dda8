// EmbeddedGroups implementation: the group engine's requests to the group server. Layer:
// runtime. Rules: docs/groups.md.
#include "runtime/embedded_groups.h"

#include <algorithm>
#include <optional>

#include "proto/group/group_engine.h"

namespace herald::runtime {

using proto::group::GroupEngine;
using proto::group::View;

namespace {

Result<View> as_view(Result<Bytes> r) {
    if (!r) return fail(r.error());
    auto v = proto::group::decode_view(*r);
    if (!v) return fail(Errc::malformed, "group view");
    return *v;
}

}  // namespace

Result<View> EmbeddedGroups::create(const std::string& name, bool closed, Pid requester,
                                    std::uint8_t order, const proto::group::GroupAddress& address) {
    return as_view(
        node_.run_blocking<GroupEngine>(slot_, [=](GroupEngine& e, auto op, Time now, auto& out) {
            e.on_create(op, requester, name, closed, order, address, now, out);
        }));
}

Result<View> EmbeddedGroups::join(const std::string& name, Pid member) {
    return as_view(
        node_.run_blocking<GroupEngine>(slot_, [=](GroupEngine& e, auto op, Time now, auto& out) {
            e.on_join(op, member, name, now, out);
        }));
}

Result<View> EmbeddedGroups::leave(const std::string& name, Pid member) {
    return as_view(
        node_.run_blocking<GroupEngine>(slot_, [=](GroupEngine& e, auto op, Time now, auto& out) {
            e.on_leave(op, member, name, now, out);
        }));
}

Status EmbeddedGroups::remove(const std::string& name, Pid requester) {
    HERALD_TRY(
        node_.run_blocking<GroupEngine>(slot_, [=](GroupEngine& e, auto op, Time now, auto& out) {
            e.on_delete(op, requester, name, now, out);
        }));
    return {};
}

Result<View> EmbeddedGroups::known(const std::string& name) {
    return node_.on_loop<Result<View>>("group view", [this, name]() -> Result<View> {
        std::optional<View> found;
        const NodeId self = node_.id();
        node_.run<GroupEngine>(slot_, [&](GroupEngine& e, proto::Effects&) {
            const View* v = e.is_server() ? e.server_view(name) : nullptr;
            // An installed view is kept up to date only while this node hosts members of it
            // (G9): once they all left, it goes stale.
            const View* mine = e.installed(name);
            const auto local = [self](const proto::group::Member& m) { return m.pid.node == self; };
            if (v == nullptr && mine != nullptr &&
                std::any_of(mine->members.begin(), mine->members.end(), local)) {
                v = mine;
            }
            if (v != nullptr) found = *v;
        });
        if (!found) return fail(Errc::not_found, "no view of group " + name + " here");
        return *found;
    });
}

Result<View> EmbeddedGroups::view(const std::string& name, Pid requester) {
    auto here = known(name);
    if (here || here.error().code != Errc::not_found) return here;
    return as_view(
        node_.run_blocking<GroupEngine>(slot_, [=](GroupEngine& e, auto op, Time now, auto& out) {
            e.on_lookup(op, requester, name, now, out);
        }));
}

Result<std::vector<std::string>> EmbeddedGroups::list() {
    using Names = std::vector<std::string>;
    return node_.on_loop<Result<Names>>("group list", [this]() -> Result<Names> {
        Names names;
        node_.run<GroupEngine>(slot_, [&](GroupEngine& e, proto::Effects&) {
            if (e.is_server()) names = e.server_groups();
        });
        return names;
    });
}

void EmbeddedGroups::leave_later(const std::string& name, Pid member, Time now) {
    const auto op = node_.begin_operation([](Result<Bytes>) {});  // Nobody waits.
    node_.run<GroupEngine>(slot_, [&](GroupEngine& e, proto::Effects& out) {
        e.on_leave(op, member, name, now, out);
    });
}

}  // namespace herald::runtime

// herald name register|lookup|unregister|list: the name service through a heraldd's admin
// service (ops name_*; docs/admin.md), which asks its node's name server. Layer: apps.
// docs/cli.md ("herald name").
#include <fmt/format.h>

#include "cli.h"

namespace herald::cli {
namespace {

nlohmann::json record_json(const admin::NameRecord& r) {
    return {{"name", r.name}, {"owner", r.owner}, {"lease_ms", r.lease_ms}};
}

std::string record_text(const admin::NameRecord& r) {
    return fmt::format("{} {} (lease {})", r.name, r.owner,
                       describe(std::chrono::milliseconds(r.lease_ms)));
}

// The request for args, or invalid_argument for a bad name, pid or lease (checked here so the
// user gets exit 2 without a round trip).
Result<admin::Request> request_for(const NameArgs& args) {
    admin::Request request;
    request.name = args.name;
    if (args.action == "list") {
        request.op = "name_list";
        if (args.name.size() > 255) return fail(Errc::invalid_argument, "prefix over 255 bytes");
        return request;
    }
    HERALD_TRY(check_name(args.name));
    if (args.action == "lookup") {
        request.op = "name_lookup";
    } else if (args.action == "unregister") {
        request.op = "name_unregister";
    } else {
        request.op = "name_register";
        HERALD_TRY(Pid owner, parse_pid(args.pid));
        HERALD_TRY(auto lease, parse_duration(args.lease));
        if (lease.count() <= 0 || lease == forever) {
            return fail(Errc::invalid_argument,
                        "--lease " + args.lease + ": must be a positive, finite duration");
        }
        request.who = to_string(owner);
        request.lease_ms = std::max<std::int64_t>(
            1, std::chrono::duration_cast<std::chrono::milliseconds>(lease).count());
    }
    return request;
}

}  // namespace

int run_name(const Output& out, const NameArgs& args) {
    auto timeout = parse_duration(args.timeout);
    if (!timeout) return out.error(timeout.error());
    const Deadline deadline(*timeout);
    auto request = request_for(args);
    if (!request) return out.error(request.error());
    auto client = start_client(args.url, args.listen);
    if (!client) return out.error(client.error());
    auto self = (*client)->node->spawn();
    if (!self) return out.error(self.error());
    auto reply = admin_call(*(*client)->node, *self, args.url, *request, deadline);
    if (!reply) return out.error(reply.error());
    if (args.action == "lookup" || args.action == "list") {
        for (const auto& r : reply->names) out.result(record_text(r), record_json(r));
        return exit_ok;
    }
    const bool reg = args.action == "register";
    out.result(
        reg ? fmt::format("registered {} for {} (lease {})", args.name, request->who, args.lease)
            : fmt::format("unregistered {}", args.name),
        {{"ok", true}, {"op", request->op}, {"name", args.name}});
    return exit_ok;
}

}  // namespace herald::cli

// herald spawn|migrate: a heraldd's echo workers (admin ops spawn and migrate; docs/admin.md):
// start one, and move one to another heraldd with its queue and pid. Layer: apps.
// docs/cli.md ("herald spawn", "herald migrate").
#include <fmt/format.h>

#include "cli.h"

namespace herald::cli {
namespace {

// One admin request to the heraldd at `url`, from a fresh process of the CLI's node.
Result<admin::Reply> ask(const std::string& url, const std::string& listen,
                         const admin::Request& request, const Deadline& deadline) {
    HERALD_TRY(auto client, start_client(url, listen));
    HERALD_TRY(Process self, client->node->spawn());
    return admin_call(*client->node, self, url, request, deadline);
}

}  // namespace

int run_spawn(const Output& out, const SpawnArgs& args) {
    auto timeout = parse_duration(args.timeout);
    if (!timeout) return out.error(timeout.error());
    admin::Request request;
    request.op = "spawn";
    auto reply = ask(args.url, args.listen, request, Deadline(*timeout));
    if (!reply) return out.error(reply.error());
    out.result(fmt::format("spawned echo worker {} on {}", reply->pid, args.url),
               {{"ok", true}, {"op", "spawn"}, {"pid", reply->pid}, {"url", args.url}});
    return exit_ok;
}

int run_migrate(const Output& out, const MigrateArgs& args) {
    auto timeout = parse_duration(args.timeout);
    if (!timeout) return out.error(timeout.error());
    // Checked here so that a bad argument is exit 2 before any packet: a pid, or a name of
    // the name service (looked up through the same heraldd).
    auto pid = parse_pid(args.pid);
    if (!pid && !check_name(args.pid)) {
        return out.error(
            Error{Errc::invalid_argument,
                  "'" + args.pid + "' is neither a pid nor a name: " + pid.error().detail});
    }
    if (auto to = parse_process_address("1.1@" + args.to); !to) {
        return out.error(
            Error{Errc::invalid_argument, "bad TO_URL '" + args.to + "': " + to.error().detail});
    }
    const Deadline deadline(*timeout);
    admin::Request request;
    if (!pid) {
        request.op = "name_lookup";
        request.name = args.pid;
        auto found = ask(args.url, args.listen, request, deadline);
        if (!found) return out.error(found.error());
        pid = parse_pid(found->pid);
        if (!pid) return out.error(Error{Errc::malformed, "bad pid in the answer: " + found->pid});
    }
    request = {};
    request.op = "migrate";
    request.who = to_string(*pid);
    request.url = args.to;
    auto reply = ask(args.url, args.listen, request, deadline);
    if (!reply) return out.error(reply.error());
    out.result(
        fmt::format("moved {} from {} to {} (node {})", reply->pid, args.url, args.to, reply->node),
        {{"ok", true},
         {"op", "migrate"},
         {"pid", reply->pid},
         {"from", args.url},
         {"to", args.to},
         {"node", reply->node}});
    return exit_ok;
}

}  // namespace herald::cli

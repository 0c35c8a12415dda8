// herald CLI client side: its own node, target parsing and resolution, admin requests.
// Layer: apps.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <random>
#include <thread>

#include "cli.h"
#include "core/result.h"  // HERALD_TRY
#include "wire/auth.h"

namespace herald::cli {
namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

// The host part of "scheme://HOST:PORT" (brackets kept for IPv6).
std::string_view host_of(std::string_view url) {
    const auto start = url.find("://");
    if (start == std::string_view::npos) return {};
    std::string_view rest = url.substr(start + 3);
    if (starts_with(rest, "[")) return rest.substr(0, rest.find(']') + 1);
    return rest.substr(0, rest.rfind(':'));
}

std::string listen_like(std::string_view peer_url) {
    for (std::string_view scheme : {"udp://", "tcp://"}) {
        if (!starts_with(peer_url, scheme)) continue;
        const std::string_view host = host_of(peer_url);
        const bool loopback = starts_with(host, "127.") || host == "localhost";
        const bool ipv6 = starts_with(host, "[");
        const char* any =
            ipv6 ? (host == "[::1]" ? "[::1]" : "[::]") : (loopback ? "127.0.0.1" : "0.0.0.0");
        return fmt::format("{}{}:0", scheme, any);
    }
    return {};
}

std::string fresh_unix_path() {
    static std::atomic<unsigned> next{0};
    return (std::filesystem::temp_directory_path() /
            fmt::format("herald-cli-{}-{}.sock", ::getpid(), next++))
        .string();
}

// One attempt of a name lookup waits at most this long: many resends of the request and of
// its answer on a direct channel (20 ms doubling: 7 within 2.5 s), yet an answer that died with
// a node restarting meanwhile (it never comes) costs one attempt, not the whole timeout.
constexpr std::chrono::nanoseconds lookup_attempt_max = std::chrono::seconds(2);
// Pause before the next attempt, doubling: a node restarts in tens of milliseconds.
constexpr std::chrono::nanoseconds lookup_pause_initial = std::chrono::milliseconds(20);
constexpr std::chrono::nanoseconds lookup_pause_max = std::chrono::milliseconds(500);
// A heraldd starts its admin service after its other services, so for a few milliseconds after
// a restart it has none: no_such_process is retried this long before it counts as "no admin
// service at all" (a node that is not a heraldd).
constexpr std::chrono::nanoseconds admin_starting_max = std::chrono::seconds(1);

// Whether a failed lookup attempt is worth another: what a restart of the node explains.
bool lookup_again(Errc code, bool admin_may_be_starting) {
    switch (code) {
        case Errc::peer_restarted:  // The request went to an incarnation that died.
        case Errc::unreachable:     // Down for now (peer_timeout of silence), or not there.
        case Errc::timeout:         // This attempt's answer never came.
            return true;
        case Errc::no_such_process:
            return admin_may_be_starting;
        default:
            return false;
    }
}

Errc errc_from_name(std::string_view name) {
    for (unsigned i = 1; i < 256; ++i) {
        const auto code = static_cast<Errc>(i);
        if (errc_name(code) == name) return code;
    }
    return Errc::malformed;
}

}  // namespace

namespace {
std::string key_file_option;  // Set once by main before any command runs.
}  // namespace

void set_key_file(std::string path) {
    key_file_option = std::move(path);
}

int run_keygen(const Output& out, const std::string& path) {
    if (auto written = wire::write_new_key_file(path); !written) return out.error(written.error());
    out.result("wrote a new cluster key to " + path + " (mode 600)",
               {{"event", "keygen"}, {"key_file", path}, {"mode", "600"}});
    return exit_ok;
}

ClientNode::~ClientNode() {
    node.reset();
    if (!unix_path.empty()) {
        std::error_code ignored;
        std::filesystem::remove(unix_path, ignored);
    }
}

Result<std::unique_ptr<ClientNode>> start_client(std::string_view peer_url,
                                                 const std::string& listen) {
    auto client = std::make_unique<ClientNode>();
    NodeOptions options;
    options.listen = listen;
    if (options.listen.empty() && starts_with(peer_url, "unix:")) {
        client->unix_path = fresh_unix_path();
        options.listen = "unix:" + client->unix_path;
    } else if (options.listen.empty()) {
        options.listen = listen_like(peer_url);
        if (options.listen.empty()) {
            return fail(Errc::invalid_argument,
                        fmt::format("'{}' is not a node URL (udp://HOST:PORT, tcp://HOST:PORT "
                                    "or unix:/PATH)",
                                    peer_url));
        }
    }
    options.key_file = key_file_option;
    if (const char* env = std::getenv("HERALD_KEY_FILE"); options.key_file.empty() && env) {
        options.key_file = env;
    }
    auto node = Node::start(options);
    if (!node) {
        Error error = node.error();
        error.detail =
            fmt::format("cannot start the CLI's node on {}: {}", options.listen, error.detail);
        return fail(std::move(error));
    }
    client->node = std::move(*node);
    return client;
}

Result<Target> parse_target(std::string_view text) {
    const auto usage = [&](std::string_view why) {
        return fail(Errc::invalid_argument,
                    fmt::format("bad target '{}': {} (use PID@URL, e.g. 7f3a9c21.2@udp://"
                                "127.0.0.1:7400, or URL/NAME, e.g. udp://127.0.0.1:7400/echo)",
                                text, why));
    };
    if (text.find('@') != std::string_view::npos) {
        auto address = parse_process_address(text);
        if (!address) return usage(address.error().detail);
        if (address->url.empty()) return usage("no URL after '@'");
        return Target{address->url, {}, address->pid};
    }
    const bool url_like = text.find("://") != std::string_view::npos || starts_with(text, "unix:");
    if (!url_like) return usage("a pid alone does not say where its node listens");
    // udp:// and tcp:// URLs have no '/' after the host: the name starts at the first one (so
    // a name of the name service may hold '/'); a unix: path does, so the name is the last part.
    const auto host = text.find("://");
    const auto slash = host != std::string_view::npos && !starts_with(text, "unix:")
                           ? text.find('/', host + 3)
                           : text.rfind('/');
    if (slash == std::string_view::npos) return usage("no process name after the node URL");
    const std::string_view name = text.substr(slash + 1);
    const std::string_view url = text.substr(0, slash);
    if (name.empty() || name.find(':') != std::string_view::npos || url.empty() ||
        url.back() == '/' || url.back() == ':') {
        return usage("no process name after the node URL");
    }
    return Target{std::string(url), std::string(name), Pid{}};
}

Result<admin::Reply> admin_call(Node& node, Process& self, std::string_view url,
                                admin::Request request, const Deadline& deadline) {
    HERALD_TRY(NodeId id, node.connect(url, deadline.remaining()));
    request.id = std::random_device{}();
    HERALD_TRY(Bytes body, admin::encode(request));
    SendOptions options;
    options.timeout = deadline.remaining();
    const Pid admin_pid = admin::admin_pid(id);
    if (auto sent = self.send(admin_pid, std::move(body), options); !sent) {
        if (sent.error().code != Errc::no_such_process) return fail(sent.error());
        return fail(Errc::no_such_process,
                    fmt::format("the node at {} has no admin service (is it a heraldd?)", url));
    }
    for (;;) {
        auto message = self.receive_from(admin_pid, deadline.remaining());
        if (!message && message.error().code == Errc::timeout) {
            return fail(Errc::timeout, fmt::format("no answer from the admin service of {} in {}",
                                                   url, describe_waited(deadline.elapsed())));
        }
        if (!message) return fail(message.error());
        HERALD_TRY(admin::Reply reply, admin::decode_reply(message->body));
        if (reply.id != request.id) continue;  // An answer to an earlier request: not ours.
        if (!reply.error.empty()) return fail(errc_from_name(reply.error), reply.detail);
        return reply;
    }
}

namespace {

// admin_call, again after each failure that a restart of the node explains (lookup_again),
// while `deadline` allows. `request` must be idempotent (an earlier attempt may have run).
Result<admin::Reply> lookup(Node& node, Process& self, std::string_view url,
                            const admin::Request& request, const Deadline& deadline) {
    std::chrono::nanoseconds pause = lookup_pause_initial;
    std::optional<Deadline> no_admin;  // Since the first no_such_process.
    for (std::uint32_t attempt = 1;; ++attempt) {
        const Deadline this_attempt(std::min(deadline.remaining(), lookup_attempt_max));
        auto reply = admin_call(node, self, url, request, this_attempt);
        if (reply) return reply;
        Error error = std::move(reply).error();
        if (error.code == Errc::no_such_process && !no_admin) no_admin.emplace(admin_starting_max);
        const bool admin_may_be_starting = no_admin && no_admin->remaining().count() > 0;
        if (!lookup_again(error.code, admin_may_be_starting) || deadline.remaining().count() == 0) {
            error.detail +=
                fmt::format(" (name lookup: {} attempt{} in {})", attempt, attempt == 1 ? "" : "s",
                            describe_waited(deadline.elapsed()));
            return fail(std::move(error));
        }
        std::this_thread::sleep_for(std::min(pause, deadline.remaining()));
        pause = std::min(pause * 2, lookup_pause_max);
    }
}

}  // namespace

Result<Pid> resolve_target(Node& node, Process& self, const Target& target,
                           const Deadline& deadline) {
    if (target.name.empty()) {
        return node.resolve(to_string(ProcessAddress{target.pid, target.url, {}}),
                            deadline.remaining());
    }
    admin::Request request;
    request.op = "whereis";
    request.name = target.name;
    auto reply = lookup(node, self, target.url, request, deadline);
    if (!reply && reply.error().code == Errc::not_found && check_name(target.name)) {
        // No process of that node has the name: ask the name service, through that heraldd.
        request.op = "name_lookup";
        reply = lookup(node, self, target.url, request, deadline);
    }
    if (!reply) {
        Error error = reply.error();
        if (error.code == Errc::not_found) {
            error.detail =
                fmt::format("no process named '{}' on {}, nor such a name in its name service",
                            target.name, target.url);
        }
        return fail(std::move(error));
    }
    auto pid = parse_pid(reply->pid);
    if (!pid) return fail(Errc::malformed, "admin service answered a bad pid: " + reply->pid);
    if (request.op == "name_lookup") {
        // The CLI's node knows only the address of the node at URL (admin_call connected):
        // the owner is taken to live there (its own node, or the one it migrated to).
        return node.resolve(to_string(*pid) + "@" + target.url, deadline.remaining());
    }
    return *pid;
}

}  // namespace herald::cli

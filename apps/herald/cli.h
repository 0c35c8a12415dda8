// The herald CLI's shared pieces: exit codes, output (text or one JSON object a line), the
// client node every command starts, target resolution and admin requests. Layer: apps.
// docs/cli.md describes every command, its output and its exit codes.
#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "admin_protocol.h"
#include "herald/herald.h"

namespace herald::cli {

// A duration in milliseconds, for output.
inline double ms(std::chrono::nanoseconds d) {
    return static_cast<double>(d.count()) / 1e6;
}

// Exit codes (herald --help, docs/cli.md).
inline constexpr int exit_ok = 0;
inline constexpr int exit_failed = 1;    // The operation failed: timeout, unreachable, ...
inline constexpr int exit_usage = 2;     // Bad command line or input (pid, URL, JSON, file).
inline constexpr int exit_internal = 3;  // The CLI itself failed (its node could not start).

// Maps an error to its exit code: invalid_argument -> 2, io_error -> 3, the rest -> 1.
[[nodiscard]] int exit_code_for(Errc code);

// How a command prints. One per run; commands print through it only.
class Output {
public:
    Output(std::string command, bool json) : command_(std::move(command)), json_(json) {}
    [[nodiscard]] bool json() const { return json_; }

    // A result line: `text` in text mode, `object` (one line) in JSON mode. On stdout.
    void result(const std::string& text, const nlohmann::json& object) const;
    // A line on stderr: `text`, or `object` in JSON mode (the address `herald recv` prints).
    void note(const std::string& text, const nlohmann::json& object) const;
    // The one error line on stderr ("herald ping: unreachable: ..." or a JSON object with
    // command, error, detail, exit_code); returns the exit code for `error`.
    int error(const Error& error) const;
    int error(Errc code, std::string detail) const { return error(Error{code, std::move(detail)}); }

private:
    std::string command_;
    bool json_;
};

// "250ms", "2s", "1.5s", "1m" or a bare number of seconds; "forever" or "0" never expire.
// Errc::invalid_argument naming the text.
[[nodiscard]] Result<std::chrono::nanoseconds> parse_duration(std::string_view text);
// "0.182 ms" / "2 s": for messages.
[[nodiscard]] std::string describe(std::chrono::nanoseconds duration);
// A measured time for messages: "0.182 ms", "5.403 s" (milliseconds above one second).
[[nodiscard]] std::string describe_waited(std::chrono::nanoseconds duration);

// A deadline for the whole command; remaining() never goes negative.
class Deadline {
public:
    explicit Deadline(std::chrono::nanoseconds timeout);
    [[nodiscard]] std::chrono::nanoseconds remaining() const;
    [[nodiscard]] std::chrono::nanoseconds timeout() const { return timeout_; }
    // Time since the deadline was made: what error messages report as the time waited (not the
    // timeout, which a failure may come well before).
    [[nodiscard]] std::chrono::nanoseconds elapsed() const;

private:
    std::chrono::nanoseconds timeout_;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point end_;
};

// A message body as text for people, or as a JSON member pair for --json:
// format "text" (valid UTF-8 without control characters other than tab and newline),
// "msgpack" (one MessagePack document: rendered as its JSON value), or "binary" (base64).
struct RenderedBody {
    std::string format;
    std::string text;      // For text mode.
    nlohmann::json value;  // For JSON mode.
};
[[nodiscard]] RenderedBody render_body(ByteView body);

// Everything printed about one received message, in both modes.
[[nodiscard]] nlohmann::json message_json(const Envelope& message);
[[nodiscard]] std::string message_text(const Envelope& message);

// The client's node: listens on `listen` when given, else on an address of the same kind as
// `peer_url` (udp://127.0.0.1:0 for a loopback udp peer, udp://0.0.0.0:0 for another host,
// likewise tcp, a fresh socket path for unix:). Errors of Node::start.
struct ClientNode {
    std::unique_ptr<Node> node;
    std::string unix_path;  // Removed on destruction when the node listens on a unix socket.
    ~ClientNode();
};
[[nodiscard]] Result<std::unique_ptr<ClientNode>> start_client(std::string_view peer_url,
                                                               const std::string& listen);
// The cluster key file the client's node uses (--key-file; else $HERALD_KEY_FILE; else none).
void set_key_file(std::string path);

// herald keygen PATH: writes a new cluster key file (mode 600; never overwrites).
[[nodiscard]] int run_keygen(const Output& out, const std::string& path);

// A parsed TARGET: "PID@URL", or "URL/NAME": a process name registered on the node at URL or,
// when none is, a name of the name service looked up by the heraldd at URL.
struct Target {
    std::string url;
    std::string name;  // Empty for PID@URL.
    Pid pid;           // Invalid for URL/NAME until resolved.
};
// Errc::invalid_argument explaining both accepted forms.
[[nodiscard]] Result<Target> parse_target(std::string_view text);

// Sends one admin request to the node at `url` from `self` and waits for its answer.
// Errc::unreachable / timeout (no answer before `deadline`), Errc::malformed (an answer that
// is not an admin reply), Errc::peer_restarted (the node restarted while the request was in
// flight), and the answer's own error (not_found, ...) as an Error.
[[nodiscard]] Result<admin::Reply> admin_call(Node& node, Process& self, std::string_view url,
                                              admin::Request request, const Deadline& deadline);

// Turns a target into a pid this node can send to: connects to its node (checking the pid's
// node id for PID@URL; asking the admin service `whereis` for URL/NAME). The name lookup rides
// over a restart of that node: a failure a restart explains (peer_restarted, unreachable, no
// answer, for 1 s no admin service yet) is retried until `deadline`; the error after the last
// attempt states the time waited and the attempts. Errors of Node::resolve and admin_call.
[[nodiscard]] Result<Pid> resolve_target(Node& node, Process& self, const Target& target,
                                         const Deadline& deadline);

// The subcommands. Each returns the process exit code.
struct PingArgs {
    std::string url, listen;
    std::uint32_t count = 1;
    std::string timeout = "2s", interval = "1s";
};
struct SendArgs {
    std::string target, body, body_file, json_value, mode = "accepted", listen;
    std::string timeout = "5s";
    bool wait_reply = false;
    bool has_body = false, has_body_file = false, has_json = false;  // Which body was given.
};
struct RecvArgs {
    std::vector<std::string> from;
    std::string timeout = "forever", listen = "udp://127.0.0.1:0", buffering = "multiple";
    std::uint32_t count = 0;  // 0: no limit.
    std::uint32_t queue_limit = 1024;
};
struct StatusArgs {
    std::string url, listen;
    std::string timeout = "2s";
};
struct MailboxArgs {
    std::string action;  // create, ls, stats, rm, grant, send, recv, ack.
    std::string url, name, listen;
    std::string timeout = "5s";
    bool persistent = false, restricted = false;  // create
    std::uint32_t capacity_messages = 1024;
    std::uint64_t capacity_bytes = 16u << 20;
    std::string who, rights = "all";  // grant
    std::string body;                 // send
    std::uint32_t count = 1;          // send: messages; recv: to take (0: until timeout)
    std::string from;                 // recv: only this sender's
    bool no_ack = false;              // recv
    std::uint64_t tag = 0;            // ack
};
struct BoardArgs {
    std::string action;  // create, ls, rm, post, read.
    std::string url, name, listen;
    std::string timeout = "5s";
    bool persistent = false, restricted = false;  // create
    std::uint32_t keep = 1024;                    // create: retention by count
    std::uint64_t capacity_bytes = 16u << 20;     // create
    std::string retain = "0";                     // create: retention by age (0: none)
    std::string body;                             // post
    std::uint32_t count = 1;                      // post: posts; read: posts at most
    std::uint64_t from = 0;                       // read: from this seq (0: the oldest)
    std::uint32_t read_count = 64;                // read: posts at most
};
struct NameArgs {
    std::string action;  // register, lookup, unregister, list.
    std::string url, name, pid, listen;
    std::string timeout = "5s", lease = "30s";
};
struct GroupArgs {
    std::string action;  // create, join, leave, send, view, ls, rm, members, views, recv.
    std::string url, name, listen;
    std::string timeout;              // Empty: 10s, and forever for recv (as herald recv).
    bool closed = false;              // create
    std::string order = "fifo";       // create: fifo, absolute, sequencer, abcast or cbcast
    std::string address = "hosts";    // create: hosts, broadcast, multicast[:IP:PORT]
    std::string body;                 // send
    std::string reliability = "all";  // send: 0, k or all
    bool atomic = false;              // send --atomic (docs/groups.md G23)
    bool ft_atomic = false;           // send --ft-atomic
    std::string send_timeout = "5s";  // send: the multicast's own timeout
    std::uint32_t count = 0;          // recv: exit after this many messages (0: no limit)
    std::string collect;              // send --collect first|k|all (docs/groups.md G24)
    std::vector<std::string> from;    // send --from PID: a selective collection
    std::string answer;               // recv --reply TEXT: answer each request with it
};
int run_group(const Output& out, const GroupArgs& args);
int run_mailbox(const Output& out, const MailboxArgs& args);
int run_name(const Output& out, const NameArgs& args);
int run_board(const Output& out, const BoardArgs& args);
struct SpawnArgs {
    std::string url, listen;
    std::string timeout = "5s";
};
struct MigrateArgs {
    std::string url, pid, to, listen;
    std::string timeout = "10s";
};
int run_spawn(const Output& out, const SpawnArgs& args);
int run_migrate(const Output& out, const MigrateArgs& args);
int run_ping(const Output& out, const PingArgs& args);
int run_send(const Output& out, const SendArgs& args);
int run_recv(const Output& out, const RecvArgs& args);
int run_status(const Output& out, const StatusArgs& args);
// Replaces this process with herald-sim (next to this binary, or on PATH) and `args`.
int run_sim(const Output& out, const std::vector<std::string>& args);

}  // namespace herald::cli

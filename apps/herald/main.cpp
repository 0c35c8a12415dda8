// herald: the command line for Herald nodes — ping, send, recv, status, call, mailbox, name,
// group, keygen, sim. Layer: apps.
// Command-line parsing (CLI11, which throws: caught here) and dispatch; the commands are in
// commands.cpp. docs/cli.md is the manual.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "call.h"
#include "cli.h"

#ifndef HERALD_VERSION
#define HERALD_VERSION "unknown"
#endif

namespace herald::cli {
namespace {

constexpr const char* footer =
    "TARGET is PID@URL (e.g. 7f3a9c21.2@udp://127.0.0.1:7400) or URL/NAME (e.g.\n"
    "udp://127.0.0.1:7400/echo: a process registered under NAME on that node).\n"
    "Output: readable text, or one JSON object per line with --json (before the subcommand\n"
    "for `send`, whose own --json gives the body) or --output json. Errors: one line on stderr.\n"
    "Exit codes: 0 ok; 1 the operation failed (timeout, unreachable, no such process or\n"
    "name, queue full, too large, ...); 2 bad command line or input (malformed pid, URL,\n"
    "JSON, duration, unreadable file); 3 internal error (the CLI's own node cannot start).\n"
    "Manual: docs/cli.md.\n";

struct Args {
    bool json = false;
    std::string output = "text";
    PingArgs ping;
    SendArgs send;
    RecvArgs recv;
    StatusArgs status;
    CallArgs call;
    MailboxArgs mailbox;
    BoardArgs board;
    NameArgs name;
    GroupArgs group;
    SpawnArgs spawn;
    MigrateArgs migrate;
    std::string keygen;
    std::string key_file;
    std::vector<std::string> sim;
};

CLI::App* subcommand(CLI::App& app, const char* name, const char* help) {
    CLI::App* sub = app.add_subcommand(name, help);
    sub->fallthrough();  // --json / --output may follow the subcommand too.
    return sub;
}

void add_ping(CLI::App& app, PingArgs& a) {
    CLI::App* c = subcommand(app, "ping", "Ask a node who it is: node id, incarnation, rtt");
    c->add_option("NODE_URL", a.url, "e.g. udp://127.0.0.1:7400")->required();
    c->add_option("--count,-c", a.count, "Pings to send")
        ->check(CLI::Range(1u, 1000000u))
        ->capture_default_str();
    c->add_option("--timeout,-t", a.timeout, "Wait per ping (250ms, 2s, ...)")
        ->capture_default_str();
    c->add_option("--interval,-i", a.interval, "Pause between pings")->capture_default_str();
    c->add_option("--listen", a.listen, "The CLI node's own URL (default: like NODE_URL)");
}

void add_send(CLI::App& app, SendArgs& a) {
    CLI::App* c = subcommand(app, "send", "Send one message to a process");
    c->add_option("TARGET", a.target, "PID@URL or URL/NAME")->required();
    auto* body = c->add_option("--body,-b", a.body, "The body as text");
    auto* file = c->add_option("--body-file,-f", a.body_file, "The body from a file (- stdin)");
    auto* json =
        c->add_option("--json", a.json_value, "A JSON value, sent as a typed (MessagePack) body");
    body->excludes(file)->excludes(json);
    file->excludes(json);
    c->add_option("--mode,-m", a.mode,
                  "When send returns: nonblocking (handed to the node), accepted (the target's "
                  "node acknowledged), delivered (in the target's inbox)")
        ->capture_default_str();
    c->add_option("--timeout,-t", a.timeout, "Time allowed for the whole command")
        ->capture_default_str();
    c->add_flag("--wait-reply,-r", a.wait_reply, "Then wait for one message from the target");
    c->add_option("--listen", a.listen, "The CLI node's own URL (default: like the target's)");
}

void add_recv(CLI::App& app, RecvArgs& a) {
    CLI::App* c =
        subcommand(app, "recv", "Start a process, print its address on stderr, print messages");
    c->add_option("--from", a.from, "Only from this sender: PID, PID@URL or URL/NAME (repeat)")
        ->type_name("SENDER");
    c->add_option("--count,-n", a.count, "Stop after N messages (0: no limit)")
        ->capture_default_str();
    c->add_option("--timeout,-t", a.timeout, "Time allowed for the whole command")
        ->capture_default_str();
    c->add_option("--listen", a.listen, "The CLI node's URL")->capture_default_str();
    c->add_option("--buffering", a.buffering,
                  "send_after_receive, send_discard_retry, single or multiple")
        ->capture_default_str();
    c->add_option("--queue-limit", a.queue_limit, "Inbox slots for multiple buffering")
        ->check(CLI::Range(1u, 1u << 20))
        ->capture_default_str();
}

// NODE_URL (the heraldd asked), --timeout and --listen: what every one-daemon command takes.
void daemon_options(CLI::App* c, std::string& url, std::string& timeout, std::string& listen,
                    const char* url_help) {
    c->add_option("NODE_URL", url, url_help)->required();
    c->add_option("--timeout,-t", timeout, "Time allowed for the whole command")
        ->capture_default_str();
    c->add_option("--listen", listen, "The CLI node's own URL (default: like NODE_URL)");
}

void add_status(CLI::App& app, StatusArgs& a) {
    CLI::App* c =
        subcommand(app, "status", "Ask a heraldd's admin service: processes, queues, counters");
    daemon_options(c, a.url, a.timeout, a.listen, "e.g. udp://127.0.0.1:7400");
}

void add_mailbox(CLI::App& app, MailboxArgs& a) {
    CLI::App* m = subcommand(app, "mailbox",
                             "Mailboxes of a heraldd: create, ls, stats, rm, "
                             "grant, send, recv, ack");
    m->require_subcommand(1, 1);
    auto action = [&](const char* name, const char* help) {
        CLI::App* c = m->add_subcommand(name, help);
        c->fallthrough();
        c->add_option("NODE_URL", a.url, "The heraldd hosting the mailbox")->required();
        c->add_option("--timeout,-t", a.timeout, "Time allowed for the whole command")
            ->capture_default_str();
        c->add_option("--listen", a.listen, "The CLI node's own URL (default: like NODE_URL)");
        c->callback([&a, name] { a.action = name; });
        return c;
    };
    auto* create = action("create", "Create a mailbox");
    create->add_option("NAME", a.name, "1-64 of [A-Za-z0-9._-]")->required();
    create->add_flag("--persistent", a.persistent, "Durable on the host's disk (else transient)");
    create->add_flag("--restricted", a.restricted, "Only those granted rights may use it");
    create->add_option("--capacity", a.capacity_messages, "Messages it holds at most")
        ->check(CLI::Range(1u, 1u << 30))
        ->capture_default_str();
    create->add_option("--capacity-bytes", a.capacity_bytes, "Bytes it holds at most")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    action("ls", "List the node's mailboxes");
    auto* stats = action("stats", "Counts of the node's mailboxes (or of NAME)");
    stats->add_option("NAME", a.name, "Only this mailbox");
    auto* rm = action("rm", "Destroy a mailbox and discard its messages");
    rm->add_option("NAME", a.name)->required();
    auto* grant = action("grant", "Give rights on a mailbox");
    grant->add_option("NAME", a.name)->required();
    grant->add_option("WHO", a.who, "A pid, NODE.0 (every process of that node) or '*'")
        ->required();
    grant->add_option("RIGHTS", a.rights, "none, send, receive or all")
        ->check(CLI::IsMember({"none", "send", "receive", "all"}))
        ->required();
    auto* send = action("send", "Send to a mailbox (waits until it is accepted)");
    send->add_option("NAME", a.name)->required();
    send->add_option("BODY", a.body, "The body as text")->required();
    send->add_option("--count,-n", a.count, "Send N messages, \"BODY 1\" .. \"BODY N\"")
        ->check(CLI::Range(1u, 10'000'000u))
        ->capture_default_str();
    auto* recv = action("recv", "Take messages from a mailbox (and acknowledge them)");
    recv->add_option("NAME", a.name)->required();
    recv->add_option("--count,-n", a.count, "Messages to take (0: until --timeout passes)")
        ->capture_default_str();
    recv->add_option("--from", a.from, "Only messages of this pid (NODE.0: of that node)");
    recv->add_flag("--no-ack", a.no_ack, "Do not acknowledge (use `herald mailbox ack` later)");
    auto* ack = action("ack", "Acknowledge a message taken with --no-ack");
    ack->add_option("NAME", a.name)->required();
    ack->add_option("TAG", a.tag, "The tag recv printed")->required();
}

void add_board(CLI::App& app, BoardArgs& a) {
    CLI::App* m = subcommand(app, "board",
                             "Bulletin boards of a heraldd (docs/boards.md): create, ls, rm, "
                             "post, read");
    m->require_subcommand(1, 1);
    auto action = [&](const char* name, const char* help) {
        CLI::App* c = m->add_subcommand(name, help);
        c->fallthrough();
        c->add_option("NODE_URL", a.url, "The heraldd hosting the board")->required();
        c->add_option("--timeout,-t", a.timeout, "Time allowed for the whole command")
            ->capture_default_str();
        c->add_option("--listen", a.listen, "The CLI node's own URL (default: like NODE_URL)");
        c->callback([&a, name] { a.action = name; });
        return c;
    };
    auto* create = action("create", "Create a bulletin board");
    create->add_option("NAME", a.name, "1-64 of [A-Za-z0-9._-]")->required();
    create->add_flag("--persistent", a.persistent, "Posts and cursors on the host's disk");
    create->add_flag("--restricted", a.restricted, "Only those granted rights may use it");
    create->add_option("--keep", a.keep, "Keep the newest N posts")
        ->check(CLI::Range(1u, 1u << 20))
        ->capture_default_str();
    create->add_option("--capacity-bytes", a.capacity_bytes, "Bytes of posts it keeps at most")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    create->add_option("--retain", a.retain, "Drop posts older than this (0: never; <= 30 days)")
        ->capture_default_str();
    action("ls", "List the node's bulletin boards");
    auto* rm = action("rm", "Destroy a board with its posts and cursors");
    rm->add_option("NAME", a.name)->required();
    auto* post = action("post", "Post to a board (waits until it is accepted)");
    post->add_option("NAME", a.name)->required();
    post->add_option("BODY", a.body, "The body as text")->required();
    post->add_option("--count,-n", a.count, "Post N times, \"BODY 1\" .. \"BODY N\"")
        ->check(CLI::Range(1u, 10'000'000u))
        ->capture_default_str();
    auto* read = action("read", "Copy posts from a board (waits up to --timeout for one)");
    read->add_option("NAME", a.name)->required();
    read->add_option("--from", a.from, "From this seq (default: the oldest retained)");
    read->add_option("--count,-n", a.read_count, "Posts at most")
        ->check(CLI::Range(1u, 1024u))
        ->capture_default_str();
}

void add_name(CLI::App& app, NameArgs& a) {
    CLI::App* m = subcommand(app, "name",
                             "The name service, through a heraldd: register, lookup, "
                             "unregister (rm), list (ls)");
    m->require_subcommand(1, 1);
    auto action = [&](const char* name, const char* help) {
        CLI::App* c = m->add_subcommand(name, help);
        c->fallthrough();
        c->add_option("NODE_URL", a.url, "The heraldd to ask (it reaches the name server)")
            ->required();
        c->add_option("--timeout,-t", a.timeout, "Time allowed for the whole command")
            ->capture_default_str();
        c->add_option("--listen", a.listen, "The CLI node's own URL (default: like NODE_URL)");
        c->callback([&a, name] { a.action = name; });
        return c;
    };
    auto* reg = action("register", "Register NAME for PID");
    reg->add_option("NAME", a.name, "A letter, then letters, digits, . _ - /")->required();
    reg->add_option("PID", a.pid, "The owner, e.g. 7f3a9c21.2")->required();
    reg->add_option("--lease", a.lease,
                    "How long the name lives unless registered again (renewed by the daemon "
                    "while PID is one of its live processes)")
        ->capture_default_str();
    action("lookup", "The owner of NAME")->add_option("NAME", a.name)->required();
    auto* rm = action("unregister", "Unregister NAME (its owner must live on that heraldd)");
    rm->alias("rm");
    rm->add_option("NAME", a.name)->required();
    auto* ls = action("list", "Names starting with PREFIX (all without)");
    ls->alias("ls");
    ls->add_option("PREFIX", a.name);
}

void add_spawn(CLI::App& app, SpawnArgs& a) {
    CLI::App* c = subcommand(app, "spawn", "Start an echo worker on a heraldd (one that migrates)");
    daemon_options(c, a.url, a.timeout, a.listen, "The heraldd");
}

void add_migrate(CLI::App& app, MigrateArgs& a) {
    CLI::App* c = subcommand(app, "migrate",
                             "Move an echo worker of a heraldd to another heraldd (same pid, "
                             "queued messages along)");
    daemon_options(c, a.url, a.timeout, a.listen, "The heraldd that hosts PID");
    c->add_option("PID", a.pid, "The worker: a pid, or a name of the name service")->required();
    c->add_option("TO_URL", a.to, "The heraldd to move it to")->required();
}

// herald group send's options: reliability, atomicity, and a request's collection (G24).
void add_group_send(CLI::App* send, GroupArgs& a) {
    send->add_option("--reliability,-r", a.reliability,
                     "0 (no response), k (k members answered) or all")
        ->capture_default_str();
    send->add_option("--send-timeout", a.send_timeout,
                     "How long the multicast waits for its responses")
        ->capture_default_str();
    auto* atomic = send->add_flag("--atomic", a.atomic,
                                  "Atomic: every member of the view that survives it gets it, or "
                                  "none does (the daemon's member sends; docs/groups.md G23)");
    auto* ft = send->add_flag("--ft-atomic", a.ft_atomic,
                              "Fault-tolerant atomic: as --atomic, and every receiver "
                              "re-multicasts it")
                   ->excludes(atomic);
    auto* collect = send->add_option("--collect", a.collect,
                                     "A request: wait for the answers of first, k or all members "
                                     "and print them (docs/groups.md G24)");
    collect->excludes(atomic)->excludes(ft);
    send->add_option("--from", a.from, "With --collect: only answers of this member pid (repeat)")
        ->needs(collect);
}

void add_group(CLI::App& app, GroupArgs& a) {
    CLI::App* m =
        subcommand(app, "group",
                   "Groups, through a heraldd: create, rm, join, leave, send, recv, view, "
                   "members, views, ls");
    m->require_subcommand(1, 1);
    auto action = [&](const char* name, const char* help) {
        CLI::App* c = m->add_subcommand(name, help);
        c->fallthrough();
        c->add_option("NODE_URL", a.url, "The heraldd to ask (it reaches the group server)")
            ->required();
        c->add_option("--timeout,-t", a.timeout,
                      "Time allowed for the whole command (default 10s; recv: forever)");
        c->add_option("--listen", a.listen, "The CLI node's own URL (default: like NODE_URL)");
        c->callback([&a, name] { a.action = name; });
        return c;
    };
    auto* create = action("create", "Create group NAME (no members)");
    create->add_option("NAME", a.name, "1-64 bytes, no control characters")->required();
    create->add_flag("--closed", a.closed, "Only members may multicast to it");
    create
        ->add_option("--order", a.order,
                     "Delivery order of ordered multicasts: fifo, absolute, sequencer, abcast "
                     "or cbcast (docs/ordering.md)")
        ->capture_default_str();
    create
        ->add_option("--address", a.address,
                     "How multicasts reach member nodes: hosts (one datagram per node), "
                     "multicast (an IP multicast group the server picks), "
                     "multicast:239.1.2.3:7500, or broadcast (docs/groups.md G22)")
        ->capture_default_str();
    action("join", "The heraldd joins NAME with a member process it keeps")
        ->add_option("NAME", a.name)
        ->required();
    action("leave", "That member process leaves NAME")->add_option("NAME", a.name)->required();
    auto* send = action("send", "Multicast BODY to NAME's members");
    send->add_option("NAME", a.name)->required();
    send->add_option("BODY", a.body, "The body as text")->required();
    add_group_send(send, a);
    action("view", "The current view of NAME: id, open/closed, order, members")
        ->add_option("NAME", a.name)
        ->required();
    action("ls", "The groups and their orders (the heraldd must host the group server)");
    action("rm", "Delete group NAME (its members are told; the name may be created again)")
        ->add_option("NAME", a.name)
        ->required();
    action("members", "The members of NAME's current view: pid and node, one a line")
        ->add_option("NAME", a.name)
        ->required();
    action("views", "The views of NAME the heraldd's member received (else the current one)")
        ->add_option("NAME", a.name)
        ->required();
    auto* recv = action("recv", "Print the multicasts the heraldd's member of NAME receives");
    recv->add_option("NAME", a.name)->required();
    recv->add_option("--count,-n", a.count, "Exit 0 after N messages (0: no limit)")
        ->capture_default_str();
    recv->add_option("--reply", a.answer, "Answer every request multicast received with TEXT");
}

void add_sim(CLI::App& app, std::vector<std::string>& args) {
    CLI::App* c = app.add_subcommand("sim",
                                     "Run the simulator: herald sim ARGS runs "
                                     "herald-sim ARGS (see herald-sim --help)");
    c->prefix_command();  // Everything after `sim` goes to herald-sim untouched,
    c->set_help_flag();   // --help included.
    c->add_option("ARGS", args, "Arguments for herald-sim");
}

void add_keygen(CLI::App& app, std::string& path) {
    CLI::App* c = subcommand(app, "keygen", "Write a new cluster key file (docs/security.md)");
    c->add_option("PATH", path, "The file to create (mode 600; never overwritten)")->required();
}

int dispatch(const CLI::App& app, const Args& args) {
    const CLI::App* chosen = app.get_subcommands().front();
    const std::string name = chosen->get_name();
    const Output out(name, args.json || args.output == "json");
    if (name == "ping") return run_ping(out, args.ping);
    if (name == "send") {
        SendArgs send = args.send;  // An empty --body "" is a body too: count, not emptiness.
        send.has_body = chosen->count("--body") > 0;
        send.has_body_file = chosen->count("--body-file") > 0;
        send.has_json = chosen->count("--json") > 0;
        return run_send(out, send);
    }
    if (name == "recv") return run_recv(out, args.recv);
    if (name == "status") return run_status(out, args.status);
    if (name == "call") return run_call(out, args.call);
    if (name == "mailbox") return run_mailbox(out, args.mailbox);
    if (name == "board") return run_board(out, args.board);
    if (name == "name") return run_name(out, args.name);
    if (name == "spawn") return run_spawn(out, args.spawn);
    if (name == "migrate") return run_migrate(out, args.migrate);
    if (name == "group") return run_group(out, args.group);
    if (name == "keygen") return run_keygen(out, args.keygen);
    std::vector<std::string> rest = args.sim;
    for (const auto& extra : chosen->remaining()) rest.push_back(extra);
    return run_sim(out, rest);
}

int run(int argc, char** argv) {
    CLI::App app{"herald: ping, send to and receive from Herald nodes", "herald"};
    Args args;
    app.require_subcommand(1, 1);
    app.add_flag("--json", args.json, "One JSON object per line on stdout");
    app.add_option("--output,-o", args.output, "text or json")
        ->check(CLI::IsMember({"text", "json"}));
    app.set_version_flag("--version", std::string("herald ") + HERALD_VERSION);
    app.footer(footer);
    add_ping(app, args.ping);
    add_send(app, args.send);
    add_recv(app, args.recv);
    add_status(app, args.status);
    add_call(app, args.call);
    add_mailbox(app, args.mailbox);
    add_board(app, args.board);
    add_name(app, args.name);
    add_spawn(app, args.spawn);
    add_migrate(app, args.migrate);
    add_group(app, args.group);
    add_keygen(app, args.keygen);
    add_sim(app, args.sim);
    app.add_option("--key-file", args.key_file,
                   "Cluster key file of the nodes it talks to (else $HERALD_KEY_FILE)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "herald: %s (see herald --help)\n", e.what());
        return exit_usage;
    }
    set_key_file(args.key_file);
    return dispatch(app, args);
}

}  // namespace
}  // namespace herald::cli

int main(int argc, char** argv) {
    try {
        return herald::cli::run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "herald: internal error: %s\n", e.what());
        return herald::cli::exit_internal;
    }
}

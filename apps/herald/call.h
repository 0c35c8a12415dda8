// `herald call TARGET OPERATION`: one or more RPC calls (herald/rpc.h) to a process that serves
// OPERATION, e.g. heraldd's exactly-once `counter` (`add`, `get`) or the `echo` service.
// Layer: apps. docs/cli.md describes the options, the output and the exit codes.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "cli.h"

namespace herald::cli {

struct CallArgs {
    std::string target, operation;
    std::string body, json_value;
    bool has_body = false, has_json = false;  // Which body was given ("" is a body too).
    std::string protocol = "rra", semantics = "exactly-once";
    std::string timeout = "5s";       // Per call.
    std::string retransmit = "50ms";  // First resend wait (doubling up to 1 s).
    std::uint32_t retries = 8;        // Unanswered transmissions before request/response_lost.
    std::uint32_t count = 1;
    std::string listen;
};

// Runs the calls; prints one line per reply (and a summary when count > 1). Exit code:
// exit_ok when every call succeeded, else that of the last failure (cli.h).
int run_call(const Output& out, const CallArgs& args);

// Declares the subcommand on `app` (main.cpp): its arguments land in `a`.
inline void add_call(CLI::App& app, CallArgs& a) {
    CLI::App* c =
        app.add_subcommand("call",
                           "Call an RPC operation of a process (RR, RRA or RARA; exactly-once or "
                           "at-least-once), e.g. udp://127.0.0.1:7400/counter add");
    c->fallthrough();  // --json / --output may follow the subcommand too.
    c->add_option("TARGET", a.target, "PID@URL or URL/NAME")->required();
    c->add_option("OPERATION", a.operation, "The operation, e.g. add, get, echo")->required();
    auto* body = c->add_option_function<std::string>(
        "--body,-b",
        [&a](const std::string& value) {
            a.body = value;
            a.has_body = true;
        },
        "The request body as text (default: empty)");
    auto* json = c->add_option_function<std::string>(
        "--json",
        [&a](const std::string& value) {
            a.json_value = value;
            a.has_json = true;
        },
        "A JSON value, sent as a typed (MessagePack) body");
    body->excludes(json);
    c->add_option("--protocol,-p", a.protocol, "rr, rra or rara")->capture_default_str();
    c->add_option("--semantics,-s", a.semantics, "exactly-once or at-least-once")
        ->capture_default_str();
    c->add_option("--timeout,-t", a.timeout, "Time allowed for each call")->capture_default_str();
    c->add_option("--retransmit", a.retransmit, "First wait before the request is resent")
        ->capture_default_str();
    c->add_option("--retries", a.retries, "Unanswered transmissions before giving up")
        ->check(CLI::Range(1u, 1000u))
        ->capture_default_str();
    c->add_option("--count,-n", a.count, "Calls to make, one after the other")
        ->check(CLI::Range(1u, 1000000u))
        ->capture_default_str();
    c->add_option("--listen", a.listen, "The CLI node's own URL (default: like the target's)");
}

}  // namespace herald::cli

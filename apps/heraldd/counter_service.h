// heraldd's built-in RPC services. `counter` (well-known local id 3): operation `add` adds one
// and answers the new value, `get` answers the value; both as decimal text. `add` is not
// idempotent and is served exactly-once with the node's durable reply cache; its new value and
// its reply are ONE store write, so a daemon killed with -9 and restarted never counts a call
// twice (docs/rpc.md, "What is guaranteed"). Also the RPC operation `echo` on the echo service.
// Layer: apps.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

#include "admin_protocol.h"
#include "herald/node.h"
#include "herald/process.h"
#include "services.h"

namespace herald::daemon {

class CounterService {
public:
    // Key of the value in the node's durable state (decimal text).
    static constexpr const char* value_key = "counter/value";

    // Reads the value from the node's store, spawns the `counter` process and serves its
    // operations. Errors of Node::read_state, Node::spawn and Process::serve; Errc::malformed
    // when the stored value is not a decimal number.
    [[nodiscard]] static Result<std::unique_ptr<CounterService>> start(Node& node);
    ~CounterService();  // stop().
    CounterService(const CounterService&) = delete;
    CounterService& operator=(const CounterService&) = delete;

    // Ends the process; waits for a running handler to return. Idempotent.
    void stop();

    [[nodiscard]] Pid pid() const { return pid_; }
    [[nodiscard]] admin::ProcessInfo info() const;

private:
    CounterService(Node& node, std::uint64_t value) : node_(node), value_(value) {}
    Status serve();

    Node& node_;
    std::optional<Process> process_;
    Pid pid_;
    std::uint64_t value_;  // Only `add` touches it, one run at a time (concurrency 1).
    std::atomic<std::uint64_t> handled_{0};
};

// Makes the echo service's process also answer the RPC operation `echo` with the request body
// (idempotent). Errors of Process::serve.
[[nodiscard]] Status serve_echo_operation(Service& echo);

}  // namespace herald::daemon

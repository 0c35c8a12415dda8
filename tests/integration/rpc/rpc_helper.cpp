// rpc_helper: runs one Herald node in its own OS process for the multi-process RPC tests
// (rpc_crash_test): a durable exactly-once counter that the test kills with SIGKILL and
// restarts on the same URL and data folder. Prints "READY <url> <pid>" once it serves.
//   rpc_helper counter <listen-url> <data-dir>
// Well-known pid 3, operations `add` (non-idempotent: adds one, answers the new value as
// decimal text; the value and the reply are one store write) and `get` (the value on disk).
// Exit status: 2 = start-up failed, 3 = bad arguments; otherwise it runs until killed.
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <string>

#include "core/result.h"  // HERALD_TRY
#include "herald/herald.h"

namespace {

using herald::Bytes;
using herald::Request;
using herald::Result;

constexpr const char* value_key = "counter/value";

void say(const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

[[noreturn]] void die(const std::string& what, const herald::Error& error) {
    say("BAD " + what + " " + error.to_string());
    std::exit(2);
}

Bytes decimal(std::uint64_t value) {
    const std::string text = std::to_string(value);
    return Bytes(text.begin(), text.end());
}

std::uint64_t parse(const Bytes& bytes) {
    std::uint64_t value = 0;
    const auto* first = reinterpret_cast<const char*>(bytes.data());
    std::from_chars(first, first + bytes.size(), value);
    return value;
}

int counter(const std::string& url, const std::string& data_dir) {
    herald::NodeOptions options;
    options.listen = url;
    options.data_dir = data_dir;
    options.rpc.durable = true;
    options.rpc.sync = herald::DurableSync::normal;  // The test kills the process, not the host.
    auto node = herald::Node::start(options);
    if (!node) die("start", node.error());
    auto state = (*node)->read_state(value_key);
    if (!state) die("read_state", state.error());
    std::uint64_t value = state->empty() ? 0 : parse(state->front().value);
    const std::uint64_t restored = value;  // Handlers own `value` once they serve.
    herald::ProcessOptions process_options;
    process_options.local_id = 3;
    process_options.name = "counter";
    auto self = (*node)->spawn(process_options);
    if (!self) die("spawn", self.error());
    herald::ServeOptions serial;
    serial.concurrency = 1;  // One add at a time: each sees the previous one's value.
    auto add = self->serve_with_state(
        "add",
        [&value](const Request&, herald::StateWrites& writes) -> Result<Bytes> {
            ++value;
            writes.put(value_key, decimal(value));
            return decimal(value);
        },
        serial);
    if (!add) die("serve", add.error());
    herald::Node& n = **node;
    herald::ServeOptions idempotent;
    idempotent.idempotent = true;
    auto get = self->serve(
        "get",
        [&n](const Request&) -> Result<Bytes> {
            HERALD_TRY(auto records, n.read_state(value_key));
            return records.empty() ? decimal(0) : records.front().value;
        },
        idempotent);
    if (!get) die("serve", get.error());
    say("READY " + n.listen_url() + " " + herald::to_string(self->pid()) + " " +
        std::to_string(restored));
    for (;;) ::pause();  // Until SIGKILL (or SIGTERM).
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 4 && std::string(argv[1]) == "counter") return counter(argv[2], argv[3]);
    std::fprintf(stderr, "usage: rpc_helper counter URL DATA_DIR\n");
    return 3;
}

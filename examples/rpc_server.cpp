// rpc_server: a Herald RPC server with a durable exactly-once counter and an idempotent text
// service. Its state lives in DATA_DIR, so a server killed (even with kill -9) and restarted
// on the same URL with the same folder continues where it was and never counts a call twice.
//   rpc_server DATA_DIR [URL]     default URL udp://127.0.0.1:7500; prints its address
// Operations of the process it prints (local id 1, name "demo"):
//   add    adds one, answers the new value (decimal text)   not idempotent: exactly-once
//   get    answers the value                                 idempotent
//   upper  answers the request text in capitals              idempotent
// Stops cleanly on SIGINT or SIGTERM. Try it with rpc_client, or `herald call ADDRESS add`.
#include <signal.h>

#include <cctype>
#include <charconv>
#include <cstdio>
#include <string>

#include "herald/herald.h"

namespace {

int fail(const char* what, const herald::Error& error) {
    std::fprintf(stderr, "rpc_server: %s: %s\n", what, error.to_string().c_str());
    return 1;
}

std::uint64_t parse(const herald::Bytes& text) {
    std::uint64_t value = 0;
    const auto* first = reinterpret_cast<const char*>(text.data());
    std::from_chars(first, first + text.size(), value);
    return value;
}

herald::Result<herald::Bytes> upper(const herald::Request& request) {
    std::string text(request.text());
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return herald::to_bytes(text);
}

// Serves the three operations; `value` must outlive `self`.
herald::Status serve(herald::Node& node, herald::Process& self, std::uint64_t& value) {
    herald::ServeOptions serial;
    serial.concurrency = 1;  // One add at a time: each sees the previous one's value.
    auto added = self.serve_with_state(
        "add",
        [&value](const herald::Request&,
                 herald::StateWrites& state) -> herald::Result<herald::Bytes> {
            ++value;
            // Written in the same transaction as the reply that carries the new value.
            state.put("demo/value", std::to_string(value));
            return herald::to_bytes(std::to_string(value));
        },
        serial);
    if (!added) return added;
    herald::ServeOptions idempotent;
    idempotent.idempotent = true;  // Running it twice is harmless: no reply cache needed.
    auto got = self.serve(
        "get",
        [&node](const herald::Request&) -> herald::Result<herald::Bytes> {
            // The value on disk: it includes every add whose reply has been sent.
            auto records = node.read_state("demo/value");
            if (!records) return herald::fail(records.error());
            return records->empty() ? herald::to_bytes("0") : records->front().value;
        },
        idempotent);
    if (!got) return got;
    return self.serve("upper", upper, idempotent);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3) {
        std::fprintf(stderr, "usage: rpc_server DATA_DIR [URL]\n");
        return 2;
    }
    // Block the stop signals before any thread starts; main takes them with sigwait below.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);

    herald::NodeOptions options;
    options.listen = argc == 3 ? argv[2] : "udp://127.0.0.1:7500";
    options.data_dir = argv[1];
    options.rpc.durable = true;  // The exactly-once reply cache survives crashes too.
    auto node = herald::Node::start(options);
    if (!node) return fail("start", node.error());
    auto state = (*node)->read_state("demo/value");
    if (!state) return fail("read_state", state.error());
    std::uint64_t value = state->empty() ? 0 : parse(state->front().value);
    const std::uint64_t restored = value;  // Once serving, only the add handler touches value.

    herald::ProcessOptions process_options;
    process_options.local_id = 1;  // Well-known: the same pid after every restart.
    process_options.name = "demo";
    auto self = (*node)->spawn(process_options);
    if (!self) return fail("spawn", self.error());
    if (auto served = serve(**node, *self, value); !served) return fail("serve", served.error());
    std::printf("rpc_server at %s@%s (counter at %llu)\n", to_string(self->pid()).c_str(),
                (*node)->listen_url().c_str(), static_cast<unsigned long long>(restored));
    std::fflush(stdout);

    int signal_number = 0;
    sigwait(&stop, &signal_number);
    (*node)->stop();  // Lets running calls finish (drain_timeout), then closes.
    std::printf("rpc_server: stopped\n");
    return 0;
}

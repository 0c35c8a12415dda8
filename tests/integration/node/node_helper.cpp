// node_helper: a small program that runs one Herald node in its own OS process and plays one
// role, for the multi-process integration tests (node_process_test). Prints one status line
// per milestone on stdout ("READY <url> <pid>", "DONE ...", "BAD ...").
//   node_helper echo <listen-url>            well-known pid 1 ("echo") sends every message back
//   node_helper sink <listen-url> <count>    well-known pid 1 expects "0".."count-1" in order,
//                                            then stays up (acking, watching for duplicates)
//                                            until SIGTERM
//   node_helper source <listen-url> <pid@url> <count>   sends "0".."count-1" to pid, pipelined
//   node_helper etcd-name <endpoint,...> <lease-s> <name>   names on etcd (etcd_naming_test): a
//                                            process registers <name> (held on the node's lease
//                                            of <lease-s> s), "READY <pid>", then waits to be
//                                            killed
//   node_helper etcd-group <endpoint,...> <lease-s> <group>   groups on etcd (etcd_groups_test):
//                                            a process joins <group>, "READY <pid>", then waits
//                                            to be killed
//   node_helper ordered-member <listen-url> <server-url> <group> <members> <count> <peers>
//                                            an ordered group's member on a node of its own
//                                            (node_process_test, docs/ordering.md O39): joins
//                                            <group> (made by the test), connects to <peers>
//                                            (comma-separated urls), prints "READY <url> <pid>"
//                                            once its ordering view holds <members>; at its
//                                            first delivered message it multicasts "b-0".."b-9";
//                                            after <count> ordered messages it prints "ORDER
//                                            <count> <texts joined by spaces>" and "VIEWS <views
//                                            its node installed>", then serves until SIGTERM
// Fault injection comes from $HERALD_FAULTS; $HERALD_PEER_TIMEOUT_MS, when set, replaces the
// default peer_timeout (a lossy link is not a dead peer: docs/direct.md rule 16). Exit status 0 =
// role done, 1 = wrong data, 2 = an operation failed, 3 = bad arguments.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>

#include "herald/herald.h"

namespace {

using namespace std::chrono_literals;
using herald::Errc;

volatile std::sig_atomic_t terminated = 0;

void on_terminate(int) {
    terminated = 1;
}

int usage() {
    std::fprintf(stderr,
                 "usage: node_helper echo URL | sink URL COUNT | source URL PID@URL COUNT | "
                 "etcd-name ENDPOINTS LEASE_S NAME | etcd-group ENDPOINTS LEASE_S GROUP | "
                 "ordered-member URL SERVER_URL GROUP MEMBERS COUNT PEERS\n");
    return 3;
}

void say(const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

std::unique_ptr<herald::Node> start(const std::string& url) {
    herald::NodeOptions options;
    options.listen = url;
    if (const char* ms = std::getenv("HERALD_PEER_TIMEOUT_MS"); ms != nullptr) {
        const long long value = std::strtoll(ms, nullptr, 10);
        if (value <= 0) {
            say("BAD HERALD_PEER_TIMEOUT_MS '" + std::string(ms) + "': want milliseconds > 0");
            std::exit(3);
        }
        options.peer_timeout = std::chrono::milliseconds(value);
    }
    auto node = herald::Node::start(options);
    if (!node) {
        say("BAD start " + node.error().to_string());
        std::exit(2);
    }
    return std::move(*node);
}

herald::Process service(herald::Node& node, const std::string& name) {
    herald::ProcessOptions options;
    options.local_id = 1;
    options.name = name;
    auto process = node.spawn(options);
    if (!process) {
        say("BAD spawn " + process.error().to_string());
        std::exit(2);
    }
    say("READY " + node.listen_url() + " " + herald::to_string(process->pid()));
    return std::move(*process);
}

int echo(const std::string& url) {
    auto node = start(url);
    auto self = service(*node, "echo");
    for (;;) {
        auto message = self.receive(herald::forever);
        if (!message) return 2;
        herald::SendOptions options;
        options.timeout = 2s;
        // A failed echo (the client went away) is the client's problem: keep serving.
        static_cast<void>(self.send(message->source, std::move(message->body), options));
    }
}

int sink(const std::string& url, std::uint64_t count) {
    std::signal(SIGTERM, on_terminate);
    auto node = start(url);
    auto self = service(*node, "sink");
    herald::Pid source;
    for (std::uint64_t i = 0; i < count; ++i) {
        auto message = self.receive(60s);
        if (!message) {
            say("BAD receive " + std::to_string(i) + " " + message.error().to_string());
            return 2;
        }
        if (i == 0) source = message->source;
        if (message->source != source || message->text() != std::to_string(i) ||
            message->seq != i + 1) {
            say("BAD message " + std::to_string(i) + " got '" + std::string(message->text()) +
                "' seq " + std::to_string(message->seq));
            return 1;
        }
    }
    say("RECEIVED " + std::to_string(count));
    // The last ack may be lost: the node stays up so the source's retransmission is answered.
    // Anything that arrives meanwhile is a duplicate.
    while (terminated == 0) {
        auto extra = self.receive(50ms);
        if (extra) {
            say("BAD extra '" + std::string(extra->text()) + "'");
            return 1;
        }
    }
    say("DONE " + std::to_string(count));
    return 0;
}

int source(const std::string& url, const std::string& address, std::uint64_t count) {
    auto node = start(url);
    auto target = node->resolve(address, 10s);
    if (!target) {
        say("BAD resolve " + target.error().to_string());
        return 2;
    }
    auto self = node->spawn();
    if (!self) return 2;
    herald::SendOptions options;
    options.mode = herald::SendMode::nonblocking;  // Pipelined: flow control blocks when full.
    options.timeout = 60s;
    for (std::uint64_t i = 0; i < count; ++i) {
        if (i + 1 == count) options.mode = herald::SendMode::delivered;  // FIFO: all are in.
        auto sent = self->send(*target, std::to_string(i), options);
        if (!sent) {
            say("BAD send " + std::to_string(i) + " " + sent.error().to_string());
            return 2;
        }
    }
    const auto stats = node->stats();
    say("SENT " + std::to_string(count) + " retransmits " + std::to_string(stats.retransmits) +
        " faults_dropped " + std::to_string(stats.faults_dropped));
    return 0;
}

// An ordered group's member (see the usage at the top): the group's own messages come from
// the test's nodes, and ordered_member adds its ten once the traffic reached it.
int ordered_member(const std::string& url, const std::string& server_url, const std::string& group,
                   std::size_t members, std::uint64_t count, const std::string& peers) {
    std::signal(SIGTERM, on_terminate);
    herald::NodeOptions options;
    options.listen = url;
    options.groups.server_url = server_url;
    options.groups.heartbeat_interval = 100ms;
    auto node = herald::Node::start(options);
    if (!node) {
        say("BAD start " + node.error().to_string());
        return 2;
    }
    std::stringstream list(peers);
    for (std::string peer; std::getline(list, peer, ',');) {
        if (auto connected = (*node)->connect(peer); !connected) {
            say("BAD connect " + peer + " " + connected.error().to_string());
            return 2;
        }
    }
    auto self = (*node)->spawn();
    if (!self) return 2;
    if (auto joined = self->join_group(group); !joined) {
        say("BAD join " + joined.error().to_string());
        return 2;
    }
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    for (;;) {
        auto view = self->ordered_view(group);
        if (view && view->members.size() == members) break;
        if (std::chrono::steady_clock::now() > deadline) {
            say("BAD no ordering view of " + std::to_string(members) + " members");
            return 2;
        }
        std::this_thread::sleep_for(10ms);
    }
    say("READY " + (*node)->listen_url() + " " + herald::to_string(self->pid()));
    std::string order;
    for (std::uint64_t got = 0; got < count;) {
        auto envelope = self->receive(60s);
        if (!envelope) {
            say("BAD receive after " + std::to_string(got) + ": " + envelope.error().to_string());
            return 2;
        }
        if (!envelope->ordered) continue;
        auto m = herald::decode_group_message(*envelope);
        if (!m || m->kind != herald::GroupMessage::Kind::data) continue;
        order += (got == 0 ? "" : " ") + std::string(m->text());
        if (++got == 1) {
            for (int k = 0; k < 10; ++k) {
                const std::string text = "b-" + std::to_string(k);
                if (auto sent = self->ordered_multicast(group, text, 30s); !sent) {
                    say("BAD multicast " + text + ": " + sent.error().to_string());
                    return 2;
                }
            }
        }
    }
    say("ORDER " + std::to_string(count) + " " + order);
    say("VIEWS " + std::to_string((*node)->stats().group_views_installed));
    // The others may still need this node's acknowledgements and retransmissions.
    while (terminated == 0) std::this_thread::sleep_for(20ms);
    return 0;
}

// A node whose names and groups are on etcd, and one process of it: "etcd-name" registers
// `name`, "etcd-group" joins group `name`; then "READY <pid>" and it waits to be killed.
int etcd_role(bool group, const std::string& endpoints, long long lease_s,
              const std::string& name) {
    herald::NodeOptions options;
    options.faults_from_env = false;
    options.coordination.backend = herald::Coordination::etcd;
    for (std::size_t at = 0; at <= endpoints.size();) {
        const auto comma = std::min(endpoints.find(',', at), endpoints.size());
        options.coordination.etcd_endpoints.push_back(endpoints.substr(at, comma - at));
        at = comma + 1;
    }
    options.coordination.etcd_lease_ttl = std::chrono::seconds(lease_s);
    auto node = herald::Node::start(options);
    if (!node) {
        say("BAD start " + node.error().to_string());
        return 2;
    }
    auto self = (*node)->spawn();
    if (!self) return 2;
    // A loaded machine (the sanitizer tiers) may make etcd's first commit slower than the
    // call's timeout: retry while it is unreachable, for up to 15 s.
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    auto attempt = [&]() -> herald::Status {
        if (!group) return self->register_name(name);
        auto joined = self->join_group(name);
        if (!joined) return herald::fail(joined.error());
        return {};
    };
    for (auto r = attempt(); !r; r = attempt()) {
        if (r.error().code != Errc::unreachable || std::chrono::steady_clock::now() > deadline) {
            say(std::string("BAD ") + (group ? "join " : "register ") + r.error().to_string());
            return 2;
        }
    }
    say("READY " + herald::to_string(self->pid()));
    for (;;) static_cast<void>(self->receive(herald::forever));  // Until kill -9.
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) return usage();
    const std::string_view role = argv[1];
    if (role == "echo" && argc == 3) return echo(argv[2]);
    if (role == "sink" && argc == 4) return sink(argv[2], std::strtoull(argv[3], nullptr, 10));
    if ((role == "etcd-name" || role == "etcd-group") && argc == 5) {
        return etcd_role(role == "etcd-group", argv[2], std::strtoll(argv[3], nullptr, 10),
                         argv[4]);
    }
    if (role == "ordered-member" && argc == 8) {
        return ordered_member(argv[2], argv[3], argv[4], std::strtoull(argv[5], nullptr, 10),
                              std::strtoull(argv[6], nullptr, 10), argv[7]);
    }
    if (role == "source" && argc == 5) {
        return source(argv[2], argv[3], std::strtoull(argv[4], nullptr, 10));
    }
    return usage();
}

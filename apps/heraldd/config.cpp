// heraldd configuration parsing and validation. Layer: apps (toml++ throws; caught here).
#include "config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <limits>
#include <sstream>
#include <type_traits>

#include "core/ids.h"
#include "runtime/coord/etcd_options.h"
#include "runtime/transport.h"
#include "runtime/udp_transport.h"
#include "wire/auth.h"

namespace herald::daemon {
namespace {

constexpr std::string_view default_text =
    R"(# heraldd configuration. Every key is optional: these are the embedded defaults.
# docs/config.md describes each key; command-line options override the file.

[node]
# Address this node listens on: udp://HOST:PORT, udp://[IPv6]:PORT, tcp://HOST:PORT or
# unix:/ABSOLUTE/PATH. HOST is an IP literal or localhost. Port 0 lets the OS choose.
listen = "udp://127.0.0.1:7400"
# Node identity, 1-16 hex digits, not zero. Empty: derived from `listen`, so a node restarted
# on the same address keeps its id (and the pids of its services stay valid).
id = ""
# Folder for this node's durable state, created if missing; one heraldd at a time may use it.
data_dir = "herald-data"
# Cluster key file (`herald keygen PATH` writes one; mode 600): every packet is then
# authenticated and packets without a valid tag are dropped. Empty: unauthenticated.
key_file = ""
# With key_file: also encrypt everything but the fixed header of every packet this node sends
# (docs/security.md, "Encryption"). Nodes with the key read encrypted packets either way.
encrypt = false
# Fault injection on outgoing datagrams, for experiments:
# "loss=0.2,dup=0.05,reorder=0.1,delay_us=500,seed=7". Empty: no faults.
faults = ""
# Largest datagram this node sends, in bytes (548 to 16842752; the transport lowers it to what
# it carries: udp4 65507). Larger messages go as fragments, small ones are packed up to it.
# 0: for udp the MTU of the listen address's interface minus the IP and UDP headers (no IP
# fragments); on loopback or a wildcard address the UDP limit. Set it (e.g. 1400) where the
# path MTU is below the interface's.
datagram_bytes_max = 0
# How long, in microseconds (0 to 100000), the node's loop thread polls for work instead of
# sleeping after it hands a write to the store in data_dir and after each commit (and one
# blocking mailbox send or ack at a time polls for its answer), so that a persistent send's
# commit and the sender's next send need no thread wake-up. It costs up to this much CPU per
# commit, yielded to any other thread that is ready. 0: never polls.
durable_poll_us = 200

[log]
# Least severe level written to stderr: trace, debug, info, warn, error, off.
level = "info"
# text (one line per event: time, level, event, key=value fields) or json (one object a line).
format = "text"

[limits]
# Inbox slots of each built-in service process (1 to 1048576): senders wait when it is full.
queue_limit = 1024
# Largest message body in bytes (65536 to 16777216); larger sends fail with too_large.
message_bytes_max = 16777216

[services]
# The built-in `echo` service: returns each message's body to its sender.
echo = true
# On SIGINT/SIGTERM, how long in-flight replies may take to be acknowledged before the node
# closes anyway (0 to 60000 ms).
shutdown_drain_ms = 2000
# Who may use the admin service (herald status, mailbox, name and group commands):
# "local" (callers on this host), "key_holders" (any node with the cluster key; needs
# node.key_file) or "anyone". Others are answered access_denied.
admin_access = "local"

[naming]
# Host the name server (docs/naming.md): names registered by any node's processes, kept in
# data_dir so they survive a restart. false: this node uses the server at server_url.
server = true
# With server = false: the URL of the node hosting the name server (empty: no name service;
# naming requests fail unreachable). Must be empty while server = true.
server_url = ""
# With server = true: a node holding names that has not answered for dead_after_ms is declared
# dead and its names go (100 to 3600000).
dead_after_ms = 5000
# How long a looked-up name is cached on this node (0 to 3600000; 0: not cached). On etcd a
# change made elsewhere also drops it as soon as the watch reports it.
cache_ttl_ms = 1000

[groups]
# Host the group server (docs/groups.md): groups, members and numbered views, kept in data_dir
# so they survive a restart. false: this node uses the server at server_url.
server = true
# With server = false: the URL of the node hosting the group server (empty: no groups; group
# requests fail unreachable). Must be empty while server = true.
server_url = ""
# Failure detector: a node hosting members sends a heartbeat every heartbeat_ms (10 to 60000);
# the server removes the members of a node silent for suspicion_ms (at least twice
# heartbeat_ms, at most 600000). Loopback: 100 / 1000; LAN: 500 / 3000; cloud: 1000 / 10000.
heartbeat_ms = 500
suspicion_ms = 3000
# The broadcast endpoint for groups created with a broadcast address (docs/groups.md G22):
# udp://IPv4:PORT, the link's broadcast address (udp://10.0.0.255:7600) or
# udp://255.255.255.255:7600; the same on every node of the link. Empty: no broadcast groups.
broadcast = ""
# Flow control (docs/groups.md G25, docs/ordering.md O37): a member's credit, 1 to 1048576. Once
# its process leaves this many group messages (and, apart, this many ordered ones) untaken, this
# node stops delivering them to it until it takes some, and their senders are pushed back.
member_queue_max = 1024

[coordination]
# Where names and groups live (docs/coordination.md): "embedded" (the name server of [naming],
# the group server of [groups]) or "etcd" (an etcd 3.4+ cluster; the servers and the group
# failure detector are then unused, and names and views survive the loss of any node).
backend = "embedded"
# With backend = "etcd": the members' client URLs, http://HOST:PORT or https://HOST:PORT,
# tried in turn, e.g. ["http://10.0.0.1:2379", "http://10.0.0.2:2379", "http://10.0.0.3:2379"].
etcd_endpoints = []
# The longest one naming call waits for etcd, over all endpoints (100 to 60000 ms); then it
# fails unreachable. Names already looked up keep answering from the cache meanwhile.
etcd_timeout_ms = 2000
# This node's etcd leases (2 to 3600 s), renewed every third of it: the names and the group
# members of a node that dies go at most this long after its last renewal.
etcd_lease_ttl_s = 10
# Key prefix of everything Herald keeps in etcd (names under PREFIX/names/, groups under
# PREFIX/groups/).
etcd_prefix = "/herald/"
# TLS for https:// endpoints: PEM files (empty: the system's CAs, no client certificate).
etcd_ca_file = ""
etcd_cert_file = ""
etcd_key_file = ""

[order]
# Ordered multicast (docs/ordering.md, "Options"); every node of a group should use the same
# values. Unacknowledged entries are sent again after retransmit_ms (1 to 60000); the engine's
# timer runs every tick_ms (1 to retransmit_ms) while it has work.
retransmit_ms = 100
tick_ms = 50
# Absolute order: the bound on clock skew between members (0 to 60000 ms; timestamps beyond
# it are counted as skew violations) and the least spacing of one member's null entries
# (0 to tick_ms x 1000 us).
skew_bound_ms = 10
null_interval_us = 1000
# Bounds: ordered groups on this node (1 to 65536); members of one view (1 to 1024); own
# entries not acknowledged by every member before a multicast gets would_block (1 to
# retained_max); own entries not yet delivered everywhere (1 to 1048576); entries taken
# beyond a stream's received prefix (1 to 1048576).
groups_max = 256
members_max = 64
send_window_max = 64
retained_max = 4096
receive_window_max = 1024
)";

// "\"text\"" with quotes and backslashes escaped, so a value with spaces stays readable.
std::string quoted(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

// A TOML node as it would appear in the file, cut short when it is a long table or array.
std::string render(const toml::node& node) {
    // Strings in double quotes, as the file (and the validation messages) write them.
    if (auto text = node.value_exact<std::string>()) return quoted(*text);
    std::ostringstream text;
    node.visit([&](const auto& value) { text << value; });
    std::string out = text.str();
    std::replace(out.begin(), out.end(), '\n', ' ');
    constexpr std::size_t shown_max = 60;
    if (out.size() > shown_max) out = out.substr(0, shown_max) + "...";
    return out;
}

Error config_error(std::string_view origin, std::string_view key, std::string_view value,
                   std::string_view allowed) {
    return Error{Errc::invalid_argument,
                 fmt::format("{}: {} = {}: {}", origin, key, value, allowed)};
}

template <class T>
Status read_value(const toml::node& node, std::string_view key, std::string_view origin,
                  T& target) {
    if constexpr (std::is_same_v<T, bool>) {
        if (auto v = node.value_exact<bool>()) {
            target = *v;
            return {};
        }
        return fail(config_error(origin, key, render(node), "expected true or false"));
    } else if constexpr (std::is_same_v<T, std::string>) {
        if (auto v = node.value_exact<std::string>()) {
            target = *v;
            return {};
        }
        return fail(config_error(origin, key, render(node), "expected a quoted string"));
    } else {
        static_assert(std::is_same_v<T, std::uint32_t>);
        auto v = node.value_exact<std::int64_t>();
        if (!v || *v < 0 || *v > std::int64_t{std::numeric_limits<T>::max()}) {
            return fail(config_error(origin, key, render(node),
                                     "expected a whole number from 0 to 4294967295"));
        }
        target = static_cast<T>(*v);
        return {};
    }
}

Status read_list(const toml::node& node, std::string_view key, std::string_view origin,
                 std::vector<std::string>& target) {
    const toml::array* array = node.as_array();
    std::vector<std::string> values;
    for (std::size_t i = 0; array != nullptr && i < array->size(); ++i) {
        auto v = (*array)[i].value_exact<std::string>();
        if (!v) break;
        values.push_back(*v);
    }
    if (array == nullptr || values.size() != array->size()) {
        return fail(config_error(origin, key, render(node), "expected an array of quoted strings"));
    }
    target = std::move(values);
    return {};
}

struct Field {
    std::string_view name;
    // Exactly one is set: where the value goes.
    std::string* text = nullptr;
    std::uint32_t* number = nullptr;
    bool* flag = nullptr;
    std::vector<std::string>* list = nullptr;  // An array of strings.
};

std::string names_of(std::initializer_list<Field> fields) {
    std::string out;
    for (const Field& f : fields) out += (out.empty() ? "" : ", ") + std::string(f.name);
    return out;
}

// Reads every key of one [section]; a key that is not in `fields` is refused.
Status read_section(const toml::table& table, std::string_view section, std::string_view origin,
                    std::initializer_list<Field> fields) {
    for (const auto& [name, node] : table) {
        // A copy: clang 14 cannot capture a structured binding in a lambda.
        const std::string_view wanted = name.str();
        const std::string key = fmt::format("{}.{}", section, wanted);
        const auto field = std::find_if(fields.begin(), fields.end(),
                                        [wanted](const Field& f) { return f.name == wanted; });
        if (field == fields.end()) {
            return fail(config_error(
                origin, key, render(node),
                fmt::format("unknown key (allowed in [{}]: {})", section, names_of(fields))));
        }
        if (field->text != nullptr) HERALD_TRY(read_value(node, key, origin, *field->text));
        if (field->number != nullptr) HERALD_TRY(read_value(node, key, origin, *field->number));
        if (field->flag != nullptr) HERALD_TRY(read_value(node, key, origin, *field->flag));
        if (field->list != nullptr) HERALD_TRY(read_list(node, key, origin, *field->list));
    }
    return {};
}

Status read_order(const toml::table& table, std::string_view origin, DaemonConfig& c) {
    return read_section(table, "order", origin,
                        {{"retransmit_ms", nullptr, &c.order_retransmit_ms},
                         {"tick_ms", nullptr, &c.order_tick_ms},
                         {"skew_bound_ms", nullptr, &c.order_skew_bound_ms},
                         {"null_interval_us", nullptr, &c.order_null_interval_us},
                         {"groups_max", nullptr, &c.order_groups_max},
                         {"members_max", nullptr, &c.order_members_max},
                         {"send_window_max", nullptr, &c.order_send_window_max},
                         {"retained_max", nullptr, &c.order_retained_max},
                         {"receive_window_max", nullptr, &c.order_receive_window_max}});
}

Status read_sections(const toml::table& root, std::string_view origin, DaemonConfig& c) {
    static constexpr std::array<std::string_view, 8> sections{
        "node", "log", "limits", "services", "naming", "groups", "coordination", "order"};
    for (const auto& [name, node] : root) {
        const std::string_view section = name.str();
        const toml::table* table = node.as_table();
        if (std::find(sections.begin(), sections.end(), section) == sections.end()) {
            return fail(config_error(
                origin, section, render(node),
                "unknown section (allowed: node, log, limits, services, naming, groups, "
                "coordination, order)"));
        }
        if (table == nullptr) {
            return fail(config_error(origin, section, render(node),
                                     fmt::format("expected a [{}] table", section)));
        }
        if (section == "node") {
            HERALD_TRY(read_section(*table, section, origin,
                                    {{"listen", &c.listen},
                                     {"id", &c.node_id},
                                     {"data_dir", &c.data_dir},
                                     {"key_file", &c.key_file},
                                     {"encrypt", nullptr, nullptr, &c.encrypt},
                                     {"faults", &c.faults},
                                     {"datagram_bytes_max", nullptr, &c.datagram_bytes_max},
                                     {"durable_poll_us", nullptr, &c.durable_poll_us}}));
        } else if (section == "log") {
            HERALD_TRY(read_section(*table, section, origin,
                                    {{"level", &c.log_level}, {"format", &c.log_format}}));
        } else if (section == "limits") {
            HERALD_TRY(read_section(*table, section, origin,
                                    {{"queue_limit", nullptr, &c.queue_limit},
                                     {"message_bytes_max", nullptr, &c.message_bytes_max}}));
        } else if (section == "groups") {
            HERALD_TRY(read_section(*table, section, origin,
                                    {{"server", nullptr, nullptr, &c.groups_server},
                                     {"server_url", &c.groups_server_url},
                                     {"heartbeat_ms", nullptr, &c.groups_heartbeat_ms},
                                     {"suspicion_ms", nullptr, &c.groups_suspicion_ms},
                                     {"broadcast", &c.groups_broadcast},
                                     {"member_queue_max", nullptr, &c.groups_member_queue_max}}));
        } else if (section == "coordination") {
            HERALD_TRY(
                read_section(*table, section, origin,
                             {{"backend", &c.coordination},
                              {"etcd_endpoints", nullptr, nullptr, nullptr, &c.etcd_endpoints},
                              {"etcd_timeout_ms", nullptr, &c.etcd_timeout_ms},
                              {"etcd_lease_ttl_s", nullptr, &c.etcd_lease_ttl_s},
                              {"etcd_prefix", &c.etcd_prefix},
                              {"etcd_ca_file", &c.etcd_ca_file},
                              {"etcd_cert_file", &c.etcd_cert_file},
                              {"etcd_key_file", &c.etcd_key_file}}));
        } else if (section == "order") {
            HERALD_TRY(read_order(*table, origin, c));
        } else if (section == "naming") {
            HERALD_TRY(read_section(*table, section, origin,
                                    {{"server", nullptr, nullptr, &c.naming_server},
                                     {"server_url", &c.naming_server_url},
                                     {"dead_after_ms", nullptr, &c.naming_dead_after_ms},
                                     {"cache_ttl_ms", nullptr, &c.naming_cache_ttl_ms}}));
        } else {
            HERALD_TRY(read_section(*table, section, origin,
                                    {{"echo", nullptr, nullptr, &c.echo},
                                     {"shutdown_drain_ms", nullptr, &c.shutdown_drain_ms},
                                     {"admin_access", &c.admin_access}}));
        }
    }
    return {};
}

// The runtime's parsers start their details with "endpoint '<text>': " or "faults '<text>': ";
// our message already shows the value, so keep only what follows.
std::string without_echo(const std::string& detail) {
    const auto cut = detail.find("': ");
    return cut == std::string::npos ? detail : detail.substr(cut + 3);
}

// Where a key's value came from: its option when overridden, else the file (or defaults).
struct Origins {
    std::string_view file;
    const ConfigOverrides& overrides;

    std::string operator()(std::string_view key) const {
        const auto& o = overrides;
        const char* option = key == "node.listen" && o.listen       ? "--listen"
                             : key == "node.id" && o.node_id        ? "--node-id"
                             : key == "node.data_dir" && o.data_dir ? "--data-dir"
                             : key == "node.key_file" && o.key_file ? "--key-file"
                             : key == "node.faults" && o.faults     ? "--faults"
                             : key == "log.level" && o.log_level    ? "--log-level"
                                                                    : nullptr;
        return option != nullptr ? fmt::format("{} ({})", option, key)
                                 : fmt::format("{}: {}", file, key);
    }
};

Error value_error(const Origins& origin, std::string_view key, std::string_view value,
                  std::string_view allowed) {
    return Error{Errc::invalid_argument, fmt::format("{} = {}: {}", origin(key), value, allowed)};
}

// The largest datagram any transport carries (tcp and inproc: 16 MiB + 64 KiB).
constexpr std::uint64_t datagram_bytes_max_limit = (16u << 20) + (64u << 10);

Status check_range(const Origins& origin, std::string_view key, std::uint64_t value,
                   std::uint64_t low, std::uint64_t high) {
    if (value >= low && value <= high) return {};
    return fail(value_error(origin, key, std::to_string(value),
                            fmt::format("allowed: {} to {}", low, high)));
}

Status check_node(const DaemonConfig& c, const Origins& origin) {
    auto endpoint = runtime::parse_endpoint(c.listen);
    if (!endpoint) {
        return fail(value_error(origin, "node.listen", quoted(c.listen),
                                without_echo(endpoint.error().detail) +
                                    "; allowed: udp://HOST:PORT, tcp://HOST:PORT, unix:/PATH"));
    }
    if (endpoint->scheme == runtime::Endpoint::Scheme::inproc) {
        return fail(value_error(origin, "node.listen", quoted(c.listen),
                                "inproc:// is reachable only inside one OS process; allowed: "
                                "udp://HOST:PORT, tcp://HOST:PORT, unix:/PATH"));
    }
    if (!c.node_id.empty() && !parse_node_id(c.node_id)) {
        return fail(value_error(origin, "node.id", quoted(c.node_id),
                                "allowed: empty, or 1-16 hex digits, not all zero"));
    }
    if (c.data_dir.empty()) {
        return fail(value_error(origin, "node.data_dir", "\"\"", "must name a folder"));
    }
    if (!c.key_file.empty()) {
        if (auto keys = wire::read_key_file(c.key_file); !keys) {
            return fail(
                value_error(origin, "node.key_file", quoted(c.key_file), keys.error().detail));
        }
    }
    if (auto faults = runtime::parse_fault_options(c.faults); !faults) {
        return fail(value_error(origin, "node.faults", quoted(c.faults),
                                without_echo(faults.error().detail)));
    }
    if (c.datagram_bytes_max != 0 && (c.datagram_bytes_max < runtime::udp_datagram_bytes_min ||
                                      c.datagram_bytes_max > datagram_bytes_max_limit)) {
        return fail(
            value_error(origin, "node.datagram_bytes_max", std::to_string(c.datagram_bytes_max),
                        fmt::format("allowed: 0 (from the interface's MTU) or {} to {}",
                                    runtime::udp_datagram_bytes_min, datagram_bytes_max_limit)));
    }
    HERALD_TRY(check_range(origin, "node.durable_poll_us", c.durable_poll_us, 0, 100'000));
    return {};
}

Status check_naming(const DaemonConfig& c, const Origins& origin) {
    HERALD_TRY(check_range(origin, "naming.dead_after_ms", c.naming_dead_after_ms, 100, 3'600'000));
    HERALD_TRY(check_range(origin, "naming.cache_ttl_ms", c.naming_cache_ttl_ms, 0, 3'600'000));
    if (c.naming_server_url.empty()) return {};
    if (c.naming_server) {
        return fail(value_error(origin, "naming.server_url", quoted(c.naming_server_url),
                                "must be empty while naming.server = true (this node serves)"));
    }
    auto endpoint = runtime::parse_endpoint(c.naming_server_url);
    if (!endpoint || endpoint->scheme == runtime::Endpoint::Scheme::inproc) {
        return fail(value_error(origin, "naming.server_url", quoted(c.naming_server_url),
                                "allowed: empty, udp://HOST:PORT, tcp://HOST:PORT, unix:/PATH"));
    }
    return {};
}

Status check_coordination(const DaemonConfig& c, const Origins& origin) {
    if (c.coordination == "embedded") return {};
    if (c.coordination != "etcd") {
        return fail(value_error(origin, "coordination.backend", quoted(c.coordination),
                                "allowed: embedded, etcd"));
    }
    if (!c.naming_server_url.empty()) {
        return fail(value_error(origin, "naming.server_url", quoted(c.naming_server_url),
                                "must be empty with coordination.backend = \"etcd\""));
    }
    if (!c.groups_server_url.empty()) {
        return fail(value_error(origin, "groups.server_url", quoted(c.groups_server_url),
                                "must be empty with coordination.backend = \"etcd\""));
    }
    HERALD_TRY(check_range(origin, "coordination.etcd_timeout_ms", c.etcd_timeout_ms, 100, 60'000));
    HERALD_TRY(check_range(origin, "coordination.etcd_lease_ttl_s", c.etcd_lease_ttl_s, 2, 3600));
    auto checked = runtime::coord::check_etcd_options(etcd_options(c));
    if (!checked) {
        std::string endpoints;
        for (const auto& e : c.etcd_endpoints)
            endpoints += (endpoints.empty() ? "" : ", ") + quoted(e);
        return fail(
            value_error(origin, "coordination", "[" + endpoints + "]", checked.error().detail));
    }
    return {};
}

Status check_groups(const DaemonConfig& c, const Origins& origin) {
    HERALD_TRY(check_range(origin, "groups.heartbeat_ms", c.groups_heartbeat_ms, 10, 60'000));
    HERALD_TRY(check_range(origin, "groups.suspicion_ms", c.groups_suspicion_ms,
                           std::uint64_t{2} * c.groups_heartbeat_ms, 600'000));
    HERALD_TRY(
        check_range(origin, "groups.member_queue_max", c.groups_member_queue_max, 1, 1u << 20));
    if (!c.groups_broadcast.empty()) {
        auto broadcast = runtime::parse_endpoint(c.groups_broadcast);
        if (!broadcast || broadcast->scheme != runtime::Endpoint::Scheme::udp ||
            broadcast->port == 0 || broadcast->host.find(':') != std::string::npos) {
            return fail(value_error(origin, "groups.broadcast", quoted(c.groups_broadcast),
                                    "allowed: empty, udp://IPv4:PORT (a broadcast address)"));
        }
    }
    if (c.groups_server_url.empty()) return {};
    if (c.groups_server) {
        return fail(value_error(origin, "groups.server_url", quoted(c.groups_server_url),
                                "must be empty while groups.server = true (this node serves)"));
    }
    auto endpoint = runtime::parse_endpoint(c.groups_server_url);
    if (!endpoint || endpoint->scheme == runtime::Endpoint::Scheme::inproc) {
        return fail(value_error(origin, "groups.server_url", quoted(c.groups_server_url),
                                "allowed: empty, udp://HOST:PORT, tcp://HOST:PORT, unix:/PATH"));
    }
    return {};
}

Status check_order(const DaemonConfig& c, const Origins& origin) {
    HERALD_TRY(check_range(origin, "order.retransmit_ms", c.order_retransmit_ms, 1, 60'000));
    HERALD_TRY(check_range(origin, "order.tick_ms", c.order_tick_ms, 1, c.order_retransmit_ms));
    HERALD_TRY(check_range(origin, "order.skew_bound_ms", c.order_skew_bound_ms, 0, 60'000));
    HERALD_TRY(check_range(origin, "order.null_interval_us", c.order_null_interval_us, 0,
                           std::uint64_t{1000} * c.order_tick_ms));
    HERALD_TRY(check_range(origin, "order.groups_max", c.order_groups_max, 1, 65'536));
    HERALD_TRY(check_range(origin, "order.members_max", c.order_members_max, 1, 1024));
    HERALD_TRY(check_range(origin, "order.retained_max", c.order_retained_max, 1, 1u << 20));
    HERALD_TRY(check_range(origin, "order.send_window_max", c.order_send_window_max, 1,
                           c.order_retained_max));
    return check_range(origin, "order.receive_window_max", c.order_receive_window_max, 1, 1u << 20);
}

}  // namespace

runtime::coord::EtcdOptions etcd_options(const DaemonConfig& c) {
    runtime::coord::EtcdOptions o;
    o.endpoints = c.etcd_endpoints;
    o.timeout = Duration::milliseconds(c.etcd_timeout_ms);
    o.lease_ttl = Duration::seconds(c.etcd_lease_ttl_s);
    o.prefix = c.etcd_prefix;
    o.ca_file = c.etcd_ca_file;
    o.cert_file = c.etcd_cert_file;
    o.key_file = c.etcd_key_file;
    return o;
}

std::string_view default_config_text() {
    return default_text;
}

Result<DaemonConfig> parse_config(std::string_view text, std::string_view origin) {
    DaemonConfig config;
    try {
        const toml::table root = toml::parse(text, origin);
        HERALD_TRY(read_sections(root, origin, config));
    } catch (const toml::parse_error& e) {
        const auto& where = e.source().begin;
        return fail(Errc::invalid_argument,
                    fmt::format("{}:{}:{}: {}", origin, where.line, where.column, e.description()));
    }
    return config;
}

Status validate(const DaemonConfig& c, std::string_view origin, const ConfigOverrides& overrides) {
    const Origins where{origin, overrides};
    HERALD_TRY(check_node(c, where));
    static constexpr std::array<std::string_view, 6> levels{"trace", "debug", "info",
                                                            "warn",  "error", "off"};
    if (std::find(levels.begin(), levels.end(), c.log_level) == levels.end()) {
        return fail(value_error(where, "log.level", quoted(c.log_level),
                                "allowed: trace, debug, info, warn, error, off"));
    }
    if (c.log_format != "text" && c.log_format != "json") {
        return fail(value_error(where, "log.format", quoted(c.log_format), "allowed: text, json"));
    }
    HERALD_TRY(check_range(where, "limits.queue_limit", c.queue_limit, 1, 1u << 20));
    HERALD_TRY(
        check_range(where, "limits.message_bytes_max", c.message_bytes_max, 65536, 16u << 20));
    HERALD_TRY(check_range(where, "services.shutdown_drain_ms", c.shutdown_drain_ms, 0, 60'000));
    if (c.admin_access != "local" && c.admin_access != "key_holders" &&
        c.admin_access != "anyone") {
        return fail(value_error(where, "services.admin_access", quoted(c.admin_access),
                                "allowed: local, key_holders, anyone"));
    }
    if (c.encrypt && c.key_file.empty()) {
        return fail(value_error(where, "node.encrypt", "true", "needs node.key_file"));
    }
    if (c.admin_access == "key_holders" && c.key_file.empty()) {
        return fail(value_error(where, "services.admin_access", quoted(c.admin_access),
                                "needs node.key_file (without a key every caller is anyone)"));
    }
    HERALD_TRY(check_naming(c, where));
    HERALD_TRY(check_coordination(c, where));
    HERALD_TRY(check_groups(c, where));
    return check_order(c, where);
}

Result<DaemonConfig> load_config(const std::string& path, const ConfigOverrides& overrides) {
    DaemonConfig config;
    if (!path.empty()) {
        std::ifstream file(path);
        if (!file) {
            return fail(Errc::not_found,
                        fmt::format("--config = {}: cannot open the file", quoted(path)));
        }
        std::stringstream text;
        text << file.rdbuf();
        HERALD_TRY(config, parse_config(text.str(), path));
    }
    if (overrides.listen) config.listen = *overrides.listen;
    if (overrides.node_id) config.node_id = *overrides.node_id;
    if (overrides.data_dir) config.data_dir = *overrides.data_dir;
    if (overrides.key_file) config.key_file = *overrides.key_file;
    if (overrides.faults) config.faults = *overrides.faults;
    if (overrides.log_level) config.log_level = *overrides.log_level;
    HERALD_TRY(validate(config, path.empty() ? "defaults" : path, overrides));
    return config;
}

}  // namespace herald::daemon

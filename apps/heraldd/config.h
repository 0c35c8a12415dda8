// heraldd configuration: embedded defaults, TOML file, command-line overrides, validation.
// Layer: apps. Every bad value is refused with one message naming the key, the value and what
// is allowed (docs/config.md lists every key).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "runtime/coord/etcd_options.h"

namespace herald::daemon {

struct DaemonConfig {
    std::string listen = "udp://127.0.0.1:7400";
    std::string node_id;  // Empty: derived from `listen`, so a restart keeps the same id.
    std::string data_dir = "herald-data";
    std::string key_file;  // Empty: packets are not authenticated.
    bool encrypt = false;  // Encrypt what this node sends (needs key_file).
    std::string faults;    // Fault injection spec; empty = none.
    // Largest datagram (docs/wire.md "Fragments"); 0 = the transport's default (udp: the MTU).
    std::uint32_t datagram_bytes_max = 0;
    // NodeOptions::durable_poll in microseconds: the loop's poll after durable writes.
    std::uint32_t durable_poll_us = 200;
    std::string log_level = "info";
    std::string log_format = "text";
    std::uint32_t queue_limit = 1024;
    std::uint32_t message_bytes_max = 16u << 20;
    bool echo = true;
    std::uint32_t shutdown_drain_ms = 2000;
    // Who may use the admin service (docs/admin.md, "Access"): "local" (processes on this
    // host), "key_holders" (any node with the cluster key; needs key_file) or "anyone".
    std::string admin_access = "local";
    // [naming]: host the name server (its table in data_dir), or use the one at server_url.
    bool naming_server = true;
    std::string naming_server_url;
    std::uint32_t naming_dead_after_ms = 5000;  // Rule 14 of docs/naming.md (server only).
    std::uint32_t naming_cache_ttl_ms = 1000;   // Rule 7 of docs/naming.md.
    // [groups]: host the group server (its groups in data_dir), or use the one at server_url;
    // the failure detector's timings (docs/groups.md).
    bool groups_server = true;
    std::string groups_server_url;
    std::string groups_broadcast;  // docs/groups.md G22: empty, or udp://IPv4:PORT.
    std::uint32_t groups_heartbeat_ms = 500;
    std::uint32_t groups_suspicion_ms = 3000;
    std::uint32_t groups_member_queue_max = 1024;  // G25, O37: a member's credit per engine.
    // [coordination]: where names live (docs/coordination.md): "embedded" (the [naming]
    // server) or "etcd" (the cluster at etcd_endpoints; [naming] is then unused).
    std::string coordination = "embedded";
    std::vector<std::string> etcd_endpoints;
    std::uint32_t etcd_timeout_ms = 2000;
    std::uint32_t etcd_lease_ttl_s = 10;
    std::string etcd_prefix = "/herald/";
    std::string etcd_ca_file, etcd_cert_file, etcd_key_file;
    // [order]: the ordering engine's timings and bounds (docs/ordering.md, "Options").
    std::uint32_t order_retransmit_ms = 100;
    std::uint32_t order_tick_ms = 50;
    std::uint32_t order_skew_bound_ms = 10;
    std::uint32_t order_null_interval_us = 1000;
    std::uint32_t order_groups_max = 256;
    std::uint32_t order_members_max = 64;
    std::uint32_t order_send_window_max = 64;
    std::uint32_t order_retained_max = 4096;
    std::uint32_t order_receive_window_max = 1024;

    bool operator==(const DaemonConfig&) const = default;
};

// Command-line values that replace the file's (unset = keep). Errors about an overridden value
// name the option (`--listen`) as well as the key.
struct ConfigOverrides {
    std::optional<std::string> listen, node_id, data_dir, key_file, faults, log_level;
};

// The etcd options of [coordination] (for validation; the daemon maps them to NodeOptions).
[[nodiscard]] runtime::coord::EtcdOptions etcd_options(const DaemonConfig& config);

// The defaults as a commented TOML document (`heraldd --print-default-config`). Parsing it
// gives exactly DaemonConfig{} (tested).
[[nodiscard]] std::string_view default_config_text();

// Parses TOML text; `origin` (a file name) starts every error message. Unknown sections and
// keys, and values of the wrong TOML type, are refused so that typos surface.
// Errc::invalid_argument, e.g. "heraldd.toml: log.levle = \"debug\": unknown key (allowed in
// [log]: level, format)". Does not check values (see validate).
[[nodiscard]] Result<DaemonConfig> parse_config(std::string_view text, std::string_view origin);

// Checks what TOML typing cannot: URL, node id, data dir, fault spec, log level and format,
// ranges. `origin` names where the values came from; a value replaced by an override is
// reported under its option name instead. Errc::invalid_argument naming key, value, allowed.
[[nodiscard]] Status validate(const DaemonConfig& config, std::string_view origin = "config",
                              const ConfigOverrides& overrides = {});

// Reads and parses `path` (Errc::not_found when it cannot be opened), or takes the embedded
// defaults when `path` is empty; then applies `overrides` and validates the result.
[[nodiscard]] Result<DaemonConfig> load_config(const std::string& path,
                                               const ConfigOverrides& overrides);

}  // namespace herald::daemon

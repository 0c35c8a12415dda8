// Unit tests of heraldd's configuration: embedded defaults, parsing, overrides, validation.
// Every refusal must name the key, the value and what is allowed (docs/config.md).
#include "config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace herald::daemon {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The error detail of parsing `text` (which must fail).
std::string parse_error(std::string_view text) {
    auto config = parse_config(text, "test.toml");
    EXPECT_FALSE(config.has_value()) << text;
    if (config) return {};
    EXPECT_EQ(config.error().code, Errc::invalid_argument);
    return config.error().detail;
}

// The error detail of validating `config` (which must fail).
std::string validate_error(const DaemonConfig& config) {
    auto status = validate(config, "test.toml");
    EXPECT_FALSE(status.has_value());
    if (status) return {};
    EXPECT_EQ(status.error().code, Errc::invalid_argument);
    return status.error().detail;
}

TEST(DaemonConfig, EmbeddedDefaultTextParsesToExactlyTheDefaultStruct) {
    auto config = parse_config(default_config_text(), "defaults");
    ASSERT_TRUE(config.has_value()) << config.error().to_string();
    EXPECT_EQ(*config, DaemonConfig{});
    EXPECT_TRUE(validate(*config).has_value());
}

TEST(DaemonConfig, EmptyTextGivesTheDefaults) {
    auto config = parse_config("", "empty.toml");
    ASSERT_TRUE(config.has_value());
    EXPECT_EQ(*config, DaemonConfig{});
}

TEST(DaemonConfig, DefaultsListenOnTheDocumentedPort) {
    EXPECT_EQ(DaemonConfig{}.listen, "udp://127.0.0.1:7400");
}

TEST(DaemonConfig, ReadsEveryKey) {
    auto config = parse_config(R"(
[node]
listen = "tcp://127.0.0.1:0"
id = "abc"
data_dir = "/tmp/x"
faults = "loss=0.5"
durable_poll_us = 0
[log]
level = "debug"
format = "json"
[limits]
queue_limit = 7
message_bytes_max = 70000
[services]
echo = false
shutdown_drain_ms = 0
admin_access = "anyone"
)",
                               "all.toml");
    ASSERT_TRUE(config.has_value()) << config.error().to_string();
    DaemonConfig expected;
    expected.listen = "tcp://127.0.0.1:0";
    expected.node_id = "abc";
    expected.data_dir = "/tmp/x";
    expected.faults = "loss=0.5";
    expected.durable_poll_us = 0;
    expected.log_level = "debug";
    expected.log_format = "json";
    expected.queue_limit = 7;
    expected.message_bytes_max = 70000;
    expected.echo = false;
    expected.shutdown_drain_ms = 0;
    expected.admin_access = "anyone";
    EXPECT_EQ(*config, expected);
    EXPECT_TRUE(validate(*config).has_value());
}

TEST(DaemonConfig, RefusesUnknownKeyNamingTheKeyValueAndAllowedKeys) {
    const std::string e = parse_error("[log]\nlevle = \"debug\"\n");
    EXPECT_THAT(e, HasSubstr("test.toml: log.levle = \"debug\""));
    EXPECT_THAT(e, HasSubstr("unknown key (allowed in [log]: level, format)"));
}

TEST(DaemonConfig, RefusesUnknownSection) {
    const std::string e = parse_error("[nodes]\nlisten = \"udp://127.0.0.1:1\"\n");
    EXPECT_THAT(e, HasSubstr("test.toml: nodes = "));
    EXPECT_THAT(e, HasSubstr("unknown section (allowed: node, log, limits, services, naming, "
                             "groups, coordination, order)"));
}

TEST(DaemonConfig, NamingServesByDefaultOrUsesAnotherNodesServer) {
    EXPECT_TRUE(DaemonConfig{}.naming_server);
    auto client =
        parse_config("[naming]\nserver = false\nserver_url = \"udp://127.0.0.1:7500\"\n", "t");
    ASSERT_TRUE(client.has_value()) << client.error().to_string();
    EXPECT_FALSE(client->naming_server);
    EXPECT_EQ(client->naming_server_url, "udp://127.0.0.1:7500");
    EXPECT_TRUE(validate(*client).has_value());
    EXPECT_THAT(parse_error("[naming]\nserver_uri = \"x\"\n"),
                HasSubstr("unknown key (allowed in [naming]: server, server_url, dead_after_ms, "
                          "cache_ttl_ms)"));
    auto dead = parse_config("[naming]\ndead_after_ms = 2000\n", "t");
    ASSERT_TRUE(dead.has_value()) << dead.error().to_string();
    EXPECT_EQ(dead->naming_dead_after_ms, 2000u);
    EXPECT_EQ(DaemonConfig{}.naming_dead_after_ms, 5000u);
    DaemonConfig quick;
    quick.naming_dead_after_ms = 50;
    EXPECT_THAT(validate_error(quick),
                HasSubstr("naming.dead_after_ms = 50: allowed: 100 to 3600000"));
    auto cache = parse_config("[naming]\ncache_ttl_ms = 0\n", "t");
    ASSERT_TRUE(cache.has_value()) << cache.error().to_string();
    EXPECT_EQ(cache->naming_cache_ttl_ms, 0u);
    EXPECT_EQ(DaemonConfig{}.naming_cache_ttl_ms, 1000u);
    DaemonConfig hour;
    hour.naming_cache_ttl_ms = 3'600'001;
    EXPECT_THAT(validate_error(hour),
                HasSubstr("naming.cache_ttl_ms = 3600001: allowed: 0 to 3600000"));
    DaemonConfig both;
    both.naming_server_url = "udp://127.0.0.1:7500";
    EXPECT_THAT(validate_error(both), HasSubstr("must be empty while naming.server = true"));
    DaemonConfig bad;
    bad.naming_server = false;
    bad.naming_server_url = "nowhere";
    EXPECT_THAT(validate_error(bad), HasSubstr("test.toml: naming.server_url = \"nowhere\""));
}

TEST(DaemonConfig, CoordinationIsEmbeddedByDefaultOrEtcdWithValidEndpoints) {
    EXPECT_EQ(DaemonConfig{}.coordination, "embedded");
    auto etcd = parse_config(
        "[coordination]\nbackend = \"etcd\"\netcd_endpoints = [\"http://10.0.0.1:2379\", "
        "\"https://e2:2379\"]\netcd_timeout_ms = 500\netcd_lease_ttl_s = 5\n",
        "t");
    ASSERT_TRUE(etcd.has_value()) << etcd.error().to_string();
    EXPECT_EQ(etcd->coordination, "etcd");
    EXPECT_EQ(etcd->etcd_endpoints,
              (std::vector<std::string>{"http://10.0.0.1:2379", "https://e2:2379"}));
    EXPECT_EQ(etcd->etcd_timeout_ms, 500u);
    EXPECT_EQ(etcd->etcd_lease_ttl_s, 5u);
    EXPECT_TRUE(validate(*etcd).has_value());
    EXPECT_THAT(parse_error("[coordination]\netcd_endpoints = \"http://a:1\"\n"),
                HasSubstr("coordination.etcd_endpoints = \"http://a:1\": expected an array"));
    EXPECT_THAT(parse_error("[coordination]\netcd_endpoints = [1]\n"),
                HasSubstr("expected an array of quoted strings"));
    DaemonConfig bad = *etcd;
    bad.coordination = "zookeeper";
    EXPECT_THAT(validate_error(bad), HasSubstr("coordination.backend = \"zookeeper\": allowed: "
                                               "embedded, etcd"));
    bad = *etcd;
    bad.etcd_endpoints = {};
    EXPECT_THAT(validate_error(bad), HasSubstr("etcd_endpoints: at least one endpoint"));
    bad.etcd_endpoints = {"10.0.0.1:2379"};
    EXPECT_THAT(validate_error(bad), HasSubstr("'10.0.0.1:2379' is not http://HOST:PORT"));
    bad = *etcd;
    bad.etcd_lease_ttl_s = 1;
    EXPECT_THAT(validate_error(bad), HasSubstr("coordination.etcd_lease_ttl_s = 1: allowed: 2"));
    bad = *etcd;
    bad.etcd_timeout_ms = 50;
    EXPECT_THAT(validate_error(bad), HasSubstr("coordination.etcd_timeout_ms = 50"));
    bad = *etcd;
    bad.etcd_ca_file = "/nonexistent/ca.pem";
    EXPECT_THAT(validate_error(bad), HasSubstr("'/nonexistent/ca.pem' is not readable"));
}

TEST(DaemonConfig, GroupsServeByDefaultOrUseAnotherNodesServerWithValidTimings) {
    EXPECT_TRUE(DaemonConfig{}.groups_server);
    EXPECT_EQ(DaemonConfig{}.groups_heartbeat_ms, 500u);
    EXPECT_EQ(DaemonConfig{}.groups_suspicion_ms, 3000u);
    auto client = parse_config(
        "[groups]\nserver = false\nserver_url = \"udp://127.0.0.1:7500\"\nheartbeat_ms = "
        "100\nsuspicion_ms = 1000\n",
        "t");
    ASSERT_TRUE(client.has_value()) << client.error().to_string();
    EXPECT_FALSE(client->groups_server);
    EXPECT_EQ(client->groups_server_url, "udp://127.0.0.1:7500");
    EXPECT_EQ(client->groups_heartbeat_ms, 100u);
    EXPECT_EQ(client->groups_suspicion_ms, 1000u);
    EXPECT_TRUE(DaemonConfig{}.groups_broadcast.empty());
    auto lan = parse_config("[groups]\nbroadcast = \"udp://10.0.0.255:7600\"\n", "t");
    ASSERT_TRUE(lan.has_value()) << lan.error().to_string();
    EXPECT_EQ(lan->groups_broadcast, "udp://10.0.0.255:7600");
    EXPECT_TRUE(validate(*lan).has_value());
    for (const char* wrong : {"10.0.0.255:7600", "tcp://10.0.0.255:7600", "udp://10.0.0.255:0",
                              "udp://[ff02::1]:7600"}) {
        DaemonConfig bad;
        bad.groups_broadcast = wrong;
        EXPECT_THAT(validate_error(bad),
                    HasSubstr("allowed: empty, udp://IPv4:PORT (a broadcast address)"))
            << wrong;
    }
    EXPECT_TRUE(validate(*client).has_value());
    EXPECT_THAT(parse_error("[groups]\nheartbeat = 5\n"),
                HasSubstr("unknown key (allowed in [groups]: server, server_url, heartbeat_ms, "
                          "suspicion_ms, broadcast, member_queue_max)"));
    EXPECT_THAT(parse_error("[groups]\nheartbeat_ms = \"fast\"\n"),
                HasSubstr("groups.heartbeat_ms = \"fast\": expected a whole number"));
    DaemonConfig both;
    both.groups_server_url = "udp://127.0.0.1:7500";
    EXPECT_THAT(validate_error(both), HasSubstr("must be empty while groups.server = true"));
    DaemonConfig bad;
    bad.groups_server = false;
    bad.groups_server_url = "nowhere";
    EXPECT_THAT(validate_error(bad), HasSubstr("test.toml: groups.server_url = \"nowhere\""));
    DaemonConfig fast;
    fast.groups_heartbeat_ms = 5;
    EXPECT_THAT(validate_error(fast),
                HasSubstr("test.toml: groups.heartbeat_ms = 5: allowed: 10 to 60000"));
    DaemonConfig eager;
    eager.groups_heartbeat_ms = 500;
    eager.groups_suspicion_ms = 900;  // Under twice the heartbeat.
    EXPECT_THAT(validate_error(eager),
                HasSubstr("test.toml: groups.suspicion_ms = 900: allowed: 1000 to 600000"));
}

// [order]: the ordering engine's options (docs/ordering.md, "Options"), each with its range;
// tick_ms is bounded by retransmit_ms, null_interval_us by tick_ms, send_window_max by
// retained_max.
TEST(DaemonConfig, OrderKeysAreReadAndRefusedOutOfRange) {
    EXPECT_EQ(DaemonConfig{}.order_retransmit_ms, 100u);
    EXPECT_EQ(DaemonConfig{}.order_null_interval_us, 1000u);
    auto config = parse_config(
        "[order]\nretransmit_ms = 40\ntick_ms = 20\nskew_bound_ms = 2\nnull_interval_us = 0\n"
        "groups_max = 8\nmembers_max = 16\nsend_window_max = 32\nretained_max = 512\n"
        "receive_window_max = 256\n",
        "test.toml");
    ASSERT_TRUE(config.has_value()) << config.error().to_string();
    EXPECT_EQ(config->order_retransmit_ms, 40u);
    EXPECT_EQ(config->order_tick_ms, 20u);
    EXPECT_EQ(config->order_skew_bound_ms, 2u);
    EXPECT_EQ(config->order_null_interval_us, 0u);
    EXPECT_EQ(config->order_groups_max, 8u);
    EXPECT_EQ(config->order_members_max, 16u);
    EXPECT_EQ(config->order_send_window_max, 32u);
    EXPECT_EQ(config->order_retained_max, 512u);
    EXPECT_EQ(config->order_receive_window_max, 256u);
    EXPECT_TRUE(validate(*config).has_value());
    EXPECT_THAT(parse_error("[order]\nwindow = 5\n"),
                HasSubstr("test.toml: order.window = 5: unknown key (allowed in [order]: "
                          "retransmit_ms, tick_ms, skew_bound_ms, null_interval_us"));
    EXPECT_THAT(parse_error("[order]\ntick_ms = -1\n"),
                HasSubstr("order.tick_ms = -1: expected a whole number"));
    const auto refused = [](void (*change)(DaemonConfig&)) {
        DaemonConfig c;
        change(c);
        return validate_error(c);
    };
    EXPECT_THAT(refused([](DaemonConfig& c) { c.order_retransmit_ms = 0; }),
                HasSubstr("test.toml: order.retransmit_ms = 0: allowed: 1 to 60000"));
    EXPECT_THAT(refused([](DaemonConfig& c) { c.order_tick_ms = 101; }),
                HasSubstr("order.tick_ms = 101: allowed: 1 to 100"));
    EXPECT_THAT(refused([](DaemonConfig& c) { c.order_skew_bound_ms = 60'001; }),
                HasSubstr("order.skew_bound_ms = 60001: allowed: 0 to 60000"));
    EXPECT_THAT(refused([](DaemonConfig& c) { c.order_null_interval_us = 50'001; }),
                HasSubstr("order.null_interval_us = 50001: allowed: 0 to 50000"));
    EXPECT_THAT(refused([](DaemonConfig& c) { c.order_groups_max = 0; }),
                HasSubstr("order.groups_max = 0: allowed: 1 to 65536"));
    EXPECT_THAT(refused([](DaemonConfig& c) { c.order_members_max = 1025; }),
                HasSubstr("order.members_max = 1025: allowed: 1 to 1024"));
    EXPECT_THAT(refused([](DaemonConfig& c) { c.order_retained_max = (1u << 20) + 1; }),
                HasSubstr("order.retained_max = 1048577: allowed: 1 to 1048576"));
    EXPECT_THAT(refused([](DaemonConfig& c) { c.order_send_window_max = 4097; }),
                HasSubstr("order.send_window_max = 4097: allowed: 1 to 4096"));
    EXPECT_THAT(refused([](DaemonConfig& c) { c.order_receive_window_max = 0; }),
                HasSubstr("order.receive_window_max = 0: allowed: 1 to 1048576"));
}

// [groups] member_queue_max: a member's credit (docs/groups.md G25, docs/ordering.md O37).
TEST(DaemonConfig, MemberQueueMaxIsReadAndRefusedOutOfRange) {
    EXPECT_EQ(DaemonConfig{}.groups_member_queue_max, 1024u);
    auto config = parse_config("[groups]\nmember_queue_max = 16\n", "test.toml");
    ASSERT_TRUE(config.has_value()) << config.error().to_string();
    EXPECT_EQ(config->groups_member_queue_max, 16u);
    EXPECT_TRUE(validate(*config).has_value());
    DaemonConfig zero;
    zero.groups_member_queue_max = 0;
    EXPECT_THAT(validate_error(zero),
                HasSubstr("test.toml: groups.member_queue_max = 0: allowed: 1 to 1048576"));
}

TEST(DaemonConfig, RefusesTopLevelKeyOutsideASection) {
    const std::string e = parse_error("listen = \"udp://127.0.0.1:1\"\n");
    EXPECT_THAT(e, HasSubstr("test.toml: listen = \"udp://127.0.0.1:1\": unknown section"));
}

TEST(DaemonConfig, RefusesSectionThatIsNotATable) {
    const std::string e = parse_error("node = 5\n");
    EXPECT_THAT(e, HasSubstr("test.toml: node = 5: expected a [node] table"));
}

TEST(DaemonConfig, RefusesWrongTypesNamingTheValue) {
    EXPECT_THAT(parse_error("[services]\necho = \"yes\"\n"),
                HasSubstr("services.echo = \"yes\": expected true or false"));
    EXPECT_THAT(parse_error("[node]\nlisten = 7400\n"),
                HasSubstr("node.listen = 7400: expected a quoted string"));
    EXPECT_THAT(parse_error("[limits]\nqueue_limit = \"10\"\n"),
                HasSubstr("limits.queue_limit = \"10\": expected a whole number"));
    EXPECT_THAT(parse_error("[limits]\nqueue_limit = 2.5\n"),
                HasSubstr("limits.queue_limit = 2.5: expected a whole number"));
    EXPECT_THAT(parse_error("[limits]\nqueue_limit = -1\n"),
                HasSubstr("limits.queue_limit = -1: expected a whole number from 0 to"));
    EXPECT_THAT(parse_error("[limits]\nqueue_limit = 4294967296\n"),
                HasSubstr("limits.queue_limit = 4294967296: expected a whole number"));
}

TEST(DaemonConfig, ReportsTomlSyntaxErrorsWithLineAndColumn) {
    EXPECT_THAT(parse_error("[node]\nlisten = \n"), HasSubstr("test.toml:2:"));
    EXPECT_THAT(parse_error("[node\n"), HasSubstr("test.toml:1:"));
}

TEST(DaemonConfig, RefusesBadListenUrls) {
    DaemonConfig c;
    c.listen = "htp://127.0.0.1:1";
    std::string e = validate_error(c);
    EXPECT_THAT(e, HasSubstr("test.toml: node.listen = \"htp://127.0.0.1:1\": unknown scheme"));
    EXPECT_THAT(e, HasSubstr("allowed: udp://HOST:PORT, tcp://HOST:PORT, unix:/PATH"));
    c.listen = "udp://example.com:1";
    EXPECT_THAT(validate_error(c), HasSubstr("not an IP literal"));
    c.listen = "udp://127.0.0.1:70000";
    EXPECT_THAT(validate_error(c), HasSubstr("node.listen = \"udp://127.0.0.1:70000\""));
    c.listen = "inproc://x";
    EXPECT_THAT(validate_error(c), HasSubstr("inproc:// is reachable only inside one OS"));
}

TEST(DaemonConfig, RefusesBadNodeIds) {
    DaemonConfig c;
    for (const char* bad : {"xyz", "0", "12345678901234567", "-1"}) {
        c.node_id = bad;
        EXPECT_THAT(validate_error(c),
                    HasSubstr(std::string("node.id = \"") + bad +
                              "\": allowed: empty, or 1-16 hex digits, not all zero"));
    }
    c.node_id = "ffffffffffffffff";
    EXPECT_TRUE(validate(c).has_value());
}

TEST(DaemonConfig, RefusesEmptyDataDirAndBadFaults) {
    DaemonConfig c;
    c.data_dir = "";
    EXPECT_THAT(validate_error(c), HasSubstr("node.data_dir = \"\": must name a folder"));
    c = DaemonConfig{};
    c.faults = "loss=2";
    const std::string e = validate_error(c);
    EXPECT_THAT(e, HasSubstr("node.faults = \"loss=2\": loss=2 is not a probability in [0, 1]"));
    c.faults = "lose=0.1";
    EXPECT_THAT(validate_error(c), HasSubstr("unknown key 'lose' (loss, dup, reorder"));
}

TEST(DaemonConfig, DatagramSizeIsZeroOrWithinTheTransportsRange) {
    DaemonConfig c;
    c.datagram_bytes_max = 547;
    EXPECT_THAT(validate_error(c),
                HasSubstr("node.datagram_bytes_max = 547: allowed: 0 (from the interface's MTU) "
                          "or 548 to 16842752"));
    c.datagram_bytes_max = 16842753;
    EXPECT_THAT(validate_error(c), HasSubstr("node.datagram_bytes_max = 16842753"));
    for (std::uint32_t fine : {0u, 548u, 1400u, 16842752u}) {
        c.datagram_bytes_max = fine;
        EXPECT_TRUE(validate(c).has_value()) << fine;
    }
}

TEST(DaemonConfig, RefusesBadLogLevelAndFormat) {
    DaemonConfig c;
    c.log_level = "verbose";
    EXPECT_THAT(
        validate_error(c),
        HasSubstr("log.level = \"verbose\": allowed: trace, debug, info, warn, error, off"));
    c = DaemonConfig{};
    c.log_format = "xml";
    EXPECT_THAT(validate_error(c), HasSubstr("log.format = \"xml\": allowed: text, json"));
}

TEST(DaemonConfig, RefusesOutOfRangeNumbers) {
    DaemonConfig c;
    c.queue_limit = 0;
    EXPECT_THAT(validate_error(c), HasSubstr("limits.queue_limit = 0: allowed: 1 to 1048576"));
    c = DaemonConfig{};
    c.message_bytes_max = (16u << 20) + 1;
    EXPECT_THAT(validate_error(c),
                HasSubstr("limits.message_bytes_max = 16777217: allowed: 65536 to 16777216"));
    c.message_bytes_max = 65535;  // Below it, the node's own admin replies would not fit.
    EXPECT_THAT(validate_error(c),
                HasSubstr("limits.message_bytes_max = 65535: allowed: 65536 to 16777216"));
    c = DaemonConfig{};
    c.durable_poll_us = 100'001;
    EXPECT_THAT(validate_error(c),
                HasSubstr("node.durable_poll_us = 100001: allowed: 0 to 100000"));
    c = DaemonConfig{};
    c.shutdown_drain_ms = 60'001;
    EXPECT_THAT(validate_error(c),
                HasSubstr("services.shutdown_drain_ms = 60001: allowed: 0 to 60000"));
}

TEST(DaemonConfig, AdminAccessIsLocalByDefaultAndKeyHoldersNeedsAKey) {
    EXPECT_EQ(DaemonConfig{}.admin_access, "local");
    DaemonConfig c;
    c.admin_access = "everyone";
    EXPECT_THAT(validate_error(c), HasSubstr("services.admin_access = \"everyone\": allowed: "
                                             "local, key_holders, anyone"));
    c.admin_access = "key_holders";
    EXPECT_THAT(validate_error(c), HasSubstr("needs node.key_file"));
    c.key_file = "/nonexistent/cluster.key";  // Refused for itself, not for admin_access.
    EXPECT_THAT(validate_error(c), Not(HasSubstr("admin_access")));
    c.admin_access = "anyone";
    c.key_file.clear();
    EXPECT_TRUE(validate(c).has_value());
}

TEST(DaemonConfig, OverridesReplaceFileValuesAndTheirErrorsNameTheOption) {
    ConfigOverrides overrides;
    overrides.listen = "udp://127.0.0.1:0";
    overrides.log_level = "debug";
    auto config = load_config("", overrides);
    ASSERT_TRUE(config.has_value()) << config.error().to_string();
    EXPECT_EQ(config->listen, "udp://127.0.0.1:0");
    EXPECT_EQ(config->log_level, "debug");
    EXPECT_EQ(config->data_dir, DaemonConfig{}.data_dir);

    overrides.listen = "bogus";
    auto bad = load_config("", overrides);
    ASSERT_FALSE(bad.has_value());
    EXPECT_THAT(bad.error().detail, HasSubstr("--listen (node.listen) = \"bogus\""));
    overrides = ConfigOverrides{};
    overrides.node_id = "zz";
    bad = load_config("", overrides);
    ASSERT_FALSE(bad.has_value());
    EXPECT_THAT(bad.error().detail, HasSubstr("--node-id (node.id) = \"zz\""));
}

TEST(DaemonConfig, LoadsAFileAndReportsItsName) {
    const auto path = std::filesystem::temp_directory_path() /
                      ("heraldd_config_test_" + std::to_string(::getpid()) + ".toml");
    {
        std::ofstream file(path);
        file << "[log]\nlevel = \"loud\"\n";
    }
    auto bad = load_config(path.string(), {});
    ASSERT_FALSE(bad.has_value());
    EXPECT_THAT(bad.error().detail,
                HasSubstr(path.string() + ": log.level = \"loud\": allowed: trace"));
    {
        std::ofstream file(path);
        file << "[log]\nlevel = \"warn\"\n";
    }
    auto good = load_config(path.string(), {});
    ASSERT_TRUE(good.has_value()) << good.error().to_string();
    EXPECT_EQ(good->log_level, "warn");
    std::filesystem::remove(path);
}

TEST(DaemonConfig, MissingFileIsNotFoundNamingThePath) {
    auto config = load_config("/nonexistent/heraldd.toml", {});
    ASSERT_FALSE(config.has_value());
    EXPECT_EQ(config.error().code, Errc::not_found);
    EXPECT_THAT(config.error().detail, HasSubstr("\"/nonexistent/heraldd.toml\""));
}

}  // namespace
}  // namespace herald::daemon

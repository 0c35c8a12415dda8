// parse_endpoint / to_string: every accepted form, and a clear error for each malformed one.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <string>

#include "runtime/transport.h"

namespace herald::runtime {
namespace {

Endpoint parsed(std::string_view url) {
    auto endpoint = parse_endpoint(url);
    EXPECT_TRUE(endpoint.has_value()) << url << ": " << endpoint.error().to_string();
    return endpoint.value_or(Endpoint{});
}

std::string error_of(std::string_view url) {
    auto endpoint = parse_endpoint(url);
    EXPECT_FALSE(endpoint.has_value()) << url << " parsed as " << to_string(*endpoint);
    if (endpoint) return {};
    EXPECT_EQ(endpoint.error().code, Errc::invalid_argument) << url;
    return endpoint.error().detail;
}

TEST(ParseEndpoint, ReadsUdpIpv4WithPort) {
    const Endpoint endpoint = parsed("udp://127.0.0.1:7400");
    EXPECT_EQ(endpoint.scheme, Endpoint::Scheme::udp);
    EXPECT_EQ(endpoint.host, "127.0.0.1");
    EXPECT_EQ(endpoint.port, 7400);
    EXPECT_EQ(to_string(endpoint), "udp://127.0.0.1:7400");
}

TEST(ParseEndpoint, ReadsBracketedIpv6AndPrintsItBack) {
    const Endpoint endpoint = parsed("udp://[::1]:7400");
    EXPECT_EQ(endpoint.host, "::1");
    EXPECT_EQ(to_string(endpoint), "udp://[::1]:7400");
}

TEST(ParseEndpoint, NormalizesIpLiteralsSoEqualAddressesCompareEqual) {
    EXPECT_EQ(parsed("udp://[::0001]:1"), parsed("udp://[::1]:1"));
    EXPECT_EQ(parsed("tcp://[0:0:0:0:0:0:0:1]:1").host, "::1");
}

TEST(ParseEndpoint, AcceptsAnyAddressAndPortZero) {
    const Endpoint endpoint = parsed("udp://0.0.0.0:0");
    EXPECT_EQ(endpoint.host, "0.0.0.0");
    EXPECT_EQ(endpoint.port, 0);
    EXPECT_EQ(parsed("udp://[::]:65535").port, 65535);
}

TEST(ParseEndpoint, MapsLocalhostToTheIpv4Loopback) {
    EXPECT_EQ(parsed("tcp://localhost:80").host, "127.0.0.1");
}

TEST(ParseEndpoint, ReadsTcp) {
    const Endpoint endpoint = parsed("tcp://10.1.2.3:9");
    EXPECT_EQ(endpoint.scheme, Endpoint::Scheme::tcp);
    EXPECT_EQ(to_string(endpoint), "tcp://10.1.2.3:9");
}

TEST(ParseEndpoint, ReadsBothUnixForms) {
    const Endpoint short_form = parsed("unix:/run/herald.sock");
    EXPECT_EQ(short_form.scheme, Endpoint::Scheme::unix_socket);
    EXPECT_EQ(short_form.path, "/run/herald.sock");
    EXPECT_EQ(parsed("unix:///run/herald.sock"), short_form);
    EXPECT_EQ(to_string(short_form), "unix:/run/herald.sock");
}

TEST(ParseEndpoint, ReadsInproc) {
    const Endpoint endpoint = parsed("inproc://node-a");
    EXPECT_EQ(endpoint.scheme, Endpoint::Scheme::inproc);
    EXPECT_EQ(endpoint.host, "node-a");
    EXPECT_EQ(to_string(endpoint), "inproc://node-a");
}

TEST(ParseEndpoint, AcceptsUpperCaseSchemes) {
    EXPECT_EQ(parsed("UDP://127.0.0.1:1").scheme, Endpoint::Scheme::udp);
}

TEST(ParseEndpoint, RefusesUnknownOrMissingSchemes) {
    EXPECT_NE(error_of("htp://127.0.0.1:1").find("unknown scheme 'htp'"), std::string::npos);
    EXPECT_NE(error_of("127.0.0.1").find("missing scheme"), std::string::npos);
    EXPECT_NE(error_of("").find("missing scheme"), std::string::npos);
    EXPECT_NE(error_of("udp:/127.0.0.1:1").find("expected 'udp://'"), std::string::npos);
}

TEST(ParseEndpoint, RefusesBadPorts) {
    EXPECT_NE(error_of("udp://127.0.0.1:65536").find("out of range"), std::string::npos);
    EXPECT_NE(error_of("udp://127.0.0.1:99999999999").find("out of range"), std::string::npos);
    EXPECT_NE(error_of("udp://127.0.0.1:http").find("not a number"), std::string::npos);
    EXPECT_NE(error_of("udp://127.0.0.1:-1").find("not a number"), std::string::npos);
    EXPECT_NE(error_of("udp://127.0.0.1:80/x").find("not a number"), std::string::npos);
    EXPECT_NE(error_of("udp://127.0.0.1:").find("missing port"), std::string::npos);
    EXPECT_NE(error_of("udp://127.0.0.1").find("missing port"), std::string::npos);
    EXPECT_NE(error_of("udp://[::1]").find("missing port"), std::string::npos);
}

TEST(ParseEndpoint, RefusesMissingHostsAndHostNames) {
    EXPECT_NE(error_of("udp://:7400").find("missing host"), std::string::npos);
    EXPECT_NE(error_of("udp://[]:7400").find("missing host"), std::string::npos);
    EXPECT_NE(error_of("tcp://example.com:80").find("no DNS"), std::string::npos);
    EXPECT_NE(error_of("udp://1.2.3:80").find("not an IP literal"), std::string::npos);
    EXPECT_NE(error_of("udp://::1:80").find("brackets"), std::string::npos);
    EXPECT_NE(error_of("udp://[127.0.0.1]:80").find("not an IPv6"), std::string::npos);
    EXPECT_NE(error_of("udp://[::1:80").find("']'"), std::string::npos);
    EXPECT_NE(error_of("udp://[fe80::1%eth0]:80").find("not an IPv6"), std::string::npos);
}

TEST(ParseEndpoint, RefusesRelativeEmptyAndOverlongUnixPaths) {
    EXPECT_NE(error_of("unix:").find("missing socket path"), std::string::npos);
    EXPECT_NE(error_of("unix://").find("missing socket path"), std::string::npos);
    EXPECT_NE(error_of("unix:run/x.sock").find("absolute"), std::string::npos);
    EXPECT_NE(error_of("unix://run/x.sock").find("absolute"), std::string::npos);
    const std::string longest = "/" + std::string(106, 'a');  // 107 bytes + NUL = sun_path.
    EXPECT_EQ(parsed("unix:" + longest).path, longest);
    EXPECT_NE(error_of("unix:" + longest + "b").find("limit is 107"), std::string::npos);
}

TEST(ParseEndpoint, RefusesEmptyOrOddInprocNames) {
    EXPECT_NE(error_of("inproc://").find("missing inproc name"), std::string::npos);
    EXPECT_NE(error_of("inproc://a b").find("may not contain"), std::string::npos);
    EXPECT_NE(error_of("inproc://a/b").find("may not contain"), std::string::npos);
    EXPECT_NE(error_of("inproc://" + std::string(256, 'x')).find("too long"), std::string::npos);
}

TEST(ParseEndpoint, ErrorDetailQuotesTheUrl) {
    EXPECT_NE(error_of("udp://127.0.0.1:x").find("endpoint 'udp://127.0.0.1:x'"),
              std::string::npos);
}

// The detail of check_group_endpoint's error, or "" when the endpoint is a group address.
std::string group_error(std::string_view url) {
    const auto status = check_group_endpoint(parsed(url));
    if (status) return {};
    EXPECT_EQ(status.error().code, Errc::invalid_argument);
    return status.error().detail;
}

TEST(CheckGroupEndpoint, AcceptsUdpMulticastAddressesWithAPort) {
    EXPECT_EQ(group_error("udp://239.1.2.3:7500"), "");
    EXPECT_EQ(group_error("udp://224.0.0.1:1"), "");
    EXPECT_EQ(group_error("udp://239.255.255.255:65535"), "");
    EXPECT_EQ(group_error("udp://[ff12::1]:7500"), "");
    EXPECT_EQ(group_error("udp://[ff02::1:2]:7500"), "");
}

TEST(CheckGroupEndpoint, RefusesUnicastBroadcastOtherSchemesAndPortZero) {
    EXPECT_NE(group_error("udp://127.0.0.1:7500").find("not an IP multicast"), std::string::npos);
    EXPECT_NE(group_error("udp://223.255.255.255:7500").find("not an IP multicast"),
              std::string::npos);
    EXPECT_NE(group_error("udp://240.0.0.1:7500").find("not an IP multicast"), std::string::npos);
    EXPECT_NE(group_error("udp://255.255.255.255:7500").find("not an IP multicast"),
              std::string::npos);
    EXPECT_NE(group_error("udp://[::1]:7500").find("not an IP multicast"), std::string::npos);
    EXPECT_NE(group_error("tcp://239.1.2.3:7500").find("udp endpoint"), std::string::npos);
    EXPECT_NE(group_error("inproc://group").find("udp endpoint"), std::string::npos);
    EXPECT_NE(group_error("udp://239.1.2.3:0").find("port"), std::string::npos);
}

TEST(IsLocal, LoopbackUnixAndInprocAreLocalWildcardsAndForeignAddressesAreNot) {
    EXPECT_TRUE(is_local(parsed("udp://127.0.0.1:7400")));
    EXPECT_TRUE(is_local(parsed("tcp://127.3.4.5:1")));
    EXPECT_TRUE(is_local(parsed("udp://[::1]:7400")));
    EXPECT_TRUE(is_local(parsed("unix:/tmp/herald.sock")));
    EXPECT_TRUE(is_local(parsed("inproc://a")));
    EXPECT_FALSE(is_local(parsed("udp://0.0.0.0:7400")));
    EXPECT_FALSE(is_local(parsed("udp://[::]:7400")));
    // TEST-NET-1 and the IPv6 documentation prefix: assigned to no machine's interface.
    EXPECT_FALSE(is_local(parsed("udp://192.0.2.1:7400")));
    EXPECT_FALSE(is_local(parsed("udp://[2001:db8::1]:7400")));
}

TEST(IsLocal, AnAddressOfThisHostsInterfacesIsLocal) {
    ifaddrs* list = nullptr;
    ASSERT_EQ(::getifaddrs(&list), 0);
    std::string address;
    for (const ifaddrs* a = list; a != nullptr && address.empty(); a = a->ifa_next) {
        if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
        char text[INET_ADDRSTRLEN] = {};
        const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
        ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
        if (std::string(text).rfind("127.", 0) != 0) address = text;
    }
    ::freeifaddrs(list);
    if (address.empty()) GTEST_SKIP() << "this host has no IPv4 address besides loopback";
    EXPECT_TRUE(is_local(parsed("udp://" + address + ":7400"))) << address;
}

}  // namespace
}  // namespace herald::runtime

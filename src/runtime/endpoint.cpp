// parse_endpoint / to_string: node URLs <-> Endpoint. Layer: runtime.
// Only IP literals (and "localhost") are accepted: the runtime never does DNS on its loop.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <charconv>
#include <cstring>

#include "runtime/transport.h"

namespace herald::runtime {
namespace {

constexpr std::size_t inproc_name_bytes_max = 255;
// sun_path holds the path and its terminating NUL.
constexpr std::size_t unix_path_bytes_max = sizeof(sockaddr_un::sun_path) - 1;

tl::unexpected<Error> invalid_endpoint(std::string_view url, std::string_view what) {
    std::string detail = "endpoint '";
    detail.append(url).append("': ").append(what);
    return fail(Errc::invalid_argument, std::move(detail));
}

bool starts_with_ci(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        char c = text[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != prefix[i]) return false;
    }
    return true;
}

// Normalizes an IP literal (so "::0001" and "::1" compare equal, as recvfrom reports them).
Result<std::string> normalize_ip(std::string_view url, std::string_view host, bool bracketed) {
    if (host.empty()) return invalid_endpoint(url, "missing host");
    if (!bracketed && host == "localhost") return std::string("127.0.0.1");
    const std::string text(host);
    char out[INET6_ADDRSTRLEN] = {};
    if (bracketed) {
        in6_addr addr6{};
        if (inet_pton(AF_INET6, text.c_str(), &addr6) != 1) {
            return invalid_endpoint(url, "'" + text + "' is not an IPv6 address");
        }
        inet_ntop(AF_INET6, &addr6, out, sizeof out);
        return std::string(out);
    }
    in_addr addr4{};
    if (inet_pton(AF_INET, text.c_str(), &addr4) != 1) {
        return invalid_endpoint(url, "host '" + text +
                                         "' is not an IP literal (only IPv4, [IPv6] and localhost; "
                                         "no DNS)");
    }
    inet_ntop(AF_INET, &addr4, out, sizeof out);
    return std::string(out);
}

Result<std::uint16_t> parse_port(std::string_view url, std::string_view text) {
    if (text.empty())
        return invalid_endpoint(url, "missing port (use :0 for one chosen by the OS)");
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc::result_out_of_range || (ec == std::errc() && value > 65535)) {
        return invalid_endpoint(url, "port '" + std::string(text) + "' is out of range 0..65535");
    }
    if (ec != std::errc() || end != text.data() + text.size()) {
        return invalid_endpoint(url, "port '" + std::string(text) + "' is not a number");
    }
    return static_cast<std::uint16_t>(value);
}

// "host:port" or "[v6]:port" after "udp://" or "tcp://".
Result<Endpoint> parse_ip(std::string_view url, std::string_view rest, Endpoint::Scheme scheme) {
    Endpoint endpoint;
    endpoint.scheme = scheme;
    std::string_view host;
    std::string_view port;
    bool bracketed = false;
    if (!rest.empty() && rest.front() == '[') {
        const std::size_t close = rest.find(']');
        if (close == std::string_view::npos)
            return invalid_endpoint(url, "missing ']' after IPv6 host");
        host = rest.substr(1, close - 1);
        bracketed = true;
        const std::string_view after = rest.substr(close + 1);
        if (after.empty() || after.front() != ':') {
            return invalid_endpoint(url, "missing port (use :0 for one chosen by the OS)");
        }
        port = after.substr(1);
    } else {
        const std::size_t colon = rest.rfind(':');
        if (colon == std::string_view::npos) {
            return invalid_endpoint(url, "missing port (use :0 for one chosen by the OS)");
        }
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) {
            return invalid_endpoint(url, "IPv6 hosts must be in brackets: [::1]:7400");
        }
    }
    HERALD_TRY(endpoint.host, normalize_ip(url, host, bracketed));
    HERALD_TRY(endpoint.port, parse_port(url, port));
    return endpoint;
}

Result<Endpoint> parse_unix(std::string_view url, std::string_view rest) {
    // "unix:///abs" is the URL form of "unix:/abs"; "unix://x" would name a host: refused.
    if (rest.substr(0, 2) == "//") rest.remove_prefix(2);
    if (rest.empty()) return invalid_endpoint(url, "missing socket path");
    if (rest.front() != '/') return invalid_endpoint(url, "socket path must be absolute");
    if (rest.find('\0') != std::string_view::npos)
        return invalid_endpoint(url, "NUL in socket path");
    if (rest.size() > unix_path_bytes_max) {
        return invalid_endpoint(url, "socket path is " + std::to_string(rest.size()) +
                                         " bytes; the limit is " +
                                         std::to_string(unix_path_bytes_max));
    }
    Endpoint endpoint;
    endpoint.scheme = Endpoint::Scheme::unix_socket;
    endpoint.path = std::string(rest);
    return endpoint;
}

Result<Endpoint> parse_inproc(std::string_view url, std::string_view name) {
    if (name.empty()) return invalid_endpoint(url, "missing inproc name");
    if (name.size() > inproc_name_bytes_max)
        return invalid_endpoint(url, "inproc name is too long");
    for (const char c : name) {
        if (static_cast<unsigned char>(c) <= ' ' || c == '/' || c == 0x7f) {
            return invalid_endpoint(
                url, "inproc name may not contain spaces, control characters or '/'");
        }
    }
    Endpoint endpoint;
    endpoint.scheme = Endpoint::Scheme::inproc;
    endpoint.host = std::string(name);
    return endpoint;
}

}  // namespace

Result<Endpoint> parse_endpoint(std::string_view url) {
    if (starts_with_ci(url, "udp://")) return parse_ip(url, url.substr(6), Endpoint::Scheme::udp);
    if (starts_with_ci(url, "tcp://")) return parse_ip(url, url.substr(6), Endpoint::Scheme::tcp);
    if (starts_with_ci(url, "unix:")) return parse_unix(url, url.substr(5));
    if (starts_with_ci(url, "inproc://")) return parse_inproc(url, url.substr(9));
    const std::size_t colon = url.find(':');
    if (colon == std::string_view::npos || colon == 0) {
        return invalid_endpoint(url, "missing scheme (udp://, tcp://, unix:, inproc://)");
    }
    const std::string scheme(url.substr(0, colon));
    const auto is = [&](std::string_view name) {
        return scheme.size() == name.size() && starts_with_ci(scheme, name);
    };
    if (is("udp") || is("tcp") || is("inproc")) {
        return invalid_endpoint(url, "expected '" + scheme + "://' before the address");
    }
    return invalid_endpoint(url, "unknown scheme '" + scheme + "' (udp, tcp, unix, inproc)");
}

Status check_group_endpoint(const Endpoint& endpoint) {
    const std::string url = to_string(endpoint);
    if (endpoint.scheme != Endpoint::Scheme::udp) {
        return invalid_endpoint(url, "a group address is a udp endpoint (udp://239.1.2.3:7500)");
    }
    bool multicast = false;
    in_addr addr4{};
    in6_addr addr6{};
    if (inet_pton(AF_INET, endpoint.host.c_str(), &addr4) == 1) {
        multicast = IN_MULTICAST(ntohl(addr4.s_addr));
    } else if (inet_pton(AF_INET6, endpoint.host.c_str(), &addr6) == 1) {
        multicast = IN6_IS_ADDR_MULTICAST(&addr6);
    }
    if (!multicast) {
        return invalid_endpoint(url,
                                "not an IP multicast address (IPv4 224.0.0.0/4, IPv6 ff00::/8)");
    }
    if (endpoint.port == 0) return invalid_endpoint(url, "a group address needs a port (not 0)");
    return {};
}

std::string to_string(const Endpoint& endpoint) {
    switch (endpoint.scheme) {
        case Endpoint::Scheme::udp:
        case Endpoint::Scheme::tcp: {
            std::string text = endpoint.scheme == Endpoint::Scheme::udp ? "udp://" : "tcp://";
            const bool v6 = endpoint.host.find(':') != std::string::npos;
            if (v6) text += '[';
            text += endpoint.host;
            if (v6) text += ']';
            text += ':';
            text += std::to_string(endpoint.port);
            return text;
        }
        case Endpoint::Scheme::unix_socket:
            return "unix:" + endpoint.path;
        case Endpoint::Scheme::inproc:
            return "inproc://" + endpoint.host;
    }
    return "invalid-endpoint";
}

bool is_local(const Endpoint& endpoint) {
    if (endpoint.scheme == Endpoint::Scheme::unix_socket ||
        endpoint.scheme == Endpoint::Scheme::inproc) {
        return true;
    }
    in_addr v4{};
    in6_addr v6{};
    const bool is_v4 = ::inet_pton(AF_INET, endpoint.host.c_str(), &v4) == 1;
    const bool is_v6 = !is_v4 && ::inet_pton(AF_INET6, endpoint.host.c_str(), &v6) == 1;
    if (!is_v4 && !is_v6) return false;
    if (is_v4 && (ntohl(v4.s_addr) >> 24) == 127) return true;
    if (is_v6 && IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    if ((is_v4 && v4.s_addr == htonl(INADDR_ANY)) || (is_v6 && IN6_IS_ADDR_UNSPECIFIED(&v6))) {
        return false;
    }
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return false;
    bool found = false;
    for (const ifaddrs* a = list; a != nullptr && !found; a = a->ifa_next) {
        if (a->ifa_addr == nullptr) continue;
        if (is_v4 && a->ifa_addr->sa_family == AF_INET) {
            const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
            found = in->sin_addr.s_addr == v4.s_addr;
        } else if (is_v6 && a->ifa_addr->sa_family == AF_INET6) {
            const auto* in = reinterpret_cast<const sockaddr_in6*>(a->ifa_addr);
            found = std::memcmp(&in->sin6_addr, &v6, sizeof v6) == 0;
        }
    }
    ::freeifaddrs(list);
    return found;
}

}  // namespace herald::runtime

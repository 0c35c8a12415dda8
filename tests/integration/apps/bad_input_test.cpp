// Integration: bad input to heraldd and herald gives one clear line on stderr and the
// documented exit code — never a crash or a hang. Malformed pids, unknown nodes and closed
// ports (unreachable within the timeout), bad configs and options, oversized bodies, unknown
// names, a taken address and a locked data folder.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fstream>

#include "app_test_support.h"

namespace herald::apps_test {
namespace {

using ::testing::HasSubstr;

// A UDP port on 127.0.0.1 that nothing listens on (bound, read, closed).
std::string closed_port_url() {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof addr;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size);
    ::close(fd);
    return "udp://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
}

// Exit code `code`, nothing on stdout, and exactly one line on stderr containing `needle`.
void expect_one_error_line(const RunResult& r, int code, const std::string& needle) {
    EXPECT_EQ(r.code, code) << r.err;
    EXPECT_EQ(r.out, "");
    const auto err = lines(r.err);
    ASSERT_EQ(err.size(), 1u) << r.err;
    EXPECT_THAT(err.front(), HasSubstr(needle));
}

TEST(BadInput, MalformedPidsAreUsageErrors) {
    expect_one_error_line(run({herald_bin(), "send", "zz.1@udp://127.0.0.1:7400", "-b", "x"}), 2,
                          "herald send: invalid_argument: bad target 'zz.1@udp://127.0.0.1:7400'");
    expect_one_error_line(run({herald_bin(), "send", "abc@udp://127.0.0.1:7400", "-b", "x"}), 2,
                          "pid must look like <node hex>.<local id>");
    expect_one_error_line(run({herald_bin(), "send", "abc.1", "-b", "x"}), 2,
                          "a pid alone does not say where its node listens");
    expect_one_error_line(run({herald_bin(), "recv", "--from", "1.x"}), 2,
                          "herald recv: invalid_argument: --from: bad local id");
}

TEST(BadInput, BadOptionsAreUsageErrors) {
    expect_one_error_line(run({herald_bin(), "frobnicate"}), 2, "see herald --help");
    expect_one_error_line(run({herald_bin(), "ping"}), 2, "NODE_URL is required");
    expect_one_error_line(run({herald_bin(), "send", "udp://127.0.0.1:1/echo"}), 2,
                          "give exactly one of --body TEXT, --body-file FILE, --json VALUE");
    expect_one_error_line(
        run({herald_bin(), "send", "udp://127.0.0.1:1/echo", "-b", "x", "--mode", "eventually"}), 2,
        "bad --mode 'eventually' (allowed: nonblocking, accepted");
    expect_one_error_line(run({herald_bin(), "ping", "udp://127.0.0.1:1", "--timeout", "soon"}), 2,
                          "bad duration 'soon'");
    expect_one_error_line(run({herald_bin(), "send", "udp://127.0.0.1:1/echo", "--json", "{x"}), 2,
                          "is not a JSON value");
    expect_one_error_line(run({herald_bin(), "ping", "htp://127.0.0.1:1"}), 2,
                          "'htp://127.0.0.1:1' is not a node URL");
}

TEST(BadInput, UnknownNodeAndClosedPortAreUnreachableWithinTheTimeout) {
    const std::string url = closed_port_url();
    auto r = run({herald_bin(), "ping", url, "--timeout", "500ms"});
    expect_one_error_line(r, 1, "herald ping: unreachable: no answer from " + url);
    EXPECT_LT(r.elapsed, 5s);
    r = run({herald_bin(), "send", url + "/echo", "-b", "x", "--timeout", "500ms"});
    expect_one_error_line(r, 1, "herald send: unreachable");
    EXPECT_LT(r.elapsed, 5s);
    r = run({herald_bin(), "--json", "status", url, "--timeout", "500ms"});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr(R"("error":"unreachable")"));
    EXPECT_THAT(r.err, HasSubstr(R"("exit_code":1)"));
}

TEST(BadInput, UnknownNamesProcessesAndNodeIdsFailClearly) {
    Daemon daemon;
    expect_one_error_line(run({herald_bin(), "send", daemon.url() + "/nosuch", "-b", "x"}), 1,
                          "not_found: no process named 'nosuch' on " + daemon.url());
    expect_one_error_line(
        run({herald_bin(), "send", daemon.node() + ".99@" + daemon.url(), "-b", "x"}), 1,
        "herald send: no_such_process");
    // A pid of another node at this URL: taken to have migrated there (a location hint);
    // the daemon does not host it.
    expect_one_error_line(run({herald_bin(), "send", "abc.2@" + daemon.url(), "-b", "x"}), 1,
                          "herald send: no_such_process");
}

TEST(BadInput, OversizedBodyIsTooLarge) {
    TempDir dir;
    const std::string path = dir.file("big.bin");
    {
        std::ofstream big(path, std::ios::binary);
        big.seekp((16 << 20), std::ios::beg);  // 16 MiB + 1 byte: one past the limit.
        big.put('x');
    }
    expect_one_error_line(run({herald_bin(), "send", "udp://127.0.0.1:1/echo", "-f", path}), 1,
                          "herald send: too_large: body of 16777217 bytes exceeds the limit");
}

TEST(BadInput, BadConfigNamesKeyValueAndWhatIsAllowed) {
    TempDir dir;
    const std::string path = dir.file("bad.toml");
    const auto write = [&](const char* text) { std::ofstream(path) << text; };
    write("[log]\nlevel = \"loud\"\n");
    expect_one_error_line(run({heraldd_bin(), "--config", path}), 2,
                          "heraldd: bad config: " + path +
                              ": log.level = \"loud\": allowed: trace, debug, info, warn, "
                              "error, off");
    write("[node]\nlisten_on = \"udp://127.0.0.1:0\"\n");
    expect_one_error_line(
        run({heraldd_bin(), "--config", path}), 2,
        "node.listen_on = \"udp://127.0.0.1:0\": unknown key (allowed in "
        "[node]: listen, id, data_dir, key_file, encrypt, faults, datagram_bytes_max, "
        "durable_poll_us)");
    write("[node]\ndurable_poll_us = 100001\n");
    expect_one_error_line(run({heraldd_bin(), "--config", path}), 2,
                          "node.durable_poll_us = 100001: allowed: 0 to 100000");
    write("[limits]\nqueue_limit = 0\n");
    expect_one_error_line(run({heraldd_bin(), "--config", path}), 2,
                          "limits.queue_limit = 0: allowed: 1 to 1048576");
    expect_one_error_line(run({heraldd_bin(), "--listen", "htp://127.0.0.1:1"}), 2,
                          "--listen (node.listen) = \"htp://127.0.0.1:1\": unknown scheme");
    expect_one_error_line(run({heraldd_bin(), "--faults", "loss=7"}), 2,
                          "--faults (node.faults) = \"loss=7\": loss=7 is not a probability");
    expect_one_error_line(run({heraldd_bin(), "--config", dir.file("missing.toml")}), 2,
                          "cannot open the file");
    expect_one_error_line(run({heraldd_bin(), "--bogus"}), 2, "see heraldd --help");
}

TEST(BadInput, TakenAddressAndLockedDataFolderFailStartUp) {
    Daemon daemon;
    TempDir dir;
    expect_one_error_line(run({heraldd_bin(), "--listen", daemon.url(), "--data-dir", dir.path()}),
                          1, "heraldd: io_error");

    // Two daemons on one data folder would share durable state: the second is refused.
    TempDir shared;
    Child first({heraldd_bin(), "--listen", "udp://127.0.0.1:0", "--data-dir", shared.path()});
    ASSERT_TRUE(first.out().line(Clock::now() + 10s).has_value());
    expect_one_error_line(
        run({heraldd_bin(), "--listen", "udp://127.0.0.1:0", "--data-dir", shared.path()}), 1,
        "heraldd: already_exists: data_dir '" + shared.path() + "' is in use by another heraldd");
}

TEST(BadInput, NameLookupOnANodeWithoutAdminServiceSaysSo) {
    Child recv({herald_bin(), "recv", "--timeout", "20s"});
    const auto first = recv.err().line(Clock::now() + 10s);
    ASSERT_TRUE(first.has_value());
    const std::string url = first->substr(first->find('@') + 1);
    expect_one_error_line(run({herald_bin(), "send", url + "/echo", "-b", "x"}), 1,
                          "has no admin service (is it a heraldd?)");
}

}  // namespace
}  // namespace herald::apps_test

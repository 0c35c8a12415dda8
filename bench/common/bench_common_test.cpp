// Unit tests of the benchmark peers' shared code: arguments, the stdout result protocol and
// the meters' arithmetic, the group workloads' sender and meter. No sockets, no timing assertions.
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <string>
#include <string_view>
#include <vector>

#include "bench/common/mcast.h"
#include "bench/common/meter.h"
#include "bench/common/peer.h"

namespace herald::bench {
namespace {

Result<PeerArgs> parse(std::vector<std::string_view> words) {
    return parse_peer_args(words);
}

TEST(PeerArgs, ParsesEveryOptionAndRoundTripsThroughTheCommandLine) {
    auto args =
        parse({"--role",        "client",      "--pattern",   "window", "--transport", "udp",
               "--variant",     "mmsg",        "--size",      "1024",   "--window",    "64",
               "--duration-ms", "250",         "--warmup-ms", "20",     "--count",     "7",
               "--endpoint",    "127.0.0.1:9", "--senders",   "100"});
    ASSERT_TRUE(args) << args.error().to_string();
    EXPECT_EQ(args->role, Role::client);
    EXPECT_EQ(args->pattern, Pattern::window);
    EXPECT_EQ(args->size_bytes, 1024u);
    EXPECT_EQ(args->window, 64u);
    EXPECT_EQ(args->duration_ms, 250);
    EXPECT_EQ(args->warmup_ms, 20);
    EXPECT_EQ(args->count, 7u);
    std::vector<std::string> line = to_command_line(*args);
    std::vector<std::string_view> words(line.begin(), line.end());
    auto again = parse_peer_args(words);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->endpoint, "127.0.0.1:9");
    EXPECT_EQ(again->variant, "mmsg");
    EXPECT_EQ(again->window, 64u);
    EXPECT_EQ(again->senders, 100u);
}

TEST(PeerArgs, RejectsUnknownOptionsBadNumbersAndMissingValues) {
    EXPECT_EQ(parse({"--transport", "udp", "--colour", "red"}).error().code,
              Errc::invalid_argument);
    EXPECT_EQ(parse({"--transport", "udp", "--size", "12x"}).error().code, Errc::invalid_argument);
    EXPECT_EQ(parse({"--transport", "udp", "--size", "99999999999"}).error().code,
              Errc::invalid_argument);
    EXPECT_EQ(parse({"--transport", "udp", "--window", "0"}).error().code, Errc::invalid_argument);
    EXPECT_EQ(parse({"--transport", "udp", "--senders", "0"}).error().code, Errc::invalid_argument);
    EXPECT_EQ(parse({"--transport", "udp", "--senders", "10001"}).error().code,
              Errc::invalid_argument);
    EXPECT_EQ(parse({"--transport"}).error().code, Errc::invalid_argument);
    EXPECT_EQ(parse({"--size", "1"}).error().code, Errc::invalid_argument);  // No transport.
    EXPECT_EQ(parse({"--transport", "udp", "--role", "client"}).error().code,
              Errc::invalid_argument);  // A client without --endpoint.
    EXPECT_EQ(parse({"--transport", "udp", "--pattern", "sideways"}).error().code,
              Errc::invalid_argument);
}

TEST(ResultLine, FormatsAndParsesKeyValuePairs) {
    Fields fields = {{"p50_ns", "1200"}, {"samples", "9"}};
    std::string line = format_result(fields);
    EXPECT_EQ(line, "result p50_ns=1200 samples=9");
    auto parsed = parse_result(std::string_view(line).substr(7));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, fields);
    EXPECT_EQ(parse_result("p50_ns=1 junk").error().code, Errc::malformed);
    EXPECT_EQ(parse_result("=5").error().code, Errc::malformed);
}

TEST(Percentile, UsesTheNearestRank) {
    std::vector<std::int64_t> samples;
    for (std::int64_t i = 1000; i >= 1; --i) samples.push_back(i);
    LatencySummary summary = summarize(samples);
    EXPECT_EQ(summary.samples, 1000u);
    EXPECT_EQ(summary.min_ns, 1);
    EXPECT_EQ(summary.p50_ns, 500);
    EXPECT_EQ(summary.p99_ns, 990);
    EXPECT_EQ(summary.p999_ns, 999);
    EXPECT_EQ(summary.max_ns, 1000);
    EXPECT_DOUBLE_EQ(summary.mean_ns, 500.5);
    std::vector<std::int64_t> empty;
    EXPECT_EQ(summarize(empty).samples, 0u);
    EXPECT_EQ(percentile({7}, 0.999), 7);
}

TEST(StreamMeter, CountsOnlyArrivalsAfterTheWarmUp) {
    StreamMeter meter(100);
    meter.on_bytes(64, 1, 1000);  // First arrival starts the warm-up.
    meter.on_bytes(64, 1, 1050);  // Still warming up.
    meter.on_bytes(64, 1, 1100);  // Ends the warm-up: the mark, not counted.
    meter.on_bytes(128, 2, 1200);
    meter.on_bytes(64, 1, 1300);
    Fields fields = meter.fields(64);
    EXPECT_EQ(fields, (Fields{{"msgs", "3"},
                              {"bytes", "192"},
                              {"datagrams", "3"},
                              {"elapsed_ns", "200"},
                              {"total_msgs", "6"}}));
}

TEST(StreamMeter, FallsBackToTheWholeStreamWhenItAllCameInTheWarmUp) {
    StreamMeter meter(1'000'000);
    meter.on_bytes(64, 1, 5);
    EXPECT_EQ(meter.fields(64)[0], (Field{"msgs", "0"}));  // One batch: no interval at all.
    EXPECT_EQ(meter.fields(64)[3], (Field{"elapsed_ns", "0"}));
    meter.on_bytes(128, 2, 25);
    EXPECT_EQ(meter.fields(64), (Fields{{"msgs", "2"},
                                        {"bytes", "128"},
                                        {"datagrams", "2"},
                                        {"elapsed_ns", "20"},
                                        {"total_msgs", "3"}}));
}

TEST(WindowMeter, CountsCallsAfterTheWarmUpAndOneLateCallWhenNoneCameInTime) {
    PeerArgs args;
    args.warmup_ms = 10;
    args.duration_ms = 20;
    constexpr std::int64_t ms = 1'000'000;
    WindowMeter meter(args, 0);
    EXPECT_TRUE(meter.on_complete(5 * ms));  // Warm-up: not counted.
    EXPECT_FALSE(meter.done(31 * ms));       // Over, but nothing measured yet.
    EXPECT_FALSE(meter.on_complete(40 * ms));
    EXPECT_TRUE(meter.done(40 * ms));
    EXPECT_EQ(meter.fields(), (Fields{{"calls", "1"}, {"elapsed_ns", std::to_string(30 * ms)}}));

    WindowMeter busy(args, 0);
    EXPECT_TRUE(busy.on_complete(12 * ms));
    EXPECT_TRUE(busy.on_complete(20 * ms));
    EXPECT_TRUE(busy.done(30 * ms));
    EXPECT_EQ(busy.fields(), (Fields{{"calls", "2"}, {"elapsed_ns", std::to_string(10 * ms)}}));
}

TEST(PeerArgs, GroupPatternsNeedMembersAndARankBelowThem) {
    auto args = parse({"--pattern", "paced", "--transport", "cpg", "--members", "5", "--rank", "4",
                       "--rate", "200", "--host", "10.77.0.5"});
    ASSERT_TRUE(args) << args.error().to_string();
    std::vector<std::string> line = to_command_line(*args);
    std::vector<std::string_view> words(line.begin(), line.end());
    auto again = parse_peer_args(words);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->pattern, Pattern::paced);
    EXPECT_EQ(again->members, 5u);
    EXPECT_EQ(again->rank, 4u);
    EXPECT_EQ(again->rate, 200u);
    EXPECT_EQ(again->host, "10.77.0.5");
    EXPECT_FALSE(parse({"--pattern", "mcast", "--transport", "udp"}));
    EXPECT_FALSE(
        parse({"--pattern", "mcast", "--transport", "udp", "--members", "3", "--rank", "3"}));
    EXPECT_FALSE(
        parse({"--pattern", "paced", "--transport", "udp", "--members", "3", "--rate", "0"}));
}

TEST(McastHeader, RoundTripsAndRefusesShortOrUnknownBodies) {
    std::vector<std::uint8_t> body(64, 0);
    write_header(body, {McastKind::end, 7, 4095, -3});
    auto header = read_header(body);
    ASSERT_TRUE(header);
    EXPECT_EQ(header->kind, McastKind::end);
    EXPECT_EQ(header->rank, 7u);
    EXPECT_EQ(header->count, 4095u);
    EXPECT_EQ(header->send_ns, -3);
    EXPECT_FALSE(read_header(std::span(body).first(mcast_header_bytes - 1)));
    body[0] = 9;
    EXPECT_FALSE(read_header(body));
}

// Two members' senders (count capped at 3) feed one meter by hand: it counts every message,
// the measured ones and the end markers, and reports no loss.
TEST(McastMeter, CountsEverySendersMessagesUntilEveryEndMarker) {
    PeerArgs args;
    args.pattern = Pattern::mcast;
    args.members = 2;
    args.count = 3;
    args.warmup_ms = 0;
    args.duration_ms = 60'000;
    McastMeter meter(args);
    for (std::uint32_t rank = 0; rank < 2; ++rank) {
        args.rank = rank;
        McastSender sender(args, 0);
        for (auto next = sender.next(1); next != McastSender::Next::done; next = sender.next(1)) {
            ASSERT_NE(next, McastSender::Next::wait);
            auto body = sender.body(next, 1);
            sender.sent(next);
            meter.on_deliver(body, 10);
        }
        EXPECT_EQ(sender.data_sent(), 3u);
    }
    EXPECT_TRUE(meter.complete());
    Fields fields = meter.fields();
    EXPECT_EQ(format_result(fields),
              "result delivered=6 expected=6 lost=0 out_of_order=0 msgs=5 elapsed_ns=0 ends=2 "
              "senders=2 samples=0 malformed=0");
}

// A paced sender waits until its send time and no longer; a member that sends nothing waits
// idle_wait_ns; poll_for returns what is ready, and at once for a timeout <= 0.
TEST(McastSender, APacedSenderWaitsUntilItsSendTimeAndPollForReturnsWhatIsReady) {
    PeerArgs args;
    args.pattern = Pattern::paced;
    args.members = 3;
    args.rate = 1000;  // One every 1,000,000 ns.
    args.warmup_ms = 0;
    args.duration_ms = 60'000;
    const std::int64_t start = now_ns();  // sent() schedules from the clock.
    McastSender sender(args, start);
    ASSERT_EQ(sender.next(start), McastSender::Next::data);
    EXPECT_EQ(sender.wait_ns(start), idle_wait_ns);  // Something to send: do not wait for it.
    static_cast<void>(sender.body(McastSender::Next::data, start));
    sender.sent(McastSender::Next::data);
    EXPECT_GE(sender.wake_ns(), start + 1'000'000);
    const std::int64_t t = sender.wake_ns() - 750'000;
    ASSERT_EQ(sender.next(t), McastSender::Next::wait);
    EXPECT_EQ(sender.wait_ns(t), 750'000);
    args.rank = 1;
    EXPECT_EQ(McastSender(args, start).wait_ns(start), idle_wait_ns);

    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pollfd fd{fds[0], POLLIN, 0};
    EXPECT_EQ(poll_for(std::span(&fd, 1), -5), 0);
    EXPECT_EQ(poll_for(std::span(&fd, 1), 1'000'000), 0);
    ASSERT_EQ(::write(fds[1], "x", 1), 1);
    EXPECT_EQ(poll_for(std::span(&fd, 1), 0), 1);
    EXPECT_EQ(poll_for(std::span(&fd, 1), 1'000'000'000), 1);  // Ready: does not wait.
    EXPECT_NE(fd.revents & POLLIN, 0);
    ::close(fds[0]);
    ::close(fds[1]);
}

}  // namespace
}  // namespace herald::bench

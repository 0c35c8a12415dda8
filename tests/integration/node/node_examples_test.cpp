// Runs the programs in examples/ and checks what they print: ping_pong in one OS process and
// split over two (pong, then ping with the address pong printed), and the many-to-one
// collector.
#include "node_child.h"
#include "node_test_support.h"

namespace herald {
namespace {

using namespace herald::testing;

TEST(Examples, PingPongInOneProgram) {
    Child run({HERALD_EXAMPLE_PING_PONG}, {"HERALD_FAULTS="});
    EXPECT_EQ(run.wait_exit(60s), 0) << run.output();
    for (int i = 1; i <= 10; ++i) {
        EXPECT_NE(run.output().find("pong " + std::to_string(i) + ": "), std::string::npos);
    }
    EXPECT_NE(run.output().find("done: 10 round trips"), std::string::npos) << run.output();
}

TEST(Examples, PingPongAcrossTwoProgramsWithThePrintedAddress) {
    Child pong({HERALD_EXAMPLE_PING_PONG, "pong"}, {"HERALD_FAULTS="});
    auto line = pong.read_line(20s);
    ASSERT_TRUE(line && line->starts_with("pong at ")) << pong.output();
    const std::string address = line->substr(8);
    Child ping({HERALD_EXAMPLE_PING_PONG, "ping", address, "3"}, {"HERALD_FAULTS="});
    EXPECT_EQ(ping.wait_exit(60s), 0) << ping.output();
    EXPECT_NE(ping.output().find("done: 3 round trips"), std::string::npos) << ping.output();
}

TEST(Examples, CollectorReceivesFromTheChosenSetFirstThenFromAnyone) {
    Child run({HERALD_EXAMPLE_COLLECTOR}, {"HERALD_FAULTS="});
    EXPECT_EQ(run.wait_exit(60s), 0) << run.output();
    EXPECT_EQ(run.output(),
              "from the set {s0, s1}: s0=5 s1=5 s2=0\n"
              "then from anyone: s0=5 s1=5 s2=5\n"
              "collected 15 readings from 3 sensors; inbox now empty\n");
}

}  // namespace
}  // namespace herald

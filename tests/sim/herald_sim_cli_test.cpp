// Property: the herald-sim command keeps its contract: exit 0 when clean, 1 with violations
// (each printed with its replay line, and a single failing seed with its trace), 2 on a usage
// error; --help explains itself; --json is machine-readable. Faults: the default direct
// scenario, and a deliberately broken engine (--mutate) for the failing case.
// The path of the herald-sim binary is the test's first argument.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace {

std::string binary;

struct Outcome {
    int exit_code = -1;
    std::string output;
};

Outcome run(const std::string& arguments) {
    Outcome o;
    const std::string command = binary + " " + arguments + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return o;
    std::array<char, 4096> buffer{};
    std::size_t n = 0;
    while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
        o.output.append(buffer.data(), n);
    const int status = pclose(pipe);
    o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return o;
}

TEST(HeraldSimCli, CleanRangeExitsZeroWithASummary) {
    const Outcome o = run("--scenario=direct --seeds=1..20");
    EXPECT_EQ(o.exit_code, 0) << o.output;
    EXPECT_NE(o.output.find("20 run(s), 0 with violations"), std::string::npos) << o.output;
    EXPECT_NE(o.output.find("probes reached:"), std::string::npos);
}

TEST(HeraldSimCli, ViolationsExitOneWithReplayLineAndTrace) {
    const Outcome o = run("--seed=1 --mutate=complete_before_ack");
    EXPECT_EQ(o.exit_code, 1) << o.output;
    EXPECT_NE(o.output.find("[no_loss]"), std::string::npos) << o.output;
    EXPECT_NE(o.output.find("replay: herald-sim --scenario=direct --seed=1 "
                            "--mutate=complete_before_ack"),
              std::string::npos);
    EXPECT_NE(o.output.find("trace of seed 1"), std::string::npos);
}

TEST(HeraldSimCli, UsageErrorsExitTwo) {
    EXPECT_EQ(run("--nodes=0").exit_code, 2);
    EXPECT_EQ(run("--seeds=9..3").exit_code, 2);
    EXPECT_EQ(run("--scenario=nope").exit_code, 2);
    EXPECT_EQ(run("--mutate=nope").exit_code, 2);
    EXPECT_EQ(run("--no-such-flag").exit_code, 2);
    EXPECT_EQ(run("--first-epoch=soon").exit_code, 2);
    EXPECT_EQ(run("--first-epoch=0").exit_code, 2);
    EXPECT_EQ(run("--channel-idle-ms=100").exit_code, 2);
}

TEST(HeraldSimCli, EpochsNearTheWrapShowInTheTrace) {
    const Outcome o = run("--seed=2 --trace --first-epoch=near-wrap --channel-idle-ms=2000");
    EXPECT_EQ(o.exit_code, 0) << o.output;
    EXPECT_NE(o.output.find(" epoch=4294967280 "), std::string::npos);
}

TEST(HeraldSimCli, HelpListAndJson) {
    const Outcome help = run("--help");
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.output.find("Examples:"), std::string::npos);
    const Outcome list = run("--list");
    EXPECT_EQ(list.exit_code, 0);
    EXPECT_NE(list.output.find("direct"), std::string::npos);
    const Outcome json = run("--seeds=1..3 --json");
    EXPECT_EQ(json.exit_code, 0);
    EXPECT_EQ(json.output.front(), '{') << json.output;
    EXPECT_NE(json.output.find("\"failed_runs\": 0"), std::string::npos) << json.output;
}

TEST(HeraldSimCli, TraceIsIdenticalAcrossProcesses) {
    const Outcome a = run("--seed=9 --trace"), b = run("--seed=9 --trace");
    EXPECT_EQ(a.exit_code, 0);
    EXPECT_GT(a.output.size(), 1000u);
    EXPECT_EQ(a.output, b.output);
}

}  // namespace

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    if (argc < 2) {
        std::fprintf(stderr, "usage: herald_sim_cli_test <path to herald-sim>\n");
        return 2;
    }
    binary = argv[1];
    return RUN_ALL_TESTS();
}

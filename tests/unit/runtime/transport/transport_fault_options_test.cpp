// parse_fault_options (HERALD_FAULTS): every key, defaults, and a clear error for each
// malformed form.
#include <gtest/gtest.h>

#include <string>

#include "runtime/fault_transport.h"

namespace herald::runtime {
namespace {

std::string error_of(std::string_view text) {
    auto parsed = parse_fault_options(text);
    EXPECT_FALSE(parsed.has_value()) << text;
    if (parsed) return {};
    EXPECT_EQ(parsed.error().code, Errc::invalid_argument);
    return parsed.error().detail;
}

TEST(ParseFaultOptions, ReadsEveryKey) {
    auto parsed = parse_fault_options("loss=0.2,dup=0.05,reorder=0.1,delay_us=500,seed=7");
    ASSERT_TRUE(parsed) << parsed.error().to_string();
    EXPECT_DOUBLE_EQ(parsed->loss, 0.2);
    EXPECT_DOUBLE_EQ(parsed->duplicate, 0.05);
    EXPECT_DOUBLE_EQ(parsed->reorder, 0.1);
    EXPECT_EQ(parsed->delay_us_max, 500u);
    EXPECT_EQ(parsed->seed, 7u);
    EXPECT_TRUE(parsed->any());
}

TEST(ParseFaultOptions, LeavesUnnamedKeysAtTheirDefaults) {
    auto parsed = parse_fault_options("loss=1");
    ASSERT_TRUE(parsed);
    EXPECT_DOUBLE_EQ(parsed->loss, 1.0);
    EXPECT_EQ(parsed->duplicate, 0.0);
    EXPECT_EQ(parsed->seed, FaultOptions{}.seed);
}

TEST(ParseFaultOptions, TreatsEmptyTextAsNoFaults) {
    for (const char* text : {"", "  "}) {
        auto parsed = parse_fault_options(text);
        ASSERT_TRUE(parsed);
        EXPECT_FALSE(parsed->any());
    }
}

TEST(ParseFaultOptions, AllowsSpacesAroundItemsAndTheDuplicateSpelling) {
    auto parsed = parse_fault_options(" loss = 0.5 , duplicate=0.25 ,seed=18446744073709551615");
    ASSERT_TRUE(parsed) << parsed.error().to_string();
    EXPECT_DOUBLE_EQ(parsed->loss, 0.5);
    EXPECT_DOUBLE_EQ(parsed->duplicate, 0.25);
    EXPECT_EQ(parsed->seed, UINT64_MAX);
}

TEST(ParseFaultOptions, NamesUnknownKeys) {
    EXPECT_NE(error_of("los=0.1").find("unknown key 'los'"), std::string::npos);
    EXPECT_NE(error_of("loss=0.1,jitter=3").find("unknown key 'jitter'"), std::string::npos);
}

TEST(ParseFaultOptions, RefusesProbabilitiesOutsideZeroToOne) {
    EXPECT_NE(error_of("loss=1.5").find("loss=1.5 is not a probability in [0, 1]"),
              std::string::npos);
    EXPECT_NE(error_of("dup=-0.1").find("not a probability"), std::string::npos);
    EXPECT_NE(error_of("reorder=nan").find("not a probability"), std::string::npos);
    EXPECT_NE(error_of("loss=0.1x").find("not a probability"), std::string::npos);
    EXPECT_NE(error_of("loss=").find("not a probability"), std::string::npos);
}

TEST(ParseFaultOptions, RefusesBadIntegers) {
    EXPECT_NE(error_of("delay_us=20000000").find("not an integer in [0, 10000000]"),
              std::string::npos);
    EXPECT_NE(error_of("delay_us=1.5").find("not an integer"), std::string::npos);
    EXPECT_NE(error_of("seed=-1").find("not an integer"), std::string::npos);
    EXPECT_NE(error_of("seed=18446744073709551616").find("not an integer"), std::string::npos);
}

TEST(ParseFaultOptions, RefusesMalformedLists) {
    EXPECT_NE(error_of("loss").find("'loss' is not key=value"), std::string::npos);
    EXPECT_NE(error_of("loss=0.1,,dup=0.1").find("empty entry"), std::string::npos);
    EXPECT_NE(error_of("loss=0.1,").find("trailing comma"), std::string::npos);
    EXPECT_NE(error_of("loss=0.1,loss=0.2").find("given twice"), std::string::npos);
    EXPECT_NE(error_of("dup=0.1,duplicate=0.2").find("given twice"), std::string::npos);
}

TEST(ParseFaultOptions, QuotesTheWholeTextInErrors) {
    EXPECT_NE(error_of("loss=2").find("faults 'loss=2'"), std::string::npos);
}

}  // namespace
}  // namespace herald::runtime

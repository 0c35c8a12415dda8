// Pid and NodeId text forms: round trips and clear errors on malformed text.
#include "core/ids.h"

#include <gtest/gtest.h>

namespace herald {
namespace {

TEST(Pid, PrintsAndParsesBackTheSamePid) {
    const Pid pid{NodeId{0x7f3a9c21}, 42};
    EXPECT_EQ(to_string(pid), "7f3a9c21.42");
    auto parsed = parse_pid("7f3a9c21.42");
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, pid);
}

TEST(Pid, RejectsMalformedTextWithInvalidArgument) {
    for (const char* text : {"", ".", "7f.", ".5", "xyz.5", "7f.abc", "7f.0", "0.5",
                             "11111111111111111.1", "7f.5x", "7f.18446744073709551616"}) {
        auto parsed = parse_pid(text);
        ASSERT_FALSE(parsed.has_value()) << text;
        EXPECT_EQ(parsed.error().code, Errc::invalid_argument) << text;
    }
}

TEST(Pid, HashSpreadsPidsOfOneNode) {
    std::hash<Pid> hash;
    EXPECT_NE(hash(Pid{NodeId{1}, 1}), hash(Pid{NodeId{1}, 2}));
}

}  // namespace
}  // namespace herald

// Result, Error and HERALD_TRY: errors propagate with their code and detail.
#include "core/result.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

namespace herald {
namespace {

Result<int> half(int x) {
    if (x % 2 != 0) return fail(Errc::invalid_argument, "odd");
    return x / 2;
}

Result<int> quarter(int x) {
    HERALD_TRY(int h, half(x));
    HERALD_TRY(int q, half(h));
    return q;
}

Status check_even(int x) {
    HERALD_TRY(half(x));
    return {};
}

TEST(Result, TryPropagatesTheFirstError) {
    EXPECT_EQ(*quarter(8), 2);
    auto bad = quarter(6);
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().code, Errc::invalid_argument);
    EXPECT_EQ(bad.error().to_string(), "invalid_argument: odd");
    EXPECT_TRUE(check_even(2).has_value());
    EXPECT_FALSE(check_even(3).has_value());
}

// The names appear in logs, JSON output and docs: each code keeps its own, and a new code gets
// one (every value that is not a code reads "unknown").
TEST(Result, EveryErrcHasAStableName) {
    const std::vector<std::string_view> names = {"ok",
                                                 "timeout",
                                                 "unreachable",
                                                 "no_such_process",
                                                 "no_such_operation",
                                                 "closed",
                                                 "queue_full",
                                                 "would_block",
                                                 "too_large",
                                                 "invalid_argument",
                                                 "malformed",
                                                 "peer_restarted",
                                                 "request_lost",
                                                 "response_lost",
                                                 "server_crashed",
                                                 "application_error",
                                                 "access_denied",
                                                 "io_error",
                                                 "storage_error",
                                                 "already_exists",
                                                 "not_found"};
    for (std::size_t value = 0; value < names.size(); ++value) {
        EXPECT_EQ(errc_name(static_cast<Errc>(value)), names[value]) << value;
    }
    EXPECT_EQ(static_cast<std::size_t>(Errc::not_found) + 1, names.size());  // The last code.
    for (std::size_t value = names.size(); value <= 255; ++value) {
        EXPECT_EQ(errc_name(static_cast<Errc>(value)), "unknown") << value;
    }
}

}  // namespace
}  // namespace herald

// Result, Error and HERALD_TRY: errors propagate with their code and detail.
#include "core/result.h"

#include <gtest/gtest.h>

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

TEST(Result, EveryErrcHasAStableName) {
    EXPECT_EQ(errc_name(Errc::timeout), "timeout");
    EXPECT_EQ(errc_name(Errc::not_found), "not_found");
    EXPECT_EQ(errc_name(Errc::server_crashed), "server_crashed");
}

}  // namespace
}  // namespace herald

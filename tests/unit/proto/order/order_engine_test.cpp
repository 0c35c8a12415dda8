// Unit tests of the ordering engine driven by hand. Layer: tests/unit/proto/order.
#include "proto/order/order_engine.h"

#include <gtest/gtest.h>

namespace herald::proto::order {
namespace {

TEST(OrderEngine, Placeholder) {
    SUCCEED();
}

}  // namespace
}  // namespace herald::proto::order

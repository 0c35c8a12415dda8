// Unit tests of typed bodies: pack/unpack round trips, bounded parsing, JSON rendering.
// Layer: wire.
#include "wire/body.h"

#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <vector>

namespace herald::wire {
namespace {

struct Order {
    std::string item;
    std::int64_t quantity = 0;
    std::vector<double> prices;
    std::vector<std::uint8_t> blob;  // Packed as MessagePack bin.
    MSGPACK_DEFINE_MAP(item, quantity, prices, blob)
};

TEST(Body, RoundTripsAStructAsAMap) {
    const Order order{"tea", -3, {1.5, 2.25}, {0, 1, 254, 255}};
    auto bytes = pack(order);
    ASSERT_TRUE(bytes.has_value());
    auto back = unpack<Order>(*bytes);
    ASSERT_TRUE(back.has_value()) << back.error().to_string();
    EXPECT_EQ(back->item, "tea");
    EXPECT_EQ(back->quantity, -3);
    EXPECT_EQ(back->prices, order.prices);
    EXPECT_EQ(back->blob, order.blob);
}

TEST(Body, RoundTripsStandardTypes) {
    const std::map<std::string, std::vector<int>> value{{"a", {1, 2}}, {"b", {}}};
    auto back = unpack<std::map<std::string, std::vector<int>>>(*pack(value));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, value);
    auto text = unpack<std::string>(*pack(std::string("hi")));
    ASSERT_TRUE(text.has_value());
    EXPECT_EQ(*text, "hi");
}

TEST(Body, PackAppendAddsToExistingBytes) {
    Bytes out{0xAA};
    ASSERT_TRUE(pack_append(7, out).has_value());
    EXPECT_EQ(out, (Bytes{0xAA, 0x07}));
}

TEST(Body, RejectsAWrongShapeAsMalformed) {
    auto wrong = unpack<Order>(*pack(std::string("not an order")));
    ASSERT_FALSE(wrong.has_value());
    EXPECT_EQ(wrong.error().code, Errc::malformed);
    auto narrow = unpack<std::uint8_t>(*pack(1000));
    ASSERT_FALSE(narrow.has_value());
    EXPECT_EQ(narrow.error().code, Errc::malformed);
}

TEST(Body, RejectsEmptyTruncatedAndTrailingBytes) {
    EXPECT_EQ(unpack<int>(ByteView{}).error().code, Errc::malformed);
    Bytes bytes = *pack(std::string("hello"));
    Bytes truncated(bytes.begin(), bytes.end() - 1);
    EXPECT_EQ(unpack<std::string>(truncated).error().code, Errc::malformed);
    Bytes trailing = bytes;
    trailing.push_back(0xC0);
    EXPECT_EQ(unpack<std::string>(trailing).error().code, Errc::malformed);
    EXPECT_EQ(parse_body(Bytes{0xC1}).error().code, Errc::malformed);  // 0xC1 is never used.
}

TEST(Body, RefusesContainersThatAnnounceMoreElementsThanBytes) {
    // array32 announcing 2^32 - 1 elements in 5 bytes: must fail fast, not allocate.
    const Bytes huge_array{0xDD, 0xFF, 0xFF, 0xFF, 0xFF};
    EXPECT_EQ(parse_body(huge_array).error().code, Errc::malformed);
    const Bytes huge_map{0xDF, 0xFF, 0xFF, 0xFF, 0xFF};
    EXPECT_EQ(parse_body(huge_map).error().code, Errc::malformed);
    const Bytes huge_string{0xDB, 0xFF, 0xFF, 0xFF, 0xFF, 'a'};
    EXPECT_EQ(parse_body(huge_string).error().code, Errc::malformed);
}

TEST(Body, RefusesNestingDeeperThanTheLimit) {
    Bytes ok(body_depth_max, 0x91);  // fixarray of one element, nested.
    ok.push_back(0xC0);
    EXPECT_TRUE(parse_body(ok).has_value());
    Bytes deep(body_depth_max + 1, 0x91);
    deep.push_back(0xC0);
    EXPECT_EQ(parse_body(deep).error().code, Errc::malformed);
}

// Maps keyed by maps keyed by maps...: each level escapes the key's text once more. Without a
// bound, this 81-byte body rendered as 2^40 bytes (found by body_decode_fuzz).
TEST(Body, KeysNestedInKeysRenderInBoundedSpace) {
    Bytes nested(40, 0x81);  // fixmap of one entry whose key is the next fixmap.
    nested.insert(nested.end(), 41, 0xC0);
    auto json = body_to_json(nested);
    ASSERT_TRUE(json.has_value());
    EXPECT_LT(json->size(), nested.size() * (std::size_t{1} << body_key_depth_max) * 8);
    Bytes two{0x81, 0x81, 0xC0, 0xC0, 0xC0};  // {{nil: nil}: nil}
    EXPECT_EQ(*body_to_json(two), R"({"{\"null\":null}":null})");
    Bytes shallow(body_key_depth_max, 0x81);  // Every key rendered in full.
    shallow.insert(shallow.end(), body_key_depth_max + 1, 0xC0);
    EXPECT_EQ(body_to_json(shallow)->find("..."), std::string::npos);
    Bytes deep(body_key_depth_max + 1, 0x81);  // The innermost key is "...".
    deep.insert(deep.end(), body_key_depth_max + 2, 0xC0);
    EXPECT_NE(body_to_json(deep)->find("..."), std::string::npos);
}

TEST(Body, RendersJson) {
    const Order order{"tea \"green\"\n", -3, {1.5, 0.1}, {0xFB, 0xFF}};
    auto json = body_to_json(*pack(order));
    ASSERT_TRUE(json.has_value());
    EXPECT_EQ(*json, R"({"item":"tea \"green\"\n","quantity":-3,"prices":[1.5,0.1],)"
                     R"("blob":{"$base64":"+/8="}})");
}

TEST(Body, RendersScalarsAndOddKeysAsJson) {
    std::map<int, msgpack::type::nil_t> int_keys{{1, {}}};
    EXPECT_EQ(*body_to_json(*pack(int_keys)), R"({"1":null})");
    EXPECT_EQ(*body_to_json(*pack(true)), "true");
    EXPECT_EQ(*body_to_json(*pack(std::numeric_limits<std::uint64_t>::max())),
              "18446744073709551615");
    EXPECT_EQ(*body_to_json(*pack(std::numeric_limits<double>::quiet_NaN())), "null");
    EXPECT_EQ(*body_to_json(*pack(0.25f)), "0.25");
    EXPECT_EQ(*body_to_json(*pack(std::string("\x01"))), R"("\u0001")");
    const Bytes ext{0xD4, 0x05, 0xAB};  // fixext1, type 5, data 0xAB.
    EXPECT_EQ(*body_to_json(ext), R"({"$ext":5,"$base64":"qw=="})");
}

TEST(Body, ReplacesInvalidUtf8InJson) {
    EXPECT_EQ(*body_to_json(*pack(std::string("a\xFF"
                                              "b"))),
              "\"a\xEF\xBF\xBD"
              "b\"");
    EXPECT_EQ(*body_to_json(*pack(std::string("\xC3\xA9"))), "\"\xC3\xA9\"");  // é is kept.
    EXPECT_EQ(*body_to_json(*pack(std::string("\xED\xA0\x80"))),  // A surrogate: 3 bad bytes.
              "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
    EXPECT_EQ(*body_to_json(*pack(std::string("\xF0\x9F\x98\x80"))), "\"\xF0\x9F\x98\x80\"");
}

TEST(Body, Base64PadsEveryRemainder) {
    EXPECT_EQ(*body_to_json(*pack(std::vector<std::uint8_t>{})), R"({"$base64":""})");
    EXPECT_EQ(*body_to_json(*pack(std::vector<std::uint8_t>{'M'})), R"({"$base64":"TQ=="})");
    EXPECT_EQ(*body_to_json(*pack(std::vector<std::uint8_t>{'M', 'a'})), R"({"$base64":"TWE="})");
    EXPECT_EQ(*body_to_json(*pack(std::vector<std::uint8_t>{'M', 'a', 'n'})),
              R"({"$base64":"TWFu"})");
}

}  // namespace
}  // namespace herald::wire

// The etcd client's pure parts (docs/coordination.md "The etcd client"): base64 as etcd's JSON
// gateway writes keys and values, the range end of a key prefix, and option checks. No etcd,
// no sockets.
#include <gtest/gtest.h>

#include <string>

#include "runtime/coord/etcd_client.h"

namespace herald::runtime::coord {
namespace {

TEST(EtcdCodec, Base64MatchesRfc4648Vectors) {
    const std::pair<std::string, std::string> vectors[] = {{"", ""},
                                                           {"f", "Zg=="},
                                                           {"fo", "Zm8="},
                                                           {"foo", "Zm9v"},
                                                           {"foob", "Zm9vYg=="},
                                                           {"fooba", "Zm9vYmE="},
                                                           {"foobar", "Zm9vYmFy"}};
    for (const auto& [plain, coded] : vectors) {
        EXPECT_EQ(base64_encode(plain), coded);
        auto back = base64_decode(coded);
        ASSERT_TRUE(back) << coded;
        EXPECT_EQ(*back, plain);
    }
}

TEST(EtcdCodec, Base64RoundTripsEveryByteAtEveryLength) {
    std::string bytes;
    for (int n = 0; n < 300; ++n) {
        auto back = base64_decode(base64_encode(bytes));
        ASSERT_TRUE(back) << n;
        EXPECT_EQ(*back, bytes) << n;
        bytes += static_cast<char>((n * 151 + 7) & 0xff);
    }
}

TEST(EtcdCodec, Base64RefusesWhatEtcdWouldNeverWrite) {
    for (const char* bad : {"Zg", "Zg=", "Z===", "Zg=a", "Zg==Zm8=", "Zm9v!A==", "====", "Zm9\n"}) {
        auto r = base64_decode(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, Errc::malformed) << bad;
    }
}

TEST(EtcdCodec, PrefixEndIsTheFirstKeyAfterThePrefix) {
    EXPECT_EQ(prefix_end("/herald/names/"), "/herald/names0");
    EXPECT_EQ(prefix_end("a\xff"), "b");
    EXPECT_EQ(prefix_end("\xff\xff"), std::string(1, '\0'));
    EXPECT_EQ(prefix_end(""), std::string(1, '\0'));
}

TEST(EtcdCodec, OptionsAreCheckedNamingTheField) {
    EtcdOptions o;
    EXPECT_NE(check_etcd_options(o).error().detail.find("etcd_endpoints"), std::string::npos);
    for (const char* bad : {"127.0.0.1:2379", "http://host", "http://:2379", "http://h:23x9",
                            "http://h:2379/v3", "ftp://h:2379"}) {
        o.endpoints = {bad};
        auto r = check_etcd_options(o);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, Errc::invalid_argument);
        EXPECT_NE(r.error().detail.find(bad), std::string::npos) << r.error().detail;
    }
    o.endpoints = {"http://127.0.0.1:2379", "https://[::1]:2379", "https://etcd-1:2379"};
    EXPECT_TRUE(check_etcd_options(o));
    o.timeout = Duration::milliseconds(50);
    EXPECT_NE(check_etcd_options(o).error().detail.find("etcd_timeout"), std::string::npos);
    o.timeout = Duration::seconds(2);
    o.lease_ttl = Duration::seconds(1);
    EXPECT_NE(check_etcd_options(o).error().detail.find("etcd_lease_ttl"), std::string::npos);
    o.lease_ttl = Duration::seconds(10);
    o.prefix = "herald/";
    EXPECT_NE(check_etcd_options(o).error().detail.find("etcd_prefix"), std::string::npos);
    o.prefix = "/herald/";
    o.cert_file = "/etc/hostname";  // Readable, but without its key.
    EXPECT_NE(check_etcd_options(o).error().detail.find("go together"), std::string::npos);
}

}  // namespace
}  // namespace herald::runtime::coord

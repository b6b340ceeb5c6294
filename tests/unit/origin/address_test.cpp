#include "seedcast/origin/address.hpp"

#include <gtest/gtest.h>

namespace seedcast::origin {
namespace {

TEST(Address, RefusesEveryNonPublicIPv4Range) {
  for (const char* a : {"0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "100.64.0.1", "100.127.255.254",
                        "127.0.0.1", "127.8.9.10", "169.254.169.254", "172.16.0.1", "172.31.255.255", "192.0.0.8",
                        "192.0.2.1", "192.168.1.1", "198.18.0.1", "198.19.255.255", "198.51.100.7", "203.0.113.9",
                        "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255"}) {
    EXPECT_TRUE(is_private_literal(a)) << a;
  }
  for (const char* a : {"1.1.1.1", "8.8.8.8", "9.255.255.255", "11.0.0.1", "100.63.255.255", "100.128.0.1",
                        "126.255.255.255", "128.0.0.1", "169.253.0.1", "172.15.255.255", "172.32.0.1",
                        "192.167.1.1", "192.169.0.1", "198.20.0.1", "223.255.255.255"}) {
    EXPECT_FALSE(is_private_literal(a)) << a;
  }
}

TEST(Address, RefusesEveryNonPublicIPv6RangeAndEmbeddedIPv4) {
  for (const char* a : {"::", "::1", "fe80::1", "febf::1", "fc00::1", "fd12:3456::1", "fec0::1", "ff02::1",
                        "ff05::2", "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254", "::127.0.0.1",
                        "64:ff9b::a9fe:a9fe", "64:ff9b:1::1", "2002:7f00:1::", "2002:c0a8:101::1", "2001:db8::1",
                        "100::1"}) {
    EXPECT_TRUE(is_private_literal(a)) << a;
  }
  for (const char* a : {"2001:4860:4860::8888", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808",
                        "2002:808:808::1", "fe00::1"}) {
    EXPECT_FALSE(is_private_literal(a)) << a;
  }
}

TEST(Address, NamesAreNotLiterals) {
  EXPECT_FALSE(is_private_literal("localhost"));
  EXPECT_FALSE(is_private_literal(""));
  EXPECT_FALSE(is_private_literal("127.0.0.1.example.com"));
}

}  // namespace
}  // namespace seedcast::origin

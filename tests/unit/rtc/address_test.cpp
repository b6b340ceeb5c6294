#include "seedcast/rtc/address.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include <unordered_set>

namespace seedcast::rtc {
namespace {

TEST(RtcAddress, ParsesPrintsAndMapsIpv4InIpv6) {
  auto a = Address::parse("192.0.2.1", 5000);
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->v6);
  EXPECT_EQ(a->to_string(), "192.0.2.1:5000");
  auto b = Address::parse("2001:DB8::1", 9);
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->v6);
  EXPECT_EQ(b->to_string(), "[2001:db8::1]:9");
  auto m = Address::parse("::ffff:192.0.2.1", 5000);
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, *a);
  EXPECT_FALSE(Address::parse("host.example", 1));
  EXPECT_FALSE(Address::parse("1.2.3", 1));
}

TEST(RtcAddress, SockaddrRoundTripsAndHashes) {
  auto a = *Address::parse("127.0.0.1", 40000);
  sockaddr_storage ss;
  ASSERT_EQ(a.to_sockaddr(ss, AF_INET6), sizeof(sockaddr_in6));  // IPv4-mapped on a dual-stack socket
  EXPECT_EQ(Address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss)), a);
  ASSERT_EQ(a.to_sockaddr(ss, AF_INET), sizeof(sockaddr_in));
  EXPECT_EQ(Address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss)), a);
  auto b = *Address::parse("::1", 40000);
  b.to_sockaddr(ss, AF_INET6);
  EXPECT_EQ(Address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss)), b);
  std::unordered_set<Address, AddressHash> set{a, b, *Address::parse("127.0.0.1", 40001)};
  EXPECT_EQ(set.size(), 3u);
  EXPECT_EQ(set.count(*Address::parse("::ffff:127.0.0.1", 40000)), 1u);
}

}  // namespace
}  // namespace seedcast::rtc

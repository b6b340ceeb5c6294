#include "seedcast/origin/allow_list.hpp"
#include "seedcast/origin/url.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace seedcast::origin {
namespace {

TEST(AllowList, ExactNamesAreCaseInsensitiveAndIgnoreATrailingDot) {
  auto a = AllowList::from_list("cdn.example.com, Media.Example.ORG");
  EXPECT_TRUE(a.allows("cdn.example.com"));
  EXPECT_TRUE(a.allows("CDN.Example.com"));
  EXPECT_TRUE(a.allows("cdn.example.com."));
  EXPECT_TRUE(a.allows("media.example.org"));
  EXPECT_FALSE(a.allows("example.com"));
  EXPECT_FALSE(a.allows("xcdn.example.com"));
  EXPECT_FALSE(a.allows("cdn.example.com.evil.net"));
  EXPECT_FALSE(a.allows(""));
}

TEST(AllowList, GlobsMatchSubdomainsOnly) {
  auto a = AllowList::from_list("*.cdn.example.com video-?.example.net");
  EXPECT_TRUE(a.allows("a.cdn.example.com"));
  EXPECT_TRUE(a.allows("a.b.cdn.example.com"));
  EXPECT_TRUE(a.allows("A.CDN.EXAMPLE.COM"));
  EXPECT_FALSE(a.allows("cdn.example.com"));
  EXPECT_FALSE(a.allows("evilcdn.example.com"));
  EXPECT_FALSE(a.allows("a.cdn.example.com.evil.net"));
  EXPECT_TRUE(a.allows("video-1.example.net"));
  EXPECT_FALSE(a.allows("video-12.example.net"));
}

TEST(AllowList, EmptyAllowsNothing) {
  AllowList a = AllowList::from_list(" , ,");
  EXPECT_TRUE(a.empty());
  EXPECT_FALSE(a.allows("localhost"));
}

TEST(AllowList, IpLiteralsAndBracketedV6) {
  auto a = AllowList::from_list("127.0.0.1,[::1]");
  EXPECT_TRUE(a.allows("127.0.0.1"));
  EXPECT_TRUE(a.allows("::1"));
  EXPECT_FALSE(a.allows("127.0.0.2"));
}

// An address is compared in the one form a URL's host takes, however either was written.
TEST(AllowList, AddressesInTheirCanonicalForm) {
  auto a = AllowList::from_list("2130706433,[0:0::1],0x0a.1");
  EXPECT_EQ(a.patterns(), (std::vector<std::string>{"127.0.0.1", "::1", "10.0.0.1"}));
  EXPECT_TRUE(a.allows(parse_url("http://127.1/x")->host));
  EXPECT_TRUE(a.allows(parse_url("http://[::1]/x")->host));
  EXPECT_TRUE(a.allows(parse_url("http://10.0.0.1./x")->host));
  EXPECT_TRUE(a.allows("0x7f.0.0.1"));
  EXPECT_FALSE(a.allows("127.0.0.2"));
  EXPECT_TRUE(AllowList::from_list("2.").allows(parse_url("http://2./x")->host));
}

TEST(AllowList, ReadsAJsonArrayOrObject) {
  test::TempDir dir;
  test::write_file(dir / "a.json", R"(["cdn.example.com", "*.media.example.com"])");
  auto a = AllowList::from_json_file(dir / "a.json");
  EXPECT_TRUE(a.allows("cdn.example.com"));
  EXPECT_TRUE(a.allows("x.media.example.com"));
  test::write_file(dir / "b.json", R"({"allowedDomains": ["b.example.com"]})");
  EXPECT_TRUE(AllowList::from_json_file(dir / "b.json").allows("b.example.com"));
  test::write_file(dir / "bad.json", R"({"x": 1})");
  EXPECT_THROW(AllowList::from_json_file(dir / "bad.json"), std::runtime_error);
  test::write_file(dir / "bad2.json", R"(["a", 3])");
  EXPECT_THROW(AllowList::from_json_file(dir / "bad2.json"), std::runtime_error);
  EXPECT_THROW(AllowList::from_json_file(dir / "missing.json"), std::runtime_error);
  a.add(AllowList::from_list("other.example.com"));
  EXPECT_TRUE(a.allows("other.example.com"));
}

}  // namespace
}  // namespace seedcast::origin

#include "seedcast/http/range.hpp"

#include <gtest/gtest.h>

namespace seedcast::http {
namespace {
using Kind = RangeResult::Kind;

RangeResult parse(std::string_view v, uint64_t len = 1000, size_t max = 16) { return parse_range(v, len, max); }

TEST(Range, ClosedRange) {
  auto r = parse("bytes=0-99");
  ASSERT_EQ(r.kind, Kind::satisfiable);
  ASSERT_EQ(r.ranges.size(), 1u);
  EXPECT_EQ(r.ranges[0], (ByteRange{0, 99}));
  EXPECT_EQ(r.ranges[0].length(), 100u);
}

TEST(Range, OpenEndedAndSuffix) {
  EXPECT_EQ(parse("bytes=900-").ranges.at(0), (ByteRange{900, 999}));
  EXPECT_EQ(parse("bytes=-100").ranges.at(0), (ByteRange{900, 999}));
  EXPECT_EQ(parse("bytes=-5000").ranges.at(0), (ByteRange{0, 999}));  // suffix longer than the file
  EXPECT_EQ(parse("bytes=999-999").ranges.at(0), (ByteRange{999, 999}));
}

TEST(Range, LastPositionIsClippedToTheLength) {
  EXPECT_EQ(parse("bytes=500-5000").ranges.at(0), (ByteRange{500, 999}));
  EXPECT_EQ(parse("bytes=0-18446744073709551615").ranges.at(0), (ByteRange{0, 999}));
  EXPECT_EQ(parse("bytes=0-99999999999999999999999").ranges.at(0), (ByteRange{0, 999}));
}

TEST(Range, Unsatisfiable) {
  EXPECT_EQ(parse("bytes=1000-").kind, Kind::unsatisfiable);
  EXPECT_EQ(parse("bytes=1000-2000").kind, Kind::unsatisfiable);
  EXPECT_EQ(parse("bytes=-0").kind, Kind::unsatisfiable);
  EXPECT_EQ(parse("bytes=0-0", 0).kind, Kind::unsatisfiable);  // empty representation
  EXPECT_EQ(parse("bytes=99999999999999999999999-").kind, Kind::unsatisfiable);
}

TEST(Range, SeveralRangesKeepRequestOrder) {
  auto r = parse("bytes=500-599, 0-9 ,-10");
  ASSERT_EQ(r.kind, Kind::satisfiable);
  ASSERT_EQ(r.ranges.size(), 3u);
  EXPECT_EQ(r.ranges[0], (ByteRange{500, 599}));
  EXPECT_EQ(r.ranges[1], (ByteRange{0, 9}));
  EXPECT_EQ(r.ranges[2], (ByteRange{990, 999}));
}

TEST(Range, UnsatisfiableMembersAreDroppedWhenOthersAreSatisfiable) {
  auto r = parse("bytes=5000-6000,0-0");
  ASSERT_EQ(r.kind, Kind::satisfiable);
  ASSERT_EQ(r.ranges.size(), 1u);
  EXPECT_EQ(r.ranges[0], (ByteRange{0, 0}));
}

TEST(Range, TooMany) {
  std::string v = "bytes=0-0";
  for (int i = 1; i < 17; ++i) v += "," + std::to_string(i) + "-" + std::to_string(i);
  EXPECT_EQ(parse(v, 1000, 16).kind, Kind::too_many);
  EXPECT_EQ(parse("bytes=0-0,1-1", 1000, 2).kind, Kind::satisfiable);
  EXPECT_EQ(parse("bytes=0-0,1-1,2-2", 1000, 2).kind, Kind::too_many);
}

TEST(Range, InvalidSyntaxIsIgnored) {
  for (const char* v : {"", "bytes", "bytes=", "bytes=abc", "bytes=5-3", "bytes=1-2-3", "items=0-1", "bytes=0x1-2",
                        "bytes=-", "bytes= - ", "bytes=+1-2", "bytes=1-+2", "bytes=0-1,x", "bytes=,,", "bytes 0-1"}) {
    EXPECT_EQ(parse(v).kind, Kind::none) << v;
  }
}

TEST(Range, UnitIsCaseInsensitiveAndWhitespaceTolerated) {
  EXPECT_EQ(parse("Bytes=0-1").kind, Kind::satisfiable);
  EXPECT_EQ(parse("  bytes=0-1  ").kind, Kind::satisfiable);
  EXPECT_EQ(parse("bytes=0-1,,2-3").ranges.size(), 2u);
}

}  // namespace
}  // namespace seedcast::http

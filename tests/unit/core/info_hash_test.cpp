#include "seedcast/core/info_hash.hpp"

#include <gtest/gtest.h>

namespace seedcast {
namespace {

TEST(InfoHash, HexRoundTripAcceptsEitherCase) {
  auto h = InfoHash::from_hex("053178313D2010436197e454511d8473bf30c616");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->hex(), "053178313d2010436197e454511d8473bf30c616");
  EXPECT_EQ(h->bytes()[0], 0x05);
  EXPECT_EQ(h->bytes()[19], 0x16);
}

TEST(InfoHash, RejectsAnythingButFortyHexDigits) {
  EXPECT_FALSE(InfoHash::from_hex(""));
  EXPECT_FALSE(InfoHash::from_hex("053178313d2010436197e454511d8473bf30c61"));
  EXPECT_FALSE(InfoHash::from_hex("053178313d2010436197e454511d8473bf30c6161"));
  EXPECT_FALSE(InfoHash::from_hex("g53178313d2010436197e454511d8473bf30c616"));
  EXPECT_FALSE(InfoHash::from_hex(std::string("053178313d2010436197e454511d8473bf30c61\0", 40)));
}

}  // namespace
}  // namespace seedcast

#include "seedcast/rtc/stun.hpp"

#include <gtest/gtest.h>

#include "rtc/stun_builder.hpp"

namespace seedcast::rtc {
namespace {

using test::hex;
using test::StunBuilder;

using test::kRfcIpv4Response;
using test::kRfcIpv6Response;
using test::kRfcKey;
using test::kRfcRequest;

stun::TransactionId rfc_transaction() {
  stun::TransactionId t{};
  auto b = hex("b7 e7 a7 01 bc 34 d6 86 fa 87 df ae");
  std::copy(b.begin(), b.end(), t.begin());
  return t;
}

TEST(StunParse, Rfc5769SampleRequest) {
  ASSERT_TRUE(stun::is_stun(kRfcRequest));
  auto m = stun::parse(kRfcRequest);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, stun::kBindingRequest);
  EXPECT_EQ(m->transaction, rfc_transaction());
  ASSERT_TRUE(m->username);
  EXPECT_EQ(*m->username, "evtj:h6vY");
  EXPECT_EQ(m->priority, 0x6e0001ffu);
  EXPECT_EQ(m->ice_controlled, 0x932ff9b151263b36ull);
  EXPECT_FALSE(m->ice_controlling);
  EXPECT_FALSE(m->use_candidate);
  EXPECT_TRUE(m->fingerprint);
  EXPECT_EQ(m->integrity_at, 20u + 20 + 8 + 12 + 16);
  EXPECT_TRUE(m->unknown_required.empty());  // SOFTWARE (0x8022) is comprehension-optional
  EXPECT_TRUE(stun::check_integrity(kRfcRequest, *m, kRfcKey));
  EXPECT_FALSE(stun::check_integrity(kRfcRequest, *m, "VOkJxbRl1RmTxUk/WvJxBu"));
  EXPECT_FALSE(stun::check_integrity(kRfcRequest, *m, ""));
}

TEST(StunParse, Rfc5769Ipv4Response) {
  auto m = stun::parse(kRfcIpv4Response);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, stun::kBindingSuccess);
  EXPECT_TRUE(m->fingerprint);
  EXPECT_TRUE(stun::check_integrity(kRfcIpv4Response, *m, kRfcKey));
  EXPECT_EQ(stun::mapped_address(kRfcIpv4Response), Address::parse("192.0.2.1", 32853));
}

TEST(StunParse, Rfc5769Ipv6Response) {
  auto m = stun::parse(kRfcIpv6Response);
  ASSERT_TRUE(m);
  EXPECT_TRUE(stun::check_integrity(kRfcIpv6Response, *m, kRfcKey));
  auto a = stun::mapped_address(kRfcIpv6Response);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->v6);
  EXPECT_EQ(a->to_string(), "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
}

// The test builder, fed the RFC's attributes, yields the RFC's bytes: its HMAC and CRC are the
// RFC's, so the messages built with it in these tests are right.
TEST(StunParse, BuilderReproducesRfc5769Request) {
  auto built = StunBuilder(stun::kBindingRequest, rfc_transaction())
                   .text(stun::attr::kSoftware, "STUN test client")
                   .u32(stun::attr::kPriority, 0x6e0001ff)
                   .u64(stun::attr::kIceControlled, 0x932ff9b151263b36ull)
                   .text(stun::attr::kUsername, "evtj:h6vY", 0x20)
                   .integrity(kRfcKey)
                   .fingerprint()
                   .bytes();
  EXPECT_EQ(built, kRfcRequest);
}

// The writer's XOR-MAPPED-ADDRESS is the RFC's for the RFC's transaction and addresses.
TEST(StunWrite, XorMappedAddressMatchesRfc5769) {
  const auto t = rfc_transaction();
  auto v4 = stun::binding_success(t, *Address::parse("192.0.2.1", 32853), kRfcKey);
  EXPECT_EQ(stun::find_attribute(v4, stun::attr::kXorMappedAddress)
                .value_or(std::span<const uint8_t>())
                .size(),
            8u);
  auto v4_value = *stun::find_attribute(v4, stun::attr::kXorMappedAddress);
  EXPECT_EQ(std::vector<uint8_t>(v4_value.begin(), v4_value.end()), hex("00 01 a1 47 e1 12 a6 43"));
  auto v6 = stun::binding_success(t, *Address::parse("2001:db8:1234:5678:11:2233:4455:6677", 32853),
                                  kRfcKey);
  auto v6_value = *stun::find_attribute(v6, stun::attr::kXorMappedAddress);
  EXPECT_EQ(std::vector<uint8_t>(v6_value.begin(), v6_value.end()),
            hex("00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9"));
  // The whole message: what the builder makes of the same attributes, byte for byte.
  EXPECT_EQ(v4, StunBuilder(stun::kBindingSuccess, t)
                    .attr(stun::attr::kXorMappedAddress, hex("00 01 a1 47 e1 12 a6 43"))
                    .integrity(kRfcKey)
                    .fingerprint()
                    .bytes());
}

TEST(StunWrite, SuccessRoundTrips) {
  const stun::TransactionId t{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  for (const char* ip : {"127.0.0.1", "203.0.113.9", "::1", "2001:db8::42", "::ffff:10.0.0.1"}) {
    const auto from = *Address::parse(ip, 61000);
    auto d = stun::binding_success(t, from, "pwd");
    auto m = stun::parse(d);
    ASSERT_TRUE(m) << ip;
    EXPECT_EQ(m->type, stun::kBindingSuccess);
    EXPECT_EQ(m->transaction, t);
    EXPECT_TRUE(m->fingerprint);
    EXPECT_TRUE(stun::check_integrity(d, *m, "pwd"));
    EXPECT_FALSE(stun::check_integrity(d, *m, "pwe"));
    EXPECT_EQ(stun::mapped_address(d), from) << ip;
    EXPECT_FALSE(stun::error_code(d));
  }
}

TEST(StunWrite, RequestRoundTrips) {
  const stun::TransactionId t{9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 1};
  for (bool nominate : {false, true}) {
    auto d = stun::binding_request(t, "srv1:brw2", "a-password", 1845501695, 0x0102030405060708ull,
                                   nominate);
    auto m = stun::parse(d);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->type, stun::kBindingRequest);
    EXPECT_EQ(m->username, "srv1:brw2");
    EXPECT_EQ(m->priority, 1845501695u);
    EXPECT_EQ(m->ice_controlling, 0x0102030405060708ull);
    EXPECT_FALSE(m->ice_controlled);
    EXPECT_EQ(m->use_candidate, nominate);
    EXPECT_TRUE(m->fingerprint);
    EXPECT_TRUE(stun::check_integrity(d, *m, "a-password"));
    EXPECT_FALSE(stun::mapped_address(d));  // not a success response
  }
}

TEST(StunWrite, ErrorResponses) {
  const stun::TransactionId t{};
  auto e401 = stun::binding_error(t, 401, "Unauthorized", {});
  auto m = stun::parse(e401);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, stun::kBindingError);
  EXPECT_EQ(stun::error_code(e401), 401);
  EXPECT_EQ(m->integrity_at, 0u);
  EXPECT_TRUE(m->fingerprint);
  // ERROR-CODE: two zero bytes, class 4, number 1, the reason; padded to 4 bytes.
  auto v = *stun::find_attribute(e401, stun::attr::kErrorCode);
  EXPECT_EQ(std::string(v.begin(), v.end()), std::string("\0\0\x04\x01Unauthorized", 16));

  const uint16_t unknown[] = {0x0003, 0x7777, 0x0031};
  auto e420 = stun::binding_error(t, 420, "Unknown Attribute", "key", unknown);
  m = stun::parse(e420);
  ASSERT_TRUE(m);
  EXPECT_EQ(stun::error_code(e420), 420);
  EXPECT_TRUE(stun::check_integrity(e420, *m, "key"));
  auto list = *stun::find_attribute(e420, stun::attr::kUnknownAttributes);
  EXPECT_EQ(std::vector<uint8_t>(list.begin(), list.end()), hex("0003 7777 0031"));

  auto e487 = stun::binding_error(t, 487, "Role Conflict", "key");
  EXPECT_EQ(stun::error_code(e487), 487);
  EXPECT_FALSE(stun::find_attribute(e487, stun::attr::kUnknownAttributes));

  // A reason past 127 bytes is cut, never inside a UTF-8 character.
  std::string reason(126, 'x');
  reason += "\xc3\xa9\xc3\xa9";  // é é: the first straddles byte 127
  auto long_reason = stun::binding_error(t, 500, reason, {});
  auto r = *stun::find_attribute(long_reason, stun::attr::kErrorCode);
  EXPECT_EQ(std::string(r.begin() + 4, r.end()), std::string(126, 'x'));
  EXPECT_EQ(stun::error_code(long_reason), 500);
}

TEST(StunParse, NoPrefixOrBitFlipPassesAsAuthentic) {
  // The header's length covers the whole datagram: no truncation is read.
  for (size_t n = 0; n < kRfcRequest.size(); ++n)
    EXPECT_FALSE(stun::parse(std::span(kRfcRequest).first(n))) << n;
  // A single changed bit either makes the message malformed, or leaves one whose FINGERPRINT
  // and MESSAGE-INTEGRITY are no longer both there and right (a longer USERNAME length, for
  // one, swallows both into its value: well-formed, but not authentic).
  size_t refused = 0;
  for (size_t i = 0; i < kRfcRequest.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      auto d = kRfcRequest;
      d[i] ^= static_cast<uint8_t>(1 << bit);
      auto m = stun::parse(d);
      refused += !m;
      if (m) {
        EXPECT_FALSE(m->fingerprint && stun::check_integrity(d, *m, kRfcKey)) << i << ":" << bit;
      }
    }
  }
  EXPECT_GT(refused, kRfcRequest.size() * 8 - 8);
}

TEST(StunParse, RefusesMalformedHeaders) {
  const stun::TransactionId t{};
  auto ok = StunBuilder(stun::kBindingRequest, t).fingerprint().bytes();
  ASSERT_TRUE(stun::parse(ok));
  auto d = ok;
  d[0] |= 0x40;  // top bits must be zero (RFC 7983: not STUN)
  EXPECT_FALSE(stun::parse(d));
  d = ok;
  d[7] ^= 1;  // magic cookie
  EXPECT_FALSE(stun::parse(d));
  d = ok;
  d.push_back(0);  // length no longer matches
  EXPECT_FALSE(stun::parse(d));
  // An RFC 3489 message (no cookie) is not read.
  EXPECT_FALSE(stun::parse(hex("0001 0000 00000000 000000000000000000000000")));
  EXPECT_TRUE(stun::parse(hex("0001 0000 2112a442 000000000000000000000000")));  // no attributes
  // Length not a multiple of 4.
  EXPECT_FALSE(stun::parse(hex("0001 0002 2112a442 000000000000000000000000 0000")));
  EXPECT_FALSE(stun::is_stun(std::vector<uint8_t>{}));
  EXPECT_FALSE(stun::is_stun(std::vector<uint8_t>{22, 254, 253}));  // a DTLS record
}

TEST(StunParse, RefusesBadAttributes) {
  const stun::TransactionId t{};
  auto base = [&] { return StunBuilder(stun::kBindingRequest, t); };
  // An attribute longer than what is left.
  EXPECT_FALSE(stun::parse(hex("0001 0008 2112a442 000000000000000000000000 0006 0005 61626364")));
  // Known attributes with the wrong length.
  EXPECT_FALSE(stun::parse(base().attr(stun::attr::kPriority, {1, 2, 3}).bytes()));
  EXPECT_FALSE(stun::parse(base().attr(stun::attr::kUseCandidate, {1}).bytes()));
  EXPECT_FALSE(stun::parse(base().attr(stun::attr::kIceControlling, {1, 2, 3, 4}).bytes()));
  EXPECT_FALSE(
      stun::parse(base().attr(stun::attr::kMessageIntegrity, std::vector<uint8_t>(32)).bytes()));
  EXPECT_FALSE(
      stun::parse(base().attr(stun::attr::kFingerprint, {1, 2, 3, 4, 5, 6, 7, 8}).bytes()));
  EXPECT_FALSE(stun::parse(base().text(stun::attr::kUsername, std::string(513, 'u')).bytes()));
  EXPECT_TRUE(stun::parse(base().text(stun::attr::kUsername, std::string(512, 'u')).bytes()));
  // Only FINGERPRINT may follow MESSAGE-INTEGRITY; nothing may follow FINGERPRINT.
  EXPECT_TRUE(stun::parse(base().integrity("k").fingerprint().bytes()));
  EXPECT_TRUE(stun::parse(base().integrity("k").bytes()));
  EXPECT_FALSE(
      stun::parse(base().integrity("k").u32(stun::attr::kPriority, 1).fingerprint().bytes()));
  EXPECT_FALSE(stun::parse(base().integrity("k").text(stun::attr::kSoftware, "x").bytes()));
  EXPECT_FALSE(stun::parse(base().integrity("k").integrity("k").fingerprint().bytes()));
  EXPECT_FALSE(stun::parse(base().fingerprint().u32(stun::attr::kPriority, 1).bytes()));
  EXPECT_FALSE(stun::parse(base().fingerprint().fingerprint().bytes()));
  // A FINGERPRINT whose CRC is wrong.
  auto d = base().u32(stun::attr::kPriority, 7).fingerprint().bytes();
  d.back() ^= 0x80;
  EXPECT_FALSE(stun::parse(d));
}

TEST(StunParse, CollectsUnknownComprehensionRequiredAttributes) {
  const stun::TransactionId t{};
  auto d = StunBuilder(stun::kBindingRequest, t)
               .text(0x0003, "a")       // CHANGE-REQUEST (RFC 5780): unknown here
               .text(0xC057, "chrome")  // GOOG-NETWORK-INFO: optional, ignored
               .text(0x7001, "b")
               .text(0x0003, "again")  // once in the list
               .text(stun::attr::kSoftware, "x")
               .fingerprint()
               .bytes();
  auto m = stun::parse(d);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->unknown_required, (std::vector<uint16_t>{0x0003, 0x7001}));
  // Bounded whatever the message holds.
  StunBuilder many(stun::kBindingRequest, t);
  for (uint16_t type = 0x4000; type < 0x4100; ++type) many.attr(type, {});
  m = stun::parse(many.bytes());
  ASSERT_TRUE(m);
  EXPECT_EQ(m->unknown_required.size(), stun::Message::kMaxUnknown);
}

TEST(StunParse, EmptyKeyIsAKeyLikeAnyOther) {
  const stun::TransactionId t{};
  auto d = StunBuilder(stun::kBindingRequest, t).integrity("").fingerprint().bytes();
  auto m = stun::parse(d);
  ASSERT_TRUE(m);
  EXPECT_TRUE(stun::check_integrity(d, *m, std::string_view()));
  EXPECT_FALSE(stun::check_integrity(d, *m, "x"));
}

TEST(StunParse, FirstOfRepeatedAttributesCounts) {
  const stun::TransactionId t{};
  auto d = StunBuilder(stun::kBindingRequest, t)
               .text(stun::attr::kUsername, "first:one")
               .text(stun::attr::kUsername, "second:one")
               .u32(stun::attr::kPriority, 1)
               .u32(stun::attr::kPriority, 2)
               .bytes();
  auto m = stun::parse(d);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->username, "first:one");
  EXPECT_EQ(m->priority, 1u);
}

TEST(StunParse, MappedAddressRefusesBadFamilies) {
  const auto t = rfc_transaction();
  auto with = [&](std::vector<uint8_t> v) {
    return StunBuilder(stun::kBindingSuccess, t)
        .attr(stun::attr::kXorMappedAddress, std::move(v))
        .bytes();
  };
  EXPECT_TRUE(stun::mapped_address(with(hex("00 01 a1 47 e1 12 a6 43"))));
  EXPECT_FALSE(stun::mapped_address(with(hex("00 03 a1 47 e1 12 a6 43"))));  // family 3
  EXPECT_FALSE(stun::mapped_address(with(hex("00 02 a1 47 e1 12 a6 43"))));  // IPv6 of 4 bytes
  EXPECT_FALSE(stun::mapped_address(with(hex("00 01 a1 47"))));
  EXPECT_FALSE(stun::mapped_address(StunBuilder(stun::kBindingSuccess, t).bytes()));  // absent
  EXPECT_FALSE(stun::mapped_address(kRfcRequest));
}

}  // namespace
}  // namespace seedcast::rtc

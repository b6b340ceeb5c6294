#include "seedcast/rtc/ice_lite.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "rtc/stun_builder.hpp"

namespace seedcast::rtc {
namespace {

using test::hex;
using test::StunBuilder;

const IceCredentials kServer{"srvU", "server-password/0123456789+"};
const IceCredentials kBrowser{"Brw1", "browser+password/abcdefgh"};
constexpr uint32_t kPriority = 1845501695;

Address addr(const char* ip, uint16_t port) { return *Address::parse(ip, port); }

stun::TransactionId tid(uint8_t n) {
  stun::TransactionId t{};
  t.fill(n);
  return t;
}

// What a browser sends: a check from the controlling side, authenticated with the server's pwd.
std::vector<uint8_t> check(uint8_t n, bool nominate, std::string_view username = "srvU:Brw1",
                           std::string_view key = kServer.pwd) {
  return stun::binding_request(tid(n), username, key, kPriority, 0xfeedface12345678ull, nominate);
}

struct Answer {
  stun::Message m;
  std::vector<uint8_t> d;
  int code = 0;  // 0: a success response
};

class IceLiteTest : public ::testing::Test {
 protected:
  IceLite ice{kServer, kBrowser};

  IceLite::Reply feed(const std::vector<uint8_t>& d, const Address& from, int64_t now = 1000) {
    auto m = stun::parse(d);
    EXPECT_TRUE(m);
    if (!m) return {};
    return ice.on_stun(d, *m, from, now);
  }
  // The reply to `d`, read back: an error response's code, its integrity (with the server's
  // pwd) and FINGERPRINT checked.
  Answer answer(const IceLite::Reply& r, bool integrity) {
    Answer a;
    a.d = r.datagram;
    auto m = stun::parse(a.d);
    EXPECT_TRUE(m);
    if (!m) return a;
    a.m = *m;
    EXPECT_TRUE(m->fingerprint);
    if (integrity) {
      EXPECT_TRUE(stun::check_integrity(a.d, *m, kServer.pwd));
    } else {
      EXPECT_EQ(m->integrity_at, 0u);
    }
    if (m->type == stun::kBindingError) {
      a.code = stun::error_code(a.d).value_or(-1);
    } else {
      EXPECT_EQ(m->type, stun::kBindingSuccess);
    }
    return a;
  }
  // The state after a refused check equals the state before it, in every observable way.
  void expect_state(const std::optional<Address>& selected,
                    const std::vector<Address>& authenticated, int64_t consent_until) {
    EXPECT_EQ(ice.selected(), selected);
    for (const auto& a : authenticated) EXPECT_TRUE(ice.authenticated(a)) << a.to_string();
    EXPECT_FALSE(ice.consent_expired(consent_until - 1));
    EXPECT_TRUE(ice.consent_expired(consent_until));
  }
};

TEST_F(IceLiteTest, ValidCheckIsAnsweredAndAuthenticates) {
  ice.start(0);
  const auto from = addr("192.0.2.7", 50001);
  EXPECT_FALSE(ice.authenticated(from));
  auto r = feed(check(1, false), from, 5000);
  EXPECT_TRUE(r.authenticated);
  auto a = answer(r, true);
  EXPECT_EQ(a.code, 0);
  EXPECT_EQ(a.m.transaction, tid(1));
  EXPECT_EQ(stun::mapped_address(a.d), from);
  EXPECT_TRUE(ice.authenticated(from));
  EXPECT_FALSE(ice.selected());  // no USE-CANDIDATE yet
  EXPECT_FALSE(ice.consent_expired(5000 + IceLite::kConsentTimeoutMs - 1));
  EXPECT_TRUE(ice.consent_expired(5000 + IceLite::kConsentTimeoutMs));
  // The session's own parameters.
  EXPECT_EQ(ice.local().ufrag, "srvU");
  EXPECT_EQ(ice.remote().ufrag, "Brw1");
}

TEST_F(IceLiteTest, UseCandidateSelectsAndLaterNominationsSwitch) {
  const auto a = addr("192.0.2.7", 50001), b = addr("2001:db8::7", 50002);
  feed(check(1, true), a);
  EXPECT_EQ(ice.selected(), a);
  auto r = feed(check(2, false), b);  // a check without nomination selects nothing
  EXPECT_TRUE(r.authenticated);
  EXPECT_EQ(ice.selected(), a);
  EXPECT_EQ(stun::mapped_address(r.datagram), b);  // IPv6 XOR-MAPPED-ADDRESS
  feed(check(3, true), b);
  EXPECT_EQ(ice.selected(), b);
  feed(check(4, true), a);
  EXPECT_EQ(ice.selected(), a);
  EXPECT_TRUE(ice.authenticated(a));
  EXPECT_TRUE(ice.authenticated(b));
}

TEST_F(IceLiteTest, MissingFingerprintPriorityUsernameOrIntegrityIs400WithoutIntegrity) {
  const auto a = addr("192.0.2.7", 50001), b = addr("192.0.2.8", 50002);
  ice.start(0);
  feed(check(1, true), a, 1000);
  const auto t = tid(2);
  const std::vector<std::vector<uint8_t>> bad = {
      // no FINGERPRINT
      StunBuilder(stun::kBindingRequest, t)
          .text(stun::attr::kUsername, "srvU:Brw1")
          .u32(stun::attr::kPriority, kPriority)
          .attr(stun::attr::kUseCandidate, {})
          .integrity(kServer.pwd)
          .bytes(),
      // no PRIORITY
      StunBuilder(stun::kBindingRequest, t)
          .text(stun::attr::kUsername, "srvU:Brw1")
          .attr(stun::attr::kUseCandidate, {})
          .integrity(kServer.pwd)
          .fingerprint()
          .bytes(),
      // no USERNAME (RFC 8489 §9.1.3: 400, not 401)
      StunBuilder(stun::kBindingRequest, t)
          .u32(stun::attr::kPriority, kPriority)
          .attr(stun::attr::kUseCandidate, {})
          .integrity(kServer.pwd)
          .fingerprint()
          .bytes(),
      // no MESSAGE-INTEGRITY
      StunBuilder(stun::kBindingRequest, t)
          .text(stun::attr::kUsername, "srvU:Brw1")
          .u32(stun::attr::kPriority, kPriority)
          .attr(stun::attr::kUseCandidate, {})
          .fingerprint()
          .bytes(),
  };
  for (const auto& d : bad) {
    auto r = feed(d, b, 20000);
    EXPECT_FALSE(r.authenticated);
    auto ans = answer(r, false);
    EXPECT_EQ(ans.code, 400);
    EXPECT_EQ(ans.m.transaction, t);
    expect_state(a, {a}, 1000 + IceLite::kConsentTimeoutMs);
    EXPECT_FALSE(ice.authenticated(b));
  }
}

TEST_F(IceLiteTest, WrongUsernameOrIntegrityIs401AndChangesNothing) {
  const auto a = addr("192.0.2.7", 50001), b = addr("192.0.2.8", 50002);
  ice.start(0);
  feed(check(1, true), a, 1000);
  const std::vector<std::vector<uint8_t>> bad = {
      check(2, true, "Brw1:srvU"),                // the halves swapped
      check(2, true, "srvU:other"),               // another browser's ufrag
      check(2, true, "srvU"),                     // no remote half
      check(2, true, "srvU:Brw1:"),               // not exactly local:remote
      check(2, true, "srvU:Brw1", kBrowser.pwd),  // signed with the wrong pwd
      check(2, true, "srvU:Brw1", "server-password/0123456789"),
  };
  for (const auto& d : bad) {
    auto r = feed(d, b, 20000);
    EXPECT_FALSE(r.authenticated);
    EXPECT_EQ(answer(r, false).code, 401);
    expect_state(a, {a}, 1000 + IceLite::kConsentTimeoutMs);
    EXPECT_FALSE(ice.authenticated(b));
  }
  // A valid check whose MESSAGE-INTEGRITY has one bit changed (its FINGERPRINT right).
  auto valid = check(3, true);
  auto m = stun::parse(valid);
  ASSERT_TRUE(m);
  std::vector<uint8_t> mac(valid.begin() + m->integrity_at + 4,
                           valid.begin() + m->integrity_at + 24);
  auto with_mac = [&](const std::vector<uint8_t>& mac) {
    return StunBuilder(stun::kBindingRequest, tid(3))
        .text(stun::attr::kUsername, "srvU:Brw1")
        .u32(stun::attr::kPriority, kPriority)
        .u64(stun::attr::kIceControlling, 0xfeedface12345678ull)
        .attr(stun::attr::kUseCandidate, {})
        .attr(stun::attr::kMessageIntegrity, mac)
        .fingerprint()
        .bytes();
  };
  ASSERT_EQ(with_mac(mac), valid);  // the builder makes the same message
  mac[19] ^= 1;
  auto r = feed(with_mac(mac), b, 20000);
  EXPECT_EQ(answer(r, false).code, 401);
  expect_state(a, {a}, 1000 + IceLite::kConsentTimeoutMs);
  EXPECT_FALSE(ice.authenticated(b));
}

TEST_F(IceLiteTest, UnknownComprehensionRequiredIs420WithIntegrity) {
  const auto a = addr("192.0.2.7", 50001);
  auto d = StunBuilder(stun::kBindingRequest, tid(5))
               .text(stun::attr::kUsername, "srvU:Brw1")
               .u32(stun::attr::kPriority, kPriority)
               .u64(stun::attr::kIceControlling, 1)
               .attr(stun::attr::kUseCandidate, {})
               .text(0x0003, "x")
               .integrity(kServer.pwd)
               .fingerprint()
               .bytes();
  auto r = feed(d, a, 1000);
  EXPECT_FALSE(r.authenticated);
  auto ans = answer(r, true);
  EXPECT_EQ(ans.code, 420);
  auto list = stun::find_attribute(ans.d, stun::attr::kUnknownAttributes);
  ASSERT_TRUE(list);
  EXPECT_EQ(std::vector<uint8_t>(list->begin(), list->end()), hex("0003"));
  EXPECT_FALSE(ice.selected());
  EXPECT_FALSE(ice.authenticated(a));
}

TEST_F(IceLiteTest, UnknownOptionalAttributesAreIgnored) {
  const auto a = addr("192.0.2.7", 50001);
  // As Chrome sends it: GOOG-NETWORK-INFO (0xC057) before the integrity.
  auto d = StunBuilder(stun::kBindingRequest, tid(6))
               .text(stun::attr::kUsername, "srvU:Brw1")
               .attr(0xC057, {0x00, 0x01, 0x03, 0xe7})
               .u64(stun::attr::kIceControlling, 1)
               .attr(stun::attr::kUseCandidate, {})
               .u32(stun::attr::kPriority, kPriority)
               .integrity(kServer.pwd)
               .fingerprint()
               .bytes();
  auto r = feed(d, a);
  EXPECT_TRUE(r.authenticated);
  EXPECT_EQ(answer(r, true).code, 0);
  EXPECT_EQ(ice.selected(), a);
}

TEST_F(IceLiteTest, IceControlledIs487WithIntegrity) {
  const auto a = addr("192.0.2.7", 50001);
  auto d = StunBuilder(stun::kBindingRequest, tid(7))
               .text(stun::attr::kUsername, "srvU:Brw1")
               .u32(stun::attr::kPriority, kPriority)
               .u64(stun::attr::kIceControlled, 42)
               .attr(stun::attr::kUseCandidate, {})
               .integrity(kServer.pwd)
               .fingerprint()
               .bytes();
  ice.start(0);
  auto r = feed(d, a, 20000);
  EXPECT_FALSE(r.authenticated);
  EXPECT_EQ(answer(r, true).code, 487);
  EXPECT_FALSE(ice.selected());
  EXPECT_FALSE(ice.authenticated(a));
  EXPECT_TRUE(ice.consent_expired(IceLite::kConsentTimeoutMs));  // not refreshed at 20000
}

// RFC 5769's sample request is a check from a controlled agent, "evtj:h6vY", signed with
// "VOkJxbRl1RmTxUk/WvJxBt": the server "evtj" answers it 487, with integrity under that pwd.
TEST(IceLiteRfc, Rfc5769SampleRequestIsARoleConflict) {
  const auto& d = test::kRfcRequest;
  IceLite ice({"evtj", "VOkJxbRl1RmTxUk/WvJxBt"}, {"h6vY", "unused-remote-password-xx"});
  auto m = stun::parse(d);
  ASSERT_TRUE(m);
  auto r = ice.on_stun(d, *m, *Address::parse("192.0.2.1", 32853), 0);
  auto answer = stun::parse(r.datagram);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->type, stun::kBindingError);
  EXPECT_EQ(answer->transaction, m->transaction);
  EXPECT_EQ(stun::error_code(r.datagram), 487);
  EXPECT_TRUE(stun::check_integrity(r.datagram, *answer, "VOkJxbRl1RmTxUk/WvJxBt"));
  // The same server with another ufrag: 401 (the username is checked before the role).
  IceLite other({"evtX", "VOkJxbRl1RmTxUk/WvJxBt"}, {"h6vY", "unused-remote-password-xx"});
  EXPECT_EQ(stun::error_code(other.on_stun(d, *m, *Address::parse("192.0.2.1", 32853), 0).datagram),
            401);
}

// Checks captured from real clients answering this code's ICE-lite answers on 127.0.0.1 (the
// credentials are that run's: the server's from its answer, the browser's from its offer). Both
// carry GOOG-NETWORK-INFO (0xC057) and ICE-CONTROLLING; the second of each nominates.
TEST(IceLiteRealClients, ChromiumChecksAreAnsweredAndNominate) {
  const auto plain =
      hex("00 01 00 50 21 12 a4 42 69 62 44 66 5a 45 4f 31 65 32 31 70"
          "00 06 00 0d 48 79 62 75 63 55 52 5a 3a 77 51 79 2b 00 00 00"
          "c0 57 00 04 00 00 03 e7 80 2a 00 08 ad b6 62 32 21 06 8b 76"
          "00 24 00 04 6e 00 1e ff 00 08 00 14 7e ef c4 75 1c aa 2d 69"
          "85 8c 16 3f cb 37 f0 d2 be b3 d9 ab 80 28 00 04 59 be e1 db");
  const auto nominating =
      hex("00 01 00 54 21 12 a4 42 7a 44 64 77 66 5a 4c 73 4b 4c 54 4f"
          "00 06 00 0d 48 79 62 75 63 55 52 5a 3a 77 51 79 2b 00 00 00"
          "c0 57 00 04 00 00 03 e7 80 2a 00 08 ad b6 62 32 21 06 8b 76"
          "00 25 00 00 00 24 00 04 6e 00 1e ff 00 08 00 14 db 43 f9 a2"
          "b4 d6 d0 db 79 94 c1 97 15 fc 25 02 d3 5a ba c5 80 28 00 04"
          "ab ac 37 25");
  IceLite ice({"HybucURZ", "nejyXt/TJn08Dyh6Z5OomUmi"}, {"wQy+", "SNrpvZYQqR436Qh7rnqGG3m7"});
  const auto from = *Address::parse("127.0.0.1", 52965);
  auto m = stun::parse(plain);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->username, "HybucURZ:wQy+");
  EXPECT_TRUE(m->unknown_required.empty());
  auto r = ice.on_stun(plain, *m, from, 0);
  EXPECT_TRUE(r.authenticated);
  EXPECT_EQ(stun::mapped_address(r.datagram), from);
  EXPECT_FALSE(ice.selected());
  m = stun::parse(nominating);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->use_candidate);
  EXPECT_TRUE(ice.on_stun(nominating, *m, from, 0).authenticated);
  EXPECT_EQ(ice.selected(), from);
}

TEST(IceLiteRealClients, WrtcNominatingCheckIsAnswered) {
  const auto d =
      hex("00 01 00 54 21 12 a4 42 48 62 73 6b 32 51 54 59 4a 70 37 67"
          "00 06 00 0d 42 79 41 48 4b 71 79 76 3a 54 50 6c 6c 00 00 00"
          "c0 57 00 04 00 01 00 00 80 2a 00 08 39 2c 92 9d cd 15 aa b2"
          "00 25 00 00 00 24 00 04 6e 7e 1e ff 00 08 00 14 fa 3c 5f f8"
          "0a 73 a2 79 c3 6c 4f fc 6f c3 8d 9d 21 8a cc 22 80 28 00 04"
          "20 fa 81 85");
  IceLite ice({"ByAHKqyv", "7feBMQZaYg1cG1U587qaqLkX"}, {"TPll", "9ivvM8ASKkifgnQYbxbvJEVz"});
  const auto from = *Address::parse("192.0.2.2", 53325);
  auto m = stun::parse(d);
  ASSERT_TRUE(m);
  auto r = ice.on_stun(d, *m, from, 0);
  EXPECT_TRUE(r.authenticated);
  EXPECT_EQ(ice.selected(), from);
  // The same check under another session's password is refused, and changes nothing.
  IceLite other({"ByAHKqyv", "7feBMQZaYg1cG1U587qaqLkY"}, {"TPll", "9ivvM8ASKkifgnQYbxbvJEVz"});
  EXPECT_EQ(stun::error_code(other.on_stun(d, *m, from, 0).datagram), 401);
  EXPECT_FALSE(other.selected());
}

TEST_F(IceLiteTest, IndicationsAndResponsesAreIgnored) {
  const auto a = addr("192.0.2.7", 50001);
  for (uint16_t type :
       {stun::kBindingIndication, stun::kBindingSuccess, stun::kBindingError, uint16_t{0x0003}}) {
    auto d = StunBuilder(type, tid(8))
                 .text(stun::attr::kUsername, "srvU:Brw1")
                 .u32(stun::attr::kPriority, kPriority)
                 .attr(stun::attr::kUseCandidate, {})
                 .integrity(kServer.pwd)
                 .fingerprint()
                 .bytes();
    auto r = feed(d, a);
    EXPECT_TRUE(r.datagram.empty()) << type;
    EXPECT_FALSE(r.authenticated);
  }
  EXPECT_FALSE(ice.selected());
  EXPECT_FALSE(ice.authenticated(a));
}

TEST_F(IceLiteTest, ConsentExpiresWithoutValidChecks) {
  const auto a = addr("192.0.2.7", 50001);
  ice.start(1000);
  EXPECT_FALSE(ice.consent_expired(1000));
  EXPECT_FALSE(ice.consent_expired(30999));
  EXPECT_TRUE(ice.consent_expired(31000));
  feed(check(1, true), a, 20000);  // refreshes
  EXPECT_FALSE(ice.consent_expired(49999));
  EXPECT_TRUE(ice.consent_expired(50000));
  feed(check(2, false, "srvU:Brw1", "not-the-password-at-all"), a, 45000);  // 401: no refresh
  EXPECT_TRUE(ice.consent_expired(50000));
  feed(check(3, false), a, 45000);
  EXPECT_FALSE(ice.consent_expired(74999));
  EXPECT_TRUE(ice.consent_expired(75000));
}

TEST_F(IceLiteTest, AuthenticatedAddressesAreBoundedAndKeepTheSelectedPath) {
  const auto selected = addr("192.0.2.1", 40000);
  feed(check(1, true), selected);
  for (uint16_t port = 1; port <= 20; ++port)
    feed(check(static_cast<uint8_t>(port + 1), false), addr("198.51.100.1", port));
  EXPECT_EQ(ice.selected(), selected);
  EXPECT_TRUE(ice.authenticated(selected));
  size_t remembered = 0;
  for (uint16_t port = 1; port <= 20; ++port)
    remembered += ice.authenticated(addr("198.51.100.1", port));
  EXPECT_EQ(remembered, IceLite::kMaxAuthenticated - 1);      // the selected path is among them
  EXPECT_TRUE(ice.authenticated(addr("198.51.100.1", 20)));   // the newest kept
  EXPECT_FALSE(ice.authenticated(addr("198.51.100.1", 13)));  // older ones forgotten
  // A check from a remembered address makes it the newest again.
  feed(check(30, false), addr("198.51.100.1", 14));
  feed(check(31, false), addr("198.51.100.1", 21));
  EXPECT_TRUE(ice.authenticated(addr("198.51.100.1", 14)));
  EXPECT_FALSE(ice.authenticated(addr("198.51.100.1", 15)));
}

TEST(IceLiteCredentials, RandomIceChars) {
  auto is_ice = [](const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/';
    });
  };
  std::set<std::string> seen;
  for (int i = 0; i < 64; ++i) {
    auto c = random_ice_credentials();
    EXPECT_EQ(c.ufrag.size(), 8u);
    EXPECT_EQ(c.pwd.size(), 24u);
    EXPECT_TRUE(is_ice(c.ufrag)) << c.ufrag;
    EXPECT_TRUE(is_ice(c.pwd)) << c.pwd;
    EXPECT_TRUE(seen.insert(c.ufrag).second);
    EXPECT_TRUE(seen.insert(c.pwd).second);
  }
}

}  // namespace
}  // namespace seedcast::rtc

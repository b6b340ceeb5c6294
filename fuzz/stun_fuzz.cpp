// libFuzzer target: STUN parsing and the ICE-lite session fed by it.
//
// 1. The whole input is one datagram for stun::parse(). When accepted: USERNAME lies inside the
//    datagram, MESSAGE-INTEGRITY starts where integrity_at says, FINGERPRINT is the last 8
//    bytes, the unknown-attribute list is bounded, unique and comprehension-required only; the
//    answers written for it (success and 420) parse again, verify, and map the right address.
// 2. The input is also read as a sequence of datagrams fed to one IceLite from a pool of 12
//    source addresses. A datagram is either raw bytes or an attribute block the harness wraps
//    with a USERNAME, PRIORITY, USE-CANDIDATE, MESSAGE-INTEGRITY (right or wrong key) and
//    FINGERPRINT as control bits say, so that valid checks are reachable. Checked after each:
//    every reply parses; a check that is not answered with success (401 among them) leaves the
//    state exactly as it was; selected() is the source of the last valid USE-CANDIDATE check
//    (computed here independently); a success maps the sender's address and verifies.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "seedcast/rtc/ice_lite.hpp"
#include "seedcast/rtc/stun.hpp"

namespace {

using namespace seedcast::rtc;

const IceCredentials kLocal{"srvU", "server-password-0123456789"};
const IceCredentials kRemote{"brwU", "browser-password-0123456789"};
constexpr std::string_view kUsername = "srvU:brwU";

void check(bool ok) {
  if (!ok) std::abort();
}

bool inside(const void* p, size_t n, std::span<const uint8_t> d) {
  auto* b = static_cast<const uint8_t*>(p);
  return b >= d.data() && b + n <= d.data() + d.size();
}

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

void check_parsed(std::span<const uint8_t> d, const stun::Message& m) {
  check(d.size() >= 20 && d.size() % 4 == 0);
  if (m.username) check(inside(m.username->data(), m.username->size(), d));
  if (m.integrity_at) {
    check(m.integrity_at >= 20 && m.integrity_at + 24 <= d.size());
    check(be16(&d[m.integrity_at]) == stun::attr::kMessageIntegrity);
  }
  if (m.fingerprint) check(be16(&d[d.size() - 8]) == stun::attr::kFingerprint);
  check(m.unknown_required.size() <= stun::Message::kMaxUnknown);
  for (size_t i = 0; i < m.unknown_required.size(); ++i) {
    check(m.unknown_required[i] < 0x8000);
    check(std::count(m.unknown_required.begin(), m.unknown_required.end(), m.unknown_required[i]) ==
          1);
  }
  // Our answers to it are well-formed and say what they should.
  const Address to = *Address::parse("2001:db8::5", 4444);
  auto ok = stun::binding_success(m.transaction, to, "k");
  auto okm = stun::parse(ok);
  check(okm && okm->fingerprint && okm->transaction == m.transaction &&
        stun::check_integrity(ok, *okm, "k"));
  check(stun::mapped_address(ok) == to);
  auto err = stun::binding_error(m.transaction, 420, "Unknown Attribute", "k", m.unknown_required);
  auto errm = stun::parse(err);
  check(errm && stun::check_integrity(err, *errm, "k") && stun::error_code(err) == 420);
}

void put16(std::vector<uint8_t>& b, size_t at, size_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}
void attr(std::vector<uint8_t>& b, uint16_t type, const void* v, size_t n) {
  const size_t at = b.size();
  b.resize(at + 4 + ((n + 3) & ~size_t{3}), 0);
  put16(b, at, type);
  put16(b, at + 2, n);
  if (n) std::memcpy(&b[at + 4], v, n);
}

// A request around the fuzzer's attribute block (cut to whole 4-byte words), with what `ctl`
// asks for. Integrity and FINGERPRINT are computed here, independently of stun.cpp.
std::vector<uint8_t> synthesize(uint8_t ctl, uint32_t serial, std::span<const uint8_t> block) {
  std::vector<uint8_t> b(20, 0);
  b[1] = 0x01;  // Binding request
  b[4] = 0x21, b[5] = 0x12, b[6] = 0xa4, b[7] = 0x42;
  std::memcpy(&b[8], &serial, sizeof serial);
  if (ctl & 0x02) attr(b, stun::attr::kUsername, kUsername.data(), kUsername.size());
  if (ctl & 0x04) {
    const uint8_t prio[4] = {0x6e, 0x00, 0x01, 0xff};
    attr(b, stun::attr::kPriority, prio, 4);
  }
  if (ctl & 0x08) attr(b, stun::attr::kUseCandidate, nullptr, 0);
  b.insert(b.end(), block.begin(), block.begin() + (block.size() & ~size_t{3}));
  if (!(ctl & 0x40)) {
    put16(b, 2, b.size() - 20 + 24);
    const std::string key = (ctl & 0x10) ? kLocal.pwd : kRemote.pwd;
    unsigned char mac[20];
    unsigned int n = 0;
    HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), b.data(), b.size(), mac, &n);
    attr(b, stun::attr::kMessageIntegrity, mac, 20);
  }
  if (!(ctl & 0x20)) {
    put16(b, 2, b.size() - 20 + 8);
    uint8_t crc[4];
    const uint32_t c =
        static_cast<uint32_t>(crc32(0, b.data(), static_cast<uInt>(b.size()))) ^ 0x5354554e;
    crc[0] = uint8_t(c >> 24), crc[1] = uint8_t(c >> 16), crc[2] = uint8_t(c >> 8),
    crc[3] = uint8_t(c);
    attr(b, stun::attr::kFingerprint, crc, 4);
  }
  put16(b, 2, b.size() - 20);
  return b;
}

struct Snapshot {
  std::optional<Address> selected;
  std::vector<bool> authenticated;
  std::vector<bool> expired;
  bool operator==(const Snapshot&) const = default;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  if (auto m = stun::parse(input)) {
    check_parsed(input, *m);
    stun::mapped_address(input);
    stun::error_code(input);
  }

  std::vector<Address> pool;
  for (int i = 0; i < 6; ++i) {
    pool.push_back(
        *Address::parse("192.0.2." + std::to_string(i + 1), static_cast<uint16_t>(40000 + i)));
    pool.push_back(
        *Address::parse("2001:db8::" + std::to_string(i + 1), static_cast<uint16_t>(40000 + i)));
  }
  IceLite ice(kLocal, kRemote);
  int64_t now = 0;
  ice.start(now);
  std::optional<Address> nominated;  // the oracle for selected()
  auto snapshot = [&] {
    Snapshot s{ice.selected(), {}, {}};
    for (const auto& a : pool) s.authenticated.push_back(ice.authenticated(a));
    for (int64_t dt : {-1, 0, 1, 29999, 30000, 30001, 60000})
      s.expired.push_back(ice.consent_expired(now + dt));
    return s;
  };

  // Chunks: [ctl][addr/time][length hi][length lo][body…].
  size_t at = 0;
  uint32_t serial = 0;
  while (size - at >= 4) {
    const uint8_t ctl = data[at], where = data[at + 1];
    const size_t length = std::min<size_t>(size_t{data[at + 2]} << 8 | data[at + 3], size - at - 4);
    const std::span<const uint8_t> body(data + at + 4, length);
    at += 4 + length;
    now += (where >> 4) * 1000;
    const Address& from = pool[(where & 0x0f) % pool.size()];
    const std::vector<uint8_t> d = (ctl & 0x01) ? synthesize(ctl, ++serial, body)
                                                : std::vector<uint8_t>(body.begin(), body.end());
    auto m = stun::parse(d);
    if (!m) continue;
    check_parsed(d, *m);

    const bool valid = m->type == stun::kBindingRequest && m->fingerprint && m->priority &&
                       m->username == kUsername && stun::check_integrity(d, *m, kLocal.pwd) &&
                       m->unknown_required.empty() && !m->ice_controlled;
    const Snapshot before = snapshot();
    auto reply = ice.on_stun(d, *m, from, now);
    check(reply.authenticated == valid);
    if (valid && m->use_candidate) nominated = from;
    check(ice.selected() == nominated);
    if (!reply.authenticated) {
      check(snapshot() == before);  // 400, 401, 420, 487 and silence change nothing
    } else {
      check(ice.authenticated(from) && !ice.consent_expired(now) &&
            ice.consent_expired(now + IceLite::kConsentTimeoutMs));
    }
    if (reply.datagram.empty()) {
      check(m->type != stun::kBindingRequest);
      continue;
    }
    auto r = stun::parse(reply.datagram);
    check(r && r->fingerprint && r->transaction == m->transaction);
    if (reply.authenticated) {
      check(r->type == stun::kBindingSuccess &&
            stun::check_integrity(reply.datagram, *r, kLocal.pwd));
      check(stun::mapped_address(reply.datagram) == from);
    } else {
      const auto code = stun::error_code(reply.datagram);
      check(r->type == stun::kBindingError && code);
      // Answers to unauthenticated requests carry no integrity; the others do.
      check((*code == 400 || *code == 401) == (r->integrity_at == 0));
      if (r->integrity_at) check(stun::check_integrity(reply.datagram, *r, kLocal.pwd));
    }
  }
  return 0;
}

#pragma once
// One session's ICE, lite implementation (RFC 8445 §2.5, §7.3): the server never sends checks;
// it answers the browser's authenticated Binding requests, learns the path the browser
// nominates, and declares the session dead when consent stops (RFC 7675). Sans-I/O; the clock
// is the caller's (milliseconds, any monotonic origin).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "seedcast/rtc/address.hpp"
#include "seedcast/rtc/stun.hpp"

namespace seedcast::rtc {

struct IceCredentials {
  std::string ufrag;
  std::string pwd;
};

// ice-ufrag (>= 4 ice-chars) and ice-pwd (>= 22), random from OpenSSL's RAND_bytes.
IceCredentials random_ice_credentials();

// Not thread-safe: one session, driven from the thread that owns its socket.
class IceLite {
 public:
  static constexpr int64_t kConsentTimeoutMs = 30000;
  // Addresses remembered as authenticated; past it the oldest that is not selected() is
  // forgotten (a browser checks one or two pairs; more is stale pairs or someone spraying).
  static constexpr size_t kMaxAuthenticated = 8;

  IceLite(IceCredentials local, IceCredentials remote);

  struct Reply {
    std::vector<uint8_t> datagram;  // the answer to send back to `from` (empty: send nothing)
    bool authenticated = false;     // a valid check from the browser: `from` may speak DTLS
  };
  // A STUN datagram from `from` (already parsed: one stun::parse() refuses is dropped unanswered,
  // RFC 8489 §6.3). Checked in this order (RFC 8489 §6.3, §9.1.3; RFC 8445 §7.3): a Binding
  // request must carry FINGERPRINT, PRIORITY, USERNAME and MESSAGE-INTEGRITY (400 otherwise);
  // USERNAME must be "localUfrag:remoteUfrag" and MESSAGE-INTEGRITY verify with the local pwd
  // (401 otherwise); 400 and 401 carry no integrity. Then comprehension-required attributes it
  // does not know get 420 and ICE-CONTROLLED gets 487 (the lite side is always controlled), both
  // with integrity. No refusal changes any state. A valid request is answered with a success
  // (XOR-MAPPED-ADDRESS = from, MESSAGE-INTEGRITY, FINGERPRINT), refreshes consent and
  // authenticates `from`; with USE-CANDIDATE its path becomes the selected one (a later
  // nomination replaces it). Indications, responses and other methods get nothing. Never
  // throws.
  Reply on_stun(std::span<const uint8_t> datagram, const stun::Message& m, const Address& from, int64_t now_ms);

  // The nominated path, if any.
  const std::optional<Address>& selected() const { return selected_; }
  // Whether `from` sent a valid check (only such addresses may start DTLS).
  bool authenticated(const Address& from) const;
  // No valid check for kConsentTimeoutMs since the last one (or since `start_ms`).
  bool consent_expired(int64_t now_ms) const;
  void start(int64_t now_ms) { last_consent_ms_ = now_ms; }

  const IceCredentials& local() const { return local_; }
  const IceCredentials& remote() const { return remote_; }

 private:
  IceCredentials local_, remote_;
  std::string expected_username_;  // local ufrag ":" remote ufrag
  std::optional<Address> selected_;
  std::vector<Address> authenticated_;  // oldest first, at most kMaxAuthenticated
  int64_t last_consent_ms_ = 0;
};

}  // namespace seedcast::rtc

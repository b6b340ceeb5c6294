#pragma once
// One session's ICE, lite implementation (RFC 8445 §2.5, §7.3): the server never sends checks;
// it answers the browser's authenticated Binding requests, learns the path the browser
// nominates, and declares the session dead when consent stops (RFC 7675). Sans-I/O; the clock
// is the caller's (milliseconds, any monotonic origin).
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

class IceLite {
 public:
  static constexpr int64_t kConsentTimeoutMs = 30000;

  IceLite(IceCredentials local, IceCredentials remote);

  struct Reply {
    std::vector<uint8_t> datagram;  // the answer to send back to `from` (empty: send nothing)
    bool authenticated = false;     // a valid check from the browser: `from` may speak DTLS
  };
  // A STUN datagram from `from` (already parsed). Requests must carry FINGERPRINT and PRIORITY
  // (400 otherwise), USERNAME "localUfrag:remoteUfrag" and a MESSAGE-INTEGRITY that verifies
  // with the local pwd (401 otherwise, without integrity); ICE-CONTROLLED gets 487 (the lite
  // side is always controlled); comprehension-required attributes it does not know get 420.
  // A valid request is answered with a success (XOR-MAPPED-ADDRESS = from) and refreshes
  // consent; with USE-CANDIDATE its path becomes the selected one (a later nomination replaces
  // it). Indications and responses are ignored. Never throws.
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
  std::vector<Address> authenticated_;  // few: a browser checks one or two candidate pairs
  int64_t last_consent_ms_ = 0;
};

}  // namespace seedcast::rtc

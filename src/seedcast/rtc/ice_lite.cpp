#include "seedcast/rtc/ice_lite.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

namespace seedcast::rtc {
namespace {

// ice-char = ALPHA / DIGIT / "+" / "/" (RFC 8839 §5.4): 64 of them, so a random byte's low six
// bits pick one without bias.
constexpr char kIceChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static_assert(sizeof kIceChars - 1 == 64);

std::string random_ice_string(size_t n) {
  std::string bytes(n, '\0');
  // Predictable credentials would let anyone who guesses them take over the session: without
  // entropy no answer can be written, so this is not a recoverable error.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("RAND_bytes failed: no entropy for ICE credentials");
  for (char& c : bytes) c = kIceChars[static_cast<unsigned char>(c) & 63];
  return bytes;
}

}  // namespace

IceCredentials random_ice_credentials() {
  // 8 and 24 ice-chars: 48 and 144 random bits, above RFC 8839's minimums (24 and 128 bits).
  return {random_ice_string(8), random_ice_string(24)};
}

IceLite::IceLite(IceCredentials local, IceCredentials remote)
    : local_(std::move(local)),
      remote_(std::move(remote)),
      expected_username_(local_.ufrag + ":" + remote_.ufrag) {}

IceLite::Reply IceLite::on_stun(std::span<const uint8_t> datagram, const stun::Message& m,
                                const Address& from, int64_t now_ms) {
  // Responses, indications and other methods' requests get nothing: a lite agent sends no
  // requests of its own, and answering anything else only helps reflection attacks.
  if (m.type != stun::kBindingRequest) return {};
  // The checks run in RFC 8489 §6.3 / §9.1.3 and RFC 8445 §7.3 order. Until MESSAGE-INTEGRITY is
  // verified nothing here may depend on the request being genuine: 400 and 401 carry no
  // integrity (the sender may not know the password) and change no state.
  if (!m.fingerprint || !m.priority || !m.username || m.integrity_at == 0)
    return {stun::binding_error(m.transaction, 400, "Bad Request", {}), false};
  if (*m.username != expected_username_ || !stun::check_integrity(datagram, m, local_.pwd))
    return {stun::binding_error(m.transaction, 401, "Unauthorized", {}), false};
  // Authenticated from here on: answers carry MESSAGE-INTEGRITY. Refusals still change no state:
  // only a check that succeeds is a consent or a nomination.
  if (!m.unknown_required.empty())
    return {stun::binding_error(m.transaction, 420, "Unknown Attribute", local_.pwd,
                                m.unknown_required),
            false};
  // The lite side is always controlled (RFC 8445 §6.1.1); a peer that thinks it is controlled
  // too must switch roles (§7.3.1.1).
  if (m.ice_controlled)
    return {stun::binding_error(m.transaction, 487, "Role Conflict", local_.pwd), false};

  last_consent_ms_ = now_ms;
  auto known = std::find(authenticated_.begin(), authenticated_.end(), from);
  if (known != authenticated_.end()) {
    authenticated_.erase(known);  // moved to the back: most recently seen
  } else if (authenticated_.size() >= kMaxAuthenticated) {
    // The oldest that is not the selected path: selected() stays authenticated.
    auto oldest = std::find_if(authenticated_.begin(), authenticated_.end(),
                               [this](const Address& a) { return !selected_ || a != *selected_; });
    authenticated_.erase(oldest);
  }
  authenticated_.push_back(from);
  if (m.use_candidate) selected_ = from;
  return {stun::binding_success(m.transaction, from, local_.pwd), true};
}

bool IceLite::authenticated(const Address& from) const {
  return std::find(authenticated_.begin(), authenticated_.end(), from) != authenticated_.end();
}

bool IceLite::consent_expired(int64_t now_ms) const {
  return now_ms - last_consent_ms_ >= kConsentTimeoutMs;
}

}  // namespace seedcast::rtc

#pragma once
// JSON Web Tokens through libjwt: verification against one configured key and algorithm, and
// minting with a shared secret (for `seedcast token` and tests).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace seedcast::auth {

struct Identity {
  std::string user;         // the userId claim, else sub
  std::string claims_json;  // every claim, as JSON
};

struct VerifyResult {
  std::optional<Identity> identity;
  std::string reason;  // why not, when identity is empty (never contains the token)
};

class JwtVerifier {
 public:
  // `secret` → HS256. Throws std::invalid_argument for an empty secret.
  static std::unique_ptr<JwtVerifier> hs256(std::string secret);
  // A PEM public key: RSA → RS256, EC P-256 → ES256. Throws std::invalid_argument when the
  // file cannot be read or holds no usable key.
  static std::unique_ptr<JwtVerifier> public_key_file(const std::string& path);

  // The token's alg must be exactly algorithm(); exp and nbf are checked with `leeway_s`.
  VerifyResult verify(const std::string& token) const;
  const std::string& algorithm() const { return alg_name_; }

  void set_clock(std::function<int64_t()> now_seconds) { now_ = std::move(now_seconds); }
  int64_t leeway_s = 30;

 private:
  JwtVerifier(int alg, std::string alg_name, std::string key);
  int alg_;  // jwt_alg_t
  std::string alg_name_;
  std::string key_;
  std::function<int64_t()> now_;
};

// An HS256 token with claims userId, iat and exp (now + ttl).
std::string mint_hs256(const std::string& secret, const std::string& user, int64_t ttl_seconds,
                       int64_t now_seconds);

// True when `s` has the shape of a JWT: three non-empty base64url parts joined by dots, the
// first starting with "eyJ" (the encoding of '{"').
bool looks_like_jwt(std::string_view s);

}  // namespace seedcast::auth

#include "seedcast/auth/jwt.hpp"

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace seedcast::auth {
namespace {

struct JwtFree {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

bool base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

}  // namespace

bool looks_like_jwt(std::string_view s) {
  // The header is base64url of a JSON object, '{"…', which always encodes to "eyJ"; file
  // names with dots ("webtorrent.min.js") are never taken for tokens.
  if (s.substr(0, 3) != "eyJ") return false;
  int dots = 0;
  size_t part = 0;
  for (char c : s) {
    if (c == '.') {
      if (part == 0) return false;
      ++dots;
      part = 0;
    } else if (base64url_char(c)) {
      ++part;
    } else {
      return false;
    }
  }
  return dots == 2 && part > 0;
}

JwtVerifier::JwtVerifier(int alg, std::string alg_name, std::string key)
    : alg_(alg), alg_name_(std::move(alg_name)), key_(std::move(key)),
      now_([] { return static_cast<int64_t>(::time(nullptr)); }) {}

std::unique_ptr<JwtVerifier> JwtVerifier::hs256(std::string secret) {
  if (secret.empty()) throw std::invalid_argument("SECRET is empty");
  return std::unique_ptr<JwtVerifier>(new JwtVerifier(JWT_ALG_HS256, "HS256", std::move(secret)));
}

std::unique_ptr<JwtVerifier> JwtVerifier::public_key_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("JWT_PUBLIC_KEY: cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string pem = ss.str();
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!key) throw std::invalid_argument("JWT_PUBLIC_KEY: " + path + " holds no PEM public key");
  int type = EVP_PKEY_get_base_id(key);
  EVP_PKEY_free(key);
  if (type == EVP_PKEY_RSA)
    return std::unique_ptr<JwtVerifier>(new JwtVerifier(JWT_ALG_RS256, "RS256", std::move(pem)));
  if (type == EVP_PKEY_EC)
    return std::unique_ptr<JwtVerifier>(new JwtVerifier(JWT_ALG_ES256, "ES256", std::move(pem)));
  throw std::invalid_argument("JWT_PUBLIC_KEY: only RSA (RS256) and EC P-256 (ES256) keys are supported");
}

VerifyResult JwtVerifier::verify(const std::string& token) const {
  if (!looks_like_jwt(token)) return {std::nullopt, "malformed token"};
  jwt_t* raw = nullptr;
  int rc = jwt_decode(&raw, token.c_str(), reinterpret_cast<const unsigned char*>(key_.data()),
                      static_cast<int>(key_.size()));
  JwtPtr jwt(raw);
  if (rc != 0 || !jwt) return {std::nullopt, "invalid token signature or encoding"};
  // The algorithm is the one configured, never the token's choice: this refuses "none" and
  // HS256 tokens "signed" with a public key.
  if (jwt_get_alg(jwt.get()) != static_cast<jwt_alg_t>(alg_))
    return {std::nullopt, "token algorithm is not " + alg_name_};
  // The claims are read from their JSON, by type: libjwt's jwt_get_grant_int gives 0, and no
  // error, for a value that is not an integer (auth_fuzz: "userId": true became user "0").
  Identity id;
  nlohmann::json claims;
  if (char* all = jwt_get_grants_json(jwt.get(), nullptr)) {
    id.claims_json = all;
    free(all);
    claims = nlohmann::json::parse(id.claims_json, nullptr, false);
  }
  if (!claims.is_object()) return {std::nullopt, "token claims are not a JSON object"};
  const int64_t now = now_();
  // A time claim: absent, or a number of seconds (a fraction is rounded down).
  auto seconds = [&](const char* name, std::optional<int64_t>& out) {
    auto it = claims.find(name);
    if (it == claims.end()) return true;
    if (it->is_number_integer()) {
      out = it->is_number_unsigned() ? static_cast<int64_t>(std::min<uint64_t>(it->get<uint64_t>(), INT64_MAX))
                                     : it->get<int64_t>();
      return true;
    }
    if (!it->is_number_float()) return false;
    double d = std::floor(it->get<double>());
    out = d >= 9.2e18 ? INT64_MAX : d <= -9.2e18 ? INT64_MIN : static_cast<int64_t>(d);
    return true;
  };
  std::optional<int64_t> exp, nbf;
  if (!seconds("exp", exp) || !seconds("nbf", nbf)) return {std::nullopt, "token exp or nbf is not a number"};
  // The leeway goes on our clock, never on the token's numbers: exp may be INT64_MAX and nbf
  // INT64_MIN (auth_fuzz found exp + leeway overflowing).
  if (exp && *exp < now - leeway_s) return {std::nullopt, "token expired"};
  if (nbf && *nbf > now + leeway_s) return {std::nullopt, "token not valid yet"};
  for (const char* claim : {"userId", "sub"}) {
    auto it = claims.find(claim);
    if (it == claims.end()) continue;
    if (it->is_string()) {
      id.user = it->get<std::string>();
      break;
    }
    if (it->is_number_integer()) {
      id.user = it->dump();
      break;
    }
  }
  return {std::move(id), ""};
}

std::string mint_hs256(const std::string& secret, const std::string& user, int64_t ttl_seconds,
                       int64_t now_seconds) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) throw std::runtime_error("jwt_new failed");
  JwtPtr jwt(raw);
  jwt_add_grant(jwt.get(), "userId", user.c_str());
  jwt_add_grant_int(jwt.get(), "iat", static_cast<long>(now_seconds));
  jwt_add_grant_int(jwt.get(), "exp", static_cast<long>(now_seconds + ttl_seconds));
  if (jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret.data()),
                  static_cast<int>(secret.size())) != 0)
    throw std::runtime_error("cannot sign with this secret");
  char* s = jwt_encode_str(jwt.get());
  if (!s) throw std::runtime_error("jwt_encode_str failed");
  std::string out(s);
  free(s);
  return out;
}

}  // namespace seedcast::auth

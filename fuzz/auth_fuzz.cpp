// libFuzzer target: what decides who a viewer is — JWT verification (libjwt behind
// auth::JwtVerifier) and the site's webhook answers (auth::webhook_answer). The first byte
// picks the mode:
//  0: the rest is a token, as a client sends it. Verified with HS256 and ES256. Property: an
//     HS256 token accepted carries an HMAC-SHA256 of its first two parts under the secret
//     (checked here with OpenSSL alone), and names the algorithm HS256; no ES256 token is
//     accepted (the fuzzer holds no private key).
//  1: the rest is the claims JSON of a token this target signs with the secret, so that the
//     claims checks are reached. Property: an accepted token is neither expired nor early by
//     the clock and leeway (exp and nbf are numbers), and its user is its userId claim, else its
//     sub (a string or an integer; any other type names nobody).
//  2: the next two bytes are an HTTP status, the rest the webhook's body. Property: 401 and 403
//     refuse, other non-2xx refuse as "unavailable", 2xx accept with the body's userId or sub.
#include <openssl/hmac.h>

#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include "seedcast/auth/jwt.hpp"
#include "seedcast/auth/webhook.hpp"

namespace {
using namespace seedcast::auth;
constexpr int64_t kNow = 1767225600;
const std::string kSecret = "fuzz-secret";

std::string b64url(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::string hmac(std::string_view signed_part) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
       reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

struct Verifiers {
  std::unique_ptr<JwtVerifier> hs = JwtVerifier::hs256(kSecret);
  std::unique_ptr<JwtVerifier> es;
  Verifiers() {
    // A fresh P-256 key; only its public half is written for the verifier.
    EVP_PKEY* key = EVP_EC_gen("P-256");
    std::string path = std::filesystem::temp_directory_path() / ("seedcast-fuzz-es256-" + std::to_string(::getpid()) + ".pem");
    BIO* bio = BIO_new_file(path.c_str(), "w");
    if (!key || !bio || PEM_write_bio_PUBKEY(bio, key) != 1) std::abort();
    BIO_free(bio);
    EVP_PKEY_free(key);
    es = JwtVerifier::public_key_file(path);
    std::filesystem::remove(path);
    for (auto* v : {hs.get(), es.get()}) v->set_clock([] { return kNow; });
  }
};

Verifiers& verifiers() {
  static Verifiers v;
  return v;
}

std::string expected_user(const nlohmann::json& claims) {
  for (const char* k : {"userId", "sub"}) {
    auto it = claims.find(k);
    if (it == claims.end()) continue;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_number_integer()) return it->dump();
  }
  return "";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Verifiers& v = verifiers();
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0: {
      std::string token(in);
      VerifyResult r = v.hs->verify(token);
      if (r.identity) {
        size_t dot2 = token.rfind('.');
        size_t dot1 = token.find('.');
        if (dot1 == std::string::npos || dot2 == dot1) std::abort();
        // The signature must be the HMAC of the signed part (base64url, padding-free form).
        if (b64url(hmac(std::string_view(token).substr(0, dot2))) != token.substr(dot2 + 1)) std::abort();
      } else if (r.reason.empty()) {
        std::abort();
      }
      if (v.es->verify(token).identity) std::abort();
      break;
    }
    case 1: {
      std::string token = b64url(R"({"alg":"HS256","typ":"JWT"})") + "." + b64url(in);
      token += "." + b64url(hmac(token));
      VerifyResult r = v.hs->verify(token);
      if (!r.identity) {
        if (r.reason.empty()) std::abort();
        break;
      }
      auto claims = nlohmann::json::parse(in, nullptr, false);
      if (!claims.is_object()) std::abort();  // libjwt took claims that are not a JSON object
      for (const char* k : {"exp", "nbf"}) {
        auto it = claims.find(k);
        if (it != claims.end() && !it->is_number()) std::abort();  // a time that is not a number
      }
      auto exp = claims.find("exp");
      if (exp != claims.end() && exp->get<double>() < static_cast<double>(kNow - 31)) std::abort();
      auto nbf = claims.find("nbf");
      if (nbf != claims.end() && nbf->get<double>() > static_cast<double>(kNow + 31)) std::abort();
      if (r.identity->user != expected_user(claims)) std::abort();
      break;
    }
    case 2: {
      if (in.size() < 2) return 0;
      long status = (static_cast<uint8_t>(in[0]) << 8 | static_cast<uint8_t>(in[1])) % 1000;
      std::string_view body = in.substr(2);
      VerifyResult r = webhook_answer(status, body);
      bool ok = status >= 200 && status < 300;
      if (ok != r.identity.has_value()) std::abort();
      if (!ok && r.reason != (status == 401 || status == 403 ? "token refused by the site" : "authentication service unavailable"))
        std::abort();
      if (ok) {
        if (!r.identity->claims_json.empty() && !nlohmann::json::accept(r.identity->claims_json)) std::abort();
        auto j = nlohmann::json::parse(body, nullptr, false);
        std::string want;
        if (j.is_object()) {
          for (const char* k : {"userId", "sub"}) {
            auto it = j.find(k);
            if (it == j.end()) continue;
            want = it->is_string() ? it->get<std::string>() : it->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
            break;
          }
        }
        if (r.identity->user != want) std::abort();
      }
      break;
    }
  }
  return 0;
}

#include "seedcast/auth/jwt.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "seedcast/auth/middleware.hpp"
#include "test_util.hpp"

namespace seedcast::auth {
namespace {

// Tokens are forged here by hand on purpose: the point is to feed the verifier what an
// attacker would send, which no JWT library would produce.
std::string b64url(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::string hs256(const std::string& header, const std::string& payload, const std::string& key) {
  std::string signing = b64url(header) + "." + b64url(payload);
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(signing.data()),
       signing.size(), mac, &len);
  return signing + "." + b64url(std::string(reinterpret_cast<char*>(mac), len));
}

const std::string kHeader = R"({"alg":"HS256","typ":"JWT"})";
constexpr int64_t kNow = 1800000000;

std::unique_ptr<JwtVerifier> verifier(const std::string& secret = "s3cret") {
  auto v = JwtVerifier::hs256(secret);
  v->set_clock([] { return kNow; });
  return v;
}

TEST(Jwt, AcceptsAGoodTokenAndReadsTheUser) {
  auto r = verifier()->verify(hs256(kHeader, R"({"userId":"alice","exp":1800000100})", "s3cret"));
  ASSERT_TRUE(r.identity) << r.reason;
  EXPECT_EQ(r.identity->user, "alice");
  EXPECT_NE(r.identity->claims_json.find("alice"), std::string::npos);
  auto numeric = verifier()->verify(hs256(kHeader, R"({"userId":42})", "s3cret"));
  ASSERT_TRUE(numeric.identity);
  EXPECT_EQ(numeric.identity->user, "42");
  auto sub = verifier()->verify(hs256(kHeader, R"({"sub":"bob"})", "s3cret"));
  ASSERT_TRUE(sub.identity);
  EXPECT_EQ(sub.identity->user, "bob");
}

TEST(Jwt, MintedTokensVerify) {
  std::string t = mint_hs256("s3cret", "carol", 3600, kNow);
  auto r = verifier()->verify(t);
  ASSERT_TRUE(r.identity) << r.reason;
  EXPECT_EQ(r.identity->user, "carol");
  EXPECT_FALSE(verifier("other")->verify(t).identity);
}

TEST(Jwt, RefusesWrongKeyExpiredAndNotYetValid) {
  EXPECT_FALSE(verifier()->verify(hs256(kHeader, R"({"userId":"a"})", "wrong")).identity);
  auto expired = verifier()->verify(hs256(kHeader, R"({"userId":"a","exp":1799999000})", "s3cret"));
  EXPECT_FALSE(expired.identity);
  EXPECT_EQ(expired.reason, "token expired");
  // within the 30 s leeway
  EXPECT_TRUE(verifier()->verify(hs256(kHeader, R"({"userId":"a","exp":1799999980})", "s3cret")).identity);
  auto early = verifier()->verify(hs256(kHeader, R"({"userId":"a","nbf":1800000100})", "s3cret"));
  EXPECT_FALSE(early.identity);
  EXPECT_EQ(early.reason, "token not valid yet");
}

// The extremes of the time claims are read without overflow (auth_fuzz: exp + leeway
// overflowed for exp = LONG_MAX, which UBSan reports).
TEST(Jwt, TimeClaimsAtTheirLimits) {
  EXPECT_TRUE(verifier()->verify(hs256(kHeader, R"({"userId":"a","exp":9223372036854775807})", "s3cret")).identity);
  EXPECT_TRUE(verifier()->verify(hs256(kHeader, R"({"userId":"a","nbf":-9223372036854775808})", "s3cret")).identity);
  EXPECT_FALSE(verifier()->verify(hs256(kHeader, R"({"userId":"a","exp":-9223372036854775808})", "s3cret")).identity);
  EXPECT_FALSE(verifier()->verify(hs256(kHeader, R"({"userId":"a","nbf":9223372036854775807})", "s3cret")).identity);
}

// Claims are read by their JSON type: libjwt's integer accessor reads true, 1.5 or "x" as 0.
TEST(Jwt, ClaimsOfTheWrongType) {
  auto boolean = verifier()->verify(hs256(kHeader, R"({"userId":true,"sub":"bob"})", "s3cret"));
  ASSERT_TRUE(boolean.identity);
  EXPECT_EQ(boolean.identity->user, "bob");
  auto nobody = verifier()->verify(hs256(kHeader, R"({"userId":{"id":1}})", "s3cret"));
  ASSERT_TRUE(nobody.identity);
  EXPECT_EQ(nobody.identity->user, "");
  EXPECT_FALSE(verifier()->verify(hs256(kHeader, R"({"userId":"a","exp":"1900000000"})", "s3cret")).identity);
  EXPECT_FALSE(verifier()->verify(hs256(kHeader, R"({"userId":"a","nbf":true})", "s3cret")).identity);
  EXPECT_TRUE(verifier()->verify(hs256(kHeader, R"({"userId":"a","exp":1800000000.5})", "s3cret")).identity);
  EXPECT_FALSE(verifier()->verify(hs256(kHeader, R"({"userId":"a","exp":1700000000.5})", "s3cret")).identity);
}

TEST(Jwt, RefusesAlgNone) {
  std::string none = b64url(R"({"alg":"none","typ":"JWT"})") + "." + b64url(R"({"userId":"mallory"})") + ".";
  EXPECT_FALSE(verifier()->verify(none).identity);
  EXPECT_FALSE(verifier()->verify(none + "x").identity);
}

TEST(Jwt, RefusesHs256SignedWithThePublicKey) {
  // The classic confusion: the server holds an RSA public key; the attacker signs HS256 with
  // that (public) key as the HMAC secret.
  EVP_PKEY* key = EVP_RSA_gen(2048);
  ASSERT_TRUE(key);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* p = nullptr;
  long n = BIO_get_mem_data(bio, &p);
  std::string pem(p, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(key);
  test::TempDir dir;
  test::write_file(dir / "pub.pem", pem);
  auto v = JwtVerifier::public_key_file(dir / "pub.pem");
  EXPECT_EQ(v->algorithm(), "RS256");
  auto r = v->verify(hs256(kHeader, R"({"userId":"mallory"})", pem));
  EXPECT_FALSE(r.identity);
  EXPECT_EQ(r.reason, "token algorithm is not RS256");
}

TEST(Jwt, BadKeysAreStartupErrors) {
  test::TempDir dir;
  test::write_file(dir / "junk.pem", "not a key");
  EXPECT_THROW(JwtVerifier::public_key_file(dir / "junk.pem"), std::invalid_argument);
  EXPECT_THROW(JwtVerifier::public_key_file(dir / "missing.pem"), std::invalid_argument);
  EXPECT_THROW(JwtVerifier::hs256(""), std::invalid_argument);
}

TEST(Jwt, Shape) {
  EXPECT_TRUE(looks_like_jwt("eyJh.eyJ1.c2ln"));
  EXPECT_FALSE(looks_like_jwt("webtorrent.min.js"));
  EXPECT_FALSE(looks_like_jwt("aaa.bbb.ccc"));
  EXPECT_FALSE(looks_like_jwt("053178313d2010436197e454511d8473bf30c616"));
  EXPECT_FALSE(looks_like_jwt("a.b"));
  EXPECT_FALSE(looks_like_jwt("a..c"));
  EXPECT_FALSE(looks_like_jwt("a.b.c.d"));
  EXPECT_FALSE(looks_like_jwt("a.b.c/"));
  EXPECT_FALSE(looks_like_jwt(""));
}

http::Request request(std::string_view path, std::string_view query = {}) {
  http::Request r;
  r.path = path;
  r.query = query;
  return r;
}

TEST(TakeToken, FromEverySourceAndThePathSegmentIsRemoved) {
  auto r = request("/file/eyJa.bbb.ccc/0531/a.mp4");
  EXPECT_EQ(take_token(r).value_or(""), "eyJa.bbb.ccc");
  EXPECT_EQ(r.path, "/file/0531/a.mp4");
  r = request("/announce/eyJa.bbb.ccc");
  EXPECT_EQ(take_token(r).value_or(""), "eyJa.bbb.ccc");
  EXPECT_EQ(r.path, "/announce");
  r = request("/file/0531", "json=1&token=q.r.s");
  EXPECT_EQ(take_token(r).value_or(""), "q.r.s");
  EXPECT_EQ(r.path, "/file/0531");
  r = request("/");
  r.headers = {{"Authorization", "Bearer h.i.j"}};
  EXPECT_EQ(take_token(r).value_or(""), "h.i.j");
  r = request("/");
  r.headers = {{"token", "t.u.v"}, {"Authorization", "Bearer h.i.j"}};
  EXPECT_EQ(take_token(r).value_or(""), "t.u.v");
  r = request("/file/0531/eyJa.b.c");  // the third segment is a file name, not a token
  EXPECT_FALSE(take_token(r));
  EXPECT_EQ(r.path, "/file/0531/eyJa.b.c");
  r = request("/assets/webtorrent.min.js");  // a file name with dots, not a token
  EXPECT_FALSE(take_token(r));
  EXPECT_EQ(r.path, "/assets/webtorrent.min.js");
}

TEST(AuthMiddleware, RefusesWithoutAGoodTokenAndPassesTheUserOn) {
  auto v = verifier();
  Options o;
  o.verify = [&v](std::string t) -> asio::awaitable<VerifyResult> { co_return v->verify(t); };
  auto mw = middleware(o);
  http::Handler next = [](http::Request& r) -> asio::awaitable<http::Response> {
    co_return http::Response::text(200, r.user + "@" + std::string(r.path), "text/plain");
  };
  auto call = [&](http::Request r) { return test::run(mw(r, next)); };
  EXPECT_EQ(call(request("/file/x")).status, 401);
  EXPECT_EQ(call(request("/healthz")).status, 200);
  std::string good = mint_hs256("s3cret", "alice", 60, kNow);
  auto ok = call(request("/file/" + good + "/x"));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "alice@/file/x");
  EXPECT_EQ(call(request("/file/x", "token=" + mint_hs256("nope", "alice", 60, kNow))).status, 401);
}

}  // namespace
}  // namespace seedcast::auth

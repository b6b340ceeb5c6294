// Example: the site's login already sets a JWT in a cookie named "session". This program embeds
// seedcast and lets a request in when that cookie (or a token in the usual places) holds a JWT
// signed with SITE_SECRET whose "plan" claim is "premium".
//
//   SITE_SECRET=… LIBRARY=./library ./jwt_cookie
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common.hpp"
#include "seedcast/auth/jwt.hpp"
#include "seedcast/auth/middleware.hpp"
#include "seedcast/http/message.hpp"

namespace {

// The value of cookie `name` in a Cookie header ("a=1; session=xyz").
std::optional<std::string> cookie(const seedcast::http::Request& req, std::string_view name) {
  auto header = req.header("Cookie");
  if (!header) return std::nullopt;
  std::string_view h = *header;
  while (!h.empty()) {
    size_t semi = h.find(';');
    std::string_view pair = h.substr(0, semi);
    h = semi == std::string_view::npos ? std::string_view{} : h.substr(semi + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    if (pair.substr(0, name.size()) == name && pair.size() > name.size() && pair[name.size()] == '=')
      return std::string(pair.substr(name.size() + 1));
  }
  return std::nullopt;
}

}  // namespace

int main() {
  const char* secret = std::getenv("SITE_SECRET");
  if (!secret || !*secret) {
    std::fprintf(stderr, "jwt_cookie: set SITE_SECRET\n");
    return 1;
  }
  sigset_t signals = example::block_signals();
  seedcast::init_logging("info");
  seedcast::App app(example::config_from_environment());
  auto verifier = seedcast::auth::JwtVerifier::hs256(secret);
  app.use([&verifier](seedcast::http::Request& req,
                      const seedcast::http::Handler& next) -> seedcast::asio::awaitable<seedcast::http::Response> {
    if (req.path == "/healthz") co_return co_await next(req);
    std::optional<std::string> token = seedcast::auth::take_token(req);
    if (!token) token = cookie(req, "session");
    if (!token) co_return seedcast::http::Response::error(401, "log in first");
    auto r = verifier->verify(*token);
    if (!r.identity) co_return seedcast::http::Response::error(401, r.reason);
    auto claims = nlohmann::json::parse(r.identity->claims_json, nullptr, false);
    if (!claims.is_object() || claims.value("plan", "") != "premium")
      co_return seedcast::http::Response::error(403, "this video is for premium members");
    req.user = r.identity->user;
    req.token = *token;  // .torrent files handed to this user carry it
    co_return co_await next(req);
  });
  return example::run(app, signals);
}

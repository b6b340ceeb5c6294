#include "seedcast/auth/middleware.hpp"

#include <spdlog/spdlog.h>

#include <memory>

#include "seedcast/core/text.hpp"
#include "seedcast/http/detail/asio_impl.hpp"

namespace seedcast::auth {

std::optional<std::string> take_token(http::Request& req) {
  std::optional<std::string> token;
  // The second segment: /route/{token}/rest → /route/rest.
  std::string_view p = req.path;
  size_t first = p.find('/', 1);
  if (first != std::string_view::npos) {
    size_t second = p.find('/', first + 1);
    std::string_view seg = p.substr(first + 1, second == std::string_view::npos ? std::string_view::npos
                                                                                 : second - first - 1);
    if (looks_like_jwt(seg)) {
      token = std::string(seg);
      req.path_storage = std::string(p.substr(0, first));
      if (second != std::string_view::npos) req.path_storage += p.substr(second);
      req.path = req.path_storage;
    }
  }
  if (auto h = req.header("token"); h && !h->empty()) return std::string(*h);
  if (auto a = req.header("Authorization"); a && a->size() > 7 && text::iequals(a->substr(0, 7), "Bearer ")) {
    std::string_view t = a->substr(7);
    while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
    return std::string(t);
  }
  if (auto q = text::query_param(req.query, "token"); q && !q->empty()) return q;
  return token;
}

http::Middleware middleware(Options options) {
  auto o = std::make_shared<const Options>(std::move(options));
  return [o](http::Request& req, const http::Handler& next) -> asio::awaitable<http::Response> {
    std::optional<std::string> token = take_token(req);
    if (!o->verify) co_return co_await next(req);
    for (const auto& p : o->public_paths) {
      if (req.path == p) co_return co_await next(req);
    }
    for (const auto& p : o->public_prefixes) {
      if (req.path.substr(0, p.size()) == p) co_return co_await next(req);
    }
    auto refuse = [&](int status, std::string_view why) {
      spdlog::info("{} {} {}: refused ({})", req.remote, req.method_text, req.path, why);
      return o->refuse ? o->refuse(req, status, why) : http::Response::error(status, why);
    };
    if (!token) co_return refuse(401, "a token is required");
    VerifyResult r = co_await o->verify(*token);
    if (!r.identity) co_return refuse(401, r.reason);
    req.user = std::move(r.identity->user);
    req.token = std::move(*token);
    co_return co_await next(req);
  };
}

}  // namespace seedcast::auth

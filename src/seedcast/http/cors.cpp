#include "seedcast/http/cors.hpp"

#include <memory>

#include "seedcast/http/detail/asio_impl.hpp"

namespace seedcast::http {

Middleware cors(CorsOptions options) {
  auto o = std::make_shared<const CorsOptions>(std::move(options));
  return [o](Request& req, const Handler& next) -> asio::awaitable<Response> {
    if (req.method == Method::options && req.header("Access-Control-Request-Method")) {
      Response r(204);
      r.set("Access-Control-Allow-Origin", "*");
      r.set("Access-Control-Allow-Methods", o->allow_methods);
      r.set("Access-Control-Allow-Headers", o->allow_headers);
      r.set("Access-Control-Max-Age", std::to_string(o->max_age));
      r.set("Vary", "Origin, Access-Control-Request-Headers");
      co_return r;
    }
    Response r = co_await next(req);
    r.set("Access-Control-Allow-Origin", "*");
    r.set("Access-Control-Expose-Headers", o->expose_headers);
    co_return r;
  };
}

}  // namespace seedcast::http

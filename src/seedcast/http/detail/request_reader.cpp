#include "seedcast/http/detail/request_reader.hpp"

#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "seedcast/core/text.hpp"

namespace seedcast::http::detail {
namespace bhttp = boost::beast::http;

namespace {

// Splits an origin-form or absolute-form request-target into path and query.
bool split_target(std::string_view target, Request& req) {
  if (target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0) {
    size_t slash = target.find('/', target.find("//") + 2);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  if (target == "*") {
    req.path = target;
    return true;
  }
  if (target.empty() || target[0] != '/') return false;
  size_t q = target.find('?');
  req.path = target.substr(0, q);
  req.query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  return true;
}

Response own_error(int status, std::string_view message, const ServerOptions& options) {
  Response r = Response::error(status, message);
  r.fields += options.own_error_fields;
  r.close = true;
  return r;
}

}  // namespace

void limit(RequestParser& parser, const ServerOptions& options) {
  parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
  parser.body_limit(options.body_limit);
}

Response parse_refusal(const error_code& ec, const ServerOptions& options) {
  if (ec == bhttp::error::header_limit) return own_error(431, "request header too large", options);
  if (ec == bhttp::error::body_limit) return own_error(413, "request body too large", options);
  return own_error(400, "malformed request: " + ec.message(), options);
}

std::optional<Response> read_request(const BeastRequest& msg, Request& req, const ServerOptions& options) {
  req.method_text = msg.method_string();
  req.method = parse_method(req.method_text);
  req.target = msg.target();
  req.version = msg.version() == 10 ? 10 : 11;
  req.body = msg.body();
  req.websocket = boost::beast::websocket::is_upgrade(msg);
  req.headers.reserve(16);
  for (const auto& f : msg) req.headers.push_back({f.name_string(), f.value()});
  size_t hosts = 0;
  for (const auto& h : req.headers) hosts += text::iequals(h.name, "Host");
  // RFC 9112 §3.2; links in answers are built from Host, so it must be unambiguous.
  if (hosts > 1) return own_error(400, "more than one Host header", options);
  if (hosts == 0 && req.version == 11) return own_error(400, "HTTP/1.1 request without Host", options);
  if (!split_target(req.target, req)) return own_error(400, "malformed request target", options);
  return std::nullopt;
}

}  // namespace seedcast::http::detail

#include "seedcast/http/router.hpp"

#include <algorithm>
#include <stdexcept>

#include "seedcast/http/detail/asio_impl.hpp"

namespace seedcast::http {
namespace {
std::string_view method_name(Method m) {
  switch (m) {
    case Method::get: return "GET";
    case Method::head: return "HEAD";
    case Method::post: return "POST";
    case Method::put: return "PUT";
    case Method::delete_: return "DELETE";
    case Method::options: return "OPTIONS";
    case Method::patch: return "PATCH";
    case Method::other: break;
  }
  return "";
}
}  // namespace

void Router::add(std::initializer_list<Method> methods, std::string pattern, Handler handler) {
  Route route{std::vector<Method>(methods), {}, std::move(handler)};
  if (std::find(methods.begin(), methods.end(), Method::get) != methods.end())
    route.methods.push_back(Method::head);
  if (pattern.empty() || pattern[0] != '/') throw std::invalid_argument("route must start with /");
  std::string_view p = std::string_view(pattern).substr(1);
  while (true) {
    size_t slash = p.find('/');
    std::string_view seg = p.substr(0, slash);
    if (seg.size() >= 2 && seg[0] == '{') {
      size_t close = seg.find('}');
      if (close == std::string_view::npos) throw std::invalid_argument("unclosed { in route");
      std::string name(seg.substr(1, close - 1));
      if (!name.empty() && name[0] == '*') {
        if (slash != std::string_view::npos) throw std::invalid_argument("{*rest} must be last");
        route.segments.push_back({Segment::Kind::rest, name.substr(1), ""});
      } else {
        route.segments.push_back({Segment::Kind::capture, name, std::string(seg.substr(close + 1))});
      }
    } else {
      route.segments.push_back({Segment::Kind::literal, std::string(seg), ""});
    }
    if (slash == std::string_view::npos) break;
    p.remove_prefix(slash + 1);
  }
  routes_.push_back(std::move(route));
}

bool Router::match(const Route& route, std::string_view path, Request& request) {
  if (path.empty() || path[0] != '/') return false;
  std::string_view rest = path.substr(1);
  bool exhausted = false;  // every byte of the path has been matched
  request.params.clear();
  for (const Segment& s : route.segments) {
    if (s.kind == Segment::Kind::rest) {
      if (exhausted) return false;
      request.params.emplace_back(s.text, rest);
      return true;
    }
    if (exhausted) return false;
    size_t slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    if (slash == std::string_view::npos) {
      exhausted = true;
      rest = {};
    } else {
      rest.remove_prefix(slash + 1);
    }
    if (s.kind == Segment::Kind::literal) {
      if (seg != s.text) return false;
    } else {
      if (seg.size() <= s.suffix.size() || seg.substr(seg.size() - s.suffix.size()) != s.suffix)
        return false;
      request.params.emplace_back(s.text, seg.substr(0, seg.size() - s.suffix.size()));
    }
  }
  return exhausted;
}

asio::awaitable<Response> Router::dispatch(Request& request) const {
  std::vector<Method> allowed;
  for (const Route& route : routes_) {
    if (!match(route, request.path, request)) continue;
    if (std::find(route.methods.begin(), route.methods.end(), request.method) != route.methods.end())
      co_return co_await route.handler(request);
    allowed.insert(allowed.end(), route.methods.begin(), route.methods.end());
  }
  request.params.clear();
  if (allowed.empty()) co_return Response::error(404, "no such route");
  std::string allow;
  for (Method m : {Method::get, Method::head, Method::post, Method::put, Method::delete_,
                   Method::patch}) {
    if (std::find(allowed.begin(), allowed.end(), m) == allowed.end()) continue;
    allow.append(allow.empty() ? "" : ", ").append(method_name(m));
  }
  allow.append(", OPTIONS");
  if (request.method == Method::options) {
    Response r(204);
    r.set("Allow", allow);
    co_return r;
  }
  Response r = Response::error(405, "method not allowed here");
  r.set("Allow", allow);
  co_return r;
}

Handler Router::as_handler() const {
  return [this](Request& r) { return dispatch(r); };
}

}  // namespace seedcast::http

#pragma once
// Path patterns made of '/'-separated segments: a literal ("file"), a capture ("{hash}"), a
// capture with a literal suffix ("{hash}.torrent") or, last, a capture of the rest
// ("{*path}", possibly empty). Captures are still percent-encoded.
#include <initializer_list>
#include <string>
#include <vector>

#include "seedcast/http/handler.hpp"

namespace seedcast::http {

class Router {
 public:
  // HEAD is allowed wherever GET is; OPTIONS is answered for every matched path.
  void add(std::initializer_list<Method> methods, std::string pattern, Handler handler);
  asio::awaitable<Response> dispatch(Request& request) const;
  Handler as_handler() const;  // the router as the innermost handler of a chain

 private:
  struct Segment {
    enum class Kind { literal, capture, rest } kind;
    std::string text;    // literal text, or capture name
    std::string suffix;  // for captures: literal text after the '}'
  };
  struct Route {
    std::vector<Method> methods;
    std::vector<Segment> segments;
    Handler handler;
  };
  static bool match(const Route& route, std::string_view path, Request& request);
  std::vector<Route> routes_;
};

}  // namespace seedcast::http

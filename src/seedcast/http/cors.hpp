#pragma once
#include <string>

#include "seedcast/http/handler.hpp"

namespace seedcast::http {

struct CorsOptions {
  std::string allow_methods = "GET, HEAD, OPTIONS";
  std::string allow_headers =
      "Range, Cache-Control, User-Agent, If-Range, If-None-Match, If-Modified-Since, "
      "Authorization, token, Content-Type";
  std::string expose_headers = "Content-Range, Content-Length, Accept-Ranges, ETag";
  int max_age = 86400;
};

// Answers CORS preflights with 204 and adds Access-Control-Allow-Origin: * and the exposed
// headers to every other response.
Middleware cors(CorsOptions options);

}  // namespace seedcast::http

#pragma once
// The authentication middleware: finds the request's token, verifies it, and either refuses
// the request or records who is asking (Request::user, Request::token) for the handlers.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "seedcast/auth/jwt.hpp"
#include "seedcast/http/handler.hpp"

namespace seedcast::auth {

// Decides whether a token is good. May suspend (a webhook asks another server).
using Verify = std::function<asio::awaitable<VerifyResult>(std::string token)>;

struct Options {
  Verify verify;  // empty: the server runs open (tokens in paths are still removed)
  std::vector<std::string> public_paths = {"/healthz"};      // exact paths that need no token
  std::vector<std::string> public_prefixes = {"/assets/"};   // prefixes that need no token
  // Builds a refusal; the default is the JSON error. The tracker answers in bencode.
  std::function<http::Response(const http::Request&, int status, std::string_view message)> refuse;
};

// The token of a request: header `token`, `Authorization: Bearer`, query `token`, or the second
// path segment when it has the shape of a JWT — that segment is then removed from req.path.
std::optional<std::string> take_token(http::Request& req);

http::Middleware middleware(Options options);

}  // namespace seedcast::auth

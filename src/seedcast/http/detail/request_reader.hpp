#pragma once
// The request as seedcast reads it: from the message Beast parsed to seedcast's Request, and
// the answers to requests refused before any handler sees them. Sans-I/O, so the fuzzer
// (fuzz/http_request_fuzz.cpp) runs exactly what a connection runs.
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>

#include "seedcast/core/error.hpp"
#include "seedcast/http/message.hpp"
#include "seedcast/http/server.hpp"

namespace seedcast::http::detail {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;
using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// A fresh parser with the server's header and body limits.
void limit(RequestParser& parser, const ServerOptions& options);

// The answer to a request Beast could not parse (400, 431 header too large, 413 body too large).
Response parse_refusal(const error_code& ec, const ServerOptions& options);

// Fills `req` with views into `msg` (method, target split into path and query, version,
// headers, body, WebSocket upgrade). Returns the answer when the request is refused before any
// handler (400: no Host in HTTP/1.1, more than one Host, a malformed target); `req.remote` and
// `req.local` are the caller's to set.
std::optional<Response> read_request(const BeastRequest& msg, Request& req, const ServerOptions& options);

}  // namespace seedcast::http::detail

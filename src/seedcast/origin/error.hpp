#pragma once
// Why a URL could not become a torrent, and the HTTP status each reason is answered with.
#include "seedcast/core/error.hpp"

namespace seedcast::origin {

enum class errc {
  ok = 0,
  bad_url = 1,          // 400: not an absolute http(s) URL, or credentials in it
  bad_scheme,           // 400: not http or https
  host_not_allowed,     // 403: not in ALLOWED_DOMAINS
  address_not_allowed,  // 403: resolves to a loopback/private/link-local/... address
  unresolvable,         // 502: no address for the host
  origin_status,        // 502: the origin answered something other than 200
  bad_redirect,         // 502: a redirect without a usable Location, or too many
  truncated,            // 502: fewer bytes than announced, or the connection broke
  unreachable,          // 502: cannot connect, TLS failure, …
  empty,                // 502: the origin sent no bytes
  too_large,            // 413: more than ORIGIN_MAX_BYTES
  timeout,              // 504: more than ORIGIN_TIMEOUT
  storage,              // 500: cannot write the cache or the catalog
  stopping,             // 503: the server is shutting down
};

const boost::system::error_category& origin_category();
inline error_code make_error(errc e) { return error_code(static_cast<int>(e), origin_category()); }
// The HTTP status for an origin error (500 for errors of other categories).
int http_status(const error_code& ec);

}  // namespace seedcast::origin

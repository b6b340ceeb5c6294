#pragma once
// Origin URLs: parsing and normalising (libcurl's URL API), the URL a client put in a route,
// and the file name a URL torrent gets.
#include <cstdint>
#include <string>
#include <string_view>

#include "seedcast/core/error.hpp"

namespace seedcast::origin {

struct Url {
  std::string url;     // normalised: lower-case scheme and host, no default port, no fragment
  std::string scheme;  // "http" or "https"
  std::string host;    // lower-case, no trailing dot; an IPv6 literal without brackets
  uint16_t port = 0;   // always set (80/443 when the URL has none)
  std::string path;    // still percent-encoded, starts with '/'
};

// The one form of a host (lower-case, no trailing dot, no brackets) that is an address, so that a
// URL's identity, the allow-list and the connect-time address check all see the same host: an
// IPv4 address in any form the resolver accepts (2130706433, 0x7f.1, 127.1, and "2." once its
// trailing dot is gone) becomes a dotted quad, as browsers' URL parsers make it; an IPv6
// literal becomes inet_ntop's form. Anything else is a name and comes back as it is.
std::string canonical_host(std::string host);

// An absolute http or https URL; credentials ("user:pass@") are refused (errc::bad_url).
result<Url> parse_url(std::string_view text);
// `location` (absolute or relative) resolved against `base`, then parsed as above.
result<Url> resolve(const Url& base, std::string_view location);

// The origin URL a client asked for in /torrent/url/{*rest} or /url/{*rest}: percent-encoded
// ("https%3A%2F%2Fhost%2Fa.mp4") or raw ("https://host/a.mp4"); a "//" that a client collapsed
// ("https:/host/a.mp4") is restored. `query` is the request's query: for a raw URL it is the
// URL's own, less the parameters seedcast reads (format, token).
std::string url_from_route(std::string_view rest, std::string_view query);

// The torrent's name: the URL path's last segment, decoded, without '/', '\', control
// characters or leading dots; "download" when nothing is left.
std::string file_name(const Url& u);

}  // namespace seedcast::origin

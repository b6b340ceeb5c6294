// libFuzzer target: what a client puts in /torrent/url/{url} — route decoding, URL parsing and
// normalisation (libcurl's URL API), redirect resolution, file names, the allow-list. None may
// crash; a normalised URL parses to itself; a file name is never a path.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "seedcast/origin/address.hpp"
#include "seedcast/origin/allow_list.hpp"
#include "seedcast/origin/url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  using namespace seedcast::origin;
  size_t q = s.find('?');
  std::string url = url_from_route(s.substr(0, q), q == std::string_view::npos ? std::string_view{} : s.substr(q + 1));
  auto u = parse_url(url);
  if (u) {
    auto again = parse_url(u->url);
    if (!again || again->url != u->url || again->host != u->host || again->port != u->port) std::abort();
    std::string name = file_name(*u);
    if (name.empty() || name.find('/') != std::string::npos || name.find('\\') != std::string::npos ||
        name.find('\0') != std::string::npos || name[0] == '.')
      std::abort();
    (void)resolve(*u, s);
    (void)AllowList::from_list("*.example.com,cdn.example.net").allows(u->host);
    (void)is_private_literal(u->host);
  }
  (void)AllowList::from_list(s).allows("cdn.example.com");
  return 0;
}

#include "seedcast/webseed/links.hpp"

#include "seedcast/core/text.hpp"

namespace seedcast::webseed {

std::string base_url(std::string_view public_url, std::string_view host, std::string_view local_address) {
  if (!public_url.empty()) {
    while (!public_url.empty() && public_url.back() == '/') public_url.remove_suffix(1);
    return std::string(public_url);
  }
  bool ok = !host.empty() && host.size() < 256;
  for (char c : host) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' ||
          c == ']' || c == '_'))
      ok = false;
  }
  return "http://" + std::string(ok ? host : local_address);
}

std::string torrent_url(const std::string& base, const catalog::Torrent& t) {
  return base + "/torrent/" + t.info_hash.hex() + ".torrent";
}

std::string listing_url(const std::string& base, const catalog::Torrent& t) {
  return base + "/file/" + t.info_hash.hex();
}

std::string webseed_url(const std::string& base, const catalog::Torrent& t) {
  std::string u = listing_url(base, t) + "/";
  if (!t.multi_file) u += text::percent_encode(t.name);
  return u;
}

std::string file_url(const std::string& base, const catalog::Torrent& t, const catalog::File& f) {
  std::string u = listing_url(base, t) + "/";
  if (t.multi_file) u += text::percent_encode(t.name) + "/";
  return u + text::percent_encode(f.path, true);
}

std::string magnet_uri(const std::string& base, const catalog::Torrent& t) {
  return "magnet:?xt=urn:btih:" + t.info_hash.hex() + "&dn=" + text::percent_encode(t.name) +
         "&ws=" + text::percent_encode(webseed_url(base, t)) + "&xs=" + text::percent_encode(torrent_url(base, t));
}

}  // namespace seedcast::webseed

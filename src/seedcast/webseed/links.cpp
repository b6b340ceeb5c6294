#include "seedcast/webseed/links.hpp"

#include "seedcast/core/text.hpp"

namespace seedcast::webseed {

std::string Base::route(std::string_view first_segment) const {
  std::string u = url + "/" + std::string(first_segment);
  if (!token.empty()) u += "/" + token;
  return u;
}

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

std::string torrent_url(const Base& b, const catalog::Torrent& t) {
  return b.route("torrent") + "/" + t.info_hash.hex() + ".torrent";
}

std::string listing_url(const Base& b, const catalog::Torrent& t) { return b.route("file") + "/" + t.info_hash.hex(); }

std::string watch_url(const Base& b, const catalog::Torrent& t) { return b.route("watch") + "/" + t.info_hash.hex(); }

std::string webseed_url(const Base& b, const catalog::Torrent& t) {
  std::string u = listing_url(b, t) + "/";
  if (!t.multi_file) u += text::percent_encode(t.name);
  return u;
}

std::vector<std::string> url_list(const Base& b, const catalog::Torrent& t) {
  std::vector<std::string> l{webseed_url(b, t)};
  if (!t.origin.empty()) l.push_back(t.origin);
  return l;
}

std::string file_url(const Base& b, const catalog::Torrent& t, const catalog::File& f) {
  std::string u = listing_url(b, t) + "/";
  if (t.multi_file) u += text::percent_encode(t.name) + "/";
  return u + text::percent_encode(f.path, true);
}

std::vector<std::string> tracker_urls(const Base& b) {
  std::string http = b.route("announce");
  std::string ws = http.rfind("https://", 0) == 0 ? "wss://" + http.substr(8)
                   : http.rfind("http://", 0) == 0 ? "ws://" + http.substr(7)
                                                   : http;
  return {http, ws};
}

std::string magnet_uri(const Base& b, const catalog::Torrent& t, const std::vector<std::string>& trackers) {
  std::string m = "magnet:?xt=urn:btih:" + t.info_hash.hex() + "&dn=" + text::percent_encode(t.name);
  for (const auto& tr : trackers) m += "&tr=" + text::percent_encode(tr);
  return m + "&ws=" + text::percent_encode(webseed_url(b, t)) + "&xs=" + text::percent_encode(torrent_url(b, t));
}

}  // namespace seedcast::webseed

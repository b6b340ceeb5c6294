#pragma once
// The URLs clients use for a torrent, all derived from one base URL and, when the server runs
// private, the viewer's token as the second path segment (so clients that build URLs
// themselves — url-list, announce — carry it without headers or query strings).
#include <string>
#include <string_view>
#include <vector>

#include "seedcast/catalog/torrent.hpp"

namespace seedcast::webseed {

struct Base {
  std::string url;    // e.g. https://cdn.example.com (no trailing slash)
  std::string token;  // empty when open
  // url + "/" + route, with "/" + token after the route's first segment.
  std::string route(std::string_view first_segment) const;
};

// The base for links in an answer to a request: PUBLIC_URL, else http://<Host header>, else
// http://<the address the request arrived on>.
std::string base_url(std::string_view public_url, std::string_view host_header, std::string_view local_address);

std::string torrent_url(const Base& b, const catalog::Torrent& t);
std::string listing_url(const Base& b, const catalog::Torrent& t);
std::string watch_url(const Base& b, const catalog::Torrent& t);
// BEP 19 webseed: the exact file URL for a single-file torrent, the folder URL (ending in '/')
// for a multi-file one.
std::string webseed_url(const Base& b, const catalog::Torrent& t);
// The torrent's url-list: this server's webseed, then, for a torrent made from a URL, that URL.
std::vector<std::string> url_list(const Base& b, const catalog::Torrent& t);
// The URL of one file, in the BEP 19 form <…>/<name>/<path> for multi-file torrents.
std::string file_url(const Base& b, const catalog::Torrent& t, const catalog::File& f);
// This server's trackers: HTTP announce, then the WebSocket one (ws:// or wss://).
std::vector<std::string> tracker_urls(const Base& b);
std::string magnet_uri(const Base& b, const catalog::Torrent& t, const std::vector<std::string>& trackers);

}  // namespace seedcast::webseed

#pragma once
// The URLs clients use for a torrent, all derived from one base URL.
#include <string>
#include <string_view>

#include "seedcast/catalog/torrent.hpp"

namespace seedcast::webseed {

// The base for links in an answer to a request: PUBLIC_URL, else http://<Host header>, else
// http://<the address the request arrived on>.
std::string base_url(std::string_view public_url, std::string_view host_header, std::string_view local_address);

std::string torrent_url(const std::string& base, const catalog::Torrent& t);
std::string listing_url(const std::string& base, const catalog::Torrent& t);
// BEP 19 webseed: the exact file URL for a single-file torrent, the folder URL (ending in '/')
// for a multi-file one.
std::string webseed_url(const std::string& base, const catalog::Torrent& t);
// The URL of one file, in the BEP 19 form <…>/<name>/<path> for multi-file torrents.
std::string file_url(const std::string& base, const catalog::Torrent& t, const catalog::File& f);
std::string magnet_uri(const std::string& base, const catalog::Torrent& t);

}  // namespace seedcast::webseed

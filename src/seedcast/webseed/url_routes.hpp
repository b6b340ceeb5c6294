#pragma once
// GET /torrent/url/{url}, /url/{url} and /url?url=…: the torrent of a file on an allowed origin
// (see origin/fetcher.hpp), as a .torrent (default), ?format=json or ?format=magnet. The URL in
// the path may be percent-encoded or raw; errors are JSON with the origin error's status.
#include <functional>
#include <string_view>

#include "seedcast/catalog/torrent.hpp"
#include "seedcast/http/message.hpp"

namespace seedcast::http {
class Router;
}
namespace seedcast::origin {
class Fetcher;
}

namespace seedcast::webseed {

// Answers for a torrent that exists: format is "torrent", "json" or "magnet".
using UrlAnswer = std::function<http::Response(const http::Request&, const catalog::Torrent&, std::string_view format)>;

void add_url_routes(http::Router& router, origin::Fetcher& fetcher, UrlAnswer answer);

}  // namespace seedcast::webseed

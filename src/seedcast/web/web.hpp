#pragma once
// The pages people open: the library index at /, the player at /watch/{infoHash}, and the
// static assets they load (/assets/…, the WebTorrent bundle, its service worker).
#include <string>

namespace seedcast::catalog {
class Catalog;
}
namespace seedcast::http {
class Router;
}

namespace seedcast::web {

struct Options {
  std::string public_url;
  std::string web_dir;  // holds watch.html, its assets, and node_modules/webtorrent
};

void add_routes(http::Router& router, const catalog::Catalog& catalog, Options options);

}  // namespace seedcast::web

#include "seedcast/web/web.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "seedcast/catalog/catalog.hpp"
#include "seedcast/core/text.hpp"
#include "seedcast/http/router.hpp"
#include "seedcast/webseed/links.hpp"

namespace seedcast::web {
namespace {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
}

webseed::Base base_of(const Options& o, const http::Request& req) {
  return {webseed::base_url(o.public_url, req.header("Host").value_or(""), req.local), req.token};
}

// A file of the web folder, sent as it is; only names without '/' and known static types.
http::Response asset(const std::string& path, std::string_view name) {
  auto f = FileHandle::open(path);
  if (!f) return http::Response::error(404, "no such asset");
  http::Response r(200);
  r.set("Content-Type", text::mime_type(name));
  r.set("Cache-Control", "public, max-age=3600");
  r.parts.push_back({{}, f, 0, f->stat().size});
  return r;
}

bool plain_name(std::string_view n) {
  if (n.empty() || n[0] == '.' || n.size() > 128) return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) return false;
  return true;
}

}  // namespace

void add_routes(http::Router& router, const catalog::Catalog& catalog, Options options) {
  auto o = std::make_shared<const Options>(std::move(options));
  router.add({http::Method::get}, "/", [&catalog, o](http::Request& req) -> asio::awaitable<http::Response> {
    webseed::Base base = base_of(*o, req);
    auto all = catalog.all();
    std::string body = "<h1>seedcast library</h1><p>" + std::to_string(all.size()) +
                       " torrents</p><table><tr><th>name</th><th>files</th><th>size</th>"
                       "<th>info-hash</th><th></th></tr>";
    for (const auto& t : all) {
      body += "<tr><td><a href=\"" + text::html_escape(webseed::listing_url(base, *t)) + "\">" +
              text::html_escape(t->name) + "</a></td><td class=n>" + std::to_string(t->files.size()) +
              "</td><td class=n>" + text::human_size(t->length) + "</td><td><code>" + t->info_hash.hex() + "</code></td><td><a href=\"" +
              text::html_escape(webseed::torrent_url(base, *t)) + "\">.torrent</a> · <a href=\"" +
              text::html_escape(webseed::watch_url(base, *t)) + "\">watch</a></td></tr>";
    }
    body += "</table>";
    co_return http::Response::text(200, text::html_page("seedcast", body), "text/html; charset=utf-8");
  });

  router.add({http::Method::get}, "/watch/{hash}", [&catalog, o](http::Request& req) -> asio::awaitable<http::Response> {
    auto h = InfoHash::from_hex(req.param("hash"));
    if (!h) co_return http::Response::error(400, "not an info-hash: expected 40 hex digits");
    auto t = catalog.find(*h);
    if (!t) co_return http::Response::error(404, "unknown info-hash");
    std::ifstream in(o->web_dir + "/watch.html", std::ios::binary);
    if (!in) co_return http::Response::error(503, "the player page is not installed (WEB_DIR)");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string page = ss.str();
    webseed::Base base = base_of(*o, req);
    replace_all(page, "{{INFO_HASH}}", t->info_hash.hex());
    replace_all(page, "{{NAME}}", text::html_escape(t->name));
    replace_all(page, "{{TITLE}}", text::html_escape(t->name));
    replace_all(page, "{{TORRENT_URL}}", text::html_escape(webseed::torrent_url(base, *t)));
    replace_all(page, "{{TOKEN}}", text::html_escape(req.token));
    http::Response r = http::Response::text(200, std::move(page), "text/html; charset=utf-8");
    r.set("Cache-Control", "no-store");
    r.set("Referrer-Policy", "no-referrer");  // the URL may carry the viewer's token
    co_return r;
  });

  router.add({http::Method::get}, "/assets/{name}", [o](http::Request& req) -> asio::awaitable<http::Response> {
    std::string name = text::percent_decode(req.param("name"));
    if (name == "webtorrent.min.js" || name == "webtorrent.min.js.map")
      co_return asset(o->web_dir + "/node_modules/webtorrent/dist/" + name, name);
    if (!plain_name(name) || name.rfind("package", 0) == 0) co_return http::Response::error(404, "no such asset");
    co_return asset(o->web_dir + "/" + name, name);
  });
  // WebTorrent's service worker must be served from the scope it controls.
  router.add({http::Method::get}, "/sw.min.js", [o](http::Request&) -> asio::awaitable<http::Response> {
    co_return asset(o->web_dir + "/node_modules/webtorrent/dist/sw.min.js", "sw.min.js");
  });
}

}  // namespace seedcast::web

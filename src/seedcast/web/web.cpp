#include "seedcast/web/web.hpp"

#include <cstdio>

#include "seedcast/catalog/catalog.hpp"
#include "seedcast/core/text.hpp"
#include "seedcast/http/router.hpp"
#include "seedcast/webseed/links.hpp"

namespace seedcast::web {
namespace {
std::string mib(uint64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", n / 1048576.0);
  return buf;
}
}  // namespace

void add_routes(http::Router& router, const catalog::Catalog& catalog, Options options) {
  router.add({http::Method::get}, "/",
             [&catalog, options](http::Request& req) -> asio::awaitable<http::Response> {
               std::string base = webseed::base_url(options.public_url, req.header("Host").value_or(""), req.local);
               auto all = catalog.all();
               std::string body = "<h1>seedcast library</h1><p>" + std::to_string(all.size()) +
                                  " torrents</p><table><tr><th>name</th><th>files</th><th>size</th>"
                                  "<th>info-hash</th><th></th></tr>";
               for (const auto& t : all) {
                 body += "<tr><td><a href=\"" + text::html_escape(webseed::listing_url(base, *t)) + "\">" +
                         text::html_escape(t->name) + "</a></td><td class=n>" + std::to_string(t->files.size()) +
                         "</td><td class=n>" + mib(t->length) + "</td><td><code>" + t->info_hash.hex() +
                         "</code></td><td><a href=\"" + text::html_escape(webseed::torrent_url(base, *t)) +
                         "\">.torrent</a></td></tr>";
               }
               body += "</table>";
               co_return http::Response::text(200, text::html_page("seedcast", body), "text/html; charset=utf-8");
             });
}

}  // namespace seedcast::web

#include "seedcast/webseed/url_routes.hpp"

#include <memory>

#include "seedcast/core/text.hpp"
#include "seedcast/http/router.hpp"
#include "seedcast/origin/error.hpp"
#include "seedcast/origin/fetcher.hpp"
#include "seedcast/origin/url.hpp"

namespace seedcast::webseed {
namespace {

using http::Request;
using http::Response;

asio::awaitable<Response> url_torrent(origin::Fetcher* fetcher, std::shared_ptr<const UrlAnswer> answer,
                                      Request& req) {
  std::string format = text::query_param(req.query, "format").value_or("");
  if (format.empty()) format = "torrent";
  if (format != "torrent" && format != "json" && format != "magnet")
    co_return Response::error(400, "format must be torrent, json or magnet");
  std::string url;
  if (std::string_view rest = req.param("rest"); !rest.empty())
    url = origin::url_from_route(rest, req.query);
  else
    url = text::query_param(req.query, "url").value_or("");
  if (url.empty()) co_return Response::error(400, "which URL? /torrent/url/{url} or /url?url={url}");
  origin::Answer a = co_await fetcher->torrent(std::move(url));
  if (!a.torrent) {
    Response r = Response::error(origin::http_status(a.error), a.message);
    if (r.status == 503) r.set("Retry-After", "5");
    co_return r;
  }
  co_return (*answer)(req, *a.torrent, format);
}

}  // namespace

void add_url_routes(http::Router& router, origin::Fetcher& fetcher, UrlAnswer answer) {
  auto a = std::make_shared<const UrlAnswer>(std::move(answer));
  auto* f = &fetcher;
  for (const char* pattern : {"/torrent/url/{*rest}", "/url/{*rest}", "/url"}) {
    router.add({http::Method::get}, pattern,
               [f, a](Request& req) -> asio::awaitable<Response> { co_return co_await url_torrent(f, a, req); });
  }
}

}  // namespace seedcast::webseed

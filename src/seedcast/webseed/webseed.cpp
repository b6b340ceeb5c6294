#include "seedcast/webseed/webseed.hpp"

#include <atomic>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <variant>

#include "seedcast/catalog/blacklist.hpp"
#include "seedcast/catalog/catalog.hpp"
#include "seedcast/core/text.hpp"
#include "seedcast/http/range.hpp"
#include "seedcast/http/router.hpp"
#include "seedcast/library/torrent_maker.hpp"
#include "seedcast/webseed/file_cache.hpp"
#include "seedcast/webseed/links.hpp"

namespace seedcast::webseed {
using http::Request;
using http::Response;

namespace {

constexpr std::string_view kDlnaFeatures =
    "DLNA.ORG_OP=01;DLNA.ORG_CI=0;DLNA.ORG_FLAGS=01700000000000000000000000000000";

// A decoded file path is acceptable when it has no NUL, no backslash and no "." or ".."
// segment; empty segments ("a//b") simply match no file.
bool safe_path(std::string_view p) {
  if (p.find('\0') != std::string_view::npos || p.find('\\') != std::string_view::npos) return false;
  while (true) {
    size_t slash = p.find('/');
    std::string_view seg = p.substr(0, slash);
    if (seg == "." || seg == "..") return false;
    if (slash == std::string_view::npos) return true;
    p.remove_prefix(slash + 1);
  }
}

std::string etag_of(const FileStat& st) {
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "\"%llx-%llx\"", static_cast<unsigned long long>(st.mtime_ns),
                        static_cast<unsigned long long>(st.size));
  return std::string(buf, static_cast<size_t>(n));
}

// If-None-Match: "*" or a list of entity-tags, compared weakly (W/ ignored).
bool none_match(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view tag = header.substr(0, comma);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag == "*") return true;
    if (tag.rfind("W/", 0) == 0) tag.remove_prefix(2);
    if (tag == etag) return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

void set_disposition(Response& r, std::string_view type, std::string_view filename) {
  std::string ascii;
  for (char c : filename) ascii.push_back((c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? c : '_');
  r.set("Content-Disposition", std::string(type) + "; filename=\"" + ascii + "\"; filename*=UTF-8''" +
                                   text::percent_encode(filename));
}

}  // namespace

struct Webseed::Impl {
  Options options;
  const catalog::Catalog& catalog;
  const catalog::Blacklist& blacklist;
  FileCache files;
  std::atomic<uint64_t> boundary_counter{0};

  Impl(Options o, const catalog::Catalog& c, const catalog::Blacklist& b)
      : options(std::move(o)), catalog(c), blacklist(b) {}

  Base base(const Request& req) const {
    return {base_url(options.public_url, req.header("Host").value_or(""), req.local), req.token};
  }

  std::vector<std::string> trackers(const Base& b) const {
    auto t = tracker_urls(b);
    t.insert(t.end(), options.extra_trackers.begin(), options.extra_trackers.end());
    return t;
  }

  // The one way a route turns its {hash} into a torrent: 400, 451 or 404 otherwise.
  std::variant<catalog::TorrentPtr, Response> lookup(std::string_view hash) const {
    auto h = InfoHash::from_hex(hash);
    if (!h) return Response::error(400, "not an info-hash: expected 40 hex digits");
    if (blacklist.contains(*h)) return Response::error(451, "this torrent is not available");
    auto t = catalog.find(*h);
    if (!t) return Response::error(404, "unknown info-hash");
    return t;
  }

  Response torrent(const Request& req) const {
    auto found = lookup(req.param("hash"));
    if (auto* r = std::get_if<Response>(&found)) return std::move(*r);
    const auto& t = *std::get<catalog::TorrentPtr>(found);
    Base b = base(req);
    library::Links links;
    links.announce = trackers(b);
    links.url_list.push_back(webseed_url(b, t));
    Response r = Response::text(200, library::torrent_file(t, links), "application/x-bittorrent");
    set_disposition(r, "attachment", t.name + ".torrent");
    return r;
  }

  nlohmann::ordered_json listing_json(const catalog::Torrent& t, const Base& b) const {
    nlohmann::ordered_json files = nlohmann::ordered_json::array();
    for (const auto& f : t.files) {
      std::string full = t.multi_file ? t.name + "/" + f.path : f.path;
      size_t slash = full.rfind('/');
      files.push_back({{"name", slash == std::string::npos ? full : full.substr(slash + 1)},
                       {"path", full},
                       {"length", f.length},
                       {"offset", f.offset},
                       {"url", file_url(b, t, f)}});
    }
    SwarmCounts counts = options.swarm ? options.swarm(t.info_hash) : SwarmCounts{};
    return {{"infoHash", t.info_hash.hex()},
            {"name", t.name},
            {"created", text::iso8601(t.created)},
            {"createdBy", t.created_by},
            {"comment", t.comment},
            {"length", t.length},
            {"pieceLength", t.piece_length},
            {"lastPieceLength", t.last_piece_length()},
            {"numPieces", t.num_pieces},
            {"private", t.private_torrent},
            {"magnetURI", magnet_uri(b, t, trackers(b))},
            {"torrentURL", torrent_url(b, t)},
            {"urlList", nlohmann::ordered_json::array({webseed_url(b, t)})},
            {"announce", trackers(b)},
            {"numPeers", counts.seeders + counts.leechers},
            {"seeders", counts.seeders},
            {"leechers", counts.leechers},
            {"completed", counts.completed},
            {"watchURL", watch_url(b, t)},
            {"files", std::move(files)}};
  }

  Response listing(const Request& req) const {
    auto found = lookup(req.param("hash"));
    if (auto* r = std::get_if<Response>(&found)) return std::move(*r);
    const auto& t = *std::get<catalog::TorrentPtr>(found);
    Base b = base(req);
    auto json = text::query_param(req.query, "json");
    if (json && *json != "0" && *json != "false")
      return Response::json(200, listing_json(t, b).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
    std::string body = "<h1>" + text::html_escape(t.name) + "</h1><p><code>" + t.info_hash.hex() +
                       "</code> · " + text::human_size(t.length) + " · <a href=\"" + text::html_escape(torrent_url(b, t)) +
                       "\">.torrent</a> · <a href=\"" + text::html_escape(magnet_uri(b, t, trackers(b))) +
                       "\">magnet</a> · <a href=\"" + text::html_escape(watch_url(b, t)) + "\">watch</a> · <a href=\"?json=1\">JSON</a> · <a href=\"/\">library</a></p>"
                       "<table><tr><th>file</th><th>size</th></tr>";
    for (const auto& f : t.files) {
      body += "<tr><td><a href=\"" + text::html_escape(file_url(b, t, f)) + "\">" + text::html_escape(f.path) +
              "</a></td><td class=n>" + text::human_size(f.length) + "</td></tr>";
    }
    body += "</table>";
    return Response::text(200, text::html_page(t.name, body), "text/html; charset=utf-8");
  }

  Response file(const Request& req) {
    auto found = lookup(req.param("hash"));
    if (auto* r = std::get_if<Response>(&found)) return std::move(*r);
    const auto& t = *std::get<catalog::TorrentPtr>(found);
    std::string path = text::percent_decode(req.param("path"));
    if (!safe_path(path)) return Response::error(400, "bad file path");
    // BEP 19 clients put the torrent's name first; people and players may not.
    const catalog::File* f = nullptr;
    if (t.multi_file && path.size() > t.name.size() && path.compare(0, t.name.size(), t.name) == 0 &&
        path[t.name.size()] == '/')
      f = t.find_file(std::string_view(path).substr(t.name.size() + 1));
    if (!f) f = t.find_file(path);
    if (!f) return Response::error(404, "no such file in this torrent");

    auto handle = files.open(t.disk_path(*f));
    FileStat st;
    if (!handle || !handle->current(st) || st.size != f->length || st.mtime_ns != f->mtime_ns) {
      // Never serve bytes that may not match the published hashes.
      if (options.on_stale) options.on_stale();
      Response r = Response::error(503, "this file changed on disk and is being re-indexed");
      r.set("Retry-After", "5");
      return r;
    }
    if (bulk_request_of_a_peer(req, t, st.size)) {
      Response r = Response::error(503, "get these pieces from the BitTorrent seed and your peers");
      r.set("Retry-After", std::to_string(options.defer_seconds));
      return r;
    }
    return send_file(req, std::move(handle), st, f->path);
  }

  // See Options::bittorrent_peer.
  bool bulk_request_of_a_peer(const Request& req, const catalog::Torrent& t, uint64_t size) const {
    if (options.defer_seconds <= 0 || !options.bittorrent_peer) return false;
    auto range = req.header("Range");
    if (!range || range->empty() || range->back() == '-') return false;  // none, or open-ended
    auto parsed = http::parse_range(*range, size, 1);
    if (parsed.kind != http::RangeResult::Kind::satisfiable || parsed.ranges.size() != 1) return false;
    if (parsed.ranges.front().length() <= t.piece_length) return false;
    return options.bittorrent_peer(t.info_hash, req.remote);
  }

  Response send_file(const Request& req, std::shared_ptr<FileHandle> handle, const FileStat& st,
                     std::string_view name) {
    const std::string etag = etag_of(st);
    const std::string last_modified = text::http_date(st.mtime_ns / 1000000000);
    std::string_view type = text::mime_type(name);
    auto common = [&](Response& r) {
      r.set("Accept-Ranges", "bytes");
      r.set("ETag", etag);
      r.set("Last-Modified", last_modified);
      r.set("transferMode.dlna.org", "Streaming");
      r.set("contentFeatures.dlna.org", kDlnaFeatures);
    };
    if (auto inm = req.header("If-None-Match")) {
      if (none_match(*inm, etag)) {
        Response r(304);
        common(r);
        return r;
      }
    } else if (auto ims = req.header("If-Modified-Since")) {
      auto since = text::parse_http_date(*ims);
      if (since && st.mtime_ns / 1000000000 <= *since) {
        Response r(304);
        common(r);
        return r;
      }
    }

    http::RangeResult ranges;
    if (auto range = req.header("Range")) {
      bool apply = true;
      if (auto if_range = req.header("If-Range")) apply = *if_range == etag || *if_range == last_modified;
      if (apply) ranges = http::parse_range(*range, st.size, options.max_ranges);
    }
    using Kind = http::RangeResult::Kind;
    if (ranges.kind == Kind::unsatisfiable || ranges.kind == Kind::too_many) {
      Response r = Response::error(416, ranges.kind == Kind::too_many ? "too many ranges" : "range not satisfiable");
      common(r);
      r.set("Content-Range", "bytes */" + std::to_string(st.size));
      return r;
    }
    Response r(ranges.kind == Kind::none ? 200 : 206);
    common(r);
    if (ranges.kind == Kind::none) {
      r.set("Content-Type", type);
      r.parts.push_back({{}, handle, 0, st.size});
    } else if (ranges.ranges.size() == 1) {
      const auto& br = ranges.ranges.front();
      r.set("Content-Type", type);
      r.set("Content-Range", "bytes " + std::to_string(br.first) + "-" + std::to_string(br.last) + "/" +
                                 std::to_string(st.size));
      r.parts.push_back({{}, handle, br.first, br.length()});
    } else {
      std::string boundary = "seedcast-" + std::to_string(++boundary_counter) + "-" + etag.substr(1, etag.size() - 2);
      r.set("Content-Type", "multipart/byteranges; boundary=" + boundary);
      for (const auto& br : ranges.ranges) {
        std::string head = "\r\n--" + boundary + "\r\nContent-Type: " + std::string(type) +
                           "\r\nContent-Range: bytes " + std::to_string(br.first) + "-" + std::to_string(br.last) +
                           "/" + std::to_string(st.size) + "\r\n\r\n";
        r.parts.push_back({std::move(head), handle, br.first, br.length()});
      }
      r.parts.push_back({"\r\n--" + boundary + "--\r\n", nullptr, 0, 0});
    }
    return r;
  }
};

Webseed::Webseed(Options options, const catalog::Catalog& catalog, const catalog::Blacklist& blacklist)
    : impl_(std::make_shared<Impl>(std::move(options), catalog, blacklist)) {}

Webseed::~Webseed() = default;

void Webseed::add_routes(http::Router& router) {
  using http::Method;
  auto impl = impl_;
  router.add({Method::get}, "/torrent/{hash}.torrent",
             [impl](Request& req) -> asio::awaitable<Response> { co_return impl->torrent(req); });
  router.add({Method::get}, "/file/{hash}",
             [impl](Request& req) -> asio::awaitable<Response> { co_return impl->listing(req); });
  router.add({Method::get}, "/file/{hash}/{*path}",
             [impl](Request& req) -> asio::awaitable<Response> { co_return impl->file(req); });
}

}  // namespace seedcast::webseed

#include "seedcast/webseed/webseed.hpp"

#include <atomic>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <variant>

#include "seedcast/catalog/blacklist.hpp"
#include "seedcast/catalog/catalog.hpp"
#include "seedcast/core/text.hpp"
#include "seedcast/engine/engine.hpp"
#include "seedcast/http/range.hpp"
#include "seedcast/http/wait.hpp"
#include "seedcast/http/router.hpp"
#include "seedcast/library/torrent_maker.hpp"
#include "seedcast/webseed/file_cache.hpp"
#include "seedcast/webseed/links.hpp"
#include "seedcast/webseed/url_routes.hpp"

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

using Clock = std::chrono::steady_clock;

// A response body streamed from a torrent the gateway fetches: what every chunk's wait shares.
struct SwarmStream {
  engine::Engine* engine;
  catalog::TorrentPtr torrent;
  std::string path;  // on disk, in the cache
  std::shared_ptr<const FileHandle> file;
  int piece_timeout;
  uint32_t read_ahead_pieces;
};

// Waits until pieces [first, last] are verified (each within the piece timeout), asking for
// them and for the read-ahead after them; then the file to send them from, or nullptr.
asio::awaitable<std::shared_ptr<const FileHandle>> wait_pieces(std::shared_ptr<SwarmStream> s, uint32_t first,
                                                                uint32_t last) {
  const InfoHash ih = s->torrent->info_hash;
  uint32_t ahead = std::min(s->torrent->num_pieces - 1, last + s->read_ahead_pieces);
  s->engine->request(ih, first, ahead, 0, 100);
  for (uint32_t p = first; p <= last; ++p) {
    std::function<bool()> ready = [e = s->engine, ih, p] { return e->have_piece(ih, p); };
    std::function<void(std::function<void()>)> subscribe = [e = s->engine, ih, p](std::function<void()> wake) {
      e->wait_piece(ih, p, std::move(wake));
    };
    bool ok = co_await http::wait_until(Clock::now() + std::chrono::seconds(s->piece_timeout), std::move(ready),
                                        std::move(subscribe));
    if (!ok) co_return nullptr;
  }
  if (!s->file) s->file = FileHandle::open(s->path);
  co_return s->file;
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

  // The one way a route turns its {hash} into a torrent: 400, 451, 404 or 504 otherwise. A
  // torrent the catalog lacks is fetched from its swarm when the gateway may (open mode, or the
  // operator added it).
  // What can be told without waiting: 400, 451, the catalog's torrent, or nullptr when the
  // catalog does not have it (yet).
  std::variant<catalog::TorrentPtr, Response> lookup_now(std::string_view hash) const {
    auto h = InfoHash::from_hex(hash);
    if (!h) return Response::error(400, "not an info-hash: expected 40 hex digits");
    if (blacklist.contains(*h)) return Response::error(451, "this torrent is not available");
    return catalog.find(*h);
  }

  asio::awaitable<std::variant<catalog::TorrentPtr, Response>> lookup(std::string hash) const {
    auto now = lookup_now(hash);
    if (auto* t = std::get_if<catalog::TorrentPtr>(&now); !t || *t) co_return now;
    const InfoHash ih = *InfoHash::from_hex(hash);  // lookup_now checked it
    engine::Engine* e = options.engine;
    if (!e || (!e->fetching(ih) && (!options.open_gateway || !e->add_info_hash(ih))))
      co_return Response::error(404, "unknown info-hash");
    std::function<bool()> ready = [this, ih] { return catalog.find(ih) != nullptr; };
    std::function<void(std::function<void()>)> subscribe = [e, ih](std::function<void()> wake) {
      e->wait_metadata(ih, std::move(wake));
    };
    co_await http::wait_until(Clock::now() + std::chrono::seconds(options.metadata_timeout), std::move(ready),
                              std::move(subscribe));
    if (auto t = catalog.find(ih)) co_return t;
    Response r = Response::error(504, "no peer of this swarm sent the torrent's metadata in time");
    r.set("Retry-After", "10");
    co_return r;
  }

  asio::awaitable<Response> torrent(const Request& req) const {
    auto found = co_await lookup(std::string(req.param("hash")));
    if (auto* r = std::get_if<Response>(&found)) co_return std::move(*r);
    co_return torrent_answer(req, *std::get<catalog::TorrentPtr>(found));
  }

  Response torrent_answer(const Request& req, const catalog::Torrent& t) const {
    Base b = base(req);
    library::Links links;
    links.announce = trackers(b);
    links.url_list = url_list(b, t);
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
            {"urlList", url_list(b, t)},
            {"announce", trackers(b)},
            {"numPeers", counts.seeders + counts.leechers},
            {"seeders", counts.seeders},
            {"leechers", counts.leechers},
            {"completed", counts.completed},
            {"watchURL", watch_url(b, t)},
            {"files", std::move(files)}};
  }

  // A torrent made from a URL, in the format /torrent/url/… was asked for.
  Response url_answer(const Request& req, const catalog::Torrent& t, std::string_view format) const {
    if (blacklist.contains(t.info_hash)) return Response::error(451, "this torrent is not available");
    used(t);
    if (format == "torrent") return torrent_answer(req, t);
    Base b = base(req);
    if (format == "magnet") return Response::text(200, magnet_uri(b, t, trackers(b)), "text/plain; charset=utf-8");
    auto j = listing_json(t, b);
    j["origin"] = t.origin;
    j["torrentUrl"] = torrent_url(b, t);
    j["magnet"] = magnet_uri(b, t, trackers(b));
    return Response::json(200, j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  }

  asio::awaitable<Response> listing(const Request& req) const {
    auto found = co_await lookup(std::string(req.param("hash")));
    if (auto* r = std::get_if<Response>(&found)) co_return std::move(*r);
    const auto& t = *std::get<catalog::TorrentPtr>(found);
    Base b = base(req);
    auto json = text::query_param(req.query, "json");
    if (json && *json != "0" && *json != "false")
      co_return Response::json(200, listing_json(t, b).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
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
    co_return Response::text(200, text::html_page(t.name, body), "text/html; charset=utf-8");
  }

  // The file a request names inside `t` (BEP 19 clients put the torrent's name first; people
  // and players may not), or the error answer.
  std::variant<const catalog::File*, Response> file_of(const Request& req, const catalog::Torrent& t) const {
    std::string path = text::percent_decode(req.param("path"));
    if (!safe_path(path)) return Response::error(400, "bad file path");
    const catalog::File* f = nullptr;
    if (t.multi_file && path.size() > t.name.size() && path.compare(0, t.name.size(), t.name) == 0 &&
        path[t.name.size()] == '/')
      f = t.find_file(std::string_view(path).substr(t.name.size() + 1));
    if (!f) f = t.find_file(path);
    if (!f) return Response::error(404, "no such file in this torrent");
    return f;
  }

  // The hot path, without coroutines of its own: a torrent of the catalog whose data is on
  // disk. nullopt: the answer needs the gateway (a torrent to fetch, or pieces to wait for).
  std::optional<Response> file_now(const Request& req) {
    auto found = lookup_now(req.param("hash"));
    if (auto* r = std::get_if<Response>(&found)) return std::move(*r);
    const auto& tp = std::get<catalog::TorrentPtr>(found);
    if (!tp || tp->from_swarm()) return std::nullopt;
    auto f = file_of(req, *tp);
    if (auto* r = std::get_if<Response>(&f)) return std::move(*r);
    return disk_file(req, *tp, *std::get<const catalog::File*>(f));
  }

  // The rest of the file route, once file_now() said it needs the gateway.
  asio::awaitable<Response> file(const Request& req) {
    auto found = co_await lookup(std::string(req.param("hash")));
    if (auto* r = std::get_if<Response>(&found)) co_return std::move(*r);
    const auto tp = std::get<catalog::TorrentPtr>(found);
    auto f = file_of(req, *tp);
    if (auto* r = std::get_if<Response>(&f)) co_return std::move(*r);
    if (tp->from_swarm()) co_return co_await swarm_file(req, tp, *std::get<const catalog::File*>(f));
    co_return disk_file(req, *tp, *std::get<const catalog::File*>(f));
  }

  void used(const catalog::Torrent& t) const {
    if (!t.origin.empty() && options.on_url_use) options.on_url_use(t);
  }

  Response disk_file(const Request& req, const catalog::Torrent& t, const catalog::File& file) {
    used(t);
    const catalog::File* f = &file;
    auto handle = files.open(t.disk_path(*f));
    FileStat st;
    if (!handle || !handle->current(st) || !f->unchanged(st)) {
      // Never serve bytes that may not match the published hashes.
      if (options.on_stale) options.on_stale();
      Response r = Response::error(503, "this file changed on disk and is being re-indexed");
      r.set("Retry-After", "5");
      return r;
    }
    if (bulk_request_of_a_peer(req, t, st.size)) {
      Response r = Response::error(503, "get these pieces from the server's peer and your other peers");
      r.set("Retry-After", std::to_string(options.defer_seconds));
      return r;
    }
    return send_file(req, st, f->path, [&handle](Response& r, std::string head, uint64_t offset, uint64_t length) {
      r.parts.push_back({std::move(head), handle, offset, length});
    });
  }

  // A file of a torrent fetched from its swarm: each chunk of the body waits for its pieces,
  // verified, before it is sent. Only the first wait can still turn into a 503.
  asio::awaitable<Response> swarm_file(const Request& req, catalog::TorrentPtr tp, const catalog::File& f) {
    engine::Engine* e = options.engine;
    if (!e) co_return Response::error(503, "this torrent is fetched from peers, and this server has no BitTorrent engine");
    e->activate(*tp);
    auto stream = std::make_shared<SwarmStream>(SwarmStream{e, tp, tp->disk_path(f), nullptr, options.piece_timeout,
                                                            std::max<uint32_t>(1, options.read_ahead / tp->piece_length)});
    // Content is named by its info-hash, so it never changes under the same validators.
    FileStat st{f.length, tp->created * int64_t(1000000000)};
    const uint64_t piece = tp->piece_length, base = f.offset;
    // One wait per chunk: a piece, so that what is verified goes out at once, or a few pieces
    // when they are small, so that a body has at most ~4,096 chunks.
    Response r = send_file(req, st, f.path, [&](Response& res, std::string head, uint64_t offset, uint64_t length) {
      const uint64_t chunk = std::max<uint64_t>(piece, (length / 4096 + piece - 1) / piece * piece);
      uint64_t end = offset + length;
      while (offset < end) {
        uint64_t a = base + offset;
        uint64_t chunk_end = std::min(end, ((a + chunk) / piece) * piece - base);
        if (chunk_end <= offset) chunk_end = end;
        auto first = static_cast<uint32_t>(a / piece), last = static_cast<uint32_t>((base + chunk_end - 1) / piece);
        http::BodyPart part{std::move(head), nullptr, offset, chunk_end - offset, {}};
        part.wait = [stream, first, last] { return wait_pieces(stream, first, last); };
        res.parts.push_back(std::move(part));
        head.clear();
        offset = chunk_end;
      }
    });
    if (req.method == http::Method::head || r.parts.empty()) co_return r;
    auto& first = r.parts.front();
    if (first.wait && first.length > 0) {
      auto file = co_await first.wait();
      if (!file) {
        Response busy = Response::error(503, "no peer of this swarm sent these bytes in time");
        busy.set("Retry-After", "5");
        co_return busy;
      }
      first.file = std::move(file);
      first.wait = nullptr;
    }
    co_return r;
  }

  // See Options::bittorrent_peer.
  bool bulk_request_of_a_peer(const Request& req, const catalog::Torrent& t, uint64_t size) const {
    if (options.defer_seconds <= 0) return false;
    auto range = req.header("Range");
    if (!range || range->empty() || range->back() == '-') return false;  // none, or open-ended
    if (options.webrtc_peer && options.webrtc_peer(t.info_hash, req.remote)) return true;
    if (!options.bittorrent_peer) return false;
    auto parsed = http::parse_range(*range, size, 1);
    if (parsed.kind != http::RangeResult::Kind::satisfiable || parsed.ranges.size() != 1) return false;
    if (parsed.ranges.front().length() <= t.piece_length) return false;
    return options.bittorrent_peer(t.info_hash, req.remote);
  }

  using AddPart = std::function<void(Response&, std::string head, uint64_t offset, uint64_t length)>;

  // Validators, conditionals and ranges of one file; `add` puts each byte range in the body.
  Response send_file(const Request& req, const FileStat& st, std::string_view name, const AddPart& add) {
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
      add(r, {}, 0, st.size);
    } else if (ranges.ranges.size() == 1) {
      const auto& br = ranges.ranges.front();
      r.set("Content-Type", type);
      r.set("Content-Range", "bytes " + std::to_string(br.first) + "-" + std::to_string(br.last) + "/" +
                                 std::to_string(st.size));
      add(r, {}, br.first, br.length());
    } else {
      std::string boundary = "seedcast-" + std::to_string(++boundary_counter) + "-" + etag.substr(1, etag.size() - 2);
      r.set("Content-Type", "multipart/byteranges; boundary=" + boundary);
      for (const auto& br : ranges.ranges) {
        std::string head = "\r\n--" + boundary + "\r\nContent-Type: " + std::string(type) +
                           "\r\nContent-Range: bytes " + std::to_string(br.first) + "-" + std::to_string(br.last) +
                           "/" + std::to_string(st.size) + "\r\n\r\n";
        add(r, std::move(head), br.first, br.length());
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
             [impl](Request& req) -> asio::awaitable<Response> { co_return co_await impl->torrent(req); });
  router.add({Method::get}, "/file/{hash}",
             [impl](Request& req) -> asio::awaitable<Response> { co_return co_await impl->listing(req); });
  router.add({Method::get}, "/file/{hash}/{*path}",
             [impl](Request& req) -> asio::awaitable<Response> {
               if (auto r = impl->file_now(req)) co_return std::move(*r);
               co_return co_await impl->file(req);
             });
  if (impl->options.origin) {
    add_url_routes(router, *impl->options.origin, [impl](const Request& req, const catalog::Torrent& t,
                                                         std::string_view format) {
      return impl->url_answer(req, t, format);
    });
  }
}

}  // namespace seedcast::webseed

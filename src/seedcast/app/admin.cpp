#include "seedcast/app/admin.hpp"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <fstream>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "seedcast/catalog/catalog.hpp"
#include "seedcast/core/text.hpp"
#include "seedcast/engine/engine.hpp"
#include "seedcast/http/router.hpp"

namespace seedcast::admin {
using http::Request;
using http::Response;

namespace {

// Compared in constant time: the token is a password.
bool token_ok(std::string_view want, std::string_view given) {
  return given.size() == want.size() && CRYPTO_memcmp(given.data(), want.data(), given.size()) == 0;
}

std::optional<Response> refuse(const Options& o, const Request& req) {
  auto want = o.access_token ? o.access_token->get() : nullptr;  // SIGHUP may change it
  if (!want || want->empty()) return Response::error(403, "the admin API is off: set ACCESS_TOKEN to use it");
  auto given = req.header("X-Access-Token");
  if (!given) return Response::error(401, "the admin API wants the access token in X-Access-Token");
  if (!token_ok(*want, *given)) return Response::error(403, "wrong access token");
  return std::nullopt;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

nlohmann::json describe(const catalog::Torrent& t) {
  return {{"infoHash", t.info_hash.hex()}, {"name", t.name},
          {"length", t.length},            {"source", t.from_swarm() ? "swarm" : t.from_library() ? "library" : "url"}};
}

// ---- pending magnets and info-hashes (Options::pending_file)

std::mutex pending_mutex;  // one writer of the file at a time

std::optional<InfoHash> pending_hash(const std::string& line) {
  if (line.rfind("magnet:", 0) == 0) {
    auto h = engine::magnet_info_hash(line);
    return h ? std::optional<InfoHash>(*h) : std::nullopt;
  }
  return InfoHash::from_hex(line);
}

// Rewrites the file: its lines without those the catalog has now or that name `drop`, plus
// `add`. Caller holds pending_mutex.
void rewrite_pending(const Options& o, const std::optional<InfoHash>& drop, const std::string& add) {
  if (o.pending_file.empty()) return;
  std::vector<std::string> lines;
  {
    std::ifstream in(o.pending_file);
    for (std::string line; std::getline(in, line);) {
      auto h = pending_hash(line);
      if (!h || o.catalog->find(*h) || (drop && *h == *drop)) continue;
      lines.push_back(line);
    }
  }
  if (!add.empty()) lines.push_back(add);
  const std::string tmp = o.pending_file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const auto& l : lines) out << l << "\n";
    if (!out.flush()) return spdlog::warn("admin: cannot write {}", tmp);
  }
  if (std::rename(tmp.c_str(), o.pending_file.c_str()) != 0) spdlog::warn("admin: cannot write {}", o.pending_file);
}

void remember(const Options& o, const InfoHash& h, const std::string& line) {
  std::lock_guard lock(pending_mutex);
  rewrite_pending(o, h, line);
}

Response add(const Options& o, const Request& req) {
  if (!o.engine) return Response::error(409, "this server has no BitTorrent engine (PEER_PORT=-1)");
  auto parsed = parse_add_body(req.body);
  if (auto* why = std::get_if<std::string>(&parsed)) return Response::error(400, *why);
  const AddRequest& a = std::get<AddRequest>(parsed);
  result<InfoHash> r = a.kind == AddRequest::Kind::torrent_file ? o.engine->add_torrent_file(a.text)
                       : a.kind == AddRequest::Kind::magnet     ? o.engine->add_magnet(a.text)
                                                                : o.engine->add_info_hash(a.info_hash);
  if (!r) return Response::error(500, "the engine could not add it");
  if (auto t = o.catalog->find(*r)) return Response::json(200, describe(*t).dump());
  if (a.kind != AddRequest::Kind::torrent_file) remember(o, *r, a.text);
  return Response::json(202, nlohmann::json{{"infoHash", r->hex()}, {"status", "fetching metadata"}}.dump());
}

Response list(const Options& o) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& t : o.catalog->all()) out.push_back(describe(*t));
  return Response::json(200, nlohmann::json{{"torrents", out}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Response remove(const Options& o, std::string_view hash) {
  auto h = InfoHash::from_hex(hash);
  if (!h) return Response::error(400, "not an info-hash: expected 40 hex digits");
  auto t = o.catalog->find(*h);
  bool fetching = o.engine && o.engine->fetching(*h);
  if (!t && !fetching) return Response::error(404, "unknown info-hash");
  if (t && !t->from_swarm())
    return Response::error(409, "only torrents fetched from a swarm are removed here (library torrents leave with their files)");
  if (t) (void)o.catalog->remove(*h);
  if (o.engine) o.engine->forget(*h);
  {
    std::lock_guard lock(pending_mutex);
    rewrite_pending(o, *h, "");
  }
  return Response(204);
}

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

}  // namespace

std::variant<AddRequest, std::string> parse_add_body(std::string_view body) {
  AddRequest a;
  if (!body.empty() && body.front() == 'd') {
    auto h = engine::torrent_file_info_hash(body);
    if (!h) return std::string("not a valid .torrent file (v1 info-hash needed)");
    a.kind = AddRequest::Kind::torrent_file;
    a.text = std::string(body);
    a.info_hash = *h;
    return a;
  }
  std::string_view text = trim(body);
  std::string magnet, hash;
  if (!text.empty() && text.front() == '{') {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::string("malformed JSON");
    if (auto m = j.find("magnet"); m != j.end() && m->is_string()) magnet = m->get<std::string>();
    else if (auto h = j.find("infoHash"); h != j.end() && h->is_string()) hash = h->get<std::string>();
    else return std::string("JSON body wants \"magnet\" or \"infoHash\"");
  } else if (text.rfind("magnet:", 0) == 0) {
    magnet = std::string(text);
  } else {
    hash = std::string(text);
  }
  if (!magnet.empty()) {
    if (magnet.find_first_of("\r\n") != std::string::npos) return std::string("a magnet URI is one line");
    auto h = engine::magnet_info_hash(magnet);
    if (!h) return std::string("not a magnet URI with a v1 info-hash (xt=urn:btih:…)");
    a.kind = AddRequest::Kind::magnet;
    a.text = std::move(magnet);
    a.info_hash = *h;
    return a;
  }
  auto h = InfoHash::from_hex(hash);
  if (!h) return std::string("expected a magnet URI, a .torrent file or 40 hex digits");
  a.kind = AddRequest::Kind::info_hash;
  a.text = h->hex();
  a.info_hash = *h;
  return a;
}

void add_routes(http::Router& router, Options options) {
  auto o = std::make_shared<Options>(std::move(options));
  using http::Method;
  router.add({Method::post}, "/api/torrents", [o](Request& req) -> asio::awaitable<Response> {
    if (auto r = refuse(*o, req)) co_return std::move(*r);
    co_return add(*o, req);
  });
  router.add({Method::get}, "/api/torrents", [o](Request& req) -> asio::awaitable<Response> {
    if (auto r = refuse(*o, req)) co_return std::move(*r);
    co_return list(*o);
  });
  router.add({Method::delete_}, "/api/torrents/{hash}", [o](Request& req) -> asio::awaitable<Response> {
    if (auto r = refuse(*o, req)) co_return std::move(*r);
    co_return remove(*o, req.param("hash"));
  });
}

void restore_pending(const Options& o) {
  if (o.pending_file.empty() || !o.engine) return;
  std::lock_guard lock(pending_mutex);
  std::ifstream in(o.pending_file);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    auto h = pending_hash(line);
    if (!h || o.catalog->find(*h)) continue;
    auto r = line.rfind("magnet:", 0) == 0 ? o.engine->add_magnet(line) : o.engine->add_info_hash(*h);
    if (r) ++n;
  }
  if (n) spdlog::info("admin: fetching again {} torrents added before the restart", n);
  in.close();
  rewrite_pending(o, std::nullopt, "");  // the ones that arrived meanwhile leave the file
}

int add_remote(const std::string& server, const std::string& access_token, const std::string& what) {
  std::string body = what, type = "text/plain";
  if (what.rfind("magnet:", 0) != 0 && !InfoHash::from_hex(what)) {
    std::ifstream in(what, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "add: %s is neither a magnet URI, an info-hash nor a readable .torrent file\n", what.c_str());
      return 2;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    body = ss.str();
    type = "application/x-bittorrent";
  }
  CURL* curl = curl_easy_init();
  if (!curl) return 1;
  std::string url = server + "/api/torrents", answer;
  std::string token_header = "X-Access-Token: " + access_token, type_header = "Content-Type: " + type;
  curl_slist* headers = curl_slist_append(nullptr, token_header.c_str());
  headers = curl_slist_append(headers, type_header.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    std::fprintf(stderr, "add: cannot reach %s: %s\n", server.c_str(), curl_easy_strerror(rc));
    return 1;
  }
  std::printf("%s\n", answer.c_str());
  return status >= 200 && status < 300 ? 0 : 1;
}

}  // namespace seedcast::admin

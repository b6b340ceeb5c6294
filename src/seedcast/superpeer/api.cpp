#include "seedcast/superpeer/api.hpp"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "seedcast/core/text.hpp"
#include "seedcast/http/router.hpp"
#include "seedcast/origin/error.hpp"
#include "seedcast/origin/fetcher.hpp"
#include "seedcast/superpeer/seeder.hpp"

namespace seedcast::superpeer {
namespace {

using http::Request;
using http::Response;
using json = nlohmann::json;

bool token_ok(std::string_view want, std::string_view given) {
  return given.size() == want.size() && CRYPTO_memcmp(given.data(), want.data(), given.size()) == 0;
}

// The access token now (SIGHUP may change it); empty: none.
std::shared_ptr<const std::string> access_token(const ApiOptions& o) {
  static const auto none = std::make_shared<const std::string>();
  return o.access_token ? o.access_token->get() : none;
}

// The API's guard; `want` is the access token, `given` the one the request carries (header,
// or ?token= for /ui).
std::optional<Response> refuse(std::string_view want, const Request& req, std::optional<std::string_view> given) {
  if (want.empty()) {
    if (loopback(req.remote)) return std::nullopt;
    return Response::error(403, "set accessToken to use the super-peer API from another machine");
  }
  if (!given || given->empty()) return Response::error(401, "the super-peer API wants the access token in X-ACCESS-TOKEN");
  if (!token_ok(want, *given)) return Response::error(403, "wrong access token");
  return std::nullopt;
}

std::optional<Response> refuse(const ApiOptions& o, const Request& req) {
  return refuse(*access_token(o), req, req.header("X-ACCESS-TOKEN"));
}

uint64_t kb(uint64_t bytes) { return bytes / 1024; }
double kb_rate(uint64_t bytes_per_s) { return static_cast<double>(bytes_per_s * 10 / 1024) / 10.0; }

json channel_json(const ChannelStats& c) {
  return {{"channel", c.channel},
          {"infoHash", c.info_hash.hex()},
          {"label", c.label},
          {"state", c.state},
          {"priority", c.priority},
          {"keepAlive", c.keep_alive},
          {"noUseDiskCache", c.no_use_disk_cache},
          {"maxConnections", c.max_connections},
          {"connectionLimit", c.connection_limit},
          {"peers", c.peers},
          {"uploaded", kb(c.uploaded)},
          {"uploadedBytes", c.uploaded},
          {"uploadRate", kb_rate(c.upload_rate)},
          {"progress", static_cast<double>(static_cast<int>(c.progress * 1000)) / 1000.0},
          {"workers", c.pids},
          {"rtcPeers", c.rtc_peers},
          {"rtcUploadedBytes", c.rtc_uploaded}};
}

json worker_json(const WorkerStats& w) {
  json channels = json::array();
  for (const auto& c : w.channels) channels.push_back(channel_json(c));
  return {{"pid", w.pid},
          {"state", w.state},
          {"started", w.started},
          {"restarts", w.restarts},
          {"cpu", static_cast<double>(static_cast<int>(w.cpu * 10)) / 10.0},
          {"rss", kb(w.rss)},
          {"peers", w.peers},
          {"uploaded", kb(w.uploaded)},
          {"uploadedBytes", w.uploaded},
          {"uploadRate", kb_rate(w.upload_rate)},
          {"uploadLimit", kb_rate(w.upload_limit)},
          {"peerPort", w.peer_port},
          {"rtcPort", w.rtc_port},
          {"rtcPeers", w.rtc_peers},
          {"rtcUploadedBytes", w.rtc_uploaded},
          {"channels", channels}};
}

int rank(const std::string& state) {
  for (int i = 0; const char* s : {"stopped", "queued", "waiting", "fetching", "seeding"}) {
    if (state == s) return i;
    ++i;
  }
  return -1;
}

// Every channel, summed over the workers that have it.
std::map<std::string, ChannelStats> by_channel(const SeederStats& stats) {
  std::map<std::string, ChannelStats> out;
  std::vector<const std::vector<ChannelStats>*> lists;
  for (const auto& w : stats.workers) lists.push_back(&w.channels);
  lists.push_back(&stats.elsewhere);
  for (const auto* list : lists) {
    for (const auto& c : *list) {
      auto [it, fresh] = out.try_emplace(c.key, c);
      if (fresh) continue;
      ChannelStats& s = it->second;
      s.peers += c.peers;
      s.uploaded += c.uploaded;
      s.upload_rate += c.upload_rate;
      s.progress = std::max(s.progress, c.progress);
      if (rank(c.state) > rank(s.state)) s.state = c.state;
      s.pids.insert(s.pids.end(), c.pids.begin(), c.pids.end());
    }
  }
  return out;
}

Response ok(const json& j) {
  Response r = Response::json(200, j.dump(-1, ' ', false, json::error_handler_t::replace));
  r.set("Cache-Control", "no-store");
  return r;
}

std::optional<int> parse_pid(std::string_view s) {
  int pid = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), pid);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || pid <= 0) return std::nullopt;
  return pid;
}

Response no_engine() { return Response::error(409, "this server has no BitTorrent engine (PEER_PORT=-1)"); }

// The body of the last good POST /seed, written whole or not at all.
// Replaces `file` with `body` (write, then rename); nothing when `file` is empty.
void keep(const std::string& file, const std::string& body) {
  if (file.empty()) return;
  const std::string tmp = file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << body;
    if (!out.flush()) {
      spdlog::warn("superpeer: cannot write {}", tmp);
      return;
    }
  }
  if (std::rename(tmp.c_str(), file.c_str()) != 0) spdlog::warn("superpeer: cannot write {}", file);
}

asio::awaitable<Response> seed(std::shared_ptr<const ApiOptions> o, std::string body) {
  SeedRequest req = parse_seed_request(body);
  if (req.status != 200) co_return Response::error(req.status, req.error);
  // Every URL becomes its torrent before anything changes: a refused origin leaves the
  // seeded channels as they were.
  std::vector<Channel> channels;
  for (size_t i = 0; i < req.list.size(); ++i) {
    SeedSpec& s = req.list[i];
    Channel c;
    if (s.source.kind == ChannelSource::Kind::url) {
      if (!o->origin) co_return Response::error(409, "torrents from URLs are off on this server");
      origin::Answer a = co_await o->origin->torrent(s.source.text);
      if (!a.torrent) {
        Response r = Response::error(origin::http_status(a.error),
                                     "list[" + std::to_string(i) + "].channel: " + a.message);
        if (r.status == 503) r.set("Retry-After", "5");
        co_return r;
      }
      c.info_hash = a.torrent->info_hash;
    } else {
      c.info_hash = s.source.info_hash;
    }
    c.spec = std::move(s);
    channels.push_back(std::move(c));
  }
  json list = json::array();
  for (const auto& c : channels) list.push_back({{"channel", c.spec.channel}, {"infoHash", c.info_hash.hex()}});
  o->seeder->seed(std::move(channels));
  keep(o->state_file, body);
  co_return ok({{"list", list}});
}

Response stats(const ApiOptions& o, std::optional<std::string> id) {
  SeederStats all_stats = o.seeder->stats();
  if (!id) {
    json w = json::array(), c = json::array();
    for (const auto& x : all_stats.workers) w.push_back(worker_json(x));
    for (const auto& [k, x] : by_channel(all_stats)) c.push_back(channel_json(x));
    return ok({{"workers", w}, {"channels", c}});
  }
  if (auto pid = parse_pid(*id)) {
    for (const auto& w : all_stats.workers)
      if (w.pid == *pid) return ok(worker_json(w));
  }
  auto source = decode_channel(*id);
  if (!source) return Response::error(404, "no worker has that pid, and it is not a channel id");
  auto all = by_channel(all_stats);
  if (auto it = all.find(source->key()); it != all.end()) return ok(channel_json(it->second));
  return Response::error(404, "no such channel is seeded");
}

template <class F>
Response each_worker(const ApiOptions& o, F act) {
  json out = json::array();
  for (const auto& w : o.seeder->stats().workers)
    if (auto r = act(w.pid)) out.push_back(worker_json(*r));
  return ok({{"workers", out}});
}

template <class F>
Response one_worker(std::string_view pid_text, F act) {
  auto pid = parse_pid(pid_text);
  auto r = pid ? act(*pid) : std::nullopt;
  if (!r) return Response::error(404, "no worker has that pid");
  return ok(worker_json(*r));
}

Response ui(const ApiOptions& o, const Request& req) {
  std::optional<std::string> given = text::query_param(req.query, "token");
  if (!given) given = text::query_param(req.query, "accessToken");
  if (!given) {
    if (auto h = req.header("X-ACCESS-TOKEN")) given = std::string(*h);
  }
  std::optional<std::string_view> view;
  if (given) view = *given;
  auto want = access_token(o);
  if (auto r = refuse(*want, req, view)) return std::move(*r);
  std::ifstream in(o.web_dir + "/ui.html", std::ios::binary);
  if (!in) return Response::error(503, "the dashboard page is not installed (WEB_DIR)");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string page = ss.str();
  const std::string mark = "{{ACCESS_TOKEN}}";
  std::string token = text::html_escape(want->empty() ? "" : *given);
  for (size_t pos = 0; (pos = page.find(mark, pos)) != std::string::npos; pos += token.size())
    page.replace(pos, mark.size(), token);
  Response r = Response::text(200, std::move(page), "text/html; charset=utf-8");
  r.set("Cache-Control", "no-store");
  r.set("Referrer-Policy", "no-referrer");  // the URL carries the access token
  return r;
}

}  // namespace

std::thread restore_channels(ApiOptions options) {
  if (std::ifstream kept(options.bandwidth_file, std::ios::binary); options.seeder && kept) {
    std::stringstream ss;
    ss << kept.rdbuf();
    PingRequest p = parse_ping_request(ss.str());
    if (p.status != 200 || !p.bandwidth) {
      spdlog::warn("superpeer: {} ignored: {}", options.bandwidth_file, p.bandwidth ? p.error : "no bandwidth");
    } else {
      options.seeder->configure(p.bandwidth, std::nullopt);
      spdlog::info("superpeer: upload capped at {} Mbit/s again ({})", *p.bandwidth, options.bandwidth_file);
    }
  }
  std::ifstream in(options.state_file, std::ios::binary);
  if (options.state_file.empty() || !options.seeder || !in) return {};
  std::stringstream ss;
  ss << in.rdbuf();
  auto o = std::make_shared<const ApiOptions>(std::move(options));
  return std::thread([o, body = ss.str()] {
    asio::io_context io;
    asio::co_spawn(io, seed(o, body), [file = o->state_file](std::exception_ptr e, Response r) {
      if (e || r.status != 200)
        spdlog::warn("superpeer: the channels kept in {} could not be seeded again: {}", file,
                     e ? "exception" : r.body);
      else
        spdlog::info("superpeer: channels of {} seeded again", file);
    });
    io.run();
  });
}

bool loopback(std::string_view a) {
  return a.rfind("127.", 0) == 0 || a == "::1" || a.rfind("::ffff:127.", 0) == 0;
}

void add_routes(http::Router& router, ApiOptions options) {
  auto o = std::make_shared<const ApiOptions>(std::move(options));
  using http::Method;
  router.add({Method::post}, "/ping", [o](Request& req) -> asio::awaitable<Response> {
    if (auto r = refuse(*o, req)) co_return std::move(*r);
    PingRequest p = parse_ping_request(req.body);
    if (p.status != 200) co_return Response::error(p.status, p.error);
    int workers = o->seeder ? o->seeder->configure(p.bandwidth, p.workers) : 0;
    if (o->seeder && p.bandwidth) keep(o->bandwidth_file, json{{"bandwidth", *p.bandwidth}}.dump() + "\n");
    co_return ok({{"workers", workers}});
  });
  router.add({Method::post}, "/seed", [o](Request& req) -> asio::awaitable<Response> {
    if (auto r = refuse(*o, req)) co_return std::move(*r);
    if (!o->seeder) co_return no_engine();
    co_return co_await seed(o, std::string(req.body));
  });
  router.add({Method::get}, "/stats", [o](Request& req) -> asio::awaitable<Response> {
    if (auto r = refuse(*o, req)) co_return std::move(*r);
    if (!o->seeder) co_return no_engine();
    co_return stats(*o, std::nullopt);
  });
  router.add({Method::get}, "/stats/{id}", [o](Request& req) -> asio::awaitable<Response> {
    if (auto r = refuse(*o, req)) co_return std::move(*r);
    if (!o->seeder) co_return no_engine();
    co_return stats(*o, text::percent_decode(req.param("id")));
  });
  router.add({Method::post}, "/stop_all", [o](Request& req) -> asio::awaitable<Response> {
    if (auto r = refuse(*o, req)) co_return std::move(*r);
    if (!o->seeder) co_return no_engine();
    co_return each_worker(*o, [&](int pid) { return o->seeder->stop(pid); });
  });
  router.add({Method::post}, "/restart_all", [o](Request& req) -> asio::awaitable<Response> {
    if (auto r = refuse(*o, req)) co_return std::move(*r);
    if (!o->seeder) co_return no_engine();
    co_return each_worker(*o, [&](int pid) { return o->seeder->restart(pid); });
  });
  router.add({Method::post}, "/stop/{pid}", [o](Request& req) -> asio::awaitable<Response> {
    if (auto r = refuse(*o, req)) co_return std::move(*r);
    if (!o->seeder) co_return no_engine();
    co_return one_worker(req.param("pid"), [&](int pid) { return o->seeder->stop(pid); });
  });
  router.add({Method::post}, "/restart/{pid}", [o](Request& req) -> asio::awaitable<Response> {
    if (auto r = refuse(*o, req)) co_return std::move(*r);
    if (!o->seeder) co_return no_engine();
    co_return one_worker(req.param("pid"), [&](int pid) { return o->seeder->restart(pid); });
  });
  router.add({Method::get}, "/ui", [o](Request& req) -> asio::awaitable<Response> { co_return ui(*o, req); });
}

}  // namespace seedcast::superpeer

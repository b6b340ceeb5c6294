#include "seedcast/app/app.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <arpa/inet.h>

#include "seedcast/app/admin.hpp"
#include "seedcast/app/reload.hpp"
#include "seedcast/app/rtc_peer.hpp"
#include "seedcast/auth/jwt.hpp"
#include "seedcast/auth/middleware.hpp"
#include "seedcast/auth/webhook.hpp"
#include "seedcast/catalog/blacklist.hpp"
#include "seedcast/catalog/catalog.hpp"
#include "seedcast/core/log.hpp"
#include "seedcast/core/reloadable.hpp"
#include "seedcast/engine/engine.hpp"
#include "seedcast/http/cors.hpp"
#include "seedcast/http/server.hpp"
#include "seedcast/library/library.hpp"
#include "seedcast/origin/fetcher.hpp"
#include "seedcast/superpeer/api.hpp"
#include "seedcast/superpeer/engine_seeder.hpp"
#include "seedcast/superpeer/worker.hpp"
#include "seedcast/superpeer/worker_pool.hpp"
#include "seedcast/tracker/routes.hpp"
#include "seedcast/tracker/tracker.hpp"
#include "seedcast/web/web.hpp"
#include "seedcast/webseed/webseed.hpp"

namespace seedcast {
namespace fs = std::filesystem;

namespace {

// Marks a URL torrent's cache folder as used (its mtime: the engine's least-recently-used order
// for CACHE_MAX_BYTES), at most once a second per torrent.
class UrlUse {
 public:
  void operator()(const catalog::Torrent& t) const {
    const auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(state_->mutex);
      auto& last = state_->touched[t.info_hash];
      if (last.time_since_epoch().count() != 0 && now - last < std::chrono::seconds(1)) return;
      last = now;
    }
    std::error_code ec;
    fs::last_write_time(t.root, fs::file_time_type::clock::now(), ec);
  }

 private:
  struct State {
    std::mutex mutex;
    std::unordered_map<InfoHash, std::chrono::steady_clock::time_point> touched;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};
int cores() { return std::max(1, static_cast<int>(std::thread::hardware_concurrency())); }

http::ServerOptions server_options(const Config& c) {
  http::ServerOptions o;
  o.host = c.host;
  o.port = c.port;
  o.threads = c.threads > 0 ? c.threads : cores();
  o.idle_timeout = std::chrono::seconds(c.idle_timeout);
  o.header_timeout = std::chrono::seconds(c.header_timeout);
  // CORS middleware never sees what the parser refuses; those answers carry the same origin rule.
  o.own_error_fields = "Access-Control-Allow-Origin: *\r\n";
  return o;
}

// The web folder next to the binary: <repo>/build/seedcast → <repo>/web.
std::string default_web_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "web";
  for (fs::path p : {exe.parent_path().parent_path() / "web", exe.parent_path() / "web"}) {
    if (fs::exists(p / "watch.html", ec)) return p.string();
  }
  return (exe.parent_path().parent_path() / "web").string();
}

std::unique_ptr<auth::JwtVerifier> make_verifier(const Config& c) {
  if (!c.jwt_public_key.empty()) return auth::JwtVerifier::public_key_file(c.jwt_public_key);
  if (!c.secret.empty()) return auth::JwtVerifier::hs256(c.secret);
  return nullptr;
}

// ALLOWED_DOMAINS and ALLOWED_DOMAINS_FILE. Throws when the file cannot be read.
origin::AllowList allowed_origins(const Config& c) {
  auto allowed = origin::AllowList::from_list(c.allowed_domains);
  std::string file = c.allowed_domains_file;
  std::error_code ec;
  if (file.empty() && fs::exists("config/allowedDomains.json", ec)) file = "config/allowedDomains.json";
  if (!file.empty()) allowed.add(origin::AllowList::from_json_file(file));
  return allowed;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "" : ", ") + x;
  return out;
}

// Where torrents made from URLs keep their data: the fetcher's cache, under the engine's budget.
std::string url_cache_dir(const Config& c) { return c.data_dir + "/cache/url"; }

// What the WebRTC seed of this process serves: library and URL torrents (whole, on disk) and the
// fetched torrents its engine serves.
catalog::TorrentPtr rtc_torrent(const catalog::Catalog& c, engine::Engine* e, const InfoHash& h) {
  auto t = c.find(h);
  if (!t || t->num_pieces == 0) return nullptr;
  if (!t->from_swarm()) return t;
  return e && e->serving(h) ? t : nullptr;
}

// The seed policy of the server's engine and of its workers.
engine::SeedPolicy seed_policy(const Config& c) {
  engine::SeedPolicy p;
  p.upload_slots = c.seed_slots;
  p.copies = c.seed_copies;
  p.starve_ms = c.seed_starve_ms;
  p.urgent_pieces = c.seed_urgent_pieces;
  p.bitrate = c.seed_bitrate;
  p.lead_ms = c.seed_lead_ms;
  return p;
}

origin::Options origin_options(const Config& c) {
  origin::Options o;
  o.cache_dir = url_cache_dir(c);
  o.allowed = allowed_origins(c);  // throws: start-up error
  o.allow_private = c.allow_private_origins;
  o.max_bytes = c.origin_max_bytes;
  o.timeout = std::chrono::seconds(c.origin_timeout);
  o.revalidate = std::chrono::seconds(c.origin_revalidate);
  o.piece_length = c.piece_size;
  o.private_torrent = c.auth_enabled();
  return o;
}

std::string prepare_dir(const std::string& dir, const char* what) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error(std::string("cannot create ") + what + " " + dir + ": " + ec.message());
  return fs::canonical(dir).string();
}
}  // namespace

struct App::Impl {
  Config loaded;  // as given, with what reload() applied since; reload() compares with it
  Config config;  // as started, with defaults filled in (WEB_DIR) and paths made canonical
  std::string library_dir;
  std::unique_ptr<catalog::Catalog> catalog;
  std::unique_ptr<catalog::Blacklist> blacklist;
  std::unique_ptr<library::Library> library;
  std::unique_ptr<auth::JwtVerifier> verifier;
  std::unique_ptr<tracker::Tracker> tracker;
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<superpeer::Seeder> seeder;  // the super peer's channels: this process's engine, or
  superpeer::WorkerPool* pool = nullptr;      // the worker processes (WORKERS > 0; the same object)
  superpeer::ApiOptions api;
  std::thread restore;  // seeds the channels the last run had (superpeer-seed.json)
  std::thread housekeeping;
  std::mutex housekeeping_mutex;
  std::condition_variable housekeeping_wake;
  bool stopping = false;
  // The WebRTC peer of this process (WORKERS=0, RTC_PORT >= 0): after the engine and catalog it
  // reads from, before the server whose tracker sessions hand it offers.
  std::shared_ptr<superpeer::RtcSeed> rtc_seed;
  std::shared_ptr<tracker::ServerPeer> rtc_peer;
  std::unique_ptr<http::Server> server;
  std::unique_ptr<webseed::Webseed> webseed;
  // Last, so it goes first: its threads resume requests on the server's executors.
  std::unique_ptr<auth::Webhook> webhook;
  std::unique_ptr<origin::Fetcher> origin;  // the same
  std::string origin_hosts;                 // ALLOWED_DOMAINS, for the start-up log
  Reloadable<std::string> access_token;     // ACCESS_TOKEN, for the admin and super-peer APIs
  std::mutex reload_mutex;
};

App::App(Config config) : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.loaded = config;
  m.config = std::move(config);
  m.access_token.set(m.config.access_token);
  m.config.data_dir = prepare_dir(m.config.data_dir, "DATA_DIR");
  m.library_dir = prepare_dir(m.config.library, "LIBRARY");
  m.catalog = std::make_unique<catalog::Catalog>(m.config.data_dir + "/catalog.db");
  m.blacklist = std::make_unique<catalog::Blacklist>(m.config.blacklist_path());
  m.library = std::make_unique<library::Library>(
      library::LibraryOptions{m.library_dir, m.config.hash_threads, m.config.piece_size, m.config.rescan_interval,
                              m.config.auth_enabled()},
      *m.catalog, m.blacklist.get());
  m.verifier = make_verifier(m.config);
  if (m.config.web_dir.empty()) m.config.web_dir = default_web_dir();
  m.tracker = std::make_unique<tracker::Tracker>(tracker::Options{m.config.announce_interval});
  if (m.config.peer_port >= 0) {
    engine::Options eo;
    eo.listen_host = m.config.host == "localhost" ? "127.0.0.1" : m.config.host;
    eo.peer_port = m.config.peer_port;
    eo.cache_dir = prepare_dir(m.config.data_dir + "/cache/swarm", "the swarm cache");
    eo.dht = m.config.dht != 0;
    eo.lifetime = m.config.gateway_lifetime;
    eo.cache_max_bytes = static_cast<uint64_t>(m.config.cache_max_bytes);
    // The URL cache is under the same budget: an evicted URL torrent leaves the catalog, and the
    // next request for its URL fetches it again.
    eo.budget_dirs = {url_cache_dir(m.config)};
    eo.on_evict = [c = m.catalog.get(), dir = eo.budget_dirs.front()](const InfoHash& h) {
      auto t = c->find(h);
      if (t && fs::path(t->root).parent_path() == fs::path(dir) && !c->remove(h))
        spdlog::warn("catalog: cannot remove {}", h.hex());
    };
    eo.on_metadata = [c = m.catalog.get()](const catalog::Torrent& t) {
      if (auto r = c->put(t); !r) spdlog::warn("catalog: cannot keep {}: {}", t.info_hash.hex(), r.error().message());
    };
    eo.tracker_peers = [t = m.tracker.get()](const InfoHash& h) {
      std::vector<engine::PeerAddress> out;
      for (const auto& e : t->http_peers(h, 50)) {
        char buf[INET6_ADDRSTRLEN] = {};
        ::inet_ntop(e.v6 ? AF_INET6 : AF_INET, e.addr.data(), buf, sizeof buf);
        out.push_back({buf, e.port});
      }
      return out;
    };
    eo.seed = seed_policy(m.config);
    eo.peer_addresses = m.config.webseed_defer > 0;  // the webseed's bittorrent_peer below
    m.engine = std::make_unique<engine::Engine>(std::move(eo));
  }
  if (m.config.rtc_port >= 0 && m.config.workers == 0) {
    superpeer::RtcSeedOptions ro;
    ro.endpoint.bind = app::rtc_bind_addresses(m.config.host);
    ro.endpoint.port = static_cast<uint16_t>(m.config.rtc_port);
    ro.endpoint.advertised = app::split_addresses(m.config.rtc_addresses);
    ro.endpoint.max_peers = static_cast<size_t>(m.config.rtc_max_peers);
    ro.endpoint.max_pending_per_source = static_cast<size_t>(m.config.rtc_pending_per_address);
    ro.endpoint.handshake_timeout = std::chrono::seconds(m.config.rtc_handshake_timeout);
    ro.max_pending_per_torrent = static_cast<size_t>(m.config.rtc_pending_per_torrent);
    ro.torrent = [c = m.catalog.get(), e = m.engine.get()](const InfoHash& h) { return rtc_torrent(*c, e, h); };
    ro.engine = m.engine.get();
    m.rtc_seed = std::make_shared<superpeer::RtcSeed>(std::move(ro));
    m.rtc_peer = app::server_peer(m.rtc_seed);
  }
  m.server = std::make_unique<http::Server>(server_options(m.config));
  http::CorsOptions cors;
  cors.allow_methods += ", POST, DELETE";  // the super-peer and admin APIs, from a dashboard elsewhere
  cors.allow_headers += ", X-Access-Token";
  m.server->use(http::cors(std::move(cors)));

  auth::Options ao;
  if (m.verifier) {
    ao.verify = [v = m.verifier.get()](std::string token) -> asio::awaitable<auth::VerifyResult> {
      co_return v->verify(token);
    };
  } else if (!m.config.auth_webhook.empty()) {
    m.webhook = std::make_unique<auth::Webhook>(
        auth::WebhookOptions{m.config.auth_webhook, std::chrono::seconds(m.config.auth_webhook_ttl)});
    ao.verify = [w = m.webhook.get()](std::string token) { return w->verify(std::move(token)); };
  }
  ao.public_paths = {"/healthz", "/metrics", "/sw.min.js"};
  // The admin and super-peer APIs want the access token instead.
  ao.public_paths.insert(ao.public_paths.end(), {"/ping", "/seed", "/stats", "/stop_all", "/restart_all", "/ui"});
  ao.public_prefixes = {"/assets/", "/api/", "/stats/", "/stop/", "/restart/"};
  ao.refuse = [](const http::Request& req, int status, std::string_view why) {
    bool tracker_route = req.path == "/announce" || req.path == "/scrape";
    return tracker_route && !req.websocket ? tracker::failure(status, why) : http::Response::error(status, why);
  };
  m.server->use(auth::middleware(std::move(ao)));

  webseed::Options wo;
  wo.public_url = m.config.public_url;
  wo.max_ranges = static_cast<size_t>(m.config.max_ranges);
  wo.on_stale = [lib = m.library.get()] { lib->rescan(); };
  for (const auto& s : {m.config.signal1, m.config.signal2})
    if (!s.empty()) wo.extra_trackers.push_back(s);
  wo.swarm = [t = m.tracker.get()](const InfoHash& h) {
    auto c = t->counts(h);
    return webseed::SwarmCounts{c.seeders, c.leechers, c.completed};
  };
  wo.engine = m.engine.get();
  wo.open_gateway = !m.config.auth_enabled() && m.config.open_gateway != 0;
  wo.metadata_timeout = m.config.metadata_timeout;
  wo.piece_timeout = m.config.piece_timeout;
  auto oo = origin_options(m.config);
  m.origin_hosts = joined(oo.allowed.patterns());
  m.origin = std::make_unique<origin::Fetcher>(std::move(oo), *m.catalog);
  wo.origin = m.origin.get();
  if (m.engine) {
    wo.defer_seconds = m.config.webseed_defer;
    // A client that announced to our HTTP tracker or is connected to the seed is a native
    // BitTorrent client: it finds the seed (the tracker lists it) and the other viewers.
    wo.bittorrent_peer = [e = m.engine.get(), t = m.tracker.get()](const InfoHash& h, std::string_view remote) {
      return t->has_http_peer(h, remote) || e->peer_connected(h, remote);
    };
    if (m.rtc_seed)
      wo.webrtc_peer = [r = m.rtc_seed](const InfoHash& h, std::string_view remote) { return r->connected(h, remote); };
  }
  wo.on_url_use = UrlUse{};
  m.webseed = std::make_unique<webseed::Webseed>(std::move(wo), *m.catalog, *m.blacklist);
  admin::Options admin{&m.access_token, m.catalog.get(), m.engine.get(), m.config.data_dir + "/pending.txt"};
  admin::restore_pending(admin);
  admin::add_routes(m.server->router(), std::move(admin));
  if (m.config.workers > 0) {
    superpeer::WorkerPoolOptions po;
    po.workers = m.config.workers;
    po.channel_workers = m.config.channel_workers;
    po.max_channels = static_cast<size_t>(m.config.seed_max_channels);
    po.hot = static_cast<size_t>(m.config.seed_hot);
    po.signal1 = m.config.signal1;
    po.signal2 = m.config.signal2;
    std::error_code ec;
    po.executable = fs::read_symlink("/proc/self/exe", ec).string();
    if (ec) throw std::runtime_error("WORKERS: cannot find this program's path: " + ec.message());
    po.args = {"--host", m.config.host == "localhost" ? "127.0.0.1" : m.config.host, "--log-level",
               m.config.log_level};
    const engine::SeedPolicy seed = seed_policy(m.config);
    superpeer::for_each_seed_flag(seed, [&](const char* flag, const char*, const auto& field) {
      po.args.insert(po.args.end(), {flag, std::to_string(field)});
    });
    po.peer_port_base = m.config.peer_port > 0 ? m.config.peer_port : 0;
    // Each worker runs a WebRTC peer on RTC_PORT + 1 + i (any free port when RTC_PORT is 0).
    po.rtc_port_base = m.config.rtc_port < 0 ? -1 : m.config.rtc_port;
    if (m.config.rtc_port >= 0) {
      for (const auto& a : app::rtc_bind_addresses(m.config.host)) po.args.insert(po.args.end(), {"--rtc-bind", a});
      for (const auto& a : app::split_addresses(m.config.rtc_addresses))
        po.args.insert(po.args.end(), {"--rtc-address", a});
      po.args.insert(po.args.end(), {"--rtc-max-peers", std::to_string(m.config.rtc_max_peers),
                                     "--rtc-pending-per-address", std::to_string(m.config.rtc_pending_per_address),
                                     "--rtc-pending-per-torrent", std::to_string(m.config.rtc_pending_per_torrent),
                                     "--rtc-handshake-timeout", std::to_string(m.config.rtc_handshake_timeout)});
    }
    po.busiest = [t = m.tracker.get()](size_t k) {
      std::vector<InfoHash> out;
      for (const auto& [h, c] : t->busiest(k)) out.push_back(h);
      return out;
    };
    auto pool = std::make_unique<superpeer::WorkerPool>(m.engine.get(), *m.catalog, std::move(po));
    m.pool = pool.get();
    m.seeder = std::move(pool);
  } else if (m.engine) {
    m.seeder = std::make_unique<superpeer::EngineSeeder>(
        *m.engine, *m.catalog,
        superpeer::EngineSeederOptions{static_cast<size_t>(m.config.seed_max_channels), m.config.signal1,
                                       m.config.signal2, m.rtc_seed});
  }
  m.api = {&m.access_token, m.seeder.get(), m.origin.get(), m.config.web_dir,
           m.config.data_dir + "/superpeer-seed.json", m.config.data_dir + "/superpeer-bandwidth.json"};
  superpeer::add_routes(m.server->router(), m.api);
  m.webseed->add_routes(m.server->router());
  web::add_routes(m.server->router(), *m.catalog, {m.config.public_url, m.config.web_dir});
  tracker::add_routes(m.server->router(), *m.tracker,
                      {[c = m.catalog.get(), b = m.blacklist.get(), e = m.engine.get()](const InfoHash& h) {
                         return !b->contains(h) && (c->find(h) != nullptr || (e && e->fetching(h)));
                       },
                       [e = m.engine.get(), p = m.pool](const InfoHash& h) {
                         std::vector<uint16_t> ports;
                         if (e && e->serving(h)) ports.push_back(e->peer_port());
                         if (p) {
                           auto w = p->ports(h);
                           ports.insert(ports.end(), w.begin(), w.end());
                         }
                         return ports;
                       },
                       [peer = m.rtc_peer, c = m.catalog.get(), e = m.engine.get(), p = m.pool](const InfoHash& h) {
                         std::vector<std::shared_ptr<tracker::ServerPeer>> out;
                         if (peer && rtc_torrent(*c, e, h)) out.push_back(peer);
                         if (p)
                           for (const auto& w : p->rtc_workers(h)) out.push_back(app::worker_peer(*p, w));
                         return out;
                       }});
  m.server->router().add({http::Method::get}, "/healthz", [this](http::Request&) -> asio::awaitable<http::Response> {
    auto s = impl_->library->stats();
    nlohmann::json j = {{"status", "ok"},        {"torrents", impl_->catalog->size()},
                        {"indexing", s.indexing}, {"hashed", s.hashed},
                        {"reused", s.reused},     {"failed", s.failed},
                        {"peers", impl_->tracker->peers()}, {"swarms", impl_->tracker->swarms()}};
    auto o = impl_->origin->stats();
    j["origin"] = {{"fetches", o.fetches}, {"revalidations", o.revalidations}, {"failures", o.failures},
                   {"coalesced", o.coalesced}};
    if (impl_->engine) {
      auto e = impl_->engine->stats();
      j["seed"] = {{"port", impl_->engine->peer_port()}, {"torrents", e.torrents}, {"peers", e.peers},
                   {"uploaded", e.uploaded}, {"refused", e.refused}};
      j["gateway"] = {{"torrents", e.fetching}, {"downloaded", e.downloaded}, {"cacheBytes", e.cache_bytes}};
    }
    if (impl_->rtc_seed) {  // this process's WebRTC peer
      auto r = impl_->rtc_seed->stats();
      j["webrtc"] = {{"port", impl_->rtc_seed->port()},   {"peers", r.peers},
                     {"uploaded", r.uploaded},            {"sessions", r.endpoint.sessions},
                     {"handshaking", r.endpoint.pending}, {"answered", r.endpoint.answered},
                     {"refused", r.endpoint.refused},     {"failed", r.endpoint.failed},
                     {"stunRefused", r.endpoint.stun_refused}};
    }
    if (impl_->pool) {  // the worker processes' seeds (the "seed" above is the master's engine)
      size_t live = 0, peers = 0;
      uint64_t uploaded = 0;
      for (const auto& w : impl_->pool->stats().workers) {
        live += w.state == "running" ? 1 : 0;
        peers += w.peers;
        uploaded += w.uploaded;
      }
      j["workers"] = {{"running", live}, {"peers", peers}, {"uploaded", uploaded}};
    }
    http::Response r = http::Response::json(200, j.dump());
    r.set("Cache-Control", "no-store");
    co_return r;
  });
  m.server->router().add({http::Method::get}, "/metrics", [this](http::Request&) -> asio::awaitable<http::Response> {
    co_return http::Response::text(200, metrics(), "text/plain; version=0.0.4");
  });
}

std::string App::metrics() const {
  auto& m = *impl_;
  auto s = m.library->stats();
  std::string out;
  auto metric = [&out](const char* name, const char* type, const char* help, double v) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, v);
  };
  metric("seedcast_torrents", "gauge", "Torrents in the catalog.", static_cast<double>(m.catalog->size()));
  metric("seedcast_indexing", "gauge", "1 while the library is being hashed.", s.indexing ? 1 : 0);
  metric("seedcast_library_hashed_total", "counter", "Torrents hashed since start.", static_cast<double>(s.hashed));
  metric("seedcast_library_failed_total", "counter", "Library entries that could not be hashed.",
         static_cast<double>(s.failed));
  metric("seedcast_tracker_peers", "gauge", "Peers in the tracker's swarms.", static_cast<double>(m.tracker->peers()));
  metric("seedcast_tracker_swarms", "gauge", "Swarms the tracker knows.", static_cast<double>(m.tracker->swarms()));
  metric("seedcast_http_sent_bytes_total", "counter",
         "Bytes of HTTP responses (heads and bodies: web seed, .torrent files, API) written since start.",
         static_cast<double>(m.server->sent_bytes()));
  auto o = m.origin->stats();
  metric("seedcast_origin_fetches_total", "counter", "Files fetched from URLs since start.", static_cast<double>(o.fetches));
  metric("seedcast_origin_failures_total", "counter", "URL fetches that failed since start.", static_cast<double>(o.failures));
  if (m.engine) {
    auto e = m.engine->stats();
    metric("seedcast_seed_torrents", "gauge", "Torrents the BitTorrent seed serves.", static_cast<double>(e.torrents));
    metric("seedcast_seed_peers", "gauge", "Peers connected to the BitTorrent seed.", static_cast<double>(e.peers));
    metric("seedcast_seed_uploaded_bytes_total", "counter", "Bytes the BitTorrent seed uploaded since start.",
           static_cast<double>(e.uploaded));
    metric("seedcast_seed_refused_total", "counter",
           "Piece requests the BitTorrent seed refused since start (SEED_COPIES: the swarm has them).",
           static_cast<double>(e.refused));
    metric("seedcast_gateway_torrents", "gauge", "Torrents the gateway has in the engine.", static_cast<double>(e.fetching));
    metric("seedcast_gateway_downloaded_bytes", "gauge", "Payload bytes the gateway's torrents in the engine fetched.",
           static_cast<double>(e.downloaded));
    metric("seedcast_cache_bytes", "gauge", "Bytes on disk in the swarm cache.", static_cast<double>(e.cache_bytes));
  }
  return out;
}

App::~App() {
  stop();
  {
    std::lock_guard lock(impl_->housekeeping_mutex);
    impl_->stopping = true;
  }
  impl_->housekeeping_wake.notify_all();
  if (impl_->housekeeping.joinable()) impl_->housekeeping.join();
  if (impl_->restore.joinable()) impl_->restore.join();
  // Before the server: the engine's wake-ups post to the server's executors.
  impl_->seeder.reset();
  impl_->engine.reset();
  if (impl_->library) impl_->library->stop();
}

http::Handler App::handler() const { return impl_->server->chain(); }

void App::use(http::Middleware middleware) { impl_->server->use(std::move(middleware)); }

void App::add_routes(const std::function<void(http::Router&)>& add) { add(impl_->server->router()); }

uint16_t App::listen() {
  auto& m = *impl_;
  uint16_t port = m.server->listen();
  for (const auto& u : m.server->urls()) spdlog::info("seedcast listening on {}", u);
  spdlog::info("library {} · data {} · {} torrents in the catalog", m.library_dir, m.config.data_dir,
               m.catalog->size());
  m.library->start();
  m.restore = superpeer::restore_channels(m.api);
  if (m.verifier)
    spdlog::info("private: every route and the tracker want a {} token", m.verifier->algorithm());
  else if (m.webhook)
    spdlog::info("private: tokens are checked by the AUTH_WEBHOOK");
  else
    spdlog::warn("no SECRET or JWT_PUBLIC_KEY configured: seedcast runs open, anyone who reaches it can fetch");
  if (!m.origin_hosts.empty())
    spdlog::info("torrents from URLs on {}{}", m.origin_hosts,
                 m.config.allow_private_origins ? " (private addresses allowed)" : "");
  // Every second: the seed follows the catalog; every half interval: silent peers leave.
  m.housekeeping = std::thread([&m] {
    auto last_expiry = std::chrono::steady_clock::now();
    std::unique_lock lock(m.housekeeping_mutex);
    do {
      if (m.engine) m.engine->sync(m.catalog->all());
      auto now = std::chrono::steady_clock::now();
      if (now - last_expiry >= std::chrono::seconds(std::max(1, m.config.announce_interval / 2))) {
        m.tracker->expire();
        last_expiry = now;
      }
    } while (!m.housekeeping_wake.wait_for(lock, std::chrono::seconds(1), [&m] { return m.stopping; }));
  });
  if (!m.config.port_file.empty()) {
    std::string tmp = m.config.port_file + ".tmp";
    std::ofstream(tmp) << port << "\n";
    fs::rename(tmp, m.config.port_file);
  }
  return port;
}

std::vector<std::string> App::urls() const { return impl_->server->urls(); }
void App::run() { impl_->server->run(); }
void App::stop() {
  if (impl_->server) impl_->server->stop();
}
void App::shutdown(std::chrono::seconds grace) { impl_->server->shutdown(grace); }

void App::reload(Config fresh) {
  auto& m = *impl_;
  std::lock_guard lock(m.reload_mutex);
  // What can fail comes first: then nothing has changed.
  auto allowed = allowed_origins(fresh);
  set_log_level(fresh.log_level);

  Config paths = m.config;  // DATA_DIR as running (a new one waits for the restart)
  paths.blacklist = fresh.blacklist;
  m.blacklist->read(paths.blacklist_path());
  m.library->rescan();
  m.origin_hosts = joined(allowed.patterns());
  m.origin->set_allowed(std::move(allowed));
  m.access_token.set(fresh.access_token);
  // A new worker count applies while running; from or to 0 (another process model) it waits
  // for the restart. /ping may have changed the count since: only a changed setting applies.
  const bool workers_apply = m.pool && fresh.workers > 0 && fresh.workers != m.loaded.workers;
  if (workers_apply) m.pool->configure(std::nullopt, fresh.workers);

  for (auto name : changed_settings(m.loaded, fresh)) {
    if (!reloadable_setting(name) && !(name == "WORKERS" && workers_apply)) {
      spdlog::warn("reload: {} changed: takes effect at the next restart", name);
      continue;
    }
    copy_setting(name, fresh, m.loaded);
    spdlog::info("reload: {} changed: applied", name);
  }
  spdlog::info("reload: done; blacklist {} info-hashes, library scan started, URL torrents from {}",
               m.blacklist->size(), m.origin_hosts.empty() ? "no host" : m.origin_hosts);
}

}  // namespace seedcast

#include "seedcast/core/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <stdexcept>

namespace seedcast {
namespace {

std::optional<std::string> parse_int(const std::string& v, long min, long max, long& out) {
  long x = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc() || p != v.data() + v.size())
    return "expected a whole number, got '" + v + "'";
  if (x < min || x > max)
    return "expected a number from " + std::to_string(min) + " to " + std::to_string(max);
  out = x;
  return std::nullopt;
}

template <class T>
Setting int_setting(std::string_view name, std::vector<std::string_view> aliases,
                    std::string_view help, T Config::*field, long min, long max) {
  return Setting{name, std::move(aliases), help,
                 [field](const Config& c) { return std::to_string(c.*field); },
                 [field, min, max](Config& c, const std::string& v) -> std::optional<std::string> {
                   long x = 0;
                   if (auto err = parse_int(v, min, max, x)) return err;
                   c.*field = static_cast<T>(x);
                   return std::nullopt;
                 }};
}

Setting string_setting(std::string_view name, std::vector<std::string_view> aliases,
                       std::string_view help, std::string Config::*field) {
  return Setting{name, std::move(aliases), help, [field](const Config& c) { return c.*field; },
                 [field](Config& c, const std::string& v) -> std::optional<std::string> {
                   c.*field = v;
                   return std::nullopt;
                 }};
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

}  // namespace

std::string Config::blacklist_path() const {
  return blacklist.empty() ? data_dir + "/blacklist.txt" : blacklist;
}

const std::vector<Setting>& settings() {
  static const std::vector<Setting> table = {
      string_setting("HOST", {}, "address to listen on (localhost, 127.0.0.1, ::, 0.0.0.0)",
                     &Config::host),
      int_setting("PORT", {"listenPort"}, "HTTP port; 0 picks a free one", &Config::port, 0, 65535),
      string_setting("PUBLIC_URL", {},
                     "base URL clients reach this server at, used in .torrent url-lists and "
                     "links (default: http://<Host header of each request>)",
                     &Config::public_url),
      string_setting("LIBRARY", {}, "folder of videos: each top-level file or folder is a torrent",
                     &Config::library),
      string_setting("DATA_DIR", {}, "folder for the catalog and other state", &Config::data_dir),
      string_setting("BLACKLIST", {},
                     "file of info-hashes (one per line, # comments) answered with 451 "
                     "(default: <DATA_DIR>/blacklist.txt)",
                     &Config::blacklist),
      string_setting("PORT_FILE", {}, "write the bound port to this file once listening",
                     &Config::port_file),
      string_setting("LOG_LEVEL", {}, "trace, debug, info, warn, error or off", &Config::log_level),
      int_setting("THREADS", {}, "HTTP threads; 0 = one per core", &Config::threads, 0, 256),
      int_setting("HASH_THREADS", {}, "hashing threads; 0 = one per core", &Config::hash_threads, 0,
                  256),
      int_setting("RESCAN_INTERVAL", {}, "seconds between library scans; 0 = only at start",
                  &Config::rescan_interval, 0, 86400 * 365),
      int_setting("MAX_RANGES", {}, "most byte ranges one request may ask for", &Config::max_ranges,
                  1, 1000),
      int_setting("IDLE_TIMEOUT", {}, "seconds a keep-alive connection may sit idle",
                  &Config::idle_timeout, 1, 86400),
      int_setting("HEADER_TIMEOUT", {}, "seconds to receive a request's header",
                  &Config::header_timeout, 1, 3600),
      int_setting("PIECE_SIZE", {},
                  "piece size in bytes for new torrents, a power of two from 16 KiB; 0 = "
                  "chosen per torrent for streaming",
                  &Config::piece_size, 0, 64L << 20),
      string_setting("SECRET", {}, "HS256 secret: with it (or JWT_PUBLIC_KEY) every route and the tracker want a token",
                     &Config::secret),
      string_setting("JWT_PUBLIC_KEY", {}, "PEM public key file (RSA → RS256, EC P-256 → ES256) that verifies tokens",
                     &Config::jwt_public_key),
      string_setting("AUTH_WEBHOOK", {},
                     "URL asked (GET, Authorization: Bearer <token>) whether a token is good: 2xx yes, "
                     "401/403 no; used when no SECRET or JWT_PUBLIC_KEY is set",
                     &Config::auth_webhook),
      int_setting("AUTH_WEBHOOK_TTL", {}, "seconds a webhook's yes is cached (a no: 5 s)", &Config::auth_webhook_ttl, 0,
                  86400),
      int_setting("ANNOUNCE_INTERVAL", {}, "seconds between tracker announces asked of peers", &Config::announce_interval,
                  10, 86400),
      string_setting("signal1", {"SIGNAL1"}, "an extra tracker URL put in every .torrent", &Config::signal1),
      string_setting("signal2", {"SIGNAL2"}, "another extra tracker URL", &Config::signal2),
      int_setting("PEER_PORT", {}, "BitTorrent port the server seeds on (TCP and uTP); 0 = any free port, -1 = do not seed",
                  &Config::peer_port, -1, 65535),
      int_setting("RTC_PORT", {},
                  "UDP port of the server's WebRTC peer, which browsers reach through the tracker (workers take the "
                  "next ones); 0 = any free port, -1 = no WebRTC peer",
                  &Config::rtc_port, -1, 65535),
      string_setting("RTC_ADDRESSES", {},
                     "addresses browsers reach the WebRTC port on, comma-separated (the public address behind a NAT); "
                     "empty: the address each browser reached the server on",
                     &Config::rtc_addresses),
      int_setting("RTC_MAX_PEERS", {}, "WebRTC peer connections at once (per process), handshaking ones included",
                  &Config::rtc_max_peers, 1, 1000000),
      int_setting("RTC_PENDING_PER_ADDRESS", {},
                  "offers the WebRTC peer answers from one address whose connection is not open yet; more are refused",
                  &Config::rtc_pending_per_address, 1, 100000),
      int_setting("RTC_PENDING_PER_TORRENT", {}, "the same cap per torrent", &Config::rtc_pending_per_torrent, 1,
                  1000000),
      int_setting("RTC_HANDSHAKE_TIMEOUT", {},
                  "seconds a browser has from the answer to an open data channel (ICE, DTLS, SCTP), then it is dropped",
                  &Config::rtc_handshake_timeout, 1, 3600),
      string_setting("ACCESS_TOKEN", {"accessToken"},
                     "token the admin API (/api/…) and the super-peer API (/seed, /stats, … /ui) want in "
                     "X-Access-Token; empty: no admin API, and the super-peer API answers loopback clients only",
                     &Config::access_token),
      int_setting("SEED_MAX_CHANNELS", {},
                  "channels /seed may have seeded at once; over it the lowest priority ones wait; 0 = no cap",
                  &Config::seed_max_channels, 0, 1000000),
      int_setting("WORKERS", {"workers"},
                  "super peer: worker processes that seed the channels (seedcast worker); 0 = seed them in "
                  "the server's own process",
                  &Config::workers, 0, 64),
      int_setting("CHANNEL_WORKERS", {},
                  "with WORKERS: how many workers seed each channel; 0 = every live worker", &Config::channel_workers,
                  0, 64),
      int_setting("SEED_HOT", {},
                  "with WORKERS: the workers also seed the K swarms with the most viewers on the tracker "
                  "(of torrents whose data is on disk); 0 = only what /seed asked for",
                  &Config::seed_hot, 0, 100000),
      int_setting("SHUTDOWN_TIMEOUT", {},
                  "seconds SIGTERM/SIGQUIT give requests in flight (and workers) before the server stops anyway",
                  &Config::shutdown_timeout, 0, 3600),
      int_setting("METADATA_TIMEOUT", {}, "seconds to wait for a swarm's metadata (a torrent fetched by info-hash) before 504",
                  &Config::metadata_timeout, 1, 3600),
      int_setting("PIECE_TIMEOUT", {}, "seconds to wait for a piece from a swarm before 503", &Config::piece_timeout, 1,
                  3600),
      int_setting("GATEWAY_LIFETIME", {}, "seconds a torrent fetched from a swarm stays in the engine after its last use",
                  &Config::gateway_lifetime, 1, 86400 * 365),
      int_setting("CACHE_MAX_BYTES", {}, "disk budget of the caches (<DATA_DIR>/cache/swarm and cache/url; least recently used goes first); 0 = unlimited",
                  &Config::cache_max_bytes, 0, std::numeric_limits<long>::max()),
      int_setting("OPEN_GATEWAY", {},
                  "in open mode (no key), 1: fetch any info-hash asked for from its swarm; 0: only torrents added "
                  "through the admin API",
                  &Config::open_gateway, 0, 1),
      int_setting("DHT", {}, "1: find public swarms through the DHT too (private torrents never use it)", &Config::dht,
                  0, 1),
      int_setting("SEED_SLOTS", {},
                  "peers the BitTorrent seed uploads to at once, per torrent (they rotate; the others get "
                  "the pieces from their peers); 0 = all (default: viewers start fastest)",
                  &Config::seed_slots, 0, 10000),
      int_setting("WEBSEED_DEFER", {},
                  "seconds a BitTorrent client connected to the seed is asked to wait (503, Retry-After) "
                  "before asking the web seed for more than one piece at once; 0 = always serve (default)",
                  &Config::webseed_defer, 0, 3600),
      int_setting("SEED_COPIES", {},
                  "swarm-first seeding: the BitTorrent seed uploads a piece only while fewer than this many of "
                  "its peers have it or are being sent it (they pass it on), plus what a peer needs next and no "
                  "peer has, or what a starving peer needs; 0 = off, every request is served (default)",
                  &Config::seed_copies, 0, 1000),
      int_setting("SEED_STARVE_MS", {},
                  "with SEED_COPIES: a peer whose first missing piece has not arrived for this many ms is "
                  "served its next SEED_URGENT_PIECES missing pieces",
                  &Config::seed_starve_ms, 0, 3600000),
      int_setting("SEED_URGENT_PIECES", {},
                  "with SEED_COPIES: a peer's next missing pieces that are served when no other peer has them "
                  "(or when it starves); also how many pieces from the start any peer that lacks them gets",
                  &Config::seed_urgent_pieces, 0, 1000),
      int_setting("SEED_BITRATE", {},
                  "with SEED_COPIES: the videos' bit rate (bits/s); a peer whose pieces from the start reach "
                  "less than (time connected + SEED_LEAD_MS) x bit rate is served up to that mark; 0 = unknown",
                  &Config::seed_bitrate, 0, 100000000000L),
      int_setting("SEED_LEAD_MS", {}, "with SEED_BITRATE: see there", &Config::seed_lead_ms, 0, 3600000),
      string_setting("WEB_DIR", {}, "folder of the pages and their assets (default: <executable>/../web)",
                     &Config::web_dir),
      string_setting("ALLOWED_DOMAINS", {},
                     "hosts /torrent/url/… may fetch from, comma-separated: exact names and globs "
                     "(*.cdn.example.com); none by default",
                     &Config::allowed_domains),
      string_setting("ALLOWED_DOMAINS_FILE", {},
                     "JSON array of allowed hosts, added to ALLOWED_DOMAINS (default: "
                     "config/allowedDomains.json when it exists)",
                     &Config::allowed_domains_file),
      int_setting("ALLOW_PRIVATE_ORIGINS", {},
                  "1: origins may resolve to loopback, private or link-local addresses (tests only)",
                  &Config::allow_private_origins, 0, 1),
      int_setting("ORIGIN_MAX_BYTES", {}, "largest file fetched from a URL, in bytes",
                  &Config::origin_max_bytes, 1, 1L << 50),
      int_setting("ORIGIN_TIMEOUT", {}, "seconds a whole fetch from a URL may take, redirects included",
                  &Config::origin_timeout, 1, 86400),
      int_setting("ORIGIN_REVALIDATE", {},
                  "seconds between asking an origin whether a fetched file changed; 0 = every request",
                  &Config::origin_revalidate, 0, 86400 * 365),
  };
  return table;
}

std::string flag_name(std::string_view setting_name) {
  std::string f(setting_name);
  for (char& c : f) c = c == '_' ? '-' : static_cast<char>(std::tolower(c));
  return f;
}

std::map<std::string, std::string> parse_dotenv(std::string_view text) {
  std::map<std::string, std::string> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("export ", 0) == 0) line = trim(std::string_view(line).substr(7));
    size_t eq = line.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    std::string key = trim(std::string_view(line).substr(0, eq));
    std::string value = trim(std::string_view(line).substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    } else if (size_t hash = value.find(" #"); hash != std::string::npos) {
      value = trim(std::string_view(value).substr(0, hash));
    }
    out[key] = value;
  }
  return out;
}

Config load_config(const ConfigSources& sources) {
  Config config;
  for (const Setting& s : settings()) {
    std::vector<std::string> keys{std::string(s.name)};
    for (auto a : s.aliases) keys.emplace_back(a);
    std::optional<std::pair<std::string, std::string>> found;  // (where, value)
    if (auto it = sources.flags.find(std::string(s.name)); it != sources.flags.end())
      found = {{"flag --" + flag_name(s.name), it->second}};
    for (const auto& k : keys) {
      if (found || !sources.env) break;
      if (auto v = sources.env(k)) found = {{"environment variable " + k, *v}};
    }
    for (const auto& k : keys) {
      if (found) break;
      if (auto it = sources.dotenv.find(k); it != sources.dotenv.end())
        found = {{".env key " + k, it->second}};
    }
    if (!found) continue;
    if (auto err = s.set(config, found->second))
      throw std::invalid_argument(std::string(s.name) + " (from " + found->first + "): " + *err);
  }
  if (config.piece_size != 0 &&
      (config.piece_size < 16384 || (config.piece_size & (config.piece_size - 1)) != 0))
    throw std::invalid_argument("PIECE_SIZE: expected 0 or a power of two of at least 16384");
  return config;
}

}  // namespace seedcast

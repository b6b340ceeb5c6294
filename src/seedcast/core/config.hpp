#pragma once
// Settings: one table (name, aliases, default, help); values come from flags, the
// environment and a .env file, in that order of precedence, then the default.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace seedcast {

struct Config {
  std::string host = "localhost";
  uint16_t port = 8002;
  std::string public_url;  // empty: derived from each request's Host header
  std::string library = "./library";
  std::string data_dir = "./data";
  std::string blacklist;  // empty: <data_dir>/blacklist.txt
  std::string port_file;
  std::string log_level = "info";
  int threads = 0;          // HTTP threads; 0 = one per core
  int hash_threads = 0;     // 0 = one per core
  int rescan_interval = 30;  // seconds between library scans; 0 = only at start
  int max_ranges = 16;
  int idle_timeout = 60;    // seconds a keep-alive connection may sit idle
  int header_timeout = 10;  // seconds from a request's first byte to its complete header
  uint32_t piece_size = 0;  // 0 = chosen per torrent for streaming
  std::string secret;           // HS256 key; enables authentication
  std::string jwt_public_key;   // PEM file (RS256/ES256); enables authentication
  std::string auth_webhook;     // URL asked whether a token is good; enables authentication
  int auth_webhook_ttl = 60;    // seconds a webhook answer is kept
  int announce_interval = 120;  // seconds
  std::string signal1, signal2;  // extra trackers put in every .torrent
  std::string web_dir;          // pages and assets; empty: <executable>/../web
  int peer_port = 6881;         // BitTorrent seed; 0: any free port; -1: no seed
  int rtc_port = 8003;          // WebRTC peer (UDP); 0: any free port; -1: none
  std::string rtc_addresses;    // host candidates to advertise (comma list); empty: as reached
  int rtc_max_peers = 10000;    // WebRTC peer connections at once
  int rtc_pending_per_address = 32;   // offers answered, not connected yet, from one address
  int rtc_pending_per_torrent = 64;   // the same, per torrent
  int rtc_handshake_timeout = 20;     // seconds from an answer to an open data channel
  std::string access_token;     // admin and super-peer APIs (accessToken); empty: none
  int seed_max_channels = 0;    // super peer: channels seeded at once; 0: no cap
  int workers = 0;              // super peer: worker processes; 0: channels seed in this process
  int channel_workers = 0;      // workers seeding each channel; 0: every live worker
  int seed_hot = 8;             // with workers: also seed the K swarms with most viewers; 0: off
  int shutdown_timeout = 30;    // seconds SIGTERM/SIGQUIT wait for requests in flight
  int metadata_timeout = 20;    // seconds
  int piece_timeout = 15;       // seconds
  int gateway_lifetime = 600;   // seconds
  int64_t cache_max_bytes = 0;  // 0: unlimited
  int dht = 0;
  int open_gateway = 1;
  // Torrents from URLs (/torrent/url/…).
  std::string allowed_domains;       // comma list of hosts and globs (*.cdn.example.com)
  std::string allowed_domains_file;  // JSON array; empty: config/allowedDomains.json if it exists
  bool allow_private_origins = false;  // let origins be loopback/private addresses (tests)
  uint64_t origin_max_bytes = uint64_t{8} << 30;
  int origin_timeout = 600;     // seconds for a whole fetch
  int origin_revalidate = 60;   // seconds between asking an origin whether a cached file changed
  int seed_slots = 0;           // peers the seed uploads to at once, per torrent; 0 = all
  int webseed_defer = 0;        // Retry-After for bulk web-seed requests of the seed's peers; 0 = off
  int seed_copies = 0;          // swarm-first seeding: serve a piece while fewer peers have it; 0 = off
  int seed_starve_ms = 2000;    // with seed_copies: a first missing piece this old gets served
  int seed_urgent_pieces = 4;   // with seed_copies: a peer's next missing pieces that count as urgent
  long seed_bitrate = 0;        // with seed_copies: the streams' bit rate (bits/s), 0 = unknown
  int seed_lead_ms = 1500;      // with seed_bitrate: how far ahead of its nominal position a peer is kept

  bool auth_enabled() const { return !secret.empty() || !jwt_public_key.empty() || !auth_webhook.empty(); }

  std::string blacklist_path() const;
};

// One setting of the table. `name` is the environment / .env key and, lower-cased with '_'
// turned into '-', the flag.
struct Setting {
  std::string_view name;
  std::vector<std::string_view> aliases;  // other keys accepted (e.g. listenPort)
  std::string_view help;
  std::function<std::string(const Config&)> get;
  // Returns an error message when the value is not acceptable.
  std::function<std::optional<std::string>(Config&, const std::string&)> set;
};

const std::vector<Setting>& settings();
std::string flag_name(std::string_view setting_name);

// Parses a .env file's text: KEY=VALUE lines, '#' comments, optional `export `, single or
// double quotes around the value. Lines that are not assignments are ignored.
std::map<std::string, std::string> parse_dotenv(std::string_view text);

struct ConfigSources {
  std::map<std::string, std::string> flags;                             // by setting name
  std::function<std::optional<std::string>(const std::string&)> env;    // may be empty
  std::map<std::string, std::string> dotenv;
};

// Applies flag > environment > .env > default for every setting. Throws std::invalid_argument
// naming the setting and where its bad value came from.
Config load_config(const ConfigSources& sources);

}  // namespace seedcast

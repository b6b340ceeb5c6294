#pragma once
// The BitTorrent engine: one libtorrent session that
//  - seeds catalog torrents whose data is on disk (library, URL torrents) to TCP and uTP peers
//    on PEER_PORT, and
//  - is the gateway to swarms seedcast does not hold: it fetches a torrent's metadata from peers
//    and, on demand, the pieces a viewer asks for, into the cache (<cache_dir>/<hex>/).
// libtorrent stays behind this header; nothing of it leaks out. Callbacks run on the engine's
// own thread: they must be short and must not call back into the engine.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "seedcast/catalog/torrent.hpp"
#include "seedcast/core/error.hpp"

namespace seedcast::engine {

class SharedSwarmFirst;  // swarm_first.hpp

struct PeerAddress {
  std::string ip;
  uint16_t port = 0;
};

// How a seed shares its upload among its peers (SEED_SLOTS, SEED_COPIES, ...): the same for the
// server's engine and the super peer's workers.
struct SeedPolicy {
  // Peers each torrent uploads to at once (0 = all). Few slots make the seed a source of new
  // pieces for the swarm rather than a server of every viewer: the unchoked viewers relay what
  // they get, and the slots rotate (round robin).
  int upload_slots = 0;
  // Swarm-first seeding (swarm_first.hpp) of the library torrents: a piece is uploaded only
  // while fewer than `copies` other connected peers have it or are being sent it, the first
  // `urgent_pieces` pieces to any peer, a peer's next `urgent_pieces` missing pieces that no
  // peer has yet or all of them when its first missing piece is `starve_ms` old, and, with
  // `bitrate` (bits/s) known, to a peer behind (time connected + `lead_ms`) x bit rate. 0 = off:
  // every request is served. Needs upload_slots 0 (libtorrent's choker would undo the plugin's
  // chokes).
  int copies = 0;
  int starve_ms = 2000;
  int urgent_pieces = 4;
  int64_t bitrate = 0;
  int lead_ms = 1500;
};

struct Options {
  std::string listen_host = "0.0.0.0";
  int peer_port = 6881;  // 0: any free port
  // Peers (viewers) served at once; each costs one socket. At 1 Mbit/s one core serves this many
  // at full CPU (bench/seed_capacity.sh); this cap bounds sockets and memory at lower bit
  // rates. The engine raises the soft RLIMIT_NOFILE to the hard limit, and libtorrent lowers
  // this to 80% of that limit.
  int connections_limit = 10000;
  // Per-peer send buffer: the high_performance_seed preset's 3 MiB × thousands of peers is
  // gigabytes; a viewer at a few Mbit/s needs far less.
  int send_buffer_watermark = 256 * 1024;

  // Gateway.
  std::string cache_dir;        // where fetched torrents' pieces are kept; required for the gateway
  bool dht = false;             // find public swarms through the DHT too
  int lifetime = 600;           // seconds a fetched torrent stays in the engine after its last use
  // Budget of cache_dir and budget_dirs together; 0: unlimited. Least recently used goes first
  // (a folder's mtime is its last use). Folders are named by info-hash; others are counted, kept.
  uint64_t cache_max_bytes = 0;
  // Other caches under the same budget (the URL cache). Before one of their folders is deleted,
  // the torrent leaves the engine and on_evict (engine thread, engine lock held: it must not
  // call the engine) is told, so that nothing refers to the data any more. A channel held with
  // hold() is never evicted.
  std::vector<std::string> budget_dirs;
  std::function<void(const InfoHash&)> on_evict;
  // Called (on the engine thread) when a fetched torrent's metadata arrived: the catalog entry to
  // keep. The metadata waiters are woken after it returns.
  std::function<void(const catalog::Torrent&)> on_metadata;
  // Peers this server's own tracker knows for a swarm (HTTP peers), for fetched torrents.
  std::function<std::vector<PeerAddress>(const InfoHash&)> tracker_peers;
  SeedPolicy seed;
  // Keep, every second, the addresses of each torrent's connected peers for peer_connected()
  // (a copy of every peer list: only when something asks).
  bool peer_addresses = false;
};

struct Stats {
  size_t torrents = 0;  // seeding
  size_t peers = 0;
  uint64_t uploaded = 0;  // bytes, since start
  size_t fetching = 0;    // gateway torrents in the engine
  uint64_t downloaded = 0;  // gateway payload bytes, since start
  uint64_t cache_bytes = 0;  // on disk in cache_dir (as of the last sync)
  uint64_t refused = 0;      // piece requests the seed refused (seed_copies), since start
};

// How the engine treats a torrent held as a super-peer channel (POST /seed).
struct ChannelOptions {
  int max_connections = 0;            // peers at most for this torrent; 0: unlimited, else >= 2
  std::vector<std::string> trackers;  // extra trackers it announces to (signal1, signal2)
  bool keep = false;                  // never leaves the engine by GATEWAY_LIFETIME
  bool paused = false;                // stays in the engine, neither uploads nor downloads
};

struct TorrentStats {
  bool has_metadata = false;
  bool complete = false;  // every piece verified: a seed
  bool paused = false;
  size_t peers = 0;
  uint64_t uploaded = 0;     // payload bytes since the torrent entered the engine
  uint64_t upload_rate = 0;  // payload bytes per second, as libtorrent averages it
  double progress = 0;       // 0..1 of the pieces wanted
  int connection_limit = 0;  // libtorrent's per-torrent connection limit; 0: none
};

// The v1 info-hash a magnet URI names (xt=urn:btih:, hex or base32). Pure, no session needed.
result<InfoHash> magnet_info_hash(std::string_view magnet);
// The v1 info-hash of a .torrent file's bytes (libtorrent reads it with its limits). Pure.
result<InfoHash> torrent_file_info_hash(std::string_view bytes);
// The catalog record of a bencoded info dictionary (name, files with their offsets, piece length
// and count, length); `root` is where its files are, `source` is left "swarm:" to be set by the
// caller, mtimes are 0. Pure.
result<catalog::Torrent> torrent_from_info(std::string_view info, const std::string& root);

class Engine {
 public:
  explicit Engine(Options options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // The port peers reach the engine on (0 until it listens; updated by sync()). Cheap.
  uint16_t peer_port() const;
  // Seeds exactly the on-disk torrents of `torrents`: adds the new ones in seed mode (their
  // pieces were hashed when indexed; each piece is verified again the first time a peer asks
  // for it, and a piece that fails is never sent), and removes the ones no longer wanted.
  // Gateway torrents are left alone here, except that unused ones are dropped after their
  // lifetime, gone ones are removed, and the cache is kept under its budget. Thread-safe.
  void sync(const std::vector<catalog::TorrentPtr>& torrents);
  bool seeding(const InfoHash& h) const;  // cheap: a lookup under a mutex
  // True when a BitTorrent peer from address `ip` (as text, e.g. "203.0.113.5") is connected
  // to the engine for torrent `h`, as of the last sync() (at most ~1 s old). Cheap: a lookup
  // under a mutex. The webseed uses it to send such a client's bulk requests to the engine.
  bool peer_connected(const InfoHash& h, std::string_view ip) const;
  Stats stats() const;

  // ---- gateway
  // Starts fetching a torrent seedcast does not hold, from a magnet URI (its trackers are used),
  // a bare info-hash, or a .torrent file's bytes. Returns the info-hash; adding one that is
  // already in the engine is not an error.
  result<InfoHash> add_magnet(std::string_view magnet);
  result<InfoHash> add_info_hash(const InfoHash& h);
  result<InfoHash> add_torrent_file(std::string_view bytes);
  // (Re)starts fetching a gateway torrent of the catalog (after its lifetime ran out or a
  // restart) and marks it used. libtorrent re-checks what the cache already holds.
  void activate(const catalog::Torrent& t);
  // True while the engine has `h` without its metadata, or fetches it.
  bool fetching(const InfoHash& h) const;
  // Calls `wake` once when `h`'s metadata is known (at once if it is), or when `h` leaves the
  // engine. Either way the caller looks the catalog up again.
  void wait_metadata(const InfoHash& h, std::function<void()> wake);
  // Verified pieces only: a piece is "had" after libtorrent checked its SHA-1.
  bool have_piece(const InfoHash& h, uint32_t piece) const;
  // Asks for pieces [first, last] (those missing), the first within `deadline_ms`, the next
  // ones `step_ms` apart, and marks the torrent used.
  void request(const InfoHash& h, uint32_t first, uint32_t last, int deadline_ms, int step_ms);
  // Calls `wake` once when `piece` is had (at once if it is), or the torrent leaves the engine.
  void wait_piece(const InfoHash& h, uint32_t piece, std::function<void()> wake);
  // Removes a gateway torrent from the engine and deletes its cached data.
  void forget(const InfoHash& h);

  // ---- channels (the super peer)
  // Holds `h` as a channel with `options`, applied now if the torrent is in the engine and again
  // whenever it enters it (sync, add_*, activate). A gateway torrent held and not paused is
  // fetched whole (every piece at normal priority), so it becomes a real seed. Holding does not
  // add a torrent: the caller adds gateway torrents (add_*, activate). Thread-safe.
  void hold(const InfoHash& h, ChannelOptions options);
  // Back to the ordinary rules (resumed, no connection cap, evicted after its lifetime). Extra
  // trackers stay until the torrent leaves the engine; pieces already asked for are still fetched.
  void release(const InfoHash& h);
  // nullopt when `h` is not in the engine. Asks libtorrent (blocks on its thread briefly).
  std::optional<TorrentStats> torrent_stats(const InfoHash& h) const;
  // Caps the engine's BitTorrent upload at `bytes_per_second` over all its peers, those on local
  // networks too (the engine puts every address in libtorrent's global peer class); 0: no cap.
  // The super peer's POST /ping bandwidth. Thread-safe.
  void set_upload_limit(uint64_t bytes_per_second);
  // The cap the session applies now, read back from libtorrent; 0: none.
  uint64_t upload_limit() const;

  // Cheap: `h` is seeded from this engine — seeding(h), or a held, unpaused gateway torrent that
  // has every piece. The tracker points peers of such swarms at the engine.
  bool serving(const InfoHash& h) const;

  // The swarm-first policy (SEED_COPIES) of a torrent this engine seeds, for the process's
  // other seeds of it (the WebRTC seed's browsers), which then count in it like BitTorrent
  // peers; nullptr when none applies. Thread-safe.
  std::shared_ptr<SharedSwarmFirst> swarm_policy(const InfoHash& h) const;
  // Requests refused by swarm-first seeding (stats); other seeds add theirs.
  uint64_t refused() const;
  void count_refused();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace seedcast::engine

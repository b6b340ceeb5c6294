#pragma once
// The BitTorrent engine: one libtorrent session that seeds catalog torrents to TCP and uTP
// peers on PEER_PORT. libtorrent stays behind this header; nothing of it leaks out.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "seedcast/catalog/torrent.hpp"

namespace seedcast::engine {

struct Options {
  std::string listen_host = "0.0.0.0";
  int peer_port = 6881;  // 0: any free port
  // Peers (viewers) served at once; each costs one socket. At 1 Mbit/s one core runs out of CPU
  // at about 7,500 (bench/seed_capacity.sh); this cap bounds sockets and memory at lower bit
  // rates. The engine raises the soft RLIMIT_NOFILE to the hard limit, and libtorrent lowers
  // this to 80% of that limit.
  int connections_limit = 10000;
  // Per-peer send buffer: the high_performance_seed preset's 3 MiB × thousands of peers is
  // gigabytes; a viewer at a few Mbit/s needs far less.
  int send_buffer_watermark = 256 * 1024;
};

struct Stats {
  size_t torrents = 0;
  size_t peers = 0;
  uint64_t uploaded = 0;  // bytes, since start
};

class Engine {
 public:
  explicit Engine(Options options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // The port peers reach the engine on (0 until it listens; updated by sync()). Cheap.
  uint16_t peer_port() const;
  // Seeds exactly `torrents` from their files on disk: adds the new ones in seed mode (their
  // pieces were hashed when indexed; each piece is verified again the first time a peer asks
  // for it, and a piece that fails is never sent), and removes the ones no longer wanted.
  // Also drains libtorrent's alerts and logs problems. Thread-safe.
  void sync(const std::vector<catalog::TorrentPtr>& torrents);
  bool seeding(const InfoHash& h) const;  // cheap: a lookup under a mutex
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace seedcast::engine

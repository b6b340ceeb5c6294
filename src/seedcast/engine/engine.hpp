#pragma once
// The BitTorrent engine: one libtorrent session that seeds catalog torrents to TCP and uTP
// peers on PEER_PORT. libtorrent stays behind this header; nothing of it leaks out.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "seedcast/catalog/torrent.hpp"

namespace seedcast::engine {

struct Options {
  std::string listen_host = "0.0.0.0";
  int peer_port = 6881;  // 0: any free port
  int connections_limit = 2000;
  // Per-peer send buffer: the high_performance_seed preset's 3 MiB × thousands of peers is
  // gigabytes; a viewer at a few Mbit/s needs far less.
  int send_buffer_watermark = 256 * 1024;
  // Peers each torrent uploads to at once (0 = all). Few slots make the seed a source of new
  // pieces for the swarm rather than a server of every viewer: the unchoked viewers relay what
  // they get, and the slots rotate (round robin).
  int upload_slots = 4;
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
  // True when a BitTorrent peer from address `ip` (as text, e.g. "203.0.113.5") is connected
  // to the engine for torrent `h`, as of the last sync() (at most ~1 s old). Cheap: a lookup
  // under a mutex. The webseed uses it to send such a client's bulk requests to the engine.
  bool peer_connected(const InfoHash& h, std::string_view ip) const;
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace seedcast::engine

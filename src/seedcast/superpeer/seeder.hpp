#pragma once
// What the REST API drives: something that seeds channels in worker processes. In
// single-process mode (workers=0) that is the engine of this process (EngineSeeder); with
// workers=N, a pool of worker processes (WorkerPool). Every method is thread-safe.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "seedcast/core/info_hash.hpp"
#include "seedcast/superpeer/seed_request.hpp"

namespace seedcast::superpeer {

// A channel to seed: the request's spec and the torrent it resolved to (for a URL, the
// torrent seedcast made of it; a magnet or info-hash names its torrent).
struct Channel {
  SeedSpec spec;
  InfoHash info_hash;
};

struct ChannelStats {
  std::string channel;  // base64, as first sent
  std::string key;      // ChannelSource::key()
  InfoHash info_hash;
  std::string label;
  std::string state;  // "seeding", "fetching" (a gateway torrent not complete yet),
                      // "waiting" (not in the engine yet), "queued" (over SEED_MAX_CHANNELS),
                      // "stopped"
  int priority = 0;
  bool keep_alive = false;
  bool no_use_disk_cache = false;
  int max_connections = 0;
  int connection_limit = 0;  // what the engine applies (max_connections, at least 2); 0: none
  size_t peers = 0;
  uint64_t uploaded = 0;     // bytes since the channel entered its worker's engine
  uint64_t upload_rate = 0;  // bytes per second
  double progress = 0;       // 0..1
  std::vector<int> pids;     // workers seeding it
  size_t rtc_peers = 0;      // browsers connected to the WebRTC peers seeding it
  uint64_t rtc_uploaded = 0;  // payload bytes those peers sent them
};

// A channel's stats with what its spec says filled in (the counters and state left to fill).
inline ChannelStats stats_of(const Channel& ch) {
  const SeedSpec& s = ch.spec;
  ChannelStats c;
  c.channel = s.channel;
  c.key = s.source.key();
  c.info_hash = ch.info_hash;
  c.label = s.label;
  c.priority = s.priority;
  c.keep_alive = s.keep_alive;
  c.no_use_disk_cache = s.no_use_disk_cache;
  c.max_connections = s.max_connections;
  return c;
}

struct WorkerStats {
  int pid = 0;
  std::string state;  // "running", "starting" (no report yet), "stopped", or "restarting"
                      // (it died; a new one starts after a backoff)
  int64_t started = 0;  // unix seconds of the last (re)start
  int restarts = 0;
  double cpu = 0;     // % of one core since the previous sample
  uint64_t rss = 0;   // bytes
  size_t peers = 0;
  uint64_t uploaded = 0;
  uint64_t upload_rate = 0;
  uint16_t peer_port = 0;
  uint64_t upload_limit = 0;  // bytes/s its engine may upload (POST /ping bandwidth); 0: no cap
  std::vector<ChannelStats> channels;
  uint16_t rtc_port = 0;      // its WebRTC peer's UDP port; 0: none
  size_t rtc_peers = 0;       // browsers connected to it
  uint64_t rtc_uploaded = 0;  // payload bytes sent to them
};

struct SeederStats {
  std::vector<WorkerStats> workers;
  // Channels no worker seeds now: fetching in the master, queued, waiting for a live worker.
  std::vector<ChannelStats> elsewhere;
};

class Seeder {
 public:
  virtual ~Seeder() = default;
  // Makes `channels` the set of channels seeded: new ones are added, listed ones updated,
  // the others released.
  virtual void seed(std::vector<Channel> channels) = 0;
  virtual SeederStats stats() = 0;
  // nullopt: no worker has that pid.
  virtual std::optional<WorkerStats> stop(int pid) = 0;
  virtual std::optional<WorkerStats> restart(int pid) = 0;
  // POST /ping: the operator's bandwidth (Mbit/s: the BitTorrent upload of the seeding engines,
  // shared evenly among the live workers) and wanted worker count; returns the count of workers
  // now.
  virtual int configure(std::optional<double> bandwidth, std::optional<int> workers) = 0;
};

}  // namespace seedcast::superpeer

#pragma once
// The Seeder of single-process mode (workers=0): this process is the one worker, its engine
// seeds the channels. Stop pauses every channel (the torrents stay in the engine, their data
// on disk — except noUseDiskCache gateway channels, whose cached data is deleted); restart
// stops and starts them again: gateway torrents that left the engine are added again.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "seedcast/superpeer/seeder.hpp"

#include "seedcast/engine/engine.hpp"

namespace seedcast::catalog {
class Catalog;
}

namespace seedcast::superpeer {

class RtcSeed;

struct EngineSeederOptions {
  size_t max_channels = 0;  // SEED_MAX_CHANNELS: channels seeded at once; 0: no cap
  std::string signal1, signal2;  // the server's settings: a channel's trackers when it names none
  // The process's WebRTC peer (may be null): its browsers count in the stats, and the /ping
  // bandwidth caps its upload too.
  std::shared_ptr<RtcSeed> rtc;
};

// Which channels are seeded when at most `cap` may be (0: all): the highest priority first,
// then the earliest added (`order`). Returns one flag per input, in input order.
struct Ranked {
  int priority = 0;
  uint64_t order = 0;
};
std::vector<bool> select_active(const std::vector<Ranked>& channels, size_t cap);

// How an engine treats channel `s`: its connection cap, its extra trackers (the channel's
// signal1/signal2, else the server's; http, https and udp ones: a native engine cannot announce
// to a WebRTC tracker), keepAlive; paused or not.
engine::ChannelOptions channel_options(const SeedSpec& s, const EngineSeederOptions& server, bool paused);
// Holds `c` in `engine` with `o` and makes sure its torrent is there: a torrent of the swarm is
// (re)activated, or added from its magnet or info-hash. Catalog torrents on disk (library, URL)
// are in the engine already (Engine::sync).
void engine_start(engine::Engine& engine, const catalog::Catalog& catalog, const Channel& c,
                  engine::ChannelOptions o);

class EngineSeeder : public Seeder {
 public:
  EngineSeeder(engine::Engine& engine, const catalog::Catalog& catalog, EngineSeederOptions options);
  ~EngineSeeder() override;

  void seed(std::vector<Channel> channels) override;
  SeederStats stats() override;
  std::optional<WorkerStats> stop(int pid) override;
  std::optional<WorkerStats> restart(int pid) override;
  int configure(std::optional<double> bandwidth, std::optional<int> workers) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace seedcast::superpeer

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

namespace seedcast::catalog {
class Catalog;
}
namespace seedcast::engine {
class Engine;
}

namespace seedcast::superpeer {

struct EngineSeederOptions {
  size_t max_channels = 0;  // SEED_MAX_CHANNELS: channels seeded at once; 0: no cap
  std::string signal1, signal2;  // the server's settings: a channel's trackers when it names none
};

// Which channels are seeded when at most `cap` may be (0: all): the highest priority first,
// then the earliest added (`order`). Returns one flag per input, in input order.
struct Ranked {
  int priority = 0;
  uint64_t order = 0;
};
std::vector<bool> select_active(const std::vector<Ranked>& channels, size_t cap);

class EngineSeeder : public Seeder {
 public:
  EngineSeeder(engine::Engine& engine, const catalog::Catalog& catalog, EngineSeederOptions options);
  ~EngineSeeder() override;

  void seed(std::vector<Channel> channels) override;
  std::vector<WorkerStats> stats() override;
  std::optional<WorkerStats> stop(int pid) override;
  std::optional<WorkerStats> restart(int pid) override;
  int configure(std::optional<double> bandwidth, std::optional<int> workers) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace seedcast::superpeer

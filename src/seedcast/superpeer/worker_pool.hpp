#pragma once
// The Seeder of workers=N: the master starts N worker processes (`seedcast worker`, worker.hpp)
// and gives each, over its control socket (control.hpp), the channels it seeds.
//  - A channel is seeded by workers once its data is complete on disk: a library or URL torrent
//    at once; a torrent fetched from its swarm (magnet, info-hash) once the master's own engine
//    has fetched it whole (until then it is "fetching", in the master).
//  - Each channel goes to CHANNEL_WORKERS live workers (0: all), starting at a worker chosen by
//    the channel's order, so channels spread over the workers.
//  - A worker that dies is started again after a backoff (0.5 s, doubling to 30 s; back to
//    0.5 s once one ran for a minute); meanwhile its channels go to the live workers.
//  - stop(pid) ends a worker (its channels move to the others) until restart(pid) or
//    restart_all starts it again; restart(pid) ends it and starts a new one (a new pid).
//  - With SEED_HOT = K the workers also seed the K swarms with the most peers on the tracker,
//    of torrents whose data is on disk.
// The master serves complete data over HTTP itself, so a worker's death never interrupts a
// download from the webseed.
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "seedcast/superpeer/seeder.hpp"

namespace seedcast::catalog {
class Catalog;
}
namespace seedcast::engine {
class Engine;
}

namespace seedcast::superpeer {

struct WorkerPoolOptions {
  int workers = 1;
  int channel_workers = 0;  // workers per channel; 0: every live worker
  size_t max_channels = 0;  // SEED_MAX_CHANNELS
  size_t hot = 0;           // SEED_HOT
  std::string signal1, signal2;
  // `seedcast worker` command line: the executable and the arguments after "worker" common to
  // every worker; the pool adds --control-fd and --peer-port.
  std::string executable;
  std::vector<std::string> args;
  int peer_port_base = 0;  // worker i listens on base + 1 + i; 0: any free port
  // Each worker's WebRTC peer: worker i's UDP port is base + 1 + i; 0: any free port; -1: none.
  int rtc_port_base = -1;
  // The swarms with the most peers (the tracker's busiest), most first.
  std::function<std::vector<InfoHash>(size_t k)> busiest;
};

class WorkerPool : public Seeder {
 public:
  // `engine`: the master's own engine, which fetches swarm channels; nullptr: only channels
  // with data on disk can be seeded. Starts the workers and the supervising thread.
  WorkerPool(engine::Engine* engine, const catalog::Catalog& catalog, WorkerPoolOptions options);
  ~WorkerPool() override;  // shutdown(5 s) if not done

  void seed(std::vector<Channel> channels) override;
  SeederStats stats() override;
  std::optional<WorkerStats> stop(int pid) override;
  std::optional<WorkerStats> restart(int pid) override;
  int configure(std::optional<double> bandwidth, std::optional<int> workers) override;

  // The peer ports of the live workers seeding `h` (for the tracker). Cheap.
  std::vector<uint16_t> ports(const InfoHash& h) const;

  // ---- the workers' WebRTC peers (browsers' offers reach them through the master's tracker)
  struct RtcWorker {
    int pid = 0;
    std::array<uint8_t, 20> peer_id{};
  };
  // The live workers seeding `h` that run a WebRTC peer. Cheap.
  std::vector<RtcWorker> rtc_workers(const InfoHash& h) const;
  // Whether worker `pid` should be handed an offer from browser `from` in swarm `h`: not one
  // relayed to it in the last minute (it answers, the browser connects, or the offer lapses).
  bool rtc_wants(int pid, const InfoHash& h, const std::array<uint8_t, 20>& from);
  // Relays a browser's offer to worker `pid`. `answer(sdp)` is called once on the pool's thread
  // with the worker's answer, or never (refused, the worker gone, or no answer within 10 s).
  void rtc_offer(int pid, const InfoHash& h, const std::array<uint8_t, 20>& from, std::string sdp,
                 std::string remote, std::string local, std::function<void(std::string_view)> answer);
  // Asks every worker to stop (SIGTERM), waits up to `grace` for them, then kills the rest.
  void shutdown(std::chrono::milliseconds grace);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace seedcast::superpeer

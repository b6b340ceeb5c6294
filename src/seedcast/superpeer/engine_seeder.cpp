#include "seedcast/superpeer/engine_seeder.hpp"

#include "seedcast/superpeer/rtc_seed.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <map>
#include <mutex>
#include <numeric>

#include "seedcast/catalog/catalog.hpp"
#include "seedcast/engine/engine.hpp"
#include "seedcast/superpeer/process_stats.hpp"

namespace seedcast::superpeer {

std::vector<bool> select_active(const std::vector<Ranked>& channels, size_t cap) {
  std::vector<bool> active(channels.size(), cap == 0);
  if (cap == 0) return active;
  std::vector<size_t> idx(channels.size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    if (channels[a].priority != channels[b].priority) return channels[a].priority > channels[b].priority;
    return channels[a].order < channels[b].order;
  });
  for (size_t i = 0; i < idx.size() && i < cap; ++i) active[idx[i]] = true;
  return active;
}

engine::ChannelOptions channel_options(const SeedSpec& s, const EngineSeederOptions& server, bool paused) {
  engine::ChannelOptions o;
  o.max_connections = s.max_connections;
  for (const auto& t : {s.signal1.empty() ? server.signal1 : s.signal1, s.signal2.empty() ? server.signal2 : s.signal2})
    if (t.rfind("http://", 0) == 0 || t.rfind("https://", 0) == 0 || t.rfind("udp://", 0) == 0)
      o.trackers.push_back(t);
  o.keep = s.keep_alive;
  o.paused = paused;
  return o;
}

void engine_start(engine::Engine& engine, const catalog::Catalog& catalog, const Channel& c,
                  engine::ChannelOptions o) {
  engine.hold(c.info_hash, std::move(o));
  auto t = catalog.find(c.info_hash);
  if (t && t->from_swarm()) {
    engine.activate(*t);  // back into the engine if its lifetime ran out or it was dropped
  } else if (!t && c.spec.source.kind == ChannelSource::Kind::magnet) {
    if (!engine.add_magnet(c.spec.source.text)) spdlog::warn("superpeer: cannot add {}", c.spec.source.text);
  } else if (!t) {
    if (!engine.add_info_hash(c.info_hash)) spdlog::warn("superpeer: cannot add {}", c.info_hash.hex());
  }
}

struct EngineSeeder::Impl {
  engine::Engine& engine;
  const catalog::Catalog& catalog;
  EngineSeederOptions options;
  const int pid = static_cast<int>(::getpid());

  std::mutex mutex;  // guards everything below
  struct Entry {
    Channel channel;
    uint64_t order = 0;
    bool active = false;  // seeded (not queued over the cap)
  };
  std::map<std::string, Entry> channels;  // by ChannelSource::key()
  uint64_t next_order = 0;
  bool running = true;
  int64_t started = std::time(nullptr);
  int restarts = 0;
  CpuMeter cpu;

  Impl(engine::Engine& e, const catalog::Catalog& c, EngineSeederOptions o) : engine(e), catalog(c), options(o) {}

  // A torrent fetched from a swarm (or to be): its data is the engine's cache, not a library.
  bool gateway(const InfoHash& h) const {
    auto t = catalog.find(h);
    return !t || t->from_swarm();
  }

  engine::ChannelOptions options_of(const SeedSpec& s, bool paused) const {
    return channel_options(s, options, paused);
  }

  // Puts the channel's torrent in the engine and seeds it. Caller holds the mutex.
  void start(const Entry& e) { engine_start(engine, catalog, e.channel, options_of(e.channel.spec, false)); }

  // Stops seeding the channel; `release` also gives the torrent back to the ordinary rules.
  void stop(const Entry& e, bool release) {
    const Channel& c = e.channel;
    const bool drop_data = c.spec.no_use_disk_cache && gateway(c.info_hash);
    if (release) engine.release(c.info_hash);
    else engine.hold(c.info_hash, options_of(c.spec, true));
    if (drop_data) engine.forget(c.info_hash);
  }

  // Picks the channels that fit under the cap; starts those (again: it applies their options,
  // and adding twice is harmless) and holds the others paused. Caller holds the mutex.
  size_t schedule() {
    std::vector<Ranked> ranked;
    for (auto& [k, e] : channels) ranked.push_back({e.channel.spec.priority, e.order});
    auto active = select_active(ranked, options.max_channels);
    size_t i = 0, queued = 0;
    for (auto& [k, e] : channels) {
      e.active = active[i++];
      queued += e.active ? 0 : 1;
      if (running && e.active) start(e);
      else stop(e, false);
    }
    return queued;
  }

  ChannelStats channel_stats(const Entry& e) {
    ChannelStats c = stats_of(e.channel);
    auto ts = engine.torrent_stats(e.channel.info_hash);
    if (ts) {
      c.peers = ts->peers;
      c.uploaded = ts->uploaded;
      c.upload_rate = ts->upload_rate;
      c.progress = ts->progress;
      c.connection_limit = ts->connection_limit;
    }
    if (!running) c.state = "stopped";
    else if (!e.active) c.state = "queued";
    else if (!ts) c.state = "waiting";
    else c.state = ts->complete ? "seeding" : "fetching";
    if (running && e.active) c.pids.push_back(pid);
    return c;
  }

  WorkerStats worker_stats() {
    WorkerStats w;
    w.pid = pid;
    w.state = running ? "running" : "stopped";
    w.started = started;
    w.restarts = restarts;
    if (auto p = sample_process(pid)) {
      w.cpu = cpu.update(p->cpu_seconds, std::chrono::steady_clock::now());
      w.rss = p->rss;
    }
    w.peer_port = engine.peer_port();
    w.upload_limit = engine.upload_limit();
    RtcSeed::Stats rs;
    if (options.rtc) {
      rs = options.rtc->stats();
      w.rtc_port = options.rtc->port();
      w.rtc_peers = rs.peers;
      w.rtc_uploaded = rs.uploaded;
    }
    for (const auto& [k, e] : channels) {
      ChannelStats c = channel_stats(e);
      for (const auto& t : rs.torrents) {
        if (t.info_hash != c.info_hash) continue;
        c.rtc_peers = t.peers;
        c.rtc_uploaded = t.uploaded;
      }
      w.peers += c.peers;
      w.uploaded += c.uploaded;
      w.upload_rate += c.upload_rate;
      w.channels.push_back(std::move(c));
    }
    return w;
  }
};

EngineSeeder::EngineSeeder(engine::Engine& engine, const catalog::Catalog& catalog, EngineSeederOptions options)
    : impl_(std::make_unique<Impl>(engine, catalog, options)) {
  if (auto p = sample_process(impl_->pid)) impl_->cpu.update(p->cpu_seconds, std::chrono::steady_clock::now());
}

EngineSeeder::~EngineSeeder() = default;

void EngineSeeder::seed(std::vector<Channel> list) {
  std::lock_guard lock(impl_->mutex);
  std::map<std::string, Impl::Entry> next;
  for (auto& c : list) {
    std::string key = c.spec.source.key();
    auto old = impl_->channels.find(key);
    Impl::Entry e;
    e.order = old != impl_->channels.end() ? old->second.order : impl_->next_order++;
    // A channel whose torrent changed (a URL's content did): the old torrent is released.
    if (old != impl_->channels.end() && old->second.channel.info_hash != c.info_hash) impl_->stop(old->second, true);
    e.channel = std::move(c);
    next.emplace(std::move(key), std::move(e));
  }
  for (auto& [k, e] : impl_->channels)
    if (!next.count(k)) impl_->stop(e, true);
  impl_->channels = std::move(next);
  size_t queued = impl_->schedule();
  spdlog::info("superpeer: {} channels ({} queued over SEED_MAX_CHANNELS)", impl_->channels.size(), queued);
}

SeederStats EngineSeeder::stats() {
  std::lock_guard lock(impl_->mutex);
  return {{impl_->worker_stats()}, {}};
}

std::optional<WorkerStats> EngineSeeder::stop(int pid) {
  std::lock_guard lock(impl_->mutex);
  if (pid != impl_->pid) return std::nullopt;
  if (impl_->running) {
    for (auto& [k, e] : impl_->channels) impl_->stop(e, false);
    impl_->running = false;
    spdlog::info("superpeer: worker {} stopped ({} channels)", pid, impl_->channels.size());
  }
  return impl_->worker_stats();
}

std::optional<WorkerStats> EngineSeeder::restart(int pid) {
  std::lock_guard lock(impl_->mutex);
  if (pid != impl_->pid) return std::nullopt;
  for (auto& [k, e] : impl_->channels) impl_->stop(e, false);
  impl_->running = true;
  impl_->started = std::time(nullptr);
  ++impl_->restarts;
  impl_->schedule();
  spdlog::info("superpeer: worker {} restarted ({} channels)", pid, impl_->channels.size());
  return impl_->worker_stats();
}

int EngineSeeder::configure(std::optional<double> bandwidth, std::optional<int> workers) {
  // The engine keeps the cap; /stats reads it back from there.
  if (bandwidth) {
    const uint64_t cap = upload_limit_share(bandwidth, 1);
    impl_->engine.set_upload_limit(cap);
    if (impl_->options.rtc) impl_->options.rtc->set_upload_limit(cap);
  }
  if (workers && *workers > 1)
    spdlog::warn("superpeer: /ping asked for {} workers; this server runs in single-process mode (workers=0)",
                 *workers);
  return 1;
}

}  // namespace seedcast::superpeer

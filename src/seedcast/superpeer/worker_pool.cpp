#include "seedcast/superpeer/worker_pool.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <condition_variable>
#include <ctime>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include "seedcast/catalog/catalog.hpp"
#include "seedcast/engine/engine.hpp"
#include "seedcast/superpeer/control.hpp"
#include "seedcast/superpeer/engine_seeder.hpp"
#include "seedcast/superpeer/process_stats.hpp"

extern char** environ;

namespace seedcast::superpeer {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kFirstBackoff{500};
constexpr milliseconds kMaxBackoff{30000};
constexpr auto kStable = std::chrono::seconds(60);  // a worker that lived this long restarts at once
constexpr auto kTermGrace = std::chrono::seconds(5);  // SIGTERM, then SIGKILL

}  // namespace

struct WorkerPool::Impl {
  engine::Engine* engine;
  const catalog::Catalog& catalog;
  WorkerPoolOptions options;
  EngineSeederOptions trackers;  // the server's signal1/signal2, for channel_options()

  mutable std::mutex mutex;  // guards everything below
  bool stopping = false;
  int wake_fd = -1;  // eventfd: interrupts the supervisor's poll
  std::thread supervisor;

  struct Entry {
    Channel channel;
    uint64_t order = 0;
    bool active = true;  // not queued over SEED_MAX_CHANNELS
    bool hot = false;    // seeded because the tracker sees many peers (SEED_HOT), not /seed
  };
  std::map<std::string, Entry> channels;  // by ChannelSource::key(): /seed's, then hot ones
  uint64_t next_order = 0;

  enum class State { starting, running, stopped, restarting };
  struct Slot {
    int index = 0;
    int pid = 0;  // the live one, or the last one
    int fd = -1;
    State state = State::restarting;
    int64_t started = 0;  // unix seconds
    int restarts = 0;
    Clock::time_point spawned{}, restart_at{};
    milliseconds backoff = kFirstBackoff;
    std::string outbox;
    LineBuffer in;
    std::optional<WorkerReport> report;
    std::optional<std::string> assigned_signature;  // of the assignment last sent
    std::set<InfoHash> assigned;
    CpuMeter cpu;
    double cpu_percent = 0;
    uint64_t rss = 0;
    bool live() const { return state == State::starting || state == State::running; }
  };
  std::vector<Slot> slots;
  struct Dying {
    int pid;
    Clock::time_point kill_at;
  };
  std::vector<Dying> dying;
  int target = 1;
  std::optional<double> bandwidth;
  // Offers relayed to workers' WebRTC peers, waiting for their answers (by id).
  struct PendingOffer {
    int pid;
    Clock::time_point deadline;
    std::function<void(std::string_view)> answer;
  };
  std::map<uint64_t, PendingOffer> offers;
  // Answers read, to hand back once the mutex is released (the tracker relays them).
  std::vector<std::pair<std::function<void(std::string_view)>, std::string>> answered;
  uint64_t next_offer = 1;
  // (pid, info-hash, browser) relayed lately: not relayed again for a minute.
  std::map<std::tuple<int, InfoHash, std::array<uint8_t, 20>>, Clock::time_point> offered;
  Clock::time_point last_report_request{}, last_hot{}, last_fetch{};

  Impl(engine::Engine* e, const catalog::Catalog& c, WorkerPoolOptions o)
      : engine(e), catalog(c), options(std::move(o)) {
    trackers.signal1 = options.signal1;
    trackers.signal2 = options.signal2;
    target = std::clamp(options.workers, 1, 64);
  }

  void wake() const {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
  }

  // ---- processes (caller holds the mutex)

  int peer_port_of(const Slot& s) const {
    return options.peer_port_base > 0 ? options.peer_port_base + 1 + s.index : 0;
  }
  int rtc_port_of(const Slot& s) const {
    return options.rtc_port_base > 0 ? options.rtc_port_base + 1 + s.index : options.rtc_port_base;
  }

  void spawn(Slot& s) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      spdlog::error("superpeer: cannot make a control socket: {}", std::strerror(errno));
      schedule_restart(s);
      return;
    }
    std::vector<std::string> args = {options.executable, "worker", "--control-fd", "3", "--peer-port",
                                     std::to_string(peer_port_of(s)), "--rtc-port", std::to_string(rtc_port_of(s))};
    args.insert(args.end(), options.args.begin(), options.args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 3);  // dup2 clears close-on-exec
    posix_spawn_file_actions_addclosefrom_np(&fa, 4);  // no listening socket of ours leaks
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD}) sigaddset(&defaults, sig);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    // Its own process group: a terminal's Ctrl-C reaches the master, which stops the workers.
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    pid_t pid = 0;
    int rc = ::posix_spawn(&pid, options.executable.c_str(), &fa, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    ::close(sv[1]);
    if (rc != 0) {
      ::close(sv[0]);
      spdlog::error("superpeer: cannot start a worker ({}): {}", options.executable, std::strerror(rc));
      schedule_restart(s);
      return;
    }
    ::fcntl(sv[0], F_SETFL, ::fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    s.pid = pid;
    s.fd = sv[0];
    s.state = State::starting;
    s.started = std::time(nullptr);
    s.spawned = Clock::now();
    s.outbox.clear();
    s.in = LineBuffer();
    s.report.reset();
    s.assigned_signature.reset();
    s.assigned.clear();
    s.cpu = CpuMeter();
    s.cpu_percent = 0;
    s.rss = 0;
    spdlog::info("superpeer: worker {} started (pid {})", s.index, pid);
  }

  void close_control(Slot& s) {
    if (s.fd >= 0) ::close(s.fd);
    s.fd = -1;
    s.assigned.clear();
    s.report.reset();
    // Its offers will not be answered; the browsers announce again and reach a live worker.
    for (auto it = offers.begin(); it != offers.end();) it = it->second.pid == s.pid ? offers.erase(it) : std::next(it);
  }

  // Asks the worker to end (SIGTERM; SIGKILL if it is still there after `grace`).
  void terminate(Slot& s, Clock::duration grace) {
    if (!s.live()) return;
    ::kill(s.pid, SIGTERM);
    dying.push_back({s.pid, Clock::now() + grace});
    close_control(s);
  }

  void schedule_restart(Slot& s) {
    const auto now = Clock::now();
    if (s.spawned != Clock::time_point{} && now - s.spawned >= kStable) s.backoff = kFirstBackoff;
    s.state = State::restarting;
    s.restart_at = now + s.backoff;
    s.backoff = std::min(kMaxBackoff, s.backoff * 2);
  }

  // The worker died or broke its control channel: it is killed (if still there) and started
  // again after the backoff.
  void lost(Slot& s, std::string_view why) {
    if (!s.live()) return;
    spdlog::warn("superpeer: worker {} (pid {}) {}; restarting it", s.index, s.pid, why);
    ::kill(s.pid, SIGKILL);
    dying.push_back({s.pid, Clock::now()});
    close_control(s);
    schedule_restart(s);
    ++s.restarts;
  }

  void reap() {
    for (auto& s : slots) {
      if (!s.live()) continue;
      int status = 0;
      if (::waitpid(s.pid, &status, WNOHANG) == s.pid) {
        std::string why = WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status))
                                              : "exited with status " + std::to_string(WEXITSTATUS(status));
        spdlog::warn("superpeer: worker {} (pid {}) {}; restarting it", s.index, s.pid, why);
        close_control(s);
        schedule_restart(s);
        ++s.restarts;
      }
    }
    const auto now = Clock::now();
    for (auto it = dying.begin(); it != dying.end();) {
      int status = 0;
      pid_t r = ::waitpid(it->pid, &status, WNOHANG);
      if (r == it->pid || (r < 0 && errno == ECHILD)) {
        it = dying.erase(it);
        continue;
      }
      if (now >= it->kill_at) ::kill(it->pid, SIGKILL);
      ++it;
    }
  }

  // ---- the control channel (caller holds the mutex)

  void read_from(Slot& s) {
    char buf[64 * 1024];
    for (;;) {
      ssize_t n = ::recv(s.fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        s.in.append(std::string_view(buf, static_cast<size_t>(n)));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n < 0 && errno == EINTR) continue;
      lost(s, n == 0 ? "closed its control socket" : "control socket failed");
      return;
    }
    if (s.in.overflow()) return lost(s, "sent an oversized control line");
    while (auto line = s.in.next()) {
      std::string why;
      auto m = decode_control(*line, &why);
      if (m && m->op == ControlMessage::Op::answer) {
        auto it = offers.find(m->answer.id);
        if (it == offers.end() || it->second.pid != s.pid) continue;  // late, or not its own
        if (!m->answer.sdp.empty()) answered.emplace_back(std::move(it->second.answer), std::move(m->answer.sdp));
        offers.erase(it);
        continue;
      }
      if (!m || m->op != ControlMessage::Op::report) {
        spdlog::warn("superpeer: worker {} sent a bad control message: {}", s.index, why);
        continue;
      }
      s.report = std::move(m->report);
      s.state = State::running;
    }
  }

  void flush(Slot& s) {
    while (s.live() && !s.outbox.empty()) {
      ssize_t n = ::send(s.fd, s.outbox.data(), s.outbox.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        s.outbox.erase(0, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (n < 0 && errno == EINTR) continue;
      return lost(s, "control socket failed");
    }
  }

  // ---- channels (caller holds the mutex)

  // The channel's data is complete on disk: workers can seed it.
  catalog::TorrentPtr ready(const InfoHash& h) const {
    auto t = catalog.find(h);
    if (!t) return nullptr;
    if (t->from_swarm() && !(engine && engine->serving(h))) return nullptr;
    return t;
  }

  void schedule_channels() {
    std::vector<Ranked> ranked;
    std::vector<Entry*> listed;
    for (auto& [k, e] : channels) {
      if (e.hot) continue;
      ranked.push_back({e.channel.spec.priority, e.order});
      listed.push_back(&e);
    }
    auto active = select_active(ranked, options.max_channels);
    for (size_t i = 0; i < listed.size(); ++i) listed[i]->active = active[i];
  }

  // The master's engine fetches the channels whose data is not complete yet (swarm torrents).
  void fetch_missing() {
    if (!engine) return;
    for (auto& [k, e] : channels) {
      if (!e.active || ready(e.channel.info_hash)) continue;
      engine::ChannelOptions o = channel_options(e.channel.spec, trackers, false);
      o.keep = true;  // held until complete and seeded: the workers read its data
      engine_start(*engine, catalog, e.channel, std::move(o));
    }
  }

  void release(const Entry& e) {
    if (!engine) return;
    auto t = catalog.find(e.channel.info_hash);
    const bool gateway = !t || t->from_swarm();
    if (!gateway) return;
    engine->release(e.channel.info_hash);
    if (e.channel.spec.no_use_disk_cache) engine->forget(e.channel.info_hash);
  }

  void refresh_hot() {
    std::map<std::string, Entry> next;
    for (auto& [k, e] : channels)
      if (!e.hot) next.emplace(k, std::move(e));
    if (options.hot > 0 && options.busiest) {
      for (const auto& h : options.busiest(options.hot)) {
        if (next.count(h.hex())) continue;
        auto t = catalog.find(h);
        if (!t || !ready(h)) continue;
        auto old = channels.find(h.hex());
        Entry e;
        e.order = old != channels.end() ? old->second.order : next_order++;
        e.hot = true;
        e.channel.info_hash = h;
        e.channel.spec.source.kind = ChannelSource::Kind::info_hash;
        e.channel.spec.source.info_hash = h;
        e.channel.spec.channel = base64_encode(h.hex());
        e.channel.spec.label = "hot: " + t->name;
        next.emplace(h.hex(), std::move(e));
      }
    }
    channels = std::move(next);
  }

  // Which channels each live worker seeds, and its share of the bandwidth; sends the
  // assignments that changed.
  void assign() {
    size_t live = 0;
    for (auto& s : slots) live += s.live() ? 1 : 0;
    const uint64_t upload_limit = upload_limit_share(bandwidth, live);  // 0 when none is live
    struct Pick {
      const Entry* entry;
      catalog::TorrentPtr torrent;
      std::vector<std::string> trackers;
    };
    std::vector<std::vector<Pick>> per(slots.size());
    if (live > 0) {
      const size_t want =
          options.channel_workers > 0 ? std::min(live, static_cast<size_t>(options.channel_workers)) : live;
      for (auto& [k, e] : channels) {
        if (!e.active) continue;
        auto t = ready(e.channel.info_hash);
        if (!t) continue;
        Pick p{&e, t, channel_options(e.channel.spec, trackers, false).trackers};
        // From the slot the channel's order names, the next live ones: channels spread, and a
        // dead worker's channels go to its neighbours.
        size_t picked = 0;
        for (size_t i = 0; i < slots.size() && picked < want; ++i) {
          size_t idx = (e.order + i) % slots.size();
          if (!slots[idx].live()) continue;
          per[idx].push_back(p);
          ++picked;
        }
      }
    }
    for (size_t i = 0; i < slots.size(); ++i) {
      Slot& s = slots[i];
      if (!s.live()) continue;
      // What the worker is told, without the info dictionaries: only a change is encoded.
      std::string signature = std::to_string(upload_limit) + "|";
      for (const auto& p : per[i]) {
        signature += p.torrent->info_hash.hex() + p.torrent->root + ":" +
                     std::to_string(p.entry->channel.spec.max_connections);
        for (const auto& t : p.trackers) signature += "," + t;
        signature += ";";
      }
      if (s.assigned_signature == signature) continue;
      s.assigned_signature = signature;
      s.assigned.clear();
      std::vector<WorkerChannel> list;
      for (auto& p : per[i]) {
        const catalog::Torrent& t = *p.torrent;
        std::vector<int64_t> mtimes;
        for (const auto& f : t.files) mtimes.push_back(f.mtime_ns);
        list.push_back({t.info_hash, t.name, t.multi_file, t.info, t.root, p.entry->channel.spec.max_connections,
                        std::move(p.trackers), std::move(mtimes)});
        s.assigned.insert(t.info_hash);
      }
      s.outbox += encode_assign(list, upload_limit);
    }
  }

  // ---- the supervisor

  void tick() {
    const auto now = Clock::now();
    for (auto& s : slots)
      if (s.live()) read_from(s);
    reap();
    if (!stopping) {
      while (static_cast<int>(slots.size()) < target) {
        slots.emplace_back();
        slots.back().index = static_cast<int>(slots.size()) - 1;
        spawn(slots.back());
      }
      while (static_cast<int>(slots.size()) > target) {
        terminate(slots.back(), kTermGrace);
        spdlog::info("superpeer: worker {} removed (/ping asked for {})", slots.back().index, target);
        slots.pop_back();
      }
      for (auto& s : slots) {
        if (s.state == State::restarting && now >= s.restart_at) spawn(s);
      }
    }
    if (now - last_hot >= std::chrono::seconds(10)) {
      last_hot = now;
      refresh_hot();
    }
    if (now - last_fetch >= std::chrono::seconds(5)) {
      last_fetch = now;
      fetch_missing();
    }
    assign();
    if (now - last_report_request >= std::chrono::seconds(1)) {
      last_report_request = now;
      for (auto& s : slots) {
        if (!s.live()) continue;
        s.outbox += encode_stats_request();
        if (auto p = sample_process(s.pid)) {
          s.cpu_percent = s.cpu.update(p->cpu_seconds, now);
          s.rss = p->rss;
        }
      }
    }
    for (auto it = offers.begin(); it != offers.end();) it = now > it->second.deadline ? offers.erase(it) : std::next(it);
    for (auto it = offered.begin(); it != offered.end();) it = now > it->second ? offered.erase(it) : std::next(it);
    for (auto& s : slots) flush(s);
  }

  void run() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      tick();
      std::vector<pollfd> fds;
      fds.push_back({wake_fd, POLLIN, 0});
      for (auto& s : slots)
        if (s.live() && s.fd >= 0)
          fds.push_back({s.fd, static_cast<short>(POLLIN | (s.outbox.empty() ? 0 : POLLOUT)), 0});
      auto answers = std::move(answered);
      answered.clear();
      lock.unlock();
      for (auto& [answer, sdp] : answers) answer(sdp);
      answers.clear();
      ::poll(fds.data(), fds.size(), 250);
      uint64_t n = 0;
      [[maybe_unused]] auto r = ::read(wake_fd, &n, sizeof n);
      lock.lock();
    }
  }

  // ---- stats (caller holds the mutex)

  const Entry* entry_of(const InfoHash& h) const {
    for (const auto& [k, e] : channels)
      if (e.channel.info_hash == h) return &e;
    return nullptr;
  }

  WorkerStats worker_stats(const Slot& s) const {
    WorkerStats w;
    w.pid = s.pid;
    switch (s.state) {
      case State::starting: w.state = "starting"; break;
      case State::running: w.state = "running"; break;
      case State::stopped: w.state = "stopped"; break;
      case State::restarting: w.state = "restarting"; break;
    }
    w.started = s.started;
    w.restarts = s.restarts;
    if (!s.live()) return w;
    w.cpu = s.cpu_percent;
    w.rss = s.rss;
    if (!s.report) return w;
    w.peer_port = s.report->peer_port;
    w.peers = s.report->peers;
    w.upload_limit = s.report->upload_limit;
    w.rtc_port = s.report->rtc_port;
    w.rtc_peers = s.report->rtc_peers;
    w.rtc_uploaded = s.report->rtc_uploaded;
    for (const auto& r : s.report->channels) {
      const Entry* e = entry_of(r.info_hash);
      if (!e || !s.assigned.count(r.info_hash)) continue;  // left since the report
      ChannelStats c = stats_of(e->channel);
      c.state = "seeding";
      c.peers = r.peers;
      c.uploaded = r.uploaded;
      c.upload_rate = r.upload_rate;
      c.progress = r.progress;
      c.connection_limit = r.connection_limit;
      c.rtc_peers = r.rtc_peers;
      c.rtc_uploaded = r.rtc_uploaded;
      c.pids.push_back(s.pid);
      w.uploaded += c.uploaded;
      w.upload_rate += c.upload_rate;
      w.channels.push_back(std::move(c));
    }
    return w;
  }

  SeederStats stats() const {
    SeederStats out;
    std::set<InfoHash> on_workers;
    for (const auto& s : slots) {
      out.workers.push_back(worker_stats(s));
      for (const auto& c : out.workers.back().channels) on_workers.insert(c.info_hash);
    }
    for (const auto& [k, e] : channels) {
      if (on_workers.count(e.channel.info_hash)) continue;
      ChannelStats c = stats_of(e.channel);
      std::optional<engine::TorrentStats> ts;
      if (engine && e.active && !ready(e.channel.info_hash)) ts = engine->torrent_stats(e.channel.info_hash);
      if (ts) {
        c.progress = ts->progress;
        c.peers = ts->peers;
        c.uploaded = ts->uploaded;
      }
      c.state = !e.active ? "queued" : ts ? "fetching" : "waiting";
      out.elsewhere.push_back(std::move(c));
    }
    return out;
  }

  Slot* find(int pid) {
    for (auto& s : slots)
      if (s.pid == pid) return &s;
    return nullptr;
  }
};

WorkerPool::WorkerPool(engine::Engine* engine, const catalog::Catalog& catalog, WorkerPoolOptions options)
    : impl_(std::make_unique<Impl>(engine, catalog, std::move(options))) {
  impl_->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (impl_->wake_fd < 0) throw std::runtime_error("superpeer: cannot make an eventfd");
  {
    std::lock_guard lock(impl_->mutex);
    impl_->tick();  // the workers start now
  }
  impl_->supervisor = std::thread([this] { impl_->run(); });
}

WorkerPool::~WorkerPool() {
  shutdown(std::chrono::seconds(5));
  if (impl_->wake_fd >= 0) ::close(impl_->wake_fd);
}

void WorkerPool::shutdown(std::chrono::milliseconds grace) {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->wake();
  if (impl_->supervisor.joinable()) impl_->supervisor.join();
  std::lock_guard lock(impl_->mutex);
  for (auto& s : impl_->slots) {
    impl_->terminate(s, grace);
    s.state = Impl::State::stopped;
  }
  const auto until = Clock::now() + grace + std::chrono::seconds(2);
  while (!impl_->dying.empty() && Clock::now() < until) {
    impl_->reap();
    std::this_thread::sleep_for(milliseconds(20));
  }
  for (const auto& d : impl_->dying) {
    ::kill(d.pid, SIGKILL);
    ::waitpid(d.pid, nullptr, 0);
  }
  impl_->dying.clear();
  spdlog::info("superpeer: workers stopped");
}

void WorkerPool::seed(std::vector<Channel> list) {
  std::lock_guard lock(impl_->mutex);
  auto& m = *impl_;
  std::map<std::string, Impl::Entry> next;
  for (auto& c : list) {
    std::string key = c.spec.source.key();
    auto old = m.channels.find(key);
    Impl::Entry e;
    e.order = old != m.channels.end() ? old->second.order : m.next_order++;
    if (old != m.channels.end() && old->second.channel.info_hash != c.info_hash) m.release(old->second);
    e.channel = std::move(c);
    next.emplace(std::move(key), std::move(e));
  }
  for (auto& [k, e] : m.channels)
    if (!next.count(k) && !e.hot) m.release(e);
  for (auto& [k, e] : m.channels)  // hot ones stay until the next refresh, unless listed now
    if (e.hot && !next.count(k)) next.emplace(k, std::move(e));
  m.channels = std::move(next);
  m.schedule_channels();
  m.fetch_missing();
  m.assign();
  for (auto& s : m.slots) m.flush(s);
  spdlog::info("superpeer: {} channels over {} workers", m.channels.size(), m.slots.size());
}

SeederStats WorkerPool::stats() {
  std::lock_guard lock(impl_->mutex);
  return impl_->stats();
}

std::optional<WorkerStats> WorkerPool::stop(int pid) {
  std::lock_guard lock(impl_->mutex);
  auto* s = impl_->find(pid);
  if (!s) return std::nullopt;
  if (s->live()) {
    impl_->terminate(*s, kTermGrace);
    spdlog::info("superpeer: worker {} (pid {}) stopped", s->index, pid);
  }
  s->state = Impl::State::stopped;
  impl_->assign();  // its channels go to the others
  for (auto& x : impl_->slots) impl_->flush(x);
  return impl_->worker_stats(*s);
}

std::optional<WorkerStats> WorkerPool::restart(int pid) {
  std::lock_guard lock(impl_->mutex);
  auto* s = impl_->find(pid);
  if (!s || impl_->stopping) return std::nullopt;
  impl_->terminate(*s, kTermGrace);
  s->backoff = kFirstBackoff;
  ++s->restarts;
  impl_->spawn(*s);
  impl_->assign();
  for (auto& x : impl_->slots) impl_->flush(x);
  impl_->wake();
  return impl_->worker_stats(*s);
}

int WorkerPool::configure(std::optional<double> bandwidth, std::optional<int> workers) {
  std::lock_guard lock(impl_->mutex);
  if (bandwidth) {
    impl_->bandwidth = bandwidth;
    impl_->assign();  // each live worker's share changes
    for (auto& s : impl_->slots) impl_->flush(s);
  }
  if (workers && *workers > 0) {
    impl_->target = std::clamp(*workers, 1, 64);
    impl_->wake();
  }
  return impl_->target;
}

std::vector<uint16_t> WorkerPool::ports(const InfoHash& h) const {
  std::vector<uint16_t> out;
  std::lock_guard lock(impl_->mutex);
  for (const auto& s : impl_->slots)
    if (s.state == Impl::State::running && s.report && s.report->peer_port && s.assigned.count(h))
      out.push_back(s.report->peer_port);
  return out;
}

std::vector<WorkerPool::RtcWorker> WorkerPool::rtc_workers(const InfoHash& h) const {
  std::vector<RtcWorker> out;
  std::lock_guard lock(impl_->mutex);
  for (const auto& s : impl_->slots) {
    if (s.state != Impl::State::running || !s.report || s.report->rtc_port == 0 || !s.assigned.count(h)) continue;
    auto id = InfoHash::from_hex(s.report->rtc_peer_id);
    if (!id) continue;
    RtcWorker w;
    w.pid = s.pid;
    std::copy(id->bytes().begin(), id->bytes().end(), w.peer_id.begin());
    out.push_back(w);
  }
  return out;
}

bool WorkerPool::rtc_wants(int pid, const InfoHash& h, const std::array<uint8_t, 20>& from) {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->offered.find({pid, h, from});
  return it == impl_->offered.end() || Clock::now() > it->second;
}

void WorkerPool::rtc_offer(int pid, const InfoHash& h, const std::array<uint8_t, 20>& from, std::string sdp,
                           std::string remote, std::string local, std::function<void(std::string_view)> answer) {
  std::lock_guard lock(impl_->mutex);
  Impl::Slot* s = impl_->find(pid);
  if (!s || s->state != Impl::State::running) return;
  if (impl_->offers.size() >= 4096) return;  // a flood: the answers are not coming anyway
  const auto now = Clock::now();
  impl_->offered[{pid, h, from}] = now + std::chrono::seconds(60);
  RtcOffer o;
  o.id = impl_->next_offer++;
  o.info_hash = h;
  o.from = InfoHash::from_bytes(reinterpret_cast<const char*>(from.data())).hex();
  o.sdp = std::move(sdp);
  o.remote = std::move(remote);
  o.local = std::move(local);
  impl_->offers[o.id] = {pid, now + std::chrono::seconds(10), std::move(answer)};
  s->outbox += encode_offer(o);
  impl_->wake();  // the supervisor writes it out now
}

}  // namespace seedcast::superpeer

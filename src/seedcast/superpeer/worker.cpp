#include "seedcast/superpeer/worker.hpp"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "seedcast/engine/engine.hpp"
#include "seedcast/superpeer/control.hpp"
#include "seedcast/superpeer/rtc_seed.hpp"

namespace seedcast::superpeer {
namespace {

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

catalog::TorrentPtr to_torrent(const WorkerChannel& c) {
  auto t = std::make_shared<catalog::Torrent>();
  if (auto full = engine::torrent_from_info(c.info, c.root); full && full->info_hash == c.info_hash) {
    *t = std::move(*full);
    // The master's file times: the WebRTC peer serves a file only while it is still the one hashed.
    for (size_t i = 0; i < t->files.size() && i < c.mtimes.size(); ++i) t->files[i].mtime_ns = c.mtimes[i];
  } else {
    spdlog::warn("worker {}: the info dictionary of {} does not read back", ::getpid(), c.info_hash.hex());
    t->info_hash = c.info_hash;
    t->info = c.info;
  }
  t->name = c.name;
  t->multi_file = c.multi_file;
  t->root = c.root;
  t->source = "channel";  // seeded from disk, as a library torrent is
  return t;
}

bool hex_to_id(const std::string& hex, PeerId& out) {
  auto h = InfoHash::from_hex(hex);  // 40 hex digits, like a peer id written in hex
  if (!h) return false;
  std::copy(h->bytes().begin(), h->bytes().end(), out.begin());
  return true;
}

std::string id_to_hex(const PeerId& id) { return InfoHash::from_bytes(reinterpret_cast<const char*>(id.data())).hex(); }

struct Worker {
  engine::Engine engine;
  std::vector<WorkerChannel> channels;
  std::vector<catalog::TorrentPtr> torrents;
  // What the WebRTC peer serves: the channels' torrents (it asks from its own thread too).
  mutable std::mutex mutex;
  std::unordered_map<InfoHash, catalog::TorrentPtr> by_hash;
  std::shared_ptr<RtcSeed> rtc;  // after the engine it reads pieces and the policy from

  explicit Worker(engine::Options o) : engine(std::move(o)) {}

  void start_rtc(const WorkerOptions& options) {
    if (options.rtc_port < 0) return;
    RtcSeedOptions ro;
    ro.endpoint.bind = options.rtc_bind.empty() ? std::vector<std::string>{options.listen_host} : options.rtc_bind;
    ro.endpoint.port = static_cast<uint16_t>(options.rtc_port);
    ro.endpoint.advertised = options.rtc_addresses;
    ro.endpoint.max_peers = static_cast<size_t>(options.rtc_max_peers);
    ro.endpoint.max_pending_per_source = static_cast<size_t>(options.rtc_pending_per_address);
    ro.endpoint.handshake_timeout = std::chrono::seconds(options.rtc_handshake_timeout);
    ro.max_pending_per_torrent = static_cast<size_t>(options.rtc_pending_per_torrent);
    ro.torrent = [this](const InfoHash& h) -> catalog::TorrentPtr {
      std::lock_guard lock(mutex);
      auto it = by_hash.find(h);
      return it == by_hash.end() || it->second->num_pieces == 0 ? nullptr : it->second;
    };
    ro.engine = &engine;
    rtc = std::make_shared<RtcSeed>(std::move(ro));
  }

  void assign(std::vector<WorkerChannel> next, uint64_t upload_limit) {
    if (engine.upload_limit() != upload_limit) {
      engine.set_upload_limit(upload_limit);
      spdlog::info("worker {}: upload capped at {} bytes/s (0: none)", ::getpid(), upload_limit);
    }
    if (rtc) rtc->set_upload_limit(upload_limit);  // the /ping cap covers both kinds of peer
    std::set<InfoHash> kept;
    for (const auto& c : next) kept.insert(c.info_hash);
    for (const auto& c : channels)
      if (!kept.count(c.info_hash)) engine.release(c.info_hash);
    channels = std::move(next);
    torrents.clear();
    for (const auto& c : channels) torrents.push_back(to_torrent(c));
    {
      std::lock_guard lock(mutex);
      by_hash.clear();
      for (const auto& t : torrents) by_hash[t->info_hash] = t;
    }
    engine.sync(torrents);  // adds the new ones in seed mode, removes the others
    for (const auto& c : channels) {
      engine::ChannelOptions o;
      o.max_connections = c.max_connections;
      o.trackers = c.trackers;
      o.keep = true;
      engine.hold(c.info_hash, std::move(o));
    }
    spdlog::info("worker {}: seeding {} channels", ::getpid(), channels.size());
  }

  std::string report() {
    engine.sync(torrents);  // keeps the engine's own bookkeeping (listen port, peers) fresh
    WorkerReport r;
    r.pid = static_cast<int>(::getpid());
    r.peer_port = engine.peer_port();
    r.peers = engine.stats().peers;
    r.upload_limit = engine.upload_limit();
    RtcSeed::Stats rs;
    if (rtc) {
      rs = rtc->stats();
      r.rtc_port = rtc->port();
      r.rtc_peer_id = id_to_hex(rtc->peer_id());
      r.rtc_peers = rs.peers;
      r.rtc_uploaded = rs.uploaded;
    }
    for (const auto& c : channels) {
      ChannelReport cr;
      cr.info_hash = c.info_hash;
      for (const auto& t : rs.torrents) {
        if (t.info_hash != c.info_hash) continue;
        cr.rtc_peers = t.peers;
        cr.rtc_uploaded = t.uploaded;
      }
      if (auto s = engine.torrent_stats(c.info_hash)) {
        cr.peers = s->peers;
        cr.uploaded = s->uploaded;
        cr.upload_rate = s->upload_rate;
        cr.progress = s->progress;
        cr.complete = s->complete;
        cr.connection_limit = s->connection_limit;
      }
      r.channels.push_back(cr);
    }
    return encode_report(r);
  }
};

}  // namespace

int run_worker(const WorkerOptions& options) {
  // The stop signals are taken by one thread; every other thread (the engine's) has them blocked.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGQUIT, SIGHUP}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  engine::Options eo;
  eo.listen_host = options.listen_host;
  eo.peer_port = options.peer_port;
  eo.seed = options.seed;
  // No cache_dir: a worker seeds complete data only; the master fetches from swarms.
  auto worker = std::make_unique<Worker>(std::move(eo));
  try {
    worker->start_rtc(options);
  } catch (const std::exception& e) {
    spdlog::error("worker {}: no WebRTC peer: {}", ::getpid(), e.what());
  }
  const int fd = options.control_fd;

  std::thread signals([set, fd] {
    int sig = 0;
    // SIGHUP: the master reloads settings and tells the workers what changed.
    while (sigwait(&set, &sig) == 0 && sig == SIGHUP) {
    }
    spdlog::info("worker {}: signal {}, stopping", ::getpid(), sig);
    ::shutdown(fd, SHUT_RDWR);  // wakes the reader below
  });
  signals.detach();  // it ends with the process

  spdlog::info("worker {}: started, peer port {}, WebRTC port {}", ::getpid(), worker->engine.peer_port(),
               worker->rtc ? std::to_string(worker->rtc->port()) : std::string("none"));
  if (!write_all(fd, worker->report())) return 1;
  LineBuffer lines;
  char buf[64 * 1024];
  int status = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the master is gone, or a signal shut the socket
    lines.append(std::string_view(buf, static_cast<size_t>(n)));
    if (lines.overflow()) {
      spdlog::error("worker {}: control line too long", ::getpid());
      status = 1;
      break;
    }
    bool ok = true;
    while (auto line = lines.next()) {
      std::string why;
      auto m = decode_control(*line, &why);
      if (!m) {
        spdlog::error("worker {}: bad control message: {}", ::getpid(), why);
        continue;
      }
      if (m->op == ControlMessage::Op::assign) {
        worker->assign(std::move(m->channels), m->upload_limit);
      } else if (m->op == ControlMessage::Op::stats) {
        ok = write_all(fd, worker->report());
      } else if (m->op == ControlMessage::Op::offer) {
        // Answered at once (ICE-lite); refused ("") when not seeded here, over a cap, or bad.
        RtcAnswer a{m->offer.id, ""};
        PeerId from{};
        if (worker->rtc && hex_to_id(m->offer.from, from)) {
          if (auto sdp = worker->rtc->answer(m->offer.info_hash, from, m->offer.sdp, m->offer.remote, m->offer.local))
            a.sdp = std::move(*sdp);
        }
        ok = write_all(fd, encode_answer(a));
      }
    }
    if (!ok) break;
  }
  worker.reset();  // the engine leaves its swarms
  spdlog::info("worker {}: stopped", ::getpid());
  return status;
}

}  // namespace seedcast::superpeer

#include "seedcast/engine/engine.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/settings_pack.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>
#include <sys/resource.h>

#include <atomic>
#include <mutex>
#include <set>
#include <unordered_map>

#include "seedcast/library/torrent_maker.hpp"

namespace seedcast::engine {

namespace {

// libtorrent caps connections_limit at 80% of the soft RLIMIT_NOFILE when the session starts, and
// services often start with a soft limit of 1024 (about 800 peers). Use the hard limit instead.
void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) return;
  rlim_t was = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  spdlog::debug("engine: file descriptor limit raised from {} to {}", was, rl.rlim_cur);
}

}  // namespace

struct Engine::Impl {
  std::unique_ptr<lt::session> session;
  std::atomic<uint16_t> port{0};  // cached: asking the session blocks on its network thread
  mutable std::mutex mutex;
  std::unordered_map<InfoHash, lt::torrent_handle> torrents;

  void drain_alerts() {
    std::vector<lt::alert*> alerts;
    session->pop_alerts(&alerts);
    for (lt::alert* a : alerts) {
      if (auto* l = lt::alert_cast<lt::listen_failed_alert>(a)) {
        spdlog::warn("engine: cannot listen: {}", l->message());
      } else if (auto* l = lt::alert_cast<lt::listen_succeeded_alert>(a)) {
        spdlog::info("engine: seeding to peers on {}", l->message());
      } else if (auto* h = lt::alert_cast<lt::hash_failed_alert>(a)) {
        spdlog::warn("engine: {} (the piece is not sent; the torrent is re-checked)", h->message());
      } else if (a->category() & lt::alert_category::error) {
        spdlog::warn("engine: {}", a->message());
      }
    }
  }
};

Engine::Engine(Options options) : impl_(std::make_unique<Impl>()) {
  lt::settings_pack s = lt::high_performance_seed();
  s.set_str(lt::settings_pack::listen_interfaces, options.listen_host + ":" + std::to_string(options.peer_port));
  s.set_int(lt::settings_pack::connections_limit, options.connections_limit);
  // The peer list holds every connected peer, and libtorrent refuses an incoming peer once it is
  // full (default 3000): it must be at least as large as the connection limit.
  s.set_int(lt::settings_pack::max_peerlist_size, options.connections_limit);
  s.set_int(lt::settings_pack::send_buffer_watermark, options.send_buffer_watermark);
  s.set_int(lt::settings_pack::send_buffer_low_watermark, options.send_buffer_watermark / 4);
  s.set_int(lt::settings_pack::send_not_sent_low_watermark, 64 * 1024);
  // A private CDN: peers come from our own tracker only. (libtorrent also turns DHT, LSD and
  // PEX off by itself for private torrents.)
  s.set_bool(lt::settings_pack::enable_dht, false);
  s.set_bool(lt::settings_pack::enable_lsd, false);
  s.set_bool(lt::settings_pack::enable_upnp, false);
  s.set_bool(lt::settings_pack::enable_natpmp, false);
  s.set_bool(lt::settings_pack::allow_multiple_connections_per_ip, true);  // viewers behind one NAT
  s.set_int(lt::settings_pack::alert_mask, lt::alert_category::error | lt::alert_category::status);
  s.set_str(lt::settings_pack::user_agent, "seedcast/0.1.0");
  s.set_str(lt::settings_pack::peer_fingerprint, "-SC0010-");
  raise_fd_limit();
  impl_->session = std::make_unique<lt::session>(lt::session_params(std::move(s)));
  // Peers on the LAN and loopback are in libtorrent's local peer class, whose
  // connection_limit_factor of 150 is meant to let them exceed connections_limit by half; 2.0.8
  // divides by it instead (limit * 100 / 150), so a LAN audience got only 2/3 of the connections.
  // Count them like everyone else.
  lt::peer_class_info local = impl_->session->get_peer_class(lt::session::local_peer_class_id);
  local.connection_limit_factor = 100;
  impl_->session->set_peer_class(lt::session::local_peer_class_id, local);
}

Engine::~Engine() {
  if (impl_->session) impl_->session->abort();
}

uint16_t Engine::peer_port() const { return impl_->port.load(std::memory_order_relaxed); }

void Engine::sync(const std::vector<catalog::TorrentPtr>& wanted) {
  std::lock_guard lock(impl_->mutex);
  std::set<InfoHash> keep;
  for (const auto& t : wanted) {
    keep.insert(t->info_hash);
    if (impl_->torrents.count(t->info_hash)) continue;
    std::string file = library::torrent_file(*t, {});
    lt::error_code ec;
    auto ti = std::make_shared<lt::torrent_info>(file.data(), static_cast<int>(file.size()), ec);
    if (ec) {
      spdlog::warn("engine: cannot read {}: {}", t->info_hash.hex(), ec.message());
      continue;
    }
    lt::add_torrent_params atp;
    atp.ti = std::move(ti);
    // A multi-file torrent's files are <save_path>/<name>/<path>; its root is <library>/<name>.
    atp.save_path = t->multi_file ? std::filesystem::path(t->root).parent_path().string() : t->root;
    atp.flags = lt::torrent_flags::seed_mode;  // not paused, not auto-managed: always seeding
    lt::torrent_handle h = impl_->session->add_torrent(std::move(atp), ec);
    if (ec) {
      spdlog::warn("engine: cannot seed {}: {}", t->name, ec.message());
      continue;
    }
    impl_->torrents.emplace(t->info_hash, h);
  }
  for (auto it = impl_->torrents.begin(); it != impl_->torrents.end();) {
    if (keep.count(it->first)) {
      ++it;
      continue;
    }
    impl_->session->remove_torrent(it->second);
    it = impl_->torrents.erase(it);
  }
  impl_->drain_alerts();
  impl_->port = impl_->session->is_listening() ? impl_->session->listen_port() : 0;
}

bool Engine::seeding(const InfoHash& h) const {
  std::lock_guard lock(impl_->mutex);
  return impl_->torrents.count(h) != 0;
}

Stats Engine::stats() const {
  Stats st;
  std::lock_guard lock(impl_->mutex);
  st.torrents = impl_->torrents.size();
  for (const auto& [h, handle] : impl_->torrents) {
    lt::torrent_status s = handle.status(lt::status_flags_t{});
    st.peers += static_cast<size_t>(s.num_peers);
    st.uploaded += static_cast<uint64_t>(s.total_payload_upload);
  }
  return st;
}

}  // namespace seedcast::engine

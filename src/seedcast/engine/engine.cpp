#include "seedcast/engine/engine.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/address.hpp>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/ip_filter.hpp>
#include <libtorrent/peer_info.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/settings_pack.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>
#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <unordered_map>

#include "seedcast/library/torrent_maker.hpp"

namespace seedcast::engine {

struct Engine::Impl {
  std::unique_ptr<lt::session> session;
  int upload_slots = 0;
  int unchoke_limit = -1;  // the session's unchoke_slots_limit as last set
  std::atomic<uint16_t> port{0};  // cached: asking the session blocks on its network thread
  mutable std::mutex mutex;
  std::unordered_map<InfoHash, lt::torrent_handle> torrents;
  // addresses of the peers connected (past the handshake) to each torrent, refreshed by sync();
  // its own mutex, so a webseed request never waits for a call into libtorrent
  mutable std::mutex peer_mutex;
  std::unordered_map<InfoHash, std::vector<std::string>> peer_ips;

  // One call for the statuses of the torrents that have peers, then their peer lists.
  void refresh_peer_ips() {
    std::vector<lt::torrent_status> with_peers = session->get_torrent_status(
        [](const lt::torrent_status& st) { return st.num_peers > 0; }, lt::status_flags_t{});
    std::unordered_map<InfoHash, std::vector<std::string>> ips;
    std::vector<lt::peer_info> peers;
    for (const auto& st : with_peers) {
      st.handle.get_peer_info(peers);
      auto& v = ips[InfoHash::from_bytes(st.info_hashes.v1.data())];
      for (const auto& p : peers) {
        if (p.flags & (lt::peer_info::connecting | lt::peer_info::handshake)) continue;
        auto a = p.ip.address();
        if (a.is_v6() && a.to_v6().is_v4_mapped()) a = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
        v.push_back(a.to_string());
      }
    }
    std::lock_guard lock(peer_mutex);
    peer_ips.swap(ips);
    // libtorrent's choker rotates the unchoked peers (round robin) only under a session-wide
    // limit; `upload_slots` per torrent with peers keeps every busy torrent its share.
    if (upload_slots > 0) {
      int limit = upload_slots * std::max<int>(1, static_cast<int>(with_peers.size()));
      if (limit != unchoke_limit) {
        lt::settings_pack sp;
        sp.set_int(lt::settings_pack::unchoke_slots_limit, limit);
        session->apply_settings(std::move(sp));
        unchoke_limit = limit;
      }
    }
  }

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
  impl_->upload_slots = options.upload_slots;
  lt::settings_pack s = lt::high_performance_seed();
  s.set_str(lt::settings_pack::listen_interfaces, options.listen_host + ":" + std::to_string(options.peer_port));
  s.set_int(lt::settings_pack::connections_limit, options.connections_limit);
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
  impl_->session = std::make_unique<lt::session>(lt::session_params(std::move(s)));
  // libtorrent puts peers on local networks (10/8, 192.168/16, 127/8, ...) in a peer class that
  // ignores unchoke slots and rate limits. A CDN seed treats every viewer alike, wherever it is.
  lt::ip_filter classes;
  const auto global = 1u << static_cast<std::uint32_t>(static_cast<int>(lt::session::global_peer_class_id));
  classes.add_rule(lt::make_address("0.0.0.0"), lt::make_address("255.255.255.255"), global);
  classes.add_rule(lt::make_address("::"), lt::make_address("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), global);
  impl_->session->set_peer_class_filter(classes);
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
    atp.max_uploads = impl_->upload_slots > 0 ? impl_->upload_slots : -1;
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
  impl_->refresh_peer_ips();
  impl_->drain_alerts();
  impl_->port = impl_->session->is_listening() ? impl_->session->listen_port() : 0;
}

bool Engine::seeding(const InfoHash& h) const {
  std::lock_guard lock(impl_->mutex);
  return impl_->torrents.count(h) != 0;
}

bool Engine::peer_connected(const InfoHash& h, std::string_view ip) const {
  if (ip.substr(0, 7) == "::ffff:") ip.remove_prefix(7);  // an IPv4 client on a dual-stack socket
  std::lock_guard lock(impl_->peer_mutex);
  auto it = impl_->peer_ips.find(h);
  if (it == impl_->peer_ips.end()) return false;
  for (const auto& a : it->second)
    if (a == ip) return true;
  return false;
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

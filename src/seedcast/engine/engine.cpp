#include "seedcast/engine/engine.hpp"

#include <spdlog/spdlog.h>

#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/address.hpp>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/announce_entry.hpp>
#include <libtorrent/magnet_uri.hpp>
#include <libtorrent/ip_filter.hpp>
#include <libtorrent/peer_info.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/settings_pack.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

#include "seedcast/core/text.hpp"
#include "seedcast/engine/detail/swarm_first_plugin.hpp"
#include "seedcast/library/torrent_maker.hpp"

namespace seedcast::engine {
namespace fs = std::filesystem;

namespace {

// A magnet URI through libtorrent, with its v1 info-hash checked: libtorrent 2.0.8 reads a
// btih value with a character that is not a hex digit as far as it can and pads it with zeros
// (…a26=9d80… becomes …a26000…), which would fetch a torrent nobody named. Every btih value
// must be 40 hex digits or 32 base32 characters; a hex one must be the info-hash libtorrent
// read.
result<lt::add_torrent_params> parse_magnet(std::string_view magnet) {
  lt::error_code ec;
  lt::add_torrent_params atp = lt::parse_magnet_uri(lt::string_view(magnet.data(), magnet.size()), ec);
  if (ec || !atp.info_hashes.has_v1()) return fail(make_error(errc::bad_info_hash));
  const InfoHash ih = InfoHash::from_bytes(atp.info_hashes.v1.data());
  size_t q = magnet.find('?');
  std::string_view query = q == std::string_view::npos ? std::string_view{} : magnet.substr(q + 1);
  bool named = false;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos || text::percent_decode(pair.substr(0, eq)) != "xt") continue;
    std::string v = text::percent_decode(pair.substr(eq + 1));
    if (v.size() < 9 || !text::iequals(std::string_view(v).substr(0, 9), "urn:btih:")) continue;
    std::string_view id = std::string_view(v).substr(9);
    bool base32 = id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
                    return std::isalpha(static_cast<unsigned char>(c)) || (c >= '2' && c <= '7');
                  });
    auto hex = id.size() == 40 ? InfoHash::from_hex(id) : std::nullopt;
    if (!base32 && !(hex && *hex == ih)) return fail(make_error(errc::bad_info_hash));
    named = true;
  }
  if (!named) return fail(make_error(errc::bad_info_hash));
  return atp;
}

constexpr std::string_view kSwarmSource = "swarm:";

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

InfoHash info_hash_of(const lt::torrent_handle& h) {
  lt::sha1_hash v1 = h.info_hashes().v1;
  return InfoHash::from_bytes(v1.data());
}

// The catalog's view of a torrent fetched into <cache>/<hex>.
catalog::Torrent to_catalog(const lt::torrent_info& ti, const InfoHash& ih, const std::string& save_path) {
  catalog::Torrent t;
  t.info_hash = ih;
  t.name = ti.name();
  const lt::file_storage& files = ti.orig_files();
  const std::string first = files.file_path(lt::file_index_t{0});
  t.multi_file = !(files.num_files() == 1 && first == t.name);
  for (lt::file_index_t i : files.file_range()) {
    if (files.pad_file_at(i)) continue;
    catalog::File f;
    f.path = files.file_path(i);
    if (t.multi_file && f.path.size() > t.name.size() && f.path.compare(0, t.name.size() + 1, t.name + "/") == 0)
      f.path.erase(0, t.name.size() + 1);
    f.length = static_cast<uint64_t>(files.file_size(i));
    f.offset = static_cast<uint64_t>(files.file_offset(i));
    t.files.push_back(std::move(f));
  }
  lt::span<char const> info = ti.info_section();
  t.info.assign(info.data(), static_cast<size_t>(info.size()));
  t.private_torrent = ti.priv();
  t.length = static_cast<uint64_t>(files.total_size());
  t.piece_length = static_cast<uint32_t>(ti.piece_length());
  t.num_pieces = static_cast<uint32_t>(ti.num_pieces());
  t.created = ti.creation_date() > 0 ? ti.creation_date() : std::time(nullptr);
  t.created_by = ti.creator();
  t.comment = ti.comment();
  t.source = std::string(kSwarmSource) + ih.hex();
  t.root = t.multi_file ? save_path + "/" + t.name : save_path;
  return t;
}

uint64_t disk_usage(const fs::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode))
      total += static_cast<uint64_t>(st.st_blocks) * 512;  // sparse files count what they hold
  }
  return total;
}
}  // namespace

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
  Options options;
  std::unique_ptr<lt::session> session;
  int unchoke_limit = -1;  // the session's unchoke_slots_limit as last set
  std::atomic<uint16_t> port{0};  // cached: asking the session blocks on its network thread
  mutable std::mutex mutex;
  std::unordered_map<InfoHash, lt::torrent_handle> seeds;
  // addresses of the peers connected (past the handshake) to each torrent, refreshed by sync();
  // its own mutex, so a webseed request never waits for a call into libtorrent
  mutable std::mutex peer_mutex;
  std::unordered_map<InfoHash, std::vector<std::string>> peer_ips;

  // One call for the statuses of the torrents that have peers, then their peer lists.
  void refresh_peer_ips() {
    if (!options.peer_addresses && options.seed.upload_slots == 0) return;  // nobody asks: spare the copies
    std::vector<lt::torrent_status> with_peers = session->get_torrent_status(
        [](const lt::torrent_status& st) { return st.num_peers > 0; }, lt::status_flags_t{});
    std::unordered_map<InfoHash, std::vector<std::string>> ips;
    std::vector<lt::peer_info> peers;
    for (const auto& st : with_peers) {
      if (!options.peer_addresses) break;
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
    if (options.seed.upload_slots > 0) {
      int limit = options.seed.upload_slots * std::max<int>(1, static_cast<int>(with_peers.size()));
      if (limit != unchoke_limit) {
        lt::settings_pack sp;
        sp.set_int(lt::settings_pack::unchoke_slots_limit, limit);
        session->apply_settings(std::move(sp));
        unchoke_limit = limit;
      }
    }
  }

  // A torrent fetched on demand.
  struct Swarm {
    lt::torrent_handle handle;
    bool has_metadata = false;
    std::vector<bool> have;  // verified pieces, and on disk
    // Verified, but libtorrent may still be writing them (it hashes from its store buffer):
    // they are had once a flush that was asked for after they passed completes.
    std::vector<uint32_t> verified, flushing;
    std::vector<std::function<void()>> metadata_waiters;
    std::unordered_multimap<uint32_t, std::function<void()>> piece_waiters;
    int64_t last_used = 0;
    int64_t added = 0;
    bool finished = false;  // a seed: every piece had (as of the last torrent_finished_alert)
  };
  std::unordered_map<InfoHash, Swarm> swarms;
  // Torrents held as super-peer channels (hold()).
  std::unordered_map<InfoHash, ChannelOptions> held;
  std::atomic<uint64_t> downloaded{0};
  std::shared_ptr<std::atomic<uint64_t>> refused = std::make_shared<std::atomic<uint64_t>>(0);
  // The swarm-first policy of each seeded torrent (SEED_COPIES), shared with the WebRTC seed.
  std::unordered_map<InfoHash, std::shared_ptr<SharedSwarmFirst>> policies;
  std::atomic<uint64_t> cache_bytes{0};
  int64_t last_cache_check = 0;
  bool fast_tick = false;  // tick_for_swarms()

  std::thread alert_thread;
  std::atomic<bool> stopping{false};

  std::string save_path(const InfoHash& h) const { return options.cache_dir + "/" + h.hex(); }

  // A held gateway torrent that is not paused wants every piece. Caller holds the mutex.
  bool wants_all(const InfoHash& h) const {
    auto it = held.find(h);
    return it != held.end() && !it->second.paused;
  }

  // Applies a channel's options to its torrent; `want_all` for a gateway torrent with metadata
  // puts every piece at normal priority. Caller holds the mutex.
  static void apply(const lt::torrent_handle& h, const ChannelOptions& o, bool want_all) {
    h.set_max_connections(o.max_connections > 0 ? std::max(2, o.max_connections) : -1);
    for (const auto& url : o.trackers) h.add_tracker(lt::announce_entry(url));
    if (o.paused) {
      h.pause(lt::torrent_handle::graceful_pause);
      return;
    }
    const bool was_paused = static_cast<bool>(h.flags() & lt::torrent_flags::paused);
    if (want_all) {
      if (auto ti = h.torrent_file())
        h.prioritize_pieces(
            std::vector<lt::download_priority_t>(static_cast<size_t>(ti->num_pieces()), lt::default_priority));
    }
    if (was_paused) {
      h.resume();
      h.force_reannounce();  // tell the trackers at once that the seed is back
    }
  }

  static void wake_all(Swarm& s, std::vector<std::function<void()>>& out) {
    for (auto& w : s.metadata_waiters) out.push_back(std::move(w));
    s.metadata_waiters.clear();
    for (auto& [p, w] : s.piece_waiters) out.push_back(std::move(w));
    s.piece_waiters.clear();
  }

  // Marks had pieces and collects the waiters they release. Caller holds the mutex.
  static void refresh(Swarm& s, const lt::typed_bitfield<lt::piece_index_t>& pieces,
                      std::vector<std::function<void()>>& out) {
    if (s.have.size() < static_cast<size_t>(pieces.size())) s.have.resize(static_cast<size_t>(pieces.size()));
    for (int i = 0; i < pieces.size(); ++i)
      if (pieces.get_bit(lt::piece_index_t{i})) s.have[static_cast<size_t>(i)] = true;
    for (auto it = s.piece_waiters.begin(); it != s.piece_waiters.end();) {
      if (it->first < s.have.size() && s.have[it->first]) {
        out.push_back(std::move(it->second));
        it = s.piece_waiters.erase(it);
      } else {
        ++it;
      }
    }
  }

  void connect_tracker_peers(const InfoHash& ih, const lt::torrent_handle& h) {
    if (!options.tracker_peers) return;
    const uint16_t self = port.load();
    for (const auto& p : options.tracker_peers(ih)) {
      if (p.port == self) continue;  // the engine announced itself (the torrent lists our tracker)
      lt::error_code ec;
      auto addr = lt::make_address(p.ip, ec);
      if (ec || p.port == 0) continue;
      spdlog::debug("engine: {} meets {}:{}", ih.hex(), p.ip, p.port);
      // TCP: HTTP-tracker peers are native clients, and many have uTP off (libtorrent would try
      // uTP first and wait for a time-out).
      h.connect_peer(lt::tcp::endpoint(addr, p.port), lt::peer_info::tracker, lt::pex_encryption);
    }
  }

  // Adds a gateway torrent. Caller holds the mutex.
  result<InfoHash> add_swarm(lt::add_torrent_params atp, const InfoHash& ih) {
    if (options.cache_dir.empty()) return fail(make_error(errc::not_found));
    if (seeds.count(ih)) return ih;
    if (auto it = swarms.find(ih); it != swarms.end()) {
      it->second.last_used = now_s();
      return ih;
    }
    atp.save_path = save_path(ih);
    atp.flags &= ~(lt::torrent_flags::paused | lt::torrent_flags::auto_managed | lt::torrent_flags::seed_mode);
    const bool has_metadata = atp.ti != nullptr;
    if (has_metadata)  // nothing is fetched until a viewer asks for it (or a channel wants it)
      atp.piece_priorities.assign(static_cast<size_t>(atp.ti->num_pieces()),
                                  wants_all(ih) ? lt::default_priority : lt::dont_download);
    lt::error_code ec;
    lt::torrent_handle h = session->add_torrent(std::move(atp), ec);
    if (ec) return fail(error_code(ec.value(), boost::system::generic_category()));
    Swarm& s = swarms[ih];
    s.handle = h;
    s.has_metadata = has_metadata;
    s.last_used = s.added = now_s();
    if (has_metadata) s.have.assign(static_cast<size_t>(h.torrent_file()->num_pieces()), false);
    std::error_code fec;
    fs::create_directories(save_path(ih), fec);
    if (auto hit = held.find(ih); hit != held.end()) apply(h, hit->second, false);
    connect_tracker_peers(ih, h);
    tick_for_swarms();
    return ih;
  }

  // libtorrent issues deadline (time-critical) requests and dials new peers once a tick: 500 ms
  // by default, which a seek waits for. While the gateway fetches, tick every 100 ms; a seed
  // alone keeps the default (a tick visits every peer). Caller holds the mutex.
  void tick_for_swarms() {
    const bool fast = !swarms.empty();
    if (fast == fast_tick) return;
    fast_tick = fast;
    lt::settings_pack p;
    p.set_int(lt::settings_pack::tick_interval, fast ? 100 : 500);
    session->apply_settings(std::move(p));
  }

  void remove_swarm(std::unordered_map<InfoHash, Swarm>::iterator it, bool delete_files,
                    std::vector<std::function<void()>>& wake) {
    session->remove_torrent(it->second.handle, delete_files ? lt::session::delete_files : lt::remove_flags_t{});
    wake_all(it->second, wake);
    swarms.erase(it);
    tick_for_swarms();
  }

  void on_alerts() {
    std::vector<lt::alert*> alerts;
    session->pop_alerts(&alerts);
    std::vector<std::function<void()>> wake;
    std::vector<catalog::Torrent> arrived;
    {
      std::lock_guard lock(mutex);
      for (lt::alert* a : alerts) handle(a, wake, arrived);
    }
    for (const auto& t : arrived)
      if (options.on_metadata) options.on_metadata(t);
    for (auto& w : wake) w();
  }

  void handle(lt::alert* a, std::vector<std::function<void()>>& wake, std::vector<catalog::Torrent>& arrived) {
    if (auto* p = lt::alert_cast<lt::piece_finished_alert>(a)) {
      auto it = swarms.find(info_hash_of(p->handle));
      if (it == swarms.end()) return;
      Swarm& s = it->second;
      s.verified.push_back(static_cast<uint32_t>(static_cast<int>(p->piece_index)));
      if (s.flushing.empty()) {
        s.flushing.swap(s.verified);
        s.handle.flush_cache();
      }
    } else if (auto* f = lt::alert_cast<lt::cache_flushed_alert>(a)) {
      auto it = swarms.find(info_hash_of(f->handle));
      if (it == swarms.end()) return;
      Swarm& s = it->second;
      for (uint32_t piece : s.flushing) {
        if (piece >= s.have.size()) s.have.resize(piece + 1);
        s.have[piece] = true;
        auto [b, e] = s.piece_waiters.equal_range(piece);
        for (auto w = b; w != e; ++w) wake.push_back(std::move(w->second));
        s.piece_waiters.erase(b, e);
      }
      s.flushing.clear();
      if (!s.verified.empty()) {
        s.flushing.swap(s.verified);
        s.handle.flush_cache();
      }
    } else if (auto* m = lt::alert_cast<lt::metadata_received_alert>(a)) {
      InfoHash ih = info_hash_of(m->handle);
      auto it = swarms.find(ih);
      if (it == swarms.end()) return;
      auto ti = m->handle.torrent_file();
      if (!ti) return;
      Swarm& s = it->second;
      s.has_metadata = true;
      s.have.assign(static_cast<size_t>(ti->num_pieces()), false);
      std::vector<lt::download_priority_t> prio(static_cast<size_t>(ti->num_pieces()),
                                                wants_all(ih) ? lt::default_priority : lt::dont_download);
      // Until a viewer's request sets its pieces (at once when one waits for this metadata), the
      // head of the largest file stays wanted: a connection that becomes uninteresting says so
      // and leaves libtorrent's slow start, and its first second then runs with 2 requests in
      // flight (no download rate measured yet), one round trip per 32 KiB (44 ms on loopback in
      // bench/gateway_ttfb.sh: a delayed ACK, by its length). A player asks for the head first
      // anyway.
      if (!wants_all(ih) && ti->num_files() > 0) {
        const lt::file_storage& fs = ti->files();
        lt::file_index_t largest{0};
        for (lt::file_index_t f : fs.file_range())
          if (fs.file_size(f) > fs.file_size(largest)) largest = f;
        if (fs.file_size(largest) > 0)
          prio[static_cast<size_t>(static_cast<int>(ti->map_file(largest, 0, 1).piece))] = lt::low_priority;
      }
      m->handle.prioritize_pieces(prio);
      arrived.push_back(to_catalog(*ti, ih, save_path(ih)));
      spdlog::info("engine: metadata of {} ({}) arrived from the swarm", ih.hex(), ti->name());
      for (auto& w : s.metadata_waiters) wake.push_back(std::move(w));
      s.metadata_waiters.clear();
    } else if (auto* c = lt::alert_cast<lt::torrent_checked_alert>(a)) {
      auto it = swarms.find(info_hash_of(c->handle));
      if (it == swarms.end()) return;
      lt::torrent_status st = c->handle.status(lt::torrent_handle::query_pieces);
      refresh(it->second, st.pieces, wake);
    } else if (auto* fin = lt::alert_cast<lt::torrent_finished_alert>(a)) {
      auto it = swarms.find(info_hash_of(fin->handle));
      // Finished means every wanted piece: only a seed has them all.
      if (it != swarms.end()) it->second.finished = fin->handle.status(lt::status_flags_t{}).is_seeding;
    } else if (auto* d = lt::alert_cast<lt::torrent_deleted_alert>(a)) {
      // forget(): libtorrent deleted the files (a write in flight may have come after our
      // first clean-up); now the folder goes.
      InfoHash ih = InfoHash::from_bytes(d->info_hashes.v1.data());
      if (!swarms.count(ih)) {
        std::error_code ec;
        fs::remove_all(save_path(ih), ec);
      }
    } else if (auto* h = lt::alert_cast<lt::hash_failed_alert>(a)) {
      spdlog::warn("engine: {} (the piece is not sent; it is fetched again)", h->message());
    } else if (auto* l = lt::alert_cast<lt::listen_failed_alert>(a)) {
      spdlog::warn("engine: cannot listen: {}", l->message());
    } else if (auto* l = lt::alert_cast<lt::listen_succeeded_alert>(a)) {
      spdlog::info("engine: BitTorrent peers connect on {}", l->message());
    } else if (a->category() & lt::alert_category::error) {
      spdlog::warn("engine: {}", a->message());
    } else {
      spdlog::debug("engine: {}", a->message());
    }
  }

  // Deletes the least recently used cached torrents that are not in use until the caches fit
  // their budget. A torrent's directory's mtime is its last use. Caller holds the mutex.
  void enforce_budget() {
    if (options.cache_dir.empty()) return;
    struct Entry {
      fs::path dir;
      fs::file_time_type used;
      uint64_t bytes;
      std::optional<InfoHash> hash;  // none: not a torrent's folder (a fetch under way): kept
      bool fetched;                  // in cache_dir (the gateway's), else in a budget_dir
    };
    std::vector<Entry> entries;
    uint64_t total = 0, fetched_total = 0;
    auto scan = [&](const std::string& root, bool fetched) {
      std::error_code ec;
      for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code tec;
        Entry e{it->path(), fs::last_write_time(it->path(), tec), disk_usage(it->path()),
                InfoHash::from_hex(it->path().filename().string()), fetched};
        if (!it->is_directory(tec)) e.hash.reset();
        total += e.bytes;
        if (fetched) fetched_total += e.bytes;
        entries.push_back(std::move(e));
      }
    };
    scan(options.cache_dir, true);
    for (const auto& d : options.budget_dirs) scan(d, false);
    cache_bytes = fetched_total;
    if (options.cache_max_bytes == 0 || total <= options.cache_max_bytes) return;
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.used < b.used; });
    for (const auto& e : entries) {
      if (total <= options.cache_max_bytes) break;
      if (!e.hash || held.count(*e.hash) || (e.fetched && swarms.count(*e.hash))) continue;
      if (!e.fetched) {
        if (auto it = seeds.find(*e.hash); it != seeds.end()) {
          session->remove_torrent(it->second);
          policies.erase(it->first);
          seeds.erase(it);
        }
        if (options.on_evict) options.on_evict(*e.hash);
      }
      std::error_code rec;
      fs::remove_all(e.dir, rec);
      if (rec) continue;
      spdlog::info("engine: cache over budget, dropped {} ({} bytes)", e.dir.string(), e.bytes);
      total -= e.bytes;
      if (e.fetched) fetched_total -= e.bytes;
    }
    cache_bytes = fetched_total;
  }
};

Engine::Engine(Options options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  if (impl_->options.seed.copies > 0 && impl_->options.seed.upload_slots > 0) {
    // Swarm-first seeding chokes and unchokes peers itself; libtorrent's choker would undo it.
    spdlog::warn("engine: SEED_COPIES is set, SEED_SLOTS={} is ignored", impl_->options.seed.upload_slots);
    impl_->options.seed.upload_slots = 0;
  }
  const Options& o = impl_->options;
  lt::settings_pack s = lt::high_performance_seed();
  s.set_str(lt::settings_pack::listen_interfaces, o.listen_host + ":" + std::to_string(o.peer_port));
  s.set_int(lt::settings_pack::connections_limit, o.connections_limit);
  // The peer list holds every connected peer, and libtorrent refuses an incoming peer once it is
  // full (default 3000): it must be at least as large as the connection limit.
  s.set_int(lt::settings_pack::max_peerlist_size, o.connections_limit);
  s.set_int(lt::settings_pack::send_buffer_watermark, o.send_buffer_watermark);
  s.set_int(lt::settings_pack::send_buffer_low_watermark, o.send_buffer_watermark / 4);
  s.set_int(lt::settings_pack::send_not_sent_low_watermark, 64 * 1024);
  // A private CDN: peers come from our own tracker. libtorrent turns DHT, LSD and PEX off by
  // itself for private torrents; the DHT is for public swarms the gateway fetches, if wanted.
  s.set_bool(lt::settings_pack::enable_dht, o.dht);
  s.set_bool(lt::settings_pack::enable_lsd, false);
  s.set_bool(lt::settings_pack::enable_upnp, false);
  s.set_bool(lt::settings_pack::enable_natpmp, false);
  s.set_bool(lt::settings_pack::allow_multiple_connections_per_ip, true);  // viewers behind one NAT
  // Outgoing connections (gateway swarms, tracker peers) start in plain text: libtorrent's
  // default tries an encrypted handshake first and, with a peer that has no MSE (WebTorrent in
  // Node, simple clients), connects a second time only at a later attempt. Incoming peers may
  // still encrypt.
  s.set_int(lt::settings_pack::out_enc_policy, lt::settings_pack::pe_disabled);
  // The gateway dials peers over TCP: uTP first would wait out a time-out for every native
  // client that has uTP off. Incoming uTP is still accepted.
  s.set_bool(lt::settings_pack::enable_outgoing_utp, false);
  // A gateway torrent wants nothing between two requests, so libtorrent calls it finished and
  // would close its connections to seeds as redundant; peers that came from a magnet's tracker
  // are then only dialled again after min_reconnect_time (60 s), and the next seek stalls.
  s.set_bool(lt::settings_pack::close_redundant_connections, false);
  lt::alert_category_t alerts = lt::alert_category::error | lt::alert_category::status |
                                lt::alert_category::piece_progress | lt::alert_category::storage;
  // A diagnostic, not a setting: every peer connection's log at LOG_LEVEL=debug.
  if (std::getenv("SEEDCAST_ENGINE_TRACE"))
    alerts |= lt::alert_category::connect | lt::alert_category::peer | lt::alert_category::peer_log;
  s.set_int(lt::settings_pack::alert_mask, alerts);
  // Swarm-first seeding steers what peers ask for with its own suggestions only.
  if (o.seed.copies > 0) s.set_int(lt::settings_pack::suggest_mode, lt::settings_pack::no_piece_suggestions);
  s.set_str(lt::settings_pack::user_agent, "seedcast/0.1.0");
  s.set_str(lt::settings_pack::peer_fingerprint, "-SC0010-");
  raise_fd_limit();
  impl_->session = std::make_unique<lt::session>(lt::session_params(std::move(s)));
  // libtorrent puts peers on local networks (10/8, 192.168/16, 127/8, ...) in a peer class that
  // ignores unchoke slots and rate limits (and, in 2.0.8, gets only 2/3 of connections_limit:
  // it divides by its connection_limit_factor). A CDN seed treats every viewer alike.
  lt::ip_filter classes;
  const auto global = 1u << static_cast<std::uint32_t>(static_cast<int>(lt::session::global_peer_class_id));
  classes.add_rule(lt::make_address("0.0.0.0"), lt::make_address("255.255.255.255"), global);
  classes.add_rule(lt::make_address("::"), lt::make_address("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), global);
  impl_->session->set_peer_class_filter(classes);
  impl_->alert_thread = std::thread([impl = impl_.get()] {
    while (!impl->stopping.load()) {
      impl->session->wait_for_alert(std::chrono::milliseconds(250));
      impl->on_alerts();
    }
  });
}

Engine::~Engine() {
  impl_->stopping = true;
  if (impl_->alert_thread.joinable()) impl_->alert_thread.join();
  std::vector<std::function<void()>> wake;
  {
    std::lock_guard lock(impl_->mutex);
    for (auto& [h, s] : impl_->swarms) Impl::wake_all(s, wake);
  }
  for (auto& w : wake) w();
  if (impl_->session) impl_->session->abort();
}

uint16_t Engine::peer_port() const { return impl_->port.load(std::memory_order_relaxed); }

void Engine::sync(const std::vector<catalog::TorrentPtr>& wanted) {
  std::vector<std::function<void()>> wake;
  {
    std::lock_guard lock(impl_->mutex);
    std::set<InfoHash> keep;
    for (const auto& t : wanted) {
      if (t->from_swarm()) continue;
      keep.insert(t->info_hash);
      if (impl_->seeds.count(t->info_hash)) continue;
      std::string file = library::torrent_file(*t, {});
      lt::error_code ec;
      auto ti = std::make_shared<lt::torrent_info>(file.data(), static_cast<int>(file.size()), ec);
      if (ec) {
        spdlog::warn("engine: cannot read {}: {}", t->info_hash.hex(), ec.message());
        continue;
      }
      lt::add_torrent_params atp;
      if (const SeedPolicy& o = impl_->options.seed; o.copies > 0) {
        SwarmFirstOptions so;
        so.copies = o.copies;
        so.starve_ms = o.starve_ms;
        so.urgent_pieces = o.urgent_pieces;
        so.rate = o.bitrate / 8;
        so.lead_ms = o.lead_ms;
        so.piece_length = static_cast<uint32_t>(ti->piece_length());
        auto policy = std::make_shared<SharedSwarmFirst>(static_cast<uint32_t>(ti->num_pieces()), so);
        impl_->policies[t->info_hash] = policy;
        atp.extensions.push_back(detail::swarm_first_plugin(std::move(policy), impl_->refused));
      }
      atp.ti = std::move(ti);
      // A multi-file torrent's files are <save_path>/<name>/<path>; its root is <library>/<name>.
      atp.save_path = t->multi_file ? fs::path(t->root).parent_path().string() : t->root;
      atp.flags = lt::torrent_flags::seed_mode;  // not paused, not auto-managed: always seeding
      atp.max_uploads = impl_->options.seed.upload_slots > 0 ? impl_->options.seed.upload_slots : -1;
      lt::torrent_handle h = impl_->session->add_torrent(std::move(atp), ec);
      if (ec) {
        spdlog::warn("engine: cannot seed {}: {}", t->name, ec.message());
        continue;
      }
      impl_->seeds.emplace(t->info_hash, h);
      if (auto hit = impl_->held.find(t->info_hash); hit != impl_->held.end()) Impl::apply(h, hit->second, false);
    }
    for (auto it = impl_->seeds.begin(); it != impl_->seeds.end();) {
      if (keep.count(it->first)) {
        ++it;
        continue;
      }
      impl_->session->remove_torrent(it->second);
      impl_->policies.erase(it->first);
      it = impl_->seeds.erase(it);
    }
    // Gateway torrents: unused ones leave the engine (their verified data stays in the cache);
    // the used ones meet the peers our tracker knows.
    const int64_t now = now_s();
    for (auto it = impl_->swarms.begin(); it != impl_->swarms.end();) {
      // A channel is in use while it serves peers or still fetches; a keepAlive one always.
      if (auto hit = impl_->held.find(it->first); hit != impl_->held.end()) {
        if (hit->second.keep) {
          impl_->connect_tracker_peers(it->first, it->second.handle);
          ++it;
          continue;
        }
        if (!hit->second.paused) {
          lt::torrent_status st = it->second.handle.status(lt::status_flags_t{});
          if (st.num_peers > 0 || !st.is_finished) it->second.last_used = now;
        }
      }
      const bool waited_on = !it->second.piece_waiters.empty() || !it->second.metadata_waiters.empty();
      if (!waited_on && now - it->second.last_used > impl_->options.lifetime) {
        spdlog::info("engine: {} unused for {} s, leaving the engine", it->first.hex(), impl_->options.lifetime);
        auto next = std::next(it);
        impl_->remove_swarm(it, false, wake);
        it = next;
        continue;
      }
      impl_->connect_tracker_peers(it->first, it->second.handle);
      ++it;
    }
    if (now - impl_->last_cache_check >= 10) {
      impl_->last_cache_check = now;
      impl_->enforce_budget();
    }
    impl_->port = impl_->session->is_listening() ? impl_->session->listen_port() : 0;
  }
  impl_->refresh_peer_ips();
  for (auto& w : wake) w();
}

bool Engine::seeding(const InfoHash& h) const {
  std::lock_guard lock(impl_->mutex);
  return impl_->seeds.count(h) != 0;
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

void Engine::set_upload_limit(uint64_t bytes_per_second) {
  lt::settings_pack p;
  p.set_int(lt::settings_pack::upload_rate_limit,
            static_cast<int>(std::min<uint64_t>(bytes_per_second, std::numeric_limits<int>::max())));
  impl_->session->apply_settings(std::move(p));
}

uint64_t Engine::upload_limit() const {
  const int limit = impl_->session->get_settings().get_int(lt::settings_pack::upload_rate_limit);
  return static_cast<uint64_t>(std::max(0, limit));
}

Stats Engine::stats() const {
  Stats st;
  std::lock_guard lock(impl_->mutex);
  st.torrents = impl_->seeds.size();
  for (const auto& [h, handle] : impl_->seeds) {
    lt::torrent_status s = handle.status(lt::status_flags_t{});
    st.peers += static_cast<size_t>(s.num_peers);
    st.uploaded += static_cast<uint64_t>(s.total_payload_upload);
  }
  st.fetching = impl_->swarms.size();
  for (const auto& [h, sw] : impl_->swarms) {
    lt::torrent_status s = sw.handle.status(lt::status_flags_t{});
    st.peers += static_cast<size_t>(s.num_peers);
    st.uploaded += static_cast<uint64_t>(s.total_payload_upload);
    st.downloaded += static_cast<uint64_t>(s.total_payload_download);
  }
  st.cache_bytes = impl_->cache_bytes.load();
  st.refused = impl_->refused->load(std::memory_order_relaxed);
  return st;
}

result<InfoHash> Engine::add_magnet(std::string_view magnet) {
  auto parsed = parse_magnet(magnet);
  if (!parsed) return fail(parsed.error());
  lt::add_torrent_params atp = std::move(*parsed);
  InfoHash ih = InfoHash::from_bytes(atp.info_hashes.v1.data());
  std::lock_guard lock(impl_->mutex);
  return impl_->add_swarm(std::move(atp), ih);
}

result<InfoHash> Engine::add_info_hash(const InfoHash& h) {
  lt::add_torrent_params atp;
  atp.info_hashes.v1 = lt::sha1_hash(reinterpret_cast<const char*>(h.bytes().data()));
  std::lock_guard lock(impl_->mutex);
  return impl_->add_swarm(std::move(atp), h);
}

result<InfoHash> Engine::add_torrent_file(std::string_view bytes) {
  lt::error_code ec;
  auto ti = std::make_shared<lt::torrent_info>(bytes.data(), static_cast<int>(bytes.size()), ec);
  if (ec || !ti->info_hashes().has_v1()) return fail(make_error(errc::bad_info_hash));
  InfoHash ih = InfoHash::from_bytes(ti->info_hashes().v1.data());
  catalog::Torrent t = to_catalog(*ti, ih, impl_->save_path(ih));
  lt::add_torrent_params atp;
  atp.ti = ti;
  for (const auto& tr : ti->trackers()) atp.trackers.push_back(tr.url);
  result<InfoHash> r;
  {
    std::lock_guard lock(impl_->mutex);
    r = impl_->add_swarm(std::move(atp), ih);
  }
  if (r && impl_->options.on_metadata) impl_->options.on_metadata(t);
  return r;
}

void Engine::activate(const catalog::Torrent& t) {
  std::lock_guard lock(impl_->mutex);
  std::error_code ec;
  fs::last_write_time(impl_->save_path(t.info_hash), fs::file_time_type::clock::now(), ec);  // LRU order
  if (auto it = impl_->swarms.find(t.info_hash); it != impl_->swarms.end()) {
    it->second.last_used = now_s();
    return;
  }
  std::string file = library::torrent_file(t, {});
  lt::error_code lec;
  auto ti = std::make_shared<lt::torrent_info>(file.data(), static_cast<int>(file.size()), lec);
  if (lec) return;
  lt::add_torrent_params atp;
  atp.ti = std::move(ti);
  if (impl_->add_swarm(std::move(atp), t.info_hash))
    spdlog::info("engine: fetching {} ({}) again", t.info_hash.hex(), t.name);
}

bool Engine::fetching(const InfoHash& h) const {
  std::lock_guard lock(impl_->mutex);
  return impl_->swarms.count(h) != 0;
}

void Engine::wait_metadata(const InfoHash& h, std::function<void()> wake) {
  {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->swarms.find(h);
    if (it != impl_->swarms.end() && !it->second.has_metadata) {
      it->second.metadata_waiters.push_back(std::move(wake));
      return;
    }
  }
  wake();
}

bool Engine::have_piece(const InfoHash& h, uint32_t piece) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->swarms.find(h);
  return it != impl_->swarms.end() && piece < it->second.have.size() && it->second.have[piece];
}

void Engine::request(const InfoHash& h, uint32_t first, uint32_t last, int deadline_ms, int step_ms) {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->swarms.find(h);
  if (it == impl_->swarms.end() || !it->second.has_metadata) return;
  Impl::Swarm& s = it->second;
  s.last_used = now_s();
  int deadline = deadline_ms;
  bool missing = false;
  for (uint32_t p = first; p <= last && p < s.have.size(); ++p) {
    if (s.have[p]) continue;
    lt::piece_index_t i{static_cast<int>(p)};
    s.handle.piece_priority(i, lt::top_priority);
    s.handle.set_piece_deadline(i, deadline);
    deadline += step_ms;
    missing = true;
  }
  // Seeds drop us while we want nothing (libtorrent says "upload only" once every wanted piece
  // is had), so meet them again now rather than at the next sync.
  if (missing) impl_->connect_tracker_peers(h, s.handle);
}

void Engine::wait_piece(const InfoHash& h, uint32_t piece, std::function<void()> wake) {
  {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->swarms.find(h);
    if (it != impl_->swarms.end() && !(piece < it->second.have.size() && it->second.have[piece])) {
      it->second.piece_waiters.emplace(piece, std::move(wake));
      return;
    }
  }
  wake();
}

void Engine::forget(const InfoHash& h) {
  std::vector<std::function<void()>> wake;
  {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->swarms.find(h);
    if (it != impl_->swarms.end()) impl_->remove_swarm(it, true, wake);
    if (!impl_->options.cache_dir.empty()) {
      std::error_code ec;
      fs::remove_all(impl_->save_path(h), ec);  // libtorrent deletes the files, not our folder
    }
  }
  for (auto& w : wake) w();
}


void Engine::hold(const InfoHash& h, ChannelOptions options) {
  std::lock_guard lock(impl_->mutex);
  ChannelOptions& o = impl_->held[h] = std::move(options);
  if (auto it = impl_->seeds.find(h); it != impl_->seeds.end()) {
    Impl::apply(it->second, o, false);
  } else if (auto sw = impl_->swarms.find(h); sw != impl_->swarms.end()) {
    sw->second.last_used = now_s();
    Impl::apply(sw->second.handle, o, sw->second.has_metadata);
  }
}

void Engine::release(const InfoHash& h) {
  std::lock_guard lock(impl_->mutex);
  if (impl_->held.erase(h) == 0) return;
  lt::torrent_handle handle;
  if (auto it = impl_->seeds.find(h); it != impl_->seeds.end()) {
    handle = it->second;
  } else if (auto sw = impl_->swarms.find(h); sw != impl_->swarms.end()) {
    handle = sw->second.handle;
    sw->second.last_used = now_s();  // its lifetime starts now
  }
  if (handle.is_valid()) Impl::apply(handle, ChannelOptions{}, false);
}

std::optional<TorrentStats> Engine::torrent_stats(const InfoHash& h) const {
  lt::torrent_handle handle;
  {
    std::lock_guard lock(impl_->mutex);
    if (auto it = impl_->seeds.find(h); it != impl_->seeds.end())
      handle = it->second;
    else if (auto sw = impl_->swarms.find(h); sw != impl_->swarms.end())
      handle = sw->second.handle;
  }
  if (!handle.is_valid()) return std::nullopt;
  lt::torrent_status s = handle.status(lt::status_flags_t{});
  TorrentStats st;
  st.has_metadata = s.has_metadata;
  auto ti = handle.torrent_file();
  st.complete = s.is_seeding || (ti && s.num_pieces == ti->num_pieces());
  st.paused = static_cast<bool>(s.flags & lt::torrent_flags::paused);
  st.peers = static_cast<size_t>(s.num_peers);
  st.uploaded = static_cast<uint64_t>(s.total_payload_upload);
  st.upload_rate = static_cast<uint64_t>(std::max(0, s.upload_payload_rate));
  st.progress = s.progress;
  const int limit = handle.max_connections();
  st.connection_limit = limit > 0 && limit < (1 << 24) - 1 ? limit : 0;  // 2^24-1: libtorrent's "unlimited"
  return st;
}

bool Engine::serving(const InfoHash& h) const {
  std::lock_guard lock(impl_->mutex);
  if (impl_->seeds.count(h)) return true;
  auto sw = impl_->swarms.find(h);
  return sw != impl_->swarms.end() && sw->second.finished && impl_->wants_all(h);
}


result<InfoHash> magnet_info_hash(std::string_view magnet) {
  auto atp = parse_magnet(magnet);
  if (!atp) return fail(atp.error());
  return InfoHash::from_bytes(atp->info_hashes.v1.data());
}

std::shared_ptr<SharedSwarmFirst> Engine::swarm_policy(const InfoHash& h) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->policies.find(h);
  return it == impl_->policies.end() ? nullptr : it->second;
}

uint64_t Engine::refused() const { return impl_->refused->load(std::memory_order_relaxed); }

void Engine::count_refused() { impl_->refused->fetch_add(1, std::memory_order_relaxed); }

result<catalog::Torrent> torrent_from_info(std::string_view info, const std::string& root) {
  std::string file = "d4:info";
  file.append(info);
  file.push_back('e');
  lt::error_code ec;
  lt::torrent_info ti(file.data(), static_cast<int>(file.size()), ec);
  if (ec || !ti.info_hashes().has_v1()) return fail(make_error(errc::bad_info_hash));
  catalog::Torrent t = to_catalog(ti, InfoHash::from_bytes(ti.info_hashes().v1.data()), root);
  t.root = root;  // to_catalog appends the name for multi-file torrents
  return t;
}

result<InfoHash> torrent_file_info_hash(std::string_view bytes) {
  lt::error_code ec;
  lt::torrent_info ti(bytes.data(), static_cast<int>(bytes.size()), ec);
  if (ec || !ti.info_hashes().has_v1()) return fail(make_error(errc::bad_info_hash));
  return InfoHash::from_bytes(ti.info_hashes().v1.data());
}

}  // namespace seedcast::engine

#include "seedcast/superpeer/rtc_seed.hpp"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "seedcast/engine/engine.hpp"
#include "seedcast/engine/swarm_first.hpp"
#include "seedcast/wire/seed_connection.hpp"

namespace seedcast::superpeer {
namespace {

constexpr size_t kMessage = 64 * 1024;      // the largest data-channel message we send
constexpr size_t kHighWater = 512 * 1024;   // a channel with this much unacknowledged stops pumping
constexpr size_t kPumpBudget = 128 * 1024;  // bytes served per connection per turn

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

PeerId make_peer_id() {
  static const char* alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  PeerId id{};
  const char prefix[] = "-SC0100-";  // seedcast 0.1.0 (Azureus-style)
  std::copy(prefix, prefix + 8, id.begin());
  uint8_t r[12];
  RAND_bytes(r, sizeof r);
  for (int i = 0; i < 12; ++i) id[8 + i] = static_cast<uint8_t>(alphabet[r[i] % 62]);
  return id;
}

// "host:port", "[v6]:port" or a bare host → the host.
std::string host_of(const std::string& local) {
  if (!local.empty() && local.front() == '[') {
    size_t end = local.find(']');
    return end == std::string::npos ? local : local.substr(1, end - 1);
  }
  size_t colon = local.rfind(':');
  if (colon != std::string::npos && local.find(':') == colon) return local.substr(0, colon);
  return local;
}

}  // namespace

class RtcConnection;

struct RtcSeed::Impl : std::enable_shared_from_this<RtcSeed::Impl> {
  RtcSeedOptions options;
  PeerId id = make_peer_id();
  std::unique_ptr<rtc::Endpoint> endpoint;

  // Any thread.
  mutable std::mutex mutex;
  std::set<std::pair<InfoHash, PeerId>> busy;      // connecting or connected
  std::unordered_map<InfoHash, size_t> pending;    // answered, no channel yet
  std::map<InfoHash, TorrentStats> torrents;       // live counts
  std::multiset<std::pair<InfoHash, std::string>> addresses;  // connected browsers' IPs
  std::atomic<uint64_t> limit{0};                  // bytes/s; 0: none
  std::atomic<uint64_t> uploaded{0};

  // rtc thread only.
  std::unordered_map<RtcConnection*, std::shared_ptr<RtcConnection>> connections;
  // The swarm-first policies this seed takes part in (the engine's, shared), with our owner id
  // in each and our peers there.
  struct Policy {
    std::shared_ptr<engine::SharedSwarmFirst> shared;
    engine::SharedSwarmFirst::Owner owner = 0;
    std::unordered_map<engine::SwarmFirst::Peer, std::weak_ptr<RtcConnection>> peers;
  };
  std::unordered_map<InfoHash, Policy> policies;
  int64_t last_policy_tick = 0;
  int64_t last_join = 0;
  // The policy of `h` to join, or nullptr (no SEED_COPIES, or not a torrent the engine seeds).
  Policy* policy(const InfoHash& h);
  std::vector<std::weak_ptr<RtcConnection>> starved;  // waiting for upload tokens
  int64_t tokens = 0;
  int64_t last_refill = 0;

  void tick(int64_t now);
  // Bytes this turn may send under the upload cap; `want` when there is none.
  size_t allowance(size_t want) const {
    if (limit.load(std::memory_order_relaxed) == 0) return want;
    return tokens <= 0 ? 0 : std::min<size_t>(want, static_cast<size_t>(tokens));
  }
  void spend(size_t n) {
    if (limit.load(std::memory_order_relaxed) != 0) tokens -= static_cast<int64_t>(n);
  }
  void done(const InfoHash& h, const PeerId& from, bool was_open);
};

// One browser's data channel and the wire connection over it. rtc thread only.
class RtcConnection final : public rtc::DataChannel::Handler,
                            public wire::SeedConnection::Host,
                            public std::enable_shared_from_this<RtcConnection> {
 public:
  RtcConnection(RtcSeed::Impl& seed, const InfoHash& h, const PeerId& from, catalog::TorrentPtr torrent,
                std::shared_ptr<rtc::DataChannel> channel)
      : seed_(seed), h_(h), from_(from), torrent_(std::move(torrent)), channel_(std::move(channel)) {
    wt_.info_hash = torrent_->info_hash;
    wt_.num_pieces = torrent_->num_pieces;
    wt_.piece_length = torrent_->piece_length;
    wt_.total_length = torrent_->length;
    wt_.info = torrent_->info;
    files_.resize(torrent_->files.size());
    peer_has_.assign(torrent_->num_pieces, false);
    conn_ = std::make_unique<wire::SeedConnection>(wt_, seed_.id, *this, wire::SeedConnection::Options{});
  }

  void start() {
    channel_->set_handler(this);
    join_policy();
    spdlog::debug("rtc seed: a browser of {} joined{}", h_.hex(), policy_ ? " (swarm-first)" : "");
    conn_->start();
    flush();
  }

  // Joins the torrent's swarm-first policy when the engine has one (it may appear after the
  // browser came: the engine seeds a library torrent once it is indexed), telling it what the
  // peer said so far.
  void join_policy() {
    if (policy_ || finished_) return;
    auto* p = seed_.policy(h_);
    if (!p) return;
    policy_ = p->shared;
    const int64_t now = now_ms();
    peer_ = policy_->connect(p->owner, now);
    p->peers[peer_] = weak_from_this();
    told_fast_ = false;
    tell_fast();
    policy_->with([&](engine::SwarmFirst& s) {
      if (!peer_has_.empty()) s.bitfield(peer_, peer_has_, now);
      if (peer_interested_) s.interested(peer_, true);
      if (conn_->handshaken() && !conn_->choked()) s.unchoked(peer_);
    });
  }
  bool in_policy() const { return policy_ != nullptr; }

  // What the shared policy decided for this peer at its tick.
  void apply(const engine::SwarmFirst::Action& a) {
    if (finished_) return;
    for (uint32_t piece : a.suggest) conn_->suggest(piece);
    if (a.unchoke && conn_->choked() && conn_->peer_interested()) conn_->unchoke();
    flush();
    pump();
  }

  // Closes the channel and forgets this connection (deferred: we may be inside its calls).
  void finish() {
    if (finished_) return;
    finished_ = true;
    leave_policy();
    channel_->set_handler(nullptr);
    channel_->close();
    seed_.done(h_, from_, true);
    auto self = shared_from_this();
    seed_.endpoint->post([self] { self->seed_.connections.erase(self.get()); });
  }

  // Serves queued requests while the channel and the upload cap allow.
  void pump() {
    if (finished_) return;
    while (conn_->has_queued() && channel_->buffered() + pending_out() < kHighWater) {
      size_t budget = seed_.allowance(kPumpBudget);
      if (budget == 0) {
        seed_.starved.push_back(weak_from_this());
        break;
      }
      size_t before = conn_->uploaded();
      conn_->pump(budget);
      size_t sent = static_cast<size_t>(conn_->uploaded() - before);
      seed_.spend(sent);
      account(sent);
      flush();
      if (!out_.empty()) break;  // the channel is full: on_writable resumes
      if (sent == 0) break;
    }
  }

  // ---- rtc::DataChannel::Handler
  void on_message(std::span<const uint8_t> message, bool binary) override {
    if (finished_) return;
    if (!conn_->receive(message)) {
      spdlog::debug("rtc seed: {} broke the peer wire; closing", h_.hex());
      flush();
      return finish();
    }
    flush();
    pump();
  }
  void on_writable() override {
    flush();
    pump();
  }
  void on_closed(error_code why) override {
    spdlog::debug("rtc seed: a browser of {} left: {}", h_.hex(), why.message());
    if (finished_) return;
    finished_ = true;
    leave_policy();
    seed_.done(h_, from_, true);
    auto self = shared_from_this();
    seed_.endpoint->post([self] { self->seed_.connections.erase(self.get()); });
  }

  // ---- wire::SeedConnection::Host
  void send(std::string_view bytes) override { out_.append(bytes); }
  bool have(uint32_t piece) override {
    if (!torrent_->from_swarm()) return piece < torrent_->num_pieces;
    return seed_.options.engine && seed_.options.engine->have_piece(h_, piece);
  }
  bool read(uint32_t piece, uint32_t offset, std::span<uint8_t> out) override;
  // Swarm-first: the request counts in the policy the engine's BitTorrent peers share.
  wire::Verdict allow(uint32_t piece) override {
    if (!policy_) return wire::Verdict::serve;
    tell_fast();
    const auto v = policy_->with([&](engine::SwarmFirst& p) { return p.request(peer_, piece, now_ms()); });
    if (v == engine::SwarmFirst::Verdict::serve) return wire::Verdict::serve;
    if (seed_.options.engine) seed_.options.engine->count_refused();
    return v == engine::SwarmFirst::Verdict::refuse ? wire::Verdict::refuse : wire::Verdict::refuse_and_choke;
  }
  void peer_have(uint32_t piece) override {
    if (piece < peer_has_.size()) peer_has_[piece] = true;
    tell([&](engine::SwarmFirst& p) { p.have(peer_, piece, now_ms()); });
  }
  void peer_bitfield(const std::vector<bool>& pieces) override {
    if (pieces.size() == peer_has_.size()) peer_has_ = pieces;
    tell([&](engine::SwarmFirst& p) { p.bitfield(peer_, pieces, now_ms()); });
  }
  void peer_have_all() override {
    peer_has_.assign(peer_has_.size(), true);
    tell([&](engine::SwarmFirst& p) { p.have_all(peer_, now_ms()); });
  }
  void peer_have_none() override {
    peer_has_.assign(peer_has_.size(), false);
    tell([&](engine::SwarmFirst& p) { p.have_none(peer_, now_ms()); });
  }
  void peer_interested(bool on) override {
    peer_interested_ = on;
    tell([&](engine::SwarmFirst& p) { p.interested(peer_, on); });
  }
  void peer_choked(bool choked) override {
    tell([&](engine::SwarmFirst& p) { choked ? p.choked(peer_) : p.unchoked(peer_); });
  }
  void request_done() override {
    tell([&](engine::SwarmFirst& p) { p.dequeued(peer_); });
  }

 private:
  template <class F>
  void tell(F&& f) {
    if (!policy_) return;
    tell_fast();
    policy_->with(std::forward<F>(f));
  }
  // The policy refuses a peer with the fast extension by a reject, another by a choke.
  void tell_fast() {
    if (told_fast_ || !conn_->handshaken()) return;
    told_fast_ = true;
    policy_->with([&](engine::SwarmFirst& p) { p.fast(peer_, conn_->fast()); });
  }
  void forget_address() {
    std::lock_guard lock(seed_.mutex);
    auto it = seed_.addresses.find({h_, channel_->remote().ip_string()});
    if (it != seed_.addresses.end()) seed_.addresses.erase(it);
  }
  void leave_policy() {
    forget_address();
    if (!policy_) return;
    policy_->disconnect(peer_);
    if (auto it = seed_.policies.find(h_); it != seed_.policies.end()) it->second.peers.erase(peer_);
    policy_.reset();
  }
  size_t pending_out() const { return out_.size() - out_at_; }
  // Hands what the wire wrote to the channel as messages of at most kMessage bytes.
  void flush() {
    const size_t max = std::min(kMessage, channel_->max_message_size());
    while (out_at_ < out_.size()) {
      size_t n = std::min(max, out_.size() - out_at_);
      if (!channel_->send(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(out_.data()) + out_at_, n))) break;
      out_at_ += n;
    }
    if (out_at_ == out_.size()) {
      out_.clear();
      out_at_ = 0;
    } else if (out_at_ > (1u << 20)) {
      out_.erase(0, out_at_);
      out_at_ = 0;
    }
  }
  void account(size_t n) {
    if (n == 0) return;
    seed_.uploaded.fetch_add(n, std::memory_order_relaxed);
    std::lock_guard lock(seed_.mutex);
    seed_.torrents[h_].uploaded += n;
  }

  RtcSeed::Impl& seed_;
  InfoHash h_;
  PeerId from_;
  catalog::TorrentPtr torrent_;
  std::shared_ptr<rtc::DataChannel> channel_;
  wire::Torrent wt_;
  std::unique_ptr<wire::SeedConnection> conn_;
  std::vector<std::shared_ptr<FileHandle>> files_;  // opened when first read
  std::string out_;
  size_t out_at_ = 0;
  bool finished_ = false;
  std::shared_ptr<engine::SharedSwarmFirst> policy_;  // null: every request is served
  engine::SwarmFirst::Peer peer_ = 0;
  bool told_fast_ = false;
  std::vector<bool> peer_has_;  // what the peer said it has, for a policy joined late
  bool peer_interested_ = false;
};

bool RtcConnection::read(uint32_t piece, uint32_t offset, std::span<uint8_t> out) {
  const catalog::Torrent& t = *torrent_;
  if (piece >= t.num_pieces) return false;
  uint64_t pos = uint64_t{piece} * t.piece_length + offset;
  if (pos + out.size() > t.length) return false;
  const bool fetched = t.from_swarm();
  // A fetched torrent's bytes only once libtorrent verified their piece; a library file's only
  // while it is still the file that was hashed.
  if (fetched && !have(piece)) return false;
  auto it = std::upper_bound(t.files.begin(), t.files.end(), pos,
                             [](uint64_t p, const catalog::File& f) { return p < f.offset; });
  size_t i = static_cast<size_t>(std::distance(t.files.begin(), it)) - 1;
  size_t done = 0;
  while (done < out.size()) {
    if (i >= t.files.size()) return false;
    const catalog::File& f = t.files[i];
    const uint64_t in_file = pos + done - f.offset;
    if (in_file >= f.length) {
      ++i;
      continue;
    }
    auto& fh = files_[i];
    if (!fh) fh = FileHandle::open(t.disk_path(f));
    if (!fh) return false;
    if (!fetched) {
      FileStat st;
      if (!fh->current(st) || !f.unchanged(st)) return false;
    }
    size_t n = static_cast<size_t>(std::min<uint64_t>(out.size() - done, f.length - in_file));
    ssize_t got = ::pread(fh->fd(), out.data() + done, n, static_cast<off_t>(in_file));
    if (got != static_cast<ssize_t>(n)) return false;
    done += n;
    ++i;
  }
  return true;
}

void RtcSeed::Impl::done(const InfoHash& h, const PeerId& from, bool was_open) {
  std::lock_guard lock(mutex);
  if (busy.erase({h, from}) && was_open) {
    auto it = torrents.find(h);
    if (it != torrents.end() && it->second.peers > 0) --it->second.peers;
  }
}

RtcSeed::Impl::Policy* RtcSeed::Impl::policy(const InfoHash& h) {
  auto shared = options.engine ? options.engine->swarm_policy(h) : nullptr;
  auto it = policies.find(h);
  if (!shared) {
    if (it != policies.end() && it->second.peers.empty()) policies.erase(it);
    return nullptr;
  }
  if (it != policies.end() && it->second.shared == shared) return &it->second;
  // New, or the engine made a new one (the torrent was seeded again): join it.
  Policy& p = policies[h];
  p.shared = std::move(shared);
  p.owner = p.shared->new_owner();
  p.peers.clear();
  return &p;
}

void RtcSeed::Impl::tick(int64_t now) {
  if (now - last_policy_tick >= 250) {
    last_policy_tick = now;
    if (now - last_join >= 2000) {  // the engine's policies appear as it seeds (rarely)
      last_join = now;
      for (auto& [_, c] : connections)
        if (!c->in_policy()) c->join_policy();
    }
    for (auto& [h, p] : policies) {
      for (const auto& a : p.shared->tick(p.owner, now)) {
        auto it = p.peers.find(a.peer);
        if (it == p.peers.end()) continue;
        if (auto c = it->second.lock()) c->apply(a);
      }
    }
  }
  const uint64_t cap = limit.load(std::memory_order_relaxed);
  if (cap == 0) {
    tokens = 0;
    last_refill = now;
  } else {
    const int64_t elapsed = last_refill == 0 ? 10 : std::min<int64_t>(now - last_refill, 1000);
    last_refill = now;
    // At most a tenth of a second's worth saved up: the cap holds over short spans too.
    tokens = std::min<int64_t>(tokens + static_cast<int64_t>(cap) * elapsed / 1000, static_cast<int64_t>(cap / 10 + 16384));
  }
  if (starved.empty() || (cap != 0 && tokens <= 0)) return;
  auto waiting = std::move(starved);
  starved.clear();
  for (auto& w : waiting)
    if (auto c = w.lock()) c->pump();
}

RtcSeed::RtcSeed(RtcSeedOptions options) : impl_(std::make_shared<Impl>()) {
  impl_->options = std::move(options);
  impl_->endpoint = std::make_unique<rtc::Endpoint>(impl_->options.endpoint);
  impl_->endpoint->on_tick([w = std::weak_ptr<Impl>(impl_)](int64_t now) {
    if (auto impl = w.lock()) impl->tick(now);
  });
}

RtcSeed::~RtcSeed() {
  // The endpoint's thread ends first (no callback after), then the connections go.
  impl_->endpoint.reset();
  impl_->connections.clear();
}

const PeerId& RtcSeed::peer_id() const { return impl_->id; }
uint16_t RtcSeed::port() const { return impl_->endpoint->port(); }

bool RtcSeed::wants_offer(const InfoHash& h, const PeerId& from) {
  auto& m = *impl_;
  if (!m.options.torrent || !m.options.torrent(h)) return false;
  std::lock_guard lock(m.mutex);
  if (m.busy.count({h, from})) return false;
  auto it = m.pending.find(h);
  return it == m.pending.end() || it->second < m.options.max_pending_per_torrent;
}

result<std::string> RtcSeed::answer(const InfoHash& h, const PeerId& from, std::string_view offer_sdp,
                                    const std::string& remote, const std::string& local) {
  auto& m = *impl_;
  catalog::TorrentPtr t = m.options.torrent ? m.options.torrent(h) : nullptr;
  if (!t || t->num_pieces == 0) return fail(rtc::make_error(rtc::errc::closed));
  {
    std::lock_guard lock(m.mutex);
    size_t& p = m.pending[h];
    if (m.busy.count({h, from}) || p >= m.options.max_pending_per_torrent) {
      if (p == 0) m.pending.erase(h);
      return fail(rtc::make_error(rtc::errc::too_many_peers));
    }
    ++p;
    m.busy.insert({h, from});
  }
  // Whether the offer's channel opened: the pending count drops once either way.
  auto opened = std::make_shared<bool>(false);
  auto unpend = [w = std::weak_ptr<Impl>(impl_), h] {
    auto impl = w.lock();
    if (!impl) return;
    std::lock_guard lock(impl->mutex);
    auto it = impl->pending.find(h);
    if (it != impl->pending.end() && --it->second == 0) impl->pending.erase(it);
  };
  rtc::OfferContext ctx;
  ctx.source = remote;
  ctx.local_address = host_of(local);
  ctx.on_channel = [w = std::weak_ptr<Impl>(impl_), h, from, t, opened, unpend](std::shared_ptr<rtc::DataChannel> c) {
    auto impl = w.lock();
    if (!impl) return;
    if (*opened) {  // WebTorrent opens one channel; another on the same connection is not ours
      c->close();
      return;
    }
    *opened = true;
    unpend();
    {
      std::lock_guard lock(impl->mutex);
      auto& s = impl->torrents[h];
      s.info_hash = h;
      ++s.peers;
    }
    {
      std::lock_guard lock(impl->mutex);
      impl->addresses.insert({h, c->remote().ip_string()});
    }
    auto conn = std::make_shared<RtcConnection>(*impl, h, from, t, std::move(c));
    impl->connections.emplace(conn.get(), conn);
    conn->start();
  };
  ctx.on_end = [w = std::weak_ptr<Impl>(impl_), h, from, opened, unpend](error_code) {
    auto impl = w.lock();
    if (!impl) return;
    if (!*opened) {
      unpend();
      impl->done(h, from, false);
    }
  };
  std::string why;
  auto answer = m.endpoint->answer(offer_sdp, std::move(ctx), &why);
  if (!answer) {
    unpend();
    m.done(h, from, false);
    spdlog::debug("rtc seed: offer for {} refused: {}", h.hex(), why);
  }
  return answer;
}

bool RtcSeed::connected(const InfoHash& h, std::string_view ip) const {
  std::lock_guard lock(impl_->mutex);
  return impl_->addresses.count({h, std::string(ip)}) > 0;
}

void RtcSeed::set_upload_limit(uint64_t bytes_per_second) { impl_->limit.store(bytes_per_second); }

RtcSeed::Stats RtcSeed::stats() const {
  auto& m = *impl_;
  Stats s;
  s.endpoint = m.endpoint->stats();
  s.uploaded = m.uploaded.load();
  std::lock_guard lock(m.mutex);
  for (const auto& [h, t] : m.torrents) {
    if (t.peers == 0 && t.uploaded == 0) continue;
    s.torrents.push_back(t);
    s.peers += t.peers;
  }
  return s;
}

}  // namespace seedcast::superpeer

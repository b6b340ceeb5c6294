#include "seedcast/tracker/tracker.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <chrono>
#include <cstring>
#include <random>

namespace seedcast::tracker {
namespace {

// 20-byte ids compared as three words (inlined; memcmp is a call on this hot path).
inline bool same_id(const PeerId& a, const PeerId& b) {
  uint64_t a0, a1, b0, b1;
  uint32_t a2, b2;
  std::memcpy(&a0, a.data(), 8);
  std::memcpy(&b0, b.data(), 8);
  std::memcpy(&a1, a.data() + 8, 8);
  std::memcpy(&b1, b.data() + 8, 8);
  std::memcpy(&a2, a.data() + 16, 4);
  std::memcpy(&b2, b.data() + 16, 4);
  return ((a0 ^ b0) | (a1 ^ b1) | (a2 ^ b2)) == 0;
}

uint32_t random_index(uint32_t n) {
  thread_local std::minstd_rand gen(std::random_device{}());
  return n == 0 ? 0 : static_cast<uint32_t>(gen() % n);
}

// Peers of one kind in a vector (cheap random windows, swap-remove), indexed by peer id with
// an open-addressing table of positions (linear probing, at most half full): 4-8 bytes per
// peer instead of a hash node per peer.
template <class Peer>
struct PeerSet {
  static constexpr uint32_t kEmpty = ~uint32_t{0};
  std::vector<Peer> list;
  std::vector<uint32_t> slots;  // a power of two in size, or empty

  size_t home(const PeerId& id) const {
    // Peer ids share client prefixes ("-WW0300-"); mix the other 16 bytes.
    uint64_t a, b;
    std::memcpy(&a, id.data() + 4, 8);
    std::memcpy(&b, id.data() + 12, 8);
    uint64_t h = (a ^ (b << 29 | b >> 35)) * 0x9e3779b97f4a7c15ull;
    return static_cast<size_t>(h >> 32) & (slots.size() - 1);
  }
  // The slot holding `id`, or the empty slot where it would go.
  size_t slot(const PeerId& id) const {
    for (size_t i = home(id);; i = (i + 1) & (slots.size() - 1)) {
      if (slots[i] == kEmpty || same_id(list[slots[i]].id, id)) return i;
    }
  }
  Peer* find(const PeerId& id) {
    if (slots.empty()) return nullptr;
    uint32_t at = slots[slot(id)];
    return at == kEmpty ? nullptr : &list[at];
  }
  Peer& insert(const PeerId& id) {
    if ((list.size() + 1) * 2 > slots.size()) rehash(std::max<size_t>(8, slots.size() * 2));
    slots[slot(id)] = static_cast<uint32_t>(list.size());
    list.emplace_back();
    list.back().id = id;
    return list.back();
  }
  void erase(const PeerId& id) {
    if (slots.empty()) return;
    size_t i = slot(id);
    const uint32_t at = slots[i];
    if (at == kEmpty) return;
    // Backward-shift deletion: later entries of the probe run move up so no search stops early.
    const size_t mask = slots.size() - 1;
    for (size_t j = (i + 1) & mask; slots[j] != kEmpty; j = (j + 1) & mask) {
      const size_t k = home(list[slots[j]].id);
      const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
      if (stays) continue;
      slots[i] = slots[j];
      i = j;
    }
    slots[i] = kEmpty;
    const uint32_t last = static_cast<uint32_t>(list.size() - 1);
    if (at != last) {
      list[at] = std::move(list[last]);
      slots[slot(list[at].id)] = at;  // the moved peer's slot still says `last`
    }
    list.pop_back();
    if (list.empty()) {
      std::vector<Peer>().swap(list);
      std::vector<uint32_t>().swap(slots);
    } else if (slots.size() > 64 && list.size() * 8 < slots.size()) {
      rehash(slots.size() / 4);
      if (list.capacity() > list.size() * 4) list.shrink_to_fit();
    }
  }
  void rehash(size_t n) {
    slots.assign(n, kEmpty);
    for (uint32_t k = 0; k < list.size(); ++k) slots[slot(list[k].id)] = k;
  }
};

// Seconds of the tracker's clock, truncated: only differences are used (wrap-safe), which
// keeps a peer record at 48 bytes.
using Stamp = uint32_t;

struct HttpPeer {
  PeerId id{};
  Endpoint endpoint;
  bool seeder = false;
  Stamp last_seen = 0;
};

struct WsPeer {
  std::weak_ptr<Mailbox> mailbox;
  const Mailbox* owner = nullptr;
  PeerId id{};
  bool seeder = false;
  Stamp last_seen = 0;
};

}  // namespace

bool parse_endpoint(std::string_view address, uint16_t port, Endpoint& ep) {
  std::string a(address);
  ep.port = port;
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, a.c_str(), &v4) == 1) {
    std::memcpy(ep.addr.data(), &v4, 4);
    ep.v6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, a.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
      std::memcpy(ep.addr.data(), reinterpret_cast<const uint8_t*>(&v6) + 12, 4);
      ep.v6 = false;
    } else {
      std::memcpy(ep.addr.data(), &v6, 16);
      ep.v6 = true;
    }
    return true;
  }
  return false;
}

struct Tracker::Swarm {
  PeerSet<HttpPeer> http;
  PeerSet<WsPeer> ws;
  uint32_t seeders = 0;
  uint32_t completed = 0;

  uint32_t size() const { return static_cast<uint32_t>(http.list.size() + ws.list.size()); }
  Counts counts() const { return {seeders, size() - seeders, completed}; }

  template <class Peer>
  void set_seeder(Peer& p, bool seeder) {
    if (p.seeder == seeder) return;
    p.seeder = seeder;
    seeders += seeder ? 1 : -1;
  }
  template <class Peer>
  void remove(PeerSet<Peer>& set, const PeerId& id) {
    if (Peer* p = set.find(id)) {
      if (p->seeder) --seeders;
      set.erase(id);
    }
  }
  template <class Peer>
  void expire(PeerSet<Peer>& set, Stamp now, Stamp max_age) {
    for (size_t i = set.list.size(); i-- > 0;) {
      if (static_cast<Stamp>(now - set.list[i].last_seen) > max_age) remove(set, set.list[i].id);
    }
  }
};

Event parse_event(std::string_view e, bool& ok) {
  ok = true;
  if (e.empty() || e == "update" || e == "empty") return Event::none;
  if (e == "started") return Event::started;
  if (e == "stopped") return Event::stopped;
  if (e == "completed") return Event::completed;
  if (e == "paused") return Event::paused;
  ok = false;
  return Event::none;
}

Tracker::Tracker(Options options) : options_(std::move(options)) {
  if (!options_.clock) {
    options_.clock = [] {
      return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
  }
}

Tracker::~Tracker() = default;

Tracker::Shard& Tracker::shard(const InfoHash& h) const { return shards_[h.bytes()[0] % kShards]; }

size_t Tracker::want(int numwant) const {
  return static_cast<size_t>(numwant < 0 ? options_.default_numwant : std::min(numwant, options_.max_numwant));
}

Tracker::HttpReply Tracker::announce(const HttpAnnounce& a) {
  HttpReply reply;
  const int64_t now = options_.clock();
  Shard& sh = shard(a.info_hash);
  std::lock_guard lock(sh.mutex);
  auto& slot = sh.swarms[a.info_hash];
  if (!slot) slot = std::make_unique<Swarm>();
  Swarm& s = *slot;
  if (a.event == Event::stopped) {
    s.remove(s.http, a.peer_id);
    reply.counts = s.counts();
    return reply;
  }
  HttpPeer* p = s.http.find(a.peer_id);
  if (!p) p = &s.http.insert(a.peer_id);
  if (a.event == Event::completed && !p->seeder) ++s.completed;
  p->endpoint = a.endpoint;
  p->last_seen = static_cast<Stamp>(now);
  s.set_seeder(*p, a.seeder);
  reply.counts = s.counts();

  const size_t want = this->want(a.numwant);
  const uint32_t n = static_cast<uint32_t>(s.http.list.size());
  if (want == 0 || n <= 1) return reply;
  reply.peers.reserve(std::min<size_t>(want, n - 1));
  uint32_t start = random_index(n);
  for (uint32_t k = 0; k < n && reply.peers.size() < want; ++k) {
    const HttpPeer& q = s.http.list[(start + k) % n];
    if (same_id(q.id, a.peer_id) || (a.seeder && q.seeder)) continue;
    reply.peers.push_back(q.endpoint);
  }
  return reply;
}

Counts Tracker::announce_ws(const InfoHash& h, const PeerId& id, bool seeder, Event event,
                            const std::shared_ptr<Mailbox>& self, size_t want, std::vector<WsTarget>& targets) {
  const int64_t now = options_.clock();
  Shard& sh = shard(h);
  std::lock_guard lock(sh.mutex);
  auto& slot = sh.swarms[h];
  if (!slot) slot = std::make_unique<Swarm>();
  Swarm& s = *slot;
  if (event == Event::stopped) {
    if (WsPeer* p = s.ws.find(id); p && p->owner == self.get()) s.remove(s.ws, id);
    return s.counts();
  }
  WsPeer* p = s.ws.find(id);
  if (!p) p = &s.ws.insert(id);
  if (event == Event::completed && !p->seeder) ++s.completed;
  p->mailbox = self;
  p->owner = self.get();
  p->last_seen = static_cast<Stamp>(now);
  s.set_seeder(*p, seeder);
  const uint32_t n = static_cast<uint32_t>(s.ws.list.size());
  uint32_t start = random_index(n);
  for (uint32_t k = 0; k < n && targets.size() < want; ++k) {
    const WsPeer& q = s.ws.list[(start + k) % n];
    // Several peer ids may share one socket (WebTorrent pools one per tracker URL), so only
    // the same peer id is skipped. Seeders need no offers from seeders.
    if (same_id(q.id, id) || (seeder && q.seeder)) continue;
    if (auto m = q.mailbox.lock()) targets.push_back({q.id, std::move(m)});
  }
  return s.counts();
}

std::shared_ptr<Mailbox> Tracker::find_ws(const InfoHash& h, const PeerId& id) {
  Shard& sh = shard(h);
  std::lock_guard lock(sh.mutex);
  auto it = sh.swarms.find(h);
  if (it == sh.swarms.end()) return nullptr;
  WsPeer* p = it->second->ws.find(id);
  return p ? p->mailbox.lock() : nullptr;
}

void Tracker::leave_ws(const InfoHash& h, const PeerId& id, const Mailbox* self) {
  Shard& sh = shard(h);
  std::lock_guard lock(sh.mutex);
  auto it = sh.swarms.find(h);
  if (it == sh.swarms.end()) return;
  Swarm& s = *it->second;
  if (WsPeer* p = s.ws.find(id); p && p->owner == self) s.remove(s.ws, id);
  if (s.size() == 0 && s.completed == 0) sh.swarms.erase(it);
}

bool Tracker::has_http_peer(const InfoHash& h, std::string_view address) const {
  Endpoint ep;
  if (!parse_endpoint(address, 0, ep)) return false;
  Shard& sh = shard(h);
  std::lock_guard lock(sh.mutex);
  auto it = sh.swarms.find(h);
  if (it == sh.swarms.end()) return false;
  for (const HttpPeer& q : it->second->http.list)
    if (q.endpoint.v6 == ep.v6 && q.endpoint.addr == ep.addr) return true;
  return false;
}

Counts Tracker::counts(const InfoHash& h) const {
  Shard& sh = shard(h);
  std::lock_guard lock(sh.mutex);
  auto it = sh.swarms.find(h);
  return it == sh.swarms.end() ? Counts{} : it->second->counts();
}

std::vector<std::pair<InfoHash, Counts>> Tracker::busiest(size_t k) const {
  std::vector<std::pair<InfoHash, Counts>> all;
  if (k == 0) return all;
  for (const Shard& sh : shards_) {
    std::lock_guard lock(sh.mutex);
    for (const auto& [h, s] : sh.swarms) all.emplace_back(h, s->counts());
  }
  auto more = [](const std::pair<InfoHash, Counts>& a, const std::pair<InfoHash, Counts>& b) {
    uint64_t na = uint64_t{a.second.seeders} + a.second.leechers, nb = uint64_t{b.second.seeders} + b.second.leechers;
    return na != nb ? na > nb : a.first < b.first;
  };
  const size_t n = std::min(k, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(), more);
  all.resize(n);
  return all;
}

std::vector<Endpoint> Tracker::http_peers(const InfoHash& h, size_t max) const {
  std::vector<Endpoint> out;
  Shard& sh = shard(h);
  std::lock_guard lock(sh.mutex);
  auto it = sh.swarms.find(h);
  if (it == sh.swarms.end()) return out;
  for (const auto& p : it->second->http.list) {
    if (out.size() >= max) break;
    out.push_back(p.endpoint);
  }
  return out;
}

void Tracker::expire() {
  const auto now = static_cast<Stamp>(options_.clock());
  const auto max_age = static_cast<Stamp>(options_.interval * 3 / 2);
  for (Shard& sh : shards_) {
    std::lock_guard lock(sh.mutex);
    for (auto it = sh.swarms.begin(); it != sh.swarms.end();) {
      Swarm& s = *it->second;
      s.expire(s.http, now, max_age);
      s.expire(s.ws, now, max_age);
      it = s.size() == 0 && s.completed == 0 ? sh.swarms.erase(it) : std::next(it);
    }
  }
}

size_t Tracker::peers() const {
  size_t n = 0;
  for (const Shard& sh : shards_) {
    std::lock_guard lock(sh.mutex);
    for (const auto& [h, s] : sh.swarms) n += s->size();
  }
  return n;
}

size_t Tracker::swarms() const {
  size_t n = 0;
  for (const Shard& sh : shards_) {
    std::lock_guard lock(sh.mutex);
    n += sh.swarms.size();
  }
  return n;
}

}  // namespace seedcast::tracker

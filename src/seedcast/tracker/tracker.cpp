#include "seedcast/tracker/tracker.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <chrono>
#include <cstring>
#include <random>

namespace seedcast::tracker {
namespace {

struct PeerIdHash {
  size_t operator()(const PeerId& p) const noexcept {
    // peer ids share client prefixes ("-LT2080-"); the tail is random.
    size_t v;
    std::memcpy(&v, p.data() + 12, sizeof v);
    return v;
  }
};

uint32_t random_index(uint32_t n) {
  thread_local std::minstd_rand gen(std::random_device{}());
  return n == 0 ? 0 : static_cast<uint32_t>(gen() % n);
}

// Peers of one kind in a vector (cheap random windows, swap-remove) indexed by peer id.
template <class Peer>
struct PeerSet {
  std::vector<Peer> list;
  std::unordered_map<PeerId, uint32_t, PeerIdHash> index;

  Peer* find(const PeerId& id) {
    auto it = index.find(id);
    return it == index.end() ? nullptr : &list[it->second];
  }
  Peer& insert(const PeerId& id) {
    index.emplace(id, static_cast<uint32_t>(list.size()));
    list.emplace_back();
    list.back().id = id;
    return list.back();
  }
  void erase(const PeerId& id) {
    auto it = index.find(id);
    if (it == index.end()) return;
    uint32_t i = it->second;
    index.erase(it);
    if (i + 1 != list.size()) {
      list[i] = std::move(list.back());
      index[list[i].id] = i;
    }
    list.pop_back();
  }
};

struct HttpPeer {
  PeerId id{};
  Endpoint endpoint;
  bool seeder = false;
  int64_t last_seen = 0;
};

struct WsPeer {
  PeerId id{};
  std::weak_ptr<Mailbox> mailbox;
  const Mailbox* owner = nullptr;
  bool seeder = false;
  int64_t last_seen = 0;
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
  void expire(PeerSet<Peer>& set, int64_t oldest) {
    for (size_t i = set.list.size(); i-- > 0;) {
      if (set.list[i].last_seen < oldest) remove(set, set.list[i].id);
    }
  }
};

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
  p->last_seen = now;
  s.set_seeder(*p, a.seeder);
  reply.counts = s.counts();

  const size_t want = this->want(a.numwant);
  const uint32_t n = static_cast<uint32_t>(s.http.list.size());
  if (want == 0 || n <= 1) return reply;
  reply.peers.reserve(std::min<size_t>(want, n - 1));
  uint32_t start = random_index(n);
  for (uint32_t k = 0; k < n && reply.peers.size() < want; ++k) {
    const HttpPeer& q = s.http.list[(start + k) % n];
    if (q.id == a.peer_id || (a.seeder && q.seeder)) continue;
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
  p->last_seen = now;
  s.set_seeder(*p, seeder);
  const uint32_t n = static_cast<uint32_t>(s.ws.list.size());
  uint32_t start = random_index(n);
  for (uint32_t k = 0; k < n && targets.size() < want; ++k) {
    const WsPeer& q = s.ws.list[(start + k) % n];
    // Several peer ids may share one socket (WebTorrent pools one per tracker URL), so only
    // the same peer id is skipped. Seeders need no offers from seeders.
    if (q.id == id || (seeder && q.seeder)) continue;
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

void Tracker::expire() {
  const int64_t oldest = options_.clock() - options_.interval * 3 / 2;
  for (Shard& sh : shards_) {
    std::lock_guard lock(sh.mutex);
    for (auto it = sh.swarms.begin(); it != sh.swarms.end();) {
      Swarm& s = *it->second;
      s.expire(s.http, oldest);
      s.expire(s.ws, oldest);
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

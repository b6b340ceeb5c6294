#pragma once
// The swarms: which peers are in which torrent. Pure logic behind a mutex per shard — no I/O,
// an injectable clock — shared by the HTTP and WebSocket front ends. HTTP peers are addresses;
// WebSocket peers are sockets that offers and answers are relayed to. The two kinds are never
// handed to each other (they cannot connect), but both count in the swarm's numbers.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "seedcast/core/info_hash.hpp"

namespace seedcast::tracker {

using PeerId = std::array<uint8_t, 20>;

struct Endpoint {
  std::array<uint8_t, 16> addr{};  // IPv4 in the first 4 bytes when !v6
  uint16_t port = 0;
  bool v6 = false;
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// Parses an IPv4 or IPv6 address (text; IPv4-mapped IPv6 becomes IPv4) into `ep` with `port`.
bool parse_endpoint(std::string_view address, uint16_t port, Endpoint& ep);

enum class Event { none, started, stopped, completed, paused };
// An announce's `event` (HTTP and WebSocket alike): empty, "update" and "empty" are none;
// anything unknown sets ok = false.
Event parse_event(std::string_view e, bool& ok);

struct Counts {
  uint32_t seeders = 0;
  uint32_t leechers = 0;
  uint32_t completed = 0;  // "completed" events seen (a lower bound of downloads)
};

// Where relayed WebSocket messages go. Implemented by the WebSocket front end.
class Mailbox {
 public:
  virtual ~Mailbox() = default;
  // Queues a message to the socket (copied; may be dropped if its outbox is full).
  virtual void deliver(std::string_view message) = 0;
};

struct Options {
  int interval = 120;       // seconds between announces we ask for
  int max_numwant = 200;
  int default_numwant = 50;
  std::function<int64_t()> clock;  // seconds; default: steady clock
};

class Tracker {
 public:
  explicit Tracker(Options options);
  ~Tracker();

  struct HttpAnnounce {
    InfoHash info_hash;
    PeerId peer_id{};
    Endpoint endpoint;
    bool seeder = false;
    Event event = Event::none;
    int numwant = -1;  // -1: default
  };
  struct HttpReply {
    Counts counts;
    std::vector<Endpoint> peers;
  };
  HttpReply announce(const HttpAnnounce& a);

  // A WebSocket peer announces. Up to `want` other WebSocket peers of the swarm (random,
  // never itself, not seeders when it is a seeder) are returned to receive its offers.
  struct WsTarget {
    PeerId peer_id;
    std::shared_ptr<Mailbox> mailbox;
  };
  Counts announce_ws(const InfoHash& h, const PeerId& id, bool seeder, Event event,
                     const std::shared_ptr<Mailbox>& self, size_t want, std::vector<WsTarget>& targets);
  // The mailbox of `id` in swarm `h`, for relaying an answer; nullptr when gone.
  std::shared_ptr<Mailbox> find_ws(const InfoHash& h, const PeerId& id);
  // Removes (h, id) if it still belongs to `self` (a socket closing).
  void leave_ws(const InfoHash& h, const PeerId& id, const Mailbox* self);

  Counts counts(const InfoHash& h) const;
  // The `k` swarms with the most peers (seeders + leechers, HTTP and WebSocket), most first;
  // ties in info-hash order. Linear in the swarms.
  std::vector<std::pair<InfoHash, Counts>> busiest(size_t k) const;
  // Up to `max` HTTP (native BitTorrent) peers of swarm `h`, for the server's own engine.
  std::vector<Endpoint> http_peers(const InfoHash& h, size_t max) const;
  // Has a peer at `address` (text, any port) announced swarm `h` over HTTP? That is a native
  // BitTorrent client. Linear in the swarm's HTTP peers.
  bool has_http_peer(const InfoHash& h, std::string_view address) const;
  // Drops peers not seen for 1.5 intervals and swarms left empty. Called periodically.
  void expire();
  size_t peers() const;
  size_t swarms() const;
  int interval() const { return options_.interval; }
  // How many peers an announce asking for `numwant` (-1: unspecified) gets at most.
  size_t want(int numwant) const;
  int64_t now() const { return options_.clock(); }

 private:
  struct Swarm;
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<InfoHash, std::unique_ptr<Swarm>> swarms;
  };
  Shard& shard(const InfoHash& h) const;

  Options options_;
  static constexpr size_t kShards = 16;
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace seedcast::tracker

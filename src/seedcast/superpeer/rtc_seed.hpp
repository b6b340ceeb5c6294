#pragma once
// The server as a WebRTC peer of browsers: for the torrents this process seeds, it answers the
// offers browsers send through the tracker (rtc::Endpoint: ICE-lite, so at once), speaks the
// BitTorrent wire over their data channels (wire::SeedConnection, WebTorrent's protocol) and
// sends verified bytes only: library files while they are what was hashed, fetched torrents
// only the pieces libtorrent verified. One per process: the server's (WORKERS=0) or each
// worker's.
//
// Threads: answer(), wants_offer(), stats() and set_upload_limit() from any thread; the
// connections live on the endpoint's rtc thread.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "seedcast/catalog/torrent.hpp"
#include "seedcast/core/error.hpp"
#include "seedcast/core/info_hash.hpp"
#include "seedcast/rtc/endpoint.hpp"

namespace seedcast::engine {
class Engine;
}

namespace seedcast::superpeer {

using PeerId = std::array<uint8_t, 20>;

struct RtcSeedOptions {
  rtc::EndpointOptions endpoint;
  // The torrent `h` as this process seeds it now, or nullptr: its offers are refused. Called on
  // any thread; must be cheap.
  std::function<catalog::TorrentPtr(const InfoHash&)> torrent;
  // Fetched torrents' verified pieces (and, later, the swarm-first policy). May be null: then
  // only torrents whose data is on disk (library, URL) are served.
  engine::Engine* engine = nullptr;
  size_t max_pending_per_torrent = 64;  // offers answered whose channel has not opened yet
};

class RtcSeed {
 public:
  // Throws std::runtime_error when the UDP port cannot be bound.
  explicit RtcSeed(RtcSeedOptions options);
  ~RtcSeed();
  RtcSeed(const RtcSeed&) = delete;
  RtcSeed& operator=(const RtcSeed&) = delete;

  const PeerId& peer_id() const;
  uint16_t port() const;

  // Whether an offer from browser `from` in swarm `h` would be taken now: this process seeds
  // `h`, is not connected (or connecting) to that peer in that swarm, and the caps allow.
  bool wants_offer(const InfoHash& h, const PeerId& from);
  // Answers the offer's SDP: the answer's SDP, or an error (not seeded, caps, bad SDP).
  // `remote`: the browser's address (per-address caps); `local`: the address it reached the
  // server on, host or host:port (the candidate advertised when RTC_ADDRESSES is empty).
  result<std::string> answer(const InfoHash& h, const PeerId& from, std::string_view offer_sdp,
                             const std::string& remote, const std::string& local);

  // Whether a browser at address `ip` (text) is connected over WebRTC to this seed in swarm `h`:
  // the web seed defers its bulk requests (WEBSEED_DEFER) as it does a native peer's. Cheap.
  bool connected(const InfoHash& h, std::string_view ip) const;

  // Caps the WebRTC upload of this process (payload bytes per second; 0: none).
  void set_upload_limit(uint64_t bytes_per_second);

  struct TorrentStats {
    InfoHash info_hash;
    size_t peers = 0;       // browsers connected over WebRTC
    uint64_t uploaded = 0;  // payload bytes sent to them
  };
  struct Stats {
    size_t peers = 0;
    uint64_t uploaded = 0;
    std::vector<TorrentStats> torrents;
    rtc::Endpoint::Stats endpoint;
  };
  Stats stats() const;

 private:
  friend class RtcConnection;  // rtc_seed.cpp
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace seedcast::superpeer

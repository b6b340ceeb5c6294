#pragma once
// The BitTorrent peer wire (BEP 3) as a seed speaks it to one peer, over any ordered byte
// stream (WebTorrent runs it over a WebRTC data channel): the handshake with the extension
// bits, BEP 10 with ut_metadata (a peer that has only a magnet gets the info dictionary),
// BEP 6 (have-all/none, reject, suggest, allowed-fast), choke/unchoke, request/piece/cancel,
// keep-alive. Sans-I/O: bytes in through receive(), bytes out through Host::send(). Which
// requests are served, and from which bytes, is the host's to say.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "seedcast/core/info_hash.hpp"

namespace seedcast::wire {

// What the seed knows of a torrent.
struct Torrent {
  InfoHash info_hash;
  uint32_t num_pieces = 0;
  uint32_t piece_length = 0;
  uint64_t total_length = 0;
  std::string info;  // the bencoded info dictionary (its SHA-1 is info_hash)
  uint32_t piece_size(uint32_t piece) const;  // the last piece may be shorter
};

enum class Verdict { serve, refuse, refuse_and_choke };  // as engine::SwarmFirst answers

class SeedConnection {
 public:
  // The connection's owner. Called synchronously from the connection's calls, on its thread.
  struct Host {
    virtual ~Host() = default;
    virtual void send(std::string_view bytes) = 0;  // wire bytes for the peer, in order
    virtual bool have(uint32_t piece) = 0;          // the seed holds this piece, verified, now
    // Copies bytes [offset, offset + out.size()) of `piece` into `out`; false when they cannot
    // be had as verified bytes now (the request is then refused, never served wrong).
    virtual bool read(uint32_t piece, uint32_t offset, std::span<uint8_t> out) = 0;
    // May a request for (a block of) `piece` be served? (swarm-first seeding)
    virtual Verdict allow(uint32_t piece) = 0;
    // What the peer says of itself, for the seeding policy.
    virtual void peer_have(uint32_t piece) {}
    virtual void peer_bitfield(const std::vector<bool>& pieces) {}
    virtual void peer_have_all() {}
    virtual void peer_have_none() {}
    virtual void peer_interested(bool interested) {}
    virtual void peer_choked(bool choked_by_us) {}  // we choked / unchoked it
    virtual void request_done() {}                  // a served request went out or was cancelled
  };

  struct Options {
    size_t max_queued_requests = 250;  // the reqq we announce; more are refused
    uint32_t max_block = 16384;        // larger requests are refused
    size_t max_message = 1 << 20;      // a longer length prefix ends the connection
    std::string client_name = "seedcast";  // BEP 10 "v"
  };

  SeedConnection(const Torrent& torrent, const std::array<uint8_t, 20>& local_peer_id, Host& host, Options options);

  // Sends our handshake (both sides send theirs at once on WebRTC).
  void start();
  // Bytes from the peer, in chunks of any size. false: the peer broke the protocol (wrong
  // info-hash, malformed or oversized message); close the connection.
  bool receive(std::span<const uint8_t> bytes);
  // Sends queued blocks while `budget` bytes allow (at least one block if any is queued);
  // returns the bytes sent. The owner calls it when its stream can take more (back-pressure).
  size_t pump(size_t budget);
  bool has_queued() const;

  // The seed's own decisions (from its policy).
  void choke();
  void unchoke();
  void suggest(uint32_t piece);
  void have(uint32_t piece);  // a piece the seed just got (fetched torrents)
  void keep_alive();

  bool handshaken() const;
  bool choked() const;
  const std::array<uint8_t, 20>& remote_peer_id() const;
  uint64_t uploaded() const;  // payload bytes sent

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace seedcast::wire

#pragma once
// The BitTorrent peer wire (BEP 3) as a seed speaks it to one peer, over any ordered byte
// stream (WebTorrent runs it over a WebRTC data channel): the handshake with the extension
// bits, BEP 10 with ut_metadata (a peer that has only a magnet gets the info dictionary),
// BEP 6 (have-all/none, reject, suggest), choke/unchoke, request/piece/cancel, keep-alive.
// Sans-I/O: bytes in through receive(), bytes out through Host::send(). Which requests are
// served, and from which bytes, is the host's to say.
//
// What it speaks:
//  - Our handshake sets the extension protocol (BEP 10) and fast extension (BEP 6) bits; no
//    encryption. Once both handshakes are through it sends the extended handshake (if the peer
//    set the BEP 10 bit) announcing ut_metadata, then have-all / have-none (BEP 6 on) or a
//    bitfield, computed from Host::have(). A peer without BEP 6 that the seed has nothing for
//    gets no bitfield (BEP 3 allows leaving it out).
//  - Choking. The peer starts choked. It is unchoked when it says `interested`, unless the
//    owner's last word was choke(); and whenever the owner calls unchoke(). A choke from a
//    refusal verdict (see below) counts as the owner's choke(): it holds until unchoke().
//    Choking a peer drops its queued requests: with BEP 6 each one gets a reject (every request
//    has exactly one answer), without it the choke itself says they are gone.
//  - A request is answered with a reject (BEP 6) or, without BEP 6, dropped silently, when it
//    is malformed (piece out of range, beyond the piece's end, length 0 or over max_block),
//    when the peer is choked, when Host::have() says no, when max_queued_requests are already
//    queued, or when Host::allow() refuses it. A refusal without BEP 6 chokes the peer (the
//    only way BEP 3 has to drop a request); refuse_and_choke chokes it in any case (choke
//    first, then the rejects, as BEP 6 advises). An identical request already queued is
//    ignored. A cancel removes a queued request; with BEP 6 it is answered with a reject.
//  - ut_metadata requests (BEP 9) are queued like blocks and answered by pump() with the 16 KiB
//    piece of Torrent::info, or a ut_metadata reject for a piece that does not exist. They come
//    before blocks (a magnet peer can request nothing else until it has the metadata).
//  - Lenient where clients differ, strict where a mistake would be read wrongly: unknown message
//    ids and extension messages are ignored; pieces sent to us are ignored; spare bits of a
//    bitfield are ignored. receive() returns false for a wrong pstr or info-hash, a length
//    prefix over the limit, a known message of the wrong size, a have or bitfield that does not
//    fit the torrent, a BEP 6 message when BEP 6 is off (BEP 6: MUST close), or too many
//    malformed requests.
//
// Memory per connection is bounded whatever the peer sends: the receive buffer holds at most
// one message (max_message), the request queue max_queued_requests entries, the ut_metadata
// queue one entry per metadata piece, and the send buffer one message.
//
// Not thread-safe: one owner thread calls everything, and the Host's callbacks come back on it,
// synchronously. A callback may call choke(), unchoke(), suggest(), have() and keep_alive(), but
// must not call receive() or pump().
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
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
  // The last piece may be shorter; 0 for a piece out of range.
  uint32_t piece_size(uint32_t piece) const;
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
    // May a request for (a block of) `piece` be served? (swarm-first seeding). Asked only for
    // well-formed requests of an unchoked peer, for pieces have() holds, with room in the queue.
    virtual Verdict allow(uint32_t piece) = 0;
    // What the peer says of itself, for the seeding policy.
    virtual void peer_have(uint32_t piece) {}
    virtual void peer_bitfield(const std::vector<bool>& pieces) {}  // num_pieces entries
    virtual void peer_have_all() {}
    virtual void peer_have_none() {}
    virtual void peer_interested(bool interested) {}  // when it changes
    virtual void peer_choked(bool choked_by_us) {}    // we sent CHOKE / UNCHOKE
    // Once for each request allow() let through, when it leaves the queue: its piece message
    // went out, it was cancelled, read() failed, or a choke dropped it (then before
    // peer_choked(true)). Not called for what is left when the connection ends.
    virtual void request_done() {}
  };

  struct Options {
    size_t max_queued_requests = 250;      // the reqq we announce; more are refused
    uint32_t max_block = 16384;            // larger requests are refused
    size_t max_message = 1 << 20;          // a longer length prefix ends the connection
                                           // (raised to fit the torrent's bitfield)
    std::string client_name = "seedcast";  // BEP 10 "v"
  };

  // `torrent` and `host` must outlive the connection (the info dictionary is not copied: many
  // connections share one torrent).
  SeedConnection(const Torrent& torrent, const std::array<uint8_t, 20>& local_peer_id, Host& host,
                 Options options);
  // One connection, one state: copies would share it, so there are none.
  SeedConnection(const SeedConnection&) = delete;
  SeedConnection& operator=(const SeedConnection&) = delete;
  SeedConnection(SeedConnection&&) noexcept;
  SeedConnection& operator=(SeedConnection&&) noexcept;
  ~SeedConnection();

  // Sends our handshake (both sides send theirs at once on WebRTC). receive() calls it first if
  // the owner has not: nothing may go out before our handshake.
  void start();
  // Bytes from the peer, in chunks of any size. false: the peer broke the protocol (wrong
  // info-hash, malformed or oversized message); close the connection. From then on nothing is
  // sent, every call is a no-op and receive() returns false.
  bool receive(std::span<const uint8_t> bytes);
  // Sends queued ut_metadata pieces, then queued blocks, in the order asked, while `budget`
  // bytes allow (at least one if any is queued); returns the bytes sent. The owner calls it after
  // receive() and whenever its stream can take more (back-pressure), while has_queued().
  size_t pump(size_t budget);
  bool has_queued() const;

  // The seed's own decisions (from its policy). Before the handshakes are through, choke() and
  // unchoke() are remembered and the rest is dropped (the bitfield sent then says what we have).
  void choke();
  void unchoke();
  void suggest(uint32_t piece);  // BEP 6 only
  void have(uint32_t piece);     // a piece the seed just got (fetched torrents)
  void keep_alive();

  bool handshaken() const;  // both handshakes are through
  bool fast() const;        // both sides set the BEP 6 bit (the policy wants to know)
  bool choked() const;      // we are choking the peer
  bool peer_interested() const;
  const std::array<uint8_t, 20>& remote_peer_id() const;  // zeros before its handshake
  uint64_t uploaded() const;                              // payload bytes sent

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace seedcast::wire

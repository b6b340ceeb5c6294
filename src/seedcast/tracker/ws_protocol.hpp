#pragma once
// The WebSocket (WebTorrent) tracker protocol of one socket, sans-I/O: JSON text messages in
// (on_message), replies and relayed offers/answers out through Mailbox::deliver. The socket's
// own transport lives in http::WebSocket; tests and the fuzzer drive this class directly.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "seedcast/core/info_hash.hpp"
#include "seedcast/tracker/tracker.hpp"

namespace seedcast::tracker {

// The browser behind a socket, as the HTTP request that opened it saw it.
struct WsClient {
  std::string remote;  // its address
  std::string local;   // the address:port it reached the server on
};

// A peer inside this server — its WebRTC seed, or a worker's through the master — in the swarms
// it serves. Browsers' offers go to it first (every browser that wants the server gets it, not
// a random pick among the swarm), it answers them, and it counts as a seeder.
class ServerPeer {
 public:
  virtual ~ServerPeer() = default;
  virtual const PeerId& peer_id() const = 0;
  // Whether to give it an offer from `from` in swarm `h` now (it is not connected to that peer
  // yet, and its caps allow one more). Called on the socket's thread; must be cheap.
  virtual bool wants_offer(const InfoHash& h, const PeerId& from) = 0;
  // An offer: `offer` is the object the browser sent, {"type":"offer","sdp":…}, as JSON text.
  // `answer(sdp)` relays the answer's SDP to the browser; call it once, from any thread, or
  // never (an offer refused).
  virtual void offer(const InfoHash& h, const PeerId& from, std::string_view offer, const WsClient& client,
                     std::function<void(std::string_view answer_sdp)> answer) = 0;
};

struct WsOptions {
  WsClient client;
  // The server peers of swarm `h` (none: empty). Called for announces with offers and for
  // the swarm's numbers.
  std::function<std::vector<std::shared_ptr<ServerPeer>>(const InfoHash&)> server_peers;
};

class WsProtocol {
 public:
  // `allowed`: whether an info-hash may be tracked (the catalog). `self` receives this
  // socket's replies and is what other peers' offers and answers are relayed to.
  WsProtocol(Tracker& tracker, std::function<bool(const InfoHash&)> allowed, std::shared_ptr<Mailbox> self,
             WsOptions options = {});

  // One text message from the client. Never throws on hostile input (only std::bad_alloc): a
  // malformed message gets a {"failure reason": …} reply. Thread affinity: one socket's
  // messages in order on one thread; other sockets' WsProtocols may run on other threads.
  void on_message(std::string_view text);
  // The socket closed: leaves every swarm this socket joined (peers another socket has taken
  // over since are left alone).
  void close();
  // (info-hash, peer id) pairs this socket is in.
  size_t joined() const { return joined_.size(); }

  static constexpr size_t kMaxScrape = 64;
  static constexpr size_t kMaxOffers = 10;
  static constexpr size_t kMaxSwarmsPerSocket = 1000;

  struct Message;  // a message as read (ws_protocol.cpp)

 private:
  using Key = std::pair<InfoHash, PeerId>;
  void announce(const Message& m);
  void scrape(const Message& m);
  void fail(std::string_view reason, const InfoHash* info_hash);

  Tracker& tracker_;
  std::function<bool(const InfoHash&)> allowed_;
  std::shared_ptr<Mailbox> self_;
  WsOptions options_;
  std::vector<Key> joined_;  // sorted: a socket holds few pairs, lookups are binary searches
};

// The 20 bytes of a WebSocket-tracker "binary string" (code points <= U+00FF, UTF-8 on the
// wire), or false when it is not one.
bool decode_binary_string(std::string_view utf8, std::array<uint8_t, 20>& out);
std::string encode_binary_string(const uint8_t* bytes, size_t n);

// JSON output helpers (the tracker writes its messages by appending to a reused buffer).
// A JSON string literal, quotes included, of valid UTF-8 text: '"', '\\' and control
// characters are escaped as JSON.stringify does, everything else is copied.
void append_json_string(std::string& out, std::string_view utf8);
// A "binary string" (info_hash, peer_id, offer_id): each byte as the code point U+0000..U+00FF,
// UTF-8 encoded, escaped like append_json_string; decode_binary_string reverses it.
void append_json_binary_string(std::string& out, const uint8_t* bytes, size_t n);

// The message a browser gets when `from` answers its offer `offer_id` in swarm `h`:
// {"action":"announce","answer":{"type":"answer","sdp":…},"info_hash":…,"offer_id":…,"peer_id":…}
std::string answer_message(const InfoHash& h, const PeerId& from, const std::array<uint8_t, 20>& offer_id,
                           std::string_view answer_sdp);

}  // namespace seedcast::tracker

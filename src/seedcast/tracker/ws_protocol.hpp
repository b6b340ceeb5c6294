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

class WsProtocol {
 public:
  // `allowed`: whether an info-hash may be tracked (the catalog). `self` receives this
  // socket's replies and is what other peers' offers and answers are relayed to.
  WsProtocol(Tracker& tracker, std::function<bool(const InfoHash&)> allowed, std::shared_ptr<Mailbox> self);

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

}  // namespace seedcast::tracker

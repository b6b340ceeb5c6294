// libFuzzer target: the WebSocket tracker protocol (tracker::WsProtocol), three sockets on one
// tracker. The input is messages separated by 0x1e; a message's first byte picks the socket
// (and, when it is '!', closes that socket). Nothing may crash, every message the tracker sends
// must be valid JSON (offers and answers are relayed as their raw text), and once every socket
// has closed no peer is left.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>

#include "seedcast/tracker/tracker.hpp"
#include "seedcast/tracker/ws_protocol.hpp"

namespace {

struct CheckedMailbox : seedcast::tracker::Mailbox {
  void deliver(std::string_view m) override {
    if (!nlohmann::json::accept(m)) std::abort();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace seedcast::tracker;
  Tracker tracker{Options{.interval = 120, .clock = [] { return int64_t{1000}; }}};
  auto allowed = [](const seedcast::InfoHash& h) { return h.bytes()[0] != 0xff; };
  std::unique_ptr<WsProtocol> sockets[3];
  for (auto& s : sockets) s = std::make_unique<WsProtocol>(tracker, allowed, std::make_shared<CheckedMailbox>());
  std::string_view in(reinterpret_cast<const char*>(data), size);
  while (!in.empty()) {
    size_t end = in.find('\x1e');
    std::string_view msg = in.substr(0, end);
    in = end == std::string_view::npos ? std::string_view{} : in.substr(end + 1);
    if (msg.empty()) continue;
    auto& s = sockets[static_cast<uint8_t>(msg[0]) % 3];
    if (msg.size() == 1 && msg[0] == '!') {
      s->close();
      continue;
    }
    s->on_message(msg.substr(1));
  }
  for (auto& s : sockets) s->close();
  if (tracker.peers() != 0) std::abort();
  return 0;
}

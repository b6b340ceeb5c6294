// tracker_ws_mock: a minimal WebSocket tracker stand-in, used only to measure the ceiling of
// bench/tracker_ws_load.cpp (CALIBRATE=1 in bench/tracker_ws.sh).  It is not a tracker: it
// keeps no swarms.  For each announce it answers {"action":"announce","interval":120,
// "info_hash":..,"complete":50,"incomplete":50} and relays each offer (as
// {"action":"announce","offer":..,"offer_id":..,"peer_id":..,"info_hash":..}) to a random other
// connection; answers are relayed to a random other connection too.  Output is batched: one
// write per connection per read event.  Single-threaded, plain ws://, loopback only.
//
// Build: g++ -O2 -std=c++20 -o tracker_ws_mock tracker_ws_mock.cpp -pthread
// Usage: tracker_ws_mock PORT_FILE  (binds 127.0.0.1:0, writes the port to PORT_FILE)

#include "ws_frame.hpp"
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>

#include <cstdint>
#include <cstdio>  // std::rename, std::fprintf
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

uint64_t rng_state = 88172645463325252ull;
uint32_t rnd(uint32_t n) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return static_cast<uint32_t>((rng_state >> 32) * n >> 32);
}

// JSON value (object/string/number) starting right after `key` in msg; raw text.
std::string_view json_value_after(std::string_view msg, std::string_view key) {
  size_t p = msg.find(key);
  if (p == std::string_view::npos) return {};
  p += key.size();
  size_t q = p;
  if (q >= msg.size()) return {};
  if (msg[q] == '"') {
    ++q;
    while (q < msg.size() && msg[q] != '"') q += msg[q] == '\\' ? 2 : 1;
    return msg.substr(p, q + 1 - p);
  }
  if (msg[q] == '{' || msg[q] == '[') {
    int depth = 0;
    bool in_str = false;
    for (; q < msg.size(); ++q) {
      char c = msg[q];
      if (in_str) {
        if (c == '\\') ++q;
        else if (c == '"') in_str = false;
      } else if (c == '"') in_str = true;
      else if (c == '{' || c == '[') ++depth;
      else if ((c == '}' || c == ']') && --depth == 0) return msg.substr(p, q + 1 - p);
    }
    return {};
  }
  while (q < msg.size() && msg[q] != ',' && msg[q] != '}') ++q;
  return msg.substr(p, q - p);
}

class Conn;
std::vector<Conn*> all;

class Conn : public std::enable_shared_from_this<Conn> {
 public:
  explicit Conn(tcp::socket s) : sock_(std::move(s)) { rbuf_.resize(64 * 1024); }
  ~Conn() {
    if (slot_ >= 0) {
      all[slot_] = all.back();
      all[slot_]->slot_ = slot_;
      all.pop_back();
    }
  }
  void start() {
    sock_.set_option(tcp::no_delay(true));
    read();
  }
  void send_text(std::string_view payload) {
    size_t n = payload.size();
    out_ += static_cast<char>(0x81);
    if (n < 126) out_ += static_cast<char>(n);
    else if (n < 65536) {
      out_ += static_cast<char>(126);
      out_ += static_cast<char>(n >> 8);
      out_ += static_cast<char>(n & 0xFF);
    } else {
      out_ += static_cast<char>(127);
      for (int i = 7; i >= 0; --i) out_ += static_cast<char>((uint64_t(n) >> (8 * i)) & 0xFF);
    }
    out_.append(payload);
    if (!queued_) {
      queued_ = true;
      auto self = shared_from_this();
      asio::post(sock_.get_executor(), [this, self] {
        queued_ = false;
        flush();
      });
    }
  }

 private:
  void read() {
    auto self = shared_from_this();
    if (rbuf_.size() - rlen_ < 4096) rbuf_.resize(rbuf_.size() * 2);
    sock_.async_read_some(asio::buffer(rbuf_.data() + rlen_, rbuf_.size() - rlen_),
                          [this, self](boost::system::error_code ec, size_t n) {
      if (ec) return;
      rlen_ += n;
      if (!upgraded_) {
        std::string_view h(rbuf_.data(), rlen_);
        size_t end = h.find("\r\n\r\n");
        if (end == std::string_view::npos) return read();
        out_ += "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        upgraded_ = true;
        slot_ = static_cast<int>(all.size());
        all.push_back(this);
        std::memmove(rbuf_.data(), rbuf_.data() + end + 4, rlen_ - end - 4);
        rlen_ -= end + 4;
        flush();
      }
      frames();
      read();
    });
  }
  void frames() {
    size_t pos = 0;
    auto* b = reinterpret_cast<uint8_t*>(rbuf_.data());
    WsFrame f;
    while (parse_ws_frame(b + pos, rlen_ - pos, f)) {
      const uint64_t len = f.length;
      const size_t hdr = f.header;
      const int op = f.op;
      if (rlen_ - pos < hdr + len) {
        if (hdr + len > rbuf_.size()) rbuf_.resize(hdr + len + 4096);
        break;
      }
      char* p = rbuf_.data() + pos + hdr;
      if (f.masked) unmask_ws_payload(p, len, b + pos + hdr - 4);
      if (op == 0x1) on_message(std::string_view(p, len));
      pos += hdr + len;
    }
    std::memmove(rbuf_.data(), rbuf_.data() + pos, rlen_ - pos);
    rlen_ -= pos;
  }
  void on_message(std::string_view m) {
    std::string_view ih = json_value_after(m, "\"info_hash\":");
    std::string_view peer = json_value_after(m, "\"peer_id\":");
    if (m.find("\"answer\":") != std::string_view::npos) {
      std::string s = "{\"action\":\"announce\",\"answer\":";
      s += json_value_after(m, "\"answer\":");
      s += ",\"offer_id\":";
      s += json_value_after(m, "\"offer_id\":");
      s += ",\"peer_id\":";
      s += peer;
      s += ",\"info_hash\":";
      s += ih;
      s += "}";
      if (all.size() > 1) all[rnd(all.size())]->send_text(s);
      return;
    }
    std::string r = "{\"action\":\"announce\",\"interval\":120,\"info_hash\":";
    r += ih;
    r += ",\"complete\":50,\"incomplete\":50}";
    send_text(r);
    std::string_view offers = json_value_after(m, "\"offers\":");
    size_t at = 0;
    while (true) {
      size_t o = offers.find("{\"offer\":", at);
      if (o == std::string_view::npos) break;
      std::string_view rest = offers.substr(o);
      std::string_view offer = json_value_after(rest, "\"offer\":");
      std::string_view oid = json_value_after(rest, "\"offer_id\":");
      at = o + 9 + offer.size();
      std::string s = "{\"action\":\"announce\",\"offer\":";
      s += offer;
      s += ",\"offer_id\":";
      s += oid;
      s += ",\"peer_id\":";
      s += peer;
      s += ",\"info_hash\":";
      s += ih;
      s += "}";
      Conn* to = all[rnd(all.size())];
      if (to == this && all.size() > 1) to = all[(slot_ + 1) % all.size()];
      to->send_text(s);
    }
  }
  void flush() {
    if (writing_ || out_.empty()) return;
    writing_ = true;
    std::swap(out_, wbuf_);
    out_.clear();
    auto self = shared_from_this();
    asio::async_write(sock_, asio::buffer(wbuf_), [this, self](boost::system::error_code ec, size_t) {
      writing_ = false;
      if (!ec) flush();
    });
  }

  tcp::socket sock_;
  std::vector<char> rbuf_;
  size_t rlen_ = 0;
  bool upgraded_ = false, writing_ = false, queued_ = false;
  int slot_ = -1;
  std::string out_, wbuf_;
};

void accept_loop(tcp::acceptor& acc) {
  acc.async_accept([&acc](boost::system::error_code ec, tcp::socket s) {
    if (!ec) std::make_shared<Conn>(std::move(s))->start();
    accept_loop(acc);
  });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: tracker_ws_mock PORT_FILE\n");
    return 1;
  }
  asio::io_context ioc(1);
  tcp::acceptor acc(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  acc.listen(4096);
  {  // write the port atomically: readers never see a half-written file
    std::string tmp = std::string(argv[1]) + ".tmp";
    std::ofstream(tmp) << acc.local_endpoint().port();
    std::rename(tmp.c_str(), argv[1]);
  }
  accept_loop(acc);
  ioc.run();
}

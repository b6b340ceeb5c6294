// tracker_ws_load: single-threaded WebSocket (WebTorrent) tracker load generator for
// bench/tracker_ws.sh.  Plain ws:// only (no TLS), loopback only.
//
// Build: g++ -O2 -std=c++20 -o tracker_ws_load tracker_ws_load.cpp -pthread
//        (Boost.Asio from Debian's libboost-dev; header-only)
//
// Model (close to aquatic_ws_load_test, see bench/README.md):
//   * --conns N WebSocket connections to ws://HOST:PORT/PATH.
//   * A population of --peers P peer ids ("-SC0001-" + 12 chars).  Peer k always announces
//     the same torrent (a hash of k modulo the number of info-hashes), so each swarm holds
//     about P/T peers.  Connection c owns peers c, c+N, c+2N, ... (several peer ids share a
//     socket, as in p2p-media-loader / WebTorrent's socket pool).
//   * Each connection keeps --inflight announces outstanding (closed loop): each one is sent by
//     a random peer of the connection, carries --offers offers with a ~--sdp-bytes SDP and a
//     random 20-byte offer_id, numwant = offers.  A peer's first announce has
//     event "started", later ones none ("update").  --seeder-pct of the peers send left=0.
//   * Every message received is classified: announce reply (has "interval"), relayed offer,
//     relayed answer, error (has "failure reason"), other.  Each reply must be for the info_hash
//     of one of the connection's outstanding announces (in any order).  With --answer-pct, that share
//     of the offers received is answered (to_peer_id/offer_id), like aquatic's load test.
//   * --warmup seconds are run and discarded, then --duration seconds are measured.
//
// Output: one line per second on stderr; at the end one line on stdout:
//   RESULT secs=.. announces=.. announce_per_s=.. offers_in_per_s=.. answers_in_per_s=..
//          msgs_in_per_s=.. errors=.. other=.. mismatched=.. closed=.. conns=.. avg_swarm=..
//          gen_cpu_pct=.. server_cpu_pct=.. (with --server-pid; -1 without)
//          server_core_pct=.. load_core_pct=.. (with --server-core/--load-core: busy % of those
//          cores incl. the kernel's softirq work, which no process is charged for)
//          rest_pct=.. (CPU of all other processes meanwhile, % of one core) mib_in_per_s=..
// and up to --samples examples of each kind of bad message on stderr.
// Exit status: 0 clean, 2 if any error / mismatch / closed connection / unexpected message,
// 1 on a set-up failure (cannot connect, bad handshake, ...).

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>

#include "proc_stat.hpp"
#include "ws_frame.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <iterator>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string path = "/announce";
  std::string hashes_file;
  int conns = 1000;
  int peers = 10000;
  int offers = 2;
  int sdp_bytes = 300;
  int inflight = 4;
  int seeder_pct = 25;
  int answer_pct = 0;
  double warmup = 3;
  double duration = 10;
  double connect_timeout = 30;
  int connect_parallel = 64;
  uint64_t seed = 1;
  int samples = 5;
  int server_pid = 0;  // report this process's CPU over the measured window
  int server_core = -1, load_core = -1;  // report how busy these cores were (incl. softirq)
};

// ---------------------------------------------------------------- small helpers
struct Rng {  // xorshift64*
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed ? seed : 0x9E3779B97F4A7C15ull) {}
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ull;
  }
  uint32_t below(uint32_t n) { return static_cast<uint32_t>((next() >> 32) * n >> 32); }
};

uint64_t splitmix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// A 20-byte binary string as a JSON string body (no quotes): code point = byte, so bytes
// >= 0x80 become two UTF-8 bytes and control bytes \u00XX (what JSON.stringify does).
void append_binary_json(std::string& out, const uint8_t* b, size_t n) {
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    uint8_t c = b[i];
    if (c < 0x20) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
}

// The body of the JSON string that starts right after `key":"` in msg, raw (still escaped).
std::string_view json_string_after(std::string_view msg, std::string_view key) {
  size_t p = msg.find(key);
  if (p == std::string_view::npos) return {};
  p += key.size();
  size_t q = p;
  while (q < msg.size() && msg[q] != '"') q += msg[q] == '\\' ? 2 : 1;
  if (q > msg.size()) return {};
  return msg.substr(p, q - p);
}

long json_number_after(std::string_view msg, std::string_view key) {
  size_t p = msg.find(key);
  if (p == std::string_view::npos) return -1;
  p += key.size();
  while (p < msg.size() && msg[p] == ' ') ++p;
  long v = 0;
  bool any = false;
  while (p < msg.size() && msg[p] >= '0' && msg[p] <= '9') {
    v = v * 10 + (msg[p++] - '0');
    any = true;
  }
  return any ? v : -1;
}

bool contains(std::string_view s, std::string_view needle) {
  return s.find(needle) != std::string_view::npos;
}

std::string printable(std::string_view s, size_t max = 300) {
  std::string out;
  for (unsigned char c : s.substr(0, max)) {
    if (c >= 0x20 && c < 0x7F) out += static_cast<char>(c);
    else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

// ---------------------------------------------------------------- shared state
struct Counters {
  uint64_t announces_sent = 0, announces = 0, offers_in = 0, answers_in = 0, answers_sent = 0;
  uint64_t errors = 0, other = 0, mismatched = 0, closed = 0, msgs_in = 0, bytes_in = 0;
  uint64_t swarm_sum = 0, swarm_n = 0;
};

struct Global {
  Options opt;
  std::vector<std::array<uint8_t, 20>> info_hashes;
  std::vector<std::string> info_hash_json;  // encoded JSON string bodies
  std::unordered_map<std::string, uint32_t> info_hash_index;
  std::vector<std::string> peer_id;  // population, ASCII
  std::vector<uint32_t> peer_torrent;
  std::vector<uint8_t> peer_started;
  std::vector<uint8_t> peer_seeder;
  std::string sdp_offer, sdp_answer;  // JSON string bodies (escaped)
  Counters c;
  int samples_error = 0, samples_other = 0, samples_mismatch = 0;
  int connected = 0, failed_connects = 0;
  bool running = false;  // sending announces
};
Global G;

void sample(int& n, const char* what, std::string_view msg) {
  if (n >= G.opt.samples) return;
  ++n;
  std::fprintf(stderr, "SAMPLE %s: %s\n", what, printable(msg).c_str());
}

// ---------------------------------------------------------------- a connection
constexpr char kWsKey[] = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr char kWsAccept[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";  // RFC 6455 §1.3 example

class Conn : public std::enable_shared_from_this<Conn> {
 public:
  Conn(asio::io_context& ioc, int index, Rng rng) : sock_(ioc), index_(index), rng_(rng) {
    rbuf_.resize(64 * 1024);
    for (int p = index; p < G.opt.peers; p += G.opt.conns) peers_.push_back(p);
    for (uint32_t p : peers_) torrent_peer_.emplace(G.peer_torrent[p], p);
  }

  template <class Done>
  void start(const tcp::endpoint& ep, Done done) {
    auto self = shared_from_this();
    sock_.async_connect(ep, [this, self, done](boost::system::error_code ec) {
      if (ec) return fail("connect: " + ec.message(), done);
      sock_.set_option(tcp::no_delay(true));
      req_ = "GET " + G.opt.path + " HTTP/1.1\r\nHost: " + G.opt.host + ":" +
             std::to_string(G.opt.port) +
             "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + kWsKey +
             "\r\nSec-WebSocket-Version: 13\r\n\r\n";
      asio::async_write(sock_, asio::buffer(req_), [this, self, done](boost::system::error_code ec2, size_t) {
        if (ec2) return fail("handshake write: " + ec2.message(), done);
        read_handshake(done);
      });
    });
  }

  bool alive() const { return alive_; }
  bool empty_peers() const { return peers_.empty(); }

  void kick() {  // start the closed loop
    if (peers_.empty()) return;
    for (int i = 0; i < G.opt.inflight; ++i) queue_announce();
    flush();
  }

 private:
  template <class Done>
  void fail(const std::string& why, Done done) {
    std::fprintf(stderr, "connection %d: %s\n", index_, why.c_str());
    alive_ = false;
    done(false);
  }

  template <class Done>
  void read_handshake(Done done) {
    auto self = shared_from_this();
    sock_.async_read_some(asio::buffer(rbuf_.data() + rlen_, rbuf_.size() - rlen_),
                          [this, self, done](boost::system::error_code ec, size_t n) {
      if (ec) return fail("handshake read: " + ec.message(), done);
      rlen_ += n;
      std::string_view h(rbuf_.data(), rlen_);
      size_t end = h.find("\r\n\r\n");
      if (end == std::string_view::npos) {
        if (rlen_ == rbuf_.size()) return fail("handshake: header too large", done);
        return read_handshake(done);
      }
      std::string_view head = h.substr(0, end);
      if (head.substr(0, 12) != "HTTP/1.1 101") return fail("handshake refused: " + printable(head), done);
      std::string lower(head);
      for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      std::string acc = std::string("sec-websocket-accept: ") + kWsAccept;
      for (char& ch : acc) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (!contains(lower, acc)) return fail("handshake: bad Sec-WebSocket-Accept: " + printable(head), done);
      size_t rest = end + 4;
      std::memmove(rbuf_.data(), rbuf_.data() + rest, rlen_ - rest);
      rlen_ -= rest;
      done(true);
      process_frames();
      read_loop();
    });
  }

  void read_loop() {
    auto self = shared_from_this();
    if (rbuf_.size() - rlen_ < 4096) rbuf_.resize(rbuf_.size() * 2);
    sock_.async_read_some(asio::buffer(rbuf_.data() + rlen_, rbuf_.size() - rlen_),
                          [this, self](boost::system::error_code ec, size_t n) {
      if (ec) {
        if (alive_) {
          alive_ = false;
          ++G.c.closed;
          if (G.c.closed <= static_cast<uint64_t>(G.opt.samples))
            std::fprintf(stderr, "connection %d closed by the server: %s\n", index_, ec.message().c_str());
        }
        return;
      }
      rlen_ += n;
      G.c.bytes_in += n;
      process_frames();
      flush();
      read_loop();
    });
  }

  void process_frames() {
    size_t pos = 0;
    auto* b = reinterpret_cast<uint8_t*>(rbuf_.data());
    WsFrame f;
    while (parse_ws_frame(b + pos, rlen_ - pos, f)) {
      const bool fin = f.fin, masked = f.masked;
      const int op = f.op;
      const uint64_t len = f.length;
      const size_t hdr = f.header;
      if (len > (64u << 20)) {
        std::fprintf(stderr, "connection %d: absurd frame length %" PRIu64 "\n", index_, len);
        std::exit(1);
      }
      if (rlen_ - pos < hdr + len) {
        if (hdr + len > rbuf_.size()) rbuf_.resize(hdr + len + 4096);
        break;
      }
      char* payload = rbuf_.data() + pos + hdr;
      if (masked) unmask_ws_payload(payload, len, b + pos + hdr - 4);
      std::string_view data(payload, len);
      pos += hdr + len;
      if (op == 0x8) {  // close
        if (alive_) {
          alive_ = false;
          ++G.c.closed;
          if (G.c.closed <= static_cast<uint64_t>(G.opt.samples))
            std::fprintf(stderr, "connection %d: server sent close frame %s\n", index_, printable(data).c_str());
        }
        continue;
      }
      if (op == 0x9) {  // ping -> pong
        append_frame(0xA, data);
        continue;
      }
      if (op == 0xA) continue;
      if (op == 0x0) {  // continuation
        frag_.append(data);
        if (fin) {
          on_message(frag_op_, frag_);
          frag_.clear();
        }
        continue;
      }
      if (!fin) {
        frag_op_ = op;
        frag_.assign(data);
        continue;
      }
      on_message(op, data);
    }
    if (pos) {
      std::memmove(rbuf_.data(), rbuf_.data() + pos, rlen_ - pos);
      rlen_ -= pos;
    }
  }

  void on_message(int op, std::string_view msg) {
    if (!G.running) return;  // after the end
    ++G.c.msgs_in;
    if (op != 0x1) {
      ++G.c.other;
      sample(G.samples_other, "non-text frame", msg);
      return;
    }
    if (contains(msg, "\"failure reason\"")) {
      ++G.c.errors;
      sample(G.samples_error, "failure reason", msg);
      // a failed announce still ends that request
      if (!expected_.empty() && contains(msg, "\"announce\"")) {
        expected_.pop_front();
        queue_announce();
      }
      return;
    }
    if (contains(msg, "\"interval\"")) {
      ++G.c.announces;
      if (expected_.empty()) {
        ++G.c.mismatched;
        sample(G.samples_mismatch, "announce reply nobody asked for", msg);
      } else {
        // Replies carry no request id; clients match them by info_hash, and a server may
        // answer a socket's announces out of order (bittorrent-tracker does).  So the reply
        // must be for one of this connection's outstanding announces.
        std::string_view ih = json_string_after(msg, "\"info_hash\":\"");
        auto it = std::find_if(expected_.begin(), expected_.end(),
                               [&](uint32_t t) { return G.info_hash_json[t] == ih; });
        if (it == expected_.end()) {
          // the server may escape differently (e.g. \u00e9 instead of raw UTF-8): compare bytes
          std::string raw = decode_binary(ih);
          it = std::find_if(expected_.begin(), expected_.end(), [&](uint32_t t) {
            return raw == std::string_view(reinterpret_cast<const char*>(G.info_hashes[t].data()), 20);
          });
        }
        if (it == expected_.end()) {
          ++G.c.mismatched;
          sample(G.samples_mismatch, "announce reply for an info_hash this connection has no announce out for", msg);
          expected_.pop_front();
        } else {
          expected_.erase(it);
        }
        if (!contains(msg, "\"action\":\"announce\"")) {
          ++G.c.mismatched;
          sample(G.samples_mismatch, "announce reply without action:announce", msg);
        }
        long co = json_number_after(msg, "\"complete\":"), inc = json_number_after(msg, "\"incomplete\":");
        if (co >= 0 && inc >= 0) {
          G.c.swarm_sum += static_cast<uint64_t>(co + inc);
          ++G.c.swarm_n;
        }
      }
      queue_announce();
      return;
    }
    if (contains(msg, "\"offer\"")) {
      ++G.c.offers_in;
      if (!contains(msg, "\"offer_id\"") || !contains(msg, "\"peer_id\"") || !contains(msg, "\"info_hash\"")) {
        ++G.c.other;
        sample(G.samples_other, "relayed offer without offer_id/peer_id/info_hash", msg);
        return;
      }
      if (G.opt.answer_pct > 0 && static_cast<int>(rng_.below(100)) < G.opt.answer_pct) answer(msg);
      return;
    }
    if (contains(msg, "\"answer\"")) {
      ++G.c.answers_in;
      return;
    }
    ++G.c.other;
    sample(G.samples_other, "unexpected message", msg);
  }

  static std::string decode_binary(std::string_view s) {  // JSON string body -> bytes (code points <= 0xFF)
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      unsigned char c = s[i];
      if (c == '\\' && i + 1 < s.size()) {
        char e = s[++i];
        if (e == 'u' && i + 4 < s.size()) {
          out += static_cast<char>(std::strtol(std::string(s.substr(i + 1, 4)).c_str(), nullptr, 16));
          i += 4;
        } else if (e == 'n') out += '\n';
        else if (e == 'r') out += '\r';
        else if (e == 't') out += '\t';
        else if (e == 'b') out += '\b';
        else if (e == 'f') out += '\f';
        else out += e;
      } else if ((c & 0xE0) == 0xC0 && i + 1 < s.size()) {
        out += static_cast<char>(((c & 0x1F) << 6) | (static_cast<unsigned char>(s[++i]) & 0x3F));
      } else {
        out += static_cast<char>(c);
      }
    }
    return out;
  }

  void answer(std::string_view offer_msg) {
    std::string_view ih = json_string_after(offer_msg, "\"info_hash\":\"");
    std::string_view from = json_string_after(offer_msg, "\"peer_id\":\"");
    std::string_view oid = json_string_after(offer_msg, "\"offer_id\":\"");
    auto it = G.info_hash_index.find(decode_binary(ih));
    if (it == G.info_hash_index.end()) return;
    auto tp = torrent_peer_.find(it->second);
    if (tp == torrent_peer_.end()) return;
    std::string& m = scratch_;
    m.clear();
    m += "{\"action\":\"announce\",\"info_hash\":\"";
    m += G.info_hash_json[it->second];
    m += "\",\"peer_id\":\"";
    m += G.peer_id[tp->second];
    m += "\",\"to_peer_id\":\"";
    m += from;
    m += "\",\"offer_id\":\"";
    m += oid;
    m += "\",\"answer\":{\"type\":\"answer\",\"sdp\":\"";
    m += G.sdp_answer;
    m += "\"}}";
    append_frame(0x1, m);
    ++G.c.answers_sent;
  }

  void queue_announce() {
    if (!alive_ || !G.running) return;
    uint32_t p = peers_[rng_.below(static_cast<uint32_t>(peers_.size()))];
    uint32_t t = G.peer_torrent[p];
    std::string& m = scratch_;
    m.clear();
    m += "{\"numwant\":";
    m += std::to_string(G.opt.offers);
    m += ",\"uploaded\":0,\"downloaded\":0,\"left\":";
    m += G.peer_seeder[p] ? "0" : "1048576";
    if (!G.peer_started[p]) {
      m += ",\"event\":\"started\"";
      G.peer_started[p] = 1;
    }
    m += ",\"action\":\"announce\",\"info_hash\":\"";
    m += G.info_hash_json[t];
    m += "\",\"peer_id\":\"";
    m += G.peer_id[p];
    m += "\"";
    if (G.opt.offers > 0) {
      m += ",\"offers\":[";
      for (int i = 0; i < G.opt.offers; ++i) {
        if (i) m += ',';
        m += "{\"offer\":{\"type\":\"offer\",\"sdp\":\"";
        m += G.sdp_offer;
        m += "\"},\"offer_id\":\"";
        uint8_t oid[20];
        for (int k = 0; k < 20; k += 8) {
          uint64_t r = rng_.next();
          std::memcpy(oid + k, &r, std::min(8, 20 - k));
        }
        append_binary_json(m, oid, 20);
        m += "\"}";
      }
      m += "]";
    }
    m += "}";
    append_frame(0x1, m);
    expected_.push_back(t);
    ++G.c.announces_sent;
  }

  void append_frame(int op, std::string_view payload) {  // masked client frame into out_
    size_t n = payload.size();
    out_ += static_cast<char>(0x80 | op);
    if (n < 126) {
      out_ += static_cast<char>(0x80 | n);
    } else if (n < 65536) {
      out_ += static_cast<char>(0x80 | 126);
      out_ += static_cast<char>(n >> 8);
      out_ += static_cast<char>(n & 0xFF);
    } else {
      out_ += static_cast<char>(0x80 | 127);
      for (int i = 7; i >= 0; --i) out_ += static_cast<char>((uint64_t(n) >> (8 * i)) & 0xFF);
    }
    uint32_t k32 = static_cast<uint32_t>(rng_.next());
    uint8_t key[4];
    std::memcpy(key, &k32, 4);
    out_.append(reinterpret_cast<const char*>(key), 4);
    size_t start = out_.size();
    out_.append(payload);
    char* p = out_.data() + start;
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<char>(p[i] ^ key[i & 3]);
  }

 public:
  void flush() {
    if (writing_ || out_.empty() || !alive_) return;
    writing_ = true;
    std::swap(out_, wbuf_);
    out_.clear();
    auto self = shared_from_this();
    asio::async_write(sock_, asio::buffer(wbuf_), [this, self](boost::system::error_code ec, size_t) {
      writing_ = false;
      if (ec) {
        if (alive_) {
          alive_ = false;
          ++G.c.closed;
          if (G.c.closed <= static_cast<uint64_t>(G.opt.samples))
            std::fprintf(stderr, "connection %d: write failed: %s\n", index_, ec.message().c_str());
        }
        return;
      }
      flush();
    });
  }

 private:
  tcp::socket sock_;
  int index_;
  Rng rng_;
  bool alive_ = true;
  bool writing_ = false;
  std::string req_;
  std::vector<char> rbuf_;
  size_t rlen_ = 0;
  std::string frag_;
  int frag_op_ = 1;
  std::string out_, wbuf_, scratch_;
  std::vector<uint32_t> peers_;
  std::unordered_multimap<uint32_t, uint32_t> torrent_peer_;  // torrent -> one of our peers
  std::deque<uint32_t> expected_;
};

// ---------------------------------------------------------------- set-up
int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void usage() {
  std::fprintf(stderr,
               "usage: tracker_ws_load --port P --hashes FILE [--host 127.0.0.1] [--path /announce]\n"
               "  [--conns 1000] [--peers 10000] [--offers 2] [--sdp-bytes 300] [--inflight 4]\n"
               "  [--seeder-pct 25] [--answer-pct 0] [--warmup 3] [--duration 10]\n"
               "  [--connect-timeout 30] [--connect-parallel 64] [--seed 1] [--samples 5] [--server-pid PID]\n"
               "  [--server-core N] [--load-core M]\n");
  std::exit(1);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage();
    std::string v = argv[++i];
    if (a == "--host") o.host = v;
    else if (a == "--port") o.port = static_cast<uint16_t>(std::stoi(v));
    else if (a == "--path") o.path = v;
    else if (a == "--hashes") o.hashes_file = v;
    else if (a == "--conns") o.conns = std::stoi(v);
    else if (a == "--peers") o.peers = std::stoi(v);
    else if (a == "--offers") o.offers = std::stoi(v);
    else if (a == "--sdp-bytes") o.sdp_bytes = std::stoi(v);
    else if (a == "--inflight") o.inflight = std::stoi(v);
    else if (a == "--seeder-pct") o.seeder_pct = std::stoi(v);
    else if (a == "--answer-pct") o.answer_pct = std::stoi(v);
    else if (a == "--warmup") o.warmup = std::stod(v);
    else if (a == "--duration") o.duration = std::stod(v);
    else if (a == "--connect-timeout") o.connect_timeout = std::stod(v);
    else if (a == "--connect-parallel") o.connect_parallel = std::stoi(v);
    else if (a == "--seed") o.seed = std::stoull(v);
    else if (a == "--samples") o.samples = std::stoi(v);
    else if (a == "--server-pid") o.server_pid = std::stoi(v);
    else if (a == "--server-core") o.server_core = std::stoi(v);
    else if (a == "--load-core") o.load_core = std::stoi(v);
    else usage();
  }
  if (!o.port || o.hashes_file.empty() || o.conns < 1 || o.peers < o.conns || o.inflight < 1 ||
      o.offers < 0 || o.offers > 10)
    usage();
  return o;
}

// An SDP like simple-peer's data-channel offer (trickle off), padded to about `bytes`, as a
// JSON string body with \r\n escaped.
std::string make_sdp(const char* type, int bytes, uint64_t seed) {
  char head[400];
  std::snprintf(head, sizeof head,
                "v=0\\r\\no=- %" PRIu64 " 2 IN IP4 127.0.0.1\\r\\ns=-\\r\\nt=0 0\\r\\n"
                "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\\r\\nc=IN IP4 0.0.0.0\\r\\n"
                "a=ice-ufrag:%s\\r\\na=ice-pwd:",
                static_cast<uint64_t>(seed % 10000000000000000000ull), type[0] == 'o' ? "Xo3f" : "Ya7q");
  std::string s = head;
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  Rng r(seed);
  for (int i = 0; i < 22; ++i) s += b64[r.below(64)];
  s += "\\r\\na=fingerprint:sha-256 ";
  for (int i = 0; i < 32; ++i) {
    static const char hx[] = "0123456789ABCDEF";
    if (i) s += ':';
    uint32_t x = r.below(256);
    s += hx[x >> 4];
    s += hx[x & 15];
  }
  s += "\\r\\na=setup:";
  s += type[0] == 'o' ? "actpass" : "active";
  s += "\\r\\na=mid:0\\r\\na=sctp-port:5000\\r\\na=max-message-size:262144\\r\\n";
  while (static_cast<int>(s.size()) < bytes) s += "a=x-pad:0123456789abcdef\\r\\n";
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  G.opt = parse(argc, argv);
  const Options& o = G.opt;

  std::ifstream hf(o.hashes_file);
  std::string line;
  while (std::getline(hf, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    if (line.size() != 40) {
      std::fprintf(stderr, "bad info-hash line: %s\n", line.c_str());
      return 1;
    }
    std::array<uint8_t, 20> ih{};
    for (int i = 0; i < 20; ++i) {
      int hi = hexval(line[2 * i]), lo = hexval(line[2 * i + 1]);
      if (hi < 0 || lo < 0) {
        std::fprintf(stderr, "bad info-hash line: %s\n", line.c_str());
        return 1;
      }
      ih[i] = static_cast<uint8_t>(hi * 16 + lo);
    }
    G.info_hashes.push_back(ih);
  }
  if (G.info_hashes.empty()) {
    std::fprintf(stderr, "no info-hashes in %s\n", o.hashes_file.c_str());
    return 1;
  }
  for (uint32_t i = 0; i < G.info_hashes.size(); ++i) {
    std::string s;
    append_binary_json(s, G.info_hashes[i].data(), 20);
    G.info_hash_json.push_back(s);
    G.info_hash_index.emplace(std::string(reinterpret_cast<const char*>(G.info_hashes[i].data()), 20), i);
  }
  static const char alnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  Rng prng(o.seed * 7919 + 1);
  for (int k = 0; k < o.peers; ++k) {
    std::string id = "-SC0001-";
    for (int i = 0; i < 12; ++i) id += alnum[prng.below(62)];
    G.peer_id.push_back(id);
    G.peer_torrent.push_back(static_cast<uint32_t>(splitmix(o.seed ^ (uint64_t(k) << 20)) % G.info_hashes.size()));
    G.peer_seeder.push_back(static_cast<int>(prng.below(100)) < o.seeder_pct);
  }
  G.peer_started.assign(o.peers, 0);
  G.sdp_offer = make_sdp("offer", o.sdp_bytes, o.seed);
  G.sdp_answer = make_sdp("answer", o.sdp_bytes, o.seed + 1);

  asio::io_context ioc(1);
  tcp::endpoint ep(asio::ip::make_address(o.host), o.port);
  std::vector<std::shared_ptr<Conn>> conns;
  conns.reserve(o.conns);
  for (int i = 0; i < o.conns; ++i)
    conns.push_back(std::make_shared<Conn>(ioc, i, Rng(splitmix(o.seed * 1000003 + i))));

  // connect with bounded parallelism
  int next = 0, pending = 0;
  bool connect_failed = false;
  std::function<void()> launch = [&] {
    while (pending < o.connect_parallel && next < o.conns && !connect_failed) {
      ++pending;
      conns[next++]->start(ep, [&](bool ok) {
        --pending;
        if (ok) ++G.connected;
        else {
          ++G.failed_connects;
          connect_failed = true;
        }
        launch();
      });
    }
  };
  auto t_connect = Clock::now();
  launch();
  while (G.connected + G.failed_connects < o.conns && !connect_failed) {
    ioc.run_for(std::chrono::milliseconds(50));
    if (Clock::now() - t_connect > std::chrono::duration<double>(o.connect_timeout)) {
      std::fprintf(stderr, "only %d of %d connections up after %.0f s\n", G.connected, o.conns, o.connect_timeout);
      return 1;
    }
  }
  if (connect_failed) {
    std::fprintf(stderr, "a connection failed during set-up (%d up)\n", G.connected);
    return 1;
  }
  std::fprintf(stderr, "%d connections up in %.2f s; %d peers over %zu info-hashes; %d offers of %zu-byte SDP per announce\n",
               G.connected, std::chrono::duration<double>(Clock::now() - t_connect).count(), o.peers,
               G.info_hashes.size(), o.offers, G.sdp_offer.size());

  G.running = true;
  for (auto& c : conns) c->kick();

  // phases driven by a 1 s timer
  auto t0 = Clock::now();
  Counters last{}, at_measure{};
  double cpu_measure = 0, srv_measure = 0, score_measure = 0, lcore_measure = 0, mach_measure = 0;
  Clock::time_point t_measure{};
  bool measuring = false;
  int tick = 0;
  asio::steady_timer timer(ioc);
  std::function<void(boost::system::error_code)> on_tick;
  Counters result{};
  double result_secs = 0, result_cpu = 0, result_srv = 0, result_score = 0, result_lcore = 0, result_rest = 0;
  on_tick = [&](boost::system::error_code) {
    ++tick;
    auto now = Clock::now();
    double t = std::chrono::duration<double>(now - t0).count();
    Counters d = G.c;
    int alive = 0;
    for (auto& c : conns) alive += c->alive();
    std::fprintf(stderr,
                 "[%5.1fs %s] announces %7" PRIu64 "/s  offers in %7" PRIu64 "/s  answers in %6" PRIu64
                 "/s  errors %" PRIu64 "  other %" PRIu64 "  mismatched %" PRIu64 "  conns %d\n",
                 t, measuring ? "measure" : "warmup ", d.announces - last.announces, d.offers_in - last.offers_in,
                 d.answers_in - last.answers_in, d.errors, d.other, d.mismatched, alive);
    last = d;
    if (!measuring && t >= o.warmup - 1e-3) {
      measuring = true;
      at_measure = G.c;
      t_measure = now;
      cpu_measure = cpu_seconds();
      srv_measure = proc_cpu_seconds(o.server_pid);
      score_measure = core_busy_seconds(o.server_core);
      lcore_measure = core_busy_seconds(o.load_core);
      mach_measure = machine_task_seconds();
      G.c.swarm_sum = G.c.swarm_n = 0;
    } else if (measuring && std::chrono::duration<double>(now - t_measure).count() >= o.duration - 1e-3) {
      result = G.c;
      result_secs = std::chrono::duration<double>(now - t_measure).count();
      result_cpu = cpu_seconds() - cpu_measure;
      result_srv = proc_cpu_seconds(o.server_pid) - srv_measure;
      result_score = core_busy_seconds(o.server_core) - score_measure;
      result_lcore = core_busy_seconds(o.load_core) - lcore_measure;
      result_rest = machine_task_seconds() - mach_measure - result_cpu - result_srv;
      G.running = false;
      ioc.stop();
      return;
    }
    timer.expires_at(t0 + std::chrono::seconds(tick + 1));
    timer.async_wait(on_tick);
  };
  timer.expires_at(t0 + std::chrono::seconds(1));
  timer.async_wait(on_tick);
  ioc.run_for(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup + o.duration + 30)));
  if (G.running) {
    std::fprintf(stderr, "timer did not fire: giving up\n");
    return 1;
  }

  auto sub = [](uint64_t a, uint64_t b) { return a - b; };
  uint64_t ann = sub(result.announces, at_measure.announces);
  uint64_t off = sub(result.offers_in, at_measure.offers_in);
  uint64_t ans = sub(result.answers_in, at_measure.answers_in);
  uint64_t msgs = sub(result.msgs_in, at_measure.msgs_in);
  int alive = 0;
  for (auto& c : conns) alive += c->alive();
  std::printf(
      "RESULT secs=%.2f announces=%" PRIu64 " announce_per_s=%.0f offers_in_per_s=%.0f answers_in_per_s=%.0f "
      "msgs_in_per_s=%.0f answers_sent=%" PRIu64 " errors=%" PRIu64 " other=%" PRIu64 " mismatched=%" PRIu64
      " closed=%" PRIu64 " conns=%d avg_swarm=%.1f gen_cpu_pct=%.0f server_cpu_pct=%.0f server_core_pct=%.0f load_core_pct=%.0f rest_pct=%.0f mib_in_per_s=%.1f\n",
      result_secs, ann, ann / result_secs, off / result_secs, ans / result_secs, msgs / result_secs,
      result.answers_sent, result.errors, result.other, result.mismatched, result.closed, alive,
      result.swarm_n ? double(result.swarm_sum) / result.swarm_n : 0.0, 100 * result_cpu / result_secs,
      o.server_pid > 0 ? 100 * result_srv / result_secs : -1.0,
      o.server_core >= 0 ? 100 * result_score / result_secs : -1.0, o.load_core >= 0 ? 100 * result_lcore / result_secs : -1.0,
      std::max(0.0, 100 * result_rest / result_secs),
      (result.bytes_in - at_measure.bytes_in) / result_secs / 1048576.0);
  std::fflush(stdout);
  bool bad = result.errors || result.other || result.mismatched || result.closed;
  std::_Exit(bad ? 2 : 0);
}

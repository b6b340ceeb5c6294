// peer_load: single-threaded BitTorrent peer-wire load generator for bench/seed_capacity.sh.
// Each connection is one "viewer" that streams a torrent sequentially at a video bit rate.
//
// Build: g++ -O2 -std=c++20 -o peer_load peer_load.cpp -pthread
//        (Boost.Asio from Debian's libboost-dev; header-only)
//
// Model:
//   * --conns N TCP connections to HOST:PORT, started at --ramp per second. Connection i binds
//     the source address 127.1.0.0 + i + 1 (--src-ips 1, the default), so every viewer has its
//     own IP like on the Internet: no per-IP limits in the server, no ephemeral-port shortage.
//     With several ports (--ports P1,P2,... or --port repeated: one seed process each),
//     connection i goes to port i mod K (round robin), so every port gets N/K viewers.
//   * BitTorrent handshake (BEP 3, reserved bits all zero: no fast extension, no extension
//     protocol, no DHT) with --info-hash, then `interested`. No bitfield: a viewer has nothing.
//   * After the first unchoke a viewer requests 16 KiB blocks in order from a random start
//     piece (wrapping at the end of the torrent). It keeps at most --pipeline requests
//     outstanding and asks only for what playback needs plus a --buffer seconds read-ahead,
//     so in steady state it pulls exactly --rate-kbit.
//   * Playback starts when --prebuffer seconds are in; from then on the playback position
//     advances at --rate-kbit. When the contiguous bytes received fall behind it, the viewer
//     STALLS (counted), pauses, and resumes once --rebuffer seconds are in again.
//   * Choke: outstanding requests count as discarded (BEP 3) and are sent again at the next
//     unchoke; a block that still arrives for one of them is accepted. Keep-alives every 30 s of
//     silence. have / bitfield / port / extended / anything else is length-checked and skipped.
//   * Every piece message must answer an outstanding request exactly (index, begin, length);
//     with --verify-file every --verify-every-th block is compared byte for byte with the file.
//   * Phases: ramp (all connections started), start-up (until every viewer plays, at most
//     --start-timeout s), --warmup s, then --duration s measured.
//
// A viewer "falls behind" when it stalls at any time after its playback started, is dropped by
// the server, or does not start playing within --start-timeout. N is served when none does.
//
// Output: one line per second on stderr; at the end one line on stdout:
//   RESULT conns=.. connected=.. playing=.. never_played=.. dropped=.. stalls=.. stalled_viewers=..
//          stall_s=.. stalls_window=.. secs=.. gbit_s=.. mib_s=.. blocks_s=.. lat_p50_ms=..
//          lat_p99_ms=.. lat_max_ms=.. startup_p99_s=.. gen_cpu_pct=.. server_cpu_pct=..
//          server_core_pct=.. load_core_pct=.. rest_pct=.. rss_kb=.. rss_anon_kb=.. rss_peak_kb=..
//          verified=.. errors=.. unexpected=.. choked=.. server_cpu_each=A/B/.. served=0|1
//   --server-pid takes a comma-separated list (or is repeated): the server is those processes
//   (e.g. a master and its workers). server_cpu_pct and the rss_* fields are their sums (VmRSS
//   of several processes counts their shared file pages once per process);
//   server_cpu_each is each one's CPU %, in the order given.
// Exit status: 0 when the run was measured (whether N was served or not), 2 on a protocol error
// (a wrong block, a bad handshake, a failed --verify-file comparison), 1 on a set-up failure.

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>

#include "proc_stat.hpp"

#include <fcntl.h>
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
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string host = "127.0.0.1";
  std::vector<uint16_t> ports;  // connection i goes to ports[i % size]
  std::array<uint8_t, 20> info_hash{};
  uint64_t piece_length = 0;
  uint64_t total_size = 0;
  int conns = 100;
  double rate_kbit = 1000;  // playback bit rate, kbit/s (1 kbit = 1000 bit)
  double buffer = 10;       // read-ahead, seconds of video
  double prebuffer = 2;     // seconds in before playback starts
  double rebuffer = 1;      // seconds in before playback resumes after a stall
  int pipeline = 4;         // outstanding 16 KiB requests at most
  double ramp = 500;        // new connections per second
  double start_timeout = 30;
  double warmup = 5;
  double duration = 15;
  bool src_ips = true;
  std::string verify_file;
  uint64_t verify_every = 64;
  uint64_t seed = 1;
  std::vector<int> server_pids;
  int server_core = -1, load_core = -1;
};

constexpr uint32_t kBlock = 16 * 1024;
constexpr uint32_t kMaxMessage = kBlock + 9 + 1024;  // a piece message plus slack
constexpr uint32_t kMaxBitfield = 1 << 20;
constexpr double kTick = 0.05;  // playback clock and request top-up, seconds

struct Rng {  // xorshift64*
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed ? seed : 0x9E3779B97F4A7C15ull) {}
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ull;
  }
  uint64_t below(uint64_t n) { return next() % n; }
};

uint64_t splitmix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
void put32(std::string& s, uint32_t v) {
  s += static_cast<char>(v >> 24);
  s += static_cast<char>(v >> 16);
  s += static_cast<char>(v >> 8);
  s += static_cast<char>(v);
}

// ---------------------------------------------------------------- shared state
struct Counters {
  uint64_t bytes = 0, blocks = 0, stalls = 0, verified = 0;
};

struct Global {
  Options opt;
  uint64_t num_pieces = 0;
  double rate_Bps = 0;  // playback bytes per second
  Counters c;
  uint64_t errors = 0, unexpected = 0, chokes = 0, dropped = 0, connect_failed = 0;
  int samples = 0;
  bool measuring = false;
  std::vector<uint32_t> latencies_us;  // block latencies in the measured window
  std::vector<uint8_t> rbuf = std::vector<uint8_t>(256 * 1024);
  std::vector<uint8_t> vbuf = std::vector<uint8_t>(256 * 1024);
  int verify_fd = -1;
  Clock::time_point t0;
} G;

void error_sample(int id, const char* what) {
  ++G.errors;
  if (G.samples++ < 10) std::fprintf(stderr, "viewer %d: %s\n", id, what);
}

uint32_t piece_size(uint64_t piece) {
  return piece + 1 < G.num_pieces ? static_cast<uint32_t>(G.opt.piece_length)
                                  : static_cast<uint32_t>(G.opt.total_size - piece * G.opt.piece_length);
}

struct Request {
  uint32_t piece, begin, length;
  Clock::time_point sent;
  bool received = false;
  bool resend = false;  // the server choked us after it was sent (BEP 3: it is discarded)
};

enum class State : uint8_t { idle, connecting, waiting, buffering, playing, stalled, dead };

class Viewer : public std::enable_shared_from_this<Viewer> {
 public:
  Viewer(asio::io_context& ioc, int id, Rng rng) : sock_(ioc), id_(id) {
    next_piece_ = static_cast<uint32_t>(rng.below(G.num_pieces));
    for (int i = 0; i < 12; ++i) peer_id_[8 + i] = static_cast<char>('0' + rng.below(10));
    std::memcpy(peer_id_.data(), "-PL0001-", 8);
  }

  State state() const { return state_; }
  bool ever_played() const { return played_at_.time_since_epoch().count() != 0; }
  double startup_s() const { return std::chrono::duration<double>(played_at_ - connect_at_).count(); }
  uint64_t stalls() const { return stalls_; }
  double stall_seconds(Clock::time_point now) const {
    double s = stall_total_;
    if (state_ == State::stalled) s += std::chrono::duration<double>(now - stall_start_).count();
    return s;
  }

  void start(const tcp::endpoint& ep, std::function<void(bool)> done) {
    state_ = State::connecting;
    connect_at_ = Clock::now();
    boost::system::error_code ec;
    sock_.open(tcp::v4(), ec);
    if (!ec && G.opt.src_ips) {
      uint32_t a = (127u << 24) + (1u << 16) + static_cast<uint32_t>(id_) + 1;
      sock_.bind(tcp::endpoint(asio::ip::address_v4(a), 0), ec);
    }
    if (ec) {
      fail("socket/bind", ec);
      done(false);
      return;
    }
    auto self = shared_from_this();
    sock_.async_connect(ep, [self, done = std::move(done)](boost::system::error_code ec) {
      if (ec) {
        self->fail("connect", ec);
        done(false);
        return;
      }
      self->on_connected();
      done(true);
    });
  }

  // Called every kTick by the global timer: the playback clock, stalls, request top-up,
  // keep-alives.
  void tick(Clock::time_point now) {
    if (state_ == State::playing && contig_ < played(now)) {
      // ran dry at the moment playback reached the last contiguous byte
      stall_start_ = resume_at_ + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>((contig_ - base_) / G.rate_Bps));
      base_ = contig_;
      state_ = State::stalled;
      ++stalls_;
      ++G.c.stalls;
    }
    if (state_ == State::stalled && contig_ >= base_ + static_cast<uint64_t>(G.opt.rebuffer * G.rate_Bps)) {
      stall_total_ += std::chrono::duration<double>(now - stall_start_).count();
      resume(now);
    }
    if (state_ == State::buffering && contig_ >= static_cast<uint64_t>(G.opt.prebuffer * G.rate_Bps)) {
      played_at_ = now;
      resume(now);
    }
    if (state_ >= State::waiting && state_ != State::dead) {
      top_up(now);
      if (now - last_send_ > std::chrono::seconds(30)) out_.append(4, '\0');  // keep-alive
      flush();
    }
  }

  void close() {
    boost::system::error_code ec;
    sock_.close(ec);
    state_ = State::dead;
  }

 private:
  uint64_t played(Clock::time_point now) const {
    return base_ + static_cast<uint64_t>(std::chrono::duration<double>(now - resume_at_).count() * G.rate_Bps);
  }
  void resume(Clock::time_point now) {  // playback (re)starts at base_, the paused position
    resume_at_ = now;
    state_ = State::playing;
  }

  void fail(const char* what, boost::system::error_code ec) {
    if (state_ == State::dead) return;
    bool was_up = state_ >= State::waiting;
    state_ = State::dead;
    boost::system::error_code ignored;
    sock_.close(ignored);
    if (was_up) {
      ++G.dropped;
      if (G.samples++ < 10) std::fprintf(stderr, "viewer %d dropped: %s: %s\n", id_, what, ec.message().c_str());
    } else {
      ++G.connect_failed;
      if (G.samples++ < 10) std::fprintf(stderr, "viewer %d: %s: %s\n", id_, what, ec.message().c_str());
    }
  }
  void protocol_error(const char* what) {
    error_sample(id_, what);
    boost::system::error_code ignored;
    sock_.close(ignored);
    state_ = State::dead;
  }

  void on_connected() {
    boost::system::error_code ec;
    sock_.non_blocking(true, ec);
    sock_.set_option(tcp::no_delay(true), ec);
    state_ = State::waiting;
    out_ += static_cast<char>(19);
    out_ += "BitTorrent protocol";
    out_.append(8, '\0');
    out_.append(reinterpret_cast<const char*>(G.opt.info_hash.data()), 20);
    out_.append(peer_id_.data(), 20);
    out_.append("\0\0\0\1\2", 5);  // interested
    flush();
    arm_read();
  }

  // --- writing: non-blocking write, the rest when the socket is writable again
  void flush() {
    if (writing_ || out_.empty() || state_ == State::dead) return;
    boost::system::error_code ec;
    size_t n = sock_.write_some(asio::buffer(out_), ec);
    if (ec && ec != asio::error::would_block) {
      fail("write", ec);
      return;
    }
    out_.erase(0, n);
    last_send_ = Clock::now();
    if (out_.empty()) return;
    writing_ = true;
    auto self = shared_from_this();
    sock_.async_wait(tcp::socket::wait_write, [self](boost::system::error_code ec) {
      self->writing_ = false;
      if (ec) return self->fail("wait_write", ec);
      self->flush();
    });
  }

  // --- reading: wait until readable, then drain the socket into the shared buffer
  void arm_read() {
    auto self = shared_from_this();
    sock_.async_wait(tcp::socket::wait_read, [self](boost::system::error_code ec) {
      if (self->state_ == State::dead) return;
      if (ec) return self->fail("wait_read", ec);
      self->on_readable();
    });
  }
  void on_readable() {
    for (;;) {
      boost::system::error_code ec;
      size_t n = sock_.read_some(asio::buffer(G.rbuf), ec);
      if (ec == asio::error::would_block) break;
      if (ec) return fail("read", ec);
      if (!parse(G.rbuf.data(), n)) return;
      if (n < G.rbuf.size()) break;
    }
    top_up(Clock::now());
    flush();
    if (state_ != State::dead) arm_read();
  }

  // --- the wire protocol, streamed: a message may be split over any number of reads
  bool parse(const uint8_t* p, size_t n) {
    while (n > 0) {
      if (!handshaken_) {
        size_t k = std::min(n, 68 - hdr_have_);
        std::memcpy(hdr_.data() + hdr_have_, p, k);
        hdr_have_ += k;
        p += k;
        n -= k;
        if (hdr_have_ < 68) return true;
        if (hdr_[0] != 19 || std::memcmp(hdr_.data() + 1, "BitTorrent protocol", 19) != 0) {
          protocol_error("bad handshake");
          return false;
        }
        if (std::memcmp(hdr_.data() + 28, G.opt.info_hash.data(), 20) != 0) {
          protocol_error("handshake for another info-hash");
          return false;
        }
        handshaken_ = true;
        hdr_have_ = 0;
        continue;
      }
      if (skip_ > 0) {  // payload of a message we do not look into
        size_t k = std::min<uint64_t>(n, skip_);
        skip_ -= k;
        p += k;
        n -= k;
        continue;
      }
      if (payload_ > 0) {  // block data of the current piece message
        size_t k = std::min<uint64_t>(n, payload_);
        if (verifying_ && !verify(p, k)) return false;
        payload_ -= k;
        payload_pos_ += k;
        p += k;
        n -= k;
        if (payload_ == 0) block_done();
        continue;
      }
      // a header: 4-byte length, 1-byte id, and for `piece` 8 bytes of index+begin
      size_t k = std::min(n, header_size() - hdr_have_);
      std::memcpy(hdr_.data() + hdr_have_, p, k);
      hdr_have_ += k;
      p += k;
      n -= k;
      if (hdr_have_ == 4 && be32(hdr_.data()) == 0) {
        hdr_have_ = 0;  // keep-alive
        continue;
      }
      if (hdr_have_ >= 5 && hdr_have_ == header_size()) {
        if (be32(hdr_.data()) < hdr_have_ - 4) {
          protocol_error("message shorter than its header");
          return false;
        }
        if (!message()) return false;
      }
    }
    return true;
  }

  size_t header_size() const { return hdr_have_ < 4 ? 4 : hdr_have_ < 5 ? 5 : hdr_[4] == 7 ? 13 : 5; }

  // a complete header is in hdr_ (hdr_have_ bytes)
  bool message() {
    uint32_t len = be32(hdr_.data());
    uint8_t id = hdr_[4];
    hdr_have_ = 0;
    auto fixed = [&](uint32_t expect) {
      if (len != expect) protocol_error("bad message length");
      return len == expect;
    };
    switch (id) {
      case 0:  // choke
        if (!fixed(1)) return false;
        if (!choked_) ++G.chokes;
        choked_ = true;
        ever_choked_ = true;
        for (auto& r : outstanding_)
          if (!r.received) r.resend = true;
        return true;
      case 1:  // unchoke
        if (!fixed(1)) return false;
        if (choked_) {
          choked_ = false;
          if (state_ == State::waiting) state_ = State::buffering;
          auto now = Clock::now();
          for (auto& r : outstanding_)
            if (!r.received && r.resend) {
              r.resend = false;
              r.sent = now;
              request(r);
            }
        }
        return true;
      case 2:
      case 3:  // interested / not interested: a seed never is
        return fixed(1);
      case 4:  // have
        if (!fixed(5)) return false;
        skip_ = 4;
        return true;
      case 5:  // bitfield
        if (len - 1 > kMaxBitfield) {
          protocol_error("bitfield too long");
          return false;
        }
        skip_ = len - 1;
        return true;
      case 7: {  // piece
        if (len > kMaxMessage) {
          protocol_error("piece message too long");
          return false;
        }
        uint32_t piece = be32(hdr_.data() + 5), begin = be32(hdr_.data() + 9), length = len - 9;
        current_ = nullptr;
        for (auto& r : outstanding_)
          if (!r.received && r.piece == piece && r.begin == begin) {
            current_ = &r;
            break;
          }
        if (!current_ || current_->length != length) {
          // after a choke a discarded request may still be answered twice; otherwise wrong
          if (!current_ && ever_choked_) {
            ++G.unexpected;
            skip_ = length;
            return true;
          }
          protocol_error(current_ ? "block of the wrong length" : "block that was not requested");
          return false;
        }
        payload_ = length;
        payload_pos_ = 0;
        verifying_ = G.verify_fd >= 0 && ++verify_counter_ % G.opt.verify_every == 0;
        if (payload_ == 0) block_done();
        return true;
      }
      default:  // request, cancel, port, extended, fast-extension messages: not ours to act on
        if (len > kMaxMessage) {
          protocol_error("unknown message too long");
          return false;
        }
        skip_ = len - 1;
        return true;
    }
  }

  bool verify(const uint8_t* p, size_t k) {
    uint64_t off = uint64_t(current_->piece) * G.opt.piece_length + current_->begin + payload_pos_;
    ssize_t r = ::pread(G.verify_fd, G.vbuf.data(), k, static_cast<off_t>(off));
    if (r != static_cast<ssize_t>(k) || std::memcmp(G.vbuf.data(), p, k) != 0) {
      protocol_error("block content differs from --verify-file");
      return false;
    }
    if (payload_ == k) ++G.c.verified;
    return true;
  }

  void block_done() {
    auto now = Clock::now();
    Request& r = *current_;
    r.received = true;
    current_ = nullptr;
    G.c.bytes += r.length;
    ++G.c.blocks;
    if (G.measuring) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - r.sent).count();
      G.latencies_us.push_back(static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX)));
    }
    while (!outstanding_.empty() && outstanding_.front().received) {
      contig_ += outstanding_.front().length;
      outstanding_.pop_front();
    }
  }

  // request what playback needs: up to `buffer` seconds ahead, at most `pipeline` at once
  void top_up(Clock::time_point now) {
    if (choked_ || state_ < State::buffering || state_ == State::dead) return;
    uint64_t pos = state_ == State::playing ? played(now) : base_;
    uint64_t until = pos + static_cast<uint64_t>(G.opt.buffer * G.rate_Bps);
    while (requested_ < until && static_cast<int>(outstanding_.size()) < G.opt.pipeline) {
      uint32_t psize = piece_size(next_piece_);
      Request r{next_piece_, next_begin_, std::min(kBlock, psize - next_begin_), now};
      next_begin_ += r.length;
      if (next_begin_ == psize) {
        next_begin_ = 0;
        next_piece_ = static_cast<uint32_t>((next_piece_ + 1) % G.num_pieces);
      }
      requested_ += r.length;
      outstanding_.push_back(r);
      request(r);
    }
  }
  void request(const Request& r) {
    put32(out_, 13);
    out_ += static_cast<char>(6);
    put32(out_, r.piece);
    put32(out_, r.begin);
    put32(out_, r.length);
  }

  tcp::socket sock_;
  int id_;
  std::array<char, 20> peer_id_{};
  State state_ = State::idle;
  std::string out_;
  bool writing_ = false;
  Clock::time_point last_send_{}, connect_at_{}, played_at_{};
  // parser
  bool handshaken_ = false;
  std::array<uint8_t, 68> hdr_{};
  size_t hdr_have_ = 0;
  uint64_t skip_ = 0, payload_ = 0, payload_pos_ = 0;
  Request* current_ = nullptr;  // points into outstanding_ (a deque: stable under push_back)
  bool verifying_ = false;
  uint64_t verify_counter_ = 0;
  // peer state
  bool choked_ = true, ever_choked_ = false;
  std::deque<Request> outstanding_;
  uint32_t next_piece_ = 0, next_begin_ = 0;
  uint64_t requested_ = 0;  // stream bytes requested so far
  uint64_t contig_ = 0;     // stream bytes received without a gap
  // playback
  uint64_t base_ = 0;       // stream position when playback (re)started
  Clock::time_point resume_at_{}, stall_start_{};
  uint64_t stalls_ = 0;
  double stall_total_ = 0;
};

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr,
               "peer_load: %s\n"
               "usage: peer_load --port P[,P2,...] --info-hash HEX40 --piece-length L --total-size S [--host H]\n"
               "  [--conns N] [--rate-kbit K] [--buffer S] [--prebuffer S] [--rebuffer S] [--pipeline K]\n"
               "  [--ramp CONN/S] [--start-timeout S] [--warmup S] [--duration S] [--src-ips 0|1]\n"
               "  [--verify-file F] [--verify-every K] [--seed X] [--server-pid P[,P2,...]] [--server-core C]\n"
               "  [--load-core C]\n",
               msg);
  std::exit(1);
}

// "1,2,3" -> {1, 2, 3}
std::vector<int> int_list(const std::string& v) {
  std::vector<int> out;
  size_t i = 0;
  while (i <= v.size()) {
    size_t j = v.find(',', i);
    if (j == std::string::npos) j = v.size();
    if (j > i) out.push_back(std::stoi(v.substr(i, j - i)));
    i = j + 1;
  }
  return out;
}

Options parse(int argc, char** argv) {
  Options o;
  std::string ih;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + a).c_str());
    std::string v = argv[++i];
    if (a == "--host") o.host = v;
    else if (a == "--port" || a == "--ports") {
      for (int p : int_list(v)) {
        if (p < 1 || p > 65535) usage(("bad port in " + a + " " + v).c_str());
        o.ports.push_back(static_cast<uint16_t>(p));
      }
    }
    else if (a == "--info-hash") ih = v;
    else if (a == "--piece-length") o.piece_length = std::stoull(v);
    else if (a == "--total-size") o.total_size = std::stoull(v);
    else if (a == "--conns") o.conns = std::stoi(v);
    else if (a == "--rate-kbit") o.rate_kbit = std::stod(v);
    else if (a == "--buffer") o.buffer = std::stod(v);
    else if (a == "--prebuffer") o.prebuffer = std::stod(v);
    else if (a == "--rebuffer") o.rebuffer = std::stod(v);
    else if (a == "--pipeline") o.pipeline = std::stoi(v);
    else if (a == "--ramp") o.ramp = std::stod(v);
    else if (a == "--start-timeout") o.start_timeout = std::stod(v);
    else if (a == "--warmup") o.warmup = std::stod(v);
    else if (a == "--duration") o.duration = std::stod(v);
    else if (a == "--src-ips") o.src_ips = v != "0";
    else if (a == "--verify-file") o.verify_file = v;
    else if (a == "--verify-every") o.verify_every = std::max<uint64_t>(1, std::stoull(v));
    else if (a == "--seed") o.seed = std::stoull(v);
    else if (a == "--server-pid") {
      for (int p : int_list(v))
        if (p > 0) o.server_pids.push_back(p);
    }
    else if (a == "--server-core") o.server_core = std::stoi(v);
    else if (a == "--load-core") o.load_core = std::stoi(v);
    else usage(("unknown option " + a).c_str());
  }
  if (o.ports.empty()) usage("--port is required");
  if (ih.size() != 40) usage("--info-hash needs 40 hex digits");
  for (int i = 0; i < 20; ++i) {
    unsigned x = 0;
    if (std::sscanf(ih.c_str() + 2 * i, "%2x", &x) != 1) usage("--info-hash needs 40 hex digits");
    o.info_hash[i] = static_cast<uint8_t>(x);
  }
  if (!o.piece_length || o.piece_length % kBlock || !o.total_size) usage("--piece-length (a multiple of 16 KiB) and --total-size are required");
  if (o.conns < 1 || (o.src_ips && o.conns > 65000)) usage("--conns: 1..65000");
  if (o.pipeline < 1 || o.rate_kbit <= 0 || o.ramp <= 0) usage("--pipeline, --rate-kbit and --ramp must be positive");
  return o;
}

double percentile(std::vector<uint32_t>& v, double q) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  G.opt = parse(argc, argv);
  const Options& o = G.opt;
  G.num_pieces = (o.total_size + o.piece_length - 1) / o.piece_length;
  G.rate_Bps = o.rate_kbit * 1000 / 8;
  if (!o.verify_file.empty()) {
    G.verify_fd = ::open(o.verify_file.c_str(), O_RDONLY);
    if (G.verify_fd < 0) usage(("cannot open --verify-file " + o.verify_file).c_str());
  }

  asio::io_context ioc(1);
  std::vector<tcp::endpoint> eps;
  for (uint16_t port : o.ports) eps.emplace_back(asio::ip::make_address(o.host), port);
  std::vector<std::shared_ptr<Viewer>> viewers;
  viewers.reserve(o.conns);
  for (int i = 0; i < o.conns; ++i)
    viewers.push_back(std::make_shared<Viewer>(ioc, i, Rng(splitmix(o.seed * 1000003 + i))));

  // phases, driven by the kTick timer
  enum class Phase { ramp, startup, warmup, measure, done } phase = Phase::ramp;
  G.t0 = Clock::now();
  int started = 0, connected = 0;
  Clock::time_point t_phase = G.t0, t_last_print = G.t0;
  Counters last{}, at_measure{};
  double cpu0 = 0, srv0 = 0, score0 = 0, lcore0 = 0, mach0 = 0, secs = 0;
  double r_cpu = 0, r_srv = 0, r_score = 0, r_lcore = 0, r_rest = 0;
  long rss_kb = 0, rss_anon_kb = 0, rss_peak_kb = 0;
  std::vector<double> srv_each0, r_srv_each;  // per server pid
  auto servers_cpu = [&](std::vector<double>& each) {
    each.clear();
    double sum = 0;
    for (int pid : o.server_pids) sum += each.emplace_back(proc_cpu_seconds(pid));
    return sum;
  };
  Counters result{};
  asio::steady_timer timer(ioc);
  int ticks = 0;
  std::function<void(boost::system::error_code)> on_tick = [&](boost::system::error_code) {
    auto now = Clock::now();
    double t = std::chrono::duration<double>(now - G.t0).count();
    if (phase == Phase::ramp) {
      int due = std::min(o.conns, static_cast<int>(t * o.ramp) + 1);
      for (; started < due; ++started)
        viewers[started]->start(eps[started % eps.size()], [&](bool ok) { connected += ok; });
      if (started == o.conns) {
        phase = Phase::startup;
        t_phase = now;
      }
    }
    int playing = 0, stalled = 0, waiting = 0, dead = 0;
    for (auto& v : viewers) {
      v->tick(now);
      switch (v->state()) {
        case State::playing: ++playing; break;
        case State::stalled: ++stalled; break;
        case State::dead: ++dead; break;
        default: ++waiting; break;
      }
    }
    double in_phase = std::chrono::duration<double>(now - t_phase).count();
    if (phase == Phase::startup && (waiting == 0 || in_phase >= o.start_timeout)) {
      if (waiting) std::fprintf(stderr, "%d viewers not playing after %.0f s of start-up\n", waiting, o.start_timeout);
      phase = Phase::warmup;
      t_phase = now;
    } else if (phase == Phase::warmup && in_phase >= o.warmup - 1e-3) {
      phase = Phase::measure;
      t_phase = now;
      G.measuring = true;
      at_measure = G.c;
      cpu0 = cpu_seconds();
      srv0 = servers_cpu(srv_each0);
      score0 = core_busy_seconds(o.server_core);
      lcore0 = core_busy_seconds(o.load_core);
      mach0 = machine_task_seconds();
    } else if (phase == Phase::measure && in_phase >= o.duration - 1e-3) {
      result = G.c;
      secs = in_phase;
      r_cpu = cpu_seconds() - cpu0;
      r_srv = servers_cpu(r_srv_each) - srv0;
      for (size_t i = 0; i < r_srv_each.size(); ++i) r_srv_each[i] -= srv_each0[i];
      r_score = core_busy_seconds(o.server_core) - score0;
      r_lcore = core_busy_seconds(o.load_core) - lcore0;
      r_rest = machine_task_seconds() - mach0 - r_cpu - r_srv;
      for (int pid : o.server_pids) {
        rss_kb += proc_status_kb(pid, "VmRSS");
        rss_anon_kb += proc_status_kb(pid, "RssAnon");
        rss_peak_kb += proc_status_kb(pid, "VmHWM");
      }
      G.measuring = false;
      phase = Phase::done;
      ioc.stop();
      return;
    }
    if (now - t_last_print >= std::chrono::seconds(1)) {
      double dt = std::chrono::duration<double>(now - t_last_print).count();
      static const char* names[] = {"ramp", "startup", "warmup", "measure", "done"};
      std::fprintf(stderr,
                   "[%5.1fs %-7s] conns %d/%d playing %d stalled %d waiting %d dead %d | stalls %" PRIu64
                   " | %.0f Mbit/s %.0f blocks/s\n",
                   t, names[static_cast<int>(phase)], connected, o.conns, playing, stalled, waiting, dead, G.c.stalls,
                   (G.c.bytes - last.bytes) * 8 / dt / 1e6, (G.c.blocks - last.blocks) / dt);
      last = G.c;
      t_last_print = now;
    }
    ++ticks;
    timer.expires_at(G.t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(kTick * (ticks + 1))));
    timer.async_wait(on_tick);
  };
  timer.expires_at(G.t0);
  timer.async_wait(on_tick);
  double limit = o.conns / o.ramp + o.start_timeout + o.warmup + o.duration + 30;
  ioc.run_for(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(limit)));
  if (phase != Phase::done) {
    std::fprintf(stderr, "the run did not finish in %.0f s: giving up\n", limit);
    return 1;
  }

  auto now = Clock::now();
  int playing = 0, never_played = 0, stalled_viewers = 0;
  double stall_s = 0;
  std::vector<uint32_t> startup;
  for (auto& v : viewers) {
    if (v->state() == State::playing || v->state() == State::stalled) ++playing;
    if (!v->ever_played()) ++never_played;
    else startup.push_back(static_cast<uint32_t>(v->startup_s() * 1000));
    if (v->stalls()) ++stalled_viewers;
    stall_s += v->stall_seconds(now);
  }
  uint64_t bytes = result.bytes - at_measure.bytes, blocks = result.blocks - at_measure.blocks;
  std::string each;
  for (double x : r_srv_each) each += (each.empty() ? "" : "/") + std::to_string(static_cast<int>(100 * x / secs + 0.5));
  bool served = connected == o.conns && G.dropped == 0 && never_played == 0 && result.stalls == 0 && G.errors == 0;
  std::printf(
      "RESULT conns=%d connected=%d playing=%d never_played=%d dropped=%" PRIu64 " stalls=%" PRIu64
      " stalled_viewers=%d stall_s=%.1f stalls_window=%" PRIu64 " secs=%.2f gbit_s=%.3f mib_s=%.1f blocks_s=%.0f"
      " lat_p50_ms=%.1f lat_p99_ms=%.1f lat_max_ms=%.1f startup_p99_s=%.2f gen_cpu_pct=%.0f server_cpu_pct=%.0f"
      " server_core_pct=%.0f load_core_pct=%.0f rest_pct=%.0f rss_kb=%ld rss_anon_kb=%ld rss_peak_kb=%ld"
      " verified=%" PRIu64 " errors=%" PRIu64 " unexpected=%" PRIu64 " choked=%" PRIu64 " server_cpu_each=%s served=%d\n",
      o.conns, connected, playing, never_played, G.dropped, result.stalls, stalled_viewers, stall_s,
      result.stalls - at_measure.stalls, secs, bytes * 8 / secs / 1e9, bytes / secs / 1048576.0, blocks / secs,
      percentile(G.latencies_us, 0.5) / 1000, percentile(G.latencies_us, 0.99) / 1000,
      G.latencies_us.empty() ? 0.0 : *std::max_element(G.latencies_us.begin(), G.latencies_us.end()) / 1000.0,
      percentile(startup, 0.99) / 1000, 100 * r_cpu / secs, !o.server_pids.empty() ? 100 * r_srv / secs : -1.0,
      o.server_core >= 0 ? 100 * r_score / secs : -1.0, o.load_core >= 0 ? 100 * r_lcore / secs : -1.0,
      std::max(0.0, 100 * r_rest / secs), rss_kb, rss_anon_kb, rss_peak_kb, result.verified, G.errors, G.unexpected,
      G.chokes, each.empty() ? "-" : each.c_str(), served ? 1 : 0);
  std::fflush(stdout);
  std::_Exit(G.errors ? 2 : 0);
}

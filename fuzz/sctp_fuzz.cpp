// libFuzzer target: an SCTP association (usrsctp) fed packets and timer ticks from the input, as
// a hostile browser behind DTLS could send them. Properties: nothing crashes; no message longer
// than max_message_size and none on a stream id >= streams is delivered; no packet is longer
// than the mtu; no handler call but sctp_send after sctp_closed or close(); sctp_connected and
// sctp_closed come at most once.
//
// Input: one byte of settings, then operations until the input ends.
//   settings: bits 0-1 streams (1, 16, 64, 256), bits 2-3 max_message_size (1 KiB, 16 KiB,
//   64 KiB, 256 KiB), bit 4 start() before the first packet, bit 5 client role.
//   operation (one byte, low 3 bits):
//     0 raw packet:   u16 length (little-endian), bytes; received as they are
//     1 fixed packet: u16 length, bytes; ports, verification tag and SACK made to fit (below)
//     2 COOKIE-ECHO:  u16 length, bytes; a COOKIE-ECHO of the last state cookie the association
//                     sent (in its INIT-ACK), followed by those bytes as more chunks; fixed
//     3 timers:       u8 n; sctp_handle_timers(10 * n + 1)
//     4 send:         u16 size, u8 stream (bit 7: unordered); the association sends a message
//     5 reset:        u8 stream; reset_stream()
//     6 close()
//     7 receive nothing (no-op)
// A fixed packet gets the association's ports, the verification tag it announced (0 when the
// first chunk is an INIT), and each SACK's cumulative TSN ack is taken as an offset from the
// association's initial TSN. The association's tags and TSNs are random, so without this an
// input could never get past the handshake. CRC32c is not checked on input (it is offloaded:
// DTLS authenticates packets), so inputs carry none.
//
// Seeds (fuzz/corpus/sctp/) are dialogues captured from a real usrsctp client: build this file
// with -DSCTP_FUZZ_MAKE_CORPUS and run it with the corpus folder as its argument.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "seedcast/rtc/sctp.hpp"

namespace {

using seedcast::rtc::SctpAssociation;
using seedcast::rtc::SctpOptions;

uint32_t be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
void put_be32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24), p[1] = uint8_t(v >> 16), p[2] = uint8_t(v >> 8), p[3] = uint8_t(v);
}
uint16_t be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }

constexpr uint8_t kInit = 1, kInitAck = 2, kSack = 3, kCookieEcho = 10, kNrSack = 16;
constexpr uint16_t kStateCookie = 7;

// What the association told its peer, read from the packets it sends.
struct Peer {
  uint32_t tag = 0;  // its initiate tag: the verification tag of what it receives
  uint32_t tsn = 0;  // its initial TSN
  std::vector<uint8_t> cookie;

  void read(std::span<const uint8_t> p) {
    for (size_t at = 12; at + 4 <= p.size();) {
      size_t length = be16(&p[at + 2]);
      if (length < 4 || at + length > p.size()) return;
      if ((p[at] == kInit || p[at] == kInitAck) && length >= 20) {
        tag = be32(&p[at + 4]);
        tsn = be32(&p[at + 16]);
        for (size_t q = at + 20; p[at] == kInitAck && q + 4 <= at + length;) {
          size_t plen = be16(&p[q + 2]);
          if (plen < 4 || q + plen > at + length) break;
          if (be16(&p[q]) == kStateCookie) cookie.assign(&p[q + 4], &p[q + plen]);
          q += (plen + 3) & ~size_t{3};
        }
      }
      at += (length + 3) & ~size_t{3};
    }
  }

  void fix(std::vector<uint8_t>& p, const SctpOptions& options) const {
    if (p.size() < 12) return;
    p[0] = uint8_t(options.remote_port >> 8), p[1] = uint8_t(options.remote_port);
    p[2] = uint8_t(options.local_port >> 8), p[3] = uint8_t(options.local_port);
    put_be32(&p[4], p.size() > 12 && p[12] == kInit ? 0 : tag);
    for (size_t at = 12; at + 8 <= p.size();) {
      size_t length = be16(&p[at + 2]);
      if (length < 4) return;
      if (p[at] == kSack || p[at] == kNrSack) put_be32(&p[at + 4], be32(&p[at + 4]) + tsn);
      at += (length + 3) & ~size_t{3};
    }
  }
};

// What the last input achieved (for checking the seeds).
struct Reached {
  bool connected = false;
  size_t messages = 0;
  bool closed = false;
} reached;

struct Checked : SctpAssociation::Handler {
  SctpOptions options;
  Peer peer;
  bool connected = false;
  bool ended = false;  // sctp_closed() came, or close() was called

  void sctp_send(std::span<const uint8_t> packet) override {
    if (packet.size() > options.mtu) std::abort();
    peer.read(packet);
  }
  void sctp_connected() override {
    if (connected || ended) std::abort();
    connected = reached.connected = true;
  }
  void sctp_message(uint16_t stream, uint32_t, std::span<const uint8_t> message) override {
    if (ended || stream >= options.streams || message.size() > options.max_message_size)
      std::abort();
    ++reached.messages;
  }
  void sctp_writable() override {
    if (ended) std::abort();
  }
  void sctp_stream_reset(uint16_t stream) override {
    if (ended || stream >= options.streams) std::abort();
  }
  void sctp_closed(seedcast::error_code) override {
    if (ended) std::abort();
    ended = reached.closed = true;
  }
};

struct Input {
  const uint8_t* p;
  size_t n;
  bool empty() const { return n == 0; }
  uint8_t u8() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  uint16_t u16() { return uint16_t(u8() | u8() << 8); }
  std::vector<uint8_t> bytes(size_t want) {
    size_t take = want < n ? want : n;
    std::vector<uint8_t> out(p, p + take);
    p += take, n -= take;
    return out;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Input in{data, size};
  reached = {};
  uint8_t settings = in.u8();
  Checked h;
  static constexpr uint16_t kStreams[] = {1, 16, 64, 256};
  static constexpr uint32_t kMax[] = {1024, 16384, 65536, 262144};
  h.options.streams = kStreams[settings & 3];
  h.options.max_message_size = kMax[(settings >> 2) & 3];
  h.options.send_buffer = 64 << 10;
  h.options.low_water = 16 << 10;
  auto role = (settings & 0x20) ? SctpAssociation::Role::client : SctpAssociation::Role::server;
  auto sctp = SctpAssociation::create(role, h.options, h);
  if (settings & 0x10) sctp->start();
  std::vector<uint8_t> message;
  while (!in.empty()) {
    switch (in.u8() & 7) {
      case 0: {
        auto packet = in.bytes(in.u16());
        sctp->receive(packet);
        break;
      }
      case 1: {
        auto packet = in.bytes(in.u16());
        h.peer.fix(packet, h.options);
        sctp->receive(packet);
        break;
      }
      case 2: {
        auto more = in.bytes(in.u16());
        size_t length = 4 + h.peer.cookie.size();
        std::vector<uint8_t> packet(12 + ((length + 3) & ~size_t{3}));
        packet[12] = kCookieEcho;
        packet[14] = uint8_t(length >> 8), packet[15] = uint8_t(length);
        if (!h.peer.cookie.empty())
          std::memcpy(&packet[16], h.peer.cookie.data(), h.peer.cookie.size());
        packet.insert(packet.end(), more.begin(), more.end());
        h.peer.fix(packet, h.options);
        sctp->receive(packet);
        break;
      }
      case 3:
        seedcast::rtc::sctp_handle_timers(10u * in.u8() + 1);
        break;
      case 4: {
        size_t length = in.u16();
        uint8_t stream = in.u8();
        message.assign(length, uint8_t(length));
        sctp->send(stream & 0x7f, 53, message, (stream & 0x80) == 0);
        (void)sctp->buffered();
        break;
      }
      case 5:
        sctp->reset_stream(in.u8());
        break;
      case 6:
        sctp->close();
        h.ended = true;
        break;
      default:
        break;
    }
  }
  sctp.reset();
  // Lets usrsctp finish what the destruction queued (the address's removal).
  seedcast::rtc::sctp_handle_timers(10);
  return 0;
}

#ifdef SCTP_FUZZ_MAKE_CORPUS
// Seeds: a real usrsctp client talks to the association under test; each of its packets is
// written as an operation (its COOKIE-ECHO as operation 2, SACKs relative to the server's
// initial TSN), timer ticks and the server's sends as theirs.
#include <cstdio>
#include <deque>
#include <fstream>
#include <functional>
#include <string>

namespace {

struct Client : SctpAssociation::Handler {
  std::deque<std::vector<uint8_t>> out;
  bool connected = false;
  void sctp_send(std::span<const uint8_t> p) override { out.emplace_back(p.begin(), p.end()); }
  void sctp_connected() override { connected = true; }
  void sctp_message(uint16_t, uint32_t, std::span<const uint8_t>) override {}
  void sctp_writable() override {}
  void sctp_stream_reset(uint16_t) override {}
  void sctp_closed(seedcast::error_code) override {}
};

struct Recorder : Checked {
  std::deque<std::vector<uint8_t>> out;
  void sctp_send(std::span<const uint8_t> p) override {
    Checked::sctp_send(p);
    out.emplace_back(p.begin(), p.end());
  }
};

void put16(std::vector<uint8_t>& v, size_t x) {
  v.push_back(uint8_t(x));
  v.push_back(uint8_t(x >> 8));
}

using ServerSend = std::function<void(uint16_t size, uint8_t stream)>;

// One dialogue; `script` runs once a step (21 ms) while the client is up.
void make(const std::string& path, uint8_t settings,
          void (*script)(SctpAssociation& client, const ServerSend& server_send, int step)) {
  std::vector<uint8_t> ops = {settings};
  Recorder s;
  Client c;
  static constexpr uint16_t kStreams[] = {1, 16, 64, 256};
  static constexpr uint32_t kMax[] = {1024, 16384, 65536, 262144};
  s.options.streams = kStreams[settings & 3];
  s.options.max_message_size = kMax[(settings >> 2) & 3];
  s.options.send_buffer = 64 << 10;
  s.options.low_water = 16 << 10;
  SctpOptions co;
  co.max_message_size = 1 << 20;
  auto server = SctpAssociation::create(SctpAssociation::Role::server, s.options, s);
  auto client = SctpAssociation::create(SctpAssociation::Role::client, co, c);
  if (settings & 0x10) server->start();
  client->start();
  for (int step = 0; step < 60; ++step) {
    for (bool any = true; any;) {
      any = false;
      while (!c.out.empty()) {
        any = true;
        auto p = std::move(c.out.front());
        c.out.pop_front();
        if (p.size() > 16 && p[12] == kCookieEcho) {
          size_t length = be16(&p[14]);
          size_t next = 12 + ((length + 3) & ~size_t{3});
          ops.push_back(2);
          put16(ops, p.size() > next ? p.size() - next : 0);
          if (p.size() > next) ops.insert(ops.end(), p.begin() + next, p.end());
        } else {
          auto q = p;
          for (size_t at = 12; at + 8 <= q.size();) {  // SACKs as offsets (Peer::fix)
            size_t length = be16(&q[at + 2]);
            if (length < 4) break;
            if (q[at] == kSack || q[at] == kNrSack)
              put_be32(&q[at + 4], be32(&q[at + 4]) - s.peer.tsn);
            at += (length + 3) & ~size_t{3};
          }
          ops.push_back(1);
          put16(ops, q.size());
          ops.insert(ops.end(), q.begin(), q.end());
        }
        server->receive(p);  // the original, as the server expects it now
      }
      while (!s.out.empty()) {
        any = true;
        auto p = std::move(s.out.front());
        s.out.pop_front();
        client->receive(p);
      }
    }
    ServerSend server_send = [&](uint16_t size, uint8_t stream) {
      ops.push_back(4);
      put16(ops, size);
      ops.push_back(stream);
      std::vector<uint8_t> m(size, uint8_t(size));
      server->send(stream & 0x7f, 53, m, (stream & 0x80) == 0);
    };
    if (c.connected) script(*client, server_send, step);
    ops.push_back(3);
    ops.push_back(2);
    seedcast::rtc::sctp_handle_timers(21);
  }
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(ops.data()), static_cast<std::streamsize>(ops.size()));
  server.reset();
  client.reset();
  LLVMFuzzerTestOneInput(ops.data(), ops.size());
  std::printf("%s: %zu bytes; replayed: connected %d, %zu messages, closed %d\n", path.c_str(),
              ops.size(), reached.connected, reached.messages, reached.closed);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : ".";
  make(dir + "/handshake", 0x06, [](SctpAssociation&, const ServerSend&, int) {});
  make(dir + "/messages", 0x1e, [](SctpAssociation& c, const ServerSend&, int step) {
    std::vector<uint8_t> m(step < 3 ? 3000 * step + 1 : 0, 0x61);
    if (!m.empty()) c.send(uint16_t(step), 51 + 2 * (step & 1), m, step != 1);
  });
  make(dir + "/large_and_reset", 0x02, [](SctpAssociation& c, const ServerSend&, int step) {
    if (step == 0) c.send(1, 53, std::vector<uint8_t>(900, 0x62));
    if (step == 2) c.send(1, 53, std::vector<uint8_t>(3000, 0x62));  // over 1 KiB: aborted
    if (step == 1) c.reset_stream(1);
  });
  make(dir + "/reset_and_shutdown", 0x0e, [](SctpAssociation& c, const ServerSend&, int step) {
    if (step == 0) c.send(2, 50, std::vector<uint8_t>{3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    if (step == 1) c.reset_stream(2);
    if (step == 2) c.send(4, 53, std::vector<uint8_t>(5000, 0x63), false);
    if (step == 5) c.close();
  });
  make(dir + "/server_sends", 0x0f, [](SctpAssociation& c, const ServerSend& send, int step) {
    if (step < 4) send(uint16_t(1000 + 9000 * step), uint8_t(step | (step == 2 ? 0x80 : 0)));
    if (step == 6) c.reset_stream(0);
  });
}
#endif

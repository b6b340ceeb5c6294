// libFuzzer target: the seed side of the BitTorrent peer wire (wire::SeedConnection). The input
// is what a peer sends: byte 0 picks the chunk size the stream is cut into (0: one chunk),
// byte 1 the owner's decisions between chunks (choke, unchoke, have, suggest, keep-alive; 0:
// none, and start() is left to receive()) and, with its top 3 bits set, a seed that has every
// piece (else every 7th is missing), the rest is the peer's byte stream. pump() runs after
// every chunk with a budget that varies. What we send is parsed back and must hold:
//  - nothing crashes, and every message we send is whole and one we may send;
//  - every piece message carries exactly the bytes the host gives for (piece, begin, length),
//    within the piece and max_block, for a piece the host has and can read; never more piece
//    messages than requests the host let through;
//  - every ut_metadata data message carries exactly that piece of the info dictionary;
//  - the requests let through and not yet done never exceed max_queued_requests, and once all
//    is pumped none is left; uploaded() is the payload sent;
//  - after receive() returned false nothing more is sent.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <libtorrent/bdecode.hpp>
#include <libtorrent/bencode.hpp>
#include <libtorrent/entry.hpp>
#include <string>
#include <string_view>

#include "seedcast/wire/seed_connection.hpp"

namespace {

using seedcast::wire::SeedConnection;
using seedcast::wire::Torrent;
using seedcast::wire::Verdict;

constexpr uint32_t kPieces = 1000;  // an info dictionary of two metadata pieces
constexpr uint32_t kPieceLength = 32768;
constexpr uint32_t kLast = 1000;
constexpr size_t kMaxQueued = 16;
constexpr uint32_t kMaxBlock = 16384;
constexpr uint32_t kMetadataPiece = 16384;

void check(bool ok) {
  if (!ok) std::abort();
}

const Torrent& torrent() {
  static const Torrent t = [] {
    Torrent t;
    // The info-hash the corpus's handshakes carry; the connection never hashes the info.
    t.info_hash = seedcast::InfoHash::from_bytes("seedcast-wire-fuzz!!");
    t.num_pieces = kPieces;
    t.piece_length = kPieceLength;
    t.total_length = uint64_t{kPieces - 1} * kPieceLength + kLast;
    lt::entry info;
    info["length"] = static_cast<lt::entry::integer_type>(t.total_length);
    info["name"] = "fuzz.mp4";
    info["piece length"] = lt::entry::integer_type{kPieceLength};
    std::string hashes;
    for (uint32_t i = 0; i < kPieces * 20; ++i) hashes.push_back(static_cast<char>(i * 13));
    info["pieces"] = hashes;
    lt::bencode(std::back_inserter(t.info), info);
    return t;
  }();
  return t;
}

uint32_t u32(const char* p) {
  auto b = [&](int i) { return static_cast<uint32_t>(static_cast<uint8_t>(p[i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

uint8_t byte_at(uint32_t piece, uint64_t offset) {
  return static_cast<uint8_t>(piece * 31 + offset);
}

struct FuzzHost : SeedConnection::Host {
  SeedConnection* conn = nullptr;
  bool dead = false;  // receive() returned false
  int64_t outstanding = 0;
  uint64_t served = 0;
  uint64_t pieces_sent = 0;
  uint64_t payload = 0;
  std::string stream;  // what we sent, not parsed yet from `pos`
  size_t pos = 0;
  bool handshake_seen = false;

  bool complete = false;  // holds every piece (have-all), or all but every 7th (a bitfield)
  bool holds(uint32_t piece) const { return complete || piece % 7 != 3; }
  static bool readable(uint32_t piece) { return piece % 11 != 5; }

  void send(std::string_view bytes) override {
    check(!dead);
    stream.append(bytes);
    parse();
  }
  bool have(uint32_t piece) override { return holds(piece); }
  bool read(uint32_t piece, uint32_t offset, std::span<uint8_t> out) override {
    check(piece < kPieces && holds(piece));
    if (!readable(piece)) return false;
    for (size_t i = 0; i < out.size(); ++i) out[i] = byte_at(piece, offset + i);
    return true;
  }
  Verdict allow(uint32_t piece) override {
    check(piece < kPieces && holds(piece));
    if (piece % 5 == 4) return Verdict::refuse;
    if (piece % 13 == 12) return Verdict::refuse_and_choke;
    if (piece % 17 == 16) conn->choke();  // the policy chokes from inside allow()
    ++served;
    check(++outstanding <= static_cast<int64_t>(kMaxQueued));
    return Verdict::serve;
  }
  void request_done() override { check(--outstanding >= 0); }

  void parse() {
    if (!handshake_seen) {
      if (stream.size() < 68) return;
      check(std::memcmp(stream.data(),
                        "\x13"
                        "BitTorrent protocol",
                        20) == 0);
      check(std::memcmp(stream.data() + 28, torrent().info_hash.bytes().data(), 20) == 0);
      handshake_seen = true;
      pos = 68;
    }
    while (stream.size() - pos >= 4) {
      const uint32_t len = u32(stream.data() + pos);
      check(len <= 64 * 1024);
      if (stream.size() - pos - 4 < len) break;
      if (len > 0) message(std::string_view(stream).substr(pos + 4, len));
      pos += 4 + size_t{len};
    }
    if (pos > 1 << 16) {
      stream.erase(0, pos);
      pos = 0;
    }
  }

  void message(std::string_view m) {
    const uint8_t id = static_cast<uint8_t>(m[0]);
    switch (id) {
      case 0:   // choke
      case 1:   // unchoke
      case 14:  // have all
      case 15:  // have none
        check(m.size() == 1);
        break;
      case 4:   // have
      case 13:  // suggest
        check(m.size() == 5 && u32(m.data() + 1) < kPieces);
        break;
      case 5:  // bitfield
        check(m.size() == 1 + (kPieces + 7) / 8);
        break;
      case 16:  // reject
        check(m.size() == 13);
        break;
      case 7: {  // piece
        check(m.size() > 9);
        const uint32_t piece = u32(m.data() + 1);
        const uint32_t begin = u32(m.data() + 5);
        const size_t length = m.size() - 9;
        check(piece < kPieces && holds(piece) && readable(piece));
        check(length <= kMaxBlock && begin <= torrent().piece_size(piece) &&
              length <= torrent().piece_size(piece) - begin);
        for (size_t i = 0; i < length; ++i)
          check(static_cast<uint8_t>(m[9 + i]) == byte_at(piece, begin + i));
        check(++pieces_sent <= served);
        payload += length;
        break;
      }
      case 20: {  // extended: our handshake, or ut_metadata
        check(m.size() >= 2);
        const std::string_view body = m.substr(2);
        lt::error_code ec;
        int error_pos = 0;
        lt::bdecode_node d =
            lt::bdecode(lt::span<char const>(body.data(), static_cast<std::ptrdiff_t>(body.size())),
                        ec, &error_pos, 8, 100);
        check(!ec && d.type() == lt::bdecode_node::dict_t);
        if (m[1] == 0) break;
        const int64_t type = d.dict_find_int_value("msg_type", -1);
        const size_t dict = static_cast<size_t>(d.data_section().size());
        if (type == 2) {
          check(dict == body.size());
          break;
        }
        check(type == 1);
        const int64_t piece = d.dict_find_int_value("piece", -1);
        check(piece >= 0 && static_cast<uint64_t>(piece) * kMetadataPiece < torrent().info.size());
        check(d.dict_find_int_value("total_size", -1) ==
              static_cast<int64_t>(torrent().info.size()));
        check(body.substr(dict) ==
              std::string_view(torrent().info)
                  .substr(static_cast<size_t>(piece) * kMetadataPiece, kMetadataPiece));
        break;
      }
      default:
        check(false);
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t chunk = data[0] == 0 ? size : data[0];
  const uint8_t actions = data[1];
  std::span<const uint8_t> in(data + 2, size - 2);

  FuzzHost host;
  SeedConnection::Options options;
  options.max_queued_requests = kMaxQueued;
  options.max_block = kMaxBlock;
  options.max_message = 64 * 1024;
  SeedConnection conn(torrent(), {}, host, options);
  host.conn = &conn;
  host.complete = (actions & 0xe0) == 0xe0;
  if (actions != 0) conn.start();

  size_t step = 0;
  auto owner = [&] {
    if (actions == 0) return;
    const uint32_t a = static_cast<uint32_t>((actions + step * 7) % 23);
    const uint32_t piece = static_cast<uint32_t>((step * 131 + actions) % (kPieces + 2));
    switch (a) {
      case 0:
        conn.choke();
        break;
      case 1:
      case 2:
        conn.unchoke();
        break;
      case 3:
        conn.have(piece);
        break;
      case 4:
        conn.suggest(piece);
        break;
      case 5:
        conn.keep_alive();
        break;
      default:
        break;
    }
  };
  bool alive = true;
  while (!in.empty()) {
    const size_t n = std::min(chunk, in.size());
    if (alive && !conn.receive(in.first(n))) {
      alive = false;
      host.dead = true;
    }
    in = in.subspan(n);
    owner();
    const size_t budget = (step * 7919) % 40000;
    const size_t sent = conn.pump(budget);
    check(alive || sent == 0);
    ++step;
  }
  if (!alive) {  // a broken connection stays silent
    check(!conn.receive(in));
    conn.choke();
    conn.unchoke();
    conn.have(1);
    conn.suggest(1);
    conn.keep_alive();
    check(conn.pump(1 << 20) == 0);
    return 0;
  }
  for (size_t i = 0; conn.has_queued(); ++i) {
    check(i < 10000);
    conn.pump(1 << 20);
  }
  check(host.outstanding == 0);  // every request let through went out or was dropped
  check(conn.uploaded() == host.payload);
  return 0;
}

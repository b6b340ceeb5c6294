#include "seedcast/wire/seed_connection.hpp"

#include <algorithm>
#include <cstring>
#include <deque>
#include <iterator>
#include <libtorrent/bdecode.hpp>
#include <libtorrent/bencode.hpp>
#include <libtorrent/entry.hpp>

namespace seedcast::wire {
namespace {

// pstrlen and pstr: a separate literal, or "\x13B" would read as one escape.
constexpr std::string_view kProtocol =
    "\x13"
    "BitTorrent protocol";
constexpr size_t kHandshakeSize = 68;  // pstr (20), reserved (8), info-hash (20), peer id (20)
constexpr size_t kInfoHashAt = 28;
constexpr size_t kPeerIdAt = 48;
constexpr uint32_t kMetadataPiece = 16 * 1024;  // BEP 9
constexpr uint8_t kOurUtMetadata = 1;           // the extended id we announce for ut_metadata
// Malformed requests tolerated before the connection ends. A client that knows the torrent
// never sends one (its bounds come from the same info dictionary), so many mean a broken or
// hostile peer; a few are rejected and forgiven.
constexpr size_t kMaxBadRequests = 64;
// bdecode limits: the dictionaries read here are small and flat ("m" is the deepest).
constexpr int kDecodeDepth = 8;
constexpr int kHandshakeTokens = 1000;
constexpr int kMetadataTokens = 64;
// Receive-buffer capacity kept after a message; a larger one is given back.
constexpr size_t kKeepBuffer = 64 * 1024;

// Message ids: BEP 3, BEP 6 (13..17), BEP 10 (20).
namespace msg {
constexpr uint8_t choke = 0;
constexpr uint8_t unchoke = 1;
constexpr uint8_t interested = 2;
constexpr uint8_t not_interested = 3;
constexpr uint8_t have = 4;
constexpr uint8_t bitfield = 5;
constexpr uint8_t request = 6;
constexpr uint8_t piece = 7;
constexpr uint8_t cancel = 8;
constexpr uint8_t port = 9;
constexpr uint8_t suggest = 13;
constexpr uint8_t have_all = 14;
constexpr uint8_t have_none = 15;
constexpr uint8_t reject = 16;
constexpr uint8_t allowed_fast = 17;
constexpr uint8_t extended = 20;
}  // namespace msg

// ut_metadata msg_type (BEP 9).
constexpr int64_t kMetadataRequest = 0;
constexpr int64_t kMetadataData = 1;
constexpr int64_t kMetadataReject = 2;

uint32_t get_u32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

void put_u32(char* p, uint32_t v) {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>(v >> 16);
  p[2] = static_cast<char>(v >> 8);
  p[3] = static_cast<char>(v);
}

lt::bdecode_node decode(std::span<const uint8_t> bytes, int token_limit) {
  lt::error_code ec;
  int error_pos = 0;
  lt::bdecode_node node =
      lt::bdecode(lt::span<char const>(reinterpret_cast<const char*>(bytes.data()),
                                       static_cast<std::ptrdiff_t>(bytes.size())),
                  ec, &error_pos, kDecodeDepth, token_limit);
  if (ec || node.type() != lt::bdecode_node::dict_t) return {};
  return node;
}

}  // namespace

uint32_t Torrent::piece_size(uint32_t piece) const {
  if (piece >= num_pieces) return 0;
  if (piece + 1 < num_pieces) return piece_length;
  const uint64_t start = uint64_t{piece} * piece_length;
  if (total_length <= start) return 0;
  return static_cast<uint32_t>(std::min<uint64_t>(total_length - start, piece_length));
}

struct SeedConnection::Impl {
  struct Request {
    uint32_t piece;
    uint32_t begin;
    uint32_t length;
    friend bool operator==(const Request&, const Request&) = default;
  };
  enum class Reading { handshake, length, body };
  // The owner's last word on choking (a refusal that chokes counts as choke()).
  enum class Decision { none, choke, unchoke };

  Impl(const Torrent& t, const std::array<uint8_t, 20>& id, Host& h, Options o)
      : torrent(t),
        local_id(id),
        host(h),
        options(std::move(o)),
        bitfield_bytes((size_t{t.num_pieces} + 7) / 8),
        max_message(std::max(options.max_message, bitfield_bytes + 1)),
        metadata_pieces(
            static_cast<uint32_t>((t.info.size() + kMetadataPiece - 1) / kMetadataPiece)) {}

  const Torrent& torrent;
  const std::array<uint8_t, 20> local_id;
  Host& host;
  const Options options;
  const size_t bitfield_bytes;
  const size_t max_message;
  const uint32_t metadata_pieces;

  bool started = false;         // our handshake went out
  bool peer_handshake = false;  // its handshake came in
  bool handshaken = false;      // both, and our opening messages went out
  bool dead = false;            // receive() returned false
  bool peer_extended = false;   // BEP 10 bit
  bool fast = false;            // BEP 6 on both sides (we always set it)
  std::array<uint8_t, 20> remote_id{};
  bool choked = true;
  bool interested = false;
  Decision decision = Decision::none;
  uint8_t peer_ut_metadata = 0;  // its id for ut_metadata; 0: it has none
  std::deque<Request> requests;  // served by allow(), not sent yet
  std::deque<uint32_t> metadata_requests;
  size_t bad_requests = 0;
  uint64_t uploaded = 0;

  Reading reading = Reading::handshake;
  size_t need = kHandshakeSize;  // bytes of the unit being read
  std::vector<uint8_t> in;       // a unit that came in parts; at most `need` bytes
  std::string out;               // pump's piece and metadata messages, the extended handshake

  void send(std::string_view bytes) {
    if (!dead) host.send(bytes);
  }

  void send_simple(uint8_t id) {
    char m[5];
    put_u32(m, 1);
    m[4] = static_cast<char>(id);
    send({m, sizeof m});
  }

  void send_index(uint8_t id, uint32_t index) {
    char m[9];
    put_u32(m, 5);
    m[4] = static_cast<char>(id);
    put_u32(m + 5, index);
    send({m, sizeof m});
  }

  // BEP 6 reject; without BEP 6 a refused request is dropped silently.
  void reject(const Request& r) {
    if (!fast) return;
    char m[17];
    put_u32(m, 13);
    m[4] = static_cast<char>(msg::reject);
    put_u32(m + 5, r.piece);
    put_u32(m + 9, r.begin);
    put_u32(m + 13, r.length);
    send({m, sizeof m});
  }

  // Builds an extended message for the peer's `ext_id` around bencoded `e` in `out`.
  void build_extended(uint8_t ext_id, const lt::entry& e) {
    out.assign(4, '\0');
    out.push_back(static_cast<char>(msg::extended));
    out.push_back(static_cast<char>(ext_id));
    lt::bencode(std::back_inserter(out), e);
  }

  void finish_message() { put_u32(out.data(), static_cast<uint32_t>(out.size() - 4)); }

  // A ut_metadata data (with the piece) or reject message, built in `out`.
  void build_metadata(int64_t type, int64_t piece) {
    lt::entry e;
    e["msg_type"] = lt::entry::integer_type{type};
    e["piece"] = lt::entry::integer_type{piece};
    if (type == kMetadataData) {
      e["total_size"] = static_cast<lt::entry::integer_type>(torrent.info.size());
      build_extended(peer_ut_metadata, e);
      const size_t start = static_cast<size_t>(piece) * kMetadataPiece;
      out.append(torrent.info, start, kMetadataPiece);  // the last piece is shorter
    } else {
      build_extended(peer_ut_metadata, e);
    }
    finish_message();
  }

  void start() {
    if (started || dead) return;
    started = true;
    char h[kHandshakeSize] = {};
    std::memcpy(h, kProtocol.data(), kProtocol.size());
    h[20 + 5] |= 0x10;  // BEP 10: extension protocol
    h[20 + 7] |= 0x04;  // BEP 6: fast extension
    std::memcpy(h + kInfoHashAt, torrent.info_hash.bytes().data(), 20);
    std::memcpy(h + kPeerIdAt, local_id.data(), 20);
    send({h, sizeof h});
    after_handshakes();
  }

  // Once both handshakes are through: the extended handshake, what we have, an early unchoke.
  void after_handshakes() {
    if (handshaken || !started || !peer_handshake || dead) return;
    handshaken = true;
    if (peer_extended) {
      lt::entry e;
      e["m"]["ut_metadata"] = lt::entry::integer_type{kOurUtMetadata};
      if (!torrent.info.empty())
        e["metadata_size"] = static_cast<lt::entry::integer_type>(torrent.info.size());
      e["reqq"] = static_cast<lt::entry::integer_type>(options.max_queued_requests);
      e["v"] = options.client_name;
      build_extended(0, e);
      finish_message();
      send(out);
    }
    std::string bits(bitfield_bytes, '\0');
    uint32_t count = 0;
    for (uint32_t i = 0; i < torrent.num_pieces; ++i) {
      if (!host.have(i)) continue;
      ++count;
      bits[i / 8] = static_cast<char>(bits[i / 8] | (0x80 >> (i % 8)));
    }
    if (fast && count == torrent.num_pieces) {
      send_simple(msg::have_all);
    } else if (fast && count == 0) {
      send_simple(msg::have_none);
    } else if (count > 0) {  // BEP 3: a peer with nothing may leave the bitfield out
      std::string m(5, '\0');
      put_u32(m.data(), static_cast<uint32_t>(1 + bits.size()));
      m[4] = static_cast<char>(msg::bitfield);
      m += bits;
      send(m);
    }
    if (decision == Decision::unchoke) do_unchoke();
  }

  void do_choke() {
    if (choked || dead) return;
    choked = true;
    send_simple(msg::choke);
    // BEP 6: choke first, then reject what is queued (so the peer does not ask again at once).
    std::deque<Request> dropped;
    dropped.swap(requests);
    for (const Request& r : dropped) {
      reject(r);
      host.request_done();
    }
    host.peer_choked(true);
  }

  void do_unchoke() {
    if (!choked || !handshaken || dead) return;
    choked = false;
    send_simple(msg::unchoke);
    host.peer_choked(false);
  }

  bool fail() {
    dead = true;
    requests.clear();
    metadata_requests.clear();
    std::vector<uint8_t>().swap(in);
    return false;
  }

  // A handshake's first bytes: pstr and info-hash as far as they have come.
  bool handshake_prefix_ok(std::span<const uint8_t> p) const {
    if (std::memcmp(p.data(), kProtocol.data(), std::min(p.size(), kProtocol.size())) != 0)
      return false;
    if (p.size() > kInfoHashAt &&
        std::memcmp(p.data() + kInfoHashAt, torrent.info_hash.bytes().data(),
                    std::min(p.size(), kPeerIdAt) - kInfoHashAt) != 0)
      return false;
    return true;
  }

  bool receive(std::span<const uint8_t> bytes) {
    if (dead) return false;
    start();
    while (!bytes.empty()) {
      std::span<const uint8_t> unit;
      bool buffered = false;
      if (in.empty() && bytes.size() >= need) {  // whole in this chunk: read it in place
        unit = bytes.first(need);
        bytes = bytes.subspan(need);
      } else {
        const size_t take = std::min(need - in.size(), bytes.size());
        if (in.size() + take > in.capacity())
          in.reserve(std::min(need, std::max(in.size() + take, 2 * in.capacity())));
        in.insert(in.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(take));
        bytes = bytes.subspan(take);
        if (reading == Reading::handshake && !handshake_prefix_ok(in)) return fail();
        if (in.size() < need) return true;  // the chunk is used up
        unit = in;
        buffered = true;
      }
      const bool ok = on_unit(unit);
      if (buffered) {
        in.clear();
        if (in.capacity() > kKeepBuffer) std::vector<uint8_t>().swap(in);
      }
      if (!ok || dead) return fail();
    }
    return true;
  }

  bool on_unit(std::span<const uint8_t> u) {
    switch (reading) {
      case Reading::handshake:
        if (!handshake_prefix_ok(u)) return false;
        peer_handshake = true;
        peer_extended = (u[20 + 5] & 0x10) != 0;
        fast = (u[20 + 7] & 0x04) != 0;
        std::memcpy(remote_id.data(), u.data() + kPeerIdAt, 20);
        reading = Reading::length;
        need = 4;
        after_handshakes();
        return true;
      case Reading::length: {
        const uint32_t length = get_u32(u.data());
        if (length == 0) return true;  // keep-alive
        if (length > max_message) return false;
        reading = Reading::body;
        need = length;
        return true;
      }
      case Reading::body:
        reading = Reading::length;
        need = 4;
        return on_message(u);
    }
    return false;
  }

  // One whole message: its id, then its payload. false: a protocol error.
  bool on_message(std::span<const uint8_t> m) {
    const size_t size = m.size();
    switch (m[0]) {
      case msg::choke:
      case msg::unchoke:  // a seed downloads nothing: the peer's choking does not matter
        return size == 1;
      case msg::interested:
        if (size != 1) return false;
        if (!interested) {
          interested = true;
          host.peer_interested(true);
        }
        if (decision != Decision::choke) do_unchoke();
        return true;
      case msg::not_interested:
        if (size != 1) return false;
        if (interested) {
          interested = false;
          host.peer_interested(false);
        }
        return true;
      case msg::have: {
        if (size != 5) return false;
        const uint32_t piece = get_u32(&m[1]);
        if (piece >= torrent.num_pieces) return false;
        host.peer_have(piece);
        return true;
      }
      case msg::bitfield: {
        if (size != 1 + bitfield_bytes) return false;
        std::vector<bool> pieces(torrent.num_pieces);  // spare bits are not read
        for (uint32_t i = 0; i < torrent.num_pieces; ++i)
          pieces[i] = (m[1 + i / 8] & (0x80 >> (i % 8))) != 0;
        host.peer_bitfield(pieces);
        return true;
      }
      case msg::request:
        if (size != 13) return false;
        return on_request({get_u32(&m[1]), get_u32(&m[5]), get_u32(&m[9])});
      case msg::piece:  // never asked for: dropped (bounded by max_message)
        return size >= 9;
      case msg::cancel:
        if (size != 13) return false;
        on_cancel({get_u32(&m[1]), get_u32(&m[5]), get_u32(&m[9])});
        return true;
      case msg::port:  // DHT: none over a data channel
        return size == 3;
      case msg::suggest:
      case msg::allowed_fast:  // a seed downloads nothing
        return size == 5 && fast;
      case msg::reject:  // we never request
        return size == 13 && fast;
      case msg::have_all:
        if (size != 1 || !fast) return false;
        host.peer_have_all();
        return true;
      case msg::have_none:
        if (size != 1 || !fast) return false;
        host.peer_have_none();
        return true;
      case msg::extended:
        if (size < 2) return false;
        if (!peer_extended) return true;  // it did not say it speaks BEP 10
        if (m[1] == 0)
          on_extended_handshake(m.subspan(2));
        else if (m[1] == kOurUtMetadata)
          on_metadata_message(m.subspan(2));
        return true;  // other extensions: not announced, so not ours to read
      default:
        return true;  // an id from a later extension
    }
  }

  bool on_request(const Request& r) {
    const uint32_t size = torrent.piece_size(r.piece);  // 0 out of range
    if (r.length == 0 || r.length > options.max_block || r.begin > size ||
        r.length > size - r.begin) {
      if (++bad_requests > kMaxBadRequests) return false;
      reject(r);
      return true;
    }
    if (choked) {  // sent before our choke reached it, or never unchoked
      reject(r);
      return true;
    }
    if (std::find(requests.begin(), requests.end(), r) != requests.end()) return true;
    if (requests.size() >= options.max_queued_requests || !host.have(r.piece)) {
      reject(r);
      return true;
    }
    switch (host.allow(r.piece)) {
      case Verdict::serve:
        if (choked || dead) {  // the host choked it from allow(): the choke wins
          reject(r);
          host.request_done();
          return true;
        }
        requests.push_back(r);
        return true;
      case Verdict::refuse:
        if (fast) {
          reject(r);
        } else {  // BEP 3 drops a request only with a choke
          decision = Decision::choke;
          do_choke();
        }
        return true;
      case Verdict::refuse_and_choke:
        decision = Decision::choke;
        do_choke();
        reject(r);
        return true;
    }
    return true;
  }

  void on_cancel(const Request& r) {
    auto it = std::find(requests.begin(), requests.end(), r);
    if (it == requests.end()) return;  // sent already, or never queued
    requests.erase(it);
    reject(r);  // BEP 6: even a cancelled request gets exactly one answer
    host.request_done();
  }

  void on_extended_handshake(std::span<const uint8_t> payload) {
    lt::bdecode_node d = decode(payload, kHandshakeTokens);
    if (!d) return;  // as WebTorrent does: an unreadable handshake changes nothing
    lt::bdecode_node m = d.dict_find_dict("m");
    if (!m) return;
    lt::bdecode_node id = m.dict_find_int("ut_metadata");
    if (!id) return;
    const int64_t v = id.int_value();
    if (v >= 0 && v <= 255) peer_ut_metadata = static_cast<uint8_t>(v);  // 0 turns it off
  }

  void on_metadata_message(std::span<const uint8_t> payload) {
    lt::bdecode_node d = decode(payload, kMetadataTokens);
    if (!d) return;
    // Data and reject answer requests of a peer fetching metadata; a seed never fetches.
    if (d.dict_find_int_value("msg_type", -1) != kMetadataRequest) return;
    lt::bdecode_node p = d.dict_find_int("piece");
    if (!p || peer_ut_metadata == 0) return;  // nothing to answer, or no id to answer with
    const int64_t piece = p.int_value();
    if (piece < 0 || piece >= int64_t{metadata_pieces} ||
        metadata_requests.size() >= metadata_pieces) {
      build_metadata(kMetadataReject, piece);
      send(out);
      return;
    }
    metadata_requests.push_back(static_cast<uint32_t>(piece));
  }

  size_t pump(size_t budget) {
    if (dead || !handshaken) return 0;
    size_t sent = 0;
    bool progress = false;  // a data message went out: from now on only what fits the budget
    auto fits = [&](size_t n) { return !progress || (sent <= budget && n <= budget - sent); };
    while (!metadata_requests.empty() && !dead) {
      if (peer_ut_metadata == 0) {  // it turned ut_metadata off since
        metadata_requests.clear();
        break;
      }
      build_metadata(kMetadataData, metadata_requests.front());
      if (!fits(out.size())) return sent;
      metadata_requests.pop_front();
      send(out);
      sent += out.size();
      progress = true;
    }
    while (!requests.empty() && !dead) {
      const Request r = requests.front();
      const size_t n = 13 + size_t{r.length};
      if (!fits(n)) break;
      requests.pop_front();
      out.resize(n);
      put_u32(out.data(), static_cast<uint32_t>(n - 4));
      out[4] = static_cast<char>(msg::piece);
      put_u32(out.data() + 5, r.piece);
      put_u32(out.data() + 9, r.begin);
      std::span<uint8_t> block(reinterpret_cast<uint8_t*>(out.data()) + 13, r.length);
      if (!host.read(r.piece, r.begin, block)) {  // never served wrong: refused
        if (fast) sent += 17;
        reject(r);
        host.request_done();
        continue;
      }
      send(out);
      uploaded += r.length;
      sent += n;
      progress = true;
      host.request_done();
    }
    return sent;
  }
};

SeedConnection::SeedConnection(const Torrent& torrent, const std::array<uint8_t, 20>& local_peer_id,
                               Host& host, Options options)
    : impl_(std::make_unique<Impl>(torrent, local_peer_id, host, std::move(options))) {}

SeedConnection::SeedConnection(SeedConnection&&) noexcept = default;
SeedConnection& SeedConnection::operator=(SeedConnection&&) noexcept = default;
SeedConnection::~SeedConnection() = default;

void SeedConnection::start() { impl_->start(); }
bool SeedConnection::receive(std::span<const uint8_t> bytes) { return impl_->receive(bytes); }
size_t SeedConnection::pump(size_t budget) { return impl_->pump(budget); }

bool SeedConnection::has_queued() const {
  return !impl_->requests.empty() || !impl_->metadata_requests.empty();
}

void SeedConnection::choke() {
  if (impl_->dead) return;
  impl_->decision = Impl::Decision::choke;
  impl_->do_choke();
}

void SeedConnection::unchoke() {
  if (impl_->dead) return;
  impl_->decision = Impl::Decision::unchoke;
  impl_->do_unchoke();
}

void SeedConnection::suggest(uint32_t piece) {
  if (impl_->handshaken && impl_->fast && piece < impl_->torrent.num_pieces)
    impl_->send_index(msg::suggest, piece);
}

void SeedConnection::have(uint32_t piece) {
  if (impl_->handshaken && piece < impl_->torrent.num_pieces) impl_->send_index(msg::have, piece);
}

void SeedConnection::keep_alive() {
  if (impl_->handshaken) impl_->send(std::string_view("\0\0\0\0", 4));
}

bool SeedConnection::handshaken() const { return impl_->handshaken; }
bool SeedConnection::fast() const { return impl_->fast; }
bool SeedConnection::choked() const { return impl_->choked; }
bool SeedConnection::peer_interested() const { return impl_->interested; }
const std::array<uint8_t, 20>& SeedConnection::remote_peer_id() const { return impl_->remote_id; }
uint64_t SeedConnection::uploaded() const { return impl_->uploaded; }

}  // namespace seedcast::wire

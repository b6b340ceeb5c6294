#include "seedcast/wire/seed_connection.hpp"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <functional>
#include <iterator>
#include <libtorrent/bdecode.hpp>
#include <libtorrent/bencode.hpp>
#include <libtorrent/entry.hpp>
#include <limits>
#include <map>
#include <memory>
#include <set>

// The seed side of the peer wire against a scripted peer: the peer's bytes are written by hand
// (small helpers below), and what the connection sends is cut into messages and checked.

namespace seedcast::wire {
namespace {

constexpr uint32_t kBlock = 16384;
constexpr uint32_t kPieceLength = 2 * kBlock;
constexpr size_t kPieceMessage = 13 + kBlock;  // a whole block's message on the wire

// Message ids (BEP 3, BEP 6, BEP 10).
constexpr uint8_t kChoke = 0, kUnchoke = 1, kInterested = 2, kNotInterested = 3, kHave = 4,
                  kBitfield = 5, kRequest = 6, kPiece = 7, kCancel = 8, kPort = 9, kSuggest = 13,
                  kHaveAll = 14, kHaveNone = 15, kReject = 16, kAllowedFast = 17, kExtended = 20;

std::array<uint8_t, 20> peer_id(char c) {
  std::array<uint8_t, 20> id;
  id.fill(static_cast<uint8_t>(c));
  return id;
}

std::string sha1(std::string_view s) {
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
  return std::string(reinterpret_cast<const char*>(md), sizeof md);
}

// A torrent of `pieces` pieces of kPieceLength, the last one `last` bytes long, with a real
// info dictionary (bencoded by libtorrent) and its SHA-1 as the info-hash.
Torrent make_torrent(uint32_t pieces, uint32_t last) {
  Torrent t;
  t.num_pieces = pieces;
  t.piece_length = kPieceLength;
  t.total_length = uint64_t{pieces - 1} * kPieceLength + last;
  lt::entry info;
  info["length"] = static_cast<lt::entry::integer_type>(t.total_length);
  info["name"] = "video.mp4";
  info["piece length"] = lt::entry::integer_type{kPieceLength};
  std::string hashes;
  for (uint32_t i = 0; i < pieces * 20; ++i) hashes.push_back(static_cast<char>(i * 7 + 1));
  info["pieces"] = hashes;
  lt::bencode(std::back_inserter(t.info), info);
  t.info_hash = InfoHash::from_bytes(sha1(t.info).data());
  return t;
}

// The bytes the seed holds, as a function of their place.
uint8_t byte_at(uint32_t piece, uint64_t offset) {
  return static_cast<uint8_t>(piece * 31 + offset * 7 + 3);
}

std::string block(uint32_t piece, uint32_t begin, uint32_t length) {
  std::string s;
  for (uint32_t i = 0; i < length; ++i) s.push_back(static_cast<char>(byte_at(piece, begin + i)));
  return s;
}

struct TestHost : SeedConnection::Host {
  std::string out;
  std::vector<bool> has;
  std::set<uint32_t> unreadable;
  std::map<uint32_t, Verdict> verdicts;
  std::vector<uint32_t> allowed;  // pieces allow() was asked about
  std::function<void()> on_allow;
  int done = 0;
  std::vector<bool> choked_events;
  std::vector<bool> interest_events;
  std::vector<uint32_t> haves;
  std::vector<std::vector<bool>> bitfields;
  int have_all = 0;
  int have_none = 0;

  void reset() {
    out.clear();
    allowed.clear();
    done = 0;
    choked_events.clear();
    interest_events.clear();
    haves.clear();
    bitfields.clear();
    have_all = have_none = 0;
  }

  void send(std::string_view bytes) override { out.append(bytes); }
  bool have(uint32_t piece) override { return piece < has.size() && has[piece]; }
  bool read(uint32_t piece, uint32_t offset, std::span<uint8_t> buf) override {
    if (unreadable.count(piece)) return false;
    for (size_t i = 0; i < buf.size(); ++i) buf[i] = byte_at(piece, offset + i);
    return true;
  }
  Verdict allow(uint32_t piece) override {
    allowed.push_back(piece);
    if (on_allow) on_allow();
    auto it = verdicts.find(piece);
    return it == verdicts.end() ? Verdict::serve : it->second;
  }
  void peer_have(uint32_t piece) override { haves.push_back(piece); }
  void peer_bitfield(const std::vector<bool>& pieces) override { bitfields.push_back(pieces); }
  void peer_have_all() override { ++have_all; }
  void peer_have_none() override { ++have_none; }
  void peer_interested(bool on) override { interest_events.push_back(on); }
  void peer_choked(bool on) override { choked_events.push_back(on); }
  void request_done() override { ++done; }
};

// --- the peer's bytes ---

std::string u32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

std::string handshake(const InfoHash& h, bool extended, bool fast, char id = 'P') {
  std::string s = "\x13";
  s += "BitTorrent protocol";
  std::string reserved(8, '\0');
  if (extended) reserved[5] |= 0x10;
  if (fast) reserved[7] |= 0x04;
  s += reserved;
  s.append(reinterpret_cast<const char*>(h.bytes().data()), 20);
  s.append(20, id);
  return s;
}

std::string message(uint8_t id, const std::string& payload = {}) {
  return u32(static_cast<uint32_t>(1 + payload.size())) + static_cast<char>(id) + payload;
}

std::string request(uint32_t piece, uint32_t begin, uint32_t length, uint8_t id = kRequest) {
  return message(id, u32(piece) + u32(begin) + u32(length));
}

std::string extended(uint8_t ext, const lt::entry& e) {
  std::string payload(1, static_cast<char>(ext));
  lt::bencode(std::back_inserter(payload), e);
  return message(kExtended, payload);
}

std::string ext_handshake(int ut_metadata) {
  lt::entry e;
  e["m"]["ut_metadata"] = lt::entry::integer_type{ut_metadata};
  e["m"]["ut_pex"] = lt::entry::integer_type{2};
  e["m"]["lt_donthave"] = lt::entry::integer_type{3};
  return extended(0, e);
}

std::string metadata_request(int64_t piece) {
  lt::entry e;
  e["msg_type"] = lt::entry::integer_type{0};
  e["piece"] = lt::entry::integer_type{piece};
  return extended(1, e);  // our id for ut_metadata, from our extended handshake
}

// --- our bytes, read back ---

struct Msg {
  uint8_t id = 0;
  std::string payload;
  uint32_t at(size_t i) const {  // the 4-byte integer at payload offset i
    auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(payload[k])); };
    return b(i) << 24 | b(i + 1) << 16 | b(i + 2) << 8 | b(i + 3);
  }
};

// Whole messages only; a keep-alive comes back with id 255.
std::vector<Msg> parse(std::string_view s) {
  std::vector<Msg> out;
  while (!s.empty()) {
    EXPECT_GE(s.size(), 4u);
    if (s.size() < 4) break;
    Msg len{0, std::string(s.substr(0, 4))};
    const uint32_t n = len.at(0);
    EXPECT_GE(s.size(), 4 + size_t{n});
    if (s.size() < 4 + size_t{n}) break;
    if (n == 0)
      out.push_back({255, {}});
    else
      out.push_back({static_cast<uint8_t>(s[4]), std::string(s.substr(5, n - 1))});
    s.remove_prefix(4 + n);
  }
  return out;
}

bool is_block(const Msg& m, uint8_t id, uint32_t piece, uint32_t begin, uint32_t length) {
  return m.id == id && m.payload.size() == 12 && m.at(0) == piece && m.at(4) == begin &&
         m.at(8) == length;
}

bool is_piece(const Msg& m, uint32_t piece, uint32_t begin, uint32_t length) {
  return m.id == kPiece && m.payload.size() == 8 + length && m.at(0) == piece && m.at(4) == begin &&
         m.payload.substr(8) == block(piece, begin, length);
}

// A bencoded dictionary at the start of `s` (an extended message's payload); `rest` gets what
// follows it. The node points into `s`, which must outlive it.
lt::bdecode_node decode(std::string_view s, std::string* rest = nullptr) {
  lt::error_code ec;
  int pos = 0;
  lt::bdecode_node n = lt::bdecode(
      lt::span<char const>(s.data(), static_cast<std::ptrdiff_t>(s.size())), ec, &pos, 16, 1000);
  EXPECT_FALSE(ec) << ec.message();
  if (rest) *rest = std::string(s.substr(static_cast<size_t>(n.data_section().size())));
  return n;
}

class SeedConnectionTest : public ::testing::Test {
 protected:
  SeedConnectionTest() { host.has.assign(torrent.num_pieces, true); }

  void use_torrent(Torrent t) {
    torrent = std::move(t);
    host.has.assign(torrent.num_pieces, true);
  }
  // A new connection on the same host; what the host saw of the last one is forgotten.
  void make(SeedConnection::Options o = {}) {
    host.reset();
    seen = 0;
    conn = std::make_unique<SeedConnection>(torrent, peer_id('S'), host, std::move(o));
  }
  bool feed(std::string_view b) {
    return conn->receive({reinterpret_cast<const uint8_t*>(b.data()), b.size()});
  }
  // What the connection sent since the last call, after our handshake.
  std::vector<Msg> sent() {
    std::vector<Msg> m = parse(std::string_view(host.out).substr(seen));
    seen = host.out.size();
    return m;
  }
  // Both handshakes through; the opening messages are returned.
  std::vector<Msg> open(bool ext = true, bool fast = true, SeedConnection::Options o = {}) {
    make(std::move(o));
    conn->start();
    EXPECT_TRUE(feed(handshake(torrent.info_hash, ext, fast)));
    EXPECT_GE(host.out.size(), 68u);
    seen = 68;
    return sent();
  }
  // ... and the peer interested, so unchoked.
  void open_unchoked(bool fast = true, SeedConnection::Options o = {}) {
    open(true, fast, std::move(o));
    EXPECT_TRUE(feed(message(kInterested)));
    std::vector<Msg> m = sent();
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m[0].id, kUnchoke);
  }

  Torrent torrent = make_torrent(5, 1000);  // 4 x 32 KiB and a last piece of 1000 bytes
  TestHost host;
  std::unique_ptr<SeedConnection> conn;
  size_t seen = 0;
};

// --- handshakes ---

TEST_F(SeedConnectionTest, OurHandshakeFirst) {
  make();
  conn->start();
  ASSERT_EQ(host.out.size(), 68u);
  EXPECT_EQ(host.out.substr(0, 20), std::string("\x13") + "BitTorrent protocol");
  const std::string reserved = host.out.substr(20, 8);
  EXPECT_EQ(reserved[5] & 0x10, 0x10);  // BEP 10
  EXPECT_EQ(reserved[7] & 0x04, 0x04);  // BEP 6
  EXPECT_EQ(host.out.substr(28, 20),
            std::string(reinterpret_cast<const char*>(torrent.info_hash.bytes().data()), 20));
  EXPECT_EQ(host.out.substr(48), std::string(20, 'S'));
  EXPECT_FALSE(conn->handshaken());
  conn->start();  // once only
  EXPECT_EQ(host.out.size(), 68u);

  ASSERT_TRUE(feed(handshake(torrent.info_hash, true, true, 'W')));
  EXPECT_TRUE(conn->handshaken());
  EXPECT_TRUE(conn->fast());
  EXPECT_TRUE(conn->choked());
  EXPECT_EQ(conn->remote_peer_id(), peer_id('W'));
  seen = 68;
  std::vector<Msg> m = sent();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].id, kExtended);
  EXPECT_EQ(m[1].id, kHaveAll);
}

TEST_F(SeedConnectionTest, PeerHandshakeFirst) {
  make();
  ASSERT_TRUE(feed(handshake(torrent.info_hash, true, true)));  // before start()
  ASSERT_GE(host.out.size(), 68u);
  EXPECT_EQ(host.out.substr(0, 20), std::string("\x13") + "BitTorrent protocol");
  EXPECT_EQ(host.out.substr(48, 20), std::string(20, 'S'));
  EXPECT_TRUE(conn->handshaken());
  const size_t size = host.out.size();
  conn->start();  // the owner's late start() sends nothing more
  EXPECT_EQ(host.out.size(), size);
  seen = 68;
  std::vector<Msg> m = sent();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].id, kExtended);
  EXPECT_EQ(m[1].id, kHaveAll);
}

// A WebTorrent-like session: the same bytes out however the peer's stream is cut.
TEST_F(SeedConnectionTest, SplitAtEveryOffset) {
  const std::string stream = handshake(torrent.info_hash, true, true) + ext_handshake(2) +
                             message(kInterested) + u32(0) + request(0, 0, kBlock) +
                             request(4, 0, 1000) + metadata_request(0) + message(kHave, u32(1)) +
                             u32(0) + request(1, kBlock, kBlock);
  auto run = [&](const std::vector<size_t>& cuts) {
    TestHost h;
    h.has.assign(torrent.num_pieces, true);
    SeedConnection c(torrent, peer_id('S'), h, {});
    c.start();
    size_t from = 0;
    for (size_t cut : cuts) {
      EXPECT_TRUE(c.receive({reinterpret_cast<const uint8_t*>(stream.data()) + from, cut - from}));
      from = cut;
    }
    EXPECT_TRUE(
        c.receive({reinterpret_cast<const uint8_t*>(stream.data()) + from, stream.size() - from}));
    c.pump(std::numeric_limits<size_t>::max());
    EXPECT_EQ(h.haves, std::vector<uint32_t>{1});
    return h.out;
  };
  const std::string whole = run({});
  std::vector<Msg> m = parse(std::string_view(whole).substr(68));
  ASSERT_EQ(m.size(), 7u);  // extended handshake, have-all, unchoke, metadata, 3 pieces
  EXPECT_EQ(m[2].id, kUnchoke);
  EXPECT_EQ(m[3].id, kExtended);
  EXPECT_TRUE(is_piece(m[4], 0, 0, kBlock));
  EXPECT_TRUE(is_piece(m[5], 4, 0, 1000));
  EXPECT_TRUE(is_piece(m[6], 1, kBlock, kBlock));
  for (size_t k = 0; k <= stream.size(); ++k) EXPECT_EQ(run({k}), whole) << "cut at " << k;
  std::vector<size_t> every;
  for (size_t k = 1; k < stream.size(); ++k) every.push_back(k);
  EXPECT_EQ(run(every), whole) << "byte by byte";
}

TEST_F(SeedConnectionTest, WrongInfoHashFails) {
  make();
  conn->start();
  Torrent other = make_torrent(6, 10);
  EXPECT_FALSE(feed(handshake(other.info_hash, true, true)));
  EXPECT_EQ(host.out.size(), 68u);  // our handshake, nothing after
  EXPECT_FALSE(conn->handshaken());
  EXPECT_FALSE(feed(handshake(torrent.info_hash, true, true)));  // it stays broken
}

TEST_F(SeedConnectionTest, WrongInfoHashFailsAsSoonAsItDiffers) {
  make();
  conn->start();
  std::string h = handshake(torrent.info_hash, true, true);
  h[40] = static_cast<char>(h[40] ^ 1);
  EXPECT_TRUE(feed(h.substr(0, 40)));
  EXPECT_FALSE(feed(h.substr(40, 1)));
}

TEST_F(SeedConnectionTest, WrongProtocolFails) {
  make();
  conn->start();
  EXPECT_FALSE(feed("\x14"));  // pstrlen 20
  make();
  std::string h = handshake(torrent.info_hash, true, true);
  h[5] = 't';
  EXPECT_TRUE(feed(h.substr(0, 5)));
  EXPECT_FALSE(feed(h.substr(5)));
}

// --- what we say at the start ---

TEST_F(SeedConnectionTest, ExtendedHandshakeContents) {
  SeedConnection::Options o;
  o.max_queued_requests = 77;
  o.client_name = "seedcast/0.1";
  std::vector<Msg> m = open(true, true, o);
  ASSERT_EQ(m.size(), 2u);
  ASSERT_EQ(m[0].id, kExtended);
  ASSERT_EQ(m[0].payload[0], 0);  // the handshake
  lt::bdecode_node d = decode(std::string_view(m[0].payload).substr(1));
  ASSERT_EQ(d.type(), lt::bdecode_node::dict_t);
  lt::bdecode_node mdict = d.dict_find_dict("m");
  ASSERT_TRUE(mdict);
  EXPECT_EQ(mdict.dict_find_int_value("ut_metadata", -1), 1);
  EXPECT_EQ(mdict.dict_size(), 1);  // no ut_pex, no lt_donthave
  EXPECT_EQ(d.dict_find_int_value("metadata_size", -1), static_cast<int64_t>(torrent.info.size()));
  EXPECT_EQ(d.dict_find_int_value("reqq", -1), 77);
  EXPECT_EQ(d.dict_find_string_value("v"), "seedcast/0.1");
}

TEST_F(SeedConnectionTest, NoExtendedHandshakeWithoutBep10) {
  std::vector<Msg> m = open(false, true);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].id, kHaveAll);
  EXPECT_TRUE(feed(ext_handshake(2) + metadata_request(0)));  // not announced: ignored
  conn->pump(1 << 20);
  EXPECT_TRUE(sent().empty());
}

TEST_F(SeedConnectionTest, HaveAllHaveNoneOrBitfield) {
  std::vector<Msg> m = open(true, true);  // BEP 6, every piece
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[1].id, kHaveAll);
  EXPECT_TRUE(m[1].payload.empty());

  host.has.assign(torrent.num_pieces, false);
  m = open(true, true);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[1].id, kHaveNone);

  host.has = {true, false, true, false, true};
  m = open(true, true);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[1].id, kBitfield);
  EXPECT_EQ(m[1].payload, std::string("\xa8"));  // 1010 1, spare bits zero

  host.has.assign(torrent.num_pieces, true);  // no BEP 6: a bitfield even when complete
  m = open(true, false);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[1].id, kBitfield);
  EXPECT_EQ(m[1].payload, std::string("\xf8"));
  EXPECT_FALSE(conn->fast());

  host.has.assign(torrent.num_pieces, false);  // no BEP 6 and nothing: no bitfield (BEP 3)
  m = open(true, false);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].id, kExtended);
}

// --- ut_metadata ---

TEST_F(SeedConnectionTest, MetadataAssemblesTheInfoDictionary) {
  use_torrent(make_torrent(2000, 1000));  // an info dictionary of 3 metadata pieces
  const size_t pieces = (torrent.info.size() + 16383) / 16384;
  ASSERT_EQ(pieces, 3u);
  open();
  ASSERT_TRUE(feed(ext_handshake(3)));
  for (size_t i = 0; i < pieces; ++i) ASSERT_TRUE(feed(metadata_request(static_cast<int>(i))));
  EXPECT_TRUE(sent().empty());  // answered by pump(), under back-pressure
  EXPECT_TRUE(conn->has_queued());
  conn->pump(std::numeric_limits<size_t>::max());
  EXPECT_FALSE(conn->has_queued());
  std::vector<Msg> m = sent();
  ASSERT_EQ(m.size(), pieces);
  std::string info;
  for (size_t i = 0; i < pieces; ++i) {
    ASSERT_EQ(m[i].id, kExtended);
    ASSERT_EQ(static_cast<uint8_t>(m[i].payload[0]), 3);  // the peer's id for ut_metadata
    std::string data;
    lt::bdecode_node d = decode(std::string_view(m[i].payload).substr(1), &data);
    EXPECT_EQ(d.dict_find_int_value("msg_type", -1), 1);
    EXPECT_EQ(d.dict_find_int_value("piece", -1), static_cast<int64_t>(i));
    EXPECT_EQ(d.dict_find_int_value("total_size", -1), static_cast<int64_t>(torrent.info.size()));
    // WebTorrent's ut_metadata takes the dictionary to end at the first "ee".
    EXPECT_EQ(m[i].payload.find("ee") + 2, 1 + static_cast<size_t>(d.data_section().size()));
    EXPECT_EQ(data.size(), i + 1 < pieces ? size_t{16384} : torrent.info.size() - 2 * 16384);
    info += data;
  }
  EXPECT_EQ(info, torrent.info);
  EXPECT_EQ(sha1(info),
            std::string(reinterpret_cast<const char*>(torrent.info_hash.bytes().data()), 20));
  EXPECT_EQ(conn->uploaded(), 0u);  // metadata is not payload
}

TEST_F(SeedConnectionTest, MetadataBadPieceRejected) {
  open();
  ASSERT_TRUE(feed(ext_handshake(7)));
  const int64_t bad[] = {1, -1, int64_t{1} << 40};  // the info dictionary has one piece
  for (int64_t piece : bad) {
    ASSERT_TRUE(feed(metadata_request(piece)));
    std::vector<Msg> m = sent();
    ASSERT_EQ(m.size(), 1u);
    ASSERT_EQ(m[0].id, kExtended);
    EXPECT_EQ(static_cast<uint8_t>(m[0].payload[0]), 7);
    lt::bdecode_node d = decode(std::string_view(m[0].payload).substr(1));
    EXPECT_EQ(d.dict_find_int_value("msg_type", -1), 2);
    EXPECT_EQ(d.dict_find_int_value("piece", -2), piece);
  }
  EXPECT_FALSE(conn->has_queued());
  // Neither data nor a reject from the peer, nor garbage, is answered.
  lt::entry e;
  e["msg_type"] = lt::entry::integer_type{1};
  e["piece"] = lt::entry::integer_type{0};
  ASSERT_TRUE(feed(extended(1, e)));
  ASSERT_TRUE(feed(message(kExtended, std::string("\x01") + "d8:msg_typei0e5:piecei0e")));
  ASSERT_TRUE(feed(message(kExtended, std::string("\x01") + "li0ee")));
  conn->pump(1 << 20);
  EXPECT_TRUE(sent().empty());
}

TEST_F(SeedConnectionTest, MetadataNeedsThePeersId) {
  open();
  ASSERT_TRUE(feed(metadata_request(0)));  // no extended handshake from it: no id to answer on
  EXPECT_FALSE(conn->has_queued());
  ASSERT_TRUE(feed(ext_handshake(0)));  // 0: it has no ut_metadata
  ASSERT_TRUE(feed(metadata_request(0)));
  EXPECT_FALSE(conn->has_queued());
  EXPECT_TRUE(sent().empty());
}

TEST_F(SeedConnectionTest, MetadataBeforeBlocks) {
  open_unchoked();
  ASSERT_TRUE(feed(ext_handshake(2) + request(0, 0, kBlock) + metadata_request(0)));
  conn->pump(1);  // one message: the metadata
  std::vector<Msg> m = sent();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].id, kExtended);
  conn->pump(1);
  m = sent();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_TRUE(is_piece(m[0], 0, 0, kBlock));
}

// --- requests ---

TEST_F(SeedConnectionTest, InterestedUnchokes) {
  open();
  EXPECT_TRUE(conn->choked());
  ASSERT_TRUE(feed(message(kInterested)));
  EXPECT_FALSE(conn->choked());
  EXPECT_TRUE(conn->peer_interested());
  EXPECT_EQ(host.interest_events, std::vector<bool>{true});
  EXPECT_EQ(host.choked_events, std::vector<bool>{false});
  std::vector<Msg> m = sent();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].id, kUnchoke);
  ASSERT_TRUE(feed(message(kInterested) + message(kNotInterested)));
  EXPECT_EQ(host.interest_events, (std::vector<bool>{true, false}));
  EXPECT_FALSE(conn->choked());  // not interested is no reason to choke
  EXPECT_TRUE(sent().empty());
}

TEST_F(SeedConnectionTest, RequestsServedInOrderWithTheHostsBytes) {
  open_unchoked();
  ASSERT_TRUE(feed(request(0, 0, kBlock) + request(0, kBlock, kBlock) + request(3, 100, 50) +
                   request(1, 0, kBlock)));
  EXPECT_EQ(host.allowed, (std::vector<uint32_t>{0, 0, 3, 1}));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(conn->pump(std::numeric_limits<size_t>::max()), 3 * kPieceMessage + 13 + 50);
  std::vector<Msg> m = sent();
  ASSERT_EQ(m.size(), 4u);
  EXPECT_TRUE(is_piece(m[0], 0, 0, kBlock));
  EXPECT_TRUE(is_piece(m[1], 0, kBlock, kBlock));
  EXPECT_TRUE(is_piece(m[2], 3, 100, 50));
  EXPECT_TRUE(is_piece(m[3], 1, 0, kBlock));
  EXPECT_EQ(conn->uploaded(), 3u * kBlock + 50);
  EXPECT_EQ(host.done, 4);
  EXPECT_FALSE(conn->has_queued());
  EXPECT_EQ(conn->pump(1 << 20), 0u);
}

TEST_F(SeedConnectionTest, PumpKeepsToTheBudget) {
  open_unchoked();
  for (uint32_t i = 0; i < 4; ++i) ASSERT_TRUE(feed(request(i, 0, kBlock)));
  EXPECT_EQ(conn->pump(0), kPieceMessage);  // at least one block
  EXPECT_EQ(sent().size(), 1u);
  EXPECT_EQ(conn->pump(2 * kPieceMessage - 1), kPieceMessage);  // the second does not fit
  EXPECT_EQ(sent().size(), 1u);
  EXPECT_EQ(conn->pump(2 * kPieceMessage), 2 * kPieceMessage);
  std::vector<Msg> m = sent();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_TRUE(is_piece(m[0], 2, 0, kBlock));
  EXPECT_TRUE(is_piece(m[1], 3, 0, kBlock));
  EXPECT_FALSE(conn->has_queued());
}

TEST_F(SeedConnectionTest, LastPieceIsShorter) {
  open_unchoked();
  ASSERT_TRUE(feed(request(4, 0, 1000) + request(4, 984, 16)));
  ASSERT_TRUE(feed(request(4, 0, 1001) + request(4, 1000, 1) + request(4, kBlock, kBlock)));
  conn->pump(std::numeric_limits<size_t>::max());
  std::vector<Msg> m = sent();
  ASSERT_EQ(m.size(), 5u);  // rejects at once, pieces at the pump
  EXPECT_TRUE(is_block(m[0], kReject, 4, 0, 1001));
  EXPECT_TRUE(is_block(m[1], kReject, 4, 1000, 1));
  EXPECT_TRUE(is_block(m[2], kReject, 4, kBlock, kBlock));
  EXPECT_TRUE(is_piece(m[3], 4, 0, 1000));
  EXPECT_TRUE(is_piece(m[4], 4, 984, 16));
}

TEST_F(SeedConnectionTest, BadRequestsRejectedThenTheConnectionEnds) {
  open_unchoked();
  const std::string bad[] = {
      request(5, 0, kBlock),           // no such piece
      request(0, 0, 0),                // nothing
      request(0, 0, kBlock + 1),       // over max_block
      request(0, kBlock + 1, kBlock),  // beyond the piece
      request(0, 0xffffffff, 16),      // begin + length wraps
      request(0xffffffff, 0, 16),
  };
  for (const std::string& r : bad) {
    ASSERT_TRUE(feed(r));
    std::vector<Msg> m = sent();
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m[0].id, kReject);
    EXPECT_EQ(m[0].payload, r.substr(5));
  }
  EXPECT_TRUE(host.allowed.empty());
  EXPECT_FALSE(conn->has_queued());
  int more = 0;
  while (feed(request(9, 0, 1)) && more < 1000) ++more;
  EXPECT_LT(more, 100);  // many malformed requests end it
  const size_t size = host.out.size();
  conn->keep_alive();
  EXPECT_EQ(host.out.size(), size);
}

TEST_F(SeedConnectionTest, RequestWhileChoked) {
  open();  // fast, not interested yet: choked
  ASSERT_TRUE(feed(request(1, 0, kBlock)));
  std::vector<Msg> m = sent();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_TRUE(is_block(m[0], kReject, 1, 0, kBlock));
  EXPECT_TRUE(host.allowed.empty());

  open(true, false);  // no BEP 6: ignored
  ASSERT_TRUE(feed(request(1, 0, kBlock)));
  EXPECT_TRUE(sent().empty());
  EXPECT_FALSE(conn->has_queued());
}

TEST_F(SeedConnectionTest, PieceTheHostLacksRejected) {
  host.has = {true, true, true, false, true};
  open_unchoked();
  ASSERT_TRUE(feed(request(3, 0, kBlock)));
  std::vector<Msg> m = sent();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_TRUE(is_block(m[0], kReject, 3, 0, kBlock));
  EXPECT_TRUE(host.allowed.empty());
}

TEST_F(SeedConnectionTest, UnreadableBytesRejectedNeverServed) {
  host.unreadable = {1};
  open_unchoked();
  ASSERT_TRUE(feed(request(1, 0, kBlock) + request(2, 0, kBlock)));
  EXPECT_EQ(conn->pump(std::numeric_limits<size_t>::max()), 17 + kPieceMessage);
  std::vector<Msg> m = sent();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_TRUE(is_block(m[0], kReject, 1, 0, kBlock));
  EXPECT_TRUE(is_piece(m[1], 2, 0, kBlock));
  EXPECT_EQ(host.done, 2);
  EXPECT_EQ(conn->uploaded(), kBlock);
}

TEST_F(SeedConnectionTest, QueueIsBounded) {
  SeedConnection::Options o;
  o.max_queued_requests = 2;
  open_unchoked(true, o);
  ASSERT_TRUE(feed(request(0, 0, kBlock) + request(1, 0, kBlock) + request(2, 0, kBlock)));
  EXPECT_EQ(host.allowed.size(), 2u);
  std::vector<Msg> m = sent();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_TRUE(is_block(m[0], kReject, 2, 0, kBlock));
  ASSERT_TRUE(feed(request(0, 0, kBlock)));  // the same again: ignored
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(host.allowed.size(), 2u);
  conn->pump(std::numeric_limits<size_t>::max());
  EXPECT_EQ(sent().size(), 2u);
}

TEST_F(SeedConnectionTest, CancelRemovesAQueuedRequest) {
  open_unchoked();
  ASSERT_TRUE(feed(request(0, 0, kBlock) + request(1, 0, kBlock) + request(2, 0, kBlock)));
  ASSERT_TRUE(feed(request(1, 0, kBlock, kCancel)));
  std::vector<Msg> m = sent();
  ASSERT_EQ(m.size(), 1u);  // BEP 6: every request gets one answer, a cancelled one a reject
  EXPECT_TRUE(is_block(m[0], kReject, 1, 0, kBlock));
  EXPECT_EQ(host.done, 1);
  ASSERT_TRUE(feed(request(3, 0, kBlock, kCancel)));  // never asked: nothing
  EXPECT_TRUE(sent().empty());
  conn->pump(std::numeric_limits<size_t>::max());
  m = sent();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_TRUE(is_piece(m[0], 0, 0, kBlock));
  EXPECT_TRUE(is_piece(m[1], 2, 0, kBlock));
  EXPECT_EQ(host.done, 3);

  open_unchoked(false);  // no BEP 6: the request just goes
  ASSERT_TRUE(feed(request(0, 0, kBlock) + request(0, 0, kBlock, kCancel)));
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(host.done, 1);
  EXPECT_FALSE(conn->has_queued());
}

TEST_F(SeedConnectionTest, ChokeRejectsWhatIsQueued) {
  open_unchoked();
  ASSERT_TRUE(feed(request(0, 0, kBlock) + request(1, 0, kBlock) + request(2, 0, 10)));
  conn->choke();
  std::vector<Msg> m = sent();
  ASSERT_EQ(m.size(), 4u);  // choke first, then the rejects (BEP 6)
  EXPECT_EQ(m[0].id, kChoke);
  EXPECT_TRUE(is_block(m[1], kReject, 0, 0, kBlock));
  EXPECT_TRUE(is_block(m[2], kReject, 1, 0, kBlock));
  EXPECT_TRUE(is_block(m[3], kReject, 2, 0, 10));
  EXPECT_EQ(host.done, 3);
  EXPECT_EQ(host.choked_events, (std::vector<bool>{false, true}));
  EXPECT_FALSE(conn->has_queued());
  EXPECT_EQ(conn->pump(1 << 20), 0u);
  conn->choke();  // already
  EXPECT_TRUE(sent().empty());
  ASSERT_TRUE(feed(message(kInterested)));  // the owner's choke holds
  EXPECT_TRUE(conn->choked());
  EXPECT_TRUE(sent().empty());
  conn->unchoke();
  m = sent();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].id, kUnchoke);
}

TEST_F(SeedConnectionTest, ChokeDropsTheQueueWithoutBep6) {
  open_unchoked(false);
  ASSERT_TRUE(feed(request(0, 0, kBlock) + request(1, 0, kBlock)));
  conn->choke();
  std::vector<Msg> m = sent();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].id, kChoke);
  EXPECT_EQ(host.done, 2);
  EXPECT_FALSE(conn->has_queued());
}

TEST_F(SeedConnectionTest, OwnerDecisionsBeforeTheHandshake) {
  make();
  conn->unchoke();
  conn->have(1);
  conn->keep_alive();
  conn->start();
  EXPECT_EQ(host.out.size(), 68u);
  ASSERT_TRUE(feed(handshake(torrent.info_hash, true, true)));
  seen = 68;
  std::vector<Msg> m = sent();
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[1].id, kHaveAll);
  EXPECT_EQ(m[2].id, kUnchoke);

  make();
  conn->choke();
  conn->start();
  ASSERT_TRUE(feed(handshake(torrent.info_hash, true, true) + message(kInterested)));
  EXPECT_TRUE(conn->choked());  // the owner's choke() holds against interest
}

// --- the seeding policy's verdicts ---

TEST_F(SeedConnectionTest, RefuseRejectsWithBep6) {
  host.verdicts[2] = Verdict::refuse;
  open_unchoked();
  ASSERT_TRUE(feed(request(1, 0, kBlock) + request(2, 0, kBlock) + request(3, 0, kBlock)));
  std::vector<Msg> m = sent();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_TRUE(is_block(m[0], kReject, 2, 0, kBlock));
  EXPECT_FALSE(conn->choked());
  conn->pump(std::numeric_limits<size_t>::max());
  m = sent();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_TRUE(is_piece(m[0], 1, 0, kBlock));
  EXPECT_TRUE(is_piece(m[1], 3, 0, kBlock));
}

TEST_F(SeedConnectionTest, RefuseChokesWithoutBep6) {
  host.verdicts[2] = Verdict::refuse;
  open_unchoked(false);
  ASSERT_TRUE(feed(request(1, 0, kBlock) + request(2, 0, kBlock)));
  std::vector<Msg> m = sent();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].id, kChoke);
  EXPECT_TRUE(conn->choked());
  EXPECT_EQ(host.done, 1);  // the queued request went with the choke
  EXPECT_FALSE(conn->has_queued());
  ASSERT_TRUE(feed(message(kNotInterested) + message(kInterested)));
  EXPECT_TRUE(conn->choked());  // until the owner says otherwise
  conn->unchoke();
  EXPECT_FALSE(conn->choked());
}

TEST_F(SeedConnectionTest, RefuseAndChoke) {
  host.verdicts[3] = Verdict::refuse_and_choke;
  open_unchoked();
  ASSERT_TRUE(feed(request(1, 0, kBlock) + request(1, kBlock, kBlock) + request(3, 0, kBlock)));
  std::vector<Msg> m = sent();
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0].id, kChoke);
  EXPECT_TRUE(is_block(m[1], kReject, 1, 0, kBlock));
  EXPECT_TRUE(is_block(m[2], kReject, 1, kBlock, kBlock));
  EXPECT_TRUE(is_block(m[3], kReject, 3, 0, kBlock));
  EXPECT_EQ(host.done, 2);
  EXPECT_EQ(host.choked_events, (std::vector<bool>{false, true}));
  ASSERT_TRUE(feed(request(1, 0, kBlock) + message(kInterested)));
  m = sent();
  ASSERT_EQ(m.size(), 1u);  // rejected as choked; interest does not unchoke
  EXPECT_EQ(m[0].id, kReject);
  EXPECT_EQ(host.allowed.size(), 3u);
}

TEST_F(SeedConnectionTest, HostChokingFromAllowWins) {
  open_unchoked();
  host.on_allow = [&] { conn->choke(); };
  ASSERT_TRUE(feed(request(1, 0, kBlock)));
  std::vector<Msg> m = sent();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].id, kChoke);
  EXPECT_TRUE(is_block(m[1], kReject, 1, 0, kBlock));
  EXPECT_EQ(host.done, 1);
  EXPECT_FALSE(conn->has_queued());
}

// --- what the peer says, and hostile bytes ---

TEST_F(SeedConnectionTest, PeerHaveAndBitfield) {
  open();
  ASSERT_TRUE(feed(message(kHave, u32(4)) + message(kBitfield, "\xff")));  // spare bits set
  EXPECT_EQ(host.haves, std::vector<uint32_t>{4});
  ASSERT_EQ(host.bitfields.size(), 1u);
  EXPECT_EQ(host.bitfields[0], std::vector<bool>(5, true));
  ASSERT_TRUE(feed(message(kBitfield, "\x50")));
  EXPECT_EQ(host.bitfields[1], (std::vector<bool>{false, true, false, true, false}));
  ASSERT_TRUE(feed(message(kHaveAll) + message(kHaveNone)));
  EXPECT_EQ(host.have_all, 1);
  EXPECT_EQ(host.have_none, 1);
  EXPECT_FALSE(feed(message(kHave, u32(5))));  // out of range
}

TEST_F(SeedConnectionTest, BitfieldOfTheWrongLengthFails) {
  open();
  EXPECT_FALSE(feed(message(kBitfield, std::string("\xff\x00", 2))));
  open();
  EXPECT_FALSE(feed(message(kBitfield)));
}

TEST_F(SeedConnectionTest, HugeLengthPrefixFails) {
  open();
  EXPECT_FALSE(feed(u32(0x80000000)));  // 2 GiB: refused from the prefix alone
  SeedConnection::Options o;
  o.max_message = 4096;
  open(true, true, o);
  EXPECT_TRUE(feed(u32(4096) + std::string(1, '\x63') + std::string(4095, 'x')));  // unknown id
  EXPECT_FALSE(feed(u32(4097)));
}

TEST_F(SeedConnectionTest, KeepAlivesAndIgnoredMessages) {
  open();
  ASSERT_TRUE(feed(u32(0) + u32(0)));
  ASSERT_TRUE(feed(std::string(2, '\0')));
  ASSERT_TRUE(feed(std::string(2, '\0')));
  ASSERT_TRUE(feed(message(99, "future") + message(kPort, std::string(2, '\x1a')) +
                   message(kChoke) + message(kUnchoke) + message(kSuggest, u32(1)) +
                   message(kAllowedFast, u32(2)) + request(1, 0, kBlock, kReject)));
  ASSERT_TRUE(feed(message(kPiece, u32(0) + u32(0) + "data") + u32(0)));
  ASSERT_TRUE(feed(extended(9, lt::entry(lt::entry::dictionary_t))));  // unknown extension
  EXPECT_TRUE(sent().empty());
  conn->keep_alive();
  std::vector<Msg> m = sent();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].id, 255);
}

TEST_F(SeedConnectionTest, WrongSizedMessagesFail) {
  const std::string bad[] = {
      message(kInterested, "x"), message(kHave),         request(1, 0, 10).substr(0, 16),
      message(kPiece, u32(0)),   message(kPort),         message(kExtended),
      message(kCancel, u32(1)),  message(kHaveAll, "x"),
  };
  for (const std::string& b : bad) {
    open();
    std::string m = b;
    if (m.size() >= 4) {  // fix the length prefix to the cut payload
      const std::string len = u32(static_cast<uint32_t>(m.size() - 4));
      m.replace(0, 4, len);
    }
    EXPECT_FALSE(feed(m));
  }
}

TEST_F(SeedConnectionTest, Bep6MessagesWithoutBep6Fail) {
  const std::string bep6[] = {message(kHaveAll), message(kHaveNone), message(kSuggest, u32(0)),
                              message(kAllowedFast, u32(0)), request(0, 0, 10, kReject)};
  for (const std::string& m : bep6) {
    open(true, false);
    EXPECT_FALSE(feed(m));
  }
}

TEST_F(SeedConnectionTest, OwnerHaveSuggestKeepAlive) {
  open();
  conn->have(2);
  conn->suggest(3);
  conn->have(5);     // out of range: nothing
  conn->suggest(9);  // likewise
  std::vector<Msg> m = sent();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].id, kHave);
  EXPECT_EQ(m[0].payload, u32(2));
  EXPECT_EQ(m[1].id, kSuggest);
  EXPECT_EQ(m[1].payload, u32(3));
  open(true, false);
  conn->suggest(3);  // BEP 6 only
  EXPECT_TRUE(sent().empty());
}

TEST_F(SeedConnectionTest, NothingSentAfterAFailure) {
  open_unchoked();
  ASSERT_TRUE(feed(request(0, 0, kBlock)));
  EXPECT_FALSE(feed(u32(0x7fffffff)));
  const size_t size = host.out.size();
  EXPECT_FALSE(feed(message(kInterested)));
  conn->choke();
  conn->unchoke();
  conn->have(1);
  conn->suggest(1);
  conn->keep_alive();
  EXPECT_EQ(conn->pump(1 << 20), 0u);
  EXPECT_FALSE(conn->has_queued());
  EXPECT_EQ(host.out.size(), size);
}

TEST_F(SeedConnectionTest, MovedConnectionKeepsItsState) {
  open_unchoked();
  ASSERT_TRUE(feed(request(0, 0, 10)));
  SeedConnection moved = std::move(*conn);
  EXPECT_TRUE(moved.has_queued());
  EXPECT_EQ(moved.pump(1 << 20), 23u);
}

TEST(SeedConnectionTorrent, PieceSize) {
  Torrent t = make_torrent(3, 5);
  EXPECT_EQ(t.piece_size(0), kPieceLength);
  EXPECT_EQ(t.piece_size(2), 5u);
  EXPECT_EQ(t.piece_size(3), 0u);
  t.total_length = 3 * uint64_t{kPieceLength};
  EXPECT_EQ(t.piece_size(2), kPieceLength);
}

}  // namespace
}  // namespace seedcast::wire

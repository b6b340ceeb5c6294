// The WebSocket tracker protocol without sockets: messages in, what each socket receives out.
#include "seedcast/tracker/ws_protocol.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>


namespace seedcast::tracker {
namespace {
using json = nlohmann::json;

const InfoHash kHash = *InfoHash::from_hex("053178313d2010436197e454511d8473bf30c616");
// every byte value that needs care in a binary string: controls, '"', '\\', DEL, >= 0x80
const InfoHash kOdd = *InfoHash::from_hex("00220a5c7f80c3ff1f0d09082e41c2e2a0bf2021");
const InfoHash kStranger = *InfoHash::from_hex("07e50f8e12b3ace7ab8afb387089dd5491cd515d");

std::string bin(const InfoHash& h) { return encode_binary_string(h.bytes().data(), 20); }
std::string peer(char c) { return "-WW0300-" + std::string(12, c); }

struct Inbox : Mailbox {
  std::vector<std::string> got;
  void deliver(std::string_view m) override { got.emplace_back(m); }
  json take() {
    EXPECT_FALSE(got.empty());
    if (got.empty()) return nullptr;
    json j = json::parse(got.front());  // throws (fails the test) unless valid JSON
    got.erase(got.begin());
    return j;
  }
};

struct Socket {
  std::shared_ptr<Inbox> inbox = std::make_shared<Inbox>();
  WsProtocol protocol;
  Socket(Tracker& t, std::function<bool(const InfoHash&)> allowed) : protocol(t, std::move(allowed), inbox) {}
  void send(const json& j) { protocol.on_message(j.dump()); }
  void send_raw(std::string_view s) { protocol.on_message(s); }
};

struct WsFixture : ::testing::Test {
  Tracker tracker{Options{.interval = 120}};
  std::function<bool(const InfoHash&)> allowed = [](const InfoHash& h) { return h == kHash || h == kOdd; };
  Socket a{tracker, allowed}, b{tracker, allowed}, c{tracker, allowed};

  static json announce(const InfoHash& h, const std::string& id, json extra = json::object()) {
    json j = {{"action", "announce"}, {"info_hash", bin(h)}, {"peer_id", id}, {"numwant", 5},
              {"uploaded", 0},        {"downloaded", 0},      {"left", 100}};
    j.update(extra);
    return j;
  }
  static std::string offer_id(char c) { return std::string(19, c) + "\xc3\xbf"; }  // 20 code points
  static json offers(int n, char first = 'a') {
    json o = json::array();
    for (int i = 0; i < n; ++i)
      o.push_back({{"offer", {{"type", "offer"}, {"sdp", "v=0\r\nsdp " + std::to_string(i)}}},
                   {"offer_id", offer_id(static_cast<char>(first + i))}});
    return o;
  }
};

TEST(JsonOut, BinaryStringsAreWhatJsonStringifyWritesAndDecodeBack) {
  std::array<uint8_t, 20> in{}, out{};
  for (int start = 0; start < 256; start += 20) {
    for (int i = 0; i < 20; ++i) in[i] = static_cast<uint8_t>((start + i) & 0xff);
    std::string s;
    append_json_binary_string(s, in.data(), in.size());
    std::string code_points = encode_binary_string(in.data(), in.size());
    EXPECT_EQ(s, json(code_points).dump());  // nlohmann writes strings as JSON.stringify does
    ASSERT_TRUE(decode_binary_string(json::parse(s).get<std::string>(), out));
    EXPECT_EQ(in, out);
  }
  std::string s;
  const uint8_t odd[] = {0x00, 0x1f, '"', '\\', '\n', '\t', 0x7f, 0x80, 0xff};
  append_json_binary_string(s, odd, sizeof odd);
  EXPECT_EQ(s, "\"\\u0000\\u001f\\\"\\\\\\n\\t\x7f\xc2\x80\xc3\xbf\"");
}

TEST(JsonOut, StringsEscapeQuotesBackslashesAndControls) {
  for (std::string t : {std::string(""), std::string("plain"), std::string("a\"b\\c\n\r\t\b\f"),
                        std::string("\x01\x1f\x7f"), std::string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xac"),
                        std::string("nul\0inside", 10)}) {
    std::string s;
    append_json_string(s, t);
    EXPECT_EQ(s, json(t).dump());
    EXPECT_EQ(json::parse(s).get<std::string>(), t);
  }
}

TEST_F(WsFixture, OffersGoToOtherPeersVerbatimAndTheAnnouncerGetsCounts) {
  b.send(announce(kHash, peer('b'), {{"event", "started"}}));
  json r = b.inbox->take();
  EXPECT_EQ(r, json({{"action", "announce"}, {"complete", 0}, {"incomplete", 1}, {"info_hash", bin(kHash)},
                     {"interval", 120}}));
  // An offer with odd spacing, escapes and non-ASCII: relayed byte for byte.
  const std::string offer = R"({ "type" : "offer", "sdp":"v=0\r\na=caf\u00e9 é \"q\"", "n":[1.5e3,true,null,{}] })";
  const std::string msg = R"({"action":"announce","info_hash":)" + json(bin(kHash)).dump() +
                          R"(,"peer_id":")" + peer('a') + R"(","left":0,"event":"started","offers":[{"offer":)" +
                          offer + R"( ,"offer_id":)" + json(offer_id('x')).dump() + "}]}";
  a.send_raw(msg);
  r = a.inbox->take();
  EXPECT_EQ(r["complete"], 1);
  EXPECT_EQ(r["incomplete"], 1);
  EXPECT_TRUE(a.inbox->got.empty());
  ASSERT_EQ(b.inbox->got.size(), 1u);
  const std::string& relayed = b.inbox->got[0];
  EXPECT_NE(relayed.find("\"offer\":" + offer + ","), std::string::npos) << relayed;
  r = b.inbox->take();
  EXPECT_EQ(r["action"], "announce");
  EXPECT_EQ(r["offer_id"], offer_id('x'));
  EXPECT_EQ(r["peer_id"], peer('a'));
  EXPECT_EQ(r["info_hash"], bin(kHash));
  EXPECT_EQ(r["offer"]["sdp"], "v=0\r\na=caf\u00e9 \u00e9 \"q\"");
  EXPECT_FALSE(r.contains("to_peer_id"));
}

TEST_F(WsFixture, AnswersReachTheOffererOnlyAndGetNoReply) {
  a.send(announce(kHash, peer('a')));
  b.send(announce(kHash, peer('b'), {{"offers", offers(1)}}));
  a.inbox->got.clear();
  b.inbox->got.clear();
  json answer = {{"action", "announce"},   {"info_hash", bin(kHash)}, {"peer_id", peer('a')},
                 {"to_peer_id", peer('b')}, {"offer_id", offer_id('a')}, {"answer", {{"type", "answer"}, {"sdp", "A"}}}};
  a.send(answer);
  EXPECT_TRUE(a.inbox->got.empty());
  json r = b.inbox->take();
  EXPECT_EQ(r, json({{"action", "announce"}, {"answer", {{"type", "answer"}, {"sdp", "A"}}}, {"info_hash", bin(kHash)},
                     {"offer_id", offer_id('a')}, {"peer_id", peer('a')}}));
  answer["to_peer_id"] = peer('z');  // gone or never there: dropped silently
  a.send(answer);
  EXPECT_TRUE(a.inbox->got.empty() && b.inbox->got.empty());
  answer["to_peer_id"] = "short";
  a.send(answer);
  EXPECT_EQ(a.inbox->take()["failure reason"], "invalid to_peer_id");
  answer["to_peer_id"] = peer('b');
  answer["offer_id"] = 7;
  a.send(answer);
  EXPECT_EQ(a.inbox->take()["failure reason"], "invalid offer_id");
}

TEST_F(WsFixture, EachOfferGoesToADifferentPeerAndBadOnesAreSkipped) {
  a.send(announce(kHash, peer('a')));
  b.send(announce(kHash, peer('b')));
  json o = offers(12);
  o[0].erase("offer_id");  // unusable: skipped, the next usable offer goes to the peer instead
  o[1] = "not an object";
  c.send(announce(kHash, peer('c'), {{"offers", o}}));
  EXPECT_EQ(c.inbox->take()["incomplete"], 3);
  a.inbox->got.erase(a.inbox->got.begin());
  b.inbox->got.erase(b.inbox->got.begin());
  // two peers, twelve offers of which the first two are unusable: the two picked get offers 2, 3
  ASSERT_EQ(a.inbox->got.size() + b.inbox->got.size(), 2u);
  std::set<std::string> ids{a.inbox->take()["offer_id"], b.inbox->take()["offer_id"]};
  EXPECT_EQ(ids, (std::set<std::string>{offer_id('c'), offer_id('d')}));
  c.send(announce(kHash, peer('c'), {{"offers", offers(12, 'A')}}));
  c.inbox->take();
  ASSERT_EQ(a.inbox->got.size() + b.inbox->got.size(), 2u);
  ids = {a.inbox->take()["offer_id"], b.inbox->take()["offer_id"]};
  EXPECT_EQ(ids, (std::set<std::string>{offer_id('A'), offer_id('B')}));
  // only unusable offers: nothing relayed
  c.send(announce(kHash, peer('c'), {{"offers", json::array({"x", json::object()})}}));
  c.inbox->take();
  EXPECT_TRUE(a.inbox->got.empty() && b.inbox->got.empty());
}

TEST_F(WsFixture, ManyTorrentsAndPeerIdsShareOneSocketAndLeaveWithIt) {
  a.send(announce(kHash, peer('1'), {{"event", "started"}}));
  a.send(announce(kHash, peer('2'), {{"event", "started"}}));
  a.send(announce(kOdd, peer('1'), {{"event", "started"}}));
  EXPECT_EQ(a.inbox->got.size(), 3u);
  json last = json::parse(a.inbox->got.back());
  EXPECT_EQ(last["info_hash"], bin(kOdd));
  EXPECT_EQ(a.protocol.joined(), 3u);
  EXPECT_EQ(tracker.counts(kHash).leechers, 2u);
  // offers from peer 1 go to peer 2, on the same socket
  a.inbox->got.clear();
  a.send(announce(kHash, peer('1'), {{"offers", offers(1)}}));
  ASSERT_EQ(a.inbox->got.size(), 2u);
  EXPECT_EQ(json::parse(a.inbox->got[1])["peer_id"], peer('1'));
  a.send(announce(kHash, peer('2'), {{"event", "stopped"}}));
  EXPECT_EQ(a.protocol.joined(), 2u);
  EXPECT_EQ(tracker.counts(kHash).leechers, 1u);
  a.protocol.close();
  EXPECT_EQ(a.protocol.joined(), 0u);
  EXPECT_EQ(tracker.peers(), 0u);
}

TEST_F(WsFixture, CompletedFromAnUnknownPeerIsAStart) {
  a.send(announce(kHash, peer('a'), {{"event", "completed"}, {"left", 0}}));
  json r = a.inbox->take();
  EXPECT_EQ(r["complete"], 1);
  EXPECT_EQ(r["incomplete"], 0);
  EXPECT_EQ(tracker.peers(), 1u);
}

TEST_F(WsFixture, ScrapeCountsCatalogTorrentsOnly) {
  a.send(announce(kHash, peer('a'), {{"left", 0}}));
  b.send(announce(kHash, peer('b')));
  c.send({{"action", "scrape"}, {"info_hash", bin(kHash)}});
  json r = c.inbox->take();
  EXPECT_EQ(r, json({{"action", "scrape"},
                     {"files", {{bin(kHash), {{"complete", 1}, {"downloaded", 0}, {"incomplete", 1}}}}}}));
  c.send({{"action", "scrape"}, {"info_hash", {bin(kHash), bin(kStranger), bin(kOdd), 5, bin(kHash)}}});
  r = c.inbox->take();
  EXPECT_EQ(r["files"].size(), 2u);
  EXPECT_EQ(r["files"][bin(kOdd)]["incomplete"], 0);
  c.send({{"action", "scrape"}});
  EXPECT_EQ(c.inbox->take(), json({{"action", "scrape"}, {"files", json::object()}}));
  c.send({{"action", "scrape"}, {"info_hash", {bin(kHash), "bad"}}});
  EXPECT_EQ(c.inbox->take()["failure reason"], "invalid info_hash");
  c.send({{"action", "scrape"}, {"info_hash", std::vector<std::string>(65, bin(kHash))}});
  EXPECT_EQ(c.inbox->take()["failure reason"], "too many info_hash values (at most 64)");
}

TEST_F(WsFixture, MalformedMessagesGetAFailureReason) {
  const char* broken[] = {
      "", "nope", "[]", "\"announce\"", "{", "{\"action\":\"announce\"", "{\"action\":\"announce\"}}",
      "{\"action\":\"announce\",}", "{\"action\" \"announce\"}", "{\"action\":\"\\q\"}",
      "{\"action\":\"announce\",\"offers\":[{\"offer\":{\"sdp\":tru},\"offer_id\":\"x\"}]}",
      "{\"action\":\"announce\",\"offers\":[{\"offer\":[1,2,]}]}",
      "{\"action\":\"announce\",\"answer\":{\"sdp\":\"\\ud800\"}}",
      "{\"action\":\"announce\",\"numwant\":01}", "{\"action\":\"announce\",\"x\":nul}",
      "{\"action\":\"announce\",\"x\":1e999}", "{\"action\":\"announce\"} {}",
      "{\"action\":\"announce\",\"bad\xff\":1}", "{\"action\":\"announce\",\"x\":\"\xc3\"}"};
  for (const char* m : broken) {
    a.send_raw(m);
    ASSERT_EQ(a.inbox->got.size(), 1u) << m;
    EXPECT_EQ(a.inbox->take(), json({{"failure reason", "invalid JSON"}})) << m;
  }
  std::string deep = "{\"action\":\"announce\",\"x\":" + std::string(100, '[') + std::string(100, ']') + "}";
  a.send_raw(deep);
  EXPECT_EQ(a.inbox->take()["failure reason"], "invalid JSON");

  a.send({{"action", "dance"}});
  EXPECT_EQ(a.inbox->take()["failure reason"], "invalid action");
  a.send({{"action", 5}});
  EXPECT_EQ(a.inbox->take()["failure reason"], "invalid action");
  a.send({{"action", "announce"}, {"info_hash", "short"}, {"peer_id", peer('a')}});
  EXPECT_EQ(a.inbox->take(), json({{"failure reason", "invalid info_hash"}}));
  a.send({{"action", "announce"}, {"info_hash", "\xe2\x82\xac" + std::string(19, 'a')}, {"peer_id", peer('a')}});
  EXPECT_EQ(a.inbox->take()["failure reason"], "invalid info_hash");
  a.send({{"action", "announce"}, {"info_hash", {bin(kHash)}}, {"peer_id", peer('a')}});
  EXPECT_EQ(a.inbox->take()["failure reason"], "invalid info_hash");
  a.send(announce(kOdd, "short"));
  EXPECT_EQ(a.inbox->take(), json({{"action", "announce"}, {"failure reason", "invalid peer_id"}, {"info_hash", bin(kOdd)}}));
  a.send(announce(kStranger, peer('a')));
  EXPECT_EQ(a.inbox->take(), json({{"action", "announce"}, {"failure reason", "torrent not in this server's catalog"},
                                   {"info_hash", bin(kStranger)}}));
  a.send(announce(kHash, peer('a'), {{"event", "exploded"}}));
  EXPECT_EQ(a.inbox->take()["failure reason"], "invalid event");
  EXPECT_EQ(tracker.peers(), 0u);
  // escaped keys and values are read like any other JSON
  a.send_raw("{\"\\u0061ction\":\"\\u0061nnounce\",\"info_hash\":" + json(bin(kHash)).dump() + ",\"peer_id\":\"" +
             peer('a') + "\",\"event\":7,\"left\":\"0\",\"offers\":{}}");
  EXPECT_EQ(a.inbox->take()["incomplete"], 1);
}

TEST_F(WsFixture, OneSocketHoldsAtMostAThousandSwarmPeers) {
  for (int i = 0; i < 1000; ++i) {
    char id[21];
    std::snprintf(id, sizeof id, "-WW0300-%012d", i);
    a.send(announce(kHash, std::string(id, 20)));
  }
  EXPECT_EQ(a.protocol.joined(), 1000u);
  a.inbox->got.clear();
  a.send(announce(kHash, peer('x')));
  EXPECT_EQ(a.inbox->take()["failure reason"], "too many torrents on one socket");
  a.send(announce(kHash, "-WW0300-000000000007"));  // one it already has: fine
  EXPECT_EQ(a.inbox->take()["incomplete"], 1000);
  a.protocol.close();
  EXPECT_EQ(tracker.peers(), 0u);
}

}  // namespace
}  // namespace seedcast::tracker

namespace seedcast::tracker {
namespace {

// A server peer as the tests see one: takes offers while `taking`, keeps them, and answers when
// told (the WebRTC seed answers at once; a worker's, later).
struct FakeServerPeer : ServerPeer {
  PeerId id{};
  bool taking = true;
  struct Got {
    InfoHash h;
    PeerId from;
    std::string offer;
    WsClient client;
    std::function<void(std::string_view)> answer;
  };
  std::vector<Got> got;
  FakeServerPeer() {
    std::string s = "-SC0100-serverpeer01";
    std::copy(s.begin(), s.end(), id.begin());
  }
  const PeerId& peer_id() const override { return id; }
  bool wants_offer(const InfoHash&, const PeerId&) override { return taking; }
  void offer(const InfoHash& h, const PeerId& from, std::string_view offer, const WsClient& client,
             std::function<void(std::string_view)> answer) override {
    got.push_back({h, from, std::string(offer), client, std::move(answer)});
  }
};

struct ServerPeerFixture : WsFixture {
  std::shared_ptr<FakeServerPeer> server = std::make_shared<FakeServerPeer>();
  std::shared_ptr<Inbox> inbox = std::make_shared<Inbox>();
  WsProtocol browser{tracker, allowed, inbox,
                     WsOptions{WsClient{"198.51.100.7", "127.0.0.1:8002"}, [this](const InfoHash& h) {
                                 return h == kHash ? std::vector<std::shared_ptr<ServerPeer>>{server}
                                                   : std::vector<std::shared_ptr<ServerPeer>>{};
                               }}};
  void send(const json& j) { browser.on_message(j.dump()); }
};

TEST_F(ServerPeerFixture, TheServerPeerGetsTheFirstOfferCountsAsASeederAndItsAnswerIsRelayed) {
  a.send(announce(kHash, peer('a')));
  send(announce(kHash, peer('x'), {{"offers", offers(3)}}));
  json reply = inbox->take();
  EXPECT_EQ(reply["complete"], 1);  // the server peer
  EXPECT_EQ(reply["incomplete"], 2);
  ASSERT_EQ(server->got.size(), 1u);
  const auto& g = server->got[0];
  EXPECT_EQ(g.h, kHash);
  EXPECT_EQ(std::string(g.from.begin(), g.from.end()), peer('x'));
  EXPECT_EQ(json::parse(g.offer)["sdp"], "v=0\r\nsdp 0");
  EXPECT_EQ(g.client.remote, "198.51.100.7");
  EXPECT_EQ(g.client.local, "127.0.0.1:8002");
  // the other peer got the next offer
  a.inbox->take();
  EXPECT_EQ(a.inbox->take()["offer_id"], offer_id('b'));
  // the answer reaches the browser as a peer's answer would, from the server's peer id
  g.answer("v=0\r\nanswer");
  json ans = inbox->take();
  EXPECT_EQ(ans["action"], "announce");
  EXPECT_EQ(ans["answer"]["type"], "answer");
  EXPECT_EQ(ans["answer"]["sdp"], "v=0\r\nanswer");
  EXPECT_EQ(ans["offer_id"], offer_id('a'));
  EXPECT_EQ(ans["peer_id"], "-SC0100-serverpeer01");
  EXPECT_EQ(ans["info_hash"], bin(kHash));
}

TEST_F(ServerPeerFixture, NoOfferWhenItDeclinesForSeedersOrOtherSwarms) {
  server->taking = false;
  send(announce(kHash, peer('x'), {{"offers", offers(2)}}));
  EXPECT_TRUE(server->got.empty());
  server->taking = true;
  send(announce(kHash, peer('y'), {{"offers", offers(2)}, {"left", 0}}));  // a seeder
  EXPECT_TRUE(server->got.empty());
  send(announce(kOdd, peer('x'), {{"offers", offers(2)}}));  // a swarm it does not serve
  EXPECT_TRUE(server->got.empty());
  send(announce(kHash, peer('x'), {{"event", "stopped"}, {"offers", offers(2)}}));
  EXPECT_TRUE(server->got.empty());
  // scrape counts it too
  inbox->got.clear();
  send({{"action", "scrape"}, {"info_hash", bin(kHash)}});
  json s = inbox->take();
  EXPECT_EQ(s["files"][bin(kHash)]["complete"], 2);  // the seeder y and the server peer
}

TEST_F(ServerPeerFixture, AnAnswerAfterTheBrowserLeftGoesNowhere) {
  send(announce(kHash, peer('x'), {{"offers", offers(1)}}));
  ASSERT_EQ(server->got.size(), 1u);
  browser.close();
  inbox->got.clear();
  server->got[0].answer("v=0\r\nlate");
  EXPECT_TRUE(inbox->got.empty());
}

}  // namespace
}  // namespace seedcast::tracker

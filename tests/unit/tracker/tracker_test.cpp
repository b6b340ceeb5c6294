#include "seedcast/tracker/tracker.hpp"

#include <gtest/gtest.h>

#include <libtorrent/bdecode.hpp>
#include <random>
#include <set>

#include "seedcast/http/router.hpp"
#include "seedcast/tracker/routes.hpp"
#include "seedcast/tracker/ws_protocol.hpp"
#include "test_util.hpp"

namespace seedcast::tracker {
namespace {

PeerId pid(uint8_t n) {
  PeerId p{};
  p.fill('x');
  p[19] = n;
  p[12] = n;
  return p;
}

Endpoint v4(uint8_t last, uint16_t port) {
  Endpoint e;
  e.addr = {127, 0, 0, last};
  e.port = port;
  return e;
}

const InfoHash kHash = *InfoHash::from_hex("053178313d2010436197e454511d8473bf30c616");

struct Fixture : ::testing::Test {
  int64_t now = 1000;
  Tracker tracker{Options{.interval = 100, .clock = [this] { return now; }}};

  Tracker::HttpReply announce(uint8_t n, bool seeder = false, Event e = Event::started, int numwant = -1) {
    return tracker.announce({kHash, pid(n), v4(n, static_cast<uint16_t>(6000 + n)), seeder, e, numwant});
  }
};

TEST_F(Fixture, PeersFindEachOtherButNeverThemselves) {
  EXPECT_TRUE(announce(1).peers.empty());
  auto r = announce(2);
  ASSERT_EQ(r.peers.size(), 1u);
  EXPECT_EQ(r.peers[0], v4(1, 6001));
  EXPECT_EQ(r.counts.leechers, 2u);
  r = announce(1, false, Event::none);
  ASSERT_EQ(r.peers.size(), 1u);
  EXPECT_EQ(r.peers[0], v4(2, 6002));
}

TEST_F(Fixture, BusiestListsTheSwarmsWithMostPeersFirst) {
  const InfoHash a = *InfoHash::from_hex("1111111111111111111111111111111111111111");
  const InfoHash b = *InfoHash::from_hex("2222222222222222222222222222222222222222");
  for (uint8_t i = 1; i <= 3; ++i) announce(i, i == 1);  // kHash: 1 seeder + 2 leechers
  for (uint8_t i = 1; i <= 5; ++i) tracker.announce({b, pid(i), v4(i, 7000), false, Event::started, -1});
  tracker.announce({a, pid(1), v4(1, 7000), false, Event::started, -1});
  auto top = tracker.busiest(2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].first, b);
  EXPECT_EQ(top[0].second.leechers, 5u);
  EXPECT_EQ(top[1].first, kHash);
  EXPECT_EQ(top[1].second.seeders, 1u);
  EXPECT_EQ(tracker.busiest(10).size(), 3u);
  EXPECT_TRUE(tracker.busiest(0).empty());
}

TEST_F(Fixture, HasHttpPeerMatchesTheAddressOnly) {
  const InfoHash other = *InfoHash::from_hex("153178313d2010436197e454511d8473bf30c616");
  EXPECT_FALSE(tracker.has_http_peer(kHash, "127.0.0.1"));
  announce(1);
  EXPECT_TRUE(tracker.has_http_peer(kHash, "127.0.0.1"));         // any port
  EXPECT_TRUE(tracker.has_http_peer(kHash, "::ffff:127.0.0.1"));  // IPv4 on a dual-stack socket
  EXPECT_FALSE(tracker.has_http_peer(kHash, "127.0.0.2"));
  EXPECT_FALSE(tracker.has_http_peer(other, "127.0.0.1"));
  EXPECT_FALSE(tracker.has_http_peer(kHash, "not an address"));
  announce(1, false, Event::stopped);
  EXPECT_FALSE(tracker.has_http_peer(kHash, "127.0.0.1"));
}

TEST_F(Fixture, NumwantIsCappedAndSeedersGetOnlyLeechers) {
  for (uint8_t i = 1; i <= 30; ++i) announce(i, i <= 10);
  EXPECT_EQ(announce(100, false, Event::none, 5).peers.size(), 5u);
  EXPECT_EQ(announce(100, false, Event::none, 1000).peers.size(), 30u);
  EXPECT_EQ(announce(100, false, Event::none, 0).peers.size(), 0u);
  auto r = announce(1, true, Event::none, 1000);
  EXPECT_EQ(r.peers.size(), 21u);  // 20 leechers + peer 100
  EXPECT_EQ(r.counts.seeders, 10u);
  EXPECT_EQ(r.counts.leechers, 21u);
}

TEST_F(Fixture, CompletedAndStoppedUpdateTheCounts) {
  announce(1);
  announce(2);
  auto r = announce(1, true, Event::completed);
  EXPECT_EQ(r.counts.seeders, 1u);
  EXPECT_EQ(r.counts.leechers, 1u);
  EXPECT_EQ(r.counts.completed, 1u);
  announce(1, true, Event::completed);  // a repeated "completed" from a seeder does not count
  EXPECT_EQ(tracker.counts(kHash).completed, 1u);
  r = announce(2, false, Event::stopped);
  EXPECT_EQ(r.counts.leechers, 0u);
  EXPECT_EQ(tracker.peers(), 1u);
}

TEST_F(Fixture, PeersExpireAfterAMissedInterval) {
  announce(1);
  now += 100;
  announce(2);
  now += 60;  // peer 1 last seen 160 s ago (> 1.5 × 100), peer 2 60 s ago
  tracker.expire();
  EXPECT_EQ(tracker.peers(), 1u);
  EXPECT_EQ(announce(3).peers.at(0), v4(2, 6002));
  now += 1000;
  tracker.expire();
  EXPECT_EQ(tracker.peers(), 0u);
}

TEST_F(Fixture, PeersStayFindableThroughRandomChurn) {
  // The swarm's peer index (open addressing, backward-shift deletion) against a plain model.
  std::mt19937 gen(7);
  std::set<int> model;
  auto id = [](int k) {
    char text[21];
    std::snprintf(text, sizeof text, "-WW0300-%012d", k * 7919 % 100003);
    PeerId p{};
    std::memcpy(p.data(), text, p.size());
    return p;
  };
  auto endpoint = [](int k) { return v4(static_cast<uint8_t>(k % 250), static_cast<uint16_t>(1000 + k)); };
  for (int step = 0; step < 20000; ++step) {
    int k = static_cast<int>(gen() % 150);  // swarms stay under max_numwant (200)
    bool stop = gen() % 3 == 0;
    tracker.announce({kHash, id(k), endpoint(k), false, stop ? Event::stopped : Event::started, 0});
    if (stop) model.erase(k);
    else model.insert(k);
    ASSERT_EQ(tracker.counts(kHash).leechers, model.size()) << step;
    if (step % 500 == 0 || step > 19990) {
      // a fresh peer asking for everyone sees exactly the model
      auto reply = tracker.announce({kHash, id(1000), v4(251, 1), false, Event::started, 200});
      std::set<std::pair<std::array<uint8_t, 16>, uint16_t>> seen, want;
      for (const auto& e : reply.peers) seen.insert({e.addr, e.port});
      for (int m : model) want.insert({endpoint(m).addr, endpoint(m).port});
      ASSERT_EQ(seen, want) << step;
      tracker.announce({kHash, id(1000), v4(251, 1), false, Event::stopped, 0});
    }
  }
  for (int k : std::set<int>(model)) tracker.announce({kHash, id(k), endpoint(k), false, Event::stopped, 0});
  EXPECT_EQ(tracker.counts(kHash).leechers, 0u);
}

struct Box : Mailbox {
  std::vector<std::string> got;
  void deliver(std::string_view m) override { got.emplace_back(m); }
};

TEST_F(Fixture, WebSocketPeersAreOfferedToOthersAndLeaveWithTheirSocket) {
  auto a = std::make_shared<Box>(), b = std::make_shared<Box>(), c = std::make_shared<Box>();
  std::vector<Tracker::WsTarget> t;
  tracker.announce_ws(kHash, pid(1), true, Event::completed, a, 5, t);  // completed first: a start
  EXPECT_TRUE(t.empty());
  tracker.announce_ws(kHash, pid(2), false, Event::started, b, 5, t);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].peer_id, pid(1));
  EXPECT_EQ(t[0].mailbox.get(), a.get());
  t.clear();
  auto counts = tracker.announce_ws(kHash, pid(3), false, Event::started, c, 1, t);
  EXPECT_EQ(t.size(), 1u);  // want = number of offers
  EXPECT_EQ(counts.seeders, 1u);
  EXPECT_EQ(counts.leechers, 2u);
  EXPECT_EQ(tracker.find_ws(kHash, pid(2)).get(), b.get());
  t.clear();  // a fourth peer id on c's socket is offered to c's other peer id too
  tracker.announce_ws(kHash, pid(4), false, Event::started, c, 5, t);
  bool offered_to_same_socket = false;
  for (const auto& x : t) offered_to_same_socket |= x.peer_id == pid(3);
  EXPECT_TRUE(offered_to_same_socket);
  tracker.leave_ws(kHash, pid(2), a.get());  // not its socket: ignored
  EXPECT_TRUE(tracker.find_ws(kHash, pid(2)));
  tracker.leave_ws(kHash, pid(2), b.get());
  EXPECT_FALSE(tracker.find_ws(kHash, pid(2)));
  EXPECT_EQ(tracker.counts(kHash).leechers, 2u);  // pid 3 and pid 4
}

TEST(BinaryString, RoundTripsEveryByte) {
  std::array<uint8_t, 20> in{}, out{};
  for (int start = 0; start < 256; start += 20) {
    for (int i = 0; i < 20; ++i) in[i] = static_cast<uint8_t>((start + i) & 0xff);
    ASSERT_TRUE(decode_binary_string(encode_binary_string(in.data(), 20), out));
    EXPECT_EQ(in, out);
  }
  EXPECT_FALSE(decode_binary_string("short", out));
  EXPECT_FALSE(decode_binary_string(std::string(21, 'a'), out));
  EXPECT_FALSE(decode_binary_string("\xe2\x82\xac" + std::string(19, 'a'), out));  // U+20AC > U+00FF
  EXPECT_FALSE(decode_binary_string("\xc3" + std::string(19, 'a'), out));           // truncated UTF-8
}

struct RouteFixture : ::testing::Test {
  Tracker tracker{Options{.interval = 120}};
  http::Router router;
  RouteFixture() {
    add_routes(router, tracker, {[](const InfoHash& h) { return h == kHash; }});
  }
  http::Response get(std::string path, std::string query, std::string remote = "127.0.0.1") {
    http::Request r;
    r.method = http::Method::get;
    r.path = path;
    r.query = query;
    r.remote = remote;
    return test::run(router.dispatch(r));
  }
  static std::string q(const InfoHash& h, uint8_t peer, int port, int left, std::string extra = "") {
    std::string id(20, 'p');
    id[19] = static_cast<char>('a' + peer);
    std::string ih(reinterpret_cast<const char*>(h.bytes().data()), 20);
    return "info_hash=" + text_escape(ih) + "&peer_id=" + id + "&port=" + std::to_string(port) +
           "&uploaded=0&downloaded=0&left=" + std::to_string(left) + extra;
  }
  static std::string text_escape(const std::string& s) {
    std::string out;
    char buf[4];
    for (unsigned char c : s) {
      std::snprintf(buf, sizeof buf, "%%%02x", c);
      out += buf;
    }
    return out;
  }
};

TEST_F(RouteFixture, AnnounceAnswersCompactPeersInBencode) {
  ASSERT_EQ(get("/announce", q(kHash, 1, 6881, 0)).status, 200);
  auto r = get("/announce", q(kHash, 2, 6882, 100, "&compact=1"), "::ffff:10.1.2.3");
  ASSERT_EQ(r.status, 200);
  lt::error_code ec;
  lt::bdecode_node n = lt::bdecode(r.body, ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(n.dict_find_int_value("interval"), 120);
  EXPECT_EQ(n.dict_find_int_value("complete"), 1);
  EXPECT_EQ(n.dict_find_int_value("incomplete"), 1);
  EXPECT_EQ(n.dict_find_string_value("peers"), std::string("\x7f\x00\x00\x01\x1a\xe1", 6));
  // the v4-mapped address was stored as IPv4
  r = get("/announce", q(kHash, 3, 6883, 100, "&compact=0"), "::1");
  n = lt::bdecode(r.body, ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(n.dict_find_list("peers").list_size(), 2);
  r = get("/announce", q(kHash, 1, 6881, 0), "127.0.0.1");
  n = lt::bdecode(r.body, ec);
  EXPECT_EQ(n.dict_find_string_value("peers6").size(), 18u);  // the ::1 leecher
}

TEST_F(RouteFixture, RefusesBadAndUnknown) {
  auto other = *InfoHash::from_hex("07e50f8e12b3ace7ab8afb387089dd5491cd515d");
  EXPECT_EQ(get("/announce", q(other, 1, 1, 0)).status, 404);
  EXPECT_NE(get("/announce", q(other, 1, 1, 0)).body.find("failure reason"), std::string::npos);
  EXPECT_EQ(get("/announce", "info_hash=short&peer_id=12345678901234567890&port=1").status, 400);
  EXPECT_EQ(get("/announce", q(kHash, 1, 70000, 0)).status, 400);
  EXPECT_EQ(get("/announce", q(kHash, 1, 1, 0, "&event=exploded")).status, 400);
  EXPECT_EQ(get("/announce", q(kHash, 1, 1, 0, "&numwant=lots")).status, 400);
  EXPECT_EQ(get("/scrape", "").status, 400);
}

TEST_F(RouteFixture, ScrapeCountsKnownTorrents) {
  get("/announce", q(kHash, 1, 6881, 0));
  std::string ih(reinterpret_cast<const char*>(kHash.bytes().data()), 20);
  auto r = get("/scrape", "info_hash=" + text_escape(ih));
  ASSERT_EQ(r.status, 200);
  lt::error_code ec;
  lt::bdecode_node n = lt::bdecode(r.body, ec);
  ASSERT_FALSE(ec);
  auto f = n.dict_find_dict("files").dict_find_dict(ih);
  ASSERT_TRUE(f);
  EXPECT_EQ(f.dict_find_int_value("complete"), 1);
}

}  // namespace
}  // namespace seedcast::tracker

namespace seedcast::tracker {
namespace {

TEST(SelfPeer, AnnouncesListTheServerSeedAtTheAddressTheClientUsed) {
  Tracker tracker{Options{.interval = 120}};
  http::Router router;
  add_routes(router, tracker,
             {[](const InfoHash&) { return true; }, [](const InfoHash&) { return std::vector<uint16_t>{7000}; }});
  std::string ih(20, 'h'), q = "info_hash=" + ih + "&peer_id=" + std::string(20, 'p') + "&port=1&left=5";
  for (auto [local, want] : {std::pair<std::string, std::string>{"10.0.0.5:8002", std::string("\x0a\x00\x00\x05\x1b\x58", 6)},
                             {"[::1]:8002", std::string(15, '\0') + "\x01\x1b\x58"}}) {
    http::Request r;
    r.method = http::Method::get;
    r.path = "/announce";
    r.query = q;
    r.remote = "127.0.0.1";
    r.local = local;
    auto res = test::run(router.dispatch(r));
    lt::error_code ec;
    lt::bdecode_node n = lt::bdecode(res.body, ec);
    ASSERT_FALSE(ec);
    EXPECT_EQ(n.dict_find_int_value("complete"), 1);
    std::string peers(n.dict_find_string_value(want.size() == 6 ? "peers" : "peers6"));
    EXPECT_EQ(peers.substr(0, want.size()), want) << local;
  }
  // numwant=1 with another peer present: still one peer, and it is the server.
  http::Request other;
  other.method = http::Method::get;
  other.path = "/announce";
  std::string q2 = "info_hash=" + ih + "&peer_id=" + std::string(20, 'q') + "&port=2&left=5&numwant=1";
  other.query = q2;
  other.remote = "127.0.0.2";
  other.local = "127.0.0.1:8002";
  auto res = test::run(router.dispatch(other));
  lt::error_code ec;
  lt::bdecode_node n = lt::bdecode(res.body, ec);
  EXPECT_EQ(n.dict_find_string_value("peers"), std::string("\x7f\x00\x00\x01\x1b\x58", 6));
  // scrape counts the server's seed as announces do
  http::Request sc;
  sc.method = http::Method::get;
  sc.path = "/scrape";
  std::string q3 = "info_hash=" + ih;
  sc.query = q3;
  auto sr = test::run(router.dispatch(sc));
  n = lt::bdecode(sr.body, ec);
  EXPECT_EQ(n.dict_find_dict("files").dict_find_dict(ih).dict_find_int_value("complete"), 1);
}

TEST(SelfPeer, EverySeedOfTheServerIsListedFirst) {  // the engine and two worker processes
  Tracker tracker{Options{.interval = 120}};
  http::Router router;
  add_routes(router, tracker,
             {[](const InfoHash&) { return true; },
              [](const InfoHash&) { return std::vector<uint16_t>{7000, 7001, 7002}; }});
  std::string ih(20, 'h');
  auto announce = [&](char id, const std::string& remote, const std::string& extra) {
    http::Request r;
    r.method = http::Method::get;
    r.path = "/announce";
    std::string q = "info_hash=" + ih + "&peer_id=" + std::string(20, id) + "&port=9&left=5" + extra;
    r.query = q;
    r.remote = remote;
    r.local = "127.0.0.1:8002";
    auto res = test::run(router.dispatch(r));
    lt::error_code ec;
    lt::bdecode_node n = lt::bdecode(res.body, ec);
    EXPECT_FALSE(ec);
    return std::make_pair(n.dict_find_int_value("complete"), std::string(n.dict_find_string_value("peers")));
  };
  announce('a', "127.0.0.9", "");
  auto [complete, peers] = announce('b', "127.0.0.8", "");
  EXPECT_EQ(complete, 3);
  EXPECT_EQ(peers, std::string("\x7f\x00\x00\x01\x1b\x58\x7f\x00\x00\x01\x1b\x59\x7f\x00\x00\x01\x1b\x5a"
                               "\x7f\x00\x00\x09\x00\x09",
                               24));
  EXPECT_EQ(announce('c', "127.0.0.7", "&numwant=2").second.size(), 12u);  // capped: the seeds first
}

}  // namespace
}  // namespace seedcast::tracker

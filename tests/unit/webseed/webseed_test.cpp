// The webseed routes driven through the router, without sockets: path mapping, ranges,
// conditionals, refusals, and the stale-file guard.
#include "seedcast/webseed/webseed.hpp"

#include <gtest/gtest.h>

#include <libtorrent/torrent_info.hpp>

#include "seedcast/catalog/blacklist.hpp"
#include "seedcast/catalog/catalog.hpp"
#include "seedcast/http/router.hpp"
#include "seedcast/library/torrent_maker.hpp"
#include "test_util.hpp"

namespace seedcast::webseed {
namespace {
using http::Method;
using http::Response;

class WebseedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    video = test::random_bytes(70000, 7);
    test::write_file(dir / "lib/Show/Season 1/ep 1.mp4", video);
    test::write_file(dir / "lib/Show/notes.txt", "notes");
    test::write_file(dir / "lib/clip.mp4", video);
    catalog = std::make_unique<catalog::Catalog>(dir / "catalog.db");
    blacklist = std::make_unique<catalog::Blacklist>(dir / "blacklist.txt");
    multi = add(dir / "lib/Show");
    single = add(dir / "lib/clip.mp4");
    make_router("");
  }

  std::string add(const std::string& path) {
    auto t = library::make_torrent(*library::describe(path), {.piece_length = 16384});
    EXPECT_TRUE(t);
    EXPECT_TRUE(catalog->put(*t));
    return t->info_hash.hex();
  }

  void make_router(std::string public_url) {
    router = std::make_unique<http::Router>();
    Options o;
    o.public_url = std::move(public_url);
    o.on_stale = [this] { ++stale_calls; };
    webseed = std::make_unique<Webseed>(o, *catalog, *blacklist);
    webseed->add_routes(*router);
  }

  Response get(std::string_view target, std::vector<http::Header> headers = {}, Method m = Method::get) {
    http::Request req;
    req.method = m;
    req.target = target;
    size_t q = target.find('?');
    req.path = target.substr(0, q);
    req.query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
    req.headers = std::move(headers);
    req.headers.push_back({"Host", "videos.test:8002"});
    return test::run(router->dispatch(req));
  }

  // The bytes a file response would send (file parts are read back from their descriptors).
  static std::string body_of(const Response& r) {
    if (r.parts.empty()) return r.body;
    std::string out;
    for (const auto& p : r.parts) {
      out += p.bytes;
      if (!p.file) continue;
      std::string buf(p.length, '\0');
      EXPECT_EQ(::pread(p.file->fd(), buf.data(), buf.size(), static_cast<off_t>(p.offset)),
                static_cast<ssize_t>(p.length));
      out += buf;
    }
    return out;
  }

  test::TempDir dir;
  std::string video, multi, single;
  std::unique_ptr<catalog::Catalog> catalog;
  std::unique_ptr<catalog::Blacklist> blacklist;
  std::unique_ptr<Webseed> webseed;
  std::unique_ptr<http::Router> router;
  int stale_calls = 0;
};

TEST_F(WebseedTest, BothBep19PathFormsAndEscapesMapToTheFile) {
  for (std::string p : {"Season%201/ep%201.mp4", "Show/Season%201/ep%201.mp4", "Show/Season 1/ep 1.mp4",
                        "Show%2FSeason%201%2fep%201.mp4", "%53how/Season%201/ep%201.mp4"}) {
    Response r = get("/file/" + multi + "/" + p);
    EXPECT_EQ(r.status, 200) << p;
    EXPECT_EQ(body_of(r), video) << p;
    EXPECT_EQ(r.get("Content-Type").value_or(""), "video/mp4");
  }
  EXPECT_EQ(body_of(get("/file/" + multi + "/Show/notes.txt")), "notes");
  EXPECT_EQ(body_of(get("/file/" + single + "/clip.mp4")), video);
  EXPECT_EQ(get("/file/" + multi + "/Show/missing.mp4").status, 404);
  EXPECT_EQ(get("/file/" + multi + "/").status, 404);
  EXPECT_EQ(get("/file/" + multi + "/Show//notes.txt").status, 404);
}

TEST_F(WebseedTest, HostileInputIsRefused) {
  for (std::string p : {"../clip.mp4", "Show/../../clip.mp4", "%2e%2e/clip.mp4", "Show/%2E%2E%2Fclip.mp4",
                        "notes.txt%00.mp4", "Show\\notes.txt", "Show%5Cnotes.txt", "./notes.txt"}) {
    Response r = get("/file/" + multi + "/" + p);
    EXPECT_EQ(r.status, 400) << p;
    EXPECT_NE(r.body.find("\"error\""), std::string::npos);
  }
  EXPECT_EQ(get("/file/xyz").status, 400);
  EXPECT_EQ(get("/file/" + multi.substr(1) + "0/a").status, 404);
  EXPECT_EQ(get("/torrent/" + multi + "zz.torrent").status, 400);
}

TEST_F(WebseedTest, BlacklistedHashesAre451OnEveryRoute) {
  test::write_file(dir / "blacklist.txt", multi + "\n");
  ASSERT_TRUE(blacklist->reload());
  EXPECT_EQ(get("/torrent/" + multi + ".torrent").status, 451);
  EXPECT_EQ(get("/file/" + multi).status, 451);
  EXPECT_EQ(get("/file/" + multi + "/Show/notes.txt").status, 451);
  EXPECT_EQ(get("/file/" + single + "/clip.mp4").status, 200);
}

TEST_F(WebseedTest, RangesAndConditionals) {
  std::string url = "/file/" + single + "/clip.mp4";
  Response r = get(url, {{"Range", "bytes=100-199"}});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.get("Content-Range").value_or(""), "bytes 100-199/70000");
  EXPECT_EQ(body_of(r), video.substr(100, 100));

  r = get(url, {{"Range", "bytes=-10"}});
  EXPECT_EQ(body_of(r), video.substr(69990));
  r = get(url, {{"Range", "bytes=70000-"}});
  EXPECT_EQ(r.status, 416);
  EXPECT_EQ(r.get("Content-Range").value_or(""), "bytes */70000");

  r = get(url, {{"Range", "bytes=0-1,10-11"}});
  EXPECT_EQ(r.status, 206);
  std::string ct(r.get("Content-Type").value_or(""));
  ASSERT_EQ(ct.rfind("multipart/byteranges; boundary=", 0), 0u);
  std::string boundary = ct.substr(ct.find('=') + 1);
  std::string body = body_of(r);
  EXPECT_EQ(r.content_length(), body.size());
  EXPECT_NE(body.find("Content-Range: bytes 0-1/70000\r\n\r\n" + video.substr(0, 2)), std::string::npos);
  EXPECT_NE(body.find("Content-Range: bytes 10-11/70000\r\n\r\n" + video.substr(10, 2)), std::string::npos);
  EXPECT_EQ(body.substr(body.size() - boundary.size() - 6), "--" + boundary + "--\r\n");

  std::string etag(get(url).get("ETag").value_or(""));
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(get(url, {{"If-None-Match", etag}}).status, 304);
  EXPECT_EQ(get(url, {{"If-None-Match", "\"other\", W/" + etag}}).status, 304);
  EXPECT_EQ(get(url, {{"If-None-Match", "\"other\""}}).status, 200);
  std::string lm(get(url).get("Last-Modified").value_or(""));
  EXPECT_EQ(get(url, {{"If-Modified-Since", lm}}).status, 304);
  EXPECT_EQ(get(url, {{"If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"}}).status, 200);
  EXPECT_EQ(get(url, {{"Range", "bytes=0-0"}, {"If-Range", etag}}).status, 206);
  EXPECT_EQ(get(url, {{"Range", "bytes=0-0"}, {"If-Range", lm}}).status, 206);
  Response stale = get(url, {{"Range", "bytes=0-0"}, {"If-Range", "\"old\""}});
  EXPECT_EQ(stale.status, 200);
  EXPECT_EQ(stale.content_length(), 70000u);
}

TEST_F(WebseedTest, AFileChangedOnDiskIsNeverServedWithOldHashes) {
  test::write_file(dir / "lib/clip.mp4", video + "more");
  Response r = get("/file/" + single + "/clip.mp4");
  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(r.get("Retry-After"));
  EXPECT_EQ(stale_calls, 1);
  std::filesystem::remove(dir / "lib/Show/notes.txt");
  EXPECT_EQ(get("/file/" + multi + "/notes.txt").status, 503);
}

TEST_F(WebseedTest, TorrentFileCarriesTheWebseedUrl) {
  Response r = get("/torrent/" + multi + ".torrent");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.get("Content-Type").value_or(""), "application/x-bittorrent");
  lt::error_code ec;
  lt::torrent_info ti(r.body.data(), static_cast<int>(r.body.size()), ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(InfoHash::from_bytes(ti.info_hashes().v1.data()).hex(), multi);
  ASSERT_EQ(ti.web_seeds().size(), 1u);
  EXPECT_EQ(ti.web_seeds()[0].url, "http://videos.test:8002/file/" + multi + "/");

  make_router("https://cdn.example.com/p2p/");
  r = get("/torrent/" + single + ".torrent");
  lt::torrent_info ts(r.body.data(), static_cast<int>(r.body.size()), ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(ts.web_seeds().at(0).url, "https://cdn.example.com/p2p/file/" + single + "/clip.mp4");
}

TEST_F(WebseedTest, JsonListing) {
  Response r = get("/file/" + multi + "?json=1");
  ASSERT_EQ(r.status, 200);
  for (const char* key : {"\"name\":\"Show\"", "\"infoHash\":\"", "\"created\":", "\"createdBy\":", "\"length\":70005",
                          "\"pieceLength\":16384", "\"lastPieceLength\":", "\"magnetURI\":\"magnet:?xt=urn:btih:",
                          "\"comment\":", "\"path\":\"Show/Season 1/ep 1.mp4\"", "\"files\":["}) {
    EXPECT_NE(r.body.find(key), std::string::npos) << key;
  }
  Response html = get("/file/" + multi);
  EXPECT_NE(html.body.find("href=\"http://videos.test:8002/file/" + multi + "/Show/Season%201/ep%201.mp4\""),
            std::string::npos);
}

}  // namespace
}  // namespace seedcast::webseed

#include "seedcast/http/router.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace seedcast::http {
namespace {

Handler echo(std::string tag) {
  return [tag](Request& req) -> asio::awaitable<Response> {
    std::string body = tag;
    for (const auto& [k, v] : req.params) body += " " + std::string(k) + "=" + std::string(v);
    co_return Response::text(200, body, "text/plain");
  };
}

Response call(const Router& router, Method m, std::string_view path) {
  Request req;
  req.method = m;
  req.path = path;
  return test::run(router.dispatch(req));
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router.add({Method::get}, "/", echo("index"));
    router.add({Method::get}, "/torrent/{hash}.torrent", echo("torrent"));
    router.add({Method::get}, "/file/{hash}", echo("listing"));
    router.add({Method::get}, "/file/{hash}/{*path}", echo("file"));
    router.add({Method::post}, "/seed", echo("seed"));
  }
  Router router;
};

TEST_F(RouterTest, MatchesLiteralsCapturesAndSuffixes) {
  EXPECT_EQ(call(router, Method::get, "/").body, "index");
  EXPECT_EQ(call(router, Method::get, "/torrent/abc.torrent").body, "torrent hash=abc");
  EXPECT_EQ(call(router, Method::get, "/file/abc").body, "listing hash=abc");
  EXPECT_EQ(call(router, Method::get, "/file/abc/My%20Show/a/b.mp4").body, "file hash=abc path=My%20Show/a/b.mp4");
  EXPECT_EQ(call(router, Method::get, "/file/abc/").body, "file hash=abc path=");
}

TEST_F(RouterTest, UnknownPathsAre404) {
  EXPECT_EQ(call(router, Method::get, "/nope").status, 404);
  EXPECT_EQ(call(router, Method::get, "/torrent/abc").status, 404);
  EXPECT_EQ(call(router, Method::get, "/torrent/.torrent").status, 404);  // empty capture
  EXPECT_EQ(call(router, Method::get, "/file").status, 404);
  EXPECT_EQ(call(router, Method::get, "//").status, 404);
  EXPECT_EQ(call(router, Method::get, "").status, 404);
}

TEST_F(RouterTest, WrongMethodIs405WithAllow) {
  Response r = call(router, Method::post, "/file/abc");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.get("Allow").value_or(""), "GET, HEAD, OPTIONS");
  EXPECT_EQ(call(router, Method::get, "/seed").status, 405);
}

TEST_F(RouterTest, HeadFollowsGetAndOptionsAnswersAllow) {
  EXPECT_EQ(call(router, Method::head, "/file/abc").status, 200);
  Response r = call(router, Method::options, "/seed");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.get("Allow").value_or(""), "POST, OPTIONS");
}

TEST(Response, ErrorIsTheJsonEnvelope) {
  Response r = Response::error(404, "unknown \"thing\"");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, R"({"error":{"status":404,"message":"unknown \"thing\""}})");
  EXPECT_EQ(r.get("content-type").value_or(""), "application/json");
}

}  // namespace
}  // namespace seedcast::http

#include "seedcast/origin/url.hpp"

#include <gtest/gtest.h>

#include "seedcast/origin/error.hpp"

namespace seedcast::origin {
namespace {

errc code(const result<Url>& r) { return r ? errc::ok : static_cast<errc>(r.error().value()); }

TEST(OriginUrl, NormalisesSchemeHostAndDefaultPort) {
  auto u = parse_url("HTTPS://CDN.Example.COM:443/Videos/A%20B.mp4?sig=x#frag");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "cdn.example.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->path, "/Videos/A%20B.mp4");
  EXPECT_EQ(u->url, "https://cdn.example.com/Videos/A%20B.mp4?sig=x");
  auto v = parse_url("http://127.0.0.1:8080/v.mp4");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->url, "http://127.0.0.1:8080/v.mp4");
  EXPECT_EQ(v->port, 8080);
  auto w = parse_url("http://[::1]:81/x");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->host, "::1");
  EXPECT_EQ(w->url, "http://[::1]:81/x");
  auto d = parse_url("http://cdn.example.com./x");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->host, "cdn.example.com");
}

TEST(OriginUrl, RefusesOtherSchemesCredentialsAndJunk) {
  EXPECT_EQ(code(parse_url("ftp://cdn.example.com/a.mp4")), errc::bad_scheme);
  EXPECT_EQ(code(parse_url("file:///etc/passwd")), errc::bad_scheme);
  EXPECT_EQ(code(parse_url("gopher://x/")), errc::bad_scheme);
  EXPECT_EQ(code(parse_url("http://user:pw@cdn.example.com/a.mp4")), errc::bad_url);
  EXPECT_EQ(code(parse_url("http://cdn.example.com@evil.net/a.mp4")), errc::bad_url);
  EXPECT_EQ(code(parse_url("not a url")), errc::bad_url);
  EXPECT_EQ(code(parse_url("/relative/path")), errc::bad_url);
  EXPECT_EQ(code(parse_url("http://")), errc::bad_url);
  EXPECT_EQ(code(parse_url("http://host:99999/")), errc::bad_url);
  EXPECT_EQ(code(parse_url(std::string("http://host/a\0b", 15))), errc::bad_url);
  EXPECT_EQ(code(parse_url("")), errc::bad_url);
}

TEST(OriginUrl, ResolvesRedirects) {
  auto base = parse_url("https://cdn.example.com/a/b/c.mp4");
  ASSERT_TRUE(base);
  EXPECT_EQ(resolve(*base, "/x/y.mp4")->url, "https://cdn.example.com/x/y.mp4");
  EXPECT_EQ(resolve(*base, "d.mp4")->url, "https://cdn.example.com/a/b/d.mp4");
  EXPECT_EQ(resolve(*base, "//other.example.net/z")->url, "https://other.example.net/z");
  EXPECT_EQ(resolve(*base, "http://Other.example.net:8080/z")->url, "http://other.example.net:8080/z");
  EXPECT_EQ(code(resolve(*base, "file:///etc/passwd")), errc::bad_scheme);
}

TEST(OriginUrl, FromRouteRawEncodedAndCollapsed) {
  EXPECT_EQ(url_from_route("https://cdn.example.com/a.mp4", ""), "https://cdn.example.com/a.mp4");
  EXPECT_EQ(url_from_route("https:/cdn.example.com/a.mp4", ""), "https://cdn.example.com/a.mp4");
  EXPECT_EQ(url_from_route("http:/127.0.0.1:8000/a.mp4", ""), "http://127.0.0.1:8000/a.mp4");
  EXPECT_EQ(url_from_route("https%3A%2F%2Fcdn.example.com%2Fa%2520b.mp4%3Fsig%3D1", ""),
            "https://cdn.example.com/a%20b.mp4?sig=1");
  EXPECT_EQ(url_from_route("https%3A%2Fcdn.example.com%2Fa.mp4", ""), "https://cdn.example.com/a.mp4");
  // A raw URL keeps its own query, less what seedcast reads.
  EXPECT_EQ(url_from_route("https://cdn.example.com/a%20b.mp4", "sig=1&format=json&token=abc&e=2"),
            "https://cdn.example.com/a%20b.mp4?sig=1&e=2");
  EXPECT_EQ(url_from_route("https://cdn.example.com/a.mp4", "format=magnet"), "https://cdn.example.com/a.mp4");
  EXPECT_EQ(url_from_route("HTTPS://cdn.example.com/a.mp4", ""), "HTTPS://cdn.example.com/a.mp4");
}

TEST(OriginUrl, FileNames) {
  auto name = [](const char* u) { return file_name(*parse_url(u)); };
  EXPECT_EQ(name("https://h/videos/My%20Clip.mp4"), "My Clip.mp4");
  EXPECT_EQ(name("https://h/videos/dir/"), "dir");
  EXPECT_EQ(name("https://h/"), "download");
  EXPECT_EQ(name("https://h"), "download");
  EXPECT_EQ(name("https://h/a/..%2F..%2Fetc%2Fpasswd"), "etcpasswd");
  EXPECT_EQ(name("https://h/a/%2E%2E"), "download");
  EXPECT_EQ(name("https://h/a/.hidden.mp4"), "hidden.mp4");
  EXPECT_EQ(name("https://h/a/b%5Cc%00d%0A.mp4"), "bcd.mp4");
  EXPECT_EQ(name("https://h/%C3%A9t%C3%A9.mp4?x=1"), "\xC3\xA9t\xC3\xA9.mp4");
  std::string longname(300, 'a');
  EXPECT_EQ(file_name(*parse_url("https://h/" + longname)).size(), 200u);
  // A cut never splits a UTF-8 sequence.
  std::string accents;
  for (int i = 0; i < 150; ++i) accents += "%C3%A9";
  std::string n = file_name(*parse_url("https://h/a" + accents));
  EXPECT_EQ(n.size(), 199u);
}

}  // namespace
}  // namespace seedcast::origin

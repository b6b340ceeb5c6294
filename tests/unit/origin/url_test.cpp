#include "seedcast/origin/url.hpp"

#include <gtest/gtest.h>

#include "seedcast/origin/address.hpp"
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

// A host that is an address has one form, whatever the URL spelled: the form the allow-list,
// the private-address check and the URL torrent's identity see, and the one a second parse
// gives back (origin_url_fuzz found "http://2./" parsed as host "2", then as "0.0.0.2").
TEST(OriginUrl, CanonicalAddressHosts) {
  auto host = [](std::string_view url) {
    auto u = parse_url(url);
    return u ? u->host : std::string("<refused>");
  };
  EXPECT_EQ(host("http://2./x"), "0.0.0.2");
  EXPECT_EQ(host("http://2/x"), "0.0.0.2");
  EXPECT_EQ(host("http://2130706433/x"), "127.0.0.1");
  EXPECT_EQ(host("http://2130706433./x"), "127.0.0.1");
  EXPECT_EQ(host("http://0x7f.1/x"), "127.0.0.1");
  EXPECT_EQ(host("http://0X7F.1/x"), "127.0.0.1");
  EXPECT_EQ(host("http://127.1/x"), "127.0.0.1");
  EXPECT_EQ(host("http://0177.0.0.1/x"), "127.0.0.1");
  EXPECT_EQ(host("http://127.0.0.1../x"), "127.0.0.1");
  EXPECT_EQ(host("http://[0:0:0:0:0:0:0:1]/x"), "::1");
  EXPECT_EQ(host("http://[0::1]:81/x"), "::1");
  EXPECT_EQ(host("http://[::FFFF:7F00:1]/x"), "::ffff:127.0.0.1");
  EXPECT_EQ(host("http://[2001:DB8:0:0:0:0:0:1]/x"), "2001:db8::1");
  // Names that only look numeric stay names.
  EXPECT_EQ(host("http://1.2.3.4.5/x"), "1.2.3.4.5");
  EXPECT_EQ(host("http://cafe.example/x"), "cafe.example");
  EXPECT_EQ(host("http://deadbeef/x"), "deadbeef");
  for (std::string_view url : {"http://2./..C3:/c", "http://2130706433:80/a", "http://0x7f.1/b",
                               "https://127.1:8443/c?d", "http://[0:0::1]/e", "http://[::ffff:7f00:1]/f"}) {
    auto u = parse_url(url);
    ASSERT_TRUE(u) << url;
    auto again = parse_url(u->url);
    ASSERT_TRUE(again) << u->url;
    EXPECT_EQ(again->url, u->url);
    EXPECT_EQ(again->host, u->host);
  }
  // The private-address check sees the canonical form.
  EXPECT_TRUE(is_private_literal(host("http://2130706433/x")));
  EXPECT_TRUE(is_private_literal(host("http://0x7f.1/x")));
  EXPECT_TRUE(is_private_literal(host("http://0xa000001/x")));
  EXPECT_TRUE(is_private_literal(host("http://[0:0::1]/x")));
  EXPECT_EQ(parse_url("http://2./x")->url, "http://0.0.0.2/x");
  EXPECT_EQ(parse_url("http://2130706433:8080/a")->url, "http://127.0.0.1:8080/a");
  EXPECT_EQ(parse_url("http://[0:0::1]/e")->url, "http://[::1]/e");
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
  // libcurl decodes escapes in hosts: bytes no host name has are refused (origin_url_fuzz).
  EXPECT_EQ(code(parse_url("http://7.0.0formF..%7Fetc")), errc::bad_url);
  EXPECT_EQ(code(parse_url("http://allo%ed_doma5536/v.mp4")), errc::bad_url);
  EXPECT_EQ(code(parse_url("http://a%2fb/")), errc::bad_url);
  EXPECT_EQ(parse_url("http://cdn_1.Example.com/")->host, "cdn_1.example.com");
  // International names are given in their punycode form.
  EXPECT_EQ(parse_url("http://xn--bcher-kva.example/")->host, "xn--bcher-kva.example");
  EXPECT_EQ(code(parse_url("http://b\xc3\xbccher.example/")), errc::bad_url);
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
